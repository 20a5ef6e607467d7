"""Tests for haplexpr.download: resumable, verified downloads (the VCFs and the reference)."""

import hashlib
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pysam
import pytest

from haplexpr.download import (
    DownloadError,
    DownloadSettings,
    SourceMissingError,
    download,
)

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


class RangeHandler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range: bytes=N-`` unless told not to.

    Misbehaviours, set on the server: ``errors`` (HTTP 500 for the next that many requests),
    ``truncate_at`` (announce everything, send up to that byte, hang up; ``truncate_times``
    requests, None = always), ``length_offset`` (added to the announced Content-Length) and
    ``stall`` (an event: send the headers, then nothing until it is set) and
    ``range_from_zero`` (answer a range request with 206 from byte 0).
    """

    def do_GET(self):
        srv = self.server
        header = self.headers.get("Range")
        srv.seen.append((self.path, header))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if srv.errors:
            srv.errors -= 1
            self.send_error(500)
            return
        start = 0
        if header is not None and srv.honour_range:
            match = re.fullmatch(r"bytes=(\d+)-", header)
            assert match, header
            start = 0 if srv.range_from_zero else int(match[1])
            if start >= len(data):
                body = b"<html>Range Not Satisfiable</html>\n"  # as real servers send
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body) + srv.length_offset))
        self.end_headers()
        if srv.stall is not None:
            self.wfile.flush()
            srv.stall.wait(10)  # the client's timeout ends the request long before this
            return
        if srv.truncate_at is not None and srv.truncate_times != 0:
            body = data[start : max(start, srv.truncate_at)]
            srv.truncate_times = None if srv.truncate_times is None else srv.truncate_times - 1
        srv.sent.append(len(body))  # before writing: the client may finish before we return
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.daemon_threads = True
    httpd.files = {}
    httpd.seen = []
    httpd.sent = []
    httpd.honour_range = True
    httpd.truncate_at = None
    httpd.truncate_times = None
    httpd.errors = 0
    httpd.length_offset = 0
    httpd.stall = None
    httpd.range_from_zero = False
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        if httpd.stall is not None:
            httpd.stall.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sleeps(monkeypatch):
    """Record download retries' back-off sleeps instead of sleeping."""
    calls = []
    monkeypatch.setattr(time, "sleep", calls.append)
    return calls


