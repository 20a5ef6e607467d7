"""Personal haplotype stores from both engines, checked against variants applied by hand."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pysam
import pysam.bcftools
import pytest
from support import vcf_files
from support.vcf_files import record_line, write_fasta

from haplexpr.coordinates import Interval
from haplexpr.haplotypes.bcftools_engine import (
    apply_edits,
    edits_from_alignment,
    read_chains,
    tss_after_edits,
)
from haplexpr.haplotypes.personal_sequences import (
    ConsensusError,
    build_haplotype_store,
    build_reference_store,
    window_sequences,
)
from haplexpr.haplotypes.store import HaplotypeStore, ReferenceStore, StoreError
from haplexpr.study.genes import GeneWindow, gene_windows

CONTIG_LENGTHS = {"1": 3000, "2": 1500}
WINDOW_LENGTH = 200
SAMPLE = "S"
OTHER = "T"  # a second sample whose genotypes differ, so picking the wrong one shows


def random_contig(length: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(length))


REFERENCE = {chrom: random_contig(n, seed=i) for i, (chrom, n) in enumerate(CONTIG_LENGTHS.items())}


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def complement_reverse(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


@dataclass(frozen=True)
class Variant:
    """One biallelic record: 0-based position, alleles and the phased genotypes of S and T."""

    chrom: str
    pos: int
    ref: str
    alt: str
    gt: tuple[int, int]
    other_gt: tuple[int, int] = (0, 0)

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


def snv(chrom: str, pos: int, gt: tuple[int, int], other_gt=(0, 0)) -> Variant:
    base = REFERENCE[chrom][pos]
    return Variant(chrom, pos, base, other_base(base), gt, other_gt)


def insertion(chrom: str, pos: int, inserted: str, gt: tuple[int, int]) -> Variant:
    base = REFERENCE[chrom][pos]
    return Variant(chrom, pos, base, base + inserted, gt, (1, 1))


def deletion(chrom: str, pos: int, deleted: int, gt: tuple[int, int]) -> Variant:
    """Delete the ``deleted`` bases after the anchor base at ``pos``."""
    ref = REFERENCE[chrom][pos : pos + deleted + 1]
    return Variant(chrom, pos, ref, ref[0], gt, (1, 1))


# Windows are [TSS - 100, TSS + 100) clipped to the contig; no variant touches a window edge.
WINDOWS = [
    # gA, + strand: SNVs on hap1 only / hap2 only / both; +3 insertion on hap1 and -4
    # deletion on hap2, both upstream of the TSS.
    GeneWindow("gA", "1", 1000, "+", Interval("1", 900, 1100)),
    # gB, - strand: a 9-base deletion over the TSS on hap1, an SNV on hap2.
    GeneWindow("gB", "1", 2000, "-", Interval("1", 1900, 2100)),
    # gC, + strand, clipped at the contig start: SNV on both, +2 insertion on hap2.
    GeneWindow("gC", "1", 50, "+", Interval("1", 0, 150)),
    # gD on the second contig, - strand: SNV hap1, +2 insertion upstream on hap2,
    # a deletion downstream of the TSS on hap1.
    GeneWindow("gD", "2", 700, "-", Interval("2", 600, 800)),
]
GENES = {w.gene: w for w in WINDOWS}

VARIANTS = [
    insertion("1", 30, "GT", (0, 1)),
    snv("1", 10, (1, 1)),
    snv("1", 920, (1, 0), other_gt=(0, 1)),
    snv("1", 940, (0, 1), other_gt=(1, 0)),
    insertion("1", 960, "AAA", (1, 0)),
    deletion("1", 980, 4, (0, 1)),
    snv("1", 1050, (1, 1)),
    deletion("1", 1994, 9, (1, 0)),  # deletes 1995..2003, the TSS (2000) among them
    snv("1", 2050, (0, 1)),
    snv("1", 2500, (1, 1)),  # outside every window
    snv("2", 650, (1, 0)),
    insertion("2", 680, "CA", (0, 1)),
    deletion("2", 750, 5, (1, 0)),
]


def expected_haplotype(
    window: GeneWindow, haplotype: int, snvs_only: bool = False
) -> tuple[str, int]:
    """Apply the sample's ALT alleles by hand: (haplotype sequence, 0-based TSS offset).

    Every reference base of the window maps to the text it becomes (an ALT allele at its
    anchor, ``""`` when deleted); the TSS offset is the length of the text before the TSS
    base, so a deleted TSS lands on the next surviving base.
    """
    contig = REFERENCE[window.chrom]
    start, end = window.interval.start, window.interval.end
    becomes = {p: contig[p] for p in range(start, end)}
    for v in VARIANTS:
        if v.chrom != window.chrom or not start <= v.pos < end or v.gt[haplotype - 1] == 0:
            continue
        if snvs_only and not v.is_snv:
            continue
        assert v.pos + len(v.ref) <= end, "test variants must not cross a window edge"
        assert contig[v.pos : v.pos + len(v.ref)] == v.ref
        becomes[v.pos] = v.alt
        for p in range(v.pos + 1, v.pos + len(v.ref)):
            becomes[p] = ""
    sequence = "".join(becomes[p] for p in range(start, end))
    tss_offset = sum(len(becomes[p]) for p in range(start, window.tss))
    return sequence, tss_offset


def write_vcf(path: Path, chrom: str, samples=(SAMPLE, OTHER)) -> Path:
    """A phased, bgzipped and indexed VCF of the test variants on one contig."""
    lines = [
        record_line(
            chrom,
            v.pos + 1,
            v.ref,
            v.alt,
            [f"{a}|{b}" for a, b in (v.gt, v.other_gt)][: len(samples)],
        )
        for v in sorted(VARIANTS, key=lambda v: v.pos)
        if v.chrom == chrom
    ]
    return vcf_files.write_vcf(path, lines, samples, CONTIG_LENGTHS, index=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    reference = write_fasta(root / "ref.fa", REFERENCE)
    vcfs = {chrom: write_vcf(root / f"chr{chrom}.vcf.gz", chrom) for chrom in CONTIG_LENGTHS}
    return reference, vcfs


@pytest.fixture(scope="module", params=["fast", "bcftools"])
def store_dir(request, inputs, tmp_path_factory):
    """Reference + haplotype store of S and T, built with the system temp dir redirected."""
    reference, vcfs = inputs
    out = tmp_path_factory.mktemp(f"store-{request.param}")
    scratch = tmp_path_factory.mktemp("scratch")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(scratch))
        build_reference_store(reference, WINDOWS, out / "reference")
        path = build_haplotype_store(
            reference, vcfs, [SAMPLE, OTHER], WINDOWS, out / "shard000.haplotypes.npz",
            engine=request.param,
        )  # fmt: skip
    assert path == out / "shard000.haplotypes.npz"
    assert list(scratch.iterdir()) == [], "consensus scratch files were left behind"
    return out


class SampleView:
    """One individual's haplotypes in a HaplotypeStore, addressed like the old per-sample API."""

    def __init__(self, store: HaplotypeStore, individual: str):
        self.store = store
        self.individual = individual

    def sequence(self, gene, haplotype):
        return self.store.sequence(self.individual, gene, haplotype)

    def tss_offset(self, gene, haplotype):
        return self.store.tss_offset(self.individual, gene, haplotype)

    def model_input(self, gene, haplotype, length):
        return self.store.model_input(self.individual, gene, haplotype, length)


