"""Configuration: loaded, validated against the schema, and checked for consistency.

Snakemake validates with the same schema (``schemas/config.schema.yaml``); this module
lets the library, the CLI and the tests apply the identical checks without Snakemake.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


# Which family each architecture belongs to (s2f: fine-tuned; glm: frozen features + tower).
ARCHITECTURE_FAMILY = {
    "enformer": "s2f",
    "borzoi": "s2f",
    "nucleotide_transformer": "glm",
    "evo2": "glm",
}

# Keys every model takes, those its family's code reads, and those one architecture reads on
# top. The schema lists the keys of all architectures together, so a key another
# architecture reads, or a typo (``gradient_checkpoint``), would pass it unseen;
# validate_config refuses both by name.
MODEL_KEYS = frozenset(
    {"enabled", "family", "architecture", "pretrained", "input_length", "training"}
)
FAMILY_KEYS = {
    "s2f": frozenset(
        {"center_bins", "head", "track_index", "zero_shot", "rc_average", "pool_logits"}
        | {"gradient_checkpointing", "tiny"}
    ),
    "glm": frozenset({"layer", "batch_size", "tower"}),
}
ARCHITECTURE_KEYS = {
    "enformer": frozenset({"track_head", "use_tf_gamma"}),
    "borzoi": frozenset(),
    "nucleotide_transformer": frozenset({"dtype", "truncate_layers", "tiny"}),
    "evo2": frozenset(),
}


def model_keys(architecture: str) -> frozenset[str]:
    """Every key a model of ``architecture`` may set."""
    family = FAMILY_KEYS[ARCHITECTURE_FAMILY[architecture]]
    return MODEL_KEYS | family | ARCHITECTURE_KEYS[architecture]


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def reject_unknown_keys(where: str, given, allowed) -> None:
    """Raise ConfigError naming the first key of ``given`` not in ``allowed``, and the allowed.

    ``where`` is the keys' path in the config (``models.enformer``) or, where the caller
    does not know it, what they configure (``tiny Enformer``).
    """
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(sorted(allowed))}"
        )


def validate_config(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate against the JSON schema, then cross-check values; return the config."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"config key {where}: {error.message}") from error
    for name, model in config["models"].items():  # disabled ones too: a typo waits there
        reject_unknown_keys(f"models.{name}", model, model_keys(model["architecture"]))
    window = config["consensus"]["window_length"]
    for name, model in enabled_models(config).items():
        if model["input_length"] > window:
            raise ConfigError(
                f"models.{name}.input_length ({model['input_length']}) exceeds "
                f"consensus.window_length ({window}); raise the window"
            )
        expected = ARCHITECTURE_FAMILY[model["architecture"]]
        if model["family"] != expected:
            raise ConfigError(
                f"models.{name}.family is {model['family']!r} but architecture "
                f"{model['architecture']!r} is a {expected} model"
            )
        if model["family"] == "s2f" and model["input_length"] % 128:
            raise ConfigError(f"models.{name}.input_length must be a multiple of 128")
        if model.get("use_tf_gamma") and model["input_length"] != 196_608:
            raise ConfigError(
                f"models.{name}.use_tf_gamma needs input_length 196608 (Enformer's native"
                f" input), got {model['input_length']}"
            )
    return config


def load_config(path: str | Path) -> dict:
    """Read and validate a config file."""
    return validate_config(yaml.safe_load(Path(path).read_text()))


def enabled_models(config: dict, family: str | None = None) -> dict[str, dict]:
    """Enabled models, optionally of one family (``s2f`` or ``glm``)."""
    return {
        name: model
        for name, model in config["models"].items()
        if model["enabled"] and (family is None or model["family"] == family)
    }
