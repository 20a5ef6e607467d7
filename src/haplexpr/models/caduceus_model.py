"""The Caduceus network in plain PyTorch, and its checkpoints in the published layout.

Read from kuleshov-group/caduceus (``caduceus/modeling_caduceus.py``,
``configuration_caduceus.py``), rewritten on :mod:`haplexpr.models.mamba` so no
``mamba_ssm`` is needed. Per layer: ``residual = hidden + residual`` (the embeddings
themselves for layer 0), ``hidden = mixer(norm(residual))``; after the last layer
``norm_f(hidden + residual)``. This is mamba_ssm's ``Block`` with fused add + RMSNorm
(``prenorm=True``), computed unfused: the same values. Everything runs in float32, which
makes ``residual_in_fp32`` and ``fused_add_norm`` moot.

Checkpoint layout (``CaduceusForMaskedLM`` saved by transformers): ``config.json`` with
the hub's fields, and ``model.safetensors`` (or ``pytorch_model.bin``) with keys
``caduceus.backbone.`` + ``embeddings.word_embeddings.weight``, ``norm_f.weight`` and per
layer ``layers.{i}.norm.weight``, nine ``mixer.mamba_fwd.*`` and seven ``mixer.mamba_rev.*``
(the reverse direction's ``in_proj``/``out_proj`` are ``mamba_fwd``'s, stored once):
2 + 17 per layer. Here the reverse direction has no projections of its own, so loading
fills the one shared copy and the tie holds by construction.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from haplexpr.models.mamba import DEFAULT_SCAN_CHUNK, BiMamba, RMSNorm

#: Caduceus's character vocabulary (``tokenization_caduceus.py``): specials, then bases.
VOCAB = (
    *("[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]"),
    *("A", "C", "G", "T", "N"),
)
#: Base ids swapped by complementing (A<->T, C<->G); every other id is its own complement.
BASE_COMPLEMENT = {7: 10, 8: 9, 9: 8, 10: 7}
#: Key prefix of every tensor in a published checkpoint.
PREFIX = "caduceus.backbone."
#: ``ssm_cfg`` fields that only initialise weights, so a loaded model ignores them.
_SSM_INIT_ONLY = frozenset(
    {"dt_min", "dt_max", "dt_init", "dt_scale", "dt_init_floor", "use_fast_path", "layer_idx"}
)
#: Hub config flags and the only value implemented here (the hub's defaults, Caduceus-ph's).
_FIXED = {"rms_norm": True, "bidirectional": True, "bidirectional_weight_tie": True, "rcps": False}


@dataclass(frozen=True)
class CaduceusSettings:
    """What the forward pass depends on, read from (and written as) a hub ``config.json``."""

    d_model: int
    n_layer: int
    vocab_size: int = len(VOCAB)
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int | str = "auto"
    conv_bias: bool = True
    bias: bool = False
    norm_epsilon: float = 1e-5
    pad_vocab_size_multiple: int = 8

    @property
    def padded_vocab(self) -> int:
        """Rows of the embedding table: the hub pads the vocabulary (12 -> 16)."""
        multiple = self.pad_vocab_size_multiple
        return math.ceil(self.vocab_size / multiple) * multiple

    @classmethod
    def from_hub_config(cls, config: Mapping[str, Any], where: str = "config") -> CaduceusSettings:
        """Read a hub ``config.json``; refuse, by name, a field whose value is not implemented."""
        if config.get("model_type", "caduceus") != "caduceus":
            raise ValueError(f"{where}: model_type {config['model_type']!r} is not caduceus")
        for key, value in _FIXED.items():
            if config.get(key, value) != value:
                raise ValueError(
                    f"{where}: {key} = {config[key]!r} is not implemented (only {value!r}; "
                    "Caduceus-ps checkpoints have rcps: true)"
                )
        if config.get("bidirectional_strategy") not in (None, "add"):
            raise ValueError(
                f"{where}: bidirectional_strategy = {config['bidirectional_strategy']!r} is"
                " not implemented (only 'add')"
            )
        complement = config.get("complement_map") or {}
        for base, partner in BASE_COMPLEMENT.items():
            if int(complement.get(str(base), complement.get(base, partner))) != partner:
                raise ValueError(
                    f"{where}: complement_map[{base}] is not {partner} ({VOCAB[base]})"
                )
        ssm = dict(config.get("ssm_cfg") or {})
        shape_keys = {"d_state", "d_conv", "expand", "dt_rank", "conv_bias", "bias"}
        unknown = sorted(set(ssm) - shape_keys - _SSM_INIT_ONLY)
        if unknown:
            raise ValueError(f"{where}: ssm_cfg.{unknown[0]} is not a Mamba v1 field read here")
        missing = [k for k in ("d_model", "n_layer", "vocab_size") if k not in config]
        if missing:
            raise ValueError(f"{where}: missing {missing[0]}")
        top = ("d_model", "n_layer", "vocab_size", "norm_epsilon", "pad_vocab_size_multiple")
        return cls(
            **{k: config[k] for k in top if k in config},
            **{k: ssm[k] for k in shape_keys if k in ssm},
        )

    def hub_config(self) -> dict[str, Any]:
        """The hub's ``config.json`` for these settings (flags at their implemented values)."""
        fields = asdict(self)
        ssm = {k: fields.pop(k) for k in ("d_state", "d_conv", "expand", "dt_rank")}
        ssm.update(conv_bias=fields.pop("conv_bias"), bias=fields.pop("bias"))
        return {
            "model_type": "caduceus",
            "architectures": ["CaduceusForMaskedLM"],
            **fields,
            "ssm_cfg": ssm,
            **_FIXED,
            "bidirectional_strategy": "add",
            "fused_add_norm": True,
            "residual_in_fp32": False,
        }


