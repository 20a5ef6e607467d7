"""Start-up checks of every input a run reads, before Snakemake builds its DAG.

``rules/common.smk`` and ``haplexpr check`` call :func:`check_inputs`: the config against
its schema, the files it names, the study tables against theirs, the VCF URL list, and the
reference (a current index, every gene's contig and TSS on it). What needs a pass over the
data (the VCFs, the reference's bases) is checked by the rules that read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from haplexpr.cohorts.inputs import Cohort, read_cohorts
from haplexpr.config import check_input_files, reference_fasta, validate_config
from haplexpr.consensus_settings import ConsensusSettings
from haplexpr.reference import check_reference
from haplexpr.study.design import Study
from haplexpr.study.genes import StudyTableError, gene_windows
from haplexpr.vcf.sources import VcfSource, parse_url_list


@dataclass(frozen=True)
class Inputs:
    """What the checks read: the study, its VCF sources, URL lines skipped, new cohorts."""

    study: Study
    vcf_sources: dict[str, VcfSource]
    vcf_skipped: tuple[str, ...] = ()
    cohorts: dict[str, Cohort] = field(default_factory=dict)


def check_inputs(
    config: dict, root: str | Path = ".", cache_dir: str | Path | None = None
) -> Inputs:
    """Validate ``config`` and the inputs it names (relative to ``root``).

    ``cache_dir``: where the checked partition table is cached between runs.
    """
    validate_config(config)
    check_input_files(config, root)
    study = Study.from_config(config, root, cache_dir)
    reference = reference_fasta(config)
    if reference == config["data"]["reference"]:  # a local file; a URL's is checked on fetch
        lengths = check_reference(Path(root) / reference)
        try:
            gene_windows(
                study.genes,
                lengths,
                ConsensusSettings.from_config(config).window_length,
                config["data"]["tss_coordinate_base"],
            )
        except StudyTableError as error:
            raise StudyTableError(
                f"{config['data']['partition_table']}: {error} (reference {reference})"
            ) from error
    data = config["data"]
    urls = parse_url_list(
        Path(root) / data["vcf_urls"], data["vcf_chromosome_pattern"], data["vcf_unmatched_urls"]
    )
    sources = {source.chrom: source for source in urls.sources}
    cohorts = read_cohorts(config, list(sources), root)
    return Inputs(study, sources, tuple(urls.skipped), cohorts)
