"""IDX files, the format MNIST and Fashion-MNIST are distributed in.

Layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number -- two zero
bytes, a type code, the number of dimensions -- then one big-endian uint32 per dimension,
then the values in C order, big-endian. Files may be gzip-compressed (``*-ubyte.gz``).
"""

import gzip
import math
import os
import zlib

import numpy as np

from tinydl.serialization import write_atomically

# IDX type code -> big-endian dtype of the payload.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"read_idx: {path}: corrupt or truncated gzip stream ({err})") from None


def read_idx(path):
    """Read an IDX file (plain or gzip) into a NumPy array.

    Returns an array of the file's shape in native byte order, with dtype uint8, int8, int16,
    int32, float32 or float64 (IDX type codes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E). MNIST
    images come back as uint8 ``(N, 28, 28)``, labels as uint8 ``(N,)``. Gzip is recognised
    by its magic bytes, not by the file name. Raises ``ValueError`` naming the file on a bad
    magic number, a truncated header, or a payload shorter or longer than the header says.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"read_idx: {path}: truncated header, expected at least 4 bytes of "
                         f"magic number, got {len(raw)}")
    zero0, zero1, code, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path}: not an IDX file, magic number {raw[:4].hex()} "
                         f"(expected 0000 followed by a type code in "
                         f"{', '.join(f'{c:02x}' for c in _IDX_DTYPES)} and the rank)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"read_idx: {path}: truncated header, expected {header_size} bytes "
                         f"for {ndim} dimensions, got {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: (2**31)**2 does not wrap
    actual = len(raw) - header_size
    if actual != expected:
        kind = "truncated data" if actual < expected else "trailing bytes after the data"
        raise ValueError(f"read_idx: {path}: {kind}, shape {shape} of {dtype.name} needs "
                         f"{expected} bytes, the file holds {actual}")
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies into a writable array in native byte order.
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` to ``path`` as an IDX file; the inverse of ``read_idx``.

    ``array`` (an ndarray or Tensor) must have dtype uint8, int8, int16, int32, float32 or
    float64 and at most 255 dimensions, each below 2**32. ``compress=None`` gzips when the
    name ends in ``.gz``; ``True``/``False`` force it. The file is written to a temporary
    file in the same directory and moved into place with ``os.replace``, so readers never
    see a half-written file.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code; use uint8, "
                        f"int8, int16, int32, float32 or float64")
    if array.ndim > 255 or any(d >= 2 ** 32 for d in array.shape):
        raise ValueError(f"write_idx: shape {array.shape} does not fit an IDX header "
                         f"(at most 255 dimensions, each below 2**32)")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    write_atomically(path, lambda handle: handle.write(payload), "write_idx")
