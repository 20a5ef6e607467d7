"""Tests for haplexpr.cohorts.inputs: a cohort's entry checked at start-up, errors by name."""

import copy
import shutil

import pytest
from support import ROOT

from haplexpr.cohorts.inputs import read_cohorts
from haplexpr.config import load_config
from haplexpr.errors import ConfigError
from haplexpr.inputs import check_inputs

DEMO = ROOT / "data" / "demo"


@pytest.fixture
def config():
    return load_config(ROOT / "config.yaml")


def with_cohort(config, vcf_urls, samples):
    config = copy.deepcopy(config)
    config["cohorts"] = {"new": {"vcf_urls": str(vcf_urls), "samples": str(samples)}}
    return config


def test_a_cohort_reads_its_vcfs_and_individuals(config):
    inputs = check_inputs(with_cohort(config, DEMO / "vcf_urls.txt", DEMO / "test_indivs.txt"))
    cohort = inputs.cohorts["new"]
    assert list(cohort.vcf_sources) == ["1", "2"]
    assert cohort.samples == tuple((DEMO / "test_indivs.txt").read_text().split())


def test_a_missing_file_names_the_key(config, tmp_path):
    cohort = with_cohort(config, DEMO / "vcf_urls.txt", tmp_path / "absent.txt")
    with pytest.raises(ConfigError, match=r"cohorts\.new\.samples: no such file"):
        read_cohorts(cohort, ["1", "2"])


def test_a_chromosome_missing_or_extra_is_named_with_the_fix(config, tmp_path):
    urls = tmp_path / "urls.txt"
    shutil.copy(DEMO / "vcf" / "demo.chr1.vcf.gz", tmp_path / "demo.chr1.vcf.gz")
    urls.write_text("file:demo.chr1.vcf.gz\n")
    cohort = with_cohort(config, urls, DEMO / "test_indivs.txt")
    with pytest.raises(ConfigError, match=r"cohorts\.new\.vcf_urls .*add a VCF for \['2'\]"):
        read_cohorts(cohort, ["1", "2"])
    with pytest.raises(ConfigError, match=r"drop the lines for \['1'\]"):
        read_cohorts(cohort, [])


def test_repeated_or_reserved_individuals_are_refused(config, tmp_path):
    samples = tmp_path / "samples.txt"
    samples.write_text("A\nB\nA\n")
    with pytest.raises(ConfigError, match=r"cohorts\.new: .*repeated IDs \['A'\]"):
        read_cohorts(with_cohort(config, DEMO / "vcf_urls.txt", samples), ["1", "2"])
    samples.write_text("A\nreference\n")
    with pytest.raises(ConfigError, match="reserved for the reference genome"):
        read_cohorts(with_cohort(config, DEMO / "vcf_urls.txt", samples), ["1", "2"])


def test_the_schema_refuses_an_unknown_key_or_a_bad_name(config):
    bad = with_cohort(config, DEMO / "vcf_urls.txt", DEMO / "test_indivs.txt")
    bad["cohorts"]["new"]["expression"] = "x.tsv"
    with pytest.raises(ConfigError, match="cohorts/new"):
        check_inputs(bad)
    bad["cohorts"] = {"a/b": {"vcf_urls": "x", "samples": "y"}}
    with pytest.raises(ConfigError, match="cohorts"):
        check_inputs(bad)
