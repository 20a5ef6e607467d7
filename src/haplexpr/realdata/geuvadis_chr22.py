"""A Geuvadis study on real genotypes and expression: GRCh37 chr22, from Debian packages.

Sources (each file checked by SHA-256; licences GPL-3+, see ``data/geuvadis_chr22/README.md``):

- ``qtltools-example``: 1000 Genomes phase 3 phased SNP genotypes on chr22 for 358 Geuvadis
  EUR individuals (records on ``chr22``, header contigs ``1``..``22``), Geuvadis LCL
  expression of 608 chr22 genes for the same individuals (RPKM-like, zeros included, TSS as a
  1-bp BED interval, versioned Ensembl IDs) and 53 covariates (3 genotype PCs, 50 expression
  PCs) for the same individuals.
- ``hisat2``: GRCh37 chr22:20,000,001-21,000,000, the only real chr22 bases reachable here.

Decisions, each counted in ``decisions.json`` and per gene in ``genes.tsv``:

- The reference is contig ``22`` at its GRCh37 length with the real bases at their real
  coordinates and N elsewhere; a gene is kept only if its window (``window_margin`` bp,
  the longest model input) lies wholly in the known bases, since a window of N tells a model
  nothing and the N would make every REF unverifiable there.
- Gene IDs lose their version (``ENSG00000099889.9`` -> ``ENSG00000099889``), as the seed's
  table writes them; the versioned ID stays in ``genes.tsv``.
- The target is ``log2(RPKM + 1)`` (skewed values with zeros; the seed's log TPM), then, as
  eQTL studies of these data do, regressed on the genotype PCs and the first
  ``expression_pcs`` expression PCs with the gene's mean added back (``log2_rpkm_adjusted``,
  the config's target; ``log2_rpkm`` and ``rpkm`` stay in the table).
- Genes unexpressed (RPKM 0) in more than ``max_zero_fraction`` of the study individuals, or
  constant across them, are dropped: there is no variation to predict.
- Individuals: those in the genotypes, the expression and the covariates, split at random
  (``seed``) into ``train`` and ``test`` lists; genes split likewise into ``train``/``test``,
  and every train gene trains individuals (``random_genes.txt``). The ``ref`` row's target is
  the training individuals' mean, as the seed's reference-level expression.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from haplexpr.atomic import atomic_path
from haplexpr.checksums import file_digest
from haplexpr.realdata.debian import PackageFile, extract

log = logging.getLogger(__name__)

QTLTOOLS_TARBALL = "usr/share/doc/qtltools/examples/examples.tar.xz"
GENOTYPES = PackageFile(
    "qtltools-example",
    "./genotypes.chr22.vcf.gz",
    "28ec28eede71d3bfe3ed06a5da1c818924459380ddd1ee16201f334361e345c0",
    QTLTOOLS_TARBALL,
)
EXPRESSION = PackageFile(
    "qtltools-example",
    "./genes.50percent.chr22.bed.gz",
    "fc50a0750194971d18ba28ac69f787ba10c26bd03eb204ef1cd88b3d22b28d7d",
    QTLTOOLS_TARBALL,
)
COVARIATES = PackageFile(
    "qtltools-example",
    "./genes.covariates.pc50.txt.gz",
    "a8936c43d74c657ecfbb18169c9ffc553e3d6254b48334b75580c6f142555c02",
    QTLTOOLS_TARBALL,
)
SEQUENCE = PackageFile(
    "hisat2",
    "usr/share/doc/hisat2/examples/reference/22_20-21M.fa",
    "5f20f32cf4233e45f91ad3ca2e7928a8b6594040522fe4275b876856c1d9944d",
)
#: GRCh37 chr22's length (the genotypes' header, ``##contig=<ID=22,assembly=b37,...>``).
CHR22_LENGTH = 51_304_566
CONTIG = "22"
TABLE_CONTIG = "chr22"  # the seed's table writes chrN
FASTA_WIDTH = 60


@dataclass(frozen=True)
class Chr22Design:
    """What the builder chooses; every default is the documented study's."""

    seed: int = 20261207
    train_individuals: int = 100
    test_individuals: int = 100
    test_gene_fraction: float = 0.3
    window_margin: int = 64_000
    expression_pcs: int = 10
    max_zero_fraction: float = 0.5


