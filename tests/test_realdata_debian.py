"""Tests for haplexpr.realdata.debian: a file is taken from a real .deb only with its checksum."""

import subprocess

import pytest

from haplexpr.checksums import file_digest
from haplexpr.realdata.debian import PackageDataError, PackageFile, extract


def make_deb(folder, package, files):
    """A real .deb (dpkg-deb --build) holding ``files`` ({path: text})."""
    root = folder / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
        "Description: test\n"
    )
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    cache = folder / "cache"
    cache.mkdir()
    subprocess.run(
        ["dpkg-deb", "--build", str(root), str(cache / f"{package}_1.0_all.deb")],
        check=True,
        capture_output=True,
    )
    return cache


def test_a_package_file_is_taken_only_with_its_checksum(tmp_path):
    cache = make_deb(tmp_path, "pkg", {"usr/share/doc/pkg/data.txt": "real\n"})
    (tmp_path / "out").mkdir()
    expected = file_digest(cache.parent / "root" / "usr/share/doc/pkg/data.txt")
    good = PackageFile("pkg", "usr/share/doc/pkg/data.txt", expected)
    assert extract(good, cache, tmp_path / "out").read_text() == "real\n"
    other = PackageFile("pkg", "usr/share/doc/pkg/data.txt", "0" * 64)
    (tmp_path / "out" / "data.txt").unlink()
    with pytest.raises(PackageDataError, match=r"data.txt has SHA-256 .* another package version"):
        extract(other, cache, tmp_path / "out")
    assert not (tmp_path / "out" / "data.txt").exists()
    absent = PackageFile("pkg", "usr/share/doc/pkg/none.txt", expected)
    with pytest.raises(PackageDataError, match="has no usr/share/doc/pkg/none.txt"):
        extract(absent, cache, tmp_path / "out")
