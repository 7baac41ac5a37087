"""The one hash of file contents: a file hashed a chunk at a time is its bytes' digest."""

from __future__ import annotations

import os

import pytest

from timeline.digest import FILE_CHUNK, hex_digest, hex_digest_of_file, hex_digest_of_parts


@pytest.mark.parametrize(
    "size", [0, 1, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1, 3 * FILE_CHUNK + 5]
)
def test_a_file_hashed_in_chunks_is_its_bytes_digest(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "events.yaml"
    path.write_bytes(data)
    assert hex_digest_of_file(path) == hex_digest(data) == hex_digest_of_parts([data])


def test_a_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        hex_digest_of_file(tmp_path / "gone.yaml")


def test_one_changed_byte_changes_the_digest(tmp_path):
    data = bytearray(os.urandom(2 * FILE_CHUNK))
    path = tmp_path / "events.yaml"
    path.write_bytes(data)
    before = hex_digest_of_file(path)
    data[FILE_CHUNK + 7] ^= 1
    path.write_bytes(data)
    assert hex_digest_of_file(path) != before
