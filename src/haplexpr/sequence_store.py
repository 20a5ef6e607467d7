"""One indexed file per individual holding every gene window and both haplotypes.

Layout for ``prefix`` (e.g. ``results/sequences/HG00096``):
``prefix.fa.gz`` (bgzip FASTA, records ``<gene>_hap<h>``, random access through
``.fai``/``.gzi``) and ``prefix.tsv`` (one row per record: the reference window, the true
haplotype length and the 0-based offset where the TSS landed after indels). Sequences are
stored on the + strand at their true length; models crop, pad and orient at load time
(``sequence_encoding.centered_window`` / ``orient``), so one store serves every model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pysam

from haplexpr.sequence_encoding import centered_window, orient

WINDOW_COLUMNS = ["gene", "haplotype", "chrom", "start", "end", "strand", "length", "tss_offset"]


@dataclass(frozen=True)
class StoredSequence:
    """One haplotype of one gene window, + strand, with where its TSS is."""

    gene: str
    haplotype: int
    chrom: str
    start: int
    end: int
    strand: str
    tss_offset: int
    sequence: str

    @property
    def name(self) -> str:
        """FASTA record name inside the store."""
        return record_name(self.gene, self.haplotype)


def record_name(gene: str, haplotype: int) -> str:
    """Record name of a gene's haplotype in the store's FASTA."""
    return f"{gene}_hap{haplotype}"


def store_paths(prefix: str | Path) -> dict[str, Path]:
    """All files that make up a store."""
    prefix = Path(prefix)
    fasta = prefix.with_name(prefix.name + ".fa.gz")
    return {
        "fasta": fasta,
        "fai": fasta.with_name(fasta.name + ".fai"),
        "gzi": fasta.with_name(fasta.name + ".gzi"),
        "table": prefix.with_name(prefix.name + ".tsv"),
    }


def write_store(prefix: str | Path, sequences: Iterable[StoredSequence]) -> Path:
    """Write a store atomically: every file is built under a temporary name, then renamed."""
    paths = store_paths(prefix)
    paths["fasta"].parent.mkdir(parents=True, exist_ok=True)
    tag = f".tmp{os.getpid()}"
    plain = paths["fasta"].with_name(f".{paths['fasta'].name}{tag}.fa")
    tmp = {key: path.with_name(f".{path.name}{tag}") for key, path in paths.items()}
    rows = []
    try:
        with plain.open("w") as out:
            for item in sequences:
                out.write(f">{item.name}\n")
                for i in range(0, len(item.sequence), 80):
                    out.write(item.sequence[i : i + 80] + "\n")
                rows.append(
                    [item.gene, item.haplotype, item.chrom, item.start, item.end, item.strand]
                    + [len(item.sequence), item.tss_offset]
                )
        pysam.tabix_compress(str(plain), str(tmp["fasta"]), force=True)
        pysam.faidx(str(tmp["fasta"]))
        Path(str(tmp["fasta"]) + ".fai").replace(tmp["fai"])
        Path(str(tmp["fasta"]) + ".gzi").replace(tmp["gzi"])
        pd.DataFrame(rows, columns=WINDOW_COLUMNS).to_csv(tmp["table"], sep="\t", index=False)
        for key in ("fasta", "fai", "gzi", "table"):  # the table last: it marks completion
            tmp[key].replace(paths[key])
    finally:
        for path in [plain, *tmp.values()]:
            path.unlink(missing_ok=True)
    return paths["table"]


class SequenceStore:
    """Random access to one individual's stored haplotypes (opened lazily, fork-safe)."""

    def __init__(self, prefix: str | Path):
        self.paths = store_paths(prefix)
        table = pd.read_csv(self.paths["table"], sep="\t", dtype={"gene": str, "chrom": str})
        self.windows = table.set_index(["gene", "haplotype"]).sort_index()
        self._fasta: pysam.FastaFile | None = None
        self._pid = -1

    def haplotypes(self, gene: str) -> list[int]:
        """Haplotypes stored for a gene (the reference store has only haplotype 1)."""
        return self.windows.loc[gene].index.tolist()

    def genes(self) -> list[str]:
        """Genes in the store."""
        return self.windows.index.get_level_values("gene").unique().tolist()

    def sequence(self, gene: str, haplotype: int) -> str:
        """The stored + strand haplotype sequence at its true length."""
        if self._fasta is None or self._pid != os.getpid():
            self._fasta = pysam.FastaFile(str(self.paths["fasta"]))
            self._pid = os.getpid()
        return self._fasta.fetch(record_name(gene, haplotype))

    def model_input(self, gene: str, haplotype: int, length: int) -> str:
        """``length`` bases centred on the TSS, in the gene's orientation (N-padded)."""
        window = self.windows.loc[(gene, haplotype)]
        seq = centered_window(self.sequence(gene, haplotype), int(window["tss_offset"]), length)
        return orient(seq, window["strand"])
