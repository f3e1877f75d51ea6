"""read_idx / write_idx: the IDX (MNIST) file format, plain and gzip."""

import gzip
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinydl
from tinydl.data import read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def sample_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["data-ubyte", "data-ubyte.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = sample_array(dtype, (5, 7, 3))
    path = tmp_path / name
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == dtype
    assert back.dtype.isnative
    assert back.flags.writeable
    np.testing.assert_array_equal(back, array)
    assert path.read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")


@settings(max_examples=40, deadline=None)
@given(array=hnp.arrays(st.sampled_from([np.uint8, np.float32]),
                        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)),
       compress=st.booleans())
def test_round_trip_any_shape(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / "a.idx"
    write_idx(path, array, compress=compress)
    back = read_idx(path)
    assert back.shape == array.shape and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_write_matches_the_format_byte_for_byte(tmp_path):
    """Independent of read_idx: the header and payload as the MNIST page describes them."""
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "images", images)
    expected = b"\x00\x00\x08\x03" + struct.pack(">III", 2, 3, 4) + bytes(range(24))
    assert (tmp_path / "images").read_bytes() == expected

    values = np.array([1.5, -2.0], dtype=np.float32)
    write_idx(tmp_path / "values", values)
    expected = b"\x00\x00\x0d\x01" + struct.pack(">I", 2) + struct.pack(">ff", 1.5, -2.0)
    assert (tmp_path / "values").read_bytes() == expected


def test_read_hand_built_big_endian_file(tmp_path):
    """A file built with struct (not write_idx) decodes to the right values and shape."""
    values = [-300, 7, 32767, -32768, 0, 1]
    raw = b"\x00\x00\x0b\x02" + struct.pack(">II", 2, 3) + struct.pack(">6h", *values)
    path = tmp_path / "hand.idx"
    path.write_bytes(raw)
    back = read_idx(path)
    assert back.dtype == np.int16
    np.testing.assert_array_equal(back, np.array(values).reshape(2, 3))


def test_gzip_detected_by_magic_not_name(tmp_path):
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    payload = b"\x00\x00\x08\x01" + struct.pack(">I", 5) + labels.tobytes()
    (tmp_path / "labels.idx").write_bytes(gzip.compress(payload))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.idx"), labels)
    (tmp_path / "plain.gz").write_bytes(payload)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "plain.gz")), labels)


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match=r"read_idx.*bad.*magic number 01020801"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="magic number 00000a01"):
        read_idx(path)


@pytest.mark.parametrize("raw, needed, got", [(b"\x00\x00", 4, 2),
                                               (b"\x00\x00\x08\x03" + b"\x00" * 9, 16, 13)])
def test_truncated_header(tmp_path, raw, needed, got):
    path = tmp_path / "short"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=fr"read_idx.*short.*truncated header.*{needed}.*{got}"):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data(tmp_path, compress):
    path = tmp_path / "images-ubyte"
    write_idx(path, np.zeros((3, 4, 4), dtype=np.float32))
    raw = path.read_bytes()[:-5]
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError,
                       match=r"images-ubyte: truncated data.*\(3, 4, 4\).*192 bytes.*187"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long"
    write_idx(path, np.zeros(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="trailing bytes.*4 bytes.*5"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    write_idx(path, sample_array(np.uint8, (50, 50)))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"read_idx.*cut\.gz.*gzip"):
        read_idx(path)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="write_idx.*int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    assert not (tmp_path / "x").exists()


def test_write_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.zeros(3, dtype=np.uint8))
    write_idx(path, tinydl.Tensor(np.ones(2, dtype=np.float32)))
    np.testing.assert_array_equal(read_idx(path), [1.0, 1.0])
    assert os.listdir(tmp_path) == ["labels"], "a temporary file was left behind"


def test_a_header_whose_size_overflows_int64_is_a_clear_error(tmp_path):
    # dims (2**31, 2**31, 4): their product wrapped to 0 in int64 and NumPy's reshape error
    # escaped; Python ints keep the real size, so the payload check names it.
    path = tmp_path / "huge.idx"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + np.array([2 ** 31, 2 ** 31, 4], ">u4").tobytes())
    with pytest.raises(ValueError, match=r"read_idx: .*truncated data, shape \(2147483648, "
                                         r"2147483648, 4\) of uint8 needs 18446744073709551616"):
        read_idx(path)


def test_write_idx_into_a_missing_folder_names_write_idx(tmp_path):
    with pytest.raises(FileNotFoundError, match="write_idx: cannot write .*no such folder"):
        write_idx(tmp_path / "missing" / "x.idx", np.zeros(3, np.uint8))