@pytest.fixture(scope="module")
def haplotype_store(store_dir):
    return HaplotypeStore(store_dir / "reference", [store_dir / "shard000.haplotypes.npz"])


@pytest.fixture(scope="module")
def store(haplotype_store):
    return SampleView(haplotype_store, SAMPLE)


def test_test_windows_are_the_library_windows():
    genes = pd.DataFrame(
        [(w.gene, w.chrom, w.tss, w.strand) for w in WINDOWS],
        columns=["gene", "chr", "TSS", "strand"],
    )
    assert gene_windows(genes, CONTIG_LENGTHS, WINDOW_LENGTH, tss_base=0) == WINDOWS


@pytest.mark.parametrize("haplotype", [1, 2])
@pytest.mark.parametrize("gene", list(GENES))
def test_haplotypes_equal_hand_applied_variants(store, gene, haplotype):
    sequence, tss_offset = expected_haplotype(GENES[gene], haplotype)
    assert store.sequence(gene, haplotype) == sequence
    assert store.tss_offset(gene, haplotype) == tss_offset


def test_other_sample_gets_its_own_genotypes(haplotype_store):
    # T is 1|0 at 940 where S is 0|1, and 0|1 at 920 where S is 1|0.
    ref = REFERENCE["1"]
    assert haplotype_store.sequence(OTHER, "gA", 1)[40] == other_base(ref[940])
    assert haplotype_store.sequence(OTHER, "gA", 2)[20] == other_base(ref[920])


