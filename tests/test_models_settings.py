"""Tests for haplexpr.models.settings: each architecture's keys, defaults and family."""

import dataclasses

import pytest

from haplexpr.errors import ConfigError
from haplexpr.models import registry
from haplexpr.models.settings import (
    ENTRY_KEYS,
    LORA_DEFAULTS,
    BorzoiSettings,
    CaduceusEmbedderSettings,
    EnformerSettings,
    Evo2Settings,
    GLMSettings,
    NucleotideTransformerSettings,
    Pooling,
    S2FSettings,
)


def entry(architecture: str, **keys) -> dict:
    """The keys the schema requires of every model, plus ``keys``."""
    return {
        "enabled": True,
        "architecture": architecture,
        "pretrained": None,
        "input_length": 1536,
        **keys,
    }


@pytest.mark.parametrize(
    ("architecture", "defaults"),
    [
        ("enformer", {"track_index": 5110, "track_head": "human", "use_tf_gamma": False}),
        ("borzoi", {"track_index": 870, "center_bins": 10, "head": "attention_pool"}),
        (
            "nucleotide_transformer",
            {"batch_size": 8, "layer": -1, "non_acgt": "n_token", "keep_cls": False},
        ),
        ("evo2", {"batch_size": 1, "dtype": "float32", "non_acgt": "as_written"}),
        ("caduceus", {"batch_size": 8, "layer": -1, "scan_chunk": 256, "conjoin_strands": True}),
    ],
)
def test_a_key_left_out_takes_its_architectures_default(architecture, defaults):
    """The defaults each model had before settings were typed (batch_size: 8, 8, 1)."""
    keys = {"layer": "blocks.3.mlp.l3"} if architecture == "evo2" else {}
    settings = registry.settings(entry(architecture, **keys))
    assert type(settings) is registry.architecture(architecture).settings
    assert {key: getattr(settings, key) for key in defaults} == defaults
    assert settings.gpus == 1 and settings.tiny is None


def test_set_keys_are_read_as_written():
    settings = registry.settings(entry("evo2", layer="blocks.1.mlp.l3", batch_size=8, gpus=2))
    assert (settings.layer, settings.batch_size, settings.gpus) == ("blocks.1.mlp.l3", 8, 2)


def test_families_and_training_blocks_follow_the_settings_class():
    for arch in registry.ARCHITECTURES.values():
        s2f = issubclass(arch.settings, S2FSettings)
        assert s2f != issubclass(arch.settings, GLMSettings)
        assert arch.family == ("s2f" if s2f else "glm")
        assert arch.settings.training_block == ("s2f" if s2f else "tower")
        assert arch.keys == ENTRY_KEYS | {f.name for f in dataclasses.fields(arch.settings)}


def test_an_unknown_key_is_refused_naming_the_entry_and_the_allowed():
    with pytest.raises(ConfigError, match=r"^models\.b\.keep_cls: unknown key; allowed: "):
        BorzoiSettings.from_config(entry("borzoi", keep_cls=True), "models.b")


def test_a_missing_required_key_is_named():
    with pytest.raises(ConfigError, match=r"^models\.e\.layer: required key missing"):
        Evo2Settings.from_config(entry("evo2"), "models.e")
    with pytest.raises(ConfigError, match=r"^model\.input_length: required key missing"):
        EnformerSettings.from_config({"pretrained": None})


def test_glm_pooling_is_typed_and_nt_cls_is_a_leading_state():
    nt = NucleotideTransformerSettings.from_config(
        entry("nucleotide_transformer", keep_cls=True, pooling={"bin_size": 6})
    )
    assert nt.pooling == Pooling(region="window", tss_window=None, bin_size=6)
    assert nt.leading_states == 1
    assert CaduceusEmbedderSettings.from_config(entry("caduceus")).leading_states == 0


def test_lora_keys_left_out_take_the_lora_defaults():
    settings = EnformerSettings.from_config(entry("enformer", lora={"rank": 4}))
    assert settings.lora_settings == {**LORA_DEFAULTS, "rank": 4}
    assert EnformerSettings.from_config(entry("enformer")).lora_settings == LORA_DEFAULTS
