"""The reference genome from a URL: fetched, checked, bgzip-compressed and indexed.

hs37d5 is published as plain gzip, which ``faidx`` cannot index for random access; the
sequence store and bcftools need a bgzip FASTA with ``.fai`` and ``.gzi``. The download
resumes like the VCFs' (:func:`haplexpr.vcf.download.download`), is checked by reading the
gzip stream to its end (and its md5 when known), and the three final files appear only
when all are complete.
"""

from __future__ import annotations

import gzip
import logging
import time
from pathlib import Path

import pysam

from haplexpr.atomic import atomic_path
from haplexpr.vcf.download import CHUNK, download

log = logging.getLogger(__name__)


def fetch_reference(url: str, dest: str | Path, md5: str | None = None) -> Path:
    """Download ``url`` next to ``dest``, then write ``dest`` (bgzip) with .fai and .gzi."""
    started = time.monotonic()
    dest = Path(dest)
    downloaded = dest.parent / "download" / url.rstrip("/").rsplit("/", 1)[-1]
    download(url, downloaded, md5=md5, bgzf=False)
    opener = gzip.open if downloaded.suffix == ".gz" else open
    with atomic_path(dest) as tmp:
        with opener(downloaded, "rb") as source, pysam.BGZFile(str(tmp), "wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
        pysam.faidx(str(tmp))  # writes tmp.fai and tmp.gzi beside it
        for suffix in (".fai", ".gzi"):
            Path(f"{tmp}{suffix}").replace(f"{dest}{suffix}")
    contigs = sum(1 for _ in Path(f"{dest}.fai").open())
    log.info(
        "reference %s: %d contigs, bgzip + faidx in %.1f s -> %s",
        url,
        contigs,
        time.monotonic() - started,
        dest,
    )
    return dest
