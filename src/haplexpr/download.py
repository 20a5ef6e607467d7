"""Resumable, verified downloads: the phased VCFs (rule vcf_download) and the reference.

A download goes to ``<dest>.part`` and is renamed only once it is complete and verified
(length announced by the server, optional md5, intact BGZF end-of-file block), so a killed
or failed transfer never leaves a file that looks finished; rerunning resumes the ``.part``
with an HTTP range request.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from haplexpr.checksums import file_digest

log = logging.getLogger(__name__)

# The 28-byte empty BGZF block every complete bgzip file ends with (SAM/BAM spec, 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download could not be completed or verified."""


class SourceMissingError(DownloadError):
    """The source does not exist or refuses access; retrying will not help."""


@dataclass(frozen=True)
class DownloadSettings:
    """Config ``download``: attempts per file, socket timeout, first back-off wait."""

    attempts: int = 5
    timeout: float = 60.0
    backoff: float = 2.0

    @classmethod
    def from_config(cls, config: dict) -> DownloadSettings:
        """Settings from a validated config."""
        return cls(**config["download"])


def download(
    url: str,
    dest: str | Path,
    md5: str | None = None,
    settings: DownloadSettings = DownloadSettings(),  # noqa: B008 (frozen, so shared safely)
    bgzf: bool = True,
) -> Path:
    """Fetch ``url`` to ``dest`` atomically, resuming a previous ``.part`` and verifying it.

    A failed attempt (dropped connection, HTTP 5xx, a server silent for ``settings.timeout``
    seconds, fewer bytes than announced) is retried up to ``settings.attempts`` times, each
    resuming the ``.part`` with a Range request after a wait that doubles from
    ``settings.backoff`` seconds. ``bgzf=False``: a ``.gz`` file may be plain gzip
    (hs37d5.fa.gz is), so its whole stream is decompressed as the check instead of looking
    for BGZF's end-of-file block.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    started = time.monotonic()
    for attempt in range(1, settings.attempts + 1):
        try:
            _fetch(url, part, settings.timeout)
            break
        except SourceMissingError:
            raise
        except (
            urllib.error.URLError,
            http.client.HTTPException,
            ConnectionError,
            TimeoutError,
            DownloadError,
        ) as error:
            if isinstance(error, urllib.error.HTTPError):
                error.close()  # release the error response's connection
            if isinstance(error, urllib.error.HTTPError) and error.code in (401, 403, 404):
                raise SourceMissingError(f"{url}: HTTP {error.code} {error.reason}") from error
            if attempt == settings.attempts:
                raise DownloadError(
                    f"{url}: failed after {settings.attempts} attempts ({error}); "
                    f"{_size(part):,} bytes received, kept in {part}: rerun to resume from "
                    "there once the server answers (raise download.attempts or "
                    "download.timeout for a slow server)"
                ) from error
            wait = settings.backoff * 2 ** (attempt - 1)
            log.warning(
                "%s: attempt %d failed (%s); %d bytes so far, resuming in %.0f s",
                url, attempt, error, _size(part), wait,
            )  # fmt: skip
            time.sleep(wait)
    verify(part, url, md5, bgzf)
    part.replace(dest)
    size = dest.stat().st_size
    log.info(
        "downloaded %s (%.1f MB) in %.1f s to %s",
        url,
        size / 1e6,
        time.monotonic() - started,
        dest,
    )
    return dest


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _fetch(url: str, part: Path, timeout: float) -> None:
    """Copy or stream ``url`` into ``part``, continuing from its current size.

    ``timeout`` bounds the connection and every read, so a stalled server fails the attempt.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        source = Path(urllib.parse.unquote(parsed.path))
        if not source.exists():
            raise SourceMissingError(f"{url}: no such file {source}")
        with source.open("rb") as src, part.open("wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        return
    have = _size(part)
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # the .part already holds the whole file
            return
        raise
    with response:
        resumed = response.status == 206 and _range_start(response) == have
        if have and not resumed:
            log.info("%s: server did not resume at byte %d; restarting", url, have)
        expected = response.headers.get("Content-Length")
        expected_total = (have if resumed else 0) + int(expected) if expected else None
        with part.open("ab" if resumed else "wb") as out:
            last_report = time.monotonic()
            while chunk := response.read(CHUNK):
                out.write(chunk)
                if time.monotonic() - last_report > 30:
                    log.info("%s: %.1f MB so far", url, out.tell() / 1e6)
                    last_report = time.monotonic()
    if expected_total is not None and _size(part) != expected_total:
        raise DownloadError(f"{url}: got {_size(part)} bytes, server announced {expected_total}")


def _range_start(response) -> int | None:
    """First byte of a 206 response's ``Content-Range: bytes START-END/TOTAL``."""
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match[1]) if match else None


def verify(path: Path, url: str, md5: str | None, bgzf: bool = True) -> None:
    """Check the md5 (when known) and, for ``.gz`` files, the BGZF end-of-file block.

    With ``bgzf=False`` a ``.gz`` file must decompress to its end (any gzip).
    """
    if md5 is not None:
        found = file_digest(path, "md5")
        if found != md5:
            size = _size(path)
            path.unlink()
            raise DownloadError(
                f"{url}: md5 {found} of the {size:,} bytes received does not match "
                f"the expected {md5}; the partial file was removed: rerun to download it again, "
                "or correct the md5 in the URL list if the source has changed"
            )
    if url.endswith(".gz") and not bgzf:
        try:
            with gzip.open(path, "rb") as stream:
                while stream.read(CHUNK):
                    pass
        except (EOFError, OSError, zlib.error) as error:
            raise DownloadError(
                f"{url}: the gzip stream is cut short or damaged ({error}); kept {path} so a"
                " rerun resumes it (delete it to download it again from the start)"
            ) from error
    elif url.endswith(".gz"):
        with path.open("rb") as handle:
            handle.seek(max(path.stat().st_size - len(BGZF_EOF), 0))
            if handle.read() != BGZF_EOF:
                raise DownloadError(
                    f"{url}: file is truncated or not bgzip-compressed (no BGZF end-of-file "
                    f"block); kept {path} so a rerun resumes it (delete it if the source "
                    "itself is not bgzip-compressed)"
                )
