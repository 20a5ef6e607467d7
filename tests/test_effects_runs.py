"""A run's variant effects as rules effects_s2f/effects_tower make them, on the demo's data."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pandas as pd
import pysam
import pysam.bcftools
import pytest
import yaml

from haplexpr.effects.checks import CHECK_COLUMNS, check_effects, read_truth
from haplexpr.effects.plan import EffectSettings
from haplexpr.effects.runs import load_scorer, score_run
from haplexpr.effects.scorers import ForwardPassLimitError, TowerScorer
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.embeddings.computed import compute_embeddings, load_embedder
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.predictions.elastic_net import ElasticNetSettings
from haplexpr.report.effects import (
    effects_section,
    pooled_sign_agreement,
)
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Example, Study
from haplexpr.study.genes import study_windows
from haplexpr.training.checkpoints import load_weights, save_weights
from haplexpr.training.datasets import EmbeddingDataset
from haplexpr.training.loop import predict
from haplexpr.training.runs import build_model

DEMO = "data/demo"
GENES = 6  # of the demo's individual-level genes: enough for every check, quick


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo config and study (first genes only) and a store of its held-out individuals."""
    root = tmp_path_factory.mktemp("effects_runs")
    config = yaml.safe_load(open("config.yaml"))
    study = Study.from_config(config)
    study.individual_genes = study.individual_genes[:GENES]
    config["effects"] |= {"max_variants_per_gene": 6, "max_individuals": 2, "permutations": 20}
    wanted = set(study.individual_genes)
    windows = [
        w
        for w in study_windows(config, config["data"]["partition_table"], f"{DEMO}/reference.fa")
        if w.gene in wanted
    ]
    vcfs = {}
    for chrom in ("1", "2"):
        vcfs[chrom] = str(shutil.copy(f"{DEMO}/vcf/demo.chr{chrom}.vcf.gz", root))
        pysam.bcftools.index(vcfs[chrom])
    build_reference_store(f"{DEMO}/reference.fa", windows, root / "reference")
    shard = build_haplotype_store(
        f"{DEMO}/reference.fa", vcfs, study.test_individuals, windows, root / "s.npz"
    )
    return config, study, HaplotypeStore(root / "reference", [shard]), vcfs, windows, root


def untrained_checkpoint(config: dict, name: str, path, embedding_dim: int | None = None):
    """A checkpoint as training writes it, of the seeded untrained model."""
    model = build_model(config["models"][name], config["training"]["seed"], embedding_dim)
    save_weights(path, model, {}, config["models"][name]["architecture"])
    return path