def test_snvs_by_haplotype(store):
    ref = REFERENCE["1"]
    hap1, hap2 = store.sequence("gA", 1), store.sequence("gA", 2)
    # Sample T carries the mirror-image genotypes at 920 and 940: picking it would show here.
    # Positions before both indels (960, 980) index the same in every haplotype.
    assert hap1[920 - 900] == other_base(ref[920]) and hap2[920 - 900] == ref[920]
    assert hap1[940 - 900] == ref[940] and hap2[940 - 900] == other_base(ref[940])
    # After the indels: hap1 is 3 bases longer, hap2 4 bases shorter.
    assert hap1[1050 - 900 + 3] == other_base(ref[1050])
    assert hap2[1050 - 900 - 4] == other_base(ref[1050])


def test_upstream_indels_shift_tss_offset_by_their_length(store):
    window = GENES["gA"]
    centre = window.tss - window.interval.start
    offsets = {h: store.tss_offset("gA", h) for h in (1, 2)}
    assert offsets == {1: centre + 3, 2: centre - 4}
    assert len(store.sequence("gA", 1)) == WINDOW_LENGTH + 3
    assert len(store.sequence("gA", 2)) == WINDOW_LENGTH - 4
    for h in (1, 2):
        assert store.sequence("gA", h)[offsets[h]] == REFERENCE["1"][window.tss]
        # The bases after the TSS follow it unchanged.
        after = REFERENCE["1"][window.tss : window.tss + 40]
        assert store.sequence("gA", h)[offsets[h] : offsets[h] + 40] == after


def test_deletion_over_tss_maps_to_the_next_base(store):
    window = GENES["gB"]
    offset = store.tss_offset("gB", 1)
    # 1995..2003 deleted: the TSS lands on reference base 2004, 9 bases earlier than before.
    assert offset == 2004 - window.interval.start - 9
    assert store.sequence("gB", 1)[offset] == REFERENCE["1"][2004]
    assert store.tss_offset("gB", 2) == window.tss - window.interval.start


def test_downstream_deletion_keeps_tss_offset(store):
    window = GENES["gD"]
    assert store.tss_offset("gD", 1) == window.tss - window.interval.start
    assert len(store.sequence("gD", 1)) == WINDOW_LENGTH - 5
    assert store.tss_offset("gD", 2) == window.tss - window.interval.start + 2


