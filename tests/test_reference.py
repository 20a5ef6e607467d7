"""Tests for haplexpr.reference's checks (fetching from a URL is tested with the downloads)."""

import gzip
from types import SimpleNamespace

import pysam
import pytest

from haplexpr.coordinates import Interval
from haplexpr.reference import ReferenceInputError, check_bases, check_reference


def fasta(tmp_path, text, index=True):
    path = tmp_path / "ref.fa"
    path.write_text(text)
    if index:
        pysam.faidx(str(path))
    return path


def test_contig_lengths_from_a_current_index_with_long_headers(tmp_path):
    path = fasta(tmp_path, f">c1 {'x' * 9000}\n{'ACGT' * 30}\nAC\n>c2\n{'A' * 61}\n")
    assert check_reference(path) == {"c1": 122, "c2": 61}


def test_bgzip_needs_its_gzi(tmp_path):
    plain = fasta(tmp_path, ">c1\nACGT\n", index=False)
    packed = tmp_path / "ref.fa.gz"
    pysam.tabix_compress(str(plain), str(packed))
    pysam.faidx(str(packed))
    assert check_reference(packed) == {"c1": 4}
    (tmp_path / "ref.fa.gz.gzi").unlink()
    with pytest.raises(ReferenceInputError, match=r"no index .*ref\.fa\.gz\.gzi; index the ref"):
        check_reference(packed)


def test_plain_gzip_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "ref.fa.gz"
    path.write_bytes(gzip.compress(b">c1\nACGT\n"))
    with pytest.raises(ReferenceInputError, match="is plain gzip.*recompress it with bgzip"):
        check_reference(path)


def test_a_malformed_index_is_named(tmp_path):
    path = fasta(tmp_path, ">c1\nACGT\n")
    (tmp_path / "ref.fa.fai").write_text("c1\t4\n")
    with pytest.raises(ReferenceInputError, match="it is no faidx index: line 'c1\\\\t4' has"):
        check_reference(path)


def window(chrom, start, end, gene="G"):
    return SimpleNamespace(gene=gene, interval=Interval(chrom, start, end))


def test_iupac_codes_and_soft_masking_are_bases(tmp_path):
    path = fasta(tmp_path, ">c1\nacgtNNRYKMacgtACGT\n")
    check_bases(path, [window("c1", 0, 18)])


@pytest.mark.parametrize("bad", ["*", "-", "X", "1", "."])
def test_a_character_that_is_no_base_is_named_with_its_position(tmp_path, bad):
    path = fasta(tmp_path, f">c1\nACGTA{bad}GT\n")
    with pytest.raises(ReferenceInputError) as caught:
        check_bases(path, [window("c1", 2, 8, gene="G7")])
    assert str(caught.value).startswith(
        f"{path}: {bad!r} at c1:6 (1-based, in the window of gene G7) is not a base"
    )
