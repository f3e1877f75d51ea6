"""examples/detection_toolbox.py runs in fast mode and writes its PNG."""
import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "detection_toolbox.py"


def test_detection_toolbox_example_writes_png(tmp_path):
    spec = importlib.util.spec_from_file_location("detection_toolbox_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--out", str(tmp_path / "figures"), "--fast"])
    png = tmp_path / "figures" / "detection_toolbox.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
