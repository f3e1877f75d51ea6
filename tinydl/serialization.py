"""``save`` / ``load``: state dicts (and nested dicts of them) as ``.npz`` files, never pickle.

Every array (and Tensor) becomes one entry of the archive under its dotted path, so
``np.load(path, allow_pickle=False)`` opens the file and shows keys like ``'0.weight'`` or
``'model.bn.running_mean'``. Everything else (the nesting itself, dict key types, lists,
tuples, Python numbers, strings, booleans, None, which leaves were Tensors) is described by
one JSON document stored as a uint8 array under ``'__tinydl_structure__'``, so ``load``
returns exactly what was saved (arrays bit-identical).

The file is written to a temporary file in the same directory and moved into place with
``os.replace``, so a crash never leaves a half-written checkpoint under ``path``.
"""
import json
import os
import tempfile

import numpy as np

from tinydl.tensor import Tensor

__all__ = ["save", "load"]

_STRUCTURE_KEY = "__tinydl_structure__"


def _encode(obj, path, arrays):
    """A JSON-able description of ``obj``; arrays are moved into ``arrays`` under dotted paths."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        key = ".".join(path) if path else "value"
        if key in arrays or key == _STRUCTURE_KEY:
            raise ValueError(f"save: two entries map to the same archive key {key!r}")
        data = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
        if data.dtype.kind not in "biufc":
            raise TypeError(f"save: array at {key!r} has dtype {data.dtype}, which cannot be "
                            "stored without pickle")
        arrays[key] = data
        return {"array": key, "tensor": isinstance(obj, Tensor),
                "requires_grad": bool(getattr(obj, "requires_grad", False)),
                "scalar": isinstance(obj, np.generic)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {k!r}")
            items.append([k, _encode(v, path + [str(k)], arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple":
                [_encode(v, path + [str(i)], arrays) for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {'.'.join(path) or 'top'} "
                    "(only dicts, lists, tuples, arrays, Tensors, numbers, strings, None)")


def _decode(node, archive):
    if "array" in node:
        data = archive[node["array"]]
        if node["scalar"]:
            return data[()]
        if node["tensor"]:
            return Tensor(data, requires_grad=node["requires_grad"])
        return data
    if "dict" in node:
        return {k: _decode(v, archive) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, archive) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, archive) for v in node["tuple"])
    return node["value"]


def save(obj, path):
    """Write ``obj`` (a state dict, or nested dicts/lists of arrays, Tensors, numbers) to ``path``.

    The archive is a plain ``.npz`` (``np.savez``) written atomically; the file name is used
    as given (no suffix is added).
    """
    arrays = {}
    structure = _encode(obj, [], arrays)
    arrays[_STRUCTURE_KEY] = np.frombuffer(json.dumps(structure).encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tinydl-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path):
    """Read what ``save`` wrote: the same nesting, with Tensors, arrays and numbers restored.

    A plain ``.npz`` without tinydl's structure entry loads as a dict of arrays. Uses
    ``allow_pickle=False``.
    """
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    if _STRUCTURE_KEY not in arrays:
        return arrays
    structure = json.loads(arrays.pop(_STRUCTURE_KEY).tobytes().decode("utf-8"))
    return _decode(structure, arrays)
