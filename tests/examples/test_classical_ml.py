"""examples/classical_ml.py in fast mode: its networks learn, and it writes its two PNGs."""
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


def test_classical_ml_example_writes_pngs(tmp_path, monkeypatch):
    missing = missing_dependencies()
    if missing:
        pytest.skip(f"the example needs {', '.join(missing)}, not written yet")
    example = load_example("classical_ml")
    fitted, autoencoder_losses = [], []
    fit, train_autoencoder = example.MLPClassifier.fit, example.train_autoencoder

    def recording_fit(self, X, y):
        fitted.append((self, X, y))
        return fit(self, X, y)

    def recording_autoencoder(X, steps, **kwargs):
        codes, losses = train_autoencoder(X, steps, **kwargs)
        autoencoder_losses.append(losses)
        return codes, losses

    monkeypatch.setattr(example.MLPClassifier, "fit", recording_fit)
    monkeypatch.setattr(example, "train_autoencoder", recording_autoencoder)
    example.main(["--out", str(tmp_path), "--fast"])
    # Even the fast mode's 40 Adam steps fit moons (90%) and XOR (97%); chance is 50%.
    assert len(fitted) == 2
    for model, X, y in fitted:
        assert model.score(X, y) > 0.8, f"MLP training accuracy {model.score(X, y)}"
    # 30 steps of the autoencoder take its reconstruction error from 0.25 to 0.064.
    (losses,) = autoencoder_losses
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0], f"mse {losses[0]} -> {losses[-1]}"
    for name in ("classical_ml_digits.png", "classical_ml_boundaries.png"):
        png = tmp_path / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
