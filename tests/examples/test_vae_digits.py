"""examples/vae_digits.py in fast mode: ELBO rises every epoch, the three PNGs are written."""

import numpy as np

import tinydl
from tests.examples._load import load_example


def test_elbo_matches_its_formula():
    example = load_example("vae_digits")
    rng = np.random.default_rng(0)
    logits, x = rng.normal(size=(3, 64)), rng.uniform(size=(3, 64))
    mu, logvar = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    got = example.elbo(*(tinydl.Tensor(a) for a in (logits, x, mu, logvar))).numpy()
    p = 1 / (1 + np.exp(-logits))
    log_lik = np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
    # KL(N(mu, s^2) || N(0, 1)) = log(1/s) + (s^2 + mu^2)/2 - 1/2, per coordinate
    kl = np.sum(-0.5 * logvar + (np.exp(logvar) + mu ** 2) / 2 - 0.5, axis=1)
    np.testing.assert_allclose(got, log_lik - kl, rtol=1e-10)


def test_fast_run(tmp_path, capsys):
    example = load_example("vae_digits")
    result = example.main(["--fast", "--out", str(tmp_path)])
    elbos = result["epoch_elbos"]
    assert len(elbos) == 3
    assert np.all(np.diff(elbos) > 0), f"per-epoch mean ELBO must increase: {elbos}"
    assert np.isfinite(result["test_elbo"])
    assert "mean ELBO" in capsys.readouterr().out
    for name in ("elbo", "reconstructions", "samples"):
        png = tmp_path / f"vae_digits_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
