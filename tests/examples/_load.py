"""Loading an example script as a module, so its tests can call ``main`` and its helpers."""
import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def load_example(name):
    """Return the module of ``examples/<name>.py``, executed afresh under the module name
    ``<name>_example`` (not registered in ``sys.modules``, so it shadows nothing and each call
    gives an independent copy)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
