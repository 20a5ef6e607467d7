"""Configuration: loaded, validated against the schema, and checked for consistency.

The schema ships inside the package (``haplexpr/schemas/config.schema.yaml``).
:func:`validate_config` is the one check: the Snakefile (``rules/common.smk``) runs it at
start-up, and the CLI and the tests run the same, so every caller sees the same messages.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import jsonschema
import yaml

from haplexpr.errors import ConfigError
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.models.registry import architecture
from haplexpr.models.settings import EnformerSettings, GLMSettings, S2FSettings

SCHEMA = Path(str(files("haplexpr") / "schemas" / "config.schema.yaml"))

#: How a study config marks a value its user must fill in (config/geuvadis.yaml).
PLACEHOLDER = "<set me"

#: URL schemes the reference may be fetched from (rule reference_download).
REMOTE_SCHEMES = ("http://", "https://", "ftp://")


def unset_keys(config: dict, prefix: str = "") -> list[str]:
    """``key: placeholder`` for every value still ``"<set me: ...>"``, dotted keys in order."""
    found = []
    for key, value in config.items():
        if isinstance(value, dict):
            found += unset_keys(value, f"{prefix}{key}.")
        elif isinstance(value, str) and value.startswith(PLACEHOLDER):
            found.append(f"{prefix}{key}: {value}")
    return found


def reference_fasta(config: dict) -> str:
    """The reference FASTA the rules read: the configured path, or where a URL is fetched to.

    A URL's file is stored bgzip-compressed as ``results/reference/<name>.gz`` (``.fa.gz``
    stays ``.fa.gz``), indexed next to it.
    """
    reference = config["data"]["reference"]
    if not reference.startswith(REMOTE_SCHEMES):
        return reference
    name = reference.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    return f"results/reference/{name if name.endswith('.gz') else name + '.gz'}"


#: Config keys naming input files (``None`` allowed where the schema allows it).
INPUT_FILES = (
    ("data", "reference"),
    ("data", "vcf_urls"),
    ("data", "partition_table"),
    ("data", "train_individuals"),
    ("data", "test_individuals"),
    ("data", "individual_genes"),
    ("variants", "contig_map"),
    ("effects", "truth"),
)


def check_input_files(config: dict, root: str | Path = ".") -> None:
    """Fail, naming the key, if an input file the config names does not exist (URLs aside)."""
    for section, key in INPUT_FILES:
        value = config[section][key]
        if value is None or value.startswith(REMOTE_SCHEMES):
            continue
        if not (Path(root) / value).is_file():
            raise ConfigError(
                f"config {section}.{key}: no such file {value!r} (relative to "
                f"{Path(root).resolve()}); fix the path in the config file"
            )


def validate_config(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate against the JSON schema, then cross-check values; return the config."""
    unset = unset_keys(config)
    if unset:
        raise ConfigError(
            f"{len(unset)} config value(s) still to set before the run:\n  " + "\n  ".join(unset)
        )
    if "unphased" in (config.get("variants") or {}):
        raise ConfigError(
            "config key variants/unphased has moved to consensus/unphased (error | as_listed | "
            "iupac): move the line under consensus: in the config file"
        )
    schema = yaml.safe_load(Path(schema_path).read_text())
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(
            f"config key {where}: {error.message}; fix it in the config file (every key is "
            "described in config.yaml and haplexpr/schemas/config.schema.yaml)"
        ) from error
    read = {}  # each entry's typed settings
    for name, model in config["models"].items():  # disabled ones too: a typo waits there
        known = architecture(model["architecture"])
        if "family" in model:
            raise ConfigError(
                f"models.{name}.family: drop the line: the family follows the architecture"
                f" (a {known.name} model is {known.family})"
            )
        read[name] = known.settings.from_config(model, f"models.{name}")  # unknown, missing keys
        for key, allowed in known.choices:
            if key in model and model[key] not in allowed:
                raise ConfigError(
                    f"models.{name}.{key} is {model[key]!r}; a {known.name} model takes "
                    f"{' or '.join(allowed)}"
                )
    unknown = sorted(set(config["effects"]["models"] or []) - set(enabled_models(config)))
    if unknown:
        raise ConfigError(
            f"effects.models names {', '.join(unknown)}, not an enabled model; list enabled "
            "models only (or null for all of them)"
        )
    imported = [m for m in config["effects"]["models"] or [] if precomputed(config, m)]
    if imported:
        raise ConfigError(
            f"effects.models names {', '.join(imported)}, whose embeddings are imported "
            "(precomputed_root): scoring variants embeds edited windows with the gLM itself; "
            "drop them from effects.models, or unset their precomputed_root"
        )
    window = config["consensus"]["window_length"]
    for name, model in enabled_models(config).items():
        known, settings = architecture(model["architecture"]), read[name]
        if settings.input_length > window:
            raise ConfigError(
                f"models.{name}.input_length ({settings.input_length}) exceeds "
                f"consensus.window_length ({window}); raise the window"
            )
        if isinstance(settings, GLMSettings):
            windows = EmbeddingWindows.from_settings(f"models.{name}", settings)
            windows.check_model(f"models.{name}", known.max_bases)
        if isinstance(settings, S2FSettings) and settings.input_length % 128:
            raise ConfigError(f"models.{name}.input_length must be a multiple of 128")
        if (
            isinstance(settings, EnformerSettings)
            and settings.use_tf_gamma
            and settings.input_length != 196_608
        ):
            raise ConfigError(
                f"models.{name}.use_tf_gamma needs input_length 196608 (Enformer's native"
                f" input), got {settings.input_length}"
            )
    return config


