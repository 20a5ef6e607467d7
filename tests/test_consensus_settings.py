"""Tests for haplexpr.consensus_settings: the options, their one check, the stage's settings."""

import copy
import dataclasses

import pytest
import yaml

from haplexpr.config import SCHEMA
from haplexpr.consensus_settings import (
    ENGINES,
    MISSING_POLICIES,
    UNPHASED_POLICIES,
    VARIANT_MODES,
    ConsensusOptionError,
    ConsensusOptions,
    ConsensusSettings,
    check_options,
)


def test_schema_enums_are_the_options():
    properties = yaml.safe_load(SCHEMA.read_text())["properties"]
    consensus = properties["consensus"]["properties"]
    assert tuple(consensus["engine"]["enum"]) == ENGINES
    assert tuple(consensus["variants"]["enum"]) == VARIANT_MODES
    assert tuple(consensus["missing"]["enum"]) == MISSING_POLICIES
    assert tuple(consensus["unphased"]["enum"]) == UNPHASED_POLICIES


def test_check_options_names_the_option_and_the_choices():
    check_options(engine="fast", variants="snvs", missing="N", unphased="as_listed")
    with pytest.raises(ConsensusOptionError, match=r"missing must be one of reference, N, not 'n'"):
        check_options(engine="fast", missing="n")


def test_options_are_checked_once_on_creation_and_read_from_the_config(demo_config):
    with pytest.raises(ConsensusOptionError, match=r"engine must be one of fast, bcftools"):
        ConsensusOptions(engine="samtools")
    options = ConsensusOptions.from_config(demo_config)  # config.yaml's consensus block
    assert options == ConsensusOptions("fast", "all", "reference", "error")
    # the library's defaults are bcftools consensus's own; the pipeline refuses unphased calls
    assert ConsensusOptions() == ConsensusOptions("fast", "all", "reference", "as_listed")


def test_settings_are_the_configs_consensus_block(demo_config):
    """Every key of ``consensus`` reaches the settings, with its value."""
    settings = ConsensusSettings.from_config(demo_config)
    read = {**dataclasses.asdict(settings.options), **dataclasses.asdict(settings)}
    del read["options"]
    assert read == demo_config["consensus"]


def test_a_bad_option_in_the_config_is_refused_naming_the_key(demo_config):
    config = copy.deepcopy(demo_config)
    config["consensus"]["unphased"] = "guess"
    with pytest.raises(ConsensusOptionError, match=r"unphased must be one of error, as_listed"):
        ConsensusSettings.from_config(config)
