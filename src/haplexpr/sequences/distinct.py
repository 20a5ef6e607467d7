"""Each distinct model input once: haplotypes that share a window's sequence share its output.

Within one gene's window many haplotypes are identical: common haplotypes recur across
individuals, and a window with no variant in someone is the reference. A frozen gLM, or an
S2F model in eval mode, maps equal inputs to equal outputs, so the embedding and prediction
steps compute each distinct sequence once and hand the result to every haplotype that has
it. How much this saves depends on the data: on the demo's 2 kb windows one haplotype in
five is distinct; long windows over many individuals share less.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from haplexpr.sequences.store import HaplotypeStore

#: (individual, gene, haplotype)
Item = tuple[str, str, int]


@dataclass(frozen=True)
class DistinctWindow:
    """One distinct model input of a gene and the haplotypes whose input it is."""

    sequence: str
    items: tuple[Item, ...]


def distinct_windows(
    store: HaplotypeStore, individuals: Iterable[str], genes: Iterable[str], length: int
) -> Iterator[DistinctWindow]:
    """The distinct ``length``-base inputs of each gene, in order of first appearance.

    One gene's haplotypes are held at a time, so memory stays at one gene's worth.
    """
    individuals = list(individuals)
    for gene in genes:
        groups: dict[str, list[Item]] = {}
        for individual in individuals:
            for haplotype in store.haplotypes(individual, gene):
                sequence = store.model_input(individual, gene, haplotype, length)
                groups.setdefault(sequence, []).append((individual, gene, haplotype))
        for sequence, items in groups.items():
            yield DistinctWindow(sequence, tuple(items))


def batches(windows: Iterable[DistinctWindow], size: int) -> Iterator[list[DistinctWindow]]:
    """Consecutive lists of ``size`` windows (the last may be shorter), across genes."""
    batch: list[DistinctWindow] = []
    for window in windows:
        batch.append(window)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
