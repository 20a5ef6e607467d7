"""The benchmark's report: phases, disk use, correctness against bcftools, the rate table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from haplexpr.demo.fasta_vcf import FASTA_WIDTH


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


def print_table(rows: list[tuple[str, str, dict]], baseline: float | None) -> None:
    """One line per engine: end-to-end rate, time, ratio to per-window bcftools, memory."""
    head = (
        f"{'engine':<36} {'seq/s':>10} {'total s':>9} {'x bcftools':>10} {'prepare s':>9} "
        f"{'materialise s':>13} {'mat. seq/s':>10} {'peak RSS':>10}"
    )
    print(head)
    print("-" * len(head))
    for _, label, r in rows:
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


def print_phases(rows: list[tuple[str, str, dict]]) -> None:
    """Each engine's phase times and notes."""
    print()
    for _, label, r in rows:
        if "seconds" in r:
            parts = [f"{k} {v:.2f} s" for k, v in r["phases"].items()] + r.get("notes", [])
            print(f"{label}: " + "; ".join(parts))


def print_disk(spec: dict) -> None:
    """Sizes of the fast engine's store, GVL's dataset and the VCF beside one FASTA a sequence."""
    m = spec["manifest"]
    print("\ndisk:")
    fasta = fasta_bytes(m)
    print(
        f"  one FASTA per (sample, haplotype, window), {spec['total_sequences']:,} files: "
        f"{human(fasta)}"
    )
    for label, path in (
        ("fast engine store", Path(spec["store"])),
        ("GenVarLoader dataset", Path(spec["gvl_dataset"])),
        ("bgzipped VCF (input, for scale)", Path(m["vcf"])),
    ):
        if path.exists():
            size = directory_bytes(path)
            print(f"  {label}: {human(size)} = {size / fasta:.2%} of the FASTA files")


def print_correctness(results: dict[str, dict]) -> bool:
    """Compare the fast engine and GVL with per-window bcftools' outputs.

    False if the fast engine differs from bcftools 1.24 (the version whose window-edge rules
    the pipeline follows).
    """
    print("\ncorrectness (against per-window bcftools outputs):")
    agrees = True
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
            agrees &= key != "fast" or exact == n
    if bcftools.get("checked_124"):
        compare("bcftools on PATH vs bcftools 1.24", bcftools["checked"], bcftools["checked_124"])
    return agrees


def print_report(rows: list[tuple[str, str, dict]], spec: dict) -> bool:
    """Phases, disk, correctness and the table; False if the fast engine disagrees."""
    results = {key: r for key, _, r in rows}
    print_phases(rows)
    print_disk(spec)
    agrees = print_correctness(results)
    print()
    bcftools = results.get("bcftools", {})
    baseline = bcftools.get("sequences", 0) / bcftools["seconds"] if "seconds" in bcftools else None
    print_table(rows, baseline)
    print(
        "seq/s, total s: end to end (prepare + materialise); x bcftools: end-to-end speed over "
        "per-window bcftools'; mat. seq/s: materialisation alone; peak RSS: largest process "
        "(a Python worker's includes the ~40 MiB interpreter it was forked from)"
    )
    return agrees
