"""Predictions of a trained (or zero-shot) model for every individual and the reference.

The model is rebuilt as training built it (:mod:`haplexpr.training.runs`) and its
checkpoint loaded; S2F models run each distinct window once, towers read the stored
embeddings. One parquet table per (model, strategy): sample, gene, prediction.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Subset

from haplexpr.atomic import atomic_path
from haplexpr.devices import resolve_device
from haplexpr.models.precision import mixed_precision_context
from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.sequence_encoding import one_hot
from haplexpr.sequences.distinct import batches, distinct_windows
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Example, Study
from haplexpr.training.checkpoints import load_weights
from haplexpr.training.datasets import SequenceDataset
from haplexpr.training.loop import predict
from haplexpr.training.runs import make_dataset, model_for
from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)


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
    settings = TrainingSettings.from_config(config, model_name, strategy)
    if individuals is None:
        items = study.prediction_items()
    else:
        items = [(i, g) for i in individuals for g in study.individual_prediction_genes()]
    examples = [Example(individual, gene, float("nan")) for individual, gene in items]
    dataset = make_dataset(model_config, inputs, examples)
    model = model_for(dataset, model_config, settings.seed)
    if model_path is not None:
        load_weights(model, model_path, model_config["architecture"])
    if isinstance(dataset, SequenceDataset):
        values = predict_distinct(model, dataset, settings)
    else:  # towers read stored embeddings, which hold each distinct window once already
        values = np.empty(len(examples))
        # The reference has one haplotype, individuals two: batch them apart (a new
        # cohort has no reference rows).
        for group in (
            [i for i, e in enumerate(examples) if e.individual == REFERENCE_INDIVIDUAL],
            [i for i, e in enumerate(examples) if e.individual != REFERENCE_INDIVIDUAL],
        ):
            if not group:
                continue
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
