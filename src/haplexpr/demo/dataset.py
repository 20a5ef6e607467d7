"""A small, deterministic synthetic dataset shaped like the seed study's inputs.

The demo lets the whole pipeline run in minutes on a laptop and gives tests a known answer:
expression depends on how many copies of an activator motif (by default the palindromic
``TGACGTCA``) each haplotype carries near the TSS, and common *causal* SNVs create or break
copies. A model that reads personal sequence can therefore learn real cross-individual
variation, and one that cannot is caught out.

The design (seed, motif, effect size, noise, numbers of genes and individuals) is a
:class:`DemoDesign`; its defaults give the committed ``data/demo`` files. Copies are always
counted on the + strand of the reference/haplotype. A non-palindromic motif therefore reaches
a model as the motif on + strand genes but as its reverse complement on - strand genes (the
pipeline reverse-complements their windows), so a model must learn both orientations.

Files mirror the seed's formats (Geuvadis-like per-chromosome VCFs with contigs ``1``/``2``, a
GRCh37-style FASTA, the long ``all_partition_data.csv.gz`` table with ``chrN`` names and 1-based
TSSs, sample and gene lists), plus ``truth.tsv`` with the planted signal. Everything is drawn
from one seed and written byte-identically on every run (gzip mtime 0, BGZF, fixed ordering).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
from pysam.libcbgzf import BGZFile

MU_MEAN, MU_SD = 3.0, 0.7
MOTIF_RADIUS = 300  # motifs are counted when fully inside [TSS - 300, TSS + 300] (1-based)
MOTIF_MARGIN = 10  # planted copies stay this far inside the counted region
MOTIF_SPACING = 20  # minimum distance between planted copy starts
BACKGROUND_EXCLUSION = 400  # no background variant touches [TSS - 400, TSS + 400]
MASK_MIN_DISTANCE = 3_000  # lowercase and N stay at least this far from every TSS
TSS_END_MARGIN = 10_000
VARIANT_SPACING = 250  # about one background variant per 250 bp
INDEL_FRACTION = 0.12
INDEL_LENGTH_WEIGHTS = np.array([0.35, 0.18, 0.12, 0.09, 0.07, 0.06, 0.04, 0.04, 0.03, 0.02])
BASE_PROBS = np.array([0.295, 0.205, 0.205, 0.295])  # A C G T: 41% GC
BASES = "ACGT"
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}

# Reference design the proportions below are taken from: 60 genes, 35 on contig 1 (700,037 bp)
# and 25 on contig 2 (500,011 bp); 40 individuals, 20 HG + 8 CEU-like + 12 YRI-like.
_CONTIG_TEMPLATE = (("1", 700_037, 35), ("2", 500_011, 25))
_ID_RANGES = (("HG", 96, 400), ("NA", 6_984, 12_900), ("NA", 18_486, 19_260))
_MAX_GENES = 200_000  # size of the gene-number pool


def _scaled(n: int, num: int, den: int) -> int:
    """``n * num / den`` rounded half up, in exact integer arithmetic."""
    return (2 * n * num + den) // (2 * den)


@functools.cache
def _has_border(motif: str) -> bool:
    """Whether a proper prefix of ``motif`` equals a suffix (copies could overlap)."""
    return any(motif[:k] == motif[-k:] for k in range(1, len(motif)))


@dataclass(frozen=True)
class DemoDesign:
    """What a user may vary in the demo dataset; the defaults give the committed data/demo.

    ``motif``: 6-12 ACGT bases, upper-cased. Copies are counted on the + strand (see the
    module docstring for what that means for - strand genes) as the number of positions where
    the motif starts, so overlapping copies of a self-overlapping motif (``AAAAAA``,
    ``GATAAG``) each count. ``effect``: log_TPM per motif copy of haplotype dosage (mean of
    the two haplotypes' counts); may be negative (a repressor) or 0 (no signal).
    ``noise_sd``: standard deviation of the Gaussian noise on log_TPM. ``n_genes`` (>= 4) and
    ``n_individuals`` (>= 4): sizes; the derived numbers (properties below) keep the reference
    design's proportions, rounded half up, so the defaults give exactly 35/25 genes per
    contig, 15 test genes, 36 individual-level genes, 8 genes without causal variants and 24
    training individuals.
    """

    seed: int = 20261125
    motif: str = "TGACGTCA"
    effect: float = 1.0
    noise_sd: float = 0.25
    n_genes: int = 60
    n_individuals: int = 40

    def __post_init__(self) -> None:
        """Normalise the motif and refuse designs the generator cannot honour."""
        motif = str(self.motif).upper()
        object.__setattr__(self, "motif", motif)
        object.__setattr__(self, "effect", float(self.effect))
        object.__setattr__(self, "noise_sd", float(self.noise_sd))
        if not (6 <= len(motif) <= 12) or set(motif) - set(BASES):
            raise ValueError(f"motif must be 6-12 bases of ACGT, got {self.motif!r}")
        for name in ("seed", "n_genes", "n_individuals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not 4 <= self.n_genes <= _MAX_GENES:
            raise ValueError(f"n_genes must be between 4 and {_MAX_GENES}, got {self.n_genes}")
        if self.n_individuals < 4:
            raise ValueError(f"n_individuals must be >= 4, got {self.n_individuals}")
        if not math.isfinite(self.effect):
            raise ValueError(f"effect must be finite, got {self.effect}")
        if not (math.isfinite(self.noise_sd) and self.noise_sd >= 0):
            raise ValueError(f"noise_sd must be finite and >= 0, got {self.noise_sd}")

    @property
    def n_haplotypes(self) -> int:
        """Two haplotypes per individual."""
        return 2 * self.n_individuals

    @property
    def n_train_individuals(self) -> int:
        """60% of the individuals (24 of 40)."""
        return _scaled(self.n_individuals, 3, 5)

    @property
    def n_test_genes(self) -> int:
        """25% of the genes (15 of 60)."""
        return _scaled(self.n_genes, 1, 4)

    @property
    def n_individual_genes(self) -> int:
        """80% of the train genes (36 of 45): the genes for individual-level training."""
        return _scaled(self.n_genes - self.n_test_genes, 4, 5)

    @property
    def n_genes_without_causal(self) -> int:
        """8/60 of the genes (about 13%) get no causal variant."""
        return _scaled(self.n_genes, 2, 15)

    @property
    def contigs(self) -> tuple[tuple[str, int, int], ...]:
        """(name, length, number of genes) per contig.

        Genes are split 35:25 over contigs ``1`` and ``2``; each length keeps the reference
        design's TSS slot width (so the defaults are exactly 700,037 and 500,011 bp), and is
        bumped by one base if it would be a multiple of the 60-bp FASTA line.
        """
        n1 = _scaled(self.n_genes, 35, 60)
        out = []
        for (name, length, n_ref), n in zip(_CONTIG_TEMPLATE, (n1, self.n_genes - n1), strict=True):
            inner = length - 2 * TSS_END_MARGIN
            new = 2 * TSS_END_MARGIN + _scaled(n, inner, n_ref)
            out.append((name, new + 1 if new % 60 == 0 else new, n))
        return tuple(out)

    @property
    def id_counts(self) -> tuple[int, int, int]:
        """Numbers of HG, CEU-like and YRI-like individuals (20/8/12 of 40)."""
        hg = _scaled(self.n_individuals, 1, 2)
        ceu = _scaled(self.n_individuals, 1, 5)
        return hg, ceu, self.n_individuals - hg - ceu

    def is_default(self, ignore_seed: bool = False) -> bool:
        """Whether every field (but ``seed`` if ``ignore_seed``) has its default value."""
        default = DemoDesign()
        names = [f.name for f in dataclasses.fields(self) if not (ignore_seed and f.name == "seed")]
        return all(getattr(self, n) == getattr(default, n) for n in names)

    def describe(self) -> str:
        """``key=value`` text for the VCF ``##source`` header.

        Only ``seed=...`` when every other field is default (today's exact header), else all
        fields.
        """
        if self.is_default(ignore_seed=True):
            return f"seed={self.seed}"
        return ",".join(f"{k}={v}" for k, v in self.as_fields())

    def as_fields(self) -> list[tuple[str, str]]:
        """The fields as (name, text) pairs, in declaration order."""
        return [(f.name, f"{getattr(self, f.name)}") for f in dataclasses.fields(self)]


@dataclass
class Variant:
    """One bi-allelic record; ``haps`` holds 2 alleles per individual (hap1, hap2, ...)."""

    chrom: str
    pos: int  # 1-based VCF POS
    ref: str
    alt: str
    haps: np.ndarray = field(repr=False)
    vid: str = "."

    @property
    def end(self) -> int:
        """Last reference base (1-based, inclusive) covered by REF."""
        return self.pos + len(self.ref) - 1

    @property
    def label(self) -> str:
        """``chrom:pos:ref:alt`` as written to truth.tsv."""
        return f"{self.chrom}:{self.pos}:{self.ref}:{self.alt}"


@dataclass
class Gene:
    """One gene: its TSS (1-based), strand and planted cis signal."""

    gene_id: str
    chrom: str
    tss: int
    strand: str
    causal: list[Variant] = field(default_factory=list)
    n_motifs_ref: int = 0
    split: str = "train"


DEFAULT_DESIGN = DemoDesign()

#: How far each run's held-out-individual, seen-gene mean per-gene R must clear the 95th
#: percentile of its shuffled-expression control on the demo (asserted by the test suite,
#: checked over training seeds, datasets and CPU kernels by benchmarks/demo_robustness.py).
DEMO_MARGINS: dict[str, float] = {
    "enformer/p": 0.15,
    "enformer/rp": 0.15,
    "borzoi/p": 0.15,
    "borzoi/rp": 0.15,
    "nt/p": 0.05,
    "elastic_net/p": 0.3,
}


def write_demo_dataset(
    out_dir: Path, design: DemoDesign = DEFAULT_DESIGN, *, seed: int | None = None
) -> None:
    """Write the demo dataset for ``design`` into ``out_dir`` (files in data/demo/README.md).

    ``seed``, if given, replaces ``design.seed`` (kept for callers of the old signature).
    """
    if seed is not None:
        design = dataclasses.replace(design, seed=seed)
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(design.seed).spawn(8)
    rng_samples, rng_genes, rng_ref, rng_motif, rng_mask, rng_var, rng_expr, rng_split = (
        np.random.default_rng(s) for s in streams
    )
    n_haps = design.n_haplotypes

    individuals = _individual_ids(rng_samples, design)
    genes = _place_genes(rng_genes, design)
    picked = rng_motif.choice(len(genes), size=design.n_genes_without_causal, replace=False)
    no_causal = {genes[int(k)].gene_id for k in picked}
    sequences: dict[str, np.ndarray] = {}
    variants: dict[str, list[Variant]] = {}
    for name, length, _ in design.contigs:
        contig_genes = [g for g in genes if g.chrom == name]
        seq = _random_bases(rng_ref, length)
        for gene in contig_genes:
            has_causal = gene.gene_id not in no_causal
            _plant_motifs(rng_motif, seq, gene, has_causal, design.motif, n_haps)
        _mask(rng_mask, seq, [g.tss for g in contig_genes], name)
        sequences[name] = seq
        causal = [v for g in contig_genes for v in g.causal]
        tss = [g.tss for g in contig_genes]
        background = _background_variants(rng_var, seq, name, tss, n_haps)
        variants[name] = sorted(background + causal, key=lambda v: v.pos)
        _check_variants(seq, variants[name])
        _assign_ids(rng_var, variants[name])

    counts = np.stack(
        [_haplotype_counts(sequences[g.chrom], g, design.motif, n_haps) for g in genes]
    )  # genes x haplotypes
    dosage = design.effect * (counts[:, 0::2] + counts[:, 1::2]) / 2.0  # genes x individuals
    mu = rng_expr.normal(MU_MEAN, MU_SD, size=len(genes))
    noise = rng_expr.normal(0.0, design.noise_sd, size=(len(genes), design.n_individuals + 1))
    ref_level = design.effect * np.array([g.n_motifs_ref for g in genes], dtype=float)
    log_tpm = mu[:, None] + np.column_stack([ref_level, dosage]) + noise  # column 0 = ref

    order = rng_split.permutation(len(genes))
    for k in order[: design.n_test_genes]:
        genes[k].split = "test"
    train_genes = [g.gene_id for g in genes if g.split == "train"]
    chosen = set(
        rng_split.choice(train_genes, size=design.n_individual_genes, replace=False).tolist()
    )
    individual_genes = [g for g in train_genes if g in chosen]
    train_ind = set(
        rng_split.choice(individuals, size=design.n_train_individuals, replace=False).tolist()
    )

    _write_fasta(out_dir / "reference.fa", sequences)
    url_lines = []
    for name, _, _ in design.contigs:
        rel = f"vcf/demo.chr{name}.vcf.gz"
        _write_vcf(out_dir / rel, name, variants[name], individuals, design)
        md5 = hashlib.md5((out_dir / rel).read_bytes()).hexdigest()
        url_lines.append(f"file:{rel}\t{md5}")
    _write_text(out_dir / "vcf_urls.txt", url_lines)
    _write_partition_table(out_dir / "all_partition_data.csv.gz", genes, individuals, log_tpm)
    _write_text(out_dir / "train_indivs.txt", [s for s in individuals if s in train_ind])
    _write_text(out_dir / "test_indivs.txt", [s for s in individuals if s not in train_ind])
    _write_text(out_dir / "random_genes.txt", individual_genes)
    _write_truth(out_dir / "truth.tsv", genes, dosage, design)


def motif_count(seq: str, motif: str = DEFAULT_DESIGN.motif) -> int:
    """Count copies of ``motif`` on the + strand of ``seq`` (upper-cased), overlaps included.

    For a motif that cannot overlap itself (such as the default) this is ``str.count``.
    """
    seq = seq.upper()
    if not _has_border(motif):
        return seq.count(motif)
    return sum(1 for _ in re.finditer(f"(?={motif})", seq))


def _individual_ids(rng: np.random.Generator, design: DemoDesign) -> list[str]:
    """Draw unique Geuvadis-like IDs (1000 Genomes ``HG00xxx``, Coriell ``NA0/NA1xxxx``).

    The fixed ID ranges are widened (and the YRI-like range shifted up past the CEU-like one)
    only when a range holds fewer numbers than the individuals drawn from it.
    """
    ids: list[str] = []
    floor = 0
    for (prefix, lo, hi), n in zip(_ID_RANGES, design.id_counts, strict=True):
        if prefix == "NA":
            shift = max(0, floor - lo)
            lo, hi = lo + shift, hi + shift
        hi = max(hi, lo + n)
        ids += [f"{prefix}{k:05d}" for k in rng.choice(np.arange(lo, hi), size=n, replace=False)]
        if prefix == "NA":
            floor = hi
    return sorted(ids)


def _place_genes(rng: np.random.Generator, design: DemoDesign) -> list[Gene]:
    """Place TSSs one per equal slot so they are >= 10 kb from each other and contig ends."""
    total = design.n_genes
    numbers = rng.choice(np.arange(100_000, 100_000 + _MAX_GENES), size=total, replace=False)
    strands = rng.permutation(["+"] * (total // 2) + ["-"] * (total - total // 2))
    genes: list[Gene] = []
    for name, length, n in design.contigs:
        edges = np.linspace(TSS_END_MARGIN, length - TSS_END_MARGIN, n + 1)
        half_gap = TSS_END_MARGIN // 2
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            tss = int(rng.integers(int(lo) + half_gap, int(hi) - half_gap + 1))
            k = len(genes)
            genes.append(Gene(f"ENSG00000{numbers[k]:06d}", name, tss, str(strands[k])))
    return genes


def _random_bases(rng: np.random.Generator, length: int) -> np.ndarray:
    """Draw an upper-case ASCII sequence with ~41% GC."""
    codes = np.frombuffer(BASES.encode(), dtype=np.uint8)
    return codes[rng.choice(4, size=length, p=BASE_PROBS)]


def _plant_motifs(
    rng: np.random.Generator,
    seq: np.ndarray,
    gene: Gene,
    has_causal: bool,
    motif: str,
    n_haps: int,
) -> None:
    """Plant 1-3 motif copies (and near-copies for 'complete' variants) around the TSS.

    Causal SNVs either break a planted copy (a central base changed: 0-based positions 3-4 of an
    8-mer, the middle one or two in general) or complete a planted near-copy with one
    mismatch at an inner position (not the first or last base). The local background is
    redrawn until the reference count and each SNV's effect are exactly as designed, so
    truth.tsv needs no caveats.
    """
    size = len(motif)
    motif_codes = np.frombuffer(motif.encode(), dtype=np.uint8)
    t0 = gene.tss - 1
    lo, hi = t0 - MOTIF_RADIUS, t0 + MOTIF_RADIUS + 1  # 0-based slice of the counted region
    n_full = int(rng.integers(1, 4))
    kinds: list[str] = []
    if has_causal:
        kinds = ["break" if rng.random() < 0.5 else "complete" for _ in range(rng.integers(1, 3))]
        while kinds.count("break") > n_full:
            kinds[kinds.index("break")] = "complete"
    n_near = kinds.count("complete")
    while True:
        seq[lo - 10 : hi + 10] = _random_bases(rng, hi - lo + 20)
        starts = _spaced_starts(rng, t0, n_full + n_near, size)
        full, near = starts[:n_full], starts[n_full:]
        snvs: list[tuple[int, str, str, int]] = []  # (0-based pos, ref, alt, expected delta)
        for s in full:
            seq[s : s + size] = motif_codes
        for s in near:
            j = int(rng.integers(1, size - 1))
            other = [b for b in BASES if b != motif[j]]
            wrong = other[int(rng.integers(3))]
            seq[s : s + size] = np.frombuffer(
                (motif[:j] + wrong + motif[j + 1 :]).encode(), np.uint8
            )
            snvs.append((s + j, wrong, motif[j], +1))
        for s in full[: kinds.count("break")]:
            j = int(rng.integers((size - 1) // 2, size // 2 + 1))
            alt = [b for b in BASES if b != motif[j]][int(rng.integers(3))]
            snvs.append((s + j, motif[j], alt, -1))
        region = seq[lo:hi].tobytes().decode()
        if motif_count(region, motif) != n_full:
            continue
        ok = True
        for pos, _, alt, delta in snvs:
            k = pos - lo
            if motif_count(region[:k] + alt + region[k + 1 :], motif) - n_full != delta:
                ok = False
        mutated = list(region)
        for pos, _, alt, _ in snvs:
            mutated[pos - lo] = alt
        if ok and motif_count("".join(mutated), motif) - n_full == sum(d for *_, d in snvs):
            break
    gene.n_motifs_ref = n_full
    for pos, ref, alt, _ in sorted(snvs):
        gene.causal.append(Variant(gene.chrom, pos + 1, ref, alt, _causal_haps(rng, n_haps)))


def _spaced_starts(rng: np.random.Generator, t0: int, n: int, size: int) -> list[int]:
    """Draw ``n`` motif starts (0-based) >= 10 bp inside the counted region, >= 20 bp apart."""
    first = t0 - MOTIF_RADIUS + MOTIF_MARGIN
    last = t0 + MOTIF_RADIUS - MOTIF_MARGIN - size + 1  # copy ends 10 bp before the edge
    while True:
        starts = rng.integers(first, last + 1, size=n)
        ordered = np.sort(starts)
        if n == 1 or np.min(np.diff(ordered)) >= MOTIF_SPACING:
            return [int(s) for s in starts]


def _causal_haps(rng: np.random.Generator, n_haps: int) -> np.ndarray:
    """Give a causal SNV a common ALT frequency (0.25-0.6) so its gene varies across people."""
    k = int(round(rng.uniform(0.25, 0.6) * n_haps))
    haps = np.zeros(n_haps, dtype=np.uint8)
    haps[rng.choice(n_haps, size=k, replace=False)] = 1
    return haps


def _background_haps(rng: np.random.Generator, n_haps: int) -> np.ndarray:
    """Sample haplotypes from a skewed frequency spectrum (mostly rare, some common)."""
    freq = float(np.clip(rng.beta(0.3, 1.5), 1 / n_haps, 0.95))
    haps = (rng.random(n_haps) < freq).astype(np.uint8)
    if haps.sum() == 0:
        haps[rng.integers(n_haps)] = 1
    elif haps.sum() == n_haps:
        haps[rng.integers(n_haps)] = 0
    return haps


def _mask(rng: np.random.Generator, seq: np.ndarray, tss: list[int], name: str) -> None:
    """Add soft-masked stretches and N runs, >= 3 kb from every TSS.

    One stretch of each kind is put 3.1-3.9 kb from a TSS, inside that gene's 8,192-bp
    window, so the pipeline meets lowercase and N bases in real windows.
    """
    tss0 = np.array(tss) - 1

    def far_enough(a: int, b: int) -> bool:
        return bool(np.all((tss0 < a - MASK_MIN_DISTANCE) | (tss0 >= b + MASK_MIN_DISTANCE)))

    def random_interval(length: int) -> tuple[int, int]:
        while True:
            a = int(rng.integers(100, len(seq) - length - 100))
            if far_enough(a, a + length):
                return a, a + length

    lower = [random_interval(int(rng.integers(200, 2500))) for _ in range(4 if name == "1" else 3)]
    n_runs = [random_interval(int(rng.integers(200, 500)))]
    g = int(rng.integers(len(tss0)))
    if name == "1":
        lower.append((int(tss0[g]) + 3100, int(tss0[g]) + 3700))
    else:
        n_runs.append((int(tss0[g]) - 3900, int(tss0[g]) - 3600))
    for a, b in lower:
        assert far_enough(a, b)
        seq[a:b] = np.where(seq[a:b] == ord("N"), seq[a:b], seq[a:b] | 0x20)
    for a, b in n_runs:
        assert far_enough(a, b)
        seq[a:b] = ord("N")


def _background_variants(
    rng: np.random.Generator, seq: np.ndarray, name: str, tss: list[int], n_haps: int
) -> list[Variant]:
    """Draw normalised SNVs and short indels, not touching N, TSS +-400 bp or each other."""
    upper = seq & ~np.uint8(0x20)  # upper-case view; 'N' stays 'N'
    forbid = upper == ord("N")
    for t in tss:
        forbid[t - 1 - BACKGROUND_EXCLUSION : t + BACKGROUND_EXCLUSION] = True
    n_cand = int(len(seq) / VARIANT_SPACING * 1.07)
    candidates = np.sort(rng.choice(np.arange(1, len(seq) - 20), size=n_cand, replace=False))
    out: list[Variant] = []
    next_free = 0  # first 0-based position a new record may start at (>= 1 bp gap)
    for p in (int(c) for c in candidates):
        if p < next_free or forbid[p]:
            continue
        ref_base = chr(upper[p])
        ref, alt = ref_base, ""
        if rng.random() < INDEL_FRACTION:
            k = 1 + int(rng.choice(10, p=INDEL_LENGTH_WEIGHTS / INDEL_LENGTH_WEIGHTS.sum()))
            if rng.random() < 0.5:  # insertion: left-aligned iff last inserted base != anchor
                ins = "".join(BASES[i] for i in rng.integers(4, size=k))
                if ins[-1] == ref_base:
                    ins = ins[:-1] + TRANSITION[ref_base]
                alt = ref_base + ins
            else:  # deletion: left-aligned iff last deleted base != anchor; shrink until valid
                while k >= 1:
                    span = upper[p : p + k + 1]
                    if not forbid[p : p + k + 1].any() and span[-1] != span[0]:
                        ref, alt = span.tobytes().decode(), ref_base
                        break
                    k -= 1
        if not alt:
            if rng.random() < 2 / 3:
                alt = TRANSITION[ref_base]
            else:
                alt = [b for b in BASES if b not in (ref_base, TRANSITION[ref_base])][
                    int(rng.integers(2))
                ]
        out.append(Variant(name, p + 1, ref, alt, _background_haps(rng, n_haps)))
        next_free = p + len(ref) + 1
    return out


def _assign_ids(rng: np.random.Generator, variants: list[Variant]) -> None:
    """Give ~80% of records unique rsID-like IDs and leave the rest ``.`` as in real VCFs."""
    ids = 1_000_000 + rng.choice(199_000_000, size=len(variants), replace=False)
    named = rng.random(len(variants)) < 0.8
    for v, rs, has_id in zip(variants, ids, named, strict=True):
        v.vid = f"rs{rs}" if has_id else "."


def _check_variants(seq: np.ndarray, variants: list[Variant]) -> None:
    """Fail loudly if any record breaks the promised invariants (REF, order, no overlap)."""
    for prev, cur in zip(variants, variants[1:], strict=False):
        assert cur.pos > prev.end + 1, (prev.label, cur.label)
    for v in variants:
        assert seq[v.pos - 1 : v.end].tobytes().decode().upper() == v.ref, v.label
        assert "N" not in v.ref and v.ref != v.alt, v.label
        assert len(v.ref) == len(v.alt) == 1 or v.ref[0] == v.alt[0], v.label


def _haplotype_counts(seq: np.ndarray, gene: Gene, motif: str, n_haps: int) -> np.ndarray:
    """Motif count in [TSS - 300, TSS + 300] on each haplotype (causal SNVs applied)."""
    lo, hi = gene.tss - 1 - MOTIF_RADIUS, gene.tss + MOTIF_RADIUS
    region = seq[lo:hi].tobytes().decode().upper()
    counts = np.empty(n_haps, dtype=np.int64)
    for h in range(n_haps):
        hap = list(region)
        for v in gene.causal:
            assert len(v.ref) == len(v.alt) == 1 and lo <= v.pos - 1 < hi
            if v.haps[h]:
                hap[v.pos - 1 - lo] = v.alt
        counts[h] = motif_count("".join(hap), motif)
    return counts


def _write_fasta(path: Path, sequences: dict[str, np.ndarray]) -> None:
    """Write 60-bp lines with hs37d5-style headers, then index with samtools faidx."""
    with open(path, "wb") as fh:
        for name, seq in sequences.items():
            fh.write(f">{name} dna:chromosome chromosome:DEMO:{name}:1:{len(seq)}:1\n".encode())
            raw = seq.tobytes()
            fh.write(b"".join(raw[i : i + 60] + b"\n" for i in range(0, len(raw), 60)))
    pysam.faidx(str(path))


def _write_vcf(
    path: Path, name: str, variants: list[Variant], individuals: list[str], design: DemoDesign
) -> None:
    """Write a bgzipped VCFv4.2 (BGZF with EOF block, no index) with phased genotypes.

    ``##source`` records the design: ``haplexpr.demo.dataset(seed=...)`` when only the seed may
    differ from the defaults, every field otherwise.
    """
    n_haps = design.n_haplotypes
    contigs = design.contigs
    af_text = f"ALT allele frequency in the {design.n_individuals} samples"
    lines = [
        "##fileformat=VCFv4.2",
        f"##source=haplexpr.demo.dataset({design.describe()})",
        "##reference=reference.fa",
        *(f"##contig=<ID={c},length={length},assembly=DEMO>" for c, length, _ in contigs),
        f'##INFO=<ID=AF,Number=A,Type=Float,Description="{af_text}">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(individuals),
    ]
    for v in variants:
        gts = "\t".join(f"{a}|{b}" for a, b in zip(v.haps[0::2], v.haps[1::2], strict=True))
        af = f"{int(v.haps.sum()) / n_haps:g}"
        fields = [name, str(v.pos), v.vid, v.ref, v.alt, ".", "PASS", f"AF={af}", "GT"]
        lines.append("\t".join(fields) + "\t" + gts)
    with BGZFile(str(path), "wb") as fh:
        fh.write(("\n".join(lines) + "\n").encode())


def _write_partition_table(
    path: Path, genes: list[Gene], individuals: list[str], log_tpm: np.ndarray
) -> None:
    """Write the seed's long table: gene-level split, ``chrN`` names, 1-based TSS."""
    rows = ["split,sample,gene,chr,TSS,strand,log_TPM"]
    for g, values in zip(genes, log_tpm, strict=True):
        for sample, value in zip(["ref", *individuals], values, strict=True):
            fields = [g.split, sample, g.gene_id, f"chr{g.chrom}", str(g.tss), g.strand]
            rows.append(",".join(fields) + f",{value:.6f}")
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(("\n".join(rows) + "\n").encode())


def _write_truth(path: Path, genes: list[Gene], dosage: np.ndarray, design: DemoDesign) -> None:
    """Write the planted signal per gene; genetic variance is across the individuals.

    For a non-default design (any field changed, ``seed`` included) the design's fields are
    added as trailing constant columns ``seed, motif, effect, noise_sd, n_genes,
    n_individuals``; the default design keeps today's columns so the committed file is
    unchanged.
    """
    extra = [] if design.is_default() else design.as_fields()
    header = [
        "gene",
        "chrom",
        "tss",
        "strand",
        "split",
        "n_motifs_ref",
        "n_causal_variants",
        "causal_variants",
        "genetic_variance",
        "noise_variance",
        *(k for k, _ in extra),
    ]
    rows = ["\t".join(header)]
    for g, d in zip(genes, dosage, strict=True):
        fields = [
            g.gene_id,
            g.chrom,
            str(g.tss),
            g.strand,
            g.split,
            str(g.n_motifs_ref),
            str(len(g.causal)),
            ",".join(v.label for v in g.causal),
            f"{float(np.var(d)):.6f}",
            f"{design.noise_sd**2:.6f}",
            *(v for _, v in extra),
        ]
        rows.append("\t".join(fields))
    _write_text(path, rows)


def _write_text(path: Path, lines: list[str]) -> None:
    """Write lines with a trailing newline (LF only, so files are byte-stable)."""
    with open(path, "w", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
