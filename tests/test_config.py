"""Tests for haplexpr.config (schema and cross-checks, the registry's architectures and families
among them; the registry's own entries: test_models_registry.py)."""

import copy

import pytest
import yaml
from support import ROOT

from haplexpr.config import (
    SCHEMA,
    ConfigError,
    check_input_files,
    enabled_models,
    merge_configs,
    reference_fasta,
    unset_keys,
    validate_config,
)
from haplexpr.models import registry
from haplexpr.models.registry import ARCHITECTURES, architecture

# --- config validation --------------------------------------------------------------------

SCHEMA_FIX = (
    "; fix it in the config file (every key is described in config.yaml and "
    "haplexpr/schemas/config.schema.yaml)"
)


def config_error(config) -> str:
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    return str(caught.value)


def test_demo_config_is_valid(demo_config):
    assert validate_config(copy.deepcopy(demo_config)) == demo_config


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        ("enformer", "gradient_checkpoint", True),  # a typo of gradient_checkpointing
        ("borzoi", "use_tf_gamma", True),  # an Enformer key, which Borzoi would ignore
        ("nt", "track_index", 3),  # an S2F key on a gLM
        ("evo2", "trak_index", 3),  # disabled models are checked too
    ],
)
def test_unknown_model_key_is_refused_by_path_with_the_allowed_keys(demo_config, model, key, value):
    config = copy.deepcopy(demo_config)
    config["models"][model][key] = value
    message = config_error(config)
    assert message.startswith(f"models.{model}.{key}: unknown key; allowed: ")
    assert "input_length" in message and "training" in message


@pytest.mark.parametrize(
    ("model", "value", "allowed"),
    [("nt", "as_written", "n_token or delete"), ("evo2", "delete", "as_written or n_token")],
)
def test_a_value_another_architecture_takes_is_refused_by_name(demo_config, model, value, allowed):
    """non_acgt's values differ by model: the schema allows their union, the registry each's."""
    config = copy.deepcopy(demo_config)
    config["models"][model]["non_acgt"] = value
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    architecture_name = config["models"][model]["architecture"]
    assert str(error.value) == (
        f"models.{model}.non_acgt is {value!r}; a {architecture_name} model takes {allowed}"
    )


def test_model_keys_are_the_schemas_model_properties():
    """Each key the schema describes is one some architecture reads, and vice versa."""
    schema = yaml.safe_load(SCHEMA.read_text())
    described = set(schema["$defs"]["model"]["properties"])
    assert set().union(*(a.keys for a in ARCHITECTURES.values())) == described


def test_schema_architectures_are_the_registry():
    schema = yaml.safe_load(SCHEMA.read_text())
    model = schema["$defs"]["model"]["properties"]
    assert model["architecture"]["enum"] == list(ARCHITECTURES)
    assert "family" not in model


def test_unknown_architecture_is_refused_naming_the_known(demo_config):
    config = copy.deepcopy(demo_config)
    config["models"]["nt"]["architecture"] = "hyenadna"
    assert config_error(config).startswith("config key models/nt/architecture: 'hyenadna' is not")
    with pytest.raises(ConfigError, match="unknown model architecture 'hyenadna'; known: enformer"):
        architecture("hyenadna")


def test_unknown_key(demo_config):
    config = copy.deepcopy(demo_config)
    config["data"]["refrence"] = "typo.fa"
    assert config_error(config) == (
        "config key data: Additional properties are not allowed ('refrence' was unexpected)"
        + SCHEMA_FIX
    )


def test_unknown_top_level_key(demo_config):
    config = copy.deepcopy(demo_config)
    config["extras"] = {}
    assert config_error(config) == (
        "config key (top level): Additional properties are not allowed ('extras' was unexpected)"
        + SCHEMA_FIX
    )


def test_moved_unphased_key_names_its_new_place(demo_config):
    config = copy.deepcopy(demo_config)
    config["variants"]["unphased"] = config["consensus"].pop("unphased")
    assert config_error(config) == (
        "config key variants/unphased has moved to consensus/unphased (error | as_listed | "
        "iupac): move the line under consensus: in the config file"
    )


def test_bad_enum(demo_config):
    config = copy.deepcopy(demo_config)
    config["consensus"]["variants"] = "foo"
    assert (
        config_error(config)
        == "config key consensus/variants: 'foo' is not one of ['all', 'snvs']" + SCHEMA_FIX
    )


