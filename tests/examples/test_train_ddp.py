"""train_ddp in fast mode: one process in this one, then two MPI ranks as a job."""
import re

import numpy as np

import tinydl as td
from tests.distributed._launch import ROOT, blas_threads_restored, launch
from tests.examples._load import load_example


def test_train_ddp_fast_mode_one_process(tmp_path, capsys, monkeypatch):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # what init_process_group would set; undone afterwards
    example = load_example("train_ddp")
    with blas_threads_restored():
        accuracy = example.main(["--fast", "--out", str(tmp_path)])
    assert accuracy > 0.9, f"two epochs should reach 90% on the digits, got {accuracy}"
    state = td.load(tmp_path / "train_ddp_model.npz")
    model = example.build_model()
    model.load_state_dict(state)  # a SyncBatchNorm checkpoint loads into plain BatchNorm
    assert np.asarray(state["1.num_batches_tracked"]) > 0
    out = capsys.readouterr().out
    trained = re.search(r"^test accuracy (\S+%) .* with 1 rank", out, re.MULTILINE)
    reloaded = re.search(r"reloaded on every rank .*: test accuracy (\S+%)", out)
    assert trained and reloaded and trained.group(1) == reloaded.group(1), out[-500:]


def test_train_ddp_fast_mode_two_ranks(tmp_path):
    done, _ = launch(2, ROOT / "examples" / "train_ddp.py", "--fast", "--out", tmp_path,
                     timeout=150)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    match = re.search(r"^test accuracy (\S+)% .* with 2 rank", out, re.MULTILINE)
    assert match and float(match.group(1)) > 90, out[-500:]
    # Only rank 0 prints: one final line, one progress bar per epoch end.
    assert len(re.findall(r"^test accuracy", out, re.MULTILINE)) == 1, out[-500:]
    assert out.count("epoch  2/2") >= 1
    assert len(re.findall(r"test \d+\.\d+%\n", out)) == 2, out[-500:]
