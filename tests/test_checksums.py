"""Tests for haplexpr.checksums: a file's digest read in blocks is hashlib's of its bytes."""

from __future__ import annotations

import hashlib

import pytest

from haplexpr import checksums


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_digest_over_several_blocks_is_the_whole_files(tmp_path, monkeypatch, algorithm):
    monkeypatch.setattr(checksums, "BLOCK", 7)  # 100 bytes: 14 full blocks and a short one
    data = bytes(range(100))
    (tmp_path / "data.bin").write_bytes(data)
    expected = hashlib.new(algorithm, data).hexdigest()
    assert checksums.file_digest(tmp_path / "data.bin", algorithm) == expected
    assert checksums.file_digest(str(tmp_path / "data.bin"), algorithm) == expected


def test_sha256_is_the_default_and_an_empty_file_has_a_digest(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert checksums.file_digest(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