def test_a_run_is_scored_checked_and_bounded_by_its_plan(demo, caplog):
    config, study, store, vcfs, windows, root = demo
    model = untrained_checkpoint(config, "enformer", root / "enformer.pt")
    out = root / "enformer"
    with caplog.at_level("INFO"):
        tables = score_run(
            study, config, "enformer", "p", model, store, vcfs, f"{out}.tsv", f"{out}.bg.tsv"
        )
    effects = pd.read_csv(f"{out}.tsv", sep="\t", dtype={"chrom": str})
    backgrounds = pd.read_csv(f"{out}.bg.tsv", sep="\t")
    genes = study.individual_genes
    assert set(effects["gene"]) == set(genes) == set(backgrounds["gene"])
    assert (effects["background"] == REFERENCE_INDIVIDUAL).any()
    assert (effects["background"] != REFERENCE_INDIVIDUAL).any()
    # tss_distance runs along the gene's strand from the store's TSS
    for gene, group in effects.groupby("gene"):
        window = GeneWindowSequence.from_store(store, gene)
        along = (group["pos"] - 1 - window.start - window.tss_offset).to_numpy()
        sign = 1 if window.strand == "+" else -1
        assert (group["tss_distance"].to_numpy() == along * sign).all()
        reference = group[group["background"] == REFERENCE_INDIVIDUAL]
        assert len(reference) <= 6 and reference["key"].is_unique
    # the summary line's passes are those the backgrounds list; the plan bounds them
    passes = sum(tables.forward_passes.values())
    assert backgrounds.groupby("gene")["forward_passes"].first().sum() == passes
    assert f"{passes} forward passes" in caplog.text
    assert passes <= EffectSettings.from_config(config).planned_forward_passes(study)
    # one limit below what the plan needs stops the job before the model file is read
    limited = copy.deepcopy(config)
    limited["effects"]["max_forward_passes"] = passes - 1
    with pytest.raises(ForwardPassLimitError, match=r"effects\.max_forward_passes"):
        score_run(study, limited, "enformer", "p", root / "absent.pt", store, vcfs,
                  root / "x.tsv", root / "x.bg.tsv")  # fmt: skip
    assert not (root / "x.tsv").exists()

    checks = check_effects(
        effects, backgrounds, study, windows, vcfs, config["models"]["enformer"]["input_length"],
        ElasticNetSettings.from_config(config), read_truth(f"{DEMO}/truth.tsv"), 20, 0,
    )  # fmt: skip
    assert list(checks.columns) == CHECK_COLUMNS
    assert len(checks) == 2 * len(genes) and set(checks["gene"]) == set(genes)
    assert checks.drop_duplicates("gene")["forward_passes"].sum() == passes
    # every gene's eQTL slopes are fitted on training individuals; the signs are compared
    assert (checks["eqtl_n_signed"] > 0).all()
    assert checks["eqtl_sign_agreement"].between(0, 1).all()
    # the demo's truth: causal SNVs nearest the TSS, so distance alone ranks them first
    truth = checks[(checks["background"] == REFERENCE_INDIVIDUAL) & checks["auroc"].notna()]
    assert len(truth) >= 3 and (truth["auroc_baseline"] == 1.0).all()
    assert (truth["auroc_random"] == 0.5).all()
    # the report's section: a table, the direction figure, recovery and one gene's track
    section = "\n".join(effects_section({"enformer/p": effects}, {"enformer/p": checks}))
    assert section.count("<img") == 3 and "Variant effects" in section
    pooled = pooled_sign_agreement(checks[checks["background"] == REFERENCE_INDIVIDUAL])
    assert f"<td>{pooled:.3f}".rstrip("0") in section


def test_a_tower_scores_an_unedited_window_as_its_predictions_do(demo):
    """TowerScorer embeds a window anew; the run's predictions read the stored embedding."""
    config, study, store, vcfs, _, root = demo
    nt = config["models"]["nt"]
    embedder = load_embedder(nt, "cpu")
    path = untrained_checkpoint(config, "nt", root / "nt.pt", embedder.embedding_dim)
    scorer, batch = load_scorer(config, "nt", "p", path)
    assert isinstance(scorer, TowerScorer) and batch == nt["batch_size"]
    genes = store.genes()[:3]
    array = compute_embeddings(
        store, [REFERENCE_INDIVIDUAL], nt, root / "nt.npy", root / "nt.json", "cpu"
    )
    examples = [Example(REFERENCE_INDIVIDUAL, g, float("nan")) for g in genes]
    model = build_model(nt, config["training"]["seed"], embedder.embedding_dim)
    load_weights(model, path, nt["architecture"])
    stored = predict(model, EmbeddingDataset([array], examples), 4, "cpu")
    length = EmbeddingWindows.from_config("nt", nt).input_length
    windows = [store.model_input(REFERENCE_INDIVIDUAL, g, 1, length) for g in genes]
    np.testing.assert_allclose(scorer(windows), stored, rtol=1e-4, atol=1e-5)
    # an edited window scores differently: the tower reads what the gLM makes of the bases
    edited = windows[0][: length // 2] + ("A" if windows[0][length // 2] != "A" else "C")
    edited += windows[0][length // 2 + 1 :]
    assert scorer([edited])[0] != pytest.approx(stored[0], abs=1e-7)
