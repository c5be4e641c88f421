"""Read (and write) IDX files, the format MNIST and Fashion-MNIST are shipped in.

An IDX file is a tiny header followed by raw big-endian numbers:

    bytes 0-1   always zero
    byte  2     dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64)
    byte  3     number of dimensions d
    4*d bytes   the size of each dimension, big-endian uint32
    the rest    prod(sizes) values of that dtype, big-endian, C order

Files are often gzip-compressed (``train-images-idx3-ubyte.gz``). We recognise
gzip by its magic bytes rather than the file name, because renamed copies are
common.

The reader checks everything it can before returning: a truncated download or
a wrong file would otherwise turn into a plausible-looking array of garbage
that silently ruins a training run. Every problem raises ``IDXFormatError``
(a ``ValueError``) naming the file and what is wrong with it.

Checksums: ``verify_checksum(path, expected)`` compares the md5 or sha256 of a
file (the algorithm is recognised from the length of the hex digest) and raises
``ChecksumError`` naming the file, the expected and the actual digest.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "IDXFormatError",
    "ChecksumError",
    "read_idx",
    "read_idx_bytes",
    "parse_idx",
    "write_idx",
    "file_digest",
    "verify_checksum",
    "is_gzip",
]

# IDX dtype code -> big-endian numpy dtype. These are all the codes the format defines.
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """An IDX file is truncated, corrupt or not an IDX file at all."""


class ChecksumError(ValueError):
    """A file's checksum is not the published one (corrupt or different file)."""


def is_gzip(path: str | os.PathLike) -> bool:
    """True if the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """The uncompressed IDX bytes of ``path`` (gunzipped if it is gzip)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    if not is_gzip(path):
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except EOFError as err:
        # gzip raises EOFError when the compressed stream stops early: the
        # classic symptom of an interrupted download.
        raise IDXFormatError(
            f"{path}: gzip stream ends early (the file is truncated; delete it and download it again)"
        ) from err
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        raise IDXFormatError(f"{path}: corrupt gzip data ({err}); delete it and download it again") from err


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode uncompressed IDX bytes into a native-endian numpy array.

    ``name`` is only used in error messages, so they can say which file is bad.
    """
    if len(data) < 4:
        raise IDXFormatError(f"{name}: only {len(data)} bytes, too short for an IDX header (4 bytes at least)")
    zero, code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00":
        hint = " (it looks gzip-compressed; decompress it first)" if data[:2] == _GZIP_MAGIC else ""
        raise IDXFormatError(
            f"{name}: bad magic number 0x{data[:4].hex()}: IDX files start with two zero bytes{hint}"
        )
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise IDXFormatError(f"{name}: unknown IDX dtype code 0x{code:02X} (known codes: {known})")
    if ndim == 0:
        raise IDXFormatError(f"{name}: header says the array has 0 dimensions")

    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXFormatError(
            f"{name}: truncated header: {ndim} dimensions need {header_len} header bytes, file has {len(data)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    # Python ints, so a corrupt header with huge sizes cannot overflow.
    expected = dtype.itemsize
    for s in shape:
        expected *= s
    actual = len(data) - header_len
    if actual < expected:
        raise IDXFormatError(
            f"{name}: truncated: header says shape {shape} of {dtype.name} = {expected:,} data bytes, "
            f"but only {actual:,} follow (delete the file and download it again)"
        )
    if actual > expected:
        raise IDXFormatError(
            f"{name}: {actual - expected:,} unexpected bytes after the {expected:,} data bytes "
            f"for shape {shape}: corrupt file or wrong header"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    # Native byte order and a writable copy: callers may normalise in place.
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a numpy array, validating it fully."""
    return parse_idx(read_idx_bytes(path), name=str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it if ``compress`` (default: name ends in .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"IDX cannot store dtype {arr.dtype}; use one of {sorted(str(d) for d in _CODES)}")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    code = _CODES[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + arr.astype(_DTYPES[code], copy=False).tobytes(order="C")
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        # mtime=0 keeps the bytes (and so the checksum) reproducible.
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


def _algorithm_for(digest: str) -> str:
    lengths = {32: "md5", 40: "sha1", 64: "sha256"}
    try:
        return lengths[len(digest)]
    except KeyError:
        raise ValueError(
            f"cannot tell the hash algorithm of {digest!r}: expected 32 (md5), 40 (sha1) or 64 (sha256) hex digits"
        ) from None


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks so large files need little memory."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: str | Iterable[str]) -> str:
    """Check that the md5/sha1/sha256 of ``path`` is ``expected`` (or one of several).

    The algorithm follows from the digest length. Returns the matching digest;
    raises ``ChecksumError`` naming the file, the expected and the actual digest.
    """
    wanted = [expected] if isinstance(expected, str) else list(expected)
    if not wanted:
        raise ValueError("verify_checksum needs at least one expected digest")
    wanted = [w.strip().lower() for w in wanted]
    actual: dict[str, str] = {}
    for digest in wanted:
        algo = _algorithm_for(digest)
        if algo not in actual:
            actual[algo] = file_digest(path, algo)
        if actual[algo] == digest:
            return digest
    got = ", ".join(f"{algo} {value}" for algo, value in actual.items())
    raise ChecksumError(
        f"{path}: checksum mismatch: expected {' or '.join(wanted)}, got {got}. "
        "The file is corrupt or not the published one; delete it and download it again."
    )
