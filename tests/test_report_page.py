"""The HTML report on its own: the study's table, notes and the training curves."""

from __future__ import annotations

import pandas as pd
from support.report_tables import per_gene, summary, train_log

from haplexpr.report.page import report_notes, training_summary, write_report
from haplexpr.training.loop import LOG_COLUMNS


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