def test_input_length_longer_than_window(demo_config):
    config = copy.deepcopy(demo_config)
    config["consensus"]["window_length"] = 1024
    config["models"] = {
        "small": {
            "enabled": True,
            "architecture": "nucleotide_transformer",
            "pretrained": None,
            "input_length": 1000,
        },
        "off": {
            "enabled": False,
            "architecture": "nucleotide_transformer",
            "pretrained": None,
            "input_length": 9999,
        },
        "big": {
            "enabled": True,
            "architecture": "enformer",
            "pretrained": None,
            "input_length": 1152,
        },
    }
    assert config_error(config) == (
        "models.big.input_length (1152) exceeds consensus.window_length (1024); raise the window"
    )
    config["models"]["big"]["input_length"] = 1024  # equal to the window is fine
    assert validate_config(config) is config


def test_s2f_input_length_multiple_of_128(demo_config):
    config = copy.deepcopy(demo_config)
    config["consensus"]["window_length"] = 4096
    config["models"] = {
        "s": {
            "enabled": True,
            "architecture": "enformer",
            "pretrained": None,
            "input_length": 1000,
        }
    }
    assert config_error(config) == "models.s.input_length must be a multiple of 128"


def test_a_family_key_is_refused_naming_the_fix(demo_config):
    """The family follows the architecture: a config that still writes one is told to drop it."""
    config = copy.deepcopy(demo_config)
    config["models"]["nt"]["family"] = "glm"
    assert config_error(config) == (
        "models.nt.family: drop the line: the family follows the architecture"
        " (a nucleotide_transformer model is glm)"
    )


def test_family_and_training_block_follow_the_architecture(demo_config):
    models = demo_config["models"]
    assert {name: registry.family(m) for name, m in models.items()} == {
        "enformer": "s2f", "borzoi": "s2f", "nt": "glm", "evo2": "glm", "caduceus": "glm"
    }  # fmt: skip
    assert registry.training_block(models["borzoi"]) == "s2f"
    assert registry.training_block(models["evo2"]) == "tower"
    assert registry.TRAINING_BLOCKS == set(demo_config["training"]) & {"s2f", "tower"}
    assert list(enabled_models(demo_config, "glm")) == ["nt", "evo2", "caduceus"]


def test_model_training_overrides_are_checked_like_the_family_recipe(demo_config):
    config = copy.deepcopy(demo_config)
    config["models"]["enformer"]["training"] = {"epochs": 2, "learning_rate": 1e-4}
    assert validate_config(config) is config
    config["models"]["enformer"]["training"] = {"epoch": 2}
    assert "'epoch' was unexpected" in config_error(config)
    config["models"]["enformer"]["training"] = {"batches": "by_individual"}
    assert "is not one of ['shuffled', 'by_gene']" in config_error(config)
    config = copy.deepcopy(demo_config)
    del config["training"]["s2f"]["epochs"]
    assert "'epochs' is a required property" in config_error(config)


@pytest.mark.parametrize("architecture", ["enformer", "borzoi"])
def test_s2f_head_and_memory_keys_reach_the_model(demo_config, architecture):
    from haplexpr.training.runs import build_model

    config = copy.deepcopy(demo_config)
    model_config = config["models"][architecture]
    model_config.update(gradient_checkpointing=True, pool_logits="per_dim", input_length=2048)
    assert validate_config(config) is config
    s2f = build_model(model_config, seed=0).model
    assert s2f.gradient_checkpointing
    assert s2f.pool.to_logits.out_features == s2f.pool.to_logits.in_features
    model_config["pool_logits"] = "per_base"
    assert "is not one of ['scalar', 'per_dim']" in config_error(config)


def test_glm_tower_and_embedding_keys_are_checked_and_reach_the_tower(demo_config):
    from haplexpr.training.runs import build_model

    config = copy.deepcopy(demo_config)
    nt = config["models"]["nt"]
    assert nt["tower"]["kernels_strides"] == [[16, 8], [8, 4], [4, 2], [3, 2]]  # the seed's
    nt["tower"] = {"channels": 8, "kernels_strides": [[4, 2]], "pool_sizes": [1], "hidden": 16}
    assert validate_config(config) is config
    tower = build_model(nt, seed=0, embedding_dim=32).model
    assert tower.project.out_channels == 8 and tower.receptive_field == (4, 2)
    assert tower.to_hidden[0].out_channels == 16
    nt["tower"]["kernels_strides"] = [[4, 2, 1]]
    assert "is too long" in config_error(config)
    config = copy.deepcopy(demo_config)
    config["models"]["nt"]["dtype"] = "float64"
    assert "is not one of ['float32', 'bfloat16', 'float16']" in config_error(config)
    config["models"]["nt"]["dtype"] = "bfloat16"
    config["models"]["enformer"].update(track_head="mouse", use_tf_gamma=True)
    assert "use_tf_gamma needs input_length 196608" in config_error(config)
    config["models"]["enformer"]["use_tf_gamma"] = False
    assert validate_config(config) is config


