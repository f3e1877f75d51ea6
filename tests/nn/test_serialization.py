"""tinydl.save / tinydl.load (tinydl/serialization.py): .npz without pickle, atomic, bit-identical."""
import builtins
import io
import json
import os
import struct
import traceback
import zipfile

import numpy as np
import pytest

import tinydl
import tinydl.nn as nn
from tinydl.serialization import SerializationError, load, save


def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))


def test_saved_model_reloads_bit_identically(tmp_path):
    tinydl.manual_seed(0)
    model = _model()
    model(tinydl.randn(4, 1, 4, 4))  # moves the running statistics
    path = tmp_path / "model.npz"
    save(model.state_dict(), path)
    tinydl.manual_seed(1)
    other = _model()
    other.load_state_dict(load(path))
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype
        assert a.data.tobytes() == b.data.tobytes(), k
    model.eval(), other.eval()
    x = tinydl.randn(2, 1, 4, 4)
    assert model(x).data.tobytes() == other(x).data.tobytes()


def test_file_is_plain_npz_without_pickle(tmp_path):
    model = _model()
    path = tmp_path / "ckpt.bin"
    save(model.state_dict(), path)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.bin"]  # name kept, no temp file left
    with np.load(path, allow_pickle=False) as archive:
        assert "0.weight" in archive.files and "1.running_mean" in archive.files
        np.testing.assert_array_equal(archive["3.bias"], model[3].bias.data)


def test_nested_structures_round_trip(tmp_path):
    obj = {"model": {"w": tinydl.Tensor(np.arange(3.0), requires_grad=True)},
           "optim": {"state": {0: {"momentum_buffer": np.ones((2, 2), np.float32), "step": 4}},
                     "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                                       "params": [0, 1], "name": None}]},
           "epoch": 7, "scalar": np.float32(2.5)}
    save(obj, tmp_path / "all.npz")
    back = load(tmp_path / "all.npz")
    assert isinstance(back["model"]["w"], tinydl.Tensor) and back["model"]["w"].requires_grad
    np.testing.assert_array_equal(back["model"]["w"].data, np.arange(3.0))
    assert back["optim"]["state"][0]["step"] == 4
    assert back["optim"]["state"][0]["momentum_buffer"].dtype == np.float32
    assert back["optim"]["param_groups"] == [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False,
                                              "params": [0, 1], "name": None}]
    assert back["epoch"] == 7 and back["scalar"] == np.float32(2.5)
    with np.load(tmp_path / "all.npz", allow_pickle=False) as archive:
        assert "optim.state.0.momentum_buffer" in archive.files


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "m.npz"
    save({"a": np.ones(2)}, path)
    with pytest.raises(TypeError, match="cannot store"):
        save({"a": object()}, path)
    np.testing.assert_array_equal(load(path)["a"], np.ones(2))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    with pytest.raises(TypeError, match="pickle"):
        save({"a": np.array(["x"], dtype=object)}, path)
    np.testing.assert_array_equal(load(path)["a"], np.ones(2))


# ---- load: every broken file raises one error type, naming the file and the fault ----------

def _good_file(path):
    save({"w": np.arange(6.0), "step": 3}, path)
    return path


