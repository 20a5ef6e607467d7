"""The study design read from config: genes, individuals, targets and who trains on what.

Strategy r trains on the reference genome against the reference pseudo-sample's rows
(or, for tables without them, the training individuals' mean); p and rp train on the
training individuals' haplotypes over the individual-level gene set. Held-out
individuals and held-out (``split == test``) genes are never trained on, so seen and
unseen genes and individuals can be evaluated separately.

What is embedded and predicted follows the design (:meth:`Study.reference_genes`,
:meth:`Study.individual_prediction_genes`): the reference over every gene strategy r
trains on plus every evaluated gene; individuals only over the genes individual training
uses (seen) and the held-out genes evaluated (unseen: all, or a seeded sample of
``evaluation.unseen_genes``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.study.genes import StudyTableError, gene_table, read_id_list, read_partition_table

#: The reference genome, handled as one more "individual" with a single haplotype.
REFERENCE_INDIVIDUAL = "reference"

log = logging.getLogger(__name__)

STRATEGIES = ("r", "p", "rp")


@dataclass(frozen=True)
class Example:
    """One training or prediction item: an individual's (or the reference's) gene."""

    individual: str
    gene: str
    target: float


@dataclass
class Study:
    """Validated study tables, with the train/test partitions of genes and individuals."""

    table: pd.DataFrame
    genes: pd.DataFrame
    train_individuals: list[str]
    test_individuals: list[str]
    individual_genes: list[str]
    target_column: str
    reference_sample: str
    #: held-out genes evaluated: None = all of them, else a sample of this size
    unseen_sample: int | None = None
    #: seeds the unseen-gene sample (config ``training.seed``)
    seed: int = 0

    @classmethod
    def from_config(
        cls, config: dict, root: str | Path = ".", cache_dir: str | Path | None = None
    ) -> Study:
        """Read and cross-check the tables named in ``config['data']``.

        The unseen-gene sample comes from ``evaluation.unseen_genes`` and ``training.seed``.
        ``cache_dir``: where the checked partition table is cached (read_partition_table).
        """
        data = config["data"]
        root = Path(root)
        table = read_partition_table(
            root / data["partition_table"],
            data["target_column"],
            data["missing_targets"],
            cache_dir,
        )
        study = cls(
            table=table,
            genes=gene_table(table),
            train_individuals=read_id_list(root / data["train_individuals"]),
            test_individuals=read_id_list(root / data["test_individuals"]),
            individual_genes=read_id_list(root / data["individual_genes"]),
            target_column=data["target_column"],
            reference_sample=data["reference_sample"],
            unseen_sample=config["evaluation"]["unseen_genes"],
            seed=config["training"]["seed"],
        )
        study.check()
        return study

    def check(self) -> None:
        """Cross-check lists against the table; raise with what to fix."""
        overlap = sorted(set(self.train_individuals) & set(self.test_individuals))
        if overlap:
            raise StudyTableError(
                f"individuals in both train and test lists: {overlap[:5]}; remove each from "
                "data.train_individuals or data.test_individuals"
            )
        samples = set(self.table["sample"].unique())  # not 10^7 rows through Python
        for name, ids in (("train", self.train_individuals), ("test", self.test_individuals)):
            absent = [i for i in ids if i not in samples]
            if absent:
                raise StudyTableError(
                    f"{len(absent)} {name} individuals have no rows in the partition table (or "
                    f"only rows without a target), e.g. {absent[:5]}; add their rows or drop "
                    f"them from data.{name}_individuals"
                )
        if REFERENCE_INDIVIDUAL in samples:
            raise StudyTableError(
                f"sample name {REFERENCE_INDIVIDUAL!r} is reserved for the reference genome"
            )
        genes = set(self.genes["gene"])
        absent = [g for g in self.individual_genes if g not in genes]
        if absent:
            raise StudyTableError(
                f"individual-level genes not in the table (or only in rows without a target): "
                f"{absent[:5]}; add their rows or drop them from data.individual_genes"
            )
        held_out = set(self.genes.loc[self.genes["split"] == "test", "gene"])
        leaked = sorted(set(self.individual_genes) & held_out)
        if leaked:
            raise StudyTableError(
                f"individual-level training genes are in the held-out (test) split: {leaked[:5]}"
                "; drop them from data.individual_genes or move them to the train split"
            )

    @property
    def individuals(self) -> list[str]:
        """Every individual with a personal genome (training first, then held out)."""
        return self.train_individuals + self.test_individuals

    def observed(self) -> pd.DataFrame:
        """Observed targets of the study's individuals: columns sample, gene, observed."""
        rows = self.table[self.table["sample"].isin(self.individuals)]
        return rows[["sample", "gene", self.target_column]].rename(
            columns={self.target_column: "observed"}
        )

    def reference_targets(self, genes: list[str]) -> dict[str, float]:
        """Reference-level target per gene: the ``ref`` rows, else the training mean."""
        rows = self.table[self.table["gene"].isin(genes)]
        ref = rows[rows["sample"] == self.reference_sample].set_index("gene")[self.target_column]
        if len(ref) == len(genes):
            return ref.to_dict()
        log.info("no %r rows for some genes: using the training individuals' mean", "ref")
        mean = (
            rows[rows["sample"].isin(self.train_individuals)]
            .groupby("gene")[self.target_column]
            .mean()
        )
        return {g: float(ref.get(g, mean[g])) for g in genes}

    def training_examples(self, strategy: str) -> list[Example]:
        """The (individual, gene, target) items a strategy trains on."""
        if self._check_strategy(strategy) == "r":
            genes = self.genes.loc[self.genes["split"] == "train", "gene"].tolist()
            targets = self.reference_targets(genes)
            return [Example(REFERENCE_INDIVIDUAL, g, targets[g]) for g in genes]
        columns = ["sample", "gene", self.target_column]
        ordered = self._individual_rows()[columns].sort_values(["sample", "gene"])
        return [Example(s, g, float(t)) for s, g, t in ordered.itertuples(index=False, name=None)]

    def training_count(self, strategy: str) -> int:
        """``len(training_examples(strategy))`` without building them (job sizing)."""
        if self._check_strategy(strategy) == "r":
            return int((self.genes["split"] == "train").sum())
        return self._individual_row_count

    @functools.cached_property
    def _individual_row_count(self) -> int:
        """Rows p and rp train on, counted once (each job's sizing asks; 10^7-row tables)."""
        return len(self._individual_rows())

    def _individual_rows(self) -> pd.DataFrame:
        """The table rows p and rp train on: training individuals x individual genes."""
        return self.table[
            self.table["sample"].isin(self.train_individuals)
            & self.table["gene"].isin(self.individual_genes)
        ]

    @staticmethod
    def _check_strategy(strategy: str) -> str:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; use one of {STRATEGIES}")
        return strategy

    def split_validation(
        self, strategy: str, fraction: float, seed: int
    ) -> tuple[list[Example], list[Example]]:
        """Training examples minus a held-out validation part, and that part.

        Reference training (r) holds out genes, individual training (p, rp) holds out
        training individuals: each is validated on the question it is trained for.
        """
        examples = self.training_examples(strategy)
        key = (lambda e: e.gene) if strategy == "r" else (lambda e: e.individual)
        groups = sorted({key(e) for e in examples})
        n_valid = round(fraction * len(groups))
        if fraction > 0 and len(groups) >= 6:
            n_valid = max(n_valid, 3)  # a correlation needs a few points
        if n_valid == 0:
            return examples, []
        rng = np.random.default_rng(seed)
        held = set(rng.permutation(groups)[:n_valid].tolist())
        return [e for e in examples if key(e) not in held], [e for e in examples if key(e) in held]

    def seen_genes(self) -> list[str]:
        """Genes individuals train on (``data.individual_genes``), evaluated across people."""
        return list(self.individual_genes)

    def held_out_genes(self) -> list[str]:
        """Every ``split == test`` gene, in table order."""
        return self.genes.loc[self.genes["split"] == "test", "gene"].tolist()

    def unseen_genes(self) -> list[str]:
        """The held-out genes evaluated: all, or a seeded sample of ``unseen_sample`` of them.

        The sample is drawn once from ``seed`` (``training.seed``) and kept in table order,
        so every model and strategy is scored on the same genes.
        """
        return list(self._design_genes[0])

    def gene_sets(self) -> dict[str, list[str]]:
        """The evaluated gene sets by name: seen (individual training) and unseen (held out)."""
        return {"seen_genes": self.seen_genes(), "unseen_genes": self.unseen_genes()}

    def individual_prediction_genes(self) -> list[str]:
        """Genes embedded and predicted for every individual: seen, then unseen genes."""
        return list(self._design_genes[1])

    def reference_genes(self) -> list[str]:
        """Genes embedded and predicted for the reference: r's training genes + evaluated ones."""
        return list(self._design_genes[2])

    @functools.cached_property
    def _design_genes(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(unseen, individuals', reference's) genes, worked out once: job sizing asks often."""
        held_out = self.held_out_genes()
        unseen = held_out
        if self.unseen_sample is not None and self.unseen_sample < len(held_out):
            rng = np.random.default_rng(self.seed)
            chosen = set(rng.choice(held_out, size=self.unseen_sample, replace=False).tolist())
            unseen = [g for g in held_out if g in chosen]
        individual = list(dict.fromkeys(self.seen_genes() + unseen))
        wanted = set(self.genes.loc[self.genes["split"] == "train", "gene"]) | set(individual)
        reference = [g for g in self.genes["gene"] if g in wanted]
        return tuple(unseen), tuple(individual), tuple(reference)

    def genes_of(self, individual: str) -> list[str]:
        """The genes embedded and predicted for ``individual`` (or the reference)."""
        if individual == REFERENCE_INDIVIDUAL:
            return self.reference_genes()
        return self.individual_prediction_genes()

    def prediction_items(self) -> list[tuple[str, str]]:
        """Every (individual, gene) to predict: the reference's genes, then each individual's."""
        return [
            (ind, g)
            for ind in [REFERENCE_INDIVIDUAL, *self.individuals]
            for g in self.genes_of(ind)
        ]

    def prediction_count(self) -> int:
        """``len(prediction_items())`` without building them (job sizing)."""
        individual = len(self.individual_prediction_genes())
        return len(self.reference_genes()) + len(self.individuals) * individual
