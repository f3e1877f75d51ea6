"""examples/gan_mixture.py: the mode statistics on hand-made samples, and a fast run per loss."""

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


@pytest.mark.parametrize("loss", ["wgan-clip", "wgan-gp", "sn", "rsgan", "nonsaturating"])
def test_fast_run_writes_the_grid(example, loss, tmp_path, capsys):
    result = example.main(["--fast", "--loss", loss, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "modes covered" in printed and "high-quality ratio" in printed
    assert 0 <= result["modes"] <= 8 and 0.0 <= result["quality"] <= 1.0
    assert [h["step"] for h in result["history"]] == [0, 10, 20]
    png = tmp_path / f"gan_mixture_{loss}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
