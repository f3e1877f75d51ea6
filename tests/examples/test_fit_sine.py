"""The bare-Tensor sine fit runs and actually fits (the README's smallest example)."""
from tests.examples._load import load_example


def test_fit_sine_converges(tmp_path, capsys):
    mse = load_example("fit_sine").main(["--fast", "--out", str(tmp_path)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    first, last = float(lines[0].split()[-1]), float(lines[-1].split()[-1])
    assert last < 0.01 < first, f"mse went from {first} to {last}"
    assert abs(mse - last) < 1e-4
    assert (tmp_path / "fit_sine.png").stat().st_size > 1000
