"""The VCF URL list (``data.vcf_urls``, a cohort's ``vcf_urls``): one source per chromosome.

Each line is a URL (http(s), ftp, ``file:`` or a path relative to the list) and an
optional md5; the chromosome comes from the file name (``data.vcf_chromosome_pattern``).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from haplexpr.download import DownloadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VcfSource:
    """One line of the URL list: where a chromosome's VCF lives and its expected md5."""

    chrom: str
    url: str
    md5: str | None


#: What ``data.vcf_unmatched_urls`` may say about a URL whose file name names no chromosome.
UNMATCHED_URLS = ("skip", "error")


@dataclass(frozen=True)
class UrlList:
    """A parsed URL list: one source per chromosome, and the lines skipped as ``file:line``."""

    sources: list[VcfSource]
    skipped: list[str]


def read_url_list(
    path: str | Path, chromosome_pattern: str, unmatched: str = "skip"
) -> list[VcfSource]:
    """Parse the URL list; relative paths and ``file:`` URLs resolve against its folder."""
    return parse_url_list(path, chromosome_pattern, unmatched).sources


def parse_url_list(path: str | Path, chromosome_pattern: str, unmatched: str = "skip") -> UrlList:
    """:func:`read_url_list`, also returning the lines skipped.

    A file name the pattern finds no chromosome in is skipped with a warning
    (``unmatched="skip"``; the seed's list ends with a 1000 Genomes sites-only VCF, which has
    no genotypes to read) or refused (``"error"``). The list is read once, at start-up.
    """
    if unmatched not in UNMATCHED_URLS:
        raise ValueError(f"unmatched must be one of {UNMATCHED_URLS}, not {unmatched!r}")
    path = Path(path)
    pattern = re.compile(chromosome_pattern)
    sources: dict[str, VcfSource] = {}
    skipped = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        url = resolve_url(fields[0], path.parent)
        md5 = fields[1].lower() if len(fields) > 1 else None
        if md5 is not None and not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise DownloadError(f"{path}:{number}: second column {fields[1]!r} is not an md5")
        name = Path(urllib.parse.urlparse(url).path).name
        match = pattern.search(name)
        if not match and unmatched == "skip":
            why = (
                "a sites-only VCF, which carries no genotypes (nothing to read)"
                if ".sites." in name
                else "only per-chromosome VCFs are read (a sites-only one carries no genotypes)"
            )
            log.warning(
                "%s:%d: skipped %s: %s; pattern %r (config data.vcf_chromosome_pattern) finds "
                "no chromosome in its name (set data.vcf_unmatched_urls: error to refuse such "
                "lines)",
                path, number, name, why, chromosome_pattern,
            )  # fmt: skip
            skipped.append(f"{path}:{number}")
            continue
        if not match:
            raise DownloadError(
                f"{path}:{number}: cannot tell the chromosome of {name!r} with pattern "
                f"{chromosome_pattern!r} (config data.vcf_chromosome_pattern); fix the pattern, "
                "or set data.vcf_unmatched_urls: skip to leave such lines out"
            )
        chrom = match.group(1)
        if chrom in sources:
            raise DownloadError(f"{path}:{number}: a second URL for chromosome {chrom}")
        sources[chrom] = VcfSource(chrom, url, md5)
    if not sources:
        raise DownloadError(
            f"{path}: no URLs"
            + (f" whose file name names a chromosome ({len(skipped)} skipped)" if skipped else "")
        )
    if skipped:
        log.warning(
            "%s: %d of %d URLs skipped (no chromosome in the file name); VCFs for %d chromosomes",
            path, len(skipped), len(skipped) + len(sources), len(sources),
        )  # fmt: skip
    return UrlList(list(sources.values()), skipped)


def resolve_url(url: str, base: Path) -> str:
    """Turn a relative path or relative ``file:`` URL into an absolute ``file://`` URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("http", "https", "ftp"):
        return url
    if parsed.scheme == "file":
        local = urllib.parse.unquote(parsed.path)
        if parsed.netloc not in ("", "localhost"):
            local = parsed.netloc + local  # file://relative/path written by mistake
    elif parsed.scheme == "":
        local = url
    else:
        raise DownloadError(f"unsupported URL scheme in {url!r} (use http(s), ftp or file)")
    resolved = Path(local) if Path(local).is_absolute() else (base / local).resolve()
    return resolved.as_uri()