def load_config(path: str | Path) -> dict:
    """Read and validate a config file."""
    return validate_config(yaml.safe_load(Path(path).read_text()))


def merge_configs(base: dict, over: dict) -> dict:
    """Lay ``over`` on ``base`` key by key, as ``snakemake --configfile A B`` does; ``base``.

    Nested mappings merge; any other value (lists included) replaces the base's. This is how
    an overlay such as ``config/seed.yaml`` changes a few keys of a full config.
    """
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_configs(base[key], value)
        else:
            base[key] = value
    return base


def enabled_models(config: dict, family: str | None = None) -> dict[str, dict]:
    """Enabled models, optionally of one family (``s2f`` or ``glm``)."""
    return {
        name: model
        for name, model in config["models"].items()
        if model["enabled"] and (family is None or registry.family(model) == family)
    }


def trained_runs(config: dict) -> list[tuple[str, str]]:
    """Every (model, strategy) that trains a network: S2F models, then gLMs, x strategies."""
    models = [*enabled_models(config, "s2f"), *enabled_models(config, "glm")]
    return [(m, s) for m in models for s in config["strategies"]]


def evaluated_runs(config: dict) -> list[tuple[str, str]]:
    """Every (model, strategy) whose metrics `all` asks for.

    The trained ones, then S2F models' zero-shot track (``zero_shot: true``, strategy zs),
    then the elastic net (strategy p).
    """
    zero_shot = [(m, "zs") for m, c in enabled_models(config, "s2f").items() if c.get("zero_shot")]
    baseline = [("elastic_net", "p")] if config["baselines"]["elastic_net"]["enabled"] else []
    return trained_runs(config) + zero_shot + baseline


def cohort_runs(config: dict) -> list[tuple[str, str]]:
    """The runs a new cohort is predicted by: every evaluated one but imported gLMs'.

    A gLM with ``precomputed_root`` has its embeddings imported: no embedder runs here to
    embed a cohort's windows.
    """
    imported = {m for m in enabled_models(config, "glm") if precomputed(config, m)}
    return [(m, s) for m, s in evaluated_runs(config) if m not in imported]


def training_recipe(config: dict, model: str) -> dict:
    """A model's training knobs: its family's block with its own ``training`` overrides.

    The family's block is ``training.s2f`` or ``training.tower``; overrides go key by key.
    """
    entry = config["models"][model]
    return {**config["training"][registry.training_block(entry)], **entry.get("training", {})}


def precomputed(config: dict, model: str) -> bool:
    """Whether a gLM's embeddings are imported from the seed's files (rule embeddings_import)."""
    return bool(config["models"][model].get("precomputed_root"))


def embedding_settings(model: dict) -> dict:
    """A gLM's config without its tower and training keys: all that changes its embeddings."""
    return {k: v for k, v in model.items() if k not in ("enabled", "tower", "training")}
