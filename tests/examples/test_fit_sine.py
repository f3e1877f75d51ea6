"""The bare-Tensor sine fit runs and actually fits (the README's smallest example)."""
import pathlib
import runpy

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "fit_sine.py"


def test_fit_sine_converges(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    first, last = float(lines[0].split()[-1]), float(lines[-1].split()[-1])
    assert last < 0.01 < first, f"mse went from {first} to {last}"