def test_window_clipped_at_contig_start(store, haplotype_store):
    row = haplotype_store.reference.windows.loc[("gC", 1)]
    assert (int(row["start"]), int(row["end"]), int(row["tss_offset"])) == (0, 150, 50)
    assert store.tss_offset("gC", 2) == 52
    hap1 = store.sequence("gC", 1)
    assert len(hap1) == 150
    # The model sees 50 Ns where the window ran off the contig, and the TSS at L // 2.
    model_input = store.model_input("gC", 1, WINDOW_LENGTH)
    assert model_input == "N" * 50 + hap1
    assert model_input[WINDOW_LENGTH // 2] == REFERENCE["1"][50]


def test_records_of_two_chromosomes(store, haplotype_store):
    assert set(haplotype_store.reference.windows["chrom"]) == {"1", "2"}
    assert store.sequence("gD", 1)[650 - 600] == other_base(REFERENCE["2"][650])
    assert haplotype_store.genes() == sorted(GENES)


def test_store_files_and_round_trip(store_dir, haplotype_store):
    assert sorted(p.name for p in store_dir.iterdir()) == sorted(
        ["reference.fa.gz", "reference.fa.gz.fai", "reference.fa.gz.gzi", "reference.tsv"]
        + ["shard000.haplotypes.npz"]
    )
    assert haplotype_store.individuals() == ["reference", SAMPLE, OTHER]
    for gene in GENES:
        assert haplotype_store.haplotypes(SAMPLE, gene) == [1, 2]
        assert haplotype_store.haplotypes("reference", gene) == [1]
    # A reopened store (as a forked data-loader worker would) reads the same sequences.
    again = HaplotypeStore(store_dir / "reference", [store_dir / "shard000.haplotypes.npz"])
    assert again.sequence(SAMPLE, "gB", 2) == haplotype_store.sequence(SAMPLE, "gB", 2)


def test_unknown_individual_or_gene_is_named(haplotype_store):
    with pytest.raises(StoreError, match="NA00001"):
        haplotype_store.sequence("NA00001", "gA", 1)
    with pytest.raises(StoreError, match="gZ"):
        haplotype_store.sequence(SAMPLE, "gZ", 1)


def test_store_of_other_windows_is_refused(store_dir, inputs, tmp_path):
    reference, _ = inputs
    build_reference_store(reference, WINDOWS[:2], tmp_path / "reference")
    with pytest.raises(StoreError, match="other gene windows"):
        HaplotypeStore(tmp_path / "reference", [store_dir / "shard000.haplotypes.npz"])


@pytest.mark.parametrize("length", [64, 101])
def test_model_input_plus_strand_centres_the_tss(store, length):
    for h in (1, 2):
        seq = store.sequence("gA", h)
        offset = store.tss_offset("gA", h)
        model_input = store.model_input("gA", h, length)
        assert len(model_input) == length
        assert model_input[length // 2] == REFERENCE["1"][1000]
        assert model_input == seq[offset - length // 2 : offset - length // 2 + length]


def test_model_input_minus_strand_is_reverse_complemented(store):
    length = 50
    for gene, h in (("gB", 1), ("gB", 2), ("gD", 2)):
        seq = store.sequence(gene, h)
        offset = store.tss_offset(gene, h)
        plus = seq[offset - 25 : offset + 25]
        assert store.model_input(gene, h, length) == complement_reverse(plus)
    # Past the end of the window: N padding, which the reverse complement puts first.
    seq = store.sequence("gB", 2)
    model_input = store.model_input("gB", 2, 300)
    assert model_input == complement_reverse("N" * 50 + seq + "N" * 50)


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_snvs_mode_ignores_indels(inputs, tmp_path, engine):
    reference, vcfs = inputs
    build_reference_store(reference, WINDOWS, tmp_path / "reference")
    path = tmp_path / "s.haplotypes.npz"
    build_haplotype_store(reference, vcfs, [SAMPLE], WINDOWS, path, engine, variants="snvs")
    store = SampleView(HaplotypeStore(tmp_path / "reference", [path]), SAMPLE)
    for window in WINDOWS:
        for h in (1, 2):
            sequence, tss_offset = expected_haplotype(window, h, snvs_only=True)
            assert store.sequence(window.gene, h) == sequence
            assert len(sequence) == window.interval.length
            assert store.tss_offset(window.gene, h) == tss_offset
            assert tss_offset == window.tss - window.interval.start
    # SNVs are still applied.
    assert store.sequence("gA", 1)[20] == other_base(REFERENCE["1"][920])


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_sample_missing_from_vcf_raises_naming_it(inputs, tmp_path, engine):
    reference, vcfs = inputs
    with pytest.raises(ConsensusError, match="NA99999"):
        build_haplotype_store(reference, vcfs, ["NA99999"], WINDOWS, tmp_path / "x.npz", engine)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_missing_chromosome_vcf_raises(inputs, tmp_path, engine):
    reference, vcfs = inputs
    with pytest.raises(ConsensusError, match="chromosome"):
        build_haplotype_store(
            reference, {"1": vcfs["1"]}, [SAMPLE], WINDOWS, tmp_path / "x.npz", engine
        )
    assert list(tmp_path.iterdir()) == []


def test_reference_store_holds_haplotype_one(inputs, tmp_path):
    reference, _ = inputs
    build_reference_store(reference, WINDOWS, tmp_path / "reference")
    store = ReferenceStore(tmp_path / "reference")
    assert store.genes() == sorted(window.gene for window in WINDOWS)
    for window in WINDOWS:
        assert store.windows.loc[window.gene].index.tolist() == [1]
        start, end = window.interval.start, window.interval.end
        assert store.sequence(window.gene) == REFERENCE[window.chrom][start:end]
        assert int(store.windows.loc[(window.gene, 1), "tss_offset"]) == window.tss - start
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["reference.fa.gz", "reference.fa.gz.fai", "reference.fa.gz.gzi", "reference.tsv"]
    )


# --------------------------------------------------------------------------- chains

CHAIN_TEXT = """\
chain 100 1 1000 + 100 130 1:101-130 1000 + 100 129 1
10 0 3
5 4 0
11

chain 30 2 500 + 200 230 2:201-230 500 + 200 230 2
30

"""


def test_read_chains(tmp_path):
    path = tmp_path / "x.chain"
    path.write_text(CHAIN_TEXT)
    assert read_chains(path) == [
        (100, 100, [(10, 0, 3), (5, 4, 0), (11, 0, 0)]),
        (200, 200, [(30, 0, 0)]),
    ]


# Edits of a 30-base window at 100: +3 after offset 9, 4 bases (15..18) deleted.
EDITS = [(9, 10, b"GAAA"), (14, 19, b"C")]


@pytest.mark.parametrize(
    ("position", "offset"),
    [
        (0, 0),  # first base
        (9, 9),  # the insertion's anchor
        (10, 13),  # first base after 3 inserted bases
        (14, 17),  # the deletion's anchor
        (15, 18),  # inside the deletion (15..18): the next surviving base
        (18, 18),
        (19, 18),  # that next base itself
        (29, 28),  # last base
    ],
)
def test_tss_after_edits_with_indels(position, offset):
    assert tss_after_edits(position, EDITS) == offset


def test_edits_read_off_a_bcftools_chain(inputs, tmp_path):
    """A real bcftools chain turns into edits that rebuild its output and place the TSS."""
    reference, vcfs = inputs
    window = GENES["gA"]
    start, end = window.interval.start, window.interval.end
    region = tmp_path / "region.fa"
    region.write_text(f">{window.interval.to_region()}\n{REFERENCE['1'][start:end]}\n")
    for h in (1, 2):
        chain = tmp_path / f"hap{h}.chain"
        out = tmp_path / f"hap{h}.fa"
        pysam.bcftools.consensus(
            "-f", str(region), "-s", SAMPLE, "-H", str(h), "-c", str(chain),
            "-o", str(out), str(vcfs["1"]), catch_stdout=False,
        )  # fmt: skip
        (blocks,) = read_chains(chain)
        sequence = "".join(out.read_text().split("\n")[1:]).encode()
        ref = REFERENCE["1"][start:end].encode()
        edits = edits_from_alignment(ref, sequence, blocks, start)
        assert apply_edits(ref, edits) == sequence
        assert len(edits) > 1, "the chain should split SNVs and indels into separate edits"
        assert tss_after_edits(window.tss - start, edits) == expected_haplotype(window, h)[1]


# --------------------------------------------------------------------------- system bcftools


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools binary not on PATH")
@pytest.mark.parametrize("haplotype", [1, 2])
def test_matches_system_bcftools(inputs, store, tmp_path, haplotype):
    _, vcfs = inputs
    window = GENES["gA"]  # indels and SNVs inside, none at the window edges
    start, end = window.interval.start, window.interval.end
    region = tmp_path / "region.fa"
    region.write_text(f">{window.interval.to_region()}\n{REFERENCE['1'][start:end]}\n")
    result = subprocess.run(
        ["bcftools", "consensus", "-f", str(region), "-s", SAMPLE, "-H", str(haplotype),
         str(vcfs["1"])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = result.stdout.split()
    assert lines[0] == f">{window.interval.to_region()}"
    assert "".join(lines[1:]) == store.sequence("gA", haplotype)


def test_bcftools_crash_is_a_clear_error_not_a_dead_process(tmp_path):
    """bcftools 1.24 aborts on a record crossing a window start without a shared first base.

    The bcftools engine runs it in a process of its own, so the caller gets a ConsensusError (and
    the fast engine, which follows bcftools minus that stray write, answers).
    """
    seq = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGCATCCGTAGGACTTGACGGTC"
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 9, "CATCG", "AG", ["1|0"])
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1"], {"1": len(seq)}, True)
    windows = [Interval("1", 0, 5), Interval("1", 10, 30), Interval("1", 40, 60)]
    for _ in range(10):  # many windows and runs in one process: the caller lives on
        with pytest.raises(ConsensusError, match="crashed") as caught:
            window_sequences(reference, vcf, ["S1"], windows, engine="bcftools")
        assert f"{vcf}, sample S1, haplotype 1, window 1:11-30" in str(caught.value)
    fast = window_sequences(reference, vcf, ["S1"], windows, engine="fast")
    assert fast[("S1", 1)][1] == "AGGCTAACGTTAGCCAT"
    alone = window_sequences(reference, vcf, ["S1"], windows[2:], engine="bcftools")
    assert alone == {("S1", 1): [seq[40:60]], ("S1", 2): [seq[40:60]]}


@pytest.mark.parametrize(
    ("fmt", "call"), [("DP:GT", "7:1|0"), ("GT", "1|x")], ids=["gt-not-first", "unreadable"]
)
def test_fast_engine_refuses_a_gt_it_cannot_read(tmp_path, fmt, call):
    seq = "ACGTACGTAC" * 6
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 5, "A", "C", [call], fmt)
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1"], {"1": 60}, True)
    with pytest.raises(ConsensusError, match="GT"):
        window_sequences(reference, vcf, ["S1"], [Interval("1", 0, 60)], engine="fast")


@pytest.mark.parametrize(
    ("alt", "end", "variants", "start", "said"),
    [
        ("T", 16, "snvs", 10, "longer than its REF"),
        ("T,<*>", 16, "all", 10, "longer than its REF"),
        ("<*>", 18, "all", 14, "gVCF block that starts before the window"),
    ],
    ids=["snvs-padded-snv", "snv-beside-block", "block-from-before-window"],
)
def test_fast_engine_refuses_missing_calls_as_bcftools(tmp_path, alt, end, variants, start, said):
    """Where bcftools refuses -M N on a raw record, the fast engine says why, for whom, where."""
    seq = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGC"
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 13, "G", alt, ["0|.", "0|0"], info=f"END={end}")
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1", "S2"], {"1": 40}, True)
    window = Interval("1", start, 30)
    with pytest.raises(ConsensusError, match=said) as caught:
        window_sequences(reference, vcf, ["S1", "S2"], [window], "fast", "N", variants)
    assert f"1:13 G>{alt} END={end}" in str(caught.value)
    assert f"(sample S1, haplotype 2, window {window.to_region()})" in str(caught.value)
