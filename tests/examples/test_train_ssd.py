"""examples/train_ssd.py, cut shorter than --fast (four epochs on 512 images, 100 test images)
to fit the test budget: it trains, scores the test images with VOC and COCO mAP, writes the figure,
and the saved model reloads to the same scores. (--fast itself reaches VOC mAP@0.5 >= 0.9;
the figures are in the example's docstring.)"""
import re

import numpy as np

import tinydl as td
from tests.examples._load import load_example


def test_train_ssd_short_run(tmp_path, capsys):
    example = load_example("train_ssd")
    voc = example.main(["--fast", "--epochs", "4", "--train-images", "512", "--test-images", "100",
                        "--out", str(tmp_path)])
    out = capsys.readouterr().out
    # This short run scored VOC 0.36 / COCO 0.16 when written; an untrained SSD scores ~0.
    assert voc > 0.2, out
    png = tmp_path / "train_ssd.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    scores = re.search(r"^test set \(100 images\): VOC mAP@0.5 (\S+)  COCO mAP@\[.5:.95\] (\S+)", out, re.M)
    again = re.search(r"saved and reloaded .*: VOC mAP@0.5 (\S+)  COCO mAP@\[.5:.95\] (\S+)", out)
    assert scores and again, out
    assert scores.groups() == again.groups(), "the reloaded model scores differently"
    assert float(scores.group(2)) < float(scores.group(1)), "COCO averages stricter IoUs than VOC's 0.5"
    state = td.load(tmp_path / "train_ssd_model.npz")
    model = example.build_model()
    model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(state[name]), err_msg=name)
