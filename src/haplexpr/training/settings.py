"""What one training run is set to: its family's recipe, the model's overrides, seed, device.

Built once per run from the validated config (:meth:`TrainingSettings.from_config`) and
read as attributes by the loop, its batches, optimisation and resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from haplexpr.config import training_recipe


@dataclass(frozen=True)
class TrainingSettings:
    """Optimiser and schedule knobs (config ``training.<family>``) plus seed and device."""

    learning_rate: float
    batch_size: int
    epochs: int
    warmup_fraction: float
    final_lr_ratio: float
    pairwise_alpha: float
    gradient_accumulation: int = 1
    mixed_precision: bool = True
    seed: int = 0
    device: str = "auto"
    early_stopping_patience: int = 0
    batches: str = "shuffled"
    target: str = "raw"
    schedule: str = "per_step"
    scale_lr_by_gpus: bool = False
    batch_size_per: str = "job"

    def global_batch(self, world_size: int) -> int:
        """Examples per batch over all ranks: ``batch_size``, or per rank (the seed's)."""
        return self.batch_size * (world_size if self.batch_size_per == "gpu" else 1)

    @classmethod
    def from_config(cls, config: dict, model: str, strategy: str) -> TrainingSettings:
        """Settings of one run of ``model`` with ``strategy`` (r: no pairwise term).

        The knobs are the model's recipe: its family's block with its own ``training``
        overrides (:func:`haplexpr.config.training_recipe`).
        """
        knobs = training_recipe(config, model)
        if strategy == "r":  # one example per gene: no pairs, nothing to group
            knobs["pairwise_alpha"] = 0.0
            knobs["batches"] = "shuffled"
            knobs["target"] = "raw"  # one value per gene: centring would leave nothing
        shared = config["training"]
        return cls(
            **knobs,
            seed=shared["seed"],
            device=shared["device"],
            early_stopping_patience=shared["early_stopping_patience"],
        )
