"""examples/detection_toolbox.py runs in fast mode and writes its PNG."""
from tests.examples._load import load_example


def test_detection_toolbox_example_writes_png(tmp_path):
    example = load_example("detection_toolbox")
    example.main(["--out", str(tmp_path / "figures"), "--fast"])
    png = tmp_path / "figures" / "detection_toolbox.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