def test_values_left_to_set_are_all_named_before_anything_else(demo_config):
    config = copy.deepcopy(demo_config)
    config["data"]["partition_table"] = "<set me: path to the table>"
    config["models"]["nt"]["pretrained"] = "<set me: hub ID>"
    config["models"]["nt"]["bogus_key"] = 1  # a schema error comes second
    message = config_error(config)
    assert message == (
        "2 config value(s) still to set before the run:\n"
        "  data.partition_table: <set me: path to the table>\n"
        "  models.nt.pretrained: <set me: hub ID>"
    )


def test_the_full_study_config_is_complete_but_for_the_values_marked(demo_config):
    """config/geuvadis.yaml over config.yaml: only the seed's tables and the cluster's names."""
    study = yaml.safe_load((ROOT / "config" / "geuvadis.yaml").read_text())
    merged = merge_configs(copy.deepcopy(demo_config), study)
    assert set(study) == set(demo_config)  # every section set, none of the demo's left over
    unset = unset_keys(merged)
    assert [line.split(":")[0] for line in unset] == [
        "data.partition_table", "data.train_individuals", "data.test_individuals",
        "data.individual_genes", "cluster.account", "cluster.partition", "cluster.gpu_partition",
    ]  # fmt: skip
    for line in unset:
        section, key = line.split(":")[0].split(".")
        merged[section][key] = f"/seed/data/{key}" if section == "data" else "main"
    assert validate_config(merged) is merged
    assert reference_fasta(merged) == "results/reference/hs37d5.fa.gz"
    urls = (ROOT / study["data"]["vcf_urls"]).read_text().split()
    assert len(urls) == 22 and all("GEUVADIS.chr" in url for url in urls)
    models = merged["models"]
    assert {m: models[m]["pretrained"] for m in models} == {
        "enformer": "EleutherAI/enformer-official-rough",
        "borzoi": "johahi/borzoi-replicate-0",
        "nt": "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species",
        "evo2": "evo2_7b",
        "caduceus": "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16",
    }
    assert models["nt"]["input_length"] == 11_000 and models["nt"]["layer"] == 20
    assert models["evo2"]["layer"] == "blocks.28.mlp.l3"
    assert merged["training"]["s2f"]["learning_rate"] == 1e-6
    assert merged["training"]["tower"]["learning_rate"] == 1e-4


def test_a_local_reference_is_read_where_it_is(demo_config):
    assert reference_fasta(demo_config) == "data/demo/reference.fa"
    remote = {"data": {"reference": "ftp://host/path/genome.fa"}}
    assert reference_fasta(remote) == "results/reference/genome.fa.gz"


def test_effects_score_only_enabled_models_and_read_an_existing_truth(demo_config, tmp_path):
    config = copy.deepcopy(demo_config)
    config["models"]["borzoi"]["enabled"] = False
    config["effects"]["models"] = ["enformer", "borzoi"]
    assert config_error(config) == (
        "effects.models names borzoi, not an enabled model; list enabled models only (or null "
        "for all of them)"
    )
    config["models"]["nt"]["precomputed_root"] = "seed_embeddings"
    config["effects"]["models"] = ["enformer", "nt"]
    assert "effects.models names nt, whose embeddings are imported" in config_error(config)
    del config["models"]["nt"]["precomputed_root"]
    config["effects"] |= {"models": None, "strategies": ["p", "zs"]}
    assert "config key effects/strategies/1: 'zs' is not one of" in config_error(config)
    config["effects"] |= {"strategies": ["p"], "truth": "data/demo/no_truth.tsv"}
    validate_config(config)
    with pytest.raises(ConfigError, match=r"config effects\.truth: no such file 'data/demo/no"):
        check_input_files(config, ROOT)