class CaduceusLayer(nn.Module):
    """One block: RMSNorm, then the bidirectional mixer (the residual add is the caller's)."""

    def __init__(self, settings: CaduceusSettings):
        super().__init__()
        self.norm = RMSNorm(settings.d_model, eps=settings.norm_epsilon)
        self.mixer = BiMamba(
            settings.d_model,
            d_state=settings.d_state,
            d_conv=settings.d_conv,
            expand=settings.expand,
            dt_rank=settings.dt_rank,
            conv_bias=settings.conv_bias,
            bias=settings.bias,
        )


class CaduceusModel(nn.Module):
    """Caduceus's backbone: token ids ``(batch, length)`` -> states ``(batch, length, d_model)``."""

    def __init__(self, settings: CaduceusSettings):
        super().__init__()
        self.settings = settings
        self.embeddings = nn.Module()  # the hub nests the table as embeddings.word_embeddings
        self.embeddings.word_embeddings = nn.Embedding(settings.padded_vocab, settings.d_model)
        nn.init.normal_(self.embeddings.word_embeddings.weight, std=0.02)  # the hub's init
        self.layers = nn.ModuleList(CaduceusLayer(settings) for _ in range(settings.n_layer))
        self.norm_f = RMSNorm(settings.d_model, eps=settings.norm_epsilon)

    def forward(
        self, ids: torch.Tensor, layer: int = -1, scan_chunk: int = DEFAULT_SCAN_CHUNK
    ) -> torch.Tensor:
        """Entry ``layer`` of the hub's ``output_hidden_states`` list (blocks after it skipped).

        0 is the token embeddings, ``i`` in ``1..n_layer-1`` the mixer output of block
        ``i - 1`` (the hub records each block's input, before the residual add), ``n_layer``
        or -1 the final ``norm_f(hidden + residual)``.
        """
        n_layer = len(self.layers)
        if not -(n_layer + 1) <= layer <= n_layer:
            raise ValueError(f"layer must index 0..{n_layer} hidden states, got {layer}")
        layer %= n_layer + 1
        hidden = self.embeddings.word_embeddings(ids)
        if layer == 0:
            return hidden
        residual = None
        for block in self.layers[:layer]:
            residual = hidden if residual is None else residual + hidden
            hidden = block.mixer(block.norm(residual), scan_chunk=scan_chunk)
        if layer < n_layer:
            return hidden
        return self.norm_f(hidden + residual)


