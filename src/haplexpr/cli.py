"""Command-line tools around the pipeline's library.

``haplexpr sequence`` prints one personal haplotype over a region as FASTA, built exactly
as the pipeline builds its stores (same input checks, same engines), so a user can check
a variant by eye or feed one window to a script. ``haplexpr metrics`` prints every run's
per-gene R across held-out individuals beside its shuffled-expression control.
``haplexpr check`` runs the start-up checks of a config and every input it names (what
Snakemake runs before building its DAG) and says what it found. ``haplexpr inspect`` says
what a trained model (``model.pt``) or an embedding shard holds, after the checks the
pipeline makes when it reads one, so a damaged file is found by name.
``haplexpr provenance FILE`` prints what made a pipeline output (config hash, seed,
package versions) and whether the file is still the one recorded. ``haplexpr predict``
makes one run's predictions for a new cohort from its VCFs (:mod:`haplexpr.cohorts`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pysam
import yaml

from haplexpr.config import merge_configs
from haplexpr.consensus_settings import ENGINES, UNPHASED_POLICIES, ConsensusOptions
from haplexpr.coordinates import samtools_region
from haplexpr.inputs import check_inputs
from haplexpr.metrics.evaluation import held_out_table
from haplexpr.provenance import ProvenanceError, describe
from haplexpr.sequences.personal_sequences import window_sequences
from haplexpr.vcf.check import VariantInputError, check_vcf


def personal_sequence(
    reference: str,
    vcf: str,
    sample: str,
    haplotype: int,
    region: str,
    options: ConsensusOptions,
) -> str:
    """One haplotype of ``sample`` over a samtools ``region`` (1-based), after input checks.

    The options are the pipeline's (``consensus.engine``, ``missing``, ``variants``,
    ``unphased``); only the requested haplotype is built.
    """
    with pysam.FastaFile(reference) as fasta:
        interval = samtools_region(region, dict(zip(fasta.references, fasta.lengths, strict=True)))
    check_vcf(
        vcf,
        reference,
        interval.chrom,
        [sample],
        region=interval,
        unphased=options.unphased,
        missing=options.missing,
    )
    sequences = window_sequences(reference, vcf, [sample], [interval], options, haplotype)
    return sequences[(sample, haplotype)][0]


# ``haplexpr sequence`` takes these bcftools consensus options, in bcftools' spelling.
HAPLOTYPE_CHOICES = ("1", "2", "1pIu", "2pIu")
SNV_INCLUDE = "type='snp'"
SUPPORTED_BCFTOOLS = (
    "-H/--haplotype 1|2|1pIu|2pIu, -M/--missing N, -i/--include \"type='snp'\" (or --snvs)"
)


class SequenceOptionError(ValueError):
    """``haplexpr sequence`` options that bcftools accepts but this command does not."""


def sequence_options(args: argparse.Namespace) -> tuple[int, str, str, str]:
    """(haplotype, missing, variants, unphased) from the bcftools-style options."""
    if args.include is not None and args.include.replace('"', "'").replace(" ", "") != SNV_INCLUDE:
        raise SequenceOptionError(
            f"-i/--include {args.include!r} is not supported by haplexpr sequence; supported: "
            f'-i "{SNV_INCLUDE}" (the seed\'s SNV-only mode, also --snvs)'
        )
    haplotype = int(args.haplotype[0])
    unphased = args.unphased or "as_listed"
    if args.haplotype.endswith("pIu"):
        if args.unphased not in (None, "iupac"):
            raise SequenceOptionError(
                f"-H {args.haplotype} writes IUPAC codes at unphased calls; it contradicts "
                f"--unphased {args.unphased} (use -H {haplotype} with it)"
            )
        unphased = "iupac"
    missing = "N" if args.missing == "N" else "reference"
    variants = "snvs" if args.snvs or args.include is not None else "all"
    return haplotype, missing, variants, unphased


def add_sequence_parser(commands) -> None:
    """``haplexpr sequence``: bcftools consensus' options, in its spelling."""
    sequence = commands.add_parser(
        "sequence", help="print one personal haplotype as FASTA", allow_abbrev=False
    )
    sequence.add_argument("-f", "--reference", required=True, help="reference FASTA (indexed)")
    sequence.add_argument("--vcf", required=True, help="phased, indexed VCF/BCF")
    sequence.add_argument("-s", "--sample", required=True, help="sample ID in the VCF")
    sequence.add_argument(
        "-H",
        "--haplotype",
        choices=HAPLOTYPE_CHOICES,
        required=True,
        help="as bcftools consensus -H: 1, 2, or 1pIu/2pIu (IUPAC codes at unphased calls)",
    )
    sequence.add_argument(
        "-M",
        "--missing",
        choices=("N",),
        help="as bcftools consensus -M N: missing alleles become N (default: the reference)",
    )
    sequence.add_argument(
        "-i", "--include", help=f'as bcftools consensus -i; only "{SNV_INCLUDE}" is supported'
    )
    sequence.add_argument("--snvs", action="store_true", help=f'SNVs only: -i "{SNV_INCLUDE}"')
    sequence.add_argument(
        "--unphased",
        choices=UNPHASED_POLICIES,
        help="unphased heterozygous calls: error, as_listed (default, as bcftools -H 1|2), "
        "iupac (as -H 1pIu|2pIu)",
    )
    sequence.add_argument(
        "--region",
        required=True,
        help="CHROM[:START[-END]], 1-based inclusive, as samtools (CHROM = whole contig)",
    )
    sequence.add_argument("--engine", choices=ENGINES, default="fast", help="default: fast")


