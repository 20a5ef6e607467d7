"""How much does the pipeline's embedding step cost on top of the model? Measure it.

For each gLM, embeds the same haplotype windows twice in one process: once through the
pipeline's embedding step (:func:`haplexpr.embeddings.computed.compute_embeddings`:
haplotypes rebuilt from the sequence store, each distinct window of a gene embedded once,
tokenised, tiled and pooled, written as float16 to a memory-mapped shard and its index),
and once as a bare loop of the model's forward pass over the token tensors of the same
distinct windows, made beforehand. It prints distinct windows per second of both and their
ratio (target: the pipeline within 1.5x of the bare loop); how many haplotypes those
windows stand for is printed beside them, what sharing windows saves is not in the ratio.

    python benchmarks/embed_throughput.py [--models nt caduceus evo2] [--individuals 8] [--genes N]
        [--threads 1] [--repeats 3] [--workdir results/benchmarks/embed_throughput] [--tiny]

Models come from config.yaml (the demo's tiny random-weight configurations unless
``pretrained`` is set there); the sequence store is the demo's, built once in
``--workdir`` by the real workflow (``snakemake sequences``). Model loading (once per job)
is timed but kept out of the ratio. ``--tiny``: a smoke test for the suite.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from haplexpr.config import embedding_settings  # noqa: E402
from haplexpr.embeddings import computed  # noqa: E402
from haplexpr.models import caduceus, evo2, nt_tokenizer  # noqa: E402
from haplexpr.runlog import cpu_name  # noqa: E402
from haplexpr.sequences.distinct import distinct_windows  # noqa: E402
from haplexpr.sequences.store import HaplotypeStore  # noqa: E402


def bare_forward(name: str, embedder, seqs: list[str]):
    """A loop over the model's forward pass alone, its inputs tokenised before the clock."""
    size = embedder.batch_size
    if name == "nucleotide_transformer":
        ids = [nt_tokenizer.token_ids(s)[1] for s in seqs]
        batches = []
        for lo in range(0, len(ids), size):
            chunk = ids[lo : lo + size]
            width = max(map(len, chunk))
            padded = torch.full((len(chunk), width), nt_tokenizer.PAD_ID)
            for row, tokens in enumerate(chunk):
                padded[row, : len(tokens)] = torch.tensor(tokens)
            batches.append(padded)

        def run(batch):
            out = embedder.model(
                input_ids=batch,
                attention_mask=batch != nt_tokenizer.PAD_ID,
                output_hidden_states=True,
            )
            return out.hidden_states[embedder.layer]

    elif name == "caduceus":
        forward = np.stack([caduceus.token_ids(s) for s in seqs])
        strands = [
            np.concatenate([f, caduceus.reverse_complement_ids(f)])
            for f in (forward[lo : lo + size] for lo in range(0, len(seqs), size))
        ]
        sep = caduceus.VOCAB.index("[SEP]")
        batches = [
            torch.from_numpy(np.concatenate([s, np.full((len(s), 1), sep)], axis=1))
            for s in strands
        ]

        def run(batch):
            return embedder.model(batch, layer=embedder.layer, scan_chunk=embedder.scan_chunk)

    elif name == "evo2":
        ids = torch.from_numpy(np.stack([evo2.token_ids(s) for s in seqs]))
        batches = [ids[lo : lo + size] for lo in range(0, len(ids), size)]
        layer = embedder.model.get_submodule(embedder.layer)

        def run(batch):
            caught = []
            handle = layer.register_forward_hook(lambda _m, _i, out: caught.append(out))
            with evo2.cuda_device_context(on_cpu=True):
                embedder.model(batch)
            handle.remove()
            return caught[0]

    else:
        raise SystemExit(f"no bare forward loop for architecture {name!r}")

    def loop():
        with torch.inference_mode():
            for batch in batches:
                run(batch)

    return loop


def ensure_store(workdir: Path) -> HaplotypeStore:
    """The demo's sequence store in ``workdir``, built there by the workflow if absent."""
    folder = workdir / "results" / "sequences"
    if not (folder / "reference.tsv").exists():
        shutil.copytree(REPO / "data" / "demo", workdir / "data" / "demo", dirs_exist_ok=True)
        shutil.copy(REPO / "config.yaml", workdir / "config.yaml")
        subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
            + ["--cores", "2", "sequences"],
            cwd=workdir,
            check=True,
            capture_output=True,
        )
    shards = sorted(folder.glob("shard*.haplotypes.npz"))
    return HaplotypeStore(folder / "reference", shards)


def main() -> None:
    """Time both ways of embedding for each model and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["nt", "caduceus", "evo2"])
    parser.add_argument("--individuals", type=int, default=8)
    parser.add_argument("--genes", type=int, help="the store's first N genes (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, default=REPO / "results" / "benchmarks" / "embed_throughput"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="smoke test: 2 individuals, 10 genes, 1 repeat"
    )
    args = parser.parse_args()
    if args.tiny:
        args.individuals, args.genes, args.repeats = 2, 10, 1
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    store = ensure_store(args.workdir)
    individuals = store.individuals()[: args.individuals]
    genes = store.genes()[: args.genes]
    print(f"{cpu_name()}, torch {torch.__version__},"
          f" {args.threads} thread(s); best of {args.repeats}")  # fmt: skip
    load_embedder = computed.load_embedder
    for name in args.models:
        model = config["models"][name]
        settings = embedding_settings(model)
        started = time.perf_counter()
        embedder = load_embedder(settings, "cpu")
        load_seconds = time.perf_counter() - started
        # The step loads its model once per job; timed above, kept out of the ratio.
        computed.load_embedder = lambda config, device, embedder=embedder: embedder
        length = int(model["input_length"])
        # The step embeds each distinct window once; the bare loop runs the same windows.
        seqs = [w.sequence for w in distinct_windows(store, individuals, genes, length)]
        haplotypes = sum(len(store.haplotypes(i, g)) for i in individuals for g in genes)
        loop = bare_forward(model["architecture"], embedder, seqs)
        with tempfile.TemporaryDirectory() as tmp:
            pipeline, bare = [], []
            for _ in range(args.repeats):
                started = time.perf_counter()
                computed.compute_embeddings(
                    store, individuals, settings, Path(tmp) / "a.npy", Path(tmp) / "a.json", "cpu",
                    genes_of=lambda individual: genes,
                )  # fmt: skip
                pipeline.append(time.perf_counter() - started)
                started = time.perf_counter()
                loop()
                bare.append(time.perf_counter() - started)
        n = len(seqs)
        print(
            f"{name:<10} {n:,} distinct windows ({haplotypes:,} haplotypes) of {length:,} bp:"
            f" pipeline {n / min(pipeline):,.1f}"
            f" windows/s, bare forward loop {n / min(bare):,.1f} windows/s,"
            f" ratio {min(pipeline) / min(bare):.2f}x (model load, once per job:"
            f" {load_seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
