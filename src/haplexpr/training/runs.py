"""Wires a (model, strategy) run: which data, which model, which checkpoint, where to.

S2F models read one-hot haplotypes from ``results/sequences``; gLM towers read frozen
embeddings from ``results/embeddings/<model>``. Both are wrapped to average the
predictions of an individual's haplotypes, then trained by the one shared loop.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from haplexpr.models import registry
from haplexpr.models.wrappers import HaplotypeAverage, ReverseComplementAverage
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.statistics import pearson_rows
from haplexpr.study.design import Example, Study
from haplexpr.training.datasets import EmbeddingDataset, SequenceDataset
from haplexpr.training.loop import (
    Validation,
    train,
)
from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)


def build_model(model_config: dict, seed: int, embedding_dim: int | None = None) -> nn.Module:
    """The trainable model for a config entry, haplotype-averaging, seeded."""
    torch.manual_seed(seed)
    settings = registry.settings(model_config)
    if settings.family == "s2f":
        model = registry.build(model_config)
        if settings.rc_average:
            model = ReverseComplementAverage(model)
        return HaplotypeAverage(model)
    from haplexpr.models.tower import TowerHead

    tower = TowerHead(in_dim=embedding_dim, **settings.tower)
    log.info(
        "tower on %d-d embeddings: each output of its last block sees %d positions, every %d",
        embedding_dim,
        *tower.receptive_field,
    )
    return HaplotypeAverage(tower)


def make_dataset(
    model_config: dict, inputs: HaplotypeStore | list[Path], examples: list[Example]
) -> SequenceDataset | EmbeddingDataset:
    """Dataset over ``inputs``: the sequence store (s2f) or embedding shard arrays."""
    if registry.family(model_config) == "s2f":
        return SequenceDataset(inputs, examples, model_config["input_length"])
    return EmbeddingDataset(inputs, examples)


def model_inputs(rule_input) -> HaplotypeStore | list[Path]:
    """A rule's model inputs: embedding arrays, else the sequence store of its files.

    ``rule_input`` is the rule's ``snakemake.input`` or a dict of its named files (what
    :func:`haplexpr.training.torchrun.launch` hands to the ranks).
    """
    if "embeddings" in rule_input.keys():
        return [Path(p) for p in rule_input["embeddings"]]
    return HaplotypeStore(Path(rule_input["reference"]).with_suffix(""), rule_input["haplotypes"])


def model_for(dataset, model_config: dict, seed: int) -> nn.Module:
    """The model for ``dataset``: a tower sized to its embeddings, or the S2F model."""
    dim = dataset.embedding_dim if isinstance(dataset, EmbeddingDataset) else None
    return build_model(model_config, seed, dim)


def train_run(
    study: Study,
    config: dict,
    model_name: str,
    strategy: str,
    out_dir: str | Path,
    inputs: HaplotypeStore | list[Path],
    init_weights: str | Path | None = None,
) -> Path:
    """Train one model with one strategy; rp starts from ``init_weights`` (the r model)."""
    model_config = config["models"][model_name]
    settings = TrainingSettings.from_config(config, model_name, strategy)
    examples, held_out = study.split_validation(
        strategy, config["training"]["validation_fraction"], settings.seed
    )
    if settings.target == "gene_centred":
        examples, held_out = gene_centred(examples, held_out)
    dataset = make_dataset(model_config, inputs, examples)
    validation = None
    if held_out:
        validation = Validation(
            make_dataset(model_config, inputs, held_out), partial(validation_score, held_out)
        )
    log.info(
        "%s/%s: %d training and %d validation examples",
        model_name,
        strategy,
        len(examples),
        len(held_out),
    )
    model = model_for(dataset, model_config, settings.seed)
    return train(
        model,
        dataset,
        settings,
        out_dir,
        init_weights=init_weights,
        validation=validation,
        architecture=model_config["architecture"],
    )


def gene_centred(
    examples: list[Example], held_out: list[Example]
) -> tuple[list[Example], list[Example]]:
    """Targets minus each gene's mean over the training examples (validation uses the same).

    What is left is how individuals differ within a gene; the gene's level, which
    individual training cannot learn from a few variants, no longer dominates the loss.
    """
    frame = pd.DataFrame({"gene": [e.gene for e in examples], "y": [e.target for e in examples]})
    means = frame.groupby("gene")["y"].mean().to_dict()
    return tuple(
        [dataclasses.replace(e, target=e.target - means[e.gene]) for e in group]
        for group in (examples, held_out)
    )


def validation_score(examples: list[Example], predictions: np.ndarray) -> float:
    """Within-gene R: Pearson of gene-centred predictions and targets, pooled over genes.

    It asks the cross-individual question of the evaluation, but pools every gene so that a
    handful of validation individuals still gives a stable score. For the reference alone
    (strategy r) it is the across-gene R.
    """
    frame = pd.DataFrame(
        {
            "individual": [e.individual for e in examples],
            "gene": [e.gene for e in examples],
            "observed": [e.target for e in examples],
            "predicted": predictions,
        }
    )
    if frame["individual"].nunique() > 1:
        by_gene = frame.groupby("gene")[["observed", "predicted"]]
        frame[["observed", "predicted"]] -= by_gene.transform("mean")
    if len(frame) < 2:
        return 0.0
    r = pearson_rows(frame[["predicted"]].T.to_numpy(), frame[["observed"]].T.to_numpy())
    return float(np.nan_to_num(r[0]))
