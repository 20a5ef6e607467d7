"""Every model architecture the pipeline knows, and the facts the other stages read about it.

Config validation reads each entry's family and keys, training builds S2F models through
:meth:`Architecture.load`, the embedding stage loads gLM embedders the same way, and the
report reads the notes. Adding a model is one file plus one registry entry:

1. write ``haplexpr/models/<name>.py`` with a class that has ``from_config(cfg)``: an
   :class:`~haplexpr.models.s2f.S2FModel` subclass for family ``s2f``, or an embedder with
   ``embed``, ``bases_per_position`` and ``embedding_dim`` for family ``glm``
   (:class:`~haplexpr.models.embedding_windows.Embedder`);
2. add an :class:`Architecture` to ``ARCHITECTURES`` below, naming that module and class
   and the config keys only it reads (the schema's enum is held equal to this table by a
   test, so add the name there too, with any new key's description).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from haplexpr.errors import ConfigError

#: LoRA settings an S2F config may leave out (``target_modules``: the architecture's default;
#: haplexpr.models.finetune). Here, without torch, so the report can show them.
LORA_DEFAULTS = {"rank": 8, "alpha": 16, "dropout": 0.0, "target_modules": None}

#: Keys every model takes.
MODEL_KEYS = frozenset(
    {"enabled", "family", "architecture", "pretrained", "input_length", "training", "gpus"}
)
#: Keys the code of each family reads (s2f: fine-tuned end to end; glm: frozen + tower).
FAMILY_KEYS = {
    "s2f": frozenset(
        {"center_bins", "head", "track_index", "zero_shot", "rc_average", "pool_logits"}
        | {"gradient_checkpointing", "tiny", "finetune", "lora"}
    ),
    "glm": frozenset(
        {"layer", "batch_size", "tower", "context", "stride", "pooling", "precomputed_root"}
    ),
}


@dataclass(frozen=True)
class Architecture:
    """One architecture: its family, the class implementing it, and what only it reads."""

    name: str
    family: str
    module: str
    class_name: str
    #: Config keys this architecture reads on top of its family's.
    own_keys: frozenset[str] = frozenset()
    #: Why the report says a disabled model of this architecture was not run, if it knows.
    disabled_reason: str = ""
    #: gLMs: the longest input one forward pass takes, in bases (None: no limit).
    max_bases: int | None = None
    #: Keys whose allowed values depend on the architecture (the schema allows their union).
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        """Every key a model of this architecture may set."""
        return MODEL_KEYS | FAMILY_KEYS[self.family] | self.own_keys

    def load(self) -> type:
        """The implementing class, importing only its own module (and its packages)."""
        return getattr(importlib.import_module(self.module), self.class_name)


ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture(
            "enformer",
            "s2f",
            "haplexpr.models.enformer",
            "EnformerModel",
            frozenset({"track_head", "use_tf_gamma"}),
        ),
        Architecture("borzoi", "s2f", "haplexpr.models.borzoi", "BorzoiModel"),
        Architecture(
            "nucleotide_transformer",
            "glm",
            "haplexpr.models.nucleotide_transformer",
            "NucleotideTransformerEmbedder",
            frozenset({"dtype", "truncate_layers", "tiny", "keep_cls", "non_acgt"}),
            # 2,048 tokens per pass, <cls> included: 2,047 6-mers of ACGT
            max_bases=12_282,
            choices=(("non_acgt", ("n_token", "delete")),),
        ),
        Architecture(
            "evo2",
            "glm",
            "haplexpr.models.evo2",
            "Evo2Embedder",
            frozenset({"tiny", "dtype", "non_acgt"}),
            choices=(("non_acgt", ("as_written", "n_token")),),
        ),
        Architecture(
            "caduceus",
            "glm",
            "haplexpr.models.caduceus",
            "CaduceusEmbedder",
            frozenset({"tiny", "scan_chunk", "conjoin_strands"}),
        ),
    )
}


def architecture(name: str) -> Architecture:
    """The registry entry for a config ``architecture``; ConfigError names the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(
            f"unknown model architecture {name!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None


def build(model_config: dict):
    """The model or embedder a config entry describes (tiny or pretrained)."""
    return architecture(model_config["architecture"]).load().from_config(model_config)
