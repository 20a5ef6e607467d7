"""Checksums of files, read in blocks so a multi-GB VCF or reference costs no memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``hashlib`` algorithm name: sha256, md5, ...)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
