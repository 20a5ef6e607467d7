"""Tests for ``haplexpr predict`` (haplexpr.cohorts.command) up to the Snakemake call.

The call itself runs in tests/test_pipeline_demo.py, on the trained demo.
"""

import sys

import pytest
import yaml
from support.pipeline_runs import make_workdir

from haplexpr.cli import main
from haplexpr.cohorts.command import PredictRequest, check_request, overlay, snakemake_command
from haplexpr.config import load_config
from haplexpr.errors import ConfigError


def request(**changes):
    fields = {"model": "nt", "strategy": "p", "cohort": "new", "configfiles": ["config.yaml"]}
    return PredictRequest(**{**fields, **changes})


def test_an_ad_hoc_cohort_becomes_an_overlay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = overlay(request(vcf_urls="c/urls.txt", samples="c/samples.txt"))
    assert files[0] == "config.yaml"
    written = yaml.safe_load(open(files[1]))
    assert written == {"cohorts": {"new": {"vcf_urls": "c/urls.txt", "samples": "c/samples.txt"}}}
    assert overlay(request()) == ["config.yaml"]  # a config's own cohort: nothing written
    with pytest.raises(ConfigError, match="both --vcf-urls and --samples"):
        overlay(request(samples="c/samples.txt"))


def test_an_unknown_cohort_or_run_names_the_choices(tmp_path):
    config = load_config(make_workdir(tmp_path) / "config.yaml")
    with pytest.raises(ConfigError, match=r"no cohort 'new' in the config \(cohorts: none\)"):
        check_request(request(), config)
    config["cohorts"] = {"new": {}}
    with pytest.raises(ConfigError, match=r"nt/zs is not a run .*enformer/zs, elastic_net/p"):
        check_request(request(strategy="zs"), config)
    check_request(request(model="elastic_net"), config)  # a run of the demo: accepted


def test_the_snakemake_call_makes_the_target_with_every_config_file():
    command = snakemake_command(
        request(profile="profiles/slurm", cores=4), ["config.yaml", "o.yaml"], "t.tsv"
    )
    assert command == [
        sys.executable, "-m", "snakemake", "--snakefile", "Snakefile",
        "--profile", "profiles/slurm", "--cores", "4", "t.tsv",
        "--configfile", "config.yaml", "o.yaml",
    ]  # fmt: skip


def test_the_command_stops_before_snakemake_on_a_bad_request(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(make_workdir(tmp_path))
    code = main(["predict", "--model", "nope", "--vcf-urls", "data/demo/vcf_urls.txt",
                 "--samples", "data/demo/test_indivs.txt"])  # fmt: skip
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("haplexpr predict: nope/p is not a run a cohort can be predicted by")
    assert not (tmp_path / "results").exists()
    code = main(["predict", "--model", "nt", "--vcf-urls", "absent.txt", "--samples", "x.txt"])
    assert code == 1 and "cohorts.cohort.vcf_urls: no such file" in capsys.readouterr().err
