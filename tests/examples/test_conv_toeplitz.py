"""The convolution-as-matrix example runs and writes its figure."""
import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "conv_toeplitz.py"


def test_conv_toeplitz_example(tmp_path):
    spec = importlib.util.spec_from_file_location("conv_toeplitz_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.main(["--out", str(tmp_path)])
    assert path.exists() and path.stat().st_size > 1000