def _member_data_span(path, name):
    """(start, size) of a member's stored bytes, read from its local zip header."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    with open(path, "rb") as handle:
        handle.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", handle.read(4))
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def _flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncated(path):
    raw = _good_file(path).read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _truncated_to_three_bytes(path):
    path.write_bytes(_good_file(path).read_bytes()[:3])


def _empty(path):
    path.write_bytes(b"")


def _plain_text(path):
    path.write_text("epoch 3, loss 0.25\n")


def _npy_file(path):
    with open(path, "wb") as handle:
        np.save(handle, np.ones(3))


def _bad_crc(path):
    start, size = _member_data_span(_good_file(path), "w.npy")
    _flip_byte(path, start + size - 1)  # the last byte of w's float data, past its .npy header


def _bad_compressed_member(path):
    np.savez_compressed(path, w=np.arange(1000.0))
    start, size = _member_data_span(path, "w.npy")
    _flip_byte(path, start + size // 2)


def _object_array(path):
    with open(path, "wb") as handle:
        np.savez(handle, w=np.array([1, "a", None], dtype=object), allow_pickle=True)


def _not_an_npy_member(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not an array")


def _structure_array(structure, **arrays):
    """A writer of an .npz whose structure entry is ``structure``, beside ``arrays``."""
    def write(path):
        with open(path, "wb") as handle:
            np.savez(handle, __tinydl_structure__=structure, **arrays)
    return write


def _with_structure(text, **arrays):
    return _structure_array(np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays)


_ARRAY_W = {"array": "w", "tensor": False, "requires_grad": False, "scalar": False}

_BROKEN_FILES = {
    # case: (writer, what the message must say)
    "truncated": (_truncated, "truncated or not a zip archive"),
    "truncated_to_3_bytes": (_truncated_to_three_bytes, "truncated or not a zip archive"),
    "empty": (_empty, "is empty"),
    "plain_text": (_plain_text, "not a zip archive"),
    "npy_not_npz": (_npy_file, "single .npy array"),
    "bad_crc": (_bad_crc, "member 'w' fails its CRC check (the file is corrupted)"),
    "bad_compressed_member": (_bad_compressed_member, "member 'w'"),
    "object_array": (_object_array, "object array under 'w', which tinydl never writes"),
    "member_not_npy": (_not_an_npy_member, "'readme.txt' that is not a .npy array"),
    "structure_not_json": (_with_structure("{not json"), "not valid JSON"),
    "structure_not_utf8": (_structure_array(np.array([255, 254], np.uint8)), "not valid JSON"),
    "structure_not_bytes": (_structure_array(np.ones(3)), "not JSON bytes"),
    "structure_missing_array": (_with_structure(json.dumps({"dict": [["w", _ARRAY_W]]})),
                                "node 'w' refers to the array 'w', which the archive does not"),
    "structure_node_not_object": (_with_structure("[1, 2]", w=np.ones(2)), "the top node"),
    "structure_unknown_node": (_with_structure(json.dumps({"dict": [["w", {"blob": 1}]]})),
                               "node 'w' is a node of no known kind"),
    "structure_bad_dict_items": (_with_structure(json.dumps({"dict": [["w"]]})),
                                 "not [key, node] pairs"),
    "structure_missing_flags": (_with_structure(json.dumps({"array": "w"}), w=np.ones(2)),
                                "boolean flags"),
    "structure_bad_scalar": (_with_structure(json.dumps(dict(_ARRAY_W, scalar=True)),
                                             w=np.ones(2)), "marked scalar"),
    "structure_bad_value": (_with_structure(json.dumps({"value": {"a": 1}})), "as a value"),
}


@pytest.mark.parametrize("case", list(_BROKEN_FILES))
def test_load_of_a_broken_file_raises_serialization_error(tmp_path, case):
    write, fault = _BROKEN_FILES[case]
    path = tmp_path / "ckpt.npz"
    write(path)
    with pytest.raises(SerializationError) as info:
        load(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"tinydl.load: {path} "), message
    assert fault in message, message
    # NumPy's advice to pass allow_pickle=True must not reach the user, not even as a cause.
    shown = "".join(traceback.format_exception(info.value))
    assert "allow_pickle" not in shown and "pickle.load" not in shown, shown


def test_load_of_a_missing_file_raises_file_not_found_naming_it(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="tinydl.load: no such file") as info:
        load(path)
    assert info.value.filename == str(path) and str(path) in str(info.value)


def test_load_closes_the_file_on_every_error(tmp_path, monkeypatch):
    opened = []
    real_open = builtins.open

    def tracking_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        opened.append((args[0], handle))
        return handle

    for case, (write, _) in _BROKEN_FILES.items():
        path = tmp_path / f"{case}.npz"
        write(path)
        opened.clear()
        monkeypatch.setattr(builtins, "open", tracking_open)
        with pytest.raises(Exception) as info:  # the exception (and its frames) stays alive
            load(path)
        monkeypatch.setattr(builtins, "open", real_open)
        ours = [handle for name, handle in opened if os.fspath(name) == str(path)]
        assert ours, f"{case}: load did not open {path} through open()"
        assert all(handle.closed for handle in ours), f"{case}: {path} left open ({info.value})"


def test_load_still_reads_plain_npz_and_good_files(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.arange(3), b=np.eye(2))
    back = load(tmp_path / "plain.npz")
    assert sorted(back) == ["a", "b"]
    np.testing.assert_array_equal(back["b"], np.eye(2))
    back = load(_good_file(tmp_path / "good.npz"))
    assert back["step"] == 3
    np.testing.assert_array_equal(back["w"], np.arange(6.0))


# ---- save: missing folder, permissions, atomicity ------------------------------------------

def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    folder = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="tinydl.save: cannot write .*no such folder") \
            as info:
        save({"a": np.ones(2)}, folder / "m.npz")
    assert info.value.filename == str(folder)
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and umask")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
                         ids=["umask022", "umask077", "umask002"])
def test_saved_file_gets_the_usual_permissions_for_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        save({"a": np.ones(2)}, tmp_path / "m.npz")
        save({"a": np.zeros(2)}, tmp_path / "m.npz")  # replacing a file gives the same mode
    finally:
        os.umask(previous)
    assert oct(os.stat(tmp_path / "m.npz").st_mode & 0o777) == oct(mode)
    np.testing.assert_array_equal(load(tmp_path / "m.npz")["a"], np.zeros(2))


def test_failed_save_removes_its_temporary_file(tmp_path):
    target = tmp_path / "a_folder"
    target.mkdir()
    with pytest.raises(OSError):  # os.replace cannot put a file over a folder
        save({"a": np.ones(2)}, target)
    assert sorted(os.listdir(tmp_path)) == ["a_folder"] and os.listdir(target) == []


# ---- keys: every str key round-trips; cycles are refused ----------------------------------

@pytest.mark.parametrize("key", ["allow_pickle", "file", "args", "a\x00b", "__tinydl_structure__",
                                 "__tinydl_array_0__", "\ud800", "x" * 70000, "a.npy"],
                         ids=["allow_pickle", "file", "args", "nul", "structure_key",
                              "numbered_name", "lone_surrogate", "too_long_for_zip", "npy_suffix"])
def test_any_str_key_round_trips_and_replaces_the_old_file(tmp_path, key):
    path = tmp_path / "m.npz"
    save({"w": np.ones(2)}, path)
    save({key: np.arange(3.0), "a": np.zeros(1), "nested": {key: 4}}, path)
    back = load(path)
    assert list(back) == [key, "a", "nested"] and back["nested"] == {key: 4}
    np.testing.assert_array_equal(back[key], np.arange(3.0))
    np.testing.assert_array_equal(back["a"], np.zeros(1))
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_module_buffer_named_like_a_savez_argument_round_trips(tmp_path):
    class WithBuffers(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("file", tinydl.Tensor(np.arange(2.0)))
            self.register_buffer("allow_pickle", tinydl.Tensor(np.ones(3)))

    save(WithBuffers().state_dict(), tmp_path / "m.npz")
    other = WithBuffers()
    other.file.data[...] = 0
    other.load_state_dict(load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(other.file.data, np.arange(2.0))


def test_file_written_by_np_savez_as_before_still_loads(tmp_path):
    # What save wrote before it named the archive members itself: np.savez(handle, **arrays).
    structure = {"dict": [["model", {"dict": [["0.weight", {
        "array": "model.0.weight", "tensor": True, "requires_grad": True, "scalar": False}]]}],
        ["epoch", {"value": 3}]]}
    arrays = {"model.0.weight": np.arange(6.0).reshape(2, 3),
              "__tinydl_structure__": np.frombuffer(json.dumps(structure).encode(), np.uint8)}
    with open(tmp_path / "old.npz", "wb") as handle:
        np.savez(handle, **arrays)
    back = load(tmp_path / "old.npz")
    assert back["epoch"] == 3 and back["model"]["0.weight"].requires_grad
    np.testing.assert_array_equal(back["model"]["0.weight"].data, np.arange(6.0).reshape(2, 3))


def test_keys_a_and_a_npy_load_their_own_arrays(tmp_path):
    save({"a": np.zeros(1), "a.npy": np.ones(2)}, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back["a"], np.zeros(1))
    np.testing.assert_array_equal(back["a.npy"], np.ones(2))


def test_save_of_a_reference_cycle_names_it_and_keeps_the_old_file(tmp_path):
    path = _good_file(tmp_path / "m.npz")
    loop = {"w": np.ones(2)}
    loop["self"] = loop
    with pytest.raises(ValueError, match=r"tinydl.save: the dict at the top contains itself at "
                                         r"'self' \(a reference cycle\)"):
        save(loop, path)
    inner = [1]
    inner.append(inner)
    with pytest.raises(ValueError, match=r"the list at 'opt.l' contains itself at 'opt.l.1'"):
        save({"opt": {"l": inner}}, path)
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="tinydl.save: the object is nested too deeply"):
        save(deep, path)
    shared = np.ones(2)  # the same object twice is no cycle
    save({"a": shared, "b": [shared, shared]}, tmp_path / "shared.npz")
    assert load(path)["step"] == 3 and sorted(os.listdir(tmp_path)) == ["m.npz", "shared.npz"]


def test_save_and_load_take_file_objects_and_bytes_paths_and_write_through_links(tmp_path):
    """torch.save/torch.load take file objects (tinydl raised a bare TypeError); a bytes path
    failed in save only; saving to a symbolic link replaced the link, leaving its target (a
    'latest -> ckpt_9' checkpoint) behind."""
    state = {"w": tinydl.ones(2), "step": 3}
    buffer = io.BytesIO()
    buffer.write(b"x")  # loading starts where the file object stands
    tinydl.save(state, buffer)
    buffer.seek(1)
    loaded = tinydl.load(buffer)
    assert loaded["step"] == 3 and np.array_equal(loaded["w"].numpy(), [1.0, 1.0])
    path = tmp_path / "bytes.npz"
    tinydl.save(state, os.fsencode(path))
    assert tinydl.load(os.fsencode(path))["step"] == 3
    target, link = tmp_path / "ckpt_1.npz", tmp_path / "latest.npz"
    tinydl.save({"step": 1}, target)
    os.symlink(target.name, link)
    tinydl.save({"step": 2}, link)
    assert link.is_symlink() and tinydl.load(target)["step"] == 2


@pytest.mark.parametrize("obj", [{0: np.ones(1), "0": np.zeros(1)},
                                 {"a.b": np.ones(1), "a": {"b": np.zeros(1)}}])
def test_keys_whose_dotted_paths_collide_are_saved_too(tmp_path, obj):
    """Both raised "two entries map to the same archive key" (the docstring promises any str
    or int key); the second now gets a numbered member."""
    tinydl.save(obj, tmp_path / "x.npz")
    loaded = tinydl.load(tmp_path / "x.npz")
    assert list(loaded) == list(obj)
    flat = lambda d: [(k, flat(v) if isinstance(v, dict) else v.tolist()) for k, v in d.items()]
    assert flat(loaded) == flat(obj)


def test_two_archives_in_one_stream_load_in_order_as_torch():
    # torch.load gives the first object of a stream holding two; zipfile alone finds the last
    # archive's directory (the one at the end of the stream)
    stream = io.BytesIO()
    stream.write(b"head")  # zipfile then writes offsets from the stream's start
    save({"w": np.zeros(3), "step": 1}, stream)
    save({"w": np.ones(4)}, stream)
    stream.seek(4)
    first = load(stream)
    assert np.array_equal(first["w"], np.zeros(3)) and first["step"] == 1
    assert np.array_equal(load(stream)["w"], np.ones(4))  # the stream was left after the first


def test_two_archives_with_zip64_end_records(monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # forces zip64 end records
    stream = io.BytesIO()
    save({"a": np.arange(3), "b": [1, 2]}, stream)
    save({"a": np.arange(4)}, stream)
    assert stream.getvalue().count(b"PK\x06\x06") == 2
    stream.seek(0)
    assert load(stream)["b"] == [1, 2]
    assert np.array_equal(load(stream)["a"], np.arange(4))


def test_a_directory_that_lists_fewer_members_than_its_end_record_raises():
    # a damaged comment length made zipfile skip the structure entry, and the checkpoint
    # loaded as a flat .npz without its nesting or 'step'
    stream = io.BytesIO()
    save({"model": {"w": np.arange(3.0), "b": np.ones(2)}, "step": 7}, stream)
    raw = bytearray(stream.getvalue())
    entries = [i for i in range(len(raw)) if raw[i:i + 4] == b"PK\x01\x02"]
    raw[entries[1] + 32] ^= 0x80
    with pytest.raises(SerializationError, match="counts 3 members, the directory lists 2"):
        load(io.BytesIO(bytes(raw)))


def test_a_member_claiming_more_bytes_than_it_holds_raises_before_allocating():
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        with archive.open("big.npy", "w") as member:
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 14,)})
    stream.seek(0)
    with pytest.raises(SerializationError, match=r"claims shape \(100000000000000,\)"):
        load(stream)


def test_a_parameter_comes_back_as_a_parameter_and_registers():
    layer = nn.Linear(2, 3)
    stream = io.BytesIO()
    save({"w": layer.weight, "state": layer.state_dict(), "frozen": nn.Parameter(
        tinydl.zeros(2), requires_grad=False)}, stream)
    stream.seek(0)
    back = load(stream)
    assert type(back["w"]) is nn.Parameter and back["w"].requires_grad
    assert np.array_equal(back["w"].data, layer.weight.data)
    assert type(back["state"]["weight"]) is tinydl.Tensor  # state_dict holds plain tensors
    assert type(back["frozen"]) is nn.Parameter and not back["frozen"].requires_grad
    module = nn.Module()
    module.w = back["w"]
    assert [name for name, _ in module.named_parameters()] == ["w"]


@pytest.mark.parametrize("node", [
    {"array": "a", "tensor": True, "requires_grad": True, "scalar": False},  # int array
    {"array": "a", "tensor": False, "requires_grad": False, "scalar": False, "parameter": True},
    {"array": "a", "tensor": True, "requires_grad": False, "scalar": False, "parameter": 1},
])
def test_crafted_tensor_flags_raise_serialization_error(node):
    stream = io.BytesIO()
    structure = np.frombuffer(json.dumps(node).encode(), dtype=np.uint8)
    np.savez(stream, a=np.arange(3), __tinydl_structure__=structure)
    stream.seek(0)
    with pytest.raises(SerializationError, match="broken structure entry"):
        load(stream)


def test_torch_keywords_are_accepted_and_other_devices_refused(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"a": np.arange(3)}, path, pickle_protocol=2)
    for kwargs in ({"map_location": "cpu"}, {"map_location": {"cuda:0": "cpu"}},
                   {"weights_only": True}, {"weights_only": False}, {"mmap": True}):
        assert np.array_equal(load(path, **kwargs)["a"], np.arange(3)), kwargs
    with pytest.raises(ValueError, match="map_location='cuda:0': tinydl runs on the CPU"):
        load(path, map_location="cuda:0")
    with pytest.raises(TypeError, match="map_location as a function"):
        load(path, map_location=lambda storage, location: storage)
    with pytest.raises(TypeError, match="never pickles"):
        save({}, path, pickle_module=json)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "private.pt"
    save({"a": 1}, path)
    os.chmod(path, 0o600)
    save({"a": 2}, path)
    assert os.stat(path).st_mode & 0o777 == 0o600 and load(path)["a"] == 2
