"""The HTML report on its own: the study's table, notes and the training curves."""

from __future__ import annotations

import pandas as pd

from haplexpr.metrics.evaluation import PER_GENE_SCHEMA, SUMMARY_SCHEMA, check_table
from haplexpr.report.page import report_notes, training_summary, write_report
from haplexpr.training.loop import LOG_COLUMNS


def summary(mean_r: float, kind: str = "sequence_model") -> pd.DataFrame:
    rows = [
        {"individuals": ind, "gene_set": gs, "kind": kind, "n_genes": 3, "n_individuals": 4,
         "n_constant_observed": 0, "n_constant_predictions": 0,
         **{f"{m}{end}": mean_r + d for m in ("mean_r", "median_r", "mean_spearman")
            for end, d in (("", 0), ("_low", -0.1), ("_high", 0.1))},
         "median_spearman": mean_r, "sign_agreement": 0.5, "n_significant": 1,
         "share_significant": 1 / 3, "shuffled_mean_r": 0.0, "shuffled_p95_mean_r": 0.05,
         "across_gene_r": float("nan")}
        for ind in ("held_out_individuals", "training_individuals")
        for gs in ("seen_genes", "unseen_genes")
    ]  # fmt: skip
    rows.append({**rows[0], "individuals": "reference_genome", "gene_set": "all_genes",
                 "across_gene_r": 0.6})  # fmt: skip
    return check_table(pd.DataFrame(rows), SUMMARY_SCHEMA, "test summary")


def per_gene(mean_r: float) -> pd.DataFrame:
    rows = pd.DataFrame(
        [
            {"individuals": "held_out_individuals", "gene_set": gs, "gene": g, "n": 4, "r": r,
             "spearman": r, "p_value": 0.01, "q_value": 0.03, "constant_observed": False,
             "constant_predicted": False}
            for gs in ("seen_genes", "unseen_genes")
            for g, r in (("g1", mean_r - 0.1), ("g2", mean_r), ("g3", mean_r + 0.1))
        ]
    )  # fmt: skip
    return check_table(rows, PER_GENE_SCHEMA, "test per-gene table")


def train_log(scores: list[float], kept: int | None) -> pd.DataFrame:
    n = len(scores)
    log = pd.DataFrame(
        {"epoch": range(1, n + 1), "steps": range(2, 2 * n + 1, 2), "valid_score": scores,
         "train_loss": [1.0 / e for e in range(1, n + 1)], "learning_rate": 1e-4, "seconds": 1.0}
    )  # fmt: skip
    if kept is not None:
        log["kept"] = log["epoch"] == kept
    return log


def test_report_has_the_study_table_and_training_curves(tmp_path):
    runs = {"m/r": 0.1, "m/p": 0.4, "m/rp": 0.5}
    logs = {
        "m/r": train_log([0.5, 0.7, 0.6], kept=2),
        "m/p": train_log([0.3, 0.2, 0.25], kept=1),
        "m/rp": train_log([0.1, 0.3, 0.35], kept=None),  # a log from before `kept` existed
    }
    assert set(logs["m/p"].columns) == set(LOG_COLUMNS)
    path = write_report(
        {run: summary(r) for run, r in runs.items()},
        {run: per_gene(r) for run, r in runs.items()},
        ["m: tiny random weights."],
        tmp_path / "report.html",
        logs,
    )
    page = path.read_text()
    # per-gene R, strategies, anchors, training curves
    assert page.count("data:image/png;base64,") == 4
    assert "<h2>Training</h2>" in page and "m: tiny random weights." in page
    table = training_summary(logs)
    assert table.loc["m/r", "kept_epoch"] == 2 and table.loc["m/p", "kept_epoch"] == 1
    assert table.loc["m/p", "kept_valid_score"] == 0.3
    assert pd.isna(table.loc["m/rp", "kept_epoch"]) and table.loc["m/rp", "epochs"] == 3
    assert "<th>kept_epoch</th>" in page.split("<h2>Training</h2>")[1]
    assert "<td>0.400 [0.300, 0.500]</td>" in page  # m/p's mean R and CI in the study table


def test_report_without_training_logs_has_no_training_section(tmp_path):
    path = write_report({"b/p": summary(0.3)}, {"b/p": per_gene(0.3)}, [], tmp_path / "r.html")
    page = path.read_text()
    assert "<h2>Training</h2>" not in page and page.count("data:image/png;base64,") == 3


def test_each_model_note_says_what_configuration_ran():
    glm = {"enabled": True, "architecture": "caduceus", "pretrained": "ckpt/",
           "input_length": 64_000, "layer": -1, "context": 16_000, "stride": 8_000,
           "pooling": {"region": "tss", "tss_window": 4_000, "bin_size": 32}}  # fmt: skip
    s2f = {"enabled": True, "architecture": "enformer", "pretrained": None,
           "input_length": 2048, "tiny": {"dim": 48, "depth": 1}}  # fmt: skip
    notes = report_notes(
        {"cad": glm, "enf": s2f, "off": {**s2f, "enabled": False}}, "real data: chr22"
    )
    assert notes.pop(0) == "Data: real data: chr22."
    assert notes[0] == (
        "cad: pretrained weights from ckpt/. Ran: caduceus; input 64,000 bp; layer -1; tiles of"
        " 16,000 bp every 8,000 bp; 4,000 bp at TSS in bins of 32 bp (125 positions)."
    )
    assert notes[1].endswith("Ran: enformer; input 2,048 bp; dim 48, depth 1; finetune full.")
    assert notes[2] == "off: not run in this configuration."
    lora = {**s2f, "finetune": "lora", "lora": {"rank": 4}}
    assert report_notes({"enf": lora}, "demo")[1].endswith(
        "; finetune lora (rank 4, alpha 16, targets attention and convolutions)."
    )
