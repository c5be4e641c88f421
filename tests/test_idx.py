"""IDX reader: valid files round-trip; every kind of damage raises a message naming the file."""

import gzip
import struct

import numpy as np
import pytest

from nnbook.idx import (
    ChecksumError,
    IDXFormatError,
    file_digest,
    parse_idx,
    read_idx,
    verify_checksum,
    write_idx,
)


def _handmade_idx(shape, values, code=0x08, fmt="B"):
    """IDX bytes built with struct, independently of write_idx."""
    header = struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)
    return header + struct.pack(f">{len(values)}{fmt}", *values)


def test_reads_handmade_uint8_file(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(_handmade_idx((2, 2, 3), list(range(12))))
    arr = read_idx(path)
    assert arr.dtype == np.uint8
    assert arr.shape == (2, 2, 3)
    np.testing.assert_array_equal(arr.ravel(), np.arange(12))


def test_reads_big_endian_int32_and_gzip(tmp_path):
    values = [1, -2, 70000, -(2**31)]
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_handmade_idx((4,), values, code=0x0C, fmt="i")))
    arr = read_idx(path)
    assert arr.dtype == np.int32 and arr.dtype.isnative
    np.testing.assert_array_equal(arr, values)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_roundtrip(tmp_path, dtype, suffix):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != "uint8" else np.arange(24, dtype="uint8")
    path = write_idx(tmp_path / f"a{suffix}", arr)
    out = read_idx(path)
    assert out.dtype == arr.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # the result must be a writable copy


def test_truncated_file_names_file_and_problem(tmp_path):
    data = _handmade_idx((10, 28, 28), [7] * (10 * 28 * 28))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(IDXFormatError) as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "truncated" in msg


def test_truncated_gzip_names_file(tmp_path):
    data = gzip.compress(_handmade_idx((1000,), list(np.random.default_rng(0).integers(0, 256, 1000))))
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXFormatError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_bad_magic_number_names_file(tmp_path):
    path = tmp_path / "not-idx.bin"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00\x00\x00\x01" + b"\x05")
    with pytest.raises(IDXFormatError, match="magic") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"\x00\x00", "too short"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "dtype code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated header"),
        (_handmade_idx((3,), [1, 2, 3]) + b"\x00", "unexpected bytes"),
        (struct.pack(">BBBBI", 0, 0, 8, 1, 2**32 - 1) + b"\x00", "truncated"),
    ],
)
def test_corrupt_headers(data, fragment):
    with pytest.raises(IDXFormatError, match=fragment) as info:
        parse_idx(data, name="somefile")
    assert "somefile" in str(info.value)


def test_checksum_ok_and_mismatch(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    md5 = "5d41402abc4b2a76b9719d911017c592"
    sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert file_digest(path) == md5
    assert verify_checksum(path, md5) == md5
    assert verify_checksum(path, sha.upper()) == sha
    assert verify_checksum(path, ["0" * 32, md5]) == md5
    with pytest.raises(ChecksumError) as info:
        verify_checksum(path, "0" * 32)
    msg = str(info.value)
    assert str(path) in msg and "0" * 32 in msg and md5 in msg
    with pytest.raises(ValueError, match="hash algorithm"):
        verify_checksum(path, "abc")
