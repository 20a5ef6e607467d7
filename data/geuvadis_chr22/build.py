"""Build the real-data study (GRCh37 chr22, Geuvadis) in this folder from Debian packages.

Run from the repository root: ``python data/geuvadis_chr22/build.py``; then
``snakemake --profile local all --configfile config/geuvadis_chr22.yaml``. The packages are
fetched with ``apt-get download`` into ``--cache`` (or taken from there if present).
"""

import argparse
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from haplexpr.realdata.geuvadis_chr22 import Chr22Design, build_study  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; every default is the documented study's design."""
    default = Chr22Design()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    parser.add_argument(
        "--cache", type=Path, default=HERE / "packages", help="where the .deb files are kept"
    )
    for name, value in vars(default).items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=type(value), default=value,
            help=f"default {value}",
        )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the study and print its one-line summary."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    design = Chr22Design(**{k: getattr(args, k) for k in vars(Chr22Design())})
    report = build_study(args.out, args.cache, design)
    genes, individuals = report.genes, report.individuals
    print(
        f"built the chr22 study in {report.seconds} s: {genes['kept']} of "
        f"{genes['in_expression']} genes ({genes['train']} train, {genes['test']} test), "
        f"{individuals['train']} + {individuals['test']} individuals; files in {args.out} "
        f"(decisions.json says what was dropped and why)"
    )


if __name__ == "__main__":
    main()
