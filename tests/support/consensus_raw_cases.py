"""Parity edge cases on raw (unnormalised) records, as a VCF may come before ``bcftools norm``.

Written from bcftools consensus's documented behaviour (``-H 1|2`` picks an ALT of a
multi-allelic record by its index; ``<DEL>`` deletes the bases after POS up to INFO/END;
symbolic alleles other than ``<DEL>``, ``<*>`` and ``<NON_REF>`` are "currently not
supported") and the shapes of its test suite (``test/consensus*.vcf``: multi-allelic sites,
``*`` alleles, symbolic deletions with END, gVCF blocks). What bcftools 1.24 writes is, as
everywhere in the parity suite, computed by running it in the test; ``expected`` only pins a
few answers derived by hand from those rules.
"""

from __future__ import annotations

from support.consensus_edge_cases import EdgeCase, W

RAW_CASES = [
    # --- multi-allelic records: 1|2 applies the second ALT, a missing allele as usual
    EdgeCase(
        "multiallelic_raw_1_2",
        ("1 13 G T,GCC 1|2 2|1 .|2", "1 20 ACGT A,ACGTT 2|1 0|2 1|."),
        expected={
            "S1:1": ("TCTAGGCTAACGTTTAGCCAT",),
            "S1:2": ("TCGCCAGGCTAATAGCCAT",),
            "S3:1:reference": ("TCGAGGCTAATAGCCAT",),
            "S3:1:N": ("TCNAGGCTAATAGCCAT",),
        },
    ),
    # --- * alleles: bcftools writes the * itself (no special case), unless the deletion it
    # stands for was applied first, which makes it an overlapping record, skipped
    EdgeCase(
        "star_allele_after_its_deletion",
        ("1 12 CGA C,T 1|2 0|1", "1 13 G *,T 1|2 2|1"),
        expected={"S1:1": ("TCGGCTAACGTTAGCCAT",), "S2:1": ("TCTAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "star_allele_written_as_text",
        ("1 13 G T,* 2|1 .|2", "1 16 GC * 1|0 0|1"),
        expected={"S1:1": ("TC*AG*TAACGTTAGCCAT",), "S1:2": ("TCTAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase("breakend_written_as_text", ("1 13 G G[1:40[ 1|0", "1 20 A ]1:5]A 0|1")),
    # --- <DEL>: POS's base kept, POS+1..END deleted (END from INFO/END or SVLEN); REF is not
    # checked; trimmed at window edges like any deletion
    EdgeCase(
        "symbolic_deletion_with_end_or_svlen",
        ("1 13 G <DEL> END=16 1|0 .|1", "1 25 A <DEL> SVLEN=-3 0|1 1|1"),
        windows=("1:11-30", "1:14-20", "1:26-40"),
        expected={
            "S1:1": ("TCGCTAACGTTAGCCAT", "CTAA", "GCCATGGACTCATGC"),
            "S1:2": ("TCGAGGCTAACGTTAAT", "AGGCTAA", "ATGGACTCATGC"),
        },
        # -M N: the missing allele becomes REF[0]>N and keeps END, so REF is too short
        refuses=("S2:1:N",),
    ),
    EdgeCase(
        "symbolic_deletion_from_before_window_and_past_contig_end",
        ("1 8 G <DEL> END=12 1|0", "1 9 C <DEL> END=40 0|1", "1 55 A <DEL> END=70 1|0"),
        windows=("1:11-30", "1:20-20", "1:51-60"),
        expected={
            "S1:1": ("GAGGCTAACGTTAGCCAT", "A", "CTTGA"),
            "S1:2": ("", "", "CTTGACGGTC"),
        },
    ),
    EdgeCase(  # the <DEL> ALT of a multi-allelic record; its T ALT fails the REF check
        "symbolic_deletion_in_multiallelic_record",
        ("1 13 G T,<DEL> END=16 2|1 0|2",),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",), "S2:2": ("TCGCTAACGTTAGCCAT",)},
        refuses=("S1:2:reference", "S1:2:N"),
    ),
    # --- gVCF blocks: <*> and <NON_REF> change nothing and make records inside them overlap;
    # with -M N a missing call writes N over the whole block
    EdgeCase(
        "gvcf_blocks",
        (
            "1 13 G <*> END=16 1|0 .|1",
            "1 15 G T 1|1 1|1",
            "1 20 A <NON_REF> 1|1 0|0",
            "1 20 A ATT 0|1 1|1",
        ),
        expected={"S1:1": (W,), "S2:1:N": ("TCNNNNCTAATTCGTTAGCCAT",)},
    ),
    # -M N on a gVCF block that starts before the window: bcftools reads the block's bases
    # from before its buffer and stops; the rest is as ever
    EdgeCase(
        "gvcf_block_missing_from_before_window",
        ("1 13 G <*> END=18 .|0 0|.", "1 20 A C 1|1 1|1"),
        windows=("1:15-30", "1:13-20"),
        expected={"S1:1:reference": ("GGCTACCGTTAGCCAT", "GAGGCTAC")},
        refuses=("S1:1:N", "S2:2:N"),
    ),
    # --- other symbolic ALTs: bcftools stops on a haplotype that carries one ("not
    # supported"); one nobody carries is harmless, its SVLEN still sets how far it reaches
    EdgeCase(
        "symbolic_copy_number_carried",
        ("1 13 G <CN0> END=16 0|1",),
        refuses=("S1:2:reference", "S1:2:N"),
    ),
    EdgeCase(
        "symbolic_insertion_carried",
        ("1 13 G <INS:ME:ALU> 1|0",),
        refuses=("S1:1:reference", "S1:1:N"),
    ),
    EdgeCase(
        "symbolic_duplication_not_carried",
        ("1 13 G <DUP> SVLEN=3 0|0 .|0", "1 14 A C 1|1 1|0"),
        expected={"S2:1:N": ("TCNCGGCTAACGTTAGCCAT",)},  # SVLEN no longer counts once N
    ),
    # --- INFO/END beyond REF on a plain record: bcftools' REF check reads END's length and
    # fails, except where the window's end trims the record back to REF
    EdgeCase(
        "end_beyond_ref",
        ("1 13 G T END=16 1|0 0|0 .|0",),
        windows=("1:11-30", "1:11-13"),
        refuses=("S1:1:reference", "S1:1:N", "S3:1:N"),
    ),
    # --- variants="snvs": type='snp' is judged on the record as written, so a padded SNV's
    # missing call stays (-M N: REF[0]>N keeps END, bcftools refuses) and so does a <*> ALT
    # beside an SNV (it freezes the block; -M N on it is no gVCF block: REF[0]>N, refused)
    EdgeCase(
        "snvs_end_beyond_ref_missing",
        ("1 13 G T END=16 0|0 .|0",),
        refuses=("S2:1:N",),
        variants="snvs",
    ),
    EdgeCase(
        "snvs_gvcf_block_beside_snv",
        ("1 13 G T,<*> END=16 2|0 0|.", "1 15 G C 1|0 0|0"),
        expected={"S1:1": (W,)},
        refuses=("S2:2:N",),
        variants="snvs",
    ),
    EdgeCase(  # at the last base of an applied SNP: skipped as overlapping, refused if not
        "snvs_padded_record_at_previous_variant_end",
        ("1 12 CG TG 1|0 0|0", "1 13 G T,<*> END=16 2|. .|0"),
        expected={"S1:1": ("TTGAGGCTAACGTTAGCCAT",)},
        refuses=("S1:2:N", "S2:1:N"),
        variants="snvs",
    ),
    EdgeCase(
        "gvcf_block_beside_snv_missing",
        ("1 13 G T,<*> END=16 2|0 0|.", "1 15 G C 1|0 0|0"),
        expected={"S1:1": (W,)},
        refuses=("S2:2:N",),
    ),
    # --- unnormalised records whose REF runs past a window's end
    EdgeCase(
        "unnormalised_ref_past_window_end",
        ("1 28 CATGGAC CA 1|0", "1 29 ATGG ATGGTTT 0|1"),
        windows=("1:11-30", "1:20-29"),
        expected={"S1:1": ("TCGAGGCTAACGTTAGCCA", "ACGTTAGCCA")},
    ),
    # --- windows emptied by a deletion, long insertions, one-base windows with a deletion
    # across them and an insertion on them (the bcftools engine once crashed on these)
    EdgeCase(
        "whole_window_deletion_and_long_insertion",
        (
            "1 9 CATCGAGGCTAACG C 1|0 0|0",
            "1 16 G G" + "T" * 40 + " 0|0 1|1",
        ),
        windows=("1:11-20", "1:12-12", "1:16-16"),
        expected={
            "S1:1": ("", "", ""),
            "S2:1": ("TCGAGG" + "T" * 40 + "CTAA", "C", "G" + "T" * 40),
        },
    ),
    EdgeCase(
        "one_base_window_deletion_across_insertion_on",
        ("1 11 TCGA T 1|1 0|1", "1 12 CGA C 0|0 1|0", "1 13 G GTTT 1|1 1|1"),
        windows=("1:13-13", "1:12-13", "1:13-14"),
    ),
    # --- many windows in one process (the bcftools engine once aborted its caller here)
    EdgeCase(
        "many_windows_one_process",
        ("1 13 G T,GCC 1|2", "1 20 A <DEL> END=24 0|1", "1 33 A *,G 1|2"),
        windows=tuple(f"1:{s}-{s + w}" for s in range(1, 50, 3) for w in (0, 9)),
    ),
]