def tied_aliases(settings: CaduceusSettings) -> dict[str, str]:
    """Keys a checkpoint may repeat for tied tensors (``torch.save`` keeps them) -> the source."""
    aliases = {"lm_head.weight": PREFIX + "embeddings.word_embeddings.weight"}
    shared = ["in_proj.weight", "out_proj.weight"]
    if settings.bias:
        shared += ["in_proj.bias", "out_proj.bias"]
    for i in range(settings.n_layer):
        mixer = f"{PREFIX}layers.{i}.mixer."
        aliases.update({mixer + "mamba_rev." + p: mixer + "mamba_fwd." + p for p in shared})
    return aliases


def load_weights(model: CaduceusModel, state: dict[str, torch.Tensor], where: str) -> None:
    """Fill ``model`` from a published state dict, refusing any key or shape it does not expect.

    Repeated tied tensors (``mamba_rev``'s projections, the masked-LM head) are accepted
    only when equal to the tensor they are tied to, then dropped.
    """
    state = dict(state)
    for alias, source in tied_aliases(model.settings).items():
        if alias in state:
            copy = state.pop(alias)
            if source in state and not torch.equal(copy, state[source]):
                raise ValueError(f"{where}: {alias} differs from {source}, which it is tied to")
    expected = {PREFIX + k: v.shape for k, v in model.state_dict().items()}
    missing, extra = sorted(expected.keys() - state), sorted(state.keys() - expected)
    for names, what in ((missing, "missing"), (extra, "unexpected")):
        if names:
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            raise ValueError(f"{where}: {what} tensor {names[0]}{more}")
    for name, shape in expected.items():
        if state[name].shape != shape:
            raise ValueError(
                f"{where}: {name} has shape {tuple(state[name].shape)}, the config implies"
                f" {tuple(shape)}"
            )
    model.load_state_dict({k.removeprefix(PREFIX): v.float() for k, v in state.items()})


def read_state_dict(directory: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The checkpoint's tensors (``model.safetensors`` preferred) and the file they came from."""
    safetensors_file, torch_file = directory / "model.safetensors", directory / "pytorch_model.bin"
    if safetensors_file.is_file():
        from safetensors.torch import load_file

        return load_file(safetensors_file), safetensors_file
    if torch_file.is_file():
        return torch.load(torch_file, map_location="cpu", weights_only=True), torch_file
    raise FileNotFoundError(f"{directory}: no model.safetensors or pytorch_model.bin")


def checkpoint_dir(pretrained: str | Path) -> Path:
    """A local checkpoint folder as is; anything else is a hub ID, downloaded (and cached)."""
    path = Path(pretrained).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                str(pretrained),
                allow_patterns=["config.json", "model.safetensors", "pytorch_model.bin"],
            )
        )
    except Exception as err:  # offline, unknown repo, malformed ID: one message for all
        raise OSError(
            f"{pretrained!r} is not a local checkpoint folder and could not be fetched from"
            f" the Hugging Face hub: {err}"
        ) from err


def load_checkpoint(pretrained: str | Path) -> CaduceusModel:
    """Build the network a checkpoint's ``config.json`` describes and load its weights."""
    directory = checkpoint_dir(pretrained)
    config_file = directory / "config.json"
    settings = CaduceusSettings.from_hub_config(
        json.loads(config_file.read_text()), str(config_file)
    )
    model = CaduceusModel(settings)
    state, weights_file = read_state_dict(directory)
    load_weights(model, state, str(weights_file))
    return model


def save_checkpoint(model: CaduceusModel, directory: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` in the published layout."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(model.settings.hub_config(), indent=2))
    tensors = {PREFIX + k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})
    return directory
