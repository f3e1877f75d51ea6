"""examples/gan_mixture.py: the mode statistics on hand-made samples, a fast run per loss, and
a short run of the default recipe that must pull the samples towards the mixture."""

import numpy as np
import pytest

from tests.examples._load import load_example


@pytest.fixture(scope="module")
def example():
    return load_example("gan_mixture")


def test_centres_match_the_data(example):
    from tinydl.data import make_gaussian_mixture
    x, y = make_gaussian_mixture(800, 8, 2.0, 1e-9, seed=0)
    centres = example.mixture_centres()
    np.testing.assert_allclose(x, centres[y], atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)


def test_mode_statistics_on_constructed_samples(example):
    centres = example.mixture_centres()
    std = 0.02
    # 600 samples at 0.05 (< 3 std) from mode 0, 100 at 0.07 (> 3 std) from mode 1,
    # 19 exactly on mode 2 (19/1000 >= 1%), 9 on mode 3 (< 1%), and 272 at the origin.
    samples = np.concatenate([
        centres[0] + [0.05, 0.0] * np.ones((600, 1)),
        centres[1] + [0.0, 0.07] * np.ones((100, 1)),
        np.repeat(centres[2:3], 19, axis=0),
        np.repeat(centres[3:4], 9, axis=0),
        np.zeros((272, 2)),
    ])
    covered, quality = example.mode_statistics(samples, centres, std)
    assert covered == 2  # modes 0 and 2
    assert quality == pytest.approx((600 + 19 + 9) / 1000)


def test_mode_statistics_perfect_and_collapsed(example):
    from tinydl.data import make_gaussian_mixture
    centres = example.mixture_centres()
    x, _ = make_gaussian_mixture(2000, seed=1)
    covered, quality = example.mode_statistics(x, centres)
    assert covered == 8 and quality > 0.98  # 3 std in 2-D holds 1 - exp(-4.5) = 98.9%
    collapsed = np.repeat(centres[:1], 2000, axis=0)
    assert example.mode_statistics(collapsed, centres) == (1, 1.0)
    with pytest.raises(ValueError, match="mode_statistics"):
        example.mode_statistics(np.zeros((5, 3)), centres)


def run_keeping_samples(example, monkeypatch, argv):
    """``example.main(argv)`` and the full history it plots (with each evaluation's samples)."""
    plotted = []
    save_grid = example.save_grid

    def keep(history, *args, **kwargs):
        plotted.append(history)
        return save_grid(history, *args, **kwargs)

    monkeypatch.setattr(example, "save_grid", keep)
    result = example.main(argv)
    assert len(plotted) == 1
    return result, plotted[0]


def chamfer_distance(samples, centres):
    """Mean distance from a sample to its nearest centre (are samples on the modes?) plus mean
    distance from a centre to its nearest sample (does every mode get samples?)."""
    distances = np.linalg.norm(samples[:, None] - centres[None], axis=2)
    return float(distances.min(axis=1).mean() + distances.min(axis=0).mean())


@pytest.mark.parametrize("loss", ["wgan-clip", "wgan-gp", "sn", "rsgan", "nonsaturating"])
def test_fast_run_writes_the_grid(example, loss, tmp_path, capsys, monkeypatch):
    result, history = run_keeping_samples(example, monkeypatch,
                                          ["--fast", "--loss", loss, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "modes covered" in printed and "high-quality ratio" in printed
    assert [h["step"] for h in result["history"]] == [0, 10, 20]
    # The reported statistics are those of the final samples, and training moved them.
    first, last = history[0]["samples"], history[-1]["samples"]
    assert last.shape == (example.EVAL_SAMPLES, 2) and np.all(np.isfinite(last))
    assert (result["modes"], result["quality"]) == example.mode_statistics(
        last, example.mixture_centres())
    assert np.abs(last - first).max() > 1e-4, f"{loss}: the generator did not change"
    png = tmp_path / f"gan_mixture_{loss}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_short_wgan_gp_run_pulls_samples_towards_the_mixture(example, tmp_path, monkeypatch):
    # 100 steps of the default recipe on a small model (~1-2 s). The chamfer distance between
    # the samples and the centres falls from 3.6 to 1.9 (to 0.27-0.53 of its start over seeds
    # 0-3). A generator that does not train stays at 3.6; one that climbs the critic instead
    # of descending it (generator loss with the wrong sign) ends at 0.88-1.02 of its start.
    _, history = run_keeping_samples(example, monkeypatch, [
        "--loss", "wgan-gp", "--steps", "100", "--batch-size", "64", "--hidden", "32",
        "--depth", "2", "--eval-every", "100", "--out", str(tmp_path)])
    centres = example.mixture_centres()
    start, end = (chamfer_distance(h["samples"], centres) for h in (history[0], history[-1]))
    assert end < 0.7 * start, f"chamfer distance to the mixture went {start:.3f} -> {end:.3f}"
