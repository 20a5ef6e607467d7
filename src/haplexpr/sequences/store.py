"""The sequence store: reference windows once, and every individual's haplotypes as edits.

``ReferenceStore`` reads the reference windows. Layout for ``prefix``
(``results/sequences/reference``):
``prefix.fa.gz`` (bgzip FASTA, records ``<gene>_hap<h>``, random access through
``.fai``/``.gzi``) and ``prefix.tsv`` (one row per record: the reference window, the true
haplotype length and the 0-based offset where the TSS landed after indels). Sequences are
stored on the + strand at their true length; models crop, pad and orient at load time
(``sequence_encoding.centered_window`` / ``orient``), so one store serves every model.

``HaplotypeStore`` adds the individuals: shards of ``sequences.edits.HaplotypeEdits``
(``results/sequences/shardNNN.haplotypes.npz``), each haplotype rebuilt on demand from its
reference window, so nothing is loaded whole but the (small) edit tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from haplexpr.atomic import remove_stale_temporaries
from haplexpr.sequence_encoding import centered_window, orient
from haplexpr.sequences.edits import HaplotypeEdits
from haplexpr.study.design import REFERENCE_INDIVIDUAL

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
    for path in paths.values():
        remove_stale_temporaries(path)
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


class ReferenceStore:
    """Random access to the reference windows (the FASTA opened lazily, fork-safe)."""

    def __init__(self, prefix: str | Path):
        self.paths = store_paths(prefix)
        table = pd.read_csv(self.paths["table"], sep="\t", dtype={"gene": str, "chrom": str})
        self.windows = table.set_index(["gene", "haplotype"]).sort_index()
        self._fasta: pysam.FastaFile | None = None
        self._pid = -1

    def genes(self) -> list[str]:
        """Genes in the store."""
        return self.windows.index.get_level_values("gene").unique().tolist()

    def sequence(self, gene: str, haplotype: int = 1) -> str:
        """The + strand window at its true length (the reference has haplotype 1 only)."""
        if self._fasta is None or self._pid != os.getpid():
            self._fasta = pysam.FastaFile(str(self.paths["fasta"]))
            self._pid = os.getpid()
        return self._fasta.fetch(record_name(gene, haplotype))


class StoreError(KeyError):
    """An individual or gene the store does not hold; the message says which files it has."""

    def __str__(self) -> str:
        return str(self.args[0])


class HaplotypeStore:
    """Every individual's haplotypes (and the reference's) over every gene window."""

    def __init__(self, reference_prefix: str | Path, shard_paths: Iterable[str | Path]):
        self.reference = ReferenceStore(reference_prefix)
        self._genes = self.reference.genes()
        self._paths = [Path(p) for p in shard_paths]
        self._owner: dict[str, tuple[int, int]] = {}
        self._windows: list[dict[str, int]] = []  # per shard: gene -> window number
        for number, path in enumerate(self._paths):
            with np.load(path) as data:
                samples = data["samples"].tolist()
                genes = data["genes"].tolist()
            if sorted(genes) != sorted(self._genes):
                raise StoreError(
                    f"{path} was built for other gene windows than {self.reference.paths['table']}"
                    "; rebuild it (delete it and rerun)"
                )
            self._windows.append({gene: i for i, gene in enumerate(genes)})
            for index, sample in enumerate(samples):
                self._owner[sample] = (number, index)
        self._shards: dict[int, HaplotypeEdits] = {}
        self._bases = lru_cache(maxsize=256)(self._reference_bases)

    def individuals(self) -> list[str]:
        """The reference, then every individual of the shards."""
        return [REFERENCE_INDIVIDUAL, *self._owner]

    def genes(self) -> list[str]:
        """Gene windows (sorted)."""
        return list(self._genes)

    def haplotypes(self, individual: str, gene: str) -> list[int]:
        """Haplotype numbers held for an individual (the reference has one)."""
        return [1] if individual == REFERENCE_INDIVIDUAL else [1, 2]

    def strand(self, gene: str) -> str:
        """The gene's strand."""
        return self.reference.windows.loc[(gene, 1), "strand"]

    def _reference_bases(self, gene: str) -> bytes:
        return self.reference.sequence(gene, 1).encode()

    def _locate(self, individual: str, gene: str) -> tuple[HaplotypeEdits, int, int]:
        if individual not in self._owner:
            raise StoreError(
                f"individual {individual!r} is in none of the haplotype stores "
                f"{', '.join(map(str, self._paths)) or '(none given)'}"
            )
        number, index = self._owner[individual]
        if gene not in self._windows[number]:
            raise StoreError(f"gene {gene!r} is not in {self.reference.paths['table']}")
        if number not in self._shards:
            self._shards[number] = HaplotypeEdits.load(self._paths[number])
        return self._shards[number], index, self._windows[number][gene]

    def sequence(self, individual: str, gene: str, haplotype: int) -> str:
        """The + strand haplotype at its true length."""
        if individual == REFERENCE_INDIVIDUAL:
            return self.reference.sequence(gene, haplotype)
        edits, index, window = self._locate(individual, gene)
        return edits.sequence(index, window, haplotype, self._bases(gene))

    def tss_offset(self, individual: str, gene: str, haplotype: int) -> int:
        """Where the TSS landed in the haplotype (0-based)."""
        if individual == REFERENCE_INDIVIDUAL:
            return int(self.reference.windows.loc[(gene, haplotype), "tss_offset"])
        edits, index, window = self._locate(individual, gene)
        return int(edits.tss_offset[window, 2 * index + haplotype - 1])

    def model_input(self, individual: str, gene: str, haplotype: int, length: int) -> str:
        """``length`` bases centred on the TSS, in the gene's orientation (N-padded)."""
        seq = self.sequence(individual, gene, haplotype)
        centred = centered_window(seq, self.tss_offset(individual, gene, haplotype), length)
        return orient(centred, self.strand(gene))
