"""What the ``effects`` config section asks for: which runs, genes and individuals, and a bound.

Torch-free: the Snakefile reads it while building the DAG (targets and GPU time limits).
"""

from __future__ import annotations

from dataclasses import dataclass

from haplexpr.study.design import Study


@dataclass(frozen=True)
class EffectSettings:
    """The config's ``effects`` block, with its nulls resolved (seed: ``training.seed``)."""

    enabled: bool
    models: list[str] | None
    strategies: list[str]
    genes: str
    max_variants_per_gene: int | None
    max_individuals: int | None
    seed: int
    max_forward_passes: int
    permutations: int
    batch_size: int | None
    truth: str | None
    track_gene: str | None

    @classmethod
    def from_config(cls, config: dict) -> EffectSettings:
        """From the validated config (``effects.seed: null`` takes ``training.seed``)."""
        block = dict(config["effects"])
        if block["seed"] is None:
            block["seed"] = config["training"]["seed"]
        return cls(**block)

    def runs(self, trained: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The trained (model, strategy) runs to score: ``models`` (null = all) x ``strategies``."""
        if not self.enabled:
            return []
        return [
            (m, s)
            for m, s in trained
            if s in self.strategies and (self.models is None or m in self.models)
        ]

    def gene_list(self, study: Study) -> list[str]:
        """``individual``: the genes p and rp train on; ``all``: every gene of the study."""
        if self.genes == "individual":
            return list(study.individual_genes)
        return study.genes["gene"].tolist()

    def planned_forward_passes(self, study: Study) -> int:
        """The most forward passes a job can need: the plan's worst case, capped by the limit.

        Per gene ``1 + V + 2 I (1 + V)``: the reference, each of ``V`` variants inserted in
        it, and each of ``I`` individuals' two haplotypes with each variant reverted. Shared
        windows make the real count lower; ``max_forward_passes`` caps it either way.
        """
        v, i = self.max_variants_per_gene, self.max_individuals
        if v is None or i is None:
            return self.max_forward_passes
        i = min(i, len(study.test_individuals))
        plan = len(self.gene_list(study)) * (1 + v + 2 * i * (1 + v))
        return min(plan, self.max_forward_passes)


def scored_runs(config: dict) -> list[tuple[str, str]]:
    """The trained (model, strategy) runs ``effects`` scores, in the rules' order.

    Every enabled S2F model and gLM x strategy, less gLMs imported from ``precomputed_root``
    (scoring runs the gLM itself on edited windows), filtered by ``effects.models`` and
    ``effects.strategies``.
    """
    from haplexpr.config import precomputed, trained_runs

    trained = [(m, s) for m, s in trained_runs(config) if not precomputed(config, m)]
    return EffectSettings.from_config(config).runs(trained)
