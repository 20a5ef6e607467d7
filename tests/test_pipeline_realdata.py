"""The real-data study end to end: built from Debian's packages, run by the real workflow.

The builder fetches ``qtltools-example`` and ``hisat2`` with ``apt-get download`` (into
``data/geuvadis_chr22/packages``, reused), so this needs package lists that know them
(``scripts/install_system_deps.sh --realdata``). The run is the README's real-data config
with one gLM (NT v2, tiny, strategy p) beside the elastic net, to fit CI's time.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from support.pipeline_runs import LOCAL_PROFILE, REPO, primary_metrics, snakemake

from haplexpr.cli import main as haplexpr_cli
from haplexpr.realdata.geuvadis_chr22 import build_study

pytestmark = pytest.mark.slow

PACKAGES = REPO / "data" / "geuvadis_chr22" / "packages"
CI_MODELS = ("nt",)


@pytest.fixture(scope="module")
def chr22(tmp_path_factory):
    """The study built in a scratch folder and run through `all` (NT v2 p, elastic net)."""
    root = tmp_path_factory.mktemp("chr22")
    build_study(root / "data" / "geuvadis_chr22", PACKAGES)
    config = yaml.safe_load((REPO / "config" / "geuvadis_chr22.yaml").read_text())
    for name, model in config["models"].items():
        model["enabled"] = name in CI_MODELS
    config["strategies"] = ["p"]
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


def test_the_published_vcf_is_renamed_normalised_and_checked(chr22, capsys):
    log = (chr22 / "results" / "logs" / "vcf" / "22.normalise.log").read_text()
    assert "renamed 1 contigs: chr22 -> 22" in log
    assert "83621 records on unknown reference bases (N), REF not checkable" in log
    check = json.loads((chr22 / "results" / "vcf" / "22.check.json").read_text())
    assert check["unknown_reference"] == 83621
    assert haplexpr_cli(["check", "--configfile", str(chr22 / "config.yaml")]) == 0


def test_the_elastic_net_predicts_real_expression_in_held_out_individuals(chr22):
    row = primary_metrics(chr22, "elastic_net/p")
    assert row["n_genes"] == 17
    assert row["mean_r_low"] > 0.1, row


def test_the_report_says_the_data_are_real(chr22):
    page = (chr22 / "results" / "report" / "report.html").read_text()
    assert "Data: real data: 1000 Genomes phase 3 genotypes" in page
    assert "Beside published numbers" in page
    for run in ("elastic_net/p", "nt/p"):
        assert (chr22 / "results" / "metrics" / f"{run}.tsv").exists()
