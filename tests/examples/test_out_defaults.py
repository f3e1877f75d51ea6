"""Every example's ``--out`` defaults to ``output/`` beside the example file, whatever the
current directory, and every example has ``--fast``. Read from each script's source: the
``add_argument("--out", default=...)`` expression is evaluated with the script's ``__file__``
(running the scripts' imports would cost a minute on a loaded machine)."""
import ast
import os
import pathlib

import pytest

from tests.examples._load import EXAMPLES

NAMES = ["quickstart", "classical_ml", "conv_toeplitz", "fit_sine", "gan_mixture",
         "lr_finder_demo", "optimizer_playground", "train_mnist", "vae_digits",
         "detection_toolbox", "loss_landscape", "tiny_transformer", "acgan_digits",
         "bag_of_tricks", "ensemble_digits", "profile_model", "train_ddp", "rl_frozenlake",
         "rl_cartpole_dqn", "rl_cartpole_a2c", "rl_pendulum_ddpg", "train_ssd"]


def options(path):
    """``{option string: add_argument call node}`` for every add_argument call in a script."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
                and node.args and isinstance(node.args[0], ast.Constant)):
            found[node.args[0].value] = node
    return found


@pytest.mark.parametrize("name", NAMES)
def test_out_defaults_beside_the_example(name, monkeypatch, tmp_path):
    path = EXAMPLES / f"{name}.py"
    found = options(path)
    assert "--fast" in found, f"{name}: no --fast flag"
    assert "--out" in found, f"{name}: no --out option"
    default = next((k.value for k in found["--out"].keywords if k.arg == "default"), None)
    assert default is not None, f"{name}: --out has no default"
    monkeypatch.chdir(tmp_path)     # a default relative to the current directory shows here
    value = eval(compile(ast.Expression(default), str(path), "eval"),
                 {"__file__": str(path), "pathlib": pathlib, "Path": pathlib.Path, "os": os})
    assert pathlib.Path(value).resolve() == EXAMPLES / "output", (
        f"{name}: --out defaults to {value}")
