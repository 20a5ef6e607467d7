"""Files from Debian packages, reached with ``apt-get download`` and ``dpkg-deb -x``.

Packages are fetched into a cache folder (reused when the ``.deb`` is already there), so
``/usr/share/doc`` exclusions of a system install do not matter and no root is needed once
the package lists are current. Every file taken from a package is checked against the
SHA-256 the builder was written for: a different package version stops the build with
what differs, instead of giving a study from other data.
"""

from __future__ import annotations

import logging
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from haplexpr.atomic import atomic_path
from haplexpr.checksums import file_digest

log = logging.getLogger(__name__)


class PackageDataError(RuntimeError):
    """A Debian package or a file in it is missing or not the expected one."""


@dataclass(frozen=True)
class PackageFile:
    """One file inside a package: its path there (``archive`` if inside a tarball)."""

    package: str
    path: str
    sha256: str
    archive: str | None = None

    @property
    def name(self) -> str:
        """The file's own name."""
        return Path(self.path).name


def package_deb(package: str, cache: Path) -> Path:
    """The package's ``.deb`` in ``cache``, downloaded with ``apt-get download`` if absent."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    log.info("apt-get download %s (into %s)", package, cache)
    try:
        run = subprocess.run(
            ["apt-get", "download", package], cwd=cache, capture_output=True, text=True
        )
    except FileNotFoundError as error:
        raise PackageDataError(
            f"apt-get is not available to fetch {package}; download {package}_*.deb on a Debian "
            f"or Ubuntu machine and put it in {cache}"
        ) from error
    found = sorted(cache.glob(f"{package}_*.deb"))
    if run.returncode != 0 or not found:
        raise PackageDataError(
            f"apt-get download {package} failed (exit {run.returncode}): "
            f"{run.stderr.strip()[-400:]}; run `apt-get update` first, or put {package}_*.deb "
            f"in {cache}"
        )
    return found[-1]


def extract(wanted: PackageFile, cache: Path, dest: Path) -> Path:
    """Copy one file out of its package into ``dest``, checked against its SHA-256."""
    out = dest / wanted.name
    if out.exists() and file_digest(out) == wanted.sha256:
        return out
    deb = package_deb(wanted.package, cache)
    with tempfile.TemporaryDirectory(prefix=".unpack", dir=dest) as scratch:
        run = subprocess.run(["dpkg-deb", "-x", str(deb), scratch], capture_output=True, text=True)
        if run.returncode != 0:
            raise PackageDataError(f"dpkg-deb -x {deb} failed: {run.stderr.strip()}")
        source = Path(scratch) / wanted.path.lstrip("/")
        if wanted.archive is not None:
            source = _from_tarball(Path(scratch) / wanted.archive.lstrip("/"), wanted, deb)
        if not source.is_file():
            raise PackageDataError(f"{deb} has no {wanted.path}: is it another version?")
        found = file_digest(source)
        if found != wanted.sha256:
            raise PackageDataError(
                f"{deb}: {wanted.path} has SHA-256 {found}, not {wanted.sha256}: another package "
                "version than the builder was written for; the study would not be the "
                "documented one"
            )
        with atomic_path(out) as tmp:
            source.replace(tmp)
    return out


def _from_tarball(archive: Path, wanted: PackageFile, deb: Path) -> Path:
    """Unpack ``wanted.path`` from the tarball ``archive`` next to it."""
    if not archive.is_file():
        raise PackageDataError(f"{deb} has no {wanted.archive}: is it another version?")
    with tarfile.open(archive) as tar:
        try:
            member = tar.getmember(wanted.path)
        except KeyError as error:
            raise PackageDataError(f"{archive.name} in {deb} has no {wanted.path}") from error
        tar.extract(member, archive.parent, filter="data")
    return archive.parent / wanted.path
