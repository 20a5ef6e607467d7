"""Personal haplotypes stored as edits of the reference windows.

The sequences of different people are nearly identical, so a haplotype is stored as the
list of edits that turn its reference window into it (``[start, end)`` of the window
replaced by some bases). Each window has one table of distinct edits, shared by every
haplotype that carries them; a haplotype is a list of row numbers into that table. A store
for hundreds of people is a few percent of the bytes of their FASTA files, and rebuilding
a haplotype is a memory copy (``sequences.materialise``). Both consensus engines
(``fast_engine`` and the bcftools one in ``personal_sequences``) write this layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from haplexpr.atomic import atomic_path
from haplexpr.coordinates import Interval
from haplexpr.sequences.materialise import materialise, materialise_columns


class EngineError(ValueError):
    """Haplotypes cannot be built from these inputs; the message says why."""


@dataclass(frozen=True)
class Window:
    """A window to build: its reference interval and the TSS inside it (0-based)."""

    interval: Interval
    tss: int


class WindowEdits(NamedTuple):
    """One window's edits, as either engine builds them and ``EditCollector`` gathers them.

    Window coordinates; column ``c``'s edits are rows ``edit_ids[col_ptr[c]:col_ptr[c + 1]]``
    of the table, and ``lengths``/``tss_offsets`` its sequence's length and TSS.
    """

    edit_start: np.ndarray
    edit_end: np.ndarray
    edit_data_ptr: np.ndarray
    edit_data_len: np.ndarray
    edit_data: np.ndarray
    col_ptr: np.ndarray
    edit_ids: np.ndarray
    lengths: np.ndarray
    tss_offsets: np.ndarray


@dataclass
class HaplotypeEdits:
    """Every haplotype of some samples over some windows, as edits of the reference.

    Window ``w``'s distinct edits are rows ``edit_first[w]:edit_first[w + 1]`` of the edit
    table (window coordinates); haplotype (window ``w``, column ``c = 2 * sample + h - 1``)
    is the list ``hap_edits[hap_ptr[w * n_cols + c] : hap_ptr[w * n_cols + c + 1]]``.
    """

    samples: list[str]
    genes: list[str]
    edit_first: np.ndarray
    edit_start: np.ndarray
    edit_end: np.ndarray
    edit_data_ptr: np.ndarray
    edit_data_len: np.ndarray
    edit_data: np.ndarray
    hap_ptr: np.ndarray
    hap_edits: np.ndarray
    length: np.ndarray
    tss_offset: np.ndarray

    @property
    def n_columns(self) -> int:
        """Genotype columns: two haplotypes per sample."""
        return 2 * len(self.samples)

    @property
    def _table(self) -> tuple[np.ndarray, ...]:
        """The edit table as the kernels take it: starts, ends, data offsets, lengths, bases."""
        return (
            self.edit_start,
            self.edit_end,
            self.edit_data_ptr,
            self.edit_data_len,
            self.edit_data,
        )

    def haplotype(self, sample: int, window: int, haplotype: int) -> np.ndarray:
        """Edit rows (into the whole table) of one haplotype, in order."""
        slot = window * self.n_columns + 2 * sample + haplotype - 1
        return self.hap_edits[self.hap_ptr[slot] : self.hap_ptr[slot + 1]]

    def materialise(
        self, sample: int, window: int, haplotype: int, reference: np.ndarray, out: np.ndarray
    ) -> int:
        """Write one haplotype's bases into ``out`` (reused buffer); return its length."""
        return materialise(reference, self.haplotype(sample, window, haplotype), *self._table, out)

    def materialise_window(
        self, window: int, reference: np.ndarray, out: np.ndarray, lengths: np.ndarray
    ) -> None:
        """Every haplotype of one window into the rows of ``out`` (column order).

        ``out`` is ``(2 * samples, >= longest)`` uint8 and ``lengths`` receives each length;
        reuse both across windows, so nothing is allocated per sequence.
        """
        first = window * self.n_columns
        materialise_columns(
            reference, self.hap_ptr, first, self.hap_edits, *self._table, out, lengths
        )

    def sequence(self, sample: int, window: int, haplotype: int, reference: bytes) -> str:
        """One haplotype as a string (for inspection and tests)."""
        ref = np.frombuffer(reference, np.uint8)
        out = np.empty(int(self.length[window, 2 * sample + haplotype - 1]), np.uint8)
        n = self.materialise(sample, window, haplotype, ref, out)
        return out[:n].tobytes().decode()

    def nbytes(self) -> int:
        """Bytes held in memory by the arrays."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))

    def save(self, path: str | Path) -> Path:
        """Write as an ``.npz`` (uncompressed: it loads at disk speed), atomically."""
        arrays = {k: v for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        with atomic_path(path) as tmp:
            with tmp.open("wb") as handle:
                np.savez(
                    handle, samples=np.array(self.samples), genes=np.array(self.genes), **arrays
                )
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> HaplotypeEdits:
        """Read a store written by :meth:`save`."""
        with np.load(path) as data:
            fields = {k: data[k] for k in data.files}
        fields["samples"] = fields["samples"].tolist()
        fields["genes"] = fields["genes"].tolist()
        return cls(**fields)


def windows_by_chromosome(windows: list[Window], vcfs: dict) -> dict[str, list[int]]:
    """Window numbers per chromosome; every chromosome must have a VCF."""
    by_chrom: dict[str, list[int]] = {}
    for number, window in enumerate(windows):
        by_chrom.setdefault(window.interval.chrom, []).append(number)
    absent = sorted(set(by_chrom) - set(vcfs))
    if absent:
        raise EngineError(
            f"no VCF for chromosome(s) {', '.join(absent)} holding study windows; add them "
            "to the URL list or drop those genes"
        )
    return by_chrom


class EditCollector:
    """Gathers per-window results (built chromosome by chromosome) into one store."""

    def __init__(self, n_windows: int, n_columns: int):
        self.n_columns = n_columns
        self.windows: list[WindowEdits | None] = [None] * n_windows

    def add(self, window: int, edits: WindowEdits) -> None:
        """Keep one window's edits."""
        self.windows[window] = edits

    def finish(self, samples: list[str], genes: list[str]) -> HaplotypeEdits:
        """Concatenate windows in gene order, renumbering edit rows and data offsets."""
        if any(w is None for w in self.windows):
            raise EngineError("internal error: some windows were not built")
        starts, ends, dptr, dlen, data, ptrs, ids = ([] for _ in range(7))
        edit_first = [0]
        n_data = 0
        n_ids = 0
        for w in self.windows:
            starts.append(w.edit_start)
            ends.append(w.edit_end)
            dptr.append(w.edit_data_ptr + n_data)
            dlen.append(w.edit_data_len)
            data.append(w.edit_data)
            ids.append(w.edit_ids + edit_first[-1])
            ptrs.append(w.col_ptr[1:] + n_ids)
            edit_first.append(edit_first[-1] + len(w.edit_start))
            n_data += len(w.edit_data)
            n_ids += len(w.edit_ids)
        return HaplotypeEdits(
            samples=list(samples),
            genes=list(genes),
            edit_first=np.asarray(edit_first, np.int64),
            edit_start=np.concatenate(starts).astype(np.int32),
            edit_end=np.concatenate(ends).astype(np.int32),
            edit_data_ptr=np.concatenate(dptr).astype(np.int64),
            edit_data_len=np.concatenate(dlen).astype(np.int32),
            edit_data=np.concatenate(data).astype(np.uint8),
            hap_ptr=np.concatenate([np.zeros(1, np.int64), *ptrs]),
            hap_edits=np.concatenate(ids).astype(np.int32),
            length=np.stack([w.lengths for w in self.windows]).astype(np.int32),
            tss_offset=np.stack([w.tss_offsets for w in self.windows]).astype(np.int32),
        )
