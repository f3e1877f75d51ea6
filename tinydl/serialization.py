"""``save`` / ``load``: state dicts (and nested dicts of them) as ``.npz`` files, never pickle.

Every array (and Tensor) becomes one entry of the archive under its dotted path, so
``np.load(path, allow_pickle=False)`` opens the file and shows keys like ``'0.weight'`` or
``'model.bn.running_mean'`` (a path that a zip member cannot be named, such as one holding a
NUL, or one another entry took already, as ``{0: a, '0': b}`` would, gets a numbered entry
``'__tinydl_array_<n>__'`` instead). Everything else (the nesting
itself, dict key types, lists, tuples, Python numbers, strings, booleans, None, which leaves
were Tensors, which entry holds each array) is described by one JSON document stored as a uint8
array under ``'__tinydl_structure__'``, so ``load`` returns what was saved (arrays
bit-identical; a dict subclass such as a state dict's ``OrderedDict`` comes back as a plain
``dict``, its keys in the same order).

The file is written to a temporary file in the same directory, flushed to disk and moved into
place with ``os.replace``, so a crash never leaves a half-written checkpoint under ``path``.
The temporary file is created with mode ``0o666`` and lets the kernel apply the process umask,
exactly as ``open(path, "w")`` would, so a new checkpoint gets the usual permissions (``0o644``
under umask ``0o022``) without reading or touching the umask, which is process-wide state; a
file that is replaced keeps its permission bits, as it would when ``open(path, "w")``
truncates it (a checkpoint made private with ``chmod 600`` stays private).

Differences from ``torch.save``: arrays are stored one by one, so two tensors sharing memory
(a tensor and a view of it) come back as two independent arrays, and one tensor saved twice
comes back as two copies (a state dict's tied weights are restored by ``load_state_dict``,
which assigns the values, not the objects). A Parameter comes back as a Parameter.

``load`` reads every array before it returns and checks the structure against them. Whatever
is wrong with the file (empty, truncated, not a zip, a member failing its CRC, an object array,
a broken structure entry) raises ``SerializationError``, a ``ValueError`` that names the file
and the fault. A missing file raises ``FileNotFoundError`` (what Python users expect from any
open), with the path in its message.
"""
import errno
import json
import math
import os
import secrets
import struct
import zipfile
import zlib

import numpy as np

from tinydl.tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

_STRUCTURE_KEY = "__tinydl_structure__"
_NUMBERED_PREFIX = "__tinydl_array_"  # members named by number, for keys a zip name cannot hold


class SerializationError(ValueError):
    """A file that ``tinydl.load`` cannot read: the message names the file and what is wrong."""