@dataclass
class BuildReport:
    """What a build kept and dropped, with counts (written as ``decisions.json``)."""

    design: dict
    known_region: tuple[int, int] = (0, 0)
    individuals: dict = field(default_factory=dict)
    genes: dict = field(default_factory=dict)
    expression: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    seconds: float = 0.0


def build_study(out: Path, cache: Path, design: Chr22Design = Chr22Design()) -> BuildReport:  # noqa: B008
    """Write the study's files to ``out``, taking the packages from (or into) ``cache``."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    sources = out / "sources"
    sources.mkdir(exist_ok=True)
    files = {
        f.name: extract(f, cache, sources) for f in (GENOTYPES, EXPRESSION, COVARIATES, SEQUENCE)
    }
    report = BuildReport(design=asdict(design), sources={n: str(p) for n, p in files.items()})
    start, bases = read_region_fasta(files[SEQUENCE.name])
    report.known_region = (start, start + len(bases))
    write_reference(out / "reference.fa.gz", start, bases)
    vcf = files[GENOTYPES.name]
    genotype_samples = vcf_samples(vcf)
    with atomic_path(out / "vcf_urls.txt") as tmp:
        tmp.write_text(f"file:{vcf.relative_to(out)}\t{file_digest(vcf, 'md5')}\n")
    expression = read_expression(files[EXPRESSION.name])
    covariates = read_covariates(files[COVARIATES.name])
    study = assemble(expression, covariates, genotype_samples, report, design)
    write_study(out, *study)
    report.seconds = round(time.monotonic() - started, 1)
    with atomic_path(out / "decisions.json") as tmp:
        tmp.write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def read_region_fasta(path: Path) -> tuple[int, str]:
    """0-based start and bases of a one-record FASTA headed ``>22:START-END`` (1-based)."""
    lines = path.read_text().split()
    match = re.fullmatch(r">(\w+):(\d+)-(\d+)", lines[0])
    if match is None or match[1] != CONTIG:
        raise ValueError(f"{path}: header {lines[0]!r} is not >{CONTIG}:START-END")
    bases = "".join(lines[1:]).upper()
    start, end = int(match[2]) - 1, int(match[3])
    if len(bases) != end - start or set(bases) - set("ACGTN"):
        raise ValueError(f"{path}: {len(bases)} bases for {lines[0]!r}, or letters not ACGTN")
    return start, bases


def write_reference(path: Path, start: int, bases: str) -> None:
    """Write contig 22 (bgzip, indexed): ``bases`` at ``start`` (0-based), N elsewhere."""
    sequence = "N" * start + bases + "N" * (CHR22_LENGTH - start - len(bases))
    with atomic_path(path.with_suffix("")) as plain:
        with open(plain, "w") as handle:
            handle.write(f">{CONTIG}\n")
            for offset in range(0, len(sequence), FASTA_WIDTH):
                handle.write(sequence[offset : offset + FASTA_WIDTH] + "\n")
        with atomic_path(path) as tmp:
            pysam.tabix_compress(str(plain), str(tmp), force=True)
    path.with_suffix("").unlink()
    for index in (".fai", ".gzi"):
        Path(f"{path}{index}").unlink(missing_ok=True)
    pysam.faidx(str(path))


def vcf_samples(path: Path) -> list[str]:
    """The genotype file's sample names."""
    previous = pysam.set_verbosity(0)  # no notice that the file has no index
    try:
        with pysam.VariantFile(str(path)) as vcf:
            return list(vcf.header.samples)
    finally:
        pysam.set_verbosity(previous)


