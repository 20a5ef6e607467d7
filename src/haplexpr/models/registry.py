"""Every model architecture the pipeline knows, and the facts the other stages read about it.

Config validation reads each entry's keys, every stage its family (:func:`family`), training
builds S2F models through :meth:`Architecture.load`, the embedding stage loads gLM embedders
the same way, and the report reads the notes. Adding a model is one file, its settings and
one registry entry:

1. write ``haplexpr/models/<name>.py`` with a class that has ``from_config(cfg)``: an
   :class:`~haplexpr.models.s2f.S2FModel` subclass for family ``s2f``, or an embedder with
   ``embed``, ``bases_per_position`` and ``embedding_dim`` for family ``glm``
   (:class:`~haplexpr.models.embedding_windows.Embedder`);
2. add its settings to :mod:`haplexpr.models.settings`: a subclass of ``S2FSettings`` or
   ``GLMSettings`` with the keys only it reads, and their defaults (the class fixes the
   family, so the config has no ``family`` key);
3. add an :class:`Architecture` to ``ARCHITECTURES`` below, naming that module, class and
   settings (the schema's enum is held equal to this table by a test, so add the name
   there too, with any new key's description).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from haplexpr.errors import ConfigError
from haplexpr.models.settings import (
    BorzoiSettings,
    CaduceusEmbedderSettings,
    EnformerSettings,
    Evo2Settings,
    ModelSettings,
    NucleotideTransformerSettings,
)


@dataclass(frozen=True)
class Architecture:
    """One architecture: the class implementing it and its settings (keys, defaults, family)."""

    name: str
    module: str
    class_name: str
    settings: type[ModelSettings]
    #: Why the report says a disabled model of this architecture was not run, if it knows.
    disabled_reason: str = ""
    #: gLMs: the longest input one forward pass takes, in bases (None: no limit).
    max_bases: int | None = None
    #: Keys whose allowed values depend on the architecture (the schema allows their union).
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def family(self) -> str:
        """``s2f`` (fine-tuned end to end) or ``glm`` (frozen features + tower)."""
        return self.settings.family

    @property
    def keys(self) -> frozenset[str]:
        """Every key a model of this architecture may set."""
        return self.settings.keys()

    def load(self) -> type:
        """The implementing class, importing only its own module (and its packages)."""
        return getattr(importlib.import_module(self.module), self.class_name)


ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("enformer", "haplexpr.models.enformer", "EnformerModel", EnformerSettings),
        Architecture("borzoi", "haplexpr.models.borzoi", "BorzoiModel", BorzoiSettings),
        Architecture(
            "nucleotide_transformer",
            "haplexpr.models.nucleotide_transformer",
            "NucleotideTransformerEmbedder",
            NucleotideTransformerSettings,
            # 2,048 tokens per pass, <cls> included: 2,047 6-mers of ACGT
            max_bases=12_282,
            choices=(("non_acgt", ("n_token", "delete")),),
        ),
        Architecture(
            "evo2",
            "haplexpr.models.evo2",
            "Evo2Embedder",
            Evo2Settings,
            choices=(("non_acgt", ("as_written", "n_token")),),
        ),
        Architecture(
            "caduceus", "haplexpr.models.caduceus", "CaduceusEmbedder", CaduceusEmbedderSettings
        ),
    )
}

#: The config's per-family training recipes (``training.s2f``, ``training.tower``).
TRAINING_BLOCKS = frozenset(a.settings.training_block for a in ARCHITECTURES.values())


def architecture(name: str) -> Architecture:
    """The registry entry for a config ``architecture``; ConfigError names the known ones."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(
            f"unknown model architecture {name!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None


def family(model_config: Mapping) -> str:
    """A config entry's family, from its architecture: ``s2f`` or ``glm``."""
    return architecture(model_config["architecture"]).family


def training_block(model_config: Mapping) -> str:
    """The ``training.<block>`` recipe a config entry trains with: ``s2f`` or ``tower``."""
    return architecture(model_config["architecture"]).settings.training_block


def settings(model_config: Mapping, where: str = "model") -> ModelSettings:
    """A config entry read into its architecture's typed settings (defaults filled)."""
    return architecture(model_config["architecture"]).settings.from_config(model_config, where)


def build(model_config: Mapping, **runtime):
    """The model or embedder a config entry describes (tiny or pretrained).

    ``runtime``: what is not config, for gLM embedders ``device`` (and ``seed`` of tiny
    weights).
    """
    return architecture(model_config["architecture"]).load().from_config(model_config, **runtime)
