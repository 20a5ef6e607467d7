"""GenVarLoader as an engine: write its dataset, then materialise every haplotype.

Runs under the interpreter given by ``--gvl-python`` (one with genvarloader installed), so
only the standard library at module level here and in what it imports.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .engines import triple_key

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
