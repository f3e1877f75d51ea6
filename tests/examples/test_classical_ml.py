"""examples/classical_ml.py runs in fast mode and writes its two PNGs."""
import importlib

import pytest

from tests.examples._load import load_example

NEEDED = {"tinydl.nn": ["Sequential", "Linear", "Tanh"],
          "tinydl.nn.functional": ["cross_entropy", "mse_loss"],
          "tinydl.optim": ["Adam"],
          "tinydl.data": ["load_digits", "make_moons"]}


def missing_dependencies():
    missing = []
    for module_name, names in NEEDED.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(module_name)
            continue
        missing += [f"{module_name}.{n}" for n in names if not hasattr(module, n)]
    return missing


def test_classical_ml_example_writes_pngs(tmp_path):
    missing = missing_dependencies()
    if missing:
        pytest.skip(f"the example needs {', '.join(missing)}, not written yet")
    example = load_example("classical_ml")
    example.main(["--out", str(tmp_path), "--fast"])
    for name in ("classical_ml_digits.png", "classical_ml_boundaries.png"):
        png = tmp_path / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