def add_pipeline_parsers(commands) -> None:
    """The commands around a pipeline run: metrics, provenance, check, plan, predict, inspect."""
    metrics = commands.add_parser(
        "metrics", help="per-gene R across held-out individuals, every run, with the control"
    )
    metrics.add_argument(
        "metrics_dir", nargs="?", default="results/metrics", help="default: results/metrics"
    )
    provenance = commands.add_parser(
        "provenance", help="what made a pipeline output: config hash, seed, package versions"
    )
    provenance.add_argument("files", nargs="+", help="outputs under a results/ folder")
    check = commands.add_parser("check", help="check a config and the inputs it names")
    check.add_argument(
        "--configfile",
        nargs="+",
        default=["config.yaml"],
        help="default: config.yaml; several files are laid over config.yaml in order, as "
        "snakemake --configfile does (e.g. config/geuvadis.yaml config/seed.yaml)",
    )
    planned = commands.add_parser(
        "plan",
        help="jobs, forward passes, GPU-hours and disk per stage, before anything runs",
    )
    planned.add_argument(
        "--configfile", nargs="+", default=["config.yaml"], help="as for haplexpr check"
    )
    predict = commands.add_parser(
        "predict",
        help="one run's predictions for a new cohort from its VCFs (results/cohorts/...)",
    )
    predict.add_argument("--model", required=True, help="a model of the config, or elastic_net")
    predict.add_argument("--strategy", default="p", help="r, p, rp or zs (default: p)")
    predict.add_argument(
        "--cohort", default="cohort", help="a cohort of the config, or the name for --vcf-urls"
    )
    predict.add_argument("--vcf-urls", help="the cohort's VCF URL list (as data.vcf_urls)")
    predict.add_argument("--samples", help="the cohort's individuals, one ID per line")
    predict.add_argument(
        "--configfile", nargs="+", default=["config.yaml"], help="as for haplexpr check"
    )
    predict.add_argument("-o", "--output", help="also copy the genes x individuals table here")
    predict.add_argument("--snakefile", default="Snakefile", help="default: ./Snakefile")
    predict.add_argument("--profile", help="a Snakemake profile, e.g. profiles/slurm")
    predict.add_argument("--cores", type=int, default=1, help="local cores (default 1)")
    inspect = commands.add_parser("inspect", help="check a model.pt or embedding shard (.npy)")
    inspect.add_argument(
        "path", help="results/training/.../model.pt or results/embeddings/.../*.npy"
    )
    inspect.add_argument("--architecture", help="fail unless model.pt was trained for this one")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``haplexpr`` command."""
    parser = argparse.ArgumentParser(prog="haplexpr", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_sequence_parser(commands)
    add_pipeline_parsers(commands)
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command == "sequence":
        print(
            f"haplexpr sequence: {' '.join(unknown)}: not supported by haplexpr sequence; "
            f"supported: {SUPPORTED_BCFTOOLS}, --unphased error|as_listed|iupac, --engine "
            "(other bcftools consensus options such as -a, -e, -p, -m, --mark-*, -I are not)",
            file=sys.stderr,
        )
        return 2
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "metrics":
        return print_metrics(args.metrics_dir)
    if args.command == "provenance":
        return print_provenance(args.files)
    if args.command == "inspect":
        return inspect_file(args.path, args.architecture)
    if args.command == "check":
        return check_config(args.configfile)
    if args.command == "plan":
        return print_plan(args.configfile)
    if args.command == "predict":
        return predict_cohort(args)
    try:
        haplotype, missing, variants, unphased = sequence_options(args)
        options = ConsensusOptions(args.engine, variants, missing, unphased)
        seq = personal_sequence(
            args.reference, args.vcf, args.sample, haplotype, args.region, options
        )
    except (VariantInputError, ValueError, RuntimeError, OSError) as error:
        print(f"haplexpr sequence: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(f">{args.sample}_hap{haplotype} {args.region}\n")
    for i in range(0, len(seq), 60):
        sys.stdout.write(seq[i : i + 60] + "\n")
    return 0


def checked_inputs(paths: list[str]):
    """(what was read, the merged config, its checked inputs): ``paths`` over config.yaml."""
    base = ["config.yaml"] if Path("config.yaml").is_file() and "config.yaml" not in paths else []
    config: dict = {}
    for path in base + paths:
        merge_configs(config, yaml.safe_load(Path(path).read_text()) or {})
    return " + ".join(base + paths), config, check_inputs(config)


def print_plan(paths: list[str]) -> int:
    """Print :func:`haplexpr.stage_costs.plan` for config files (combined as ``check`` does)."""
    from haplexpr.cluster_resources import check_limits
    from haplexpr.stage_costs import cohort_stages, format_plan, plan

    try:
        path, config, inputs = checked_inputs(paths)
        stages = plan(config, inputs.study, len(inputs.vcf_sources))
        cohorts = {name: list(cohort.samples) for name, cohort in inputs.cohorts.items()}
        stages += cohort_stages(config, inputs.study, cohorts)
        notes = check_limits(config, inputs.study)
    except (ValueError, RuntimeError, OSError, yaml.YAMLError) as error:
        print(f"haplexpr plan: {error}", file=sys.stderr)
        return 1
    study = inputs.study
    print(
        f"{path}: {len(study.individuals)} individuals, {len(study.genes)} genes; embedded and"
        f" predicted: the reference over {len(study.reference_genes())}, individuals over"
        f" {len(study.individual_prediction_genes())} ({len(study.seen_genes())} seen +"
        f" {len(study.unseen_genes())} unseen)"
    )
    print(format_plan(stages))
    for note in notes:
        print(f"note: {note}")
    return 0


def predict_cohort(args: argparse.Namespace) -> int:
    """``haplexpr predict``: check the request and config, then run the cohort's rules."""
    from haplexpr.cohorts.command import PredictRequest, check_request, overlay, run_prediction

    request = PredictRequest(
        args.model, args.strategy, args.cohort, args.configfile, args.vcf_urls, args.samples,
        args.snakefile, args.profile, args.cores,
    )  # fmt: skip
    try:
        configfiles = overlay(request)
        _, config, _ = checked_inputs(configfiles)
        check_request(request, config)
        print(run_prediction(request, configfiles, args.output))
    except (ValueError, RuntimeError, OSError, yaml.YAMLError) as error:
        print(f"haplexpr predict: {error}", file=sys.stderr)
        return 1
    return 0


