"""The packaging lists every package, so ``pip install .`` (not editable) ships all of tinydl."""
import configparser
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_setup_cfg_lists_every_package():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "tinydl").rglob("__init__.py")}
    missing = sorted(found - listed)
    assert not missing, f"setup.cfg [options] packages lacks {missing}"
    assert "tinydl.kernels" in listed  # installed from kernels/ through package_dir
