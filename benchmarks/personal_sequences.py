"""Personal sequences at study scale: per-window bcftools vs our fast engine vs GenVarLoader.

Builds a synthetic workload with 1000-Genomes-like density (deterministic from ``--seed``,
cached in ``--workdir``): one contig of ``--contig-mb`` Mb (random ACGT with soft-masked and N
stretches), one bi-allelic, normalised variant per ~250 bp (~12% indels of 1-20 bp with an
anchor base), ``--samples`` phased samples whose allele frequencies follow a neutral (1/k)
site-frequency spectrum (most variants rare), bgzipped with CSI and TBI indexes, and
``--windows`` windows of ``--window-length`` bp. Then every engine builds all samples x 2
haplotypes x all windows in a child process of its own (so peak memory is per engine):

- per-window bcftools (the seed's way): ``samtools faidx REF region | bcftools consensus
  -s S -H h VCF`` per window, haplotype and sample, with the binaries on PATH; timed on a
  random subset and extrapolated to the whole workload;
- the fast engine (``haplexpr.haplotypes.personal_sequences``): edit-store build, then
  every sequence materialised into reused NumPy buffers;
- GenVarLoader (optional, ``--gvl-python``, an interpreter with genvarloader installed):
  dataset write, then every haplotype materialised, in its default and its fastest mode;
- copying the reference bytes alone into a buffer, all samples x haplotypes (upper bound).

Prints sequences per second, time, ratio to per-window bcftools, peak RSS, the disk use of
the fast engine's store vs one FASTA per sequence, and checks the fast engine (and reports
GenVarLoader) against the per-window bcftools outputs.

    python benchmarks/personal_sequences.py [--workdir DIR] [--gvl-python PY] [--threads 1]
    python benchmarks/personal_sequences.py --tiny      # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# Only the standard library and NumPy at module level: the GenVarLoader worker runs this
# file under another interpreter (its own venv) that has neither haplexpr nor its deps.
REPO = Path(__file__).resolve().parents[1]
CONTIG = "chr1"
FASTA_WIDTH = 60  # bases per FASTA line, as samtools and bcftools write them
SFS_HAPLOTYPES = 5008  # 2 x 2504 1000 Genomes samples: the spectrum allele counts come from
WORKLOAD_VERSION = 1  # bump when the generator changes, so cached workloads are rebuilt


@dataclass(frozen=True)
class Params:
    """What the synthetic workload is made of (its cache key)."""

    contig_mb: float = 20.0
    samples: int = 400
    windows: int = 200
    window_length: int = 49_152
    spacing: int = 250  # mean bp per variant record
    indel_fraction: float = 0.12
    seed: int = 1


# ----------------------------------------------------------------------------- workload


def make_reference(rng: np.random.Generator, length: int) -> np.ndarray:
    """Random ACGT bytes with a few soft-masked (lowercase) and N stretches."""
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length, dtype=np.uint8)]
    for _ in range(max(1, length // 20_000)):  # ~5% soft-masked, stretches of 0.1-2 kb
        start = int(rng.integers(0, length))
        seq[start : start + int(rng.integers(100, 2_000))] |= 0x20
    for _ in range(max(1, length // 4_000_000)):  # a few gaps of 1-20 kb
        start = int(rng.integers(0, length))
        seq[start : start + int(rng.integers(1_000, 20_000))] = ord("N")
    return seq


def write_fasta(path: Path, name: str, seq: np.ndarray) -> None:
    """Write one record wrapped at FASTA_WIDTH, built as one array (no per-line Python)."""
    full = len(seq) // FASTA_WIDTH * FASTA_WIDTH
    lines = np.empty((full // FASTA_WIDTH, FASTA_WIDTH + 1), np.uint8)
    lines[:, :FASTA_WIDTH] = seq[:full].reshape(-1, FASTA_WIDTH)
    lines[:, FASTA_WIDTH] = ord("\n")
    with path.open("wb") as out:
        out.write(f">{name}\n".encode())
        out.write(lines.tobytes())
        if full < len(seq):
            out.write(seq[full:].tobytes() + b"\n")


def make_variants(rng: np.random.Generator, seq: np.ndarray, params: Params) -> dict:
    """Positions, REF/ALT strings and allele frequencies of normalised bi-allelic records."""
    length = len(seq)
    upper = seq & ~np.uint8(0x20)  # case-folded (N stays N)
    is_n = np.concatenate([[0], np.cumsum(upper == ord("N"))])
    max_span = 22  # anchor + longest deletion, with one base to spare
    ok = np.flatnonzero(is_n[max_span : length + 1] - is_n[: length + 1 - max_span] == 0)
    n = min(int(length / params.spacing), len(ok))
    pos = np.sort(rng.choice(ok, n, replace=False))  # 0-based anchor / SNV position

    kind = rng.choice(3, n, p=[1 - params.indel_fraction, *[params.indel_fraction / 2] * 2])
    size = np.minimum(rng.geometric(0.45, n), 20)  # indel length 1-20 bp, mostly 1-2
    gap = np.diff(pos, append=length + max_span)
    deletion = kind == 1
    size[deletion] = np.minimum(size[deletion], gap[deletion] - 1)  # no overlapping records
    # Left-aligned: a deletion could shift left when its last deleted base equals the anchor.
    for _ in range(20):
        shift = deletion & (size > 0) & (upper[pos] == upper[np.minimum(pos + size, length - 1)])
        if not shift.any():
            break
        size[shift] -= 1
    kind[deletion & (size < 1)] = 0

    code = np.full(256, 255, np.uint8)
    code[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4, dtype=np.uint8)
    acgt = np.frombuffer(b"ACGT", np.uint8)
    anchor = code[upper[pos]]
    snv_alt = acgt[(anchor + rng.integers(1, 4, n)) % 4]
    ref: list[str] = [chr(b) for b in upper[pos]]
    alt: list[str] = [chr(b) for b in snv_alt]
    for i in np.flatnonzero(kind == 1):
        ref[i] = upper[pos[i] : pos[i] + size[i] + 1].tobytes().decode()
        alt[i] = ref[i][0]
    for i in np.flatnonzero(kind == 2):
        inserted = rng.integers(0, 4, size[i])
        if inserted[-1] == anchor[i]:  # left-aligned: the last inserted base != the anchor
            inserted[-1] = (inserted[-1] + 1) % 4
        alt[i] = ref[i] + acgt[inserted].tobytes().decode()

    # Allele counts from the neutral spectrum (P(k) ~ 1/k) of the 1000 Genomes haplotypes.
    weights = 1.0 / np.arange(1, SFS_HAPLOTYPES)
    cdf = np.cumsum(weights) / weights.sum()
    count = np.searchsorted(cdf, rng.random(n)) + 1
    delta = np.array([len(a) - len(r) for r, a in zip(ref, alt, strict=True)], np.int64)
    return {
        "pos": pos,
        "ref": ref,
        "alt": alt,
        "kind": kind,
        "delta": delta,
        "freq": (count / SFS_HAPLOTYPES).astype(np.float32),
    }


def make_windows(rng: np.random.Generator, length: int, params: Params) -> np.ndarray:
    """(n, 2) 0-based half-open windows spread over the contig, sorted."""
    width = params.window_length
    step = length // params.windows
    if step >= width:
        starts = np.arange(params.windows) * step + rng.integers(
            0, step - width + 1, params.windows
        )
    else:
        starts = np.sort(rng.integers(0, length - width + 1, params.windows))
    return np.stack([starts, starts + width], axis=1).astype(np.int64)


def write_vcf(
    path: Path,
    variants: dict,
    samples: list[str],
    windows: np.ndarray,
    rng: np.random.Generator,
    length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Write the bgzipped VCF; return allele counts and per-(window, haplotype) length change.

    The genotype columns are built as one uint8 array per chunk of records (``a|b<TAB>`` per
    sample), so 80,000 records x 400 samples take seconds, not minutes.
    """
    header = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={CONTIG},length={length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    pos, freq, delta = variants["pos"], variants["freq"], variants["delta"]
    prefixes = [
        f"{CONTIG}\t{p + 1}\t.\t{r}\t{a}\t.\tPASS\t.\tGT\t".encode()
        for p, r, a in zip(pos.tolist(), variants["ref"], variants["alt"], strict=True)
    ]
    n_samples = len(samples)
    # records lying wholly inside each window (for the FASTA-size estimate)
    ref_end = pos + np.array([len(r) for r in variants["ref"]])
    lo = np.searchsorted(pos, windows[:, 0])
    hi = np.searchsorted(pos, windows[:, 1])
    length_change = np.zeros((len(windows), 2 * n_samples), np.int64)
    allele_count = np.zeros(len(pos), np.int64)
    threads = str(max(1, min(4, os.cpu_count() or 1)))
    with path.open("wb") as out:
        bgzip = subprocess.Popen(["bgzip", "-@", threads, "-c"], stdin=subprocess.PIPE, stdout=out)
        assert bgzip.stdin is not None
        bgzip.stdin.write(("\n".join(header) + "\n").encode())
        chunk = 8192
        for first in range(0, len(pos), chunk):
            last = min(first + chunk, len(pos))
            alt = (
                rng.random((last - first, 2 * n_samples), dtype=np.float32) < freq[first:last, None]
            )
            allele_count[first:last] = alt.sum(axis=1)
            text = np.empty((last - first, n_samples, 4), np.uint8)
            text[:, :, 0] = ord("0") + alt[:, 0::2]
            text[:, :, 1] = ord("|")
            text[:, :, 2] = ord("0") + alt[:, 1::2]
            text[:, :, 3] = ord("\t")
            text[:, -1, 3] = ord("\n")
            rows = text.reshape(last - first, -1)
            parts = []
            for i in range(last - first):
                parts.append(prefixes[first + i])
                parts.append(rows[i].tobytes())
            bgzip.stdin.write(b"".join(parts))
            for w, (start, end) in enumerate(windows):
                a, b = max(lo[w], first), min(hi[w], last)
                if a < b:
                    inside = (ref_end[a:b] <= end) & (pos[a:b] >= start)
                    length_change[w] += (delta[a:b] * inside) @ alt[a - first : b - first]
        bgzip.stdin.close()
        if bgzip.wait():
            raise SystemExit("bgzip failed")
    return allele_count, length_change


def build_workload(workdir: Path, params: Params) -> dict:
    """Build (or reuse) the reference, VCF and windows under ``workdir``; return the manifest."""
    manifest_path = workdir / "manifest.json"
    key = {"version": WORKLOAD_VERSION, **asdict(params)}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["key"] == key:
            print(f"workload: reusing {workdir}")
            return manifest
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(params.seed)
    length = int(params.contig_mb * 1_000_000)
    seq = make_reference(rng, length)
    reference = workdir / "reference.fa"
    write_fasta(reference, CONTIG, seq)
    subprocess.run(["samtools", "faidx", str(reference)], check=True)
    variants = make_variants(rng, seq, params)
    windows = make_windows(rng, length, params)
    samples = [f"S{i:04d}" for i in range(1, params.samples + 1)]
    vcf = workdir / "variants.vcf.gz"
    allele_count, length_change = write_vcf(vcf, variants, samples, windows, rng, length)
    subprocess.run(["bcftools", "index", "-f", "-c", str(vcf)], check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", str(vcf)], check=True)
    bed = workdir / "windows.bed"
    bed.write_text(
        "".join(f"{CONTIG}\t{s}\t{e}\tw{i:04d}\n" for i, (s, e) in enumerate(windows.tolist()))
    )
    np.save(workdir / "length_change.npy", length_change)
    kind = variants["kind"]
    manifest = {
        "key": key,
        "reference": str(reference),
        "vcf": str(vcf),
        "bed": str(bed),
        "contig": CONTIG,
        "contig_length": length,
        "samples": samples,
        "windows": windows.tolist(),
        "records": len(kind),
        "snvs": int((kind == 0).sum()),
        "deletions": int((kind == 1).sum()),
        "insertions": int((kind == 2).sum()),
        "monomorphic": int((allele_count == 0).sum()),
        "rare": int(((allele_count > 0) & (allele_count < 0.01 * 2 * len(samples))).sum()),
        "build_seconds": time.perf_counter() - started,
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest


# ----------------------------------------------------------------------------- workers
#
# Each engine runs as `python THIS --worker NAME --spec SPEC --out RESULT` in a child process.
# SPEC (JSON) holds the manifest, the check triples and options; RESULT (JSON) holds
# {"sequences", "seconds", "phases", "extrapolated", "notes", "checked": {key: sequence}}.


def triple_key(sample: str, haplotype: int, window: int) -> str:
    """JSON key of one (sample, haplotype, window) check triple."""
    return f"{sample}/{haplotype}/{window}"


def read_fasta_text(text: str) -> list[tuple[str, str]]:
    """(name, sequence) records of FASTA text."""
    records = []
    for block in text.split(">")[1:]:
        head, _, body = block.partition("\n")
        records.append((head.split()[0], body.replace("\n", "")))
    return records


def worker_bcftools(spec: dict) -> dict:
    """The seed's way: one samtools | bcftools pipeline per (window, haplotype, sample).

    Also builds the same sequences, untimed, with the bcftools 1.24 embedded in pysam (the
    version whose window-edge rules the pipeline follows), for the correctness check.
    """
    m = spec["manifest"]
    checked, checked_124 = {}, {}
    warnings = 0
    started = time.perf_counter()
    for sample, haplotype, w in spec["triples"]:
        start, end = m["windows"][w]
        region = f"{m['contig']}:{start + 1}-{end}"
        faidx = subprocess.Popen(
            ["samtools", "faidx", m["reference"], region], stdout=subprocess.PIPE
        )
        consensus = subprocess.run(
            ["bcftools", "consensus", "-s", sample, "-H", str(haplotype), m["vcf"]],
            stdin=faidx.stdout,
            capture_output=True,
            text=True,
        )
        assert faidx.stdout is not None
        faidx.stdout.close()
        if faidx.wait() or consensus.returncode:
            raise SystemExit(f"samtools | bcftools failed for {region}: {consensus.stderr}")
        warnings += consensus.stderr.count("Warning")
        ((_, seq),) = read_fasta_text(consensus.stdout)
        checked[triple_key(sample, haplotype, w)] = seq
    elapsed = time.perf_counter() - started
    pipeline_rss = pipeline_peak_rss(m, spec["triples"][:5])
    version = subprocess.run(["bcftools", "--version"], capture_output=True, text=True)
    notes = [
        f"{version.stdout.split(chr(10))[0]} and samtools on PATH",
        f"{len(checked)} random sequences timed in {elapsed:.2f} s "
        f"({elapsed / len(checked) * 1000:.0f} ms each), extrapolated x"
        f"{spec['total_sequences'] / len(checked):.0f}",
        "peak RSS: largest samtools/bcftools process",
    ]
    if warnings:
        notes.append(f"{warnings} bcftools warnings (overlapping variants skipped)")
    try:
        import pysam
        import pysam.bcftools
    except ImportError:
        notes.append("no pysam here: no bcftools 1.24 reference outputs")
    else:
        with tempfile.TemporaryDirectory() as tmp, pysam.FastaFile(m["reference"]) as fasta:
            region_fasta = Path(tmp) / "region.fa"
            for sample, haplotype, w in spec["triples"]:
                start, end = m["windows"][w]
                region = f"{m['contig']}:{start + 1}-{end}"
                region_fasta.write_text(f">{region}\n{fasta.fetch(region=region)}\n")
                out = pysam.bcftools.consensus(
                    "-f", str(region_fasta), "-s", sample, "-H", str(haplotype), m["vcf"]
                )
                ((_, seq),) = read_fasta_text(out)
                checked_124[triple_key(sample, haplotype, w)] = seq
    return {
        "sequences": spec["total_sequences"],
        "seconds": elapsed / len(checked) * spec["total_sequences"],
        "phases": {"materialise": elapsed / len(checked) * spec["total_sequences"]},
        "extrapolated": True,
        "engine_peak_rss_mib": pipeline_rss,
        "notes": notes,
        "checked": checked,
        "checked_124": checked_124,
    }


def pipeline_peak_rss(m: dict, triples: list) -> float:
    """Peak RSS (MiB) of the largest samtools or bcftools process over a few pipelines.

    Measured with GNU time, untimed: a process forked from Python reports the interpreter's
    RSS as its own peak (the high-water mark survives exec), so getrusage here would not.
    """
    gnu_time = shutil.which("time")  # GNU time (Debian package "time"), not the shell's
    if not gnu_time:
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rss"
        for sample, haplotype, w in triples:
            start, end = m["windows"][w]
            region = f"{m['contig']}:{start + 1}-{end}"
            subprocess.run(
                f"{gnu_time} -f %M -a -o {out} samtools faidx {m['reference']} {region} | "
                f"{gnu_time} -f %M -a -o {out} bcftools consensus -s {sample} -H {haplotype} "
                f"{m['vcf']} > /dev/null 2>&1",
                shell=True,
                check=True,
            )
        return max(int(line) for line in out.read_text().split()) / 1024


def load_reference_windows(m: dict) -> list[np.ndarray]:
    """The reference windows as uint8 arrays (read via the .fai, no extra dependency)."""
    fai = Path(m["reference"] + ".fai").read_text().split("\n")[0].split("\t")
    length, offset, width, line = fai[1:5]
    raw = np.fromfile(m["reference"], np.uint8, offset=int(offset))
    rows = int(length) // int(width)
    seq = np.concatenate(
        [raw[: rows * int(line)].reshape(rows, int(line))[:, : int(width)].ravel(),
         raw[rows * int(line) : rows * int(line) + int(length) % int(width)]]
    )  # fmt: skip
    return [seq[s:e].copy() for s, e in m["windows"]]


def worker_memcpy(spec: dict) -> dict:
    """Upper bound: copy each reference window into every haplotype row of a reused buffer."""
    m = spec["manifest"]
    windows = load_reference_windows(m)
    rows = 2 * len(m["samples"])
    buffer = np.empty((rows, max(len(w) for w in windows)), np.uint8)
    started = time.perf_counter()
    for window in windows:
        buffer[:, : len(window)] = window  # one memcpy per (sample, haplotype)
    elapsed = time.perf_counter() - started
    return {
        "sequences": rows * len(windows),
        "seconds": elapsed,
        "phases": {},
        "extrapolated": False,
        "notes": [f"buffer {buffer.nbytes / 2**20:.0f} MiB reused per window"],
        "checked": {},
    }


def worker_fast(spec: dict) -> dict:
    """Our engine: build the store, load it, materialise every haplotype.

    All (sample, haplotype) rows of a window go into one reused (2 x samples, longest) uint8
    buffer through ``HaplotypeEdits.materialise_window`` (the engine's batch API), so
    nothing is allocated per sequence.
    """
    sys.path.insert(0, str(REPO / "src"))
    from haplexpr.coordinates import Interval
    from haplexpr.haplotypes.edits import HaplotypeEdits
    from haplexpr.haplotypes.personal_sequences import build_haplotype_store
    from haplexpr.study.genes import GeneWindow

    m = spec["manifest"]
    contig, samples = m["contig"], m["samples"]
    windows = [
        GeneWindow(f"w{i:04d}", contig, (s + e) // 2, "+", Interval(contig, s, e))
        for i, (s, e) in enumerate(m["windows"])
    ]
    store = Path(spec["store"])
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    path = store / "haplotypes.npz"
    reference = load_reference_windows(m)

    def materialise_all(edits: HaplotypeEdits, out: np.ndarray, lengths: np.ndarray):
        """Yield each window's number once its haplotypes are in ``out`` (lengths: ``lengths``)."""
        for w, window in enumerate(reference[: edits.length.shape[0]]):
            edits.materialise_window(w, window, out, lengths)
            yield w

    # Compile the kernels outside the timings (numba also caches them on disk).
    warm_path = store / "warm-up.npz"
    build_haplotype_store(m["reference"], {contig: m["vcf"]}, samples[:1], windows[:1], warm_path)
    warm = HaplotypeEdits.load(warm_path)
    for _ in materialise_all(warm, np.empty((2, 2 * len(reference[0]) + 64), np.uint8),
                             np.empty(2, np.int64)):  # fmt: skip
        pass
    warm_path.unlink()

    started = time.perf_counter()
    build_haplotype_store(
        m["reference"], {contig: m["vcf"]}, samples, windows, path, threads=spec["threads"]
    )
    built = time.perf_counter()
    edits = HaplotypeEdits.load(path)
    loaded = time.perf_counter()
    n_cols = edits.n_columns
    buffer = np.empty((n_cols, int(edits.length.max())), np.uint8)
    lengths = np.empty(n_cols, np.int64)
    wanted: dict[int, list[tuple[str, int]]] = {}
    for sample, haplotype, w in spec["triples"]:
        wanted.setdefault(w, []).append((sample, haplotype))
    column = {s: i for i, s in enumerate(samples)}
    checked = {}
    total = 0
    for w in materialise_all(edits, buffer, lengths):
        total += int(lengths.sum())
        for sample, haplotype in wanted.get(w, []):  # copy out the few checked sequences
            c = 2 * column[sample] + haplotype - 1
            checked[triple_key(sample, haplotype, w)] = buffer[c, : lengths[c]].tobytes().decode()
    done = time.perf_counter()
    if total != int(edits.length.sum()):
        raise SystemExit("fast engine: materialised lengths differ from the store's lengths")
    return {
        "sequences": n_cols * len(reference),
        "seconds": done - started,
        "phases": {
            "build store": built - started,
            "load store": loaded - built,
            "materialise": done - loaded,
        },
        "bytes": total,
        "extrapolated": False,
        "notes": [
            f"store {path.stat().st_size / 2**20:.1f} MiB on disk, "
            f"{edits.nbytes() / 2**20:.1f} MiB in memory; {len(edits.edit_start):,} distinct "
            f"edits, {len(edits.hap_edits):,} edit references",
            "HaplotypeEdits.materialise_window into one reused buffer",
        ],
        "checked": checked,
    }


GVL_BEST_ENV = {
    # glibc hands every large batch buffer back to the kernel when freed (mmap/munmap), so
    # each batch pays fresh page faults; keeping freed memory for reuse is GVL's fast way.
    "MALLOC_MMAP_THRESHOLD_": str(2**32),
    "MALLOC_TRIM_THRESHOLD_": str(2**34),
}


def worker_gvl(spec: dict) -> dict:
    """GenVarLoader: write the dataset (mode "write"), or materialise every haplotype.

    Mode "default": ragged output, one window x all samples per call, default allocator.
    Mode "best": flat output, several windows x all samples per call, and (set by the parent)
    GVL_BEST_ENV so freed batch buffers are reused instead of returned to the kernel.
    """
    os.environ["TQDM_DISABLE"] = "1"  # before tqdm is imported: no progress bars
    import genoray
    import genvarloader as gvl
    from loguru import logger

    logger.disable("genvarloader")
    logger.disable("genoray")
    m = spec["manifest"]
    dataset = Path(spec["gvl_dataset"])
    notes = [f"genvarloader {gvl.__version__}, genoray {genoray.__version__}"]
    if spec["mode"] == "write":
        # drop the caches GVL keeps beside its inputs, so they are timed too
        for cache in [*Path(m["vcf"]).parent.glob("*.gvi*"), Path(m["reference"] + ".gvlfa")]:
            if cache.is_dir():
                shutil.rmtree(cache)
            elif cache.exists():
                cache.unlink()
        started = time.perf_counter()
        gvl.write(dataset, gvl.read_bedlike(m["bed"]), genoray.VCF(m["vcf"]), overwrite=True)
        written = time.perf_counter()
        gvl.Dataset.open(dataset, reference=m["reference"])  # builds the .gvlfa FASTA cache
        phases = {"write": written - started, "FASTA cache": time.perf_counter() - written}
        return {"phases": phases, "notes": notes, "checked": {}}

    started = time.perf_counter()
    ds = gvl.Dataset.open(dataset, reference=m["reference"]).with_seqs("haplotypes")
    opened = time.perf_counter()
    n_regions, n_samples = ds.shape
    total = 0
    if spec["mode"] == "default":
        for region in range(n_regions):
            total += ds[region, :].data.size
        notes.append("ragged output, 1 window x all samples per call, default malloc")
    else:
        ds = ds.with_output_format("flat")
        per_call = max(1, spec["gvl_batch_bytes"] // (2 * n_samples * spec["window_length"]))
        for first in range(0, n_regions, per_call):
            total += ds[first : first + per_call, :].data.size
        notes.append(
            f"flat output, {per_call} windows x all samples per call, "
            + " ".join(f"{k}={v}" for k, v in GVL_BEST_ENV.items())
        )
    done = time.perf_counter()
    checked = {}
    flat = ds.with_output_format("flat")
    index = {s: i for i, s in enumerate(ds.samples)}
    for sample, haplotype, w in spec["triples"]:
        out = flat[w, index[sample]]
        a, b = out.offsets[haplotype - 1], out.offsets[haplotype]
        checked[triple_key(sample, haplotype, w)] = out.data[a:b].tobytes().decode()
    return {
        "sequences": n_regions * n_samples * 2,
        "seconds": done - started,
        "phases": {"open": opened - started, "materialise": done - opened},
        "bytes": int(total),
        "extrapolated": False,
        "notes": notes,
        "checked": checked,
    }


WORKERS = {
    "memcpy": worker_memcpy,
    "bcftools": worker_bcftools,
    "fast": worker_fast,
    "gvl": worker_gvl,
}


def run_worker(python: str, name: str, spec: dict, workdir: Path, env: dict) -> dict:
    """Run one engine in a child process; add its peak RSS (own and its children's)."""
    spec_path = workdir / f"spec.{name}.json"
    out_path = workdir / f"result.{name}.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    cmd = [python, str(Path(__file__).resolve()), "--worker", name]
    cmd += ["--spec", str(spec_path), "--out", str(out_path)]
    child = subprocess.Popen(cmd, env=env)
    # wait4's rusage covers the child and the descendants it waited for: ru_maxrss is the
    # largest single process (here: the engine, or the biggest samtools/bcftools).
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode or not out_path.exists():
        return {"failed": f"exit status {child.returncode}"}
    result = json.loads(out_path.read_text())
    result["peak_rss_mib"] = result.pop("engine_peak_rss_mib", usage.ru_maxrss / 1024)
    return result


# ----------------------------------------------------------------------------- report


def fasta_bytes(m: dict) -> int:
    """Bytes of one FASTA file per (sample, haplotype, window): header + wrapped sequence."""
    windows = np.array(m["windows"])
    lengths = (windows[:, 1] - windows[:, 0])[:, None] + np.load(
        Path(m["reference"]).parent / "length_change.npy"
    )
    names = [f">{s}_hap{h} {m['contig']}:{a + 1}-{b}\n" for s in m["samples"] for h in (1, 2)
             for a, b in m["windows"]]  # fmt: skip
    newlines = -(-lengths // FASTA_WIDTH)
    return int(lengths.sum() + newlines.sum() + sum(len(n) for n in names))


def directory_bytes(path: Path) -> int:
    """Apparent size of a file or directory tree."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def human(n: float) -> str:
    """Bytes as B/KiB/MiB/GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def compare(name: str, got: dict, want: dict) -> tuple[int, int]:
    """Print how many sequences of ``got`` equal ``want`` (exactly, and ignoring case)."""
    keys = [k for k in want if k in got]
    exact = sum(got[k] == want[k] for k in keys)
    folded = sum(got[k].upper() == want[k].upper() for k in keys)
    print(f"  {name}: {exact}/{len(keys)} identical ({folded}/{len(keys)} ignoring case)")
    for k in [k for k in keys if got[k].upper() != want[k].upper()][:3]:
        a, b = got[k].upper(), want[k].upper()
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        first = min(len(a), len(b)) if first is None else first
        print(f"    {k}: lengths {len(a)} vs {len(b)}, first difference at offset {first}")
    return exact, len(keys)


def print_table(rows: list[tuple[str, dict]], baseline: float | None) -> None:
    """One line per engine: end-to-end rate, time, ratio to per-window bcftools, memory."""
    head = (
        f"{'engine':<36} {'seq/s':>10} {'total s':>9} {'x bcftools':>10} {'prepare s':>9} "
        f"{'materialise s':>13} {'mat. seq/s':>10} {'peak RSS':>10}"
    )
    print(head)
    print("-" * len(head))
    for label, r in rows:
        if "seconds" not in r:
            print(f"{label:<36} {r.get('unavailable') or r.get('failed') or 'skipped'}")
            continue
        rate = r["sequences"] / r["seconds"]
        prepare = [v for k, v in r["phases"].items() if k != "materialise"]
        prep = f"{sum(prepare):.1f}" if prepare else "-"
        mat = r["phases"].get("materialise", r["seconds"])
        ratio = f"{rate / baseline:,.1f}x" if baseline else "-"
        print(
            f"{label:<36} {rate:>10,.0f} {r['seconds']:>9.1f} {ratio:>10} {prep:>9} "
            f"{mat:>13.1f} {r['sequences'] / mat:>10,.0f} {r['peak_rss_mib']:>6.0f} MiB"
        )


def main() -> None:
    """Build the workload, run every engine in its own process, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="workload cache (default: a temp dir)")
    parser.add_argument("--contig-mb", type=float, default=Params.contig_mb)
    parser.add_argument("--samples", type=int, default=Params.samples)
    parser.add_argument("--windows", type=int, default=Params.windows)
    parser.add_argument("--window-length", type=int, default=Params.window_length)
    parser.add_argument("--seed", type=int, default=Params.seed)
    parser.add_argument(
        "--tiny", action="store_true", help="smoke test: 1 Mb, 20 samples, 10 windows of 8 kb"
    )
    parser.add_argument(
        "--bcftools-sequences", type=int, default=60, help="per-window bcftools: timed subset"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per engine (default 2: the 2-core target)"
    )
    parser.add_argument("--gvl-python", help="python with genvarloader (default: skip GVL)")
    parser.add_argument(
        "--gvl-batch-mb", type=int, default=256, help="GVL best mode: output MB per call"
    )
    parser.add_argument(
        "--engines", nargs="+", default=list(WORKERS), choices=list(WORKERS), help="subset"
    )
    parser.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.spec.read_text())
        args.out.write_text(json.dumps(WORKERS[args.worker](spec)))
        return

    if args.tiny:
        args.contig_mb, args.samples, args.windows, args.window_length = 1.0, 20, 10, 8192
        args.bcftools_sequences = min(args.bcftools_sequences, 20)
    params = Params(args.contig_mb, args.samples, args.windows, args.window_length, seed=args.seed)
    if args.workdir:
        benchmark(args, params, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="haplexpr-bench-") as tmp:
            benchmark(args, params, Path(tmp))


def benchmark(args: argparse.Namespace, params: Params, workdir: Path) -> None:
    """Build or reuse the workload in ``workdir``, run the engines, print the report."""
    m = build_workload(workdir, params)
    n_samples, n_windows = len(m["samples"]), len(m["windows"])
    total = 2 * n_samples * n_windows
    print(
        f"workload: {m['contig']} {m['contig_length'] / 1e6:.1f} Mb, {m['records']:,} records "
        f"({m['snvs']:,} SNVs, {m['deletions']:,} deletions, {m['insertions']:,} insertions; "
        f"{m['monomorphic'] / m['records']:.0%} monomorphic and {m['rare'] / m['records']:.0%} "
        f"with AF < 1% in these samples), {n_samples} samples x 2 haplotypes x {n_windows} "
        f"windows of {params.window_length:,} bp = {total:,} sequences "
        f"({total * params.window_length / 1e9:.2f} GB of bases); built in "
        f"{m['build_seconds']:.1f} s, in {workdir}"
    )
    rng = np.random.default_rng(params.seed + 1)
    n_check = min(args.bcftools_sequences, total)
    picks = rng.choice(total, n_check, replace=False)
    triples = [
        (m["samples"][i // (2 * n_windows)], int(i // n_windows % 2 + 1), int(i % n_windows))
        for i in picks.tolist()
    ]
    spec = {
        "manifest": m,
        "triples": triples,
        "total_sequences": total,
        "window_length": params.window_length,
        "store": str(workdir / "fast_store"),
        "gvl_dataset": str(workdir / "windows.gvl"),
        "gvl_batch_bytes": args.gvl_batch_mb * 2**20,
        "threads": args.threads,
    }
    env = dict(os.environ)
    for name in ("OMP", "OPENBLAS", "MKL", "NUMBA", "GVL", "RAYON", "POLARS_MAX"):
        env[f"{name}_NUM_THREADS" if name != "POLARS_MAX" else "POLARS_MAX_THREADS"] = str(
            args.threads
        )
    print(f"threads per engine: {args.threads}; each engine runs in a child process of its own")

    rows: list[tuple[str, dict]] = []
    results: dict[str, dict] = {}
    if "memcpy" in args.engines:
        results["memcpy"] = run_worker(sys.executable, "memcpy", spec, workdir, env)
        rows.append(("copy the bytes alone (upper bound)", results["memcpy"]))
    if "bcftools" in args.engines:
        print(f"per-window bcftools: {n_check} random sequences, timed and extrapolated ...")
        results["bcftools"] = run_worker(sys.executable, "bcftools", spec, workdir, env)
        rows.append(("per-window bcftools (EXTRAPOLATED)", results["bcftools"]))
    if "fast" in args.engines:
        print("fast engine ...")
        results["fast"] = run_worker(sys.executable, "fast", spec, workdir, env)
        rows.append(("fast engine (haplexpr)", results["fast"]))
    if "gvl" in args.engines:
        gvl_python = args.gvl_python
        if gvl_python:
            probe = subprocess.run([gvl_python, "-c", "import genvarloader"], capture_output=True)
            if probe.returncode:
                print(f"GenVarLoader: cannot import genvarloader with {gvl_python}; skipped")
                gvl_python = None
        else:
            print("GenVarLoader: skipped (no --gvl-python; see the module docstring)")
        if gvl_python:
            print("GenVarLoader: write, then default and best read ...")
            write = run_worker(gvl_python, "gvl", {**spec, "mode": "write"}, workdir, env)
            best_env = {**env, **GVL_BEST_ENV}
            for mode, run_env in (("default", env), ("best", best_env)):
                read = run_worker(gvl_python, "gvl", {**spec, "mode": mode}, workdir, run_env)
                if "failed" in write or "failed" in read:
                    results[f"gvl_{mode}"] = {"failed": write.get("failed") or read["failed"]}
                else:
                    phases = {**write["phases"], **read["phases"]}
                    results[f"gvl_{mode}"] = {
                        **read,
                        "seconds": sum(phases.values()),
                        "phases": phases,
                        "peak_rss_mib": max(write["peak_rss_mib"], read["peak_rss_mib"]),
                        "notes": read["notes"]
                        + [f"write peak RSS {write['peak_rss_mib']:.0f} MiB"],
                    }
                rows.append((f"GenVarLoader ({mode})", results[f"gvl_{mode}"]))

    print()
    for label, r in rows:
        if "seconds" in r:
            parts = [f"{k} {v:.2f} s" for k, v in r["phases"].items()] + r.get("notes", [])
            print(f"{label}: " + "; ".join(parts))

    print("\ndisk:")
    fasta = fasta_bytes(m)
    print(f"  one FASTA per (sample, haplotype, window), {total:,} files: {human(fasta)}")
    for label, path in (
        ("fast engine store", Path(spec["store"])),
        ("GenVarLoader dataset", Path(spec["gvl_dataset"])),
        ("bgzipped VCF (input, for scale)", Path(m["vcf"])),
    ):
        if path.exists():
            size = directory_bytes(path)
            print(f"  {label}: {human(size)} = {size / fasta:.2%} of the FASTA files")

    print("\ncorrectness (against per-window bcftools outputs):")
    failed = False
    bcftools = results.get("bcftools", {})
    for key, label in (("fast", "fast engine"), ("gvl_best", "GenVarLoader")):
        got = results.get(key, {}).get("checked")
        if not got or not bcftools.get("checked"):
            continue
        compare(f"{label} vs bcftools on PATH", got, bcftools["checked"])
        if not any(c.islower() for c in "".join(got.values())):
            print(f"    ({label} writes upper case only: soft-masking is dropped)")
        if bcftools.get("checked_124"):
            exact, n = compare(f"{label} vs bcftools 1.24 (pysam)", got, bcftools["checked_124"])
            failed |= key == "fast" and exact < n
    if bcftools.get("checked_124"):
        compare("bcftools on PATH vs bcftools 1.24", bcftools["checked"], bcftools["checked_124"])

    print()
    baseline = bcftools.get("sequences", 0) / bcftools["seconds"] if "seconds" in bcftools else None
    print_table(rows, baseline)
    print(
        "seq/s, total s: end to end (prepare + materialise); x bcftools: end-to-end speed over "
        "per-window bcftools'; mat. seq/s: materialisation alone; peak RSS: largest process "
        "(a Python worker's includes the ~40 MiB interpreter it was forked from)"
    )
    if failed:
        raise SystemExit("the fast engine disagrees with bcftools 1.24")


if __name__ == "__main__":
    main()