def read_expression(path: Path) -> pd.DataFrame:
    """The BED of expression: one row per gene, columns chr, TSS (1-based), strand, samples."""
    bed = pd.read_csv(path, sep="\t", dtype={"#chr": str})
    bed = bed.rename(columns={"#chr": "chr"}).copy()
    # A 1-bp BED interval [start, end) at the TSS: its 1-based position is `end`.
    bed["TSS"] = bed.pop("end")
    return bed.drop(columns=["start", "length"]).set_index("gene")


def read_covariates(path: Path) -> pd.DataFrame:
    """Covariates as individuals x named covariates (genotype PCs, then expression PCs)."""
    table = pd.read_csv(path, sep=" ", index_col=0).T
    table.columns = [re.sub(r".*/", "", c) for c in table.columns]
    return table.astype(float)


def assemble(
    expression: pd.DataFrame,
    covariates: pd.DataFrame,
    genotype_samples: list[str],
    report: BuildReport,
    design: Chr22Design,
) -> tuple[pd.DataFrame, list[str], list[str], list[str], pd.DataFrame]:
    """Choose individuals and genes, transform targets: table, lists and the gene fates."""
    rng = np.random.default_rng(design.seed)
    samples = [c for c in expression.columns if c not in ("chr", "TSS", "strand")]
    usable = [s for s in samples if s in set(genotype_samples) and s in covariates.index]
    wanted = design.train_individuals + design.test_individuals
    if wanted > len(usable):
        raise ValueError(f"{wanted} individuals asked for; the data have {len(usable)}")
    chosen = rng.permutation(usable)[:wanted].tolist()
    train, test = (
        sorted(chosen[: design.train_individuals]),
        sorted(chosen[design.train_individuals :]),
    )
    report.individuals = {
        "in_expression": len(samples),
        "in_genotypes": len(genotype_samples),
        "with_genotypes_expression_and_covariates": len(usable),
        "train": len(train),
        "test": len(test),
        "unused": len(usable) - wanted,
    }
    genes = gene_fates(expression, train + test, report, design)
    kept = genes.index[genes["fate"] == "kept"].tolist()
    rpkm = expression.loc[kept, train + test].T.astype(float)  # individuals x genes
    log2 = np.log2(rpkm + 1)
    adjusted = regress_out(log2, covariates.loc[train + test], design.expression_pcs, report)
    order = rng.permutation(sorted(kept)).tolist()
    n_test = round(design.test_gene_fraction * len(order))
    split = {g: ("test" if i < n_test else "train") for i, g in enumerate(order)}
    genes.loc[kept, "split"] = [split[g] for g in kept]
    rows = []
    for gene in kept:
        info = genes.loc[gene]
        base = {"split": split[gene], "gene": info["gene"], "chr": TABLE_CONTIG,
                "TSS": int(info["TSS"]), "strand": info["strand"]}  # fmt: skip
        rows.append({**base, "sample": "ref", "rpkm": rpkm.loc[train, gene].mean(),
                     "log2_rpkm": log2.loc[train, gene].mean(),
                     "log2_rpkm_adjusted": adjusted.loc[train, gene].mean()})  # fmt: skip
        for sample in train + test:
            rows.append({**base, "sample": sample, "rpkm": rpkm.at[sample, gene],
                         "log2_rpkm": log2.at[sample, gene],
                         "log2_rpkm_adjusted": adjusted.at[sample, gene]})  # fmt: skip
    columns = ["split", "sample", "gene", "chr", "TSS", "strand", "log2_rpkm_adjusted",
               "log2_rpkm", "rpkm"]  # fmt: skip
    table = pd.DataFrame(rows)[columns]
    train_genes = sorted(genes.loc[[g for g in kept if split[g] == "train"], "gene"])
    report.genes["train"] = len(train_genes)
    report.genes["test"] = len(kept) - len(train_genes)
    return table, train, test, train_genes, genes


