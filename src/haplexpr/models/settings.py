"""Typed settings of one model entry (``models.<name>`` in the config), one class per architecture.

A config entry is read once into its architecture's settings (:meth:`ModelSettings.from_config`,
through :func:`haplexpr.models.registry.settings`) and the code reads attributes. The schema
describes each key and does not fill defaults (``jsonschema.validate`` checks, it does not
change the config), so a key a config may leave out has its default here, and only here.

The settings classes also say which keys an architecture takes (their fields, plus
:data:`ENTRY_KEYS`) and its family (``family``: ``s2f`` fine-tuned end to end, ``glm`` frozen
features + tower), so config validation, the rules and the report follow the architecture.
No torch here: config validation and the Snakefile import this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from haplexpr.errors import ConfigError, reject_unknown_keys

#: Keys of a config entry that the pipeline reads, not the model: whether it runs, which
#: architecture it is, and its changes to its family's training recipe (config.training_recipe).
ENTRY_KEYS = frozenset({"enabled", "architecture", "training"})

#: LoRA settings an S2F config may leave out (``target_modules``: the architecture's default;
#: haplexpr.models.finetune).
LORA_DEFAULTS = {"rank": 8, "alpha": 16, "dropout": 0.0, "target_modules": None}

#: Positions per chunk of Caduceus's selective scan (haplexpr.models.mamba) when the config
#: sets none: larger chunks mean fewer Python steps (good on a GPU) and log2(chunk) passes
#: over ``(batch, chunk, d_inner, d_state)`` floats each.
DEFAULT_SCAN_CHUNK = 256


@dataclass(frozen=True, kw_only=True)
class ModelSettings:
    """Keys every model takes (the schema requires ``pretrained`` and ``input_length``)."""

    #: ``s2f`` or ``glm``, and the config's ``training.<block>`` recipe of the family.
    family: ClassVar[str]
    training_block: ClassVar[str]

    #: Hub ID or local checkpoint; None builds the tiny random-initialised configuration.
    pretrained: str | None = None
    #: Bases fed to the model (gLMs built outside the pipeline may leave it out: None).
    input_length: int | None = None
    #: Hyper-parameters of the tiny configuration (None: the architecture's own).
    tiny: Mapping[str, Any] | None = None
    #: GPUs of one node its training job uses.
    gpus: int = 1

    @classmethod
    def keys(cls) -> frozenset[str]:
        """Every key a config entry of this architecture may set."""
        return ENTRY_KEYS | {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], where: str = "model"):
        """The settings of config entry ``where`` (``models.<name>``); errors name the key."""
        reject_unknown_keys(where, cfg, cls.keys())
        own = {f.name: f for f in dataclasses.fields(cls)}
        missing = [
            name
            for name, f in own.items()
            if name not in cfg
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise ConfigError(f"{where}.{missing[0]}: required key missing; set it in the config")
        return cls(**{key: value for key, value in cfg.items() if key in own})


@dataclass(frozen=True, kw_only=True)
class S2FSettings(ModelSettings):
    """A sequence-to-function model fine-tuned end to end (haplexpr.models.s2f)."""

    family: ClassVar[str] = "s2f"
    training_block: ClassVar[str] = "s2f"

    #: Required here (``field()``: not ModelSettings' None).
    input_length: int = field()
    center_bins: int = 10
    head: str = "attention_pool"
    #: Output track of the zero-shot readout (each architecture sets its default).
    track_index: int
    zero_shot: bool = False
    rc_average: bool = False
    pool_logits: str = "scalar"
    gradient_checkpointing: bool = False
    finetune: str = "full"
    #: LoRA keys the config sets (the rest: :data:`LORA_DEFAULTS`, see :attr:`lora_settings`).
    lora: Mapping[str, Any] | None = None

    @property
    def lora_settings(self) -> dict[str, Any]:
        """Rank, alpha, dropout and target patterns: the config's over :data:`LORA_DEFAULTS`."""
        return {**LORA_DEFAULTS, **(self.lora or {})}


@dataclass(frozen=True, kw_only=True)
class EnformerSettings(S2FSettings):
    """Enformer (enformer-pytorch)."""

    track_index: int = 5110  # CAGE GM12878
    track_head: str = "human"
    use_tf_gamma: bool = False


@dataclass(frozen=True, kw_only=True)
class BorzoiSettings(S2FSettings):
    """Borzoi (borzoi-pytorch)."""

    track_index: int = 870  # CAGE GM12878, + strand


@dataclass(frozen=True)
class Pooling:
    """Which bases of a gLM window are stored, averaged in bins (models.embedding_windows)."""

    region: str = "window"
    tss_window: int | None = None
    bin_size: int = 1


@dataclass(frozen=True, kw_only=True)
class GLMSettings(ModelSettings):
    """A frozen genomic language model feeding a trainable tower."""

    family: ClassVar[str] = "glm"
    training_block: ClassVar[str] = "tower"

    #: Hidden state used as features: an index or, for Evo2, a module name.
    layer: int | str = -1
    #: Windows per forward pass when embedding (each architecture sets its default).
    batch_size: int
    #: TowerHead keyword arguments (unset ones: TowerHead's defaults).
    tower: Mapping[str, Any] = field(default_factory=dict)
    #: Bases per forward pass (None: input_length) and between tile starts (None: context).
    context: int | None = None
    stride: int | None = None
    pooling: Pooling = field(default_factory=Pooling)
    #: A folder of the seed's precomputed embeddings, imported instead of computed.
    precomputed_root: str | None = None

    def __post_init__(self):
        if isinstance(self.pooling, Mapping):  # as written in the config
            object.__setattr__(self, "pooling", Pooling(**self.pooling))

    @property
    def leading_states(self) -> int:
        """Stored states ahead of the base positions (NT's ``<cls>``); none by default."""
        return 0


@dataclass(frozen=True, kw_only=True)
class NucleotideTransformerSettings(GLMSettings):
    """Nucleotide Transformer v2 (haplexpr.models.nucleotide_transformer)."""

    batch_size: int = 8
    dtype: str = "float32"
    truncate_layers: bool = True
    keep_cls: bool = False
    non_acgt: str = "n_token"

    @property
    def leading_states(self) -> int:
        """The ``<cls>`` state, stored ahead of the bases with ``keep_cls``."""
        return int(self.keep_cls)


@dataclass(frozen=True, kw_only=True)
class Evo2Settings(GLMSettings):
    """Evo2's StripedHyena 2 (haplexpr.models.evo2); ``layer`` is a module name."""

    layer: str = field()  # required: no default module name
    batch_size: int = 1
    dtype: str = "float32"
    non_acgt: str = "as_written"


@dataclass(frozen=True, kw_only=True)
class CaduceusEmbedderSettings(GLMSettings):
    """Caduceus-ph (haplexpr.models.caduceus)."""

    batch_size: int = 8
    scan_chunk: int = DEFAULT_SCAN_CHUNK
    conjoin_strands: bool = True
