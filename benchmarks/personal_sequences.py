"""Personal sequences: our batched bcftools engine vs per-window bcftools (the seed's way).

Runs both in this process on the demo data (or any reference/VCF/table given on the command
line) and prints sequences per second and their ratio. Both use the same bcftools (1.24,
embedded in pysam), so the ratio measures only how the work is batched: one consensus call
per (individual, chromosome, haplotype) over all windows, vs one call per window and
haplotype as published pipelines do (here in-process, without the process start-up per
window that a shell pipeline pays, so the real gap is larger). Outputs are compared for
equality.

    python benchmarks/personal_sequences.py [--individuals 4] [--window 4096]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pysam

from haplexpr.genes import contig_lengths, gene_table, gene_windows, read_partition_table
from haplexpr.personal_sequences import build_personal_store, consensus_windows, write_region_fasta
from haplexpr.sequence_store import SequenceStore
from haplexpr.variants import index_vcf

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def main() -> None:
    """Time both engines and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=str(DEMO / "reference.fa"))
    parser.add_argument("--table", default=str(DEMO / "all_partition_data.csv.gz"))
    parser.add_argument("--vcf-dir", default=str(DEMO / "vcf"))
    parser.add_argument("--individuals", type=int, default=4)
    parser.add_argument("--window", type=int, default=4096)
    args = parser.parse_args()

    table = read_partition_table(args.table, "log_TPM")
    lengths = contig_lengths(args.reference)
    windows = gene_windows(gene_table(table), lengths, args.window, 1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vcfs = {}
        for chrom in sorted({w.chrom for w in windows}):
            vcf = tmp / f"{chrom}.vcf.gz"
            vcf.write_bytes((Path(args.vcf_dir) / f"demo.chr{chrom}.vcf.gz").read_bytes())
            index_vcf(vcf)
            vcfs[chrom] = vcf
        with pysam.VariantFile(str(vcfs[windows[0].chrom])) as vcf:
            samples = list(vcf.header.samples)[: args.individuals]
        n_sequences = len(samples) * len(windows) * 2

        started = time.perf_counter()
        for sample in samples:
            build_personal_store(args.reference, vcfs, sample, windows, tmp / sample)
        batched = time.perf_counter() - started

        started = time.perf_counter()
        per_window = {}
        for sample in samples:
            for window in windows:
                region_fasta = tmp / "one.fa"
                write_region_fasta(args.reference, [window], region_fasta)
                for haplotype in (1, 2):
                    (item,) = consensus_windows(
                        region_fasta, vcfs[window.chrom], sample, haplotype, [window]
                    )
                    per_window[(sample, window.gene, haplotype)] = item.sequence
        one_by_one = time.perf_counter() - started

        mismatches = sum(
            SequenceStore(tmp / sample).sequence(gene, haplotype) != seq
            for (sample, gene, haplotype), seq in per_window.items()
        )
    print(f"workload: {len(samples)} individuals x {len(windows)} windows of {args.window} bp x 2")
    print(f"batched bcftools (ours): {n_sequences / batched:10.1f} sequences/s ({batched:.2f} s)")
    rate = n_sequences / one_by_one
    print(f"per-window bcftools:     {rate:10.1f} sequences/s ({one_by_one:.2f} s)")
    print(f"ratio ours / per-window: {one_by_one / batched:10.1f}x")
    print(f"identical sequences: {len(per_window) - mismatches}/{len(per_window)}")
    if mismatches:
        raise SystemExit("engines disagree")


if __name__ == "__main__":
    main()