def gene_fates(
    expression: pd.DataFrame, individuals: list[str], report: BuildReport, design: Chr22Design
) -> pd.DataFrame:
    """Per versioned gene: unversioned ID, TSS, strand and whether (or why not) it is kept."""
    start, end = report.known_region
    half = design.window_margin // 2
    genes = expression[["chr", "TSS", "strand"]].copy()
    genes["gene"] = [g.split(".")[0] for g in genes.index]
    genes["fate"] = "kept"
    genes["split"] = ""
    values = expression[individuals].astype(float)
    # 0-based window of the longest model input around the 1-based TSS
    lo, hi = genes["TSS"] - 1 - half, genes["TSS"] - 1 + half
    outside = (hi <= start) | (lo >= end)
    partly = ~outside & ((lo < start) | (hi > end))
    zeros = (values == 0).mean(axis=1)
    constant = values.std(axis=1) == 0
    duplicated = genes["gene"].duplicated()
    for reason, mask in (
        ("not on chr22", genes["chr"] != TABLE_CONTIG),
        ("window wholly outside the known reference bases", outside),
        ("window partly outside the known reference bases", partly),
        ("duplicate gene ID once the version is removed", duplicated),
        (
            f"RPKM 0 in more than {design.max_zero_fraction:.0%} of individuals",
            zeros > design.max_zero_fraction,
        ),  # fmt: skip
        ("constant across individuals", constant),
    ):
        undecided = mask & (genes["fate"] == "kept")
        genes.loc[undecided, "fate"] = reason
        report.genes[f"dropped: {reason}"] = int(undecided.sum())
    report.genes["in_expression"] = len(genes)
    report.genes["versioned_ids_renamed"] = int((genes.index != genes["gene"]).sum())
    report.genes["kept"] = int((genes["fate"] == "kept").sum())
    kept = genes["fate"] == "kept"
    report.expression = {
        "zero_values_in_kept_genes": int((values[kept] == 0).to_numpy().sum()),
        "values_in_kept_genes": int(values[kept].size),
        "transform": "log2(RPKM + 1)",
    }
    for reason, count in report.genes.items():
        if reason.startswith("dropped") and count:
            log.info("%s: %d genes", reason, count)
    return genes


def regress_out(
    values: pd.DataFrame, covariates: pd.DataFrame, expression_pcs: int, report: BuildReport
) -> pd.DataFrame:
    """Residuals of ``values`` (individuals x genes) on genotype and expression PCs, plus means.

    The genotype PCs capture ancestry, the expression PCs batch and cell-state effects
    shared by many genes; neither is a cis effect a sequence model could read.
    """
    genotype = [c for c in covariates.columns if c.startswith("genotypes_")]
    pcs = [c for c in covariates.columns if c.startswith("genes_")][:expression_pcs]
    design = np.column_stack([np.ones(len(values)), covariates[genotype + pcs].to_numpy()])
    beta, *_ = np.linalg.lstsq(design, values.to_numpy(), rcond=None)
    residual = values.to_numpy() - design @ beta + values.to_numpy().mean(axis=0)
    report.expression["covariates"] = genotype + pcs
    return pd.DataFrame(residual, index=values.index, columns=values.columns)


def write_study(
    out: Path,
    table: pd.DataFrame,
    train: list[str],
    test: list[str],
    train_genes: list[str],
    genes: pd.DataFrame,
) -> None:
    """Write the partition table, the three lists and the per-gene fates."""
    with atomic_path(out / "all_partition_data.csv.gz") as tmp:
        with gzip.GzipFile(tmp, "wb", mtime=0) as handle:
            handle.write(table.to_csv(index=False, float_format="%.6f").encode())
    for name, ids in (
        ("train_indivs.txt", train),
        ("test_indivs.txt", test),
        ("random_genes.txt", train_genes),
    ):
        with atomic_path(out / name) as tmp:
            tmp.write_text("".join(f"{i}\n" for i in ids))
    with atomic_path(out / "genes.tsv") as tmp:
        genes.rename_axis("gene_version").reset_index().to_csv(tmp, sep="\t", index=False)
