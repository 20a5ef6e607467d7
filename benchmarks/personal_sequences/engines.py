"""The engines, each run as a worker in a child process of its own (peak memory is per engine).

``python benchmarks/personal_sequences --worker NAME --spec SPEC --out RESULT``: SPEC (JSON)
holds the manifest, the check triples and options; RESULT (JSON) holds ``{"sequences",
"seconds", "phases", "extrapolated", "notes", "checked": {key: sequence}}``.

Only the standard library and NumPy at module level: the GenVarLoader worker (``gvl``) runs
this package under another interpreter (its own venv) that has neither haplexpr nor its deps.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


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


def materialise_all(edits, reference: list[np.ndarray], out: np.ndarray, lengths: np.ndarray):
    """Yield each window's number once its haplotypes are in ``out`` (lengths: ``lengths``)."""
    for w, window in enumerate(reference[: edits.length.shape[0]]):
        edits.materialise_window(w, window, out, lengths)
        yield w


def gene_windows(m: dict) -> list:
    """The manifest's windows as the pipeline's GeneWindow records (all on the + strand)."""
    from haplexpr.coordinates import Interval
    from haplexpr.study.genes import GeneWindow

    contig = m["contig"]
    return [
        GeneWindow(f"w{i:04d}", contig, (s + e) // 2, "+", Interval(contig, s, e))
        for i, (s, e) in enumerate(m["windows"])
    ]


def warm_up_fast(m: dict, windows: list, reference: list[np.ndarray], store: Path) -> None:
    """Compile the engine's kernels outside the timings (numba also caches them on disk)."""
    from haplexpr.sequences.edits import HaplotypeEdits
    from haplexpr.sequences.personal_sequences import build_haplotype_store

    path = store / "warm-up.npz"
    build_haplotype_store(
        m["reference"], {m["contig"]: m["vcf"]}, m["samples"][:1], windows[:1], path
    )
    warm = HaplotypeEdits.load(path)
    out = np.empty((2, 2 * len(reference[0]) + 64), np.uint8)
    for _ in materialise_all(warm, reference, out, np.empty(2, np.int64)):
        pass
    path.unlink()


def worker_fast(spec: dict) -> dict:
    """Our engine: build the store, load it, materialise every haplotype.

    All (sample, haplotype) rows of a window go into one reused (2 x samples, longest) uint8
    buffer through ``HaplotypeEdits.materialise_window`` (the engine's batch API), so
    nothing is allocated per sequence.
    """
    from haplexpr.sequences.edits import HaplotypeEdits
    from haplexpr.sequences.personal_sequences import build_haplotype_store

    m = spec["manifest"]
    contig, samples = m["contig"], m["samples"]
    windows = gene_windows(m)
    store = Path(spec["store"])
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    path = store / "haplotypes.npz"
    reference = load_reference_windows(m)
    warm_up_fast(m, windows, reference, store)

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
    for w in materialise_all(edits, reference, buffer, lengths):
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
