"""Wires a (model, strategy) run: which data, which model, which checkpoint, where to.

S2F models read one-hot haplotypes from ``results/sequences``; gLM towers read frozen
embeddings from ``results/embeddings/<model>``. Both are wrapped to average the
predictions of an individual's haplotypes, then trained by the one shared loop.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Subset

from haplexpr.atomic import atomic_path
from haplexpr.devices import resolve_device
from haplexpr.evaluation.statistics import pearson_rows
from haplexpr.models import registry
from haplexpr.models.precision import mixed_precision_context
from haplexpr.models.wrappers import HaplotypeAverage, ReverseComplementAverage
from haplexpr.sequence_encoding import one_hot
from haplexpr.sequences.distinct import batches, distinct_windows
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Example, Study
from haplexpr.training.checkpoints import load_weights
from haplexpr.training.datasets import EmbeddingDataset, SequenceDataset
from haplexpr.training.loop import (
    TrainingSettings,
    Validation,
    predict,
    train,
)

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
    :func:`haplexpr.training.distributed.launch` hands to the ranks).
    """
    if "embeddings" in rule_input.keys():
        return [Path(p) for p in rule_input["embeddings"]]
    return HaplotypeStore(Path(rule_input["reference"]).with_suffix(""), rule_input["haplotypes"])


def _model_for(dataset, model_config: dict, seed: int) -> nn.Module:
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
    settings = TrainingSettings.from_config(
        config, registry.training_block(model_config), strategy, model_config
    )
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
    model = _model_for(dataset, model_config, settings.seed)
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


@torch.inference_mode()
def predict_distinct(
    model: HaplotypeAverage, dataset: SequenceDataset, settings: TrainingSettings
) -> np.ndarray:
    """The haplotype-averaged prediction of each example, each distinct window run once.

    In eval mode a sequence's prediction does not depend on its batch, so a window that
    several haplotypes share (:mod:`haplexpr.sequences.distinct`) is predicted once, in
    batches of ``2 * batch_size`` windows (as many as ``batch_size`` individuals bring).
    """
    target = resolve_device(settings.device)
    per_sequence = model.to(target).eval().model
    store, examples = dataset.store, dataset.examples
    individuals = list(dict.fromkeys(e.individual for e in examples))
    genes = list(dict.fromkeys(e.gene for e in examples))
    windows = distinct_windows(store, individuals, genes, dataset.input_length)
    per_haplotype: dict[tuple[str, str, int], float] = {}
    with mixed_precision_context(target, settings.mixed_precision):
        for chunk in batches(windows, 2 * settings.batch_size):
            x = torch.from_numpy(np.stack([one_hot(w.sequence) for w in chunk]))
            values = per_sequence(x.to(target)).float().cpu().numpy()
            for window, value in zip(chunk, values, strict=True):
                per_haplotype.update(dict.fromkeys(window.items, float(value)))
    return np.array(
        [
            np.mean(
                [
                    per_haplotype[(e.individual, e.gene, h)]
                    for h in store.haplotypes(e.individual, e.gene)
                ]
            )
            for e in examples
        ]
    )


def predict_run(
    study: Study,
    config: dict,
    model_name: str,
    strategy: str,
    model_path: str | Path | None,
    out_path: str | Path,
    inputs: HaplotypeStore | list[Path],
    individuals: list[str] | None = None,
) -> Path:
    """Predict every (individual, gene) and the reference; write a parquet table.

    Without ``model_path`` (strategy ``zs``) the model is not fine-tuned: its pretrained
    output track is read out (``head: track``), the zero-shot prediction. ``individuals``:
    a new cohort's, predicted over the genes the study predicts for individuals (no
    reference rows), instead of the study's.
    """
    started = time.monotonic()
    model_config = config["models"][model_name]
    if model_path is None:
        model_config = {**model_config, "head": "track"}
    settings = TrainingSettings.from_config(
        config, registry.training_block(model_config), strategy, model_config
    )
    if individuals is None:
        items = study.prediction_items()
    else:
        items = [(i, g) for i in individuals for g in study.individual_prediction_genes()]
    examples = [Example(individual, gene, float("nan")) for individual, gene in items]
    dataset = make_dataset(model_config, inputs, examples)
    model = _model_for(dataset, model_config, settings.seed)
    if model_path is not None:
        load_weights(model, model_path, model_config["architecture"])
    if isinstance(dataset, SequenceDataset):
        values = predict_distinct(model, dataset, settings)
    else:  # towers read stored embeddings, which hold each distinct window once already
        values = np.empty(len(examples))
        # The reference has one haplotype, individuals two: batch them apart.
        for group in (
            [i for i, e in enumerate(examples) if e.individual == REFERENCE_INDIVIDUAL],
            [i for i, e in enumerate(examples) if e.individual != REFERENCE_INDIVIDUAL],
        ):
            subset = Subset(dataset, group)
            values[group] = predict(
                model, subset, settings.batch_size, settings.device, settings.mixed_precision
            )
    frame = pd.DataFrame(items, columns=["sample", "gene"]).assign(prediction=values)
    with atomic_path(out_path) as tmp:
        frame.to_parquet(tmp, index=False)
    log.info(
        "%s/%s: %d predictions in %.1f s -> %s",
        model_name,
        strategy,
        len(frame),
        time.monotonic() - started,
        out_path,
    )
    return Path(out_path)
