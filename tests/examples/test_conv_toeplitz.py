"""The convolution-as-matrix example runs and writes its figure."""
from tests.examples._load import load_example


def test_conv_toeplitz_example(tmp_path):
    module = load_example("conv_toeplitz")
    path = module.main(["--out", str(tmp_path)])
    assert path.exists() and path.stat().st_size > 1000