@pytest.fixture(scope="module")
def bgzipped(tmp_path_factory):
    """A multi-block bgzip file (with its EOF block), as bytes."""
    folder = tmp_path_factory.mktemp("payload")
    rng = random.Random(7)
    lines = [
        f"1\t{i}\t.\t{rng.choice('ACGT')}\t{rng.choice('ACGT')}\t.\tPASS\t.\t{rng.random()}\n"
        for i in range(1, 20001)
    ]
    plain = folder / "payload.vcf"
    plain.write_text("".join(lines))
    packed = folder / "payload.vcf.gz"
    pysam.tabix_compress(str(plain), str(packed))
    data = packed.read_bytes()
    assert data.endswith(EOF_BLOCK) and len(data) > 100_000
    return data


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_full_download_is_identical_and_leaves_no_part(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    dest = tmp_path / "out" / "chr1.vcf.gz"
    result = download(f"{server.base}/chr1.vcf.gz", dest, md5=md5_of(bgzipped))
    assert result == dest
    assert dest.read_bytes() == bgzipped
    assert sorted(p.name for p in dest.parent.iterdir()) == ["chr1.vcf.gz"]
    assert server.seen == [("/chr1.vcf.gz", None)]
    assert sleeps == []


def test_resume_sends_range_from_part_size(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    dest = tmp_path / "chr1.vcf.gz"
    half = len(bgzipped) // 2
    (tmp_path / "chr1.vcf.gz.part").write_bytes(bgzipped[:half])
    download(f"{server.base}/chr1.vcf.gz", dest, md5=md5_of(bgzipped))
    assert server.seen == [("/chr1.vcf.gz", f"bytes={half}-")]
    assert server.sent == [len(bgzipped) - half]  # only the missing tail was transferred
    assert dest.read_bytes() == bgzipped
    assert not (tmp_path / "chr1.vcf.gz.part").exists()
    assert sleeps == []


def test_complete_part_is_finished_after_416(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    dest = tmp_path / "chr1.vcf.gz"
    (tmp_path / "chr1.vcf.gz.part").write_bytes(bgzipped)
    download(f"{server.base}/chr1.vcf.gz", dest, md5=md5_of(bgzipped))
    assert server.seen == [("/chr1.vcf.gz", f"bytes={len(bgzipped)}-")]
    assert dest.read_bytes() == bgzipped
    assert not (tmp_path / "chr1.vcf.gz.part").exists()


def test_server_ignoring_range_restarts_from_scratch(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.honour_range = False
    dest = tmp_path / "chr1.vcf.gz"
    half = len(bgzipped) // 2
    # Garbage in the .part proves it is overwritten, not appended to.
    (tmp_path / "chr1.vcf.gz.part").write_bytes(b"x" * half)
    download(f"{server.base}/chr1.vcf.gz", dest)
    assert server.seen == [("/chr1.vcf.gz", f"bytes={half}-")]
    assert server.sent == [len(bgzipped)]
    assert dest.read_bytes() == bgzipped
    assert not (tmp_path / "chr1.vcf.gz.part").exists()


def test_partial_content_from_another_byte_restarts_the_file(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.range_from_zero = True  # 206, but from byte 0 rather than the byte asked for
    (tmp_path / "chr1.vcf.gz.part").write_bytes(bgzipped[:1000])
    dest = download(f"{server.base}/chr1.vcf.gz", tmp_path / "chr1.vcf.gz", md5=md5_of(bgzipped))
    assert dest.read_bytes() == bgzipped  # overwritten, not appended to
    assert server.seen == [("/chr1.vcf.gz", "bytes=1000-")]


def test_md5_mismatch_names_both_digests_and_removes_part(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    url = f"{server.base}/chr1.vcf.gz"
    dest = tmp_path / "chr1.vcf.gz"
    wrong = "0123456789abcdef0123456789abcdef"
    with pytest.raises(DownloadError) as caught:
        download(url, dest, md5=wrong)
    assert type(caught.value) is DownloadError
    assert str(caught.value) == (
        f"{url}: md5 {md5_of(bgzipped)} of the {len(bgzipped):,} bytes received does not match "
        f"the expected {wrong}; the partial file was removed: rerun to download it again, or "
        "correct the md5 in the URL list if the source has changed"
    )
    assert list(tmp_path.iterdir()) == []


def test_connection_closed_early_fails_clearly_then_resumes(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    half = len(bgzipped) // 2
    server.truncate_at = half
    url = f"{server.base}/chr1.vcf.gz"
    dest = tmp_path / "chr1.vcf.gz"
    with pytest.raises(DownloadError) as caught:
        download(url, dest)
    part = tmp_path / "chr1.vcf.gz.part"
    assert str(caught.value) == (
        f"{url}: failed after 5 attempts ({url}: got {half} bytes, server announced "
        f"{len(bgzipped)}); {half:,} bytes received, kept in {part}: rerun to resume from there "
        "once the server answers (raise download.attempts or download.timeout for a slow server)"
    )
    assert not dest.exists()
    assert sleeps == [2, 4, 8, 16]
    # Every retry resumed where the .part ended.
    assert server.seen == [("/chr1.vcf.gz", None)] + [("/chr1.vcf.gz", f"bytes={half}-")] * 4
    assert (tmp_path / "chr1.vcf.gz.part").read_bytes() == bgzipped[:half]
    # Once the server behaves, a rerun finishes the kept .part.
    server.truncate_at = None
    download(url, dest, md5=md5_of(bgzipped))
    assert server.seen[-1] == ("/chr1.vcf.gz", f"bytes={half}-")
    assert dest.read_bytes() == bgzipped
    assert not (tmp_path / "chr1.vcf.gz.part").exists()


def test_dropped_connection_is_resumed_by_the_next_attempt(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    third = len(bgzipped) // 3
    server.truncate_at, server.truncate_times = third, 1
    dest = download(f"{server.base}/chr1.vcf.gz", tmp_path / "chr1.vcf.gz", md5=md5_of(bgzipped))
    assert dest.read_bytes() == bgzipped
    assert server.seen == [("/chr1.vcf.gz", None), ("/chr1.vcf.gz", f"bytes={third}-")]
    assert server.sent == [third, len(bgzipped) - third]  # nothing fetched twice
    assert sleeps == [2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chr1.vcf.gz"]


def test_server_errors_are_retried_with_exponential_backoff(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.errors = 3
    settings = DownloadSettings(attempts=4, timeout=5, backoff=0.5)
    dest = tmp_path / "chr1.vcf.gz"
    download(f"{server.base}/chr1.vcf.gz", dest, md5=md5_of(bgzipped), settings=settings)
    assert dest.read_bytes() == bgzipped
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.seen) == 4


def test_persistent_server_errors_stop_after_the_attempts(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.errors = 100
    url = f"{server.base}/chr1.vcf.gz"
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "chr1.vcf.gz", settings=DownloadSettings(attempts=3))
    assert str(caught.value).startswith(
        f"{url}: failed after 3 attempts (HTTP Error 500: Internal Server Error); 0 bytes "
        f"received, kept in {tmp_path / 'chr1.vcf.gz.part'}: rerun to resume"
    )
    assert len(server.seen) == 3  # bounded: no fourth request
    assert sleeps == [2, 4]
    assert not (tmp_path / "chr1.vcf.gz").exists()


def test_stalled_server_times_out_instead_of_hanging(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.stall = threading.Event()
    url = f"{server.base}/chr1.vcf.gz"
    settings = DownloadSettings(attempts=2, timeout=0.2, backoff=1)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "chr1.vcf.gz", settings=settings)
    assert time.monotonic() - started < 5  # two 0.2 s timeouts, not the server's 10 s stall
    assert str(caught.value).startswith(f"{url}: failed after 2 attempts (timed out); 0 bytes")
    assert "raise download.attempts or download.timeout for a slow server" in str(caught.value)
    assert sleeps == [1]
    assert len(server.seen) == 2


def test_too_short_content_length_is_caught_by_the_md5(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.length_offset = -100  # announces 100 bytes fewer than the file has
    url = f"{server.base}/chr1.vcf.gz"
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "chr1.vcf.gz", md5=md5_of(bgzipped))
    assert f"of the {len(bgzipped) - 100:,} bytes received does not match the expected" in str(
        caught.value
    )
    assert list(tmp_path.iterdir()) == []  # the short file is not kept as if complete


def test_too_long_content_length_is_retried_and_then_verified(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped
    server.length_offset = 100  # announces 100 bytes more than it sends, then closes
    dest = tmp_path / "chr1.vcf.gz"
    download(f"{server.base}/chr1.vcf.gz", dest, md5=md5_of(bgzipped))
    # The short count fails the first attempt; the resumed one hears 416 (nothing left), and
    # the md5 and BGZF checks, not the announced length, decide that the file is whole.
    assert server.seen == [("/chr1.vcf.gz", None), ("/chr1.vcf.gz", f"bytes={len(bgzipped)}-")]
    assert sleeps == [2]
    assert dest.read_bytes() == bgzipped


def test_missing_bgzf_eof_block_is_rejected(server, bgzipped, tmp_path, sleeps):
    server.files["/chr1.vcf.gz"] = bgzipped[: -len(EOF_BLOCK)]
    url = f"{server.base}/chr1.vcf.gz"
    dest = tmp_path / "chr1.vcf.gz"
    part = tmp_path / "chr1.vcf.gz.part"
    with pytest.raises(DownloadError) as caught:
        download(url, dest)
    assert str(caught.value) == (
        f"{url}: file is truncated or not bgzip-compressed (no BGZF end-of-file block); "
        f"kept {part} so a rerun resumes it (delete it if the source itself is not "
        "bgzip-compressed)"
    )
    assert not dest.exists()
    assert sleeps == []


def test_eof_block_is_not_required_for_uncompressed_files(server, tmp_path, sleeps):
    server.files["/list.txt"] = b"not gzip\n"
    dest = download(f"{server.base}/list.txt", tmp_path / "list.txt")
    assert dest.read_bytes() == b"not gzip\n"


def test_404_is_source_missing_without_retries(server, tmp_path, sleeps):
    url = f"{server.base}/absent.vcf.gz"
    with pytest.raises(SourceMissingError) as caught:
        download(url, tmp_path / "absent.vcf.gz")
    assert str(caught.value) == f"{url}: HTTP 404 Not Found"
    assert sleeps == []
    assert server.seen == [("/absent.vcf.gz", None)]
    assert list(tmp_path.iterdir()) == []


def test_file_url_download(bgzipped, tmp_path, sleeps):
    source = tmp_path / "source dir" / "demo.chr1.vcf.gz"
    source.parent.mkdir()
    source.write_bytes(bgzipped)
    dest = tmp_path / "out" / "chr1.vcf.gz"
    download(source.as_uri(), dest, md5=md5_of(bgzipped))
    assert dest.read_bytes() == bgzipped
    assert sorted(p.name for p in dest.parent.iterdir()) == ["chr1.vcf.gz"]


def test_missing_local_file_is_source_missing(tmp_path, sleeps):
    source = tmp_path / "nope.chr1.vcf.gz"
    url = source.as_uri()
    with pytest.raises(SourceMissingError) as caught:
        download(url, tmp_path / "out.vcf.gz")
    assert str(caught.value) == f"{url}: no such file {source}"
    assert sleeps == []


# --- the reference genome from a URL ---------------------------------------------------------


@pytest.fixture(scope="module")
def gzipped_fasta():
    """A plain-gzip FASTA (as hs37d5.fa.gz is published) and its sequences."""
    import gzip

    rng = random.Random(3)
    contigs = {name: "".join(rng.choice("ACGTN") for _ in range(n)) for name, n in
               (("1", 30_000), ("2", 12_345), ("MT", 500))}  # fmt: skip
    text = "".join(f">{name} some description\n" + "\n".join(
        seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n" for name, seq in contigs.items()
    )  # fmt: skip
    return gzip.compress(text.encode()), contigs


def test_reference_from_a_url_is_bgzipped_and_indexed(server, gzipped_fasta, tmp_path, sleeps):
    from haplexpr.reference import fetch_reference

    data, contigs = gzipped_fasta
    server.files["/hs37d5.fa.gz"] = data
    dest = tmp_path / "reference" / "hs37d5.fa.gz"
    fetch_reference(server.base + "/hs37d5.fa.gz", dest, md5=md5_of(data))
    assert dest.read_bytes().endswith(EOF_BLOCK)  # bgzip now, random access through .gzi
    assert (tmp_path / "reference" / "hs37d5.fa.gz.fai").exists()
    assert (tmp_path / "reference" / "hs37d5.fa.gz.gzi").exists()
    with pysam.FastaFile(str(dest)) as fasta:
        assert list(fasta.references) == ["1", "2", "MT"]
        for name, seq in contigs.items():
            assert fasta.fetch(name) == seq
        assert fasta.fetch("1", 29_990, 30_000) == contigs["1"][29_990:]
    assert sorted(p.name for p in dest.parent.iterdir()) == [
        "download", "hs37d5.fa.gz", "hs37d5.fa.gz.fai", "hs37d5.fa.gz.gzi"
    ]  # fmt: skip


def test_a_cut_gzip_reference_is_kept_for_resuming_and_fails_clearly(
    server, gzipped_fasta, tmp_path, sleeps
):
    from haplexpr.reference import fetch_reference

    data, _ = gzipped_fasta
    server.files["/ref.fa.gz"] = data[: len(data) // 2]  # the server's own copy is cut
    dest = tmp_path / "ref.fa.gz"
    with pytest.raises(DownloadError, match="gzip stream is cut short or damaged"):
        fetch_reference(server.base + "/ref.fa.gz", dest)
    assert (tmp_path / "download" / "ref.fa.gz.part").stat().st_size == len(data) // 2
    assert not dest.exists()
    server.files["/ref.fa.gz"] = data  # fixed at the source: the rerun resumes and completes
    fetch_reference(server.base + "/ref.fa.gz", dest)
    assert server.seen[-1][1] == f"bytes={len(data) // 2}-"
    assert list(pysam.FastaFile(str(dest)).lengths) == [30_000, 12_345, 500]
