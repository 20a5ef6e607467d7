"""The hand-written parity edge cases: small references, records and windows, with what
bcftools consensus 1.24 writes for them derived by hand (tests/test_consensus_parity.py
checks bcftools still writes it, then holds the fast engine to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haplexpr.coordinates import Interval
from support.consensus_parity import Job, ParityInput, Record

# ---------------------------------------------------------------------------------------------
# (a) Hand-written edge cases

# Contig "1", 1-based positions in blocks of ten:
#  1 GATTACAGCA  11 TCGAGGCTAA  21 CGTTAGCCAT  31 GGACTCATGC  41 ATCCGTAGGA  51 CTTGACGGTC
CONTIG_1 = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGCATCCGTAGGACTTGACGGTC"
# Contig "2": soft-masked (lowercase) stretches at 11-20 and 31-40.
CONTIG_2 = "ACGTACGTACgtacgtacgtACGTACGTACggccaattggCCGGAATTCC"
# Contig "3": N runs at 9-14 and 23-32.
CONTIG_3 = "ACGTTGCANNNNNNGATTACAGNNNNNNNNNNCATGCATG"
CONTIGS = {"1": CONTIG_1, "2": CONTIG_2, "3": CONTIG_3}


@dataclass(frozen=True)
class EdgeCase:
    """A small hand-written parity case.

    ``expected`` holds hand-derived bcftools output, keyed ``"S1:1"`` (sample:haplotype, both
    missing modes) or ``"S1:1:N"`` (one mode); ``aborts`` lists the ``"S1:1:N"`` jobs on which
    bcftools 1.24 corrupts its heap and dies, whose ``expected`` then says what the fast engine
    must return (the output bcftools would write without the stray ``fa_buf.s[-1]`` write);
    ``refuses`` lists the jobs bcftools rejects (REF mismatch), where the fast engine must
    raise :class:`ConsensusError`.
    """

    name: str
    records: tuple[str, ...]
    windows: tuple[str, ...] = ("1:11-30",)
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aborts: tuple[str, ...] = ()
    refuses: tuple[str, ...] = ()
    variants: str = "all"
    undeclared: tuple[str, ...] = ()  # reference contigs the VCF header leaves out
    unphased: str = "as_listed"  # iupac: bcftools -H 1pIu / -H 2pIu

    def data(self) -> ParityInput:
        """The case as a :class:`ParityInput` (samples S1..Sn from the GT columns)."""
        records = sorted(
            (Record.parse(text) for text in self.records),
            key=lambda r: (list(CONTIGS).index(r.chrom), r.pos),
        )
        n = len(records[0].gts) if records else 1
        return ParityInput(
            dict(CONTIGS),
            tuple(f"S{i + 1}" for i in range(n)),
            tuple(records),
            tuple(Interval.from_region(w) for w in self.windows),
            self.undeclared,
        )

    def hand_expected(self, job: Job) -> tuple[str, ...] | None:
        """The hand-derived sequences for a job, if the case has them."""
        key = f"{job.sample}:{job.haplotype}"
        return self.expected.get(f"{key}:{job.missing}", self.expected.get(key))

    def aborts_on(self, job: Job) -> bool:
        """Whether bcftools 1.24 is known to abort on this job."""
        return f"{job.sample}:{job.haplotype}:{job.missing}" in self.aborts

    def refuses_on(self, job: Job) -> bool:
        """Whether bcftools 1.24 is known to reject this job."""
        return f"{job.sample}:{job.haplotype}:{job.missing}" in self.refuses


W = "TCGAGGCTAACGTTAGCCAT"  # reference of the default window 1:11-30

EDGE_CASES = [
    # --- indels and MNPs at window edges
    EdgeCase(
        "insertion_at_window_first_base",
        ("1 11 T TGG 1|0",),
        expected={"S1:1": ("TGGCGAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "insertion_anchored_just_before_window",  # REF does not overlap: not applied
        ("1 10 A AGG 1|1",),
        expected={"S1:1": (W,), "S1:2": (W,)},
    ),
    EdgeCase(
        "insertion_at_window_last_base",
        ("1 30 T TCC 0|1",),
        expected={"S1:1": (W,), "S1:2": (W + "CC",)},
    ),
    EdgeCase(
        "deletion_from_before_window_start",
        ("1 8 GCATC G 1|0",),
        expected={"S1:1": ("GAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "deletion_anchored_on_base_before_window",
        ("1 10 ATC A 1|1",),
        expected={"S1:1": ("GAGGCTAACGTTAGCCAT",), "S1:2": ("GAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_past_window_end",
        ("1 28 CATGG C 1|0",),
        expected={"S1:1": ("TCGAGGCTAACGTTAGCC",), "S1:2": (W,)},
    ),
    EdgeCase(
        "deletion_covering_whole_window",
        ("1 9 CATCGAGGCT C 1|0",),
        windows=("1:11-15", "1:11-30"),
        expected={"S1:1": ("", "AACGTTAGCCAT"), "S1:2": ("TCGAG", W)},
    ),
    EdgeCase(
        "mnp_across_window_start",
        ("1 9 CATC GGGG 1|0",),
        expected={"S1:1": ("GGGAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "mnp_across_window_end",
        ("1 29 ATGG CCCC 0|1",),
        expected={"S1:1": (W,), "S1:2": ("TCGAGGCTAACGTTAGCCCC",)},
    ),
    EdgeCase(
        "complex_across_window_start_alt_reaches_window",
        ("1 9 CATCG GGGA 1|0",),
        expected={"S1:1": ("GAAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "complex_at_and_across_window_end",  # S2: REF and ALT trimmed to the window's end
        ("1 29 AT GGGG 1|0 0|0", "1 29 ATG GGGGG 0|0 1|0"),
        expected={"S1:1": ("TCGAGGCTAACGTTAGCCGGGG",), "S2:1": ("TCGAGGCTAACGTTAGCCGG",)},
    ),
    EdgeCase(
        # bcftools 1.24 writes the ALT's last base to fa_buf.s[-1] and aborts; without that
        # stray write it would drop window bases 11-13 (REF 10-13 after trimming).
        "complex_across_window_start_alt_before_window_bcftools_aborts",
        ("1 9 CATCG AG 1|0",),
        expected={"S1:1": ("AGGCTAACGTTAGCCAT",), "S1:2": (W,)},
        aborts=("S1:1:reference", "S1:1:N"),
    ),
    EdgeCase(
        # -M N turns the missing allele into a 1-base REF>N record at POS 10, one base before
        # the window: bcftools 1.24 writes N to fa_buf.s[-1] and aborts; the window itself
        # is untouched.
        "missing_deletion_one_base_before_window_with_N_bcftools_aborts",
        ("1 10 ATCG A .|0",),
        expected={"S1:1": (W,), "S1:2": (W,)},
        aborts=("S1:1:N",),
    ),
    EdgeCase(
        "missing_deletion_two_bases_before_window_with_N",
        ("1 9 CATCG C .|0",),
        expected={"S1:1": (W,), "S1:2": (W,)},
    ),
    # --- overlapping variants on one haplotype
    EdgeCase(
        "deletion_then_snv_inside_it",
        ("1 13 GAGG G 1|1", "1 15 G T 1|0"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",), "S1:2": ("TCGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "two_overlapping_deletions",
        ("1 13 GAGG G 1|0", "1 15 GGCT G 1|1"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",), "S1:2": ("TCGAGAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "snv_then_insertion_same_pos",
        ("1 13 G T 1|0", "1 13 G GAA 1|1"),
        expected={"S1:1": ("TCTAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCGAAAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "insertion_then_insertion_same_pos",
        ("1 13 G GAA 1|0", "1 13 G GCC 1|1"),
        expected={"S1:1": ("TCGAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCGCCAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "insertion_then_snv_same_pos",
        ("1 13 G GAA 1|0", "1 13 G T 1|1"),
        expected={"S1:1": ("TCGAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCTAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "snv_then_deletion_same_pos",
        ("1 13 G T 1|0", "1 13 GAG G 1|1"),
        expected={"S1:1": ("TCTGCTAACGTTAGCCAT",), "S1:2": ("TCGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_then_insertion_at_its_last_base",
        ("1 13 GAG G 1|0", "1 15 G GTT 1|1"),
        expected={"S1:1": ("TCGTTGCTAACGTTAGCCAT",), "S1:2": ("TCGAGTTGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_then_insertion_inside_it",
        ("1 13 GAGG G 1|0", "1 15 G GTT 1|0"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "mnp_then_insertion_at_its_last_base",
        ("1 12 CG TT 1|0", "1 13 G GAA 1|0"),
        expected={"S1:1": ("TTTAAAGGCTAACGTTAGCCAT",)},
    ),
    # --- adjacent indels (S1: deletion then insertion, S2: insertion then deletion)
    EdgeCase(
        "adjacent_indels",
        ("1 12 C CAA 0|0 1|1", "1 12 CG C 1|1 0|0", "1 13 GA G 0|0 1|0", "1 14 A ATT 1|0 0|0"),
        expected={
            "S1:1": ("TCATTGGCTAACGTTAGCCAT",),
            "S1:2": ("TCAGGCTAACGTTAGCCAT",),
            "S2:1": ("TCAAGGGCTAACGTTAGCCAT",),
            "S2:2": ("TCAAGAGGCTAACGTTAGCCAT",),
        },
    ),
    # --- multi-allelic
    EdgeCase(
        "multiallelic",
        (
            "1 13 G T,GCC 1|2 2|0",
            "1 20 ACGT A,ACGTT,TCGT 1|3 2|1",
            "1 33 A G,T,C 3|2 0|3",
        ),
        windows=("1:11-40",),
        expected={
            "S1:1": ("TCTAGGCTAATAGCCATGGCCTCATGC",),
            "S1:2": ("TCGCCAGGCTATCGTTAGCCATGGTCTCATGC",),
            "S2:1": ("TCGCCAGGCTAACGTTTAGCCATGGACTCATGC",),
            "S2:2": ("TCGAGGCTAATAGCCATGGCCTCATGC",),
        },
    ),
    # --- missing genotypes
    EdgeCase(
        "missing_alleles",
        (
            "1 13 G T .|1 1|. ./. .",
            "1 16 GCTA G .|0 0|. .|. 1|1",
            "1 22 GT CA 1|. .|1 ./1 0|0",
        ),
        expected={  # -M N on a missing multi-base REF replaces its first base only
            "S1:1:reference": ("TCGAGGCTAACCATAGCCAT",),
            "S1:1:N": ("TCNAGNCTAACCATAGCCAT",),
            "S1:2:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:2:N": ("TCTAGGCTAACNTTAGCCAT",),
            "S3:1:reference": (W,),
            "S3:1:N": ("TCNAGNCTAACNTTAGCCAT",),
            "S4:1:reference": ("TCGAGGACGTTAGCCAT",),
            "S4:2:N": ("TCNAGGACGTTAGCCAT",),
        },
    ),
    # --- contig ends
    EdgeCase(
        "contig_start_and_end",
        (
            "1 1 G A 1|0 0|0 0|0 0|0",
            "1 1 G TTG 0|0 1|0 0|0 0|0",
            "1 1 GAT G 0|0 0|0 1|0 0|0",
            "1 1 GA A 0|0 0|0 0|0 1|0",
            "1 58 GTC G 0|0 0|0 0|1 0|0",
            "1 59 TC T 0|0 0|0 0|0 0|1",
            "1 60 C T 0|1 0|0 0|0 0|0",
            "1 60 C CAA 0|0 0|1 0|0 0|0",
        ),
        windows=("1:1-10", "1:51-60", "1:1-60", "1:1-1", "1:60-60"),
        expected={
            "S1:1": ("AATTACAGCA", "CTTGACGGTC", "A" + CONTIG_1[1:], "A", "C"),
            "S2:1": ("TTGATTACAGCA", "CTTGACGGTC", "TTG" + CONTIG_1[1:], "TTG", "C"),
            "S3:1": ("GTACAGCA", "CTTGACGGTC", "G" + CONTIG_1[3:], "G", "C"),
            "S4:1": ("ATTACAGCA", "CTTGACGGTC", CONTIG_1[1:], "A", "C"),
            "S1:2": ("GATTACAGCA", "CTTGACGGTT", CONTIG_1[:-1] + "T", "G", "T"),
            "S2:2": ("GATTACAGCA", "CTTGACGGTCAA", CONTIG_1 + "AA", "G", "CAA"),
            "S3:2": ("GATTACAGCA", "CTTGACGG", CONTIG_1[:-2], "G", ""),
            "S4:2": ("GATTACAGCA", "CTTGACGGT", CONTIG_1[:-1], "G", ""),
        },
    ),
    # --- soft-masked reference: the ALT takes the case of the reference base at POS
    EdgeCase(
        "lowercase_reference",
        (
            "2 9 ACGT TTTT 0|0 1|0 0|0",
            "2 10 C CGG 0|0 0|0 1|1",
            "2 13 A C 1|1 0|0 0|0",
            "2 15 G GAAA 0|0 1|1 0|0",
            "2 19 GTAC CCCC 1|0 0|0 0|0",
            "2 29 ACGGCC A 0|1 0|0 0|0",
        ),
        windows=("2:1-50", "2:11-20", "2:15-35"),
        expected={
            "S1:1": (
                "ACGTACGTAC" + "gtccgtac" + "cccc" + "GTACGTACggccaattggCCGGAATTCC",
                "gtccgtaccc",
                "gtac" + "cccc" + "GTACGTAC" + "ggcca",
            ),
            "S1:2": (
                "ACGTACGTACgtccgtacgtACGTACGT" + "A" + "aattggCCGGAATTCC",
                "gtccgtacgt",
                "gtacgtACGTACGT" + "A" + "a",
            ),
        },
    ),
    EdgeCase(
        "lowercase_alleles_in_vcf",
        ("1 13 g t 1|0", "1 16 gc g 0|1"),
        expected={"S1:1": ("TCTAGGCTAACGTTAGCCAT",), "S1:2": ("TCGAGGTAACGTTAGCCAT",)},
    ),
    # --- N runs in the reference
    EdgeCase(
        "n_runs",
        (
            "3 8 A G 1|0 0|0 0|0",
            "3 8 ANNN A 0|0 1|1 0|0",
            "3 10 N NACG 0|0 0|0 1|0",
            "3 12 N A 1|1 0|0 0|0",
            "3 14 NGA CCC 0|0 1|0 0|1",
            "3 22 GNN G 0|1 0|0 0|0",
        ),
        windows=("3:1-40", "3:9-14", "3:5-16"),
        expected={
            "S1:2": ("ACGTTGCANNNANNGATTACAGNNNNNNNNCATGCATG", "NNNANN", "TGCANNNANNGA"),
            "S2:1": ("ACGTTGCANNCCCTTACAGNNNNNNNNNNCATGCATG", "NNC", "TGCANNCCC"),
            "S3:1": ("ACGTTGCANNACGNNNNGATTACAGNNNNNNNNNNCATGCATG", "NNACGNNNN", "TGCANNACGNNNNGA"),
        },
    ),
    # --- windows with no variants, several and overlapping windows
    EdgeCase(
        "no_variants_in_window",
        ("1 13 G T 1|1", "1 55 A C 1|1"),
        windows=("1:41-50", "2:1-50", "3:1-40"),
        expected={"S1:1": (CONTIG_1[40:50], CONTIG_2, CONTIG_3)},
    ),
    EdgeCase(
        "several_overlapping_windows",
        (
            "1 12 C CAA 1|0",
            "1 14 AGGC A 1|1",
            "1 26 G T 0|1",
            "1 29 AT A 1|1",
            "2 5 A G 1|0",
        ),
        windows=(
            "1:11-30",
            "1:1-15",
            "1:11-30",
            "2:3-12",
            "1:25-40",
            "1:15-15",
            "1:15-16",
            "1:13-13",
        ),
        expected={
            "S1:1": (
                "TCAAGATAACGTTAGCCA",
                "GATTACAGCATCAAGA",
                "TCAAGATAACGTTAGCCA",
                "GTGCGTACgt",
                "AGCCAGGACTCATGC",
                "",
                "",
                "G",
            ),
        },
    ),
    # --- haploid genotypes asked for haplotype 2
    EdgeCase(
        "haploid_gt_single_sample",  # GT vector of length 1: haplotype 2 is not applied
        ("1 13 G T 1", "1 16 G C 0", "1 20 A G ."),
        expected={
            "S1:1:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:1:N": ("TCTAGGCTANCGTTAGCCAT",),
            "S1:2:reference": (W,),
            "S1:2:N": ("TCGAGGCTANCGTTAGCCAT",),
        },
    ),
    EdgeCase(
        "haploid_gt_next_to_diploid_sample",  # GT padded with vector_end: reads as missing
        ("1 13 G T 1 0|1", "1 16 G C 0 1|0", "1 20 A G . 0|0"),
        expected={
            "S1:1:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:1:N": ("TCTAGGCTANCGTTAGCCAT",),
            "S1:2:reference": (W,),
            "S1:2:N": ("TCNAGNCTANCGTTAGCCAT",),
        },
    ),
    # --- complex REF/ALT
    EdgeCase(
        "complex_ref_alt",
        ("1 20 ACGT AG 1|1 1|0", "1 33 AC TTG 1|0 0|1"),
        windows=("1:11-40", "1:21-35", "1:34-40"),
        expected={
            # ACGT>AG one base before 1:21-35 keeps its ALT's G; AC>TTG one base before
            # 1:34-40 keeps TG
            "S1:1": ("TCGAGGCTAAGTAGCCATGGTTGTCATGC", "GTAGCCATGGTTGT", "TGTCATGC"),
            "S2:2": (W + "GGTTGTCATGC", "CGTTAGCCATGGTTGT", "TGTCATGC"),
        },
    ),
    # --- a deletion empties the window, then an insertion at the deleted last base: bcftools
    # reads the ALT's case from the byte just past its (now empty) buffer, a stale copy of
    # the window's original base there (S1: t, so lowercase; S2: g)
    EdgeCase(
        "insertion_after_deletion_emptied_window_case_from_stale_base",
        (
            "2 14 CG C 0|0 1|0",
            "2 15 G GAA 0|0 1|0",
            "2 18 CGTA C 1|0 0|0",
            "2 21 A AGG 1|0 0|0",
        ),
        windows=("2:20-21", "2:15-15"),
        expected={"S1:1": ("gg", "g"), "S2:1": ("tA", "aa")},
    ),
    # --- bcftools rejects: the window end trims the first deletion to its anchor, so the
    # second one's REF check reads the SNV's T (bcftools' prev_base is the edited base)
    EdgeCase(
        "same_deletion_twice_cut_by_window_end_bcftools_refuses",
        ("1 13 G T 1|0", "1 13 GA G 1|0", "1 13 GA G 1|0"),
        windows=("1:11-13",),
        refuses=("S1:1:reference", "S1:1:N"),
    ),
    # --- a reference contig the VCF header does not declare (bcftools' test consensus.17):
    # bcftools consensus writes the reference for windows on it
    EdgeCase(
        "reference_contig_not_in_vcf_header",
        ("1 15 G A 1|0",),
        windows=("1:11-30", "2:1-20"),
        expected={"S1:1": ("TCGAAGCTAACGTTAGCCAT", CONTIG_2[:20]), "S1:2": (W, CONTIG_2[:20])},
        undeclared=("2",),
    ),
    EdgeCase(
        "only_windows_on_a_contig_not_in_vcf_header",
        ("1 15 G A 1|1",),
        windows=("2:1-20", "2:31-50"),
        expected={"S1:1": (CONTIG_2[:20], CONTIG_2[30:])},
        undeclared=("2",),
    ),
    # --- REF on reference N (an unknown base; contig 3 has N at 9-14): bcftools consensus
    # 1.24 checks REF against N where a haplotype carries the ALT (or, under -M N, a missing
    # allele), and refuses; a haplotype with the REF allele gets the reference
    EdgeCase(
        "alt_on_unknown_reference_base_bcftools_refuses",
        ("3 10 A G 1|0 .|0",),
        windows=("3:1-20",),
        expected={
            "S1:2": (CONTIG_3[:20],),
            "S2:1:reference": (CONTIG_3[:20],),
            "S2:2": (CONTIG_3[:20],),
        },
        refuses=("S1:1:reference", "S1:1:N", "S2:1:N"),
    ),
    # --- variants="snvs" (bcftools -i "type='snp'"): records with an indel or MNP ALT are out
    EdgeCase(
        "snvs_only",
        (
            "1 12 C T 1|0",
            "1 13 G GAA 1|1",
            "1 15 GG TT 1|1",
            "1 17 C A,CTT 1|2",
            "1 19 A C,G 1|2",
            "1 21 C G 1|.",
            "1 24 TA T 1|1",
            # same-length alleles one base apart are SNPs to htslib, whatever their length
            "1 26 GC TC 1|0",
            "1 28 CAT CGT 0|1",
        ),
        expected={
            "S1:1": ("TTGAGGCTCAGGTTATCCAT",),
            "S1:2:reference": ("TCGAGGCTGACGTTAGCCGT",),
            "S1:2:N": ("TCGAGGCTGANGTTAGCCGT",),
        },
        variants="snvs",
    ),
]
