"""A cohort's config entry read and checked at start-up: its VCF sources and its individuals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from haplexpr.download import DownloadError
from haplexpr.errors import ConfigError
from haplexpr.study.design import REFERENCE_INDIVIDUAL
from haplexpr.study.genes import StudyTableError, read_id_list
from haplexpr.vcf.sources import VcfSource, parse_url_list


@dataclass(frozen=True)
class Cohort:
    """One new cohort: a VCF per chromosome (the study's chromosomes) and its individuals."""

    name: str
    vcf_sources: dict[str, VcfSource]
    samples: tuple[str, ...]


def read_cohorts(
    config: dict, study_chromosomes: list[str], root: str | Path = "."
) -> dict[str, Cohort]:
    """Every ``cohorts`` entry, its files read; errors name the key, the file and the fix.

    A cohort needs a VCF for each chromosome the study's VCFs cover (the genes' windows lie
    there) and none other, and individual names other than the reference's.
    """
    data = config["data"]
    cohorts = {}
    for name, entry in config["cohorts"].items():
        key = f"cohorts.{name}"
        paths = {field: Path(root) / entry[field] for field in ("vcf_urls", "samples")}
        for field, path in paths.items():
            if not path.is_file():
                raise ConfigError(
                    f"config {key}.{field}: no such file {entry[field]!r} (relative to "
                    f"{Path(root).resolve()}); fix the path in the config file"
                )
        try:
            urls = parse_url_list(
                paths["vcf_urls"], data["vcf_chromosome_pattern"], data["vcf_unmatched_urls"]
            )
            samples = read_id_list(paths["samples"])
        except (DownloadError, StudyTableError) as error:
            raise ConfigError(f"config {key}: {error}") from error
        sources = {source.chrom: source for source in urls.sources}
        missing = [c for c in study_chromosomes if c not in sources]
        extra = sorted(set(sources) - set(study_chromosomes))
        if missing or extra:
            raise ConfigError(
                f"config {key}.vcf_urls ({entry['vcf_urls']}): chromosomes "
                f"{sorted(sources)}, the study's VCFs {sorted(study_chromosomes)}"
                + (f"; add a VCF for {missing}" if missing else "")
                + (f"; drop the lines for {extra}" if extra else "")
            )
        if REFERENCE_INDIVIDUAL in samples:
            raise ConfigError(
                f"config {key}.samples ({entry['samples']}): {REFERENCE_INDIVIDUAL!r} is "
                "reserved for the reference genome; rename that individual"
            )
        cohorts[name] = Cohort(name, sources, tuple(samples))
    return cohorts