def _encode(obj, path, arrays, open_containers):
    """A JSON-able description of ``obj``; arrays are moved into ``arrays`` (archive member
    name -> array). ``open_containers`` maps the id of each dict, list or tuple being encoded
    (those enclosing ``obj``) to its path, to catch a container that holds itself."""
    if isinstance(obj, (Tensor, np.ndarray, np.generic)):
        key = ".".join(path) if path else "value"
        name = _member_name(key, arrays)
        data = obj.data if isinstance(obj, Tensor) else np.asarray(obj)
        if data.dtype.kind not in "biufc":
            raise TypeError(f"save: array at {key!r} has dtype {data.dtype}, which cannot be "
                            "stored without pickle")
        arrays[name] = data
        node = {"array": name, "tensor": isinstance(obj, Tensor),
                "requires_grad": bool(getattr(obj, "requires_grad", False)),
                "scalar": isinstance(obj, np.generic)}
        if isinstance(obj, _parameter_type()):
            node["parameter"] = True  # (absent otherwise: files from before read the same)
        return node
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in open_containers:
            raise ValueError(f"tinydl.save: the {type(obj).__name__} at "
                             f"{_describe_path(open_containers[id(obj)])} contains itself at "
                             f"{_describe_path(path)} (a reference cycle), which cannot be saved")
        open_containers[id(obj)] = path
        try:
            return _encode_container(obj, path, arrays, open_containers)
        finally:
            del open_containers[id(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {'.'.join(path) or 'top'} "
                    "(only dicts, lists, tuples, arrays, Tensors, numbers, strings, None)")


def _encode_container(obj, path, arrays, open_containers):
    """``_encode`` for a dict, list or tuple: a node listing its items' nodes."""
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {k!r}")
            items.append([k, _encode(v, path + [str(k)], arrays, open_containers)])
        return {"dict": items}
    return {"list" if isinstance(obj, list) else "tuple":
            [_encode(v, path + [str(i)], arrays, open_containers) for i, v in enumerate(obj)]}


def _parameter_type():
    from tinydl.nn.module import Parameter  # (tinydl.nn imports this module's users)
    return Parameter


def _describe_path(path):
    return repr(".".join(path)) if path else "the top"


def _member_name(key, arrays):
    """The archive member (less ``.npy``) for the array at dotted path ``key``.

    The key itself, so that ``np.load`` shows it, unless a zip member cannot carry it (a NUL
    ends a zip name, a lone surrogate has no UTF-8, a name may not pass 64 KiB) or it is
    reserved, or another array took it already (``{0: a, '0': b}``, ``{'a.b': a, 'a': {'b':
    b}}``); such an array gets a numbered name that no key can take. The structure entry
    records the member of every array, so ``load`` needs no rule to undo.
    """
    member = key + ".npy"
    try:
        fits = (len(member.encode("utf-8")) < 0xFFFF
                and zipfile.ZipInfo(member).filename == member)
    except UnicodeEncodeError:
        fits = False
    if (fits and key != _STRUCTURE_KEY and not key.startswith(_NUMBERED_PREFIX)
            and key not in arrays):
        return key
    return f"{_NUMBERED_PREFIX}{len(arrays)}__"  # arrays only grows: the number is unused


def _join(where, key):
    """The dotted path of a child node, as ``_encode`` builds archive keys."""
    return f"{where}.{key}" if where else str(key)


class _MalformedStructure(Exception):
    """Raised by ``_decode``; ``load`` turns it into a SerializationError naming the file."""


def _decode(node, arrays, where=""):
    """Rebuild what ``_encode`` described, checking each node; ``where`` is its dotted path."""
    name = f"node {where!r}" if where else "the top node"
    if not isinstance(node, dict):
        raise _MalformedStructure(f"{name} is a JSON {type(node).__name__}, not a node")
    if "array" in node:
        key = node["array"]
        if not isinstance(key, str) or key not in arrays:
            raise _MalformedStructure(f"{name} refers to the array {key!r}, which the archive "
                                      "does not hold")
        flags = [node.get(flag) for flag in ("tensor", "requires_grad", "scalar")]
        if not all(isinstance(flag, bool) for flag in flags):
            raise _MalformedStructure(f"{name} lacks the boolean flags tensor, requires_grad "
                                      "and scalar")
        tensor, requires_grad, scalar = flags
        data = arrays[key]
        if scalar:
            if data.ndim != 0:
                raise _MalformedStructure(f"{name} is marked scalar but {key!r} has shape "
                                          f"{data.shape}")
            return data[()]
        parameter = node.get("parameter", False)
        if not isinstance(parameter, bool) or parameter and not tensor:
            raise _MalformedStructure(f"{name} has a parameter flag {parameter!r} that is not "
                                      "a boolean, or is set on an array that is no Tensor")
        if tensor:
            if data.dtype.kind not in "biuf" or requires_grad and data.dtype.kind != "f":
                marked = "a Tensor requiring grad" if requires_grad else "a Tensor"
                raise _MalformedStructure(f"{name} is marked {marked} but {key!r} holds "
                                          f"{data.dtype} values")
            if parameter:  # as torch.load: a Parameter (registered when assigned to a module)
                return _parameter_type()(Tensor._wrap(data), requires_grad=requires_grad)
            return Tensor(data, requires_grad=requires_grad)
        return data
    if "dict" in node:
        items = node["dict"]
        if not isinstance(items, list) or not all(
                isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
                and not isinstance(item[0], bool) for item in items):
            raise _MalformedStructure(f"{name} is a dict node whose items are not [key, node] "
                                      "pairs with str or int keys")
        return {k: _decode(v, arrays, _join(where, k)) for k, v in items}
    for kind, container in (("list", list), ("tuple", tuple)):
        if kind in node:
            if not isinstance(node[kind], list):
                raise _MalformedStructure(f"{name} is a {kind} node without a list of nodes")
            return container(_decode(v, arrays, _join(where, i))
                             for i, v in enumerate(node[kind]))
    if "value" in node:
        value = node["value"]
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise _MalformedStructure(f"{name} holds a JSON {type(value).__name__} as a value")
        return value
    raise _MalformedStructure(f"{name} is a node of no known kind (keys {sorted(node)})")


def save(obj, path, pickle_module=None, pickle_protocol=None):
    """Write ``obj`` (a state dict, or nested dicts/lists of arrays, Tensors, numbers) to ``path``.

    The archive is a plain ``.npz`` (what ``np.savez`` writes) written atomically; the file
    name is used as given (no suffix is added), through a symbolic link to its target. Any str
    or int dict key can be saved. ``path`` may also be a binary file object open for writing
    (as ``torch.save`` takes one): the archive is then written into it as it is, not atomically.
    ``pickle_protocol`` is accepted for torch's calls and has no effect (nothing is pickled);
    a ``pickle_module`` is refused, since the objects it would serialise cannot be saved.
    """
    if pickle_module is not None:
        raise TypeError("tinydl.save: pickle_module is not supported: tinydl never pickles; it "
                        "saves dicts, lists, tuples, arrays, Tensors, numbers, strings, None")
    arrays = {}
    try:
        encoded = _encode(obj, [], arrays, {})
    except RecursionError:
        raise ValueError("tinydl.save: the object is nested too deeply to save (it exceeds "
                         "Python's recursion limit)") from None
    try:
        structure = json.dumps(encoded)
    except ValueError as err:  # an int of more digits than Python converts to text
        raise ValueError(f"tinydl.save: a value cannot be written as text ({err})") from None
    arrays[_STRUCTURE_KEY] = np.frombuffer(structure.encode("utf-8"), dtype=np.uint8)
    if hasattr(path, "write"):
        _write_npz(path, arrays)
    else:
        write_atomically(path, lambda handle: _write_npz(handle, arrays))


def _write_npz(handle, arrays):
    """Write ``arrays`` as ``np.savez(handle, **arrays)`` does: one uncompressed ``name.npy``
    member per array. Written here because np.savez takes its names as keyword arguments, so
    a key ``'file'`` or ``'allow_pickle'`` would be taken for one of its own arguments."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, data, allow_pickle=False)


def write_atomically(path, write, where="tinydl.save"):
    """Write a file through ``write(handle)`` (a binary file handle) so that readers see either
    the old file or the whole new one: the bytes go to a temporary file beside ``path``, are
    flushed to disk, and the file is moved into place with ``os.replace``; on any error the
    temporary file is removed. Used by ``save``, ``write_idx``, the profiler's trace and
    ``draw_graph``; ``where`` names the caller in errors.
    """
    # str even for a bytes path; through a symbolic link, the file it points to is replaced
    # (replacing the link itself would leave the target, a 'latest -> ckpt_9' say, behind)
    path = os.path.realpath(os.fsdecode(os.fspath(path)))
    fd, tmp = _create_file_beside(path, where)
    try:
        try:  # an existing file keeps its permission bits (a private 0o600 checkpoint stays so)
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = None
        if mode is not None:
            os.chmod(fd if os.chmod in os.supports_fd else tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise


def _create_file_beside(path, where):
    """Create and open a new, uniquely named temporary file in the folder of ``path``.

    Like ``tempfile.mkstemp`` (``O_EXCL``, a random name, retried on a clash), but with mode
    ``0o666`` rather than ``0o600``: the kernel applies the umask, so once moved into place the
    file has the permissions any other newly written file would have.
    """
    directory = os.path.dirname(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".tinydl-{secrets.token_hex(8)}.npz.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{where}: cannot write {path}, "
                                    "no such folder", directory) from None
    raise FileExistsError(errno.EEXIST, f"{where}: no unused temporary file name", directory)


def load(path, map_location=None, *, weights_only=None, mmap=None):
    """Read what ``save`` wrote: the same nesting, with Tensors, arrays and numbers restored.

    torch's keywords are accepted as ported code passes them: ``map_location`` may be None,
    ``'cpu'``, a ``torch.device('cpu')`` or a dict mapping locations to the CPU (tinydl runs
    on the CPU; another device raises); ``weights_only`` has no effect, since ``load`` never
    unpickles anything (it is always "weights only"); ``mmap`` has no effect either (the
    arrays are read into memory).

    A plain ``.npz`` without tinydl's structure entry loads as a dict of arrays. Never uses
    pickle. Every array is read (and its CRC checked) before anything is returned.

    Raises ``SerializationError`` (a ``ValueError``) naming the file and the fault when it is
    empty, truncated, not an ``.npz`` archive, corrupted, holds an object array or a member
    that is not a ``.npy`` array, or has a broken structure entry; ``FileNotFoundError`` when
    there is no file at ``path``. The file is closed in every case. ``path`` may also be a
    binary file object open for reading (as ``torch.load`` takes one); it is read, not closed.
    """
    _check_location(map_location)
    if hasattr(path, "read"):
        arrays = _read_arrays(path, getattr(path, "name", "the file object"))
    else:
        path = os.fsdecode(os.fspath(path))
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "tinydl.load: no such file", path) from None
        # We own the handle: np.load leaks a file it opened itself when the zip is unreadable.
        with handle:
            arrays = _read_arrays(handle, path)
    if _STRUCTURE_KEY not in arrays:
        return arrays
    raw = arrays.pop(_STRUCTURE_KEY)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise _MalformedStructure(f"it is a {raw.dtype} array of shape {raw.shape}, "
                                      "not JSON bytes")
        try:
            structure = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _MalformedStructure(f"it is not valid JSON ({err})") from None
        return _decode(structure, arrays)
    except _MalformedStructure as err:
        raise SerializationError(f"tinydl.load: {path} has a broken structure entry "
                                 f"{_STRUCTURE_KEY!r}: {err}") from None
    except RecursionError:
        raise SerializationError(f"tinydl.load: {path} has a structure entry nested too deeply "
                                 "to decode") from None


def _check_location(map_location):
    """Refuse a ``map_location`` that names a device other than the CPU."""
    if map_location is None:
        return
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if callable(target) and not isinstance(target, str) and type(target).__name__ != "device":
            raise TypeError("tinydl.load: map_location as a function is not supported (it "
                            "receives torch storages); tinydl loads everything on the CPU, so "
                            "leave it out")
        if str(target).split(":")[0] != "cpu":
            raise ValueError(f"tinydl.load: map_location={target!r}: tinydl runs on the CPU, "
                             "so arrays can only be loaded there (pass 'cpu' or leave it out)")


def _read_arrays(handle, path):
    """Every member of the ``.npz`` open in ``handle`` (from its current position), as a
    dict name -> array."""
    start = handle.tell()
    head = handle.read(4)
    if not head:
        raise SerializationError(f"tinydl.load: {path} is empty (0 bytes)")
    # np.load would try to unpickle anything that is not a zip and advise allow_pickle=True.
    if head == b"\x93NUM":
        raise SerializationError(f"tinydl.load: {path} is a single .npy array, not an .npz "
                                 "archive (read it with np.load)")
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise SerializationError(f"tinydl.load: {path} is truncated or not a zip archive (it "
                                 "does not start with a zip header)")
    handle.seek(start)
    try:
        archive = np.load(handle, allow_pickle=False)
        end = _check_directory(archive, handle, start)
        if end is not None:  # the stream holds more than the archive that starts here
            archive.close()
            handle.seek(start)
            archive = np.load(_Prefix(handle, end), allow_pickle=False)
            _check_directory(archive, None, start)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError,
            struct.error) as err:
        raise SerializationError(f"tinydl.load: {path} is truncated or not a zip archive "
                                 f"(its zip directory is missing or damaged: {err})") from None
    arrays = {}
    with archive:
        for name in archive.zip.namelist():
            if not name.endswith(".npy"):
                raise SerializationError(f"tinydl.load: {path} holds a member {name!r} that "
                                         "is not a .npy array, so it is not an .npz file")
            key = name.removesuffix(".npy")  # how np.savez names members and np.load keys
            arrays[key] = _read_member(archive, name, key, path)
    if end is not None:
        handle.seek(end)  # where a second load from the same stream reads on, as torch's
    return arrays


_END = b"PK\x05\x06"  # the end-of-central-directory record's signature (22 bytes + comment)
_END64_LOCATOR = b"PK\x06\x07"  # the zip64 locator, 20 bytes before it when present
_END64 = b"PK\x06\x06"


def _check_directory(archive, handle, start):
    """Check the zip directory ``np.load`` read from ``handle`` for the archive that starts
    at ``start``; return None when it is that archive's, else where that archive ends.

    ``zipfile`` takes the directory at the end of the stream: after two ``save`` calls into
    one file object, or an archive followed by other bytes, that is another archive's, and
    ``load`` gave the last object where ``torch.load`` gives the first. The first archive
    then ends at its end record, found by scanning on from ``start`` (``_first_end``). The
    directory must also list as many members as its end record counts: a damaged entry
    length can make ``zipfile`` skip a member silently (the structure entry, say, which
    would make a tinydl checkpoint load as a flat ``.npz``), as ``unzip`` reports.
    """
    infos = archive.zip.infolist()
    if handle is not None and infos and min(i.header_offset for i in infos) != start:
        return _first_end(handle, start)
    fp = archive.zip.fp
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    fp.seek(max(0, size - 22 - 0xFFFF))
    tail = fp.read()
    at = tail.rfind(_END)
    if at < 0 or at + 22 > len(tail):
        raise zipfile.BadZipFile("no end-of-directory record")
    counted = _end_record(fp, size - len(tail) + at, tail[at:at + 22])
    if counted != len(infos):
        raise zipfile.BadZipFile(f"the end record counts {counted} members, the directory "
                                 f"lists {len(infos)}")
    return None


def _end_record(fp, where, record):
    """The member count of the end record ``record`` (22 bytes) at ``where`` in ``fp``: from
    the zip64 record before it when the short field overflowed."""
    members = struct.unpack_from("<H", record, 10)[0]
    return members if members != 0xFFFF else _zip64_record(fp, where)[0]


def _zip64_record(fp, where):
    """(members, directory size, directory offset) of the zip64 end record that precedes the
    end record at ``where`` (then its 20-byte locator), and where it starts."""
    fp.seek(where - 76)
    record64 = fp.read(76)
    if (len(record64) != 76 or not record64.startswith(_END64)
            or record64[56:60] != _END64_LOCATOR):
        raise zipfile.BadZipFile("a zip64 end record without its zip64 record and locator")
    return struct.unpack_from("<QQQ", record64, 32) + (where - 76,)


def _first_end(handle, start):
    """The end of the first archive from ``start``: just past the first end record whose
    directory ends where the record begins, so bytes of an array that happen to look like a
    record do not count. The directory's offset counts from ``start`` or from the stream's
    beginning (``zipfile`` writes the latter into a stream not at 0). Read in 1 MiB chunks."""
    handle.seek(start)
    base, buffer = start, b""
    while True:
        chunk = handle.read(1 << 20)
        if not chunk:
            raise zipfile.BadZipFile("no end-of-directory record for the archive at the "
                                     "stream's position")
        buffer += chunk
        at = buffer.find(_END)
        while at >= 0 and at + 22 <= len(buffer):
            where = base + at
            resume = handle.tell()
            size_cd, offset_cd = struct.unpack_from("<II", buffer, at + 12)
            ends = where  # where the directory ends: at this record, or at its zip64 record
            if where - 76 >= start:
                try:
                    _, size_cd, offset_cd, ends = _zip64_record(handle, where)
                except zipfile.BadZipFile:
                    pass
            if offset_cd + size_cd in (ends, ends - start):
                comment = struct.unpack_from("<H", buffer, at + 20)[0]
                return where + 22 + comment
            handle.seek(resume)
            at = buffer.find(_END, at + 1)
        keep = max(0, len(buffer) - 21)  # a record may straddle two chunks
        base += keep
        buffer = buffer[keep:]


class _Prefix:
    """The first ``end`` bytes of a binary stream, as a file ``zipfile`` can read."""

    def __init__(self, handle, end):
        self.handle, self.end = handle, end

    def seekable(self):
        return True

    def tell(self):
        return self.handle.tell()

    def seek(self, offset, whence=os.SEEK_SET):
        if whence == os.SEEK_END:
            return self.handle.seek(self.end + offset)
        return self.handle.seek(offset, whence)

    def read(self, n=-1):
        left = max(0, self.end - self.handle.tell())
        return self.handle.read(left if n is None or n < 0 else min(n, left))


def _read_member(archive, name, key, path):
    """One array, its header checked first so an object array is refused before NumPy sees it."""
    prefix = f"tinydl.load: {path}"
    try:
        with archive.zip.open(name) as member:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(member)
        needed, held = math.prod(shape) * dtype.itemsize, archive.zip.getinfo(name).file_size
        if needed > held:  # before NumPy allocates it
            raise SerializationError(f"{prefix} member {key!r} claims shape {shape} of "
                                     f"{dtype} ({needed} bytes) but holds {held} bytes (the "
                                     "file is corrupted)")
        if not dtype.hasobject:
            # Read by member name: archive[key] would give key 'a.npy' the member of key 'a'.
            with archive.zip.open(name) as member:
                return np.lib.format.read_array(member, allow_pickle=False)
    except zipfile.BadZipFile as err:
        fault = "fails its CRC check" if "CRC" in str(err) else f"cannot be read ({err})"
        raise SerializationError(f"{prefix} member {key!r} {fault} (the file is corrupted)") \
            from None
    except (zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        raise SerializationError(f"{prefix} member {key!r} is not a readable .npy array "
                                 f"({err}; the file is corrupted)") from None
    raise SerializationError(f"{prefix} holds an object array under {key!r}, which tinydl "
                             "never writes and cannot load without pickle")