def check_config(paths: list[str]) -> int:
    """Run :func:`~haplexpr.inputs.check_inputs` on config files (paths relative to here).

    They are laid over ``config.yaml`` (where there is one) in order, key by key, as the
    Snakefile's ``configfile: "config.yaml"`` and ``snakemake --configfile`` combine them.
    """
    try:
        path, _, inputs = checked_inputs(paths)
    except (ValueError, RuntimeError, OSError, yaml.YAMLError) as error:
        print(f"haplexpr check: {error}", file=sys.stderr)
        return 1
    study = inputs.study
    print(
        f"{path}: inputs pass the start-up checks: {len(study.train_individuals)} training and "
        f"{len(study.test_individuals)} held-out individuals, {len(study.genes)} genes, VCFs "
        f"for chromosomes {', '.join(inputs.vcf_sources)}"
        + (
            f" (URL lines skipped: {len(inputs.vcf_skipped)}, {', '.join(inputs.vcf_skipped)})"
            if inputs.vcf_skipped
            else ""
        )
    )
    return 0


def inspect_file(path: str, architecture: str | None) -> int:
    """Print what ``path`` holds after the pipeline's read checks; 1 if they fail."""
    # Imported here: torch is slow to import, and the other commands do not need it.
    from haplexpr.embeddings.shards import DamagedShardError, open_shard
    from haplexpr.training.checkpoints import CheckpointError, check_architecture, read_weights

    try:
        if path.endswith(".npy"):
            array, items, _ = open_shard(path)
            people = len({item[0] for item in items})
            print(f"{path}: embeddings {'x'.join(map(str, array.shape))} (float16) of "
                  f"{len(items)} haplotype windows, {people} individuals")  # fmt: skip
            return 0
        checkpoint = read_weights(path)
        check_architecture(checkpoint, path, architecture)
    except (CheckpointError, DamagedShardError, OSError) as error:
        print(f"haplexpr inspect: {error}", file=sys.stderr)
        return 1
    weights = checkpoint["state_dict"].values()
    saved = checkpoint.get("architecture") or "unrecorded architecture"
    finetune = checkpoint.get("finetune")
    trained = f", finetune {finetune['mode']}" if finetune else ""
    print(f"{path}: {saved}{trained}, {len(weights)} tensors, "
          f"{sum(w.numel() for w in weights):,} values")  # fmt: skip
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


def print_provenance(files: list[str]) -> int:
    """Print each file's provenance record; 1 if any has none."""
    status = 0
    for file in files:
        try:
            print(describe(file))
        except ProvenanceError as error:
            print(f"haplexpr provenance: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
