"""The report's variant-effects section: direction of effect, causal recovery, one gene's track.

Inputs are rule effects_*'s tables per run (``model/strategy``): the effects
(``haplexpr.effects.runs.score_run``) and the per-gene checks. Direction-of-effect agreement
with the eQTL slopes is shown beside its chance level (50%) because the field's known
failure is the sign: sequence models often predict the wrong direction of a variant's
effect on expression (Huang et al. 2023, Sasse et al. 2023).
"""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from haplexpr.effects.checks import PERSONAL
from haplexpr.report.figures import figure_html
from haplexpr.study.design import REFERENCE_INDIVIDUAL

BACKGROUNDS = (REFERENCE_INDIVIDUAL, PERSONAL)
NOTHING_SCORED = "No variant overlapped a scored gene's model input: no effects to show."


def pooled_sign_agreement(checks: pd.DataFrame, other: str = "eqtl") -> float:
    """Share of variants, over all genes, whose effect has the sign of ``other``'s."""
    n = checks[f"{other}_n_signed"].fillna(0)
    agree = (checks[f"{other}_sign_agreement"].fillna(0) * n).sum()
    return float(agree / n.sum()) if n.sum() else np.nan


def run_summary(checks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run and background: agreement, explained share, recovery, passes."""
    rows = []
    for run, table in checks.items():
        for background in BACKGROUNDS:
            part = table[table["background"] == background]
            truth = part.dropna(subset=["auroc"])
            rows.append(
                {
                    "run": run, "background": background, "genes": len(part),
                    "variants": int(part["n_variants"].sum()),
                    "eQTL sign agreement": pooled_sign_agreement(part, "eqtl"),
                    "eQTL Spearman (median)": part["eqtl_spearman"].median(),
                    "elastic-net sign agreement": pooled_sign_agreement(part, "enet"),
                    "explained share (median)": part["explained"].median(),
                    "genes with truth": len(truth),
                    "AUROC": truth["auroc"].mean(),
                    "AUROC, TSS distance": truth["auroc_baseline"].mean(),
                    "precision@k": truth["precision_at_k"].mean(),
                    "precision@k, random": truth["precision_at_k_random"].mean(),
                    "precision@k, TSS distance": truth["precision_at_k_baseline"].mean(),
                    "forward passes": int(table.drop_duplicates("gene")["forward_passes"].sum()),
                }
            )  # fmt: skip
    return pd.DataFrame(rows).set_index(["run", "background"])


def _bars_beside_chance(
    table: pd.DataFrame, colors: list[str], chance: str, top: float, ylabel: str, caption: str
) -> str:
    """One bar per run and column of ``table``, a dashed line at the 0.5 of ``chance``."""
    figure, axis = plt.subplots(figsize=(max(4, 1.2 * len(table)), 3.2))
    table.plot.bar(ax=axis, rot=30, color=colors)
    axis.axhline(0.5, color="black", linestyle="--", linewidth=1, label=chance)
    axis.set_ylim(0, top)
    axis.set_ylabel(ylabel)
    axis.set_xlabel("")
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure_html(figure, caption)


def direction_figure(summary: pd.DataFrame) -> str:
    """Pooled eQTL sign agreement per run and background, against the 50% of chance."""
    table = summary["eQTL sign agreement"].unstack("background").reindex(columns=BACKGROUNDS)
    return _bars_beside_chance(
        table, ["#4477aa", "#ee6677"], "chance (50%)", 1, "share of variants, sign as eQTL",
        "Direction of effect: the share of scored variants whose model effect (ALT minus REF)"
        " has the sign of its marginal eQTL slope on the training individuals, pooled over"
        " genes. 50% is chance; published S2F models often fall near or below it (Huang et"
        " al. 2023, Sasse et al. 2023).",
    )  # fmt: skip


def recovery_figure(summary: pd.DataFrame) -> str:
    """Mean AUROC of causal variants per run: model, TSS distance alone, random."""
    table = summary.xs(REFERENCE_INDIVIDUAL, level="background")
    return _bars_beside_chance(
        table[["AUROC", "AUROC, TSS distance"]], ["#4477aa", "#bbbbbb"], "random ranking",
        1.05, "AUROC, causal above the rest",
        "Causal-variant recovery (reference background, genes with known causal variants):"
        " mean AUROC of |effect| ranking the planted causal variants above the rest, beside a"
        " ranking by distance to the TSS alone, which uses no model, and a random ranking"
        " (0.5). A model beats the data's layout only where it beats the distance ranking.",
    )  # fmt: skip


def chosen_gene(effects: dict[str, pd.DataFrame], track_gene: str | None) -> str | None:
    """``track_gene``, or the gene with the most scored variants in the first run (None: none)."""
    first = next(iter(effects.values()))
    if track_gene is not None:
        if track_gene not in set(first["gene"]):
            raise ValueError(
                f"effects.track_gene {track_gene!r} has no scored variants; name a gene that "
                "effects.genes scores (or null for the gene with the most variants)"
            )
        return track_gene
    reference = first[first["background"] == REFERENCE_INDIVIDUAL]
    counts = reference.groupby("gene")["key"].nunique().sort_values(ascending=False, kind="stable")
    return str(counts.index[0]) if len(counts) else None


def track_figure(effects: dict[str, pd.DataFrame], gene: str, causal: set[str]) -> str:
    """Per run: each variant's effect along the gene's window (reference and personal)."""
    figure, axes = plt.subplots(
        len(effects), 1, figsize=(9, 1.9 * len(effects)), sharex=True, squeeze=False
    )
    for axis, (run, table) in zip(axes[:, 0], effects.items(), strict=True):
        mine = table[table["gene"] == gene]
        reference = mine[mine["background"] == REFERENCE_INDIVIDUAL]
        personal = mine[mine["background"] != REFERENCE_INDIVIDUAL]
        axis.axhline(0, color="black", linewidth=0.6)
        axis.axvline(0, color="grey", linewidth=0.6, linestyle=":")
        axis.scatter(personal["tss_distance"], personal["effect"], s=8, color="#ee6677",
                     alpha=0.5, label="personal (each haplotype)")  # fmt: skip
        axis.vlines(reference["tss_distance"], 0, reference["effect"], color="#4477aa")
        axis.scatter(reference["tss_distance"], reference["effect"], s=14, color="#4477aa",
                     label="reference")  # fmt: skip
        hits = reference[reference["key"].isin(causal)]
        axis.scatter(hits["tss_distance"], hits["effect"], s=80, facecolors="none",
                     edgecolors="black", label="causal (truth)")  # fmt: skip
        axis.set_ylabel(run, fontsize=8)
    axes[0, 0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    axes[-1, 0].set_xlabel(f"{gene}: bases from the TSS along the gene's strand")
    return figure_html(
        figure,
        f"Per-variant effects (ALT minus REF prediction) along {gene}'s model input, each"
        " run in a row: the reference background (stems) and each sampled haplotype that"
        " carries the variant (dots); circled variants are causal in the truth table.",
    )


def effects_section(
    effects: dict[str, pd.DataFrame],
    checks: dict[str, pd.DataFrame],
    track_gene: str | None = None,
    causal: dict[str, set[str]] | None = None,
) -> list[str]:
    """The section's HTML parts; ``causal`` (gene -> variant keys) marks the truth."""
    summary = run_summary(checks)
    if not summary["variants"].sum():
        return ["<h2>Variant effects</h2>", f"<p>{NOTHING_SCORED}</p>"]
    parts = [
        "<h2>Variant effects</h2>",
        "<p>Each scored variant's effect is the model's ALT minus REF prediction, in the"
        " reference (the variant alone) and in sampled held-out individuals' own haplotypes"
        " (the variant reverted). Checked per gene against the marginal eQTL slopes and the"
        " elastic net's weights fitted on the training individuals; the explained share is"
        " how much of each individual's predicted deviation from the reference the"
        " per-variant effects add up to (1 = additive).</p>",
        '<div id="effects-table">',
        summary.round(3).to_html(border=0),
        "</div>",
        direction_figure(summary),
    ]
    if summary["genes with truth"].sum():
        parts.append(recovery_figure(summary))
    gene = chosen_gene(effects, track_gene)
    if gene is None:
        return parts + [f"<p>{NOTHING_SCORED}</p>"]
    parts += [
        f"<h3>Effects along {html.escape(gene)}</h3>",
        track_figure(effects, gene, (causal or {}).get(gene, set())),
    ]
    return parts
