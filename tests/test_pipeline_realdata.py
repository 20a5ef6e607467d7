"""The real-data study end to end: built from Debian's packages, run by the real workflow.

The builder fetches ``qtltools-example`` and ``hisat2`` with ``apt-get download`` (into
``data/geuvadis_chr22/packages``, reused), so this needs package lists that know them
(``scripts/install_system_deps.sh --realdata``). The run is the README's real-data config
with one gLM (NT v2, tiny, strategy p, 5 tower epochs) beside the elastic net (5 CV folds),
to fit CI's time; the README's run trains every model and uses 10 folds.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from support import ROOT
from support.pipeline_runs import LOCAL_PROFILE, primary_metrics, snakemake

from haplexpr.cli import main as haplexpr_cli
from haplexpr.realdata.geuvadis_chr22 import build_study

pytestmark = pytest.mark.slow

PACKAGES = ROOT / "data" / "geuvadis_chr22" / "packages"
CI_MODELS = ("nt",)


@pytest.fixture(scope="module")
def chr22(tmp_path_factory):
    """The study built in a scratch folder and run through `all` (NT v2 p, elastic net)."""
    root = tmp_path_factory.mktemp("chr22")
    build_study(root / "data" / "geuvadis_chr22", PACKAGES)
    config = yaml.safe_load((ROOT / "config" / "geuvadis_chr22.yaml").read_text())
    for name, model in config["models"].items():
        model["enabled"] = name in CI_MODELS
    config["models"]["nt"]["training"] = {"epochs": 5}
    config["strategies"] = ["p"]
    config["baselines"]["elastic_net"]["cv_folds"] = 5
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(root, "--profile", str(LOCAL_PROFILE), "--cores", "2", "all")
    assert result.returncode == 0, result.stderr[-5000:]
    return root


def test_every_real_data_decision_is_counted(chr22):
    decisions = json.loads((chr22 / "data" / "geuvadis_chr22" / "decisions.json").read_text())
    genes = decisions["genes"]
    assert genes["in_expression"] == 608 and genes["versioned_ids_renamed"] == 608
    assert genes["dropped: window wholly outside the known reference bases"] == 582
    assert genes["dropped: window partly outside the known reference bases"] == 2
    assert (genes["kept"], genes["train"], genes["test"]) == (24, 17, 7)
    assert decisions["individuals"]["with_genotypes_expression_and_covariates"] == 358
    assert decisions["known_region"] == [20_000_000, 21_000_000]
    fates = pd.read_csv(chr22 / "data" / "geuvadis_chr22" / "genes.tsv", sep="\t")
    assert len(fates) == 608 and (fates["fate"] == "kept").sum() == 24


def test_the_published_vcf_is_renamed_normalised_and_checked(chr22, monkeypatch):
    log = (chr22 / "results" / "logs" / "vcf" / "22.normalise.log").read_text()
    assert "renamed 1 contigs: chr22 -> 22" in log
    assert "83621 records on unknown reference bases (N), REF not checkable" in log
    check = json.loads((chr22 / "results" / "vcf" / "22.check.json").read_text())
    assert check["unknown_reference"] == 83621
    monkeypatch.chdir(chr22)  # the config's paths are relative to the run's folder
    assert haplexpr_cli(["check", "--configfile", "config.yaml"]) == 0


def test_the_elastic_net_predicts_held_out_people_where_genotypes_explain_expression(chr22):
    """Genes with cis heritability (CV R² on training individuals) are predicted out of sample.

    Two of the 24 genes carry strong LCL eQTLs (CV R² 0.44 and 0.66 here); with 100
    training individuals most others carry little cis signal, as in real cohorts.
    """
    results = chr22 / "results"
    fit = pd.read_csv(results / "predictions" / "elastic_net" / "heritability.tsv", sep="\t")
    assert (fit["n_variants"] > 3000).all()  # the 1-Mb cis window on real genotypes
    heritable = set(fit.loc[fit["cv_r2"] > 0.3, "gene"])
    assert len(heritable) >= 2
    per_gene = pd.read_csv(results / "metrics" / "elastic_net" / "p.per_gene.tsv", sep="\t")
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"]
    scores = held_out[held_out["gene"].isin(heritable)]
    assert len(scores) == len(heritable)
    assert (scores["r"] > 0.4).all(), scores
    assert (scores["q_value"] < 0.05).all(), scores
    row = primary_metrics(chr22, "elastic_net/p")
    assert row["n_genes"] == 17 and row["n_individuals"] == 100


def test_the_report_says_the_data_are_real(chr22):
    page = (chr22 / "results" / "report" / "report.html").read_text()
    assert "Data: real data: 1000 Genomes phase 3 genotypes" in page
    assert "Beside published numbers" in page
    for run in ("elastic_net/p", "nt/p"):
        assert (chr22 / "results" / "metrics" / f"{run}.tsv").exists()
