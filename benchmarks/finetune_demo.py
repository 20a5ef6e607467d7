"""Held-out R of one S2F model of a finished demo run, retrained in each ``finetune`` mode.

Reads the run's config and sequence store, trains strategies r and p (rp starts from r)
with ``finetune`` set to each mode, predicts everyone and prints the primary metric (mean
per-gene R across held-out individuals, seen genes) of each, as the metrics rule does.
Writes under ``<run>/finetune_demo/<mode>/``; the run's own results are not touched.

    python benchmarks/finetune_demo.py runs/default_demo [--model enformer]
                                       [--modes full heads lora] [--strategies r p]
"""

from __future__ import annotations

import argparse
import copy
import logging
from pathlib import Path

import pandas as pd
import yaml

from haplexpr.metrics.evaluation import EvaluationSettings, evaluate, primary_row
from haplexpr.models.finetune import FINETUNE_MODES
from haplexpr.predictions.runs import predict_run
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import Study
from haplexpr.training.runs import train_run


def main() -> None:
    """Retrain and score the model in each mode; print one row per (mode, strategy)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished demo run (config.yaml, results/)")
    parser.add_argument("--model", default="enformer")
    parser.add_argument("--modes", nargs="+", choices=FINETUNE_MODES, default=FINETUNE_MODES)
    parser.add_argument("--strategies", nargs="+", default=["r", "p"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = yaml.safe_load((args.run / "config.yaml").read_text())
    sequences = args.run / "results" / "sequences"
    store = HaplotypeStore(sequences / "reference", sorted(sequences.glob("*.haplotypes.npz")))
    study = Study.from_config(config)
    rows = []
    for mode in args.modes:
        tuned = copy.deepcopy(config)
        tuned["models"][args.model]["finetune"] = mode
        out = args.run / "finetune_demo" / mode
        for strategy in args.strategies:
            init = out / "r" / "model.pt" if strategy == "rp" else None
            model = train_run(study, tuned, args.model, strategy, out / strategy, store, init)
            predictions = out / f"{strategy}.parquet"
            predict_run(study, tuned, args.model, strategy, model, predictions, store)
            summary, _ = evaluate(
                pd.read_parquet(predictions), study, EvaluationSettings.from_config(tuned)
            )
            primary = primary_row(summary)
            rows.append((mode, strategy, primary["mean_r"], primary["shuffled_mean_r"]))
            logging.info("finetune %s, %s: held-out R %.3f", mode, strategy, primary["mean_r"])
    print(pd.DataFrame(rows, columns=["finetune", "strategy", "mean_r", "shuffled_mean_r"]))


if __name__ == "__main__":
    main()
