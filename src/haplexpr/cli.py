"""Command-line tools around the pipeline's library.

``haplexpr sequence`` prints one personal haplotype over a region as FASTA, built exactly
as the pipeline builds its stores (same input checks, same engines), so a user can check
a variant by eye or feed one window to a script. ``haplexpr metrics`` prints every run's
per-gene R across held-out individuals beside its shuffled-expression control.
"""

from __future__ import annotations

import argparse
import sys

import pysam

from haplexpr.consensus_options import ENGINES
from haplexpr.coordinates import samtools_region
from haplexpr.evaluation.metrics import held_out_table
from haplexpr.haplotypes.personal_sequences import window_sequences
from haplexpr.vcf.check import VariantInputError, check_vcf


def personal_sequence(
    reference: str, vcf: str, sample: str, haplotype: int, region: str, engine: str = "fast"
) -> str:
    """One haplotype of ``sample`` over a samtools ``region`` (1-based), after input checks."""
    with pysam.FastaFile(reference) as fasta:
        interval = samtools_region(region, dict(zip(fasta.references, fasta.lengths, strict=True)))
    check_vcf(vcf, reference, interval.chrom, [sample], region=interval)
    sequences = window_sequences(reference, vcf, [sample], [interval], engine=engine)
    return sequences[(sample, haplotype)][0]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``haplexpr`` command."""
    parser = argparse.ArgumentParser(prog="haplexpr", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sequence = commands.add_parser("sequence", help="print one personal haplotype as FASTA")
    sequence.add_argument("--reference", required=True, help="reference FASTA (indexed)")
    sequence.add_argument("--vcf", required=True, help="phased, indexed VCF/BCF")
    sequence.add_argument("--sample", required=True, help="sample ID in the VCF")
    sequence.add_argument("--haplotype", type=int, choices=(1, 2), required=True)
    sequence.add_argument(
        "--region",
        required=True,
        help="CHROM[:START[-END]], 1-based inclusive, as samtools (CHROM = whole contig)",
    )
    sequence.add_argument("--engine", choices=ENGINES, default="fast", help="default: fast")
    metrics = commands.add_parser(
        "metrics", help="per-gene R across held-out individuals, every run, with the control"
    )
    metrics.add_argument(
        "metrics_dir", nargs="?", default="results/metrics", help="default: results/metrics"
    )
    args = parser.parse_args(argv)
    if args.command == "metrics":
        return print_metrics(args.metrics_dir)
    try:
        seq = personal_sequence(
            args.reference, args.vcf, args.sample, args.haplotype, args.region, args.engine
        )
    except (VariantInputError, ValueError, RuntimeError, OSError) as error:
        print(f"haplexpr sequence: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(f">{args.sample}_hap{args.haplotype} {args.region}\n")
    for i in range(0, len(seq), 60):
        sys.stdout.write(seq[i : i + 60] + "\n")
    return 0


def print_metrics(metrics_dir: str) -> int:
    """Print :func:`held_out_table` as aligned text."""
    try:
        table = held_out_table(metrics_dir)
    except FileNotFoundError as error:
        print(f"haplexpr metrics: {error}", file=sys.stderr)
        return 1
    print("Per-gene Pearson R across held-out individuals (mean over genes); the shuffled")
    print("control scores the same predictions against expression permuted within each gene.")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
