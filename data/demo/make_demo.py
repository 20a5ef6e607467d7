"""Regenerate the embedded demo dataset in this folder, byte-identically, or write a variant.

Run from anywhere (e.g. ``python data/demo/make_demo.py`` from the repository root); the
package source is put on ``sys.path`` so no install is needed. With no options it rewrites
this folder's files exactly as committed; the options change the design (see README.md here)
and ``--out`` writes elsewhere.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from haplexpr.demo.dataset import DemoDesign, write_demo_dataset  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; every default is the committed dataset's design."""
    default = DemoDesign()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE,
        metavar="DIR",
        help="output folder (default: this script's folder)",
    )
    parser.add_argument(
        "--seed", type=int, default=default.seed, help=f"random seed (default {default.seed})"
    )
    parser.add_argument(
        "--motif",
        default=default.motif,
        help=f"activator motif, 6-12 ACGT bases, counted on the + strand (default {default.motif})",
    )
    parser.add_argument(
        "--effect",
        type=float,
        default=default.effect,
        help=f"log_TPM per motif copy of haplotype dosage (default {default.effect})",
    )
    parser.add_argument(
        "--noise-sd",
        type=float,
        default=default.noise_sd,
        help=f"standard deviation of the log_TPM noise (default {default.noise_sd})",
    )
    parser.add_argument(
        "--genes", type=int, default=default.n_genes, help=f"genes (default {default.n_genes})"
    )
    parser.add_argument(
        "--individuals",
        type=int,
        default=default.n_individuals,
        help=f"individuals (default {default.n_individuals})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the design from the options and write the dataset to ``--out``."""
    args = parse_args(argv)
    try:
        design = DemoDesign(
            seed=args.seed,
            motif=args.motif,
            effect=args.effect,
            noise_sd=args.noise_sd,
            n_genes=args.genes,
            n_individuals=args.individuals,
        )
    except ValueError as err:
        sys.exit(f"make_demo.py: {err}")
    write_demo_dataset(args.out, design)


if __name__ == "__main__":
    main()
