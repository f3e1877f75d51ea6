"""DistributedDataParallel on K = 2 and 4 MPI ranks equals one process on the whole batch.

One ``mpiexec`` run per K trains every case of ``ddp_cases.py`` (MLP and CNN with
SyncBatchNorm, float64 and float32, SGD-momentum and Adam, 20 steps each; no_sync gradient
accumulation; collectives; error messages; checkpoints); this process trains the references.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import tinydl as td
from tests.distributed._launch import launch

HERE = pathlib.Path(__file__).resolve().parent
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


def _cases():
    spec = importlib.util.spec_from_file_location("ddp_cases", HERE / "ddp_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=[2, 4], ids=["K=2", "K=4"])
def run(request, tmp_path_factory):
    """(K, what rank 0 saved) after one mpiexec run of every case on K ranks."""
    ranks = request.param
    out = tmp_path_factory.mktemp(f"ddp{ranks}") / "results.npz"
    done, seconds = launch(ranks, HERE / "ddp_cases.py", out, timeout=170)
    assert done.returncode == 0, (f"mpiexec -n {ranks} ddp_cases.py failed "
                                  f"(rc {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return ranks, td.load(out)


def test_training_equals_one_process_on_the_whole_batch(run):
    ranks, results = run
    cases = _cases()
    assert int(results["world"]) == ranks
    for kind, dtype, opt in cases.CASES:
        expected = cases.reference(kind, dtype, opt, ranks)
        got = results[f"{kind}_{dtype}_{opt}"]
        assert set(got) == set(expected)
        for name, value in expected.items():
            actual = np.asarray(got[name])
            if np.issubdtype(value.dtype, np.integer):  # num_batches_tracked
                np.testing.assert_array_equal(actual, value, err_msg=name)
                continue
            err = np.max(np.abs(actual - value) / np.maximum(np.abs(value), 1))
            assert err <= TOLERANCE[dtype], (f"K={ranks} {kind} {dtype} {opt}: {name} differs "
                                            f"from one process by {err:.2e}")
            # The tolerance must be able to fail: training moved the parameters far from it.
        start = cases.final_state(cases.build(kind, dtype))
        moved = max(np.max(np.abs(expected[n] - start[n])) for n in start
                    if np.issubdtype(start[n].dtype, np.floating))
        assert moved > 1e-2, f"{kind} {dtype} {opt}: the reference hardly trained ({moved})"


def test_no_sync_accumulation_equals_one_step_on_the_whole_batch(run):
    ranks, results = run
    expected = _cases().reference_accumulation(ranks)
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(results["accumulation"][name]), value, rtol=1e-12,
                                   atol=1e-13, err_msg=f"K={ranks}: {name}")


def test_errors_name_ranks_and_shapes(run):
    ranks, results = run
    assert "rank 0: (3,) float64" in str(results["collective_error"])
    assert "rank 1 has '0.weight' of shape (17, 6)" in str(results["replica_error"])
    assert "unused.weight" in str(results["unused_error"])


def test_calls_that_differ_between_ranks_raise_on_every_rank(run):
    ranks, results = run
    got = {k: str(v) for k, v in results["agreement"].items()}
    assert "rank 0: (2,) float64, op='sum'; rank 1: (2,) float64, op='max'" in got["op"]
    assert "src=0" in got["src"] and "src=1" in got["src"]
    assert "(requires_grad=False)" in got["frozen"]
    assert "bucket_cap_mb=2" in got["cap"]
    assert "rank 0: 3, rank 1: 4" in got["sync_width"]


def test_bool_reductions_are_logical_and_complex_max_min_are_refused(run):
    ranks, results = run
    got = results["logical"]
    for op, expected in (("SUM", [1, 0, 1, 1]), ("MAX", [1, 0, 1, 1]),
                         ("PRODUCT", [1, 0, 0, 1]), ("MIN", [1, 0, 0, 1])):
        np.testing.assert_array_equal(np.asarray(got[op]), np.array(expected, dtype=bool),
                                      err_msg=f"K={ranks} all_reduce {op} of bool")
        # Rank 0 reduces every rank's [r == 0, True]: only rank 0's first flag is set.
        either = op in ("SUM", "MAX")
        np.testing.assert_array_equal(np.asarray(got[f"scatter_{op}"]), [either, True],
                                      err_msg=f"K={ranks} reduce_scatter {op} of bool")
    for op in ("MAX", "MIN"):
        assert f"ReduceOp.{op}" in str(got[f"complex_{op}"])
        assert "complex128" in str(got[f"complex_{op}"])
    np.testing.assert_array_equal(np.asarray(got["complex_SUM"]),
                                  np.array([1 + 2j, -3j]) * sum(range(1, ranks + 1)))


def test_averaged_model_of_ddp_averages_as_of_its_module(run):
    ranks, results = run
    got = results["averaged_ddp"]
    assert set(got["swa"]) == set(got["plain"])
    for name, value in got["plain"].items():
        np.testing.assert_array_equal(np.asarray(got["swa"][name]), value,
                                      err_msg=f"K={ranks}: {name}")
    # The copy's backward averaged its own gradients; the original's hooks never ran for it,
    # and the copy's never ran for the original.
    for mine, expected in zip(got["swa_grads"], got["plain_grads"]):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(expected), rtol=1e-14)
    assert np.asarray(got["steps"]).tolist() == [3, 1]
    assert int(got["n_averaged"]) == 3


def test_a_rank_that_raises_ends_the_job_quickly():
    done, seconds = launch(2, HERE / "raise_on_rank1.py", timeout=60)
    assert done.returncode != 0, "the job should fail when one rank raises"
    assert "rank 1 fails on purpose" in done.stderr + done.stdout
    assert seconds < 30, f"the job took {seconds:.1f} s to end after a rank raised"
