"""Caduceus-ph in plain PyTorch: tokens, the published checkpoint layout, strand symmetry; all
on CPU with tiny models (its Mamba layers: test_models_mamba.py)."""

from __future__ import annotations

import copy
import re
import time

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file
from support import ROOT
from support.dna import random_dna

from haplexpr.errors import ConfigError
from haplexpr.models import registry
from haplexpr.models.caduceus import (
    CaduceusEmbedder,
    reverse_complement_ids,
    save_pretrained_tiny,
    tiny_settings,
    token_ids,
)
from haplexpr.models.caduceus_model import (
    PREFIX,
    CaduceusModel,
    CaduceusSettings,
    load_checkpoint,
)
from haplexpr.sequence_encoding import reverse_complement

#: The pretrained checkpoint's config.json as we take it to be (not downloadable here): the
#: fields transformers writes for CaduceusForMaskedLM, as published for the ps sibling
#: (kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16), with ph's rcps: false.
HUB_CONFIG = {
    "architectures": ["CaduceusForMaskedLM"],
    "bidirectional": True,
    "bidirectional_strategy": "add",
    "bidirectional_weight_tie": True,
    "complement_map": {str(i): {7: 10, 8: 9, 9: 8, 10: 7}.get(i, i) for i in range(16)},
    "d_model": 256,
    "fused_add_norm": True,
    "initializer_cfg": {
        "initializer_range": 0.02,
        "n_residuals_per_layer": 1,
        "rescale_prenorm_residual": True,
    },
    "model_type": "caduceus",
    "n_layer": 16,
    "norm_epsilon": 1e-05,
    "pad_vocab_size_multiple": 8,
    "rcps": False,
    "residual_in_fp32": False,
    "rms_norm": True,
    "ssm_cfg": {
        "bias": False,
        "conv_bias": True,
        "d_conv": 4,
        "d_state": 16,
        "dt_init": "random",
        "dt_init_floor": 0.0001,
        "dt_max": 0.1,
        "dt_min": 0.001,
        "dt_rank": "auto",
        "dt_scale": 1.0,
        "expand": 2,
        "use_fast_path": True,
    },
    "torch_dtype": "float32",
    "transformers_version": "4.38.1",
    "vocab_size": 16,
}
FORWARD_TENSORS = [
    *("A_log", "D", "conv1d.weight", "conv1d.bias", "dt_proj.weight", "dt_proj.bias"),
    *("x_proj.weight", "in_proj.weight", "out_proj.weight"),
]
REVERSE_TENSORS = FORWARD_TENSORS[:-2]  # in_proj / out_proj are mamba_fwd's, stored once


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    return save_pretrained_tiny(tmp_path_factory.mktemp("caduceus"), {"n_layer": 3}, seed=5)


@pytest.fixture(scope="module")
def embedder(tiny_path):
    return CaduceusEmbedder.from_config({"pretrained": str(tiny_path), "scan_chunk": 64})


# --------------------------------------------------------------------------- tokens


def test_token_ids_written_out_by_hand():
    assert token_ids("ACGTN").tolist() == [7, 8, 9, 10, 11]
    assert token_ids("acgtn").tolist() == [7, 8, 9, 10, 11]  # soft-masked reference
    assert token_ids("RYKMSWBDHV-").tolist() == [11] * 11  # other IUPAC codes -> N
    assert reverse_complement_ids(token_ids("AACGTN")).tolist() == [11, 7, 8, 9, 10, 10]


def test_embed_is_both_strands_with_sep_appended_sep_dropped_and_averaged(embedder):
    ids_plus = torch.tensor([[7, 7, 8, 9, 10, 11, 1]])  # AACGTN + [SEP]
    ids_minus = torch.tensor([[11, 7, 8, 9, 10, 10, 1]])  # NACGTT + [SEP]
    with torch.no_grad():
        plus = embedder.model(ids_plus)[0, :-1]
        minus = embedder.model(ids_minus)[0, :-1].flip(0)
    out = embedder.embed(["AACGTN"])
    assert out.shape == (1, 6, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], ((plus + minus) / 2).numpy(), atol=1e-6)


def test_without_conjoining_only_the_windows_strand_is_embedded_as_the_seed(tiny_path):
    """The seed: ``hidden_states[-1][:, :-1, :]`` of the sequence + [SEP], one strand."""
    single = CaduceusEmbedder.from_config(
        {"pretrained": str(tiny_path), "scan_chunk": 64, "conjoin_strands": False}
    )
    seq = random_dna(50, seed=3)
    ids = torch.tensor([[*token_ids(seq).tolist(), 1]])  # + [SEP]
    with torch.no_grad():
        expected = single.model(ids, layer=-1)[0, :-1]
    out = single.embed([seq])
    np.testing.assert_allclose(out[0], expected.numpy(), atol=1e-6)
    conjoined = CaduceusEmbedder.from_config({"pretrained": str(tiny_path), "scan_chunk": 64})
    assert not np.allclose(out, conjoined.embed([seq]), atol=1e-3)


# --------------------------------------------------------------------------- architecture


def test_full_config_has_the_checkpoints_tensor_names_and_parameter_count():
    model = CaduceusModel(CaduceusSettings.from_hub_config(HUB_CONFIG))
    expected = {PREFIX + "embeddings.word_embeddings.weight", PREFIX + "norm_f.weight"}
    for i in range(16):
        layer = f"{PREFIX}layers.{i}."
        expected.add(layer + "norm.weight")
        expected |= {layer + "mixer.mamba_fwd." + t for t in FORWARD_TENSORS}
        expected |= {layer + "mixer.mamba_rev." + t for t in REVERSE_TENSORS}
    state = {PREFIX + k: v for k, v in model.state_dict().items()}
    assert set(state) == expected and len(state) == 274 == 2 + 17 * 16
    assert sum(p.numel() for p in model.parameters()) == 7_725_312
    shapes = {
        "embeddings.word_embeddings.weight": (16, 256),  # vocabulary 12 padded to 16
        "layers.0.mixer.mamba_fwd.in_proj.weight": (1024, 256),
        "layers.0.mixer.mamba_fwd.x_proj.weight": (48, 512),  # dt_rank 16 + 2 x d_state 16
        "layers.0.mixer.mamba_rev.conv1d.weight": (512, 1, 4),
        "layers.0.mixer.mamba_rev.A_log": (512, 16),
        "layers.15.mixer.mamba_fwd.out_proj.weight": (256, 512),
    }
    assert {k: tuple(state[PREFIX + k].shape) for k in shapes} == shapes


# --------------------------------------------------------------------------- checkpoints


def test_tiny_checkpoint_round_trip_in_the_published_layout(tiny_path):
    tensors = load_file(tiny_path / "model.safetensors")
    assert len(tensors) == 2 + 17 * 3
    assert PREFIX + "layers.2.mixer.mamba_fwd.in_proj.weight" in tensors
    assert not [k for k in tensors if re.search(r"mamba_rev\.(in|out)_proj", k)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        original = CaduceusModel(tiny_settings({"n_layer": 3})).eval()
    loaded = load_checkpoint(tiny_path).eval()
    assert not hasattr(loaded.layers[0].mixer.mamba_rev, "in_proj")  # borrows mamba_fwd's
    ids = torch.randint(0, 12, (2, 77), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded(ids), original(ids))
    seq = random_dna(150, seed=1)
    from_tiny = CaduceusEmbedder.from_config({"tiny": {"n_layer": 3}}, seed=5)
    from_path = CaduceusEmbedder.from_config({"pretrained": str(tiny_path)})
    np.testing.assert_array_equal(from_path.embed([seq]), from_tiny.embed([seq]))


def test_pytorch_model_bin_with_repeated_tied_tensors(tmp_path):
    """torch.save keeps every name of a tied tensor; equal copies load, a differing one not."""
    path = save_pretrained_tiny(tmp_path / "bin", seed=2)
    tensors = load_file(path / "model.safetensors")
    (path / "model.safetensors").unlink()
    for name in [k for k in tensors if re.search(r"mamba_fwd\.(in|out)_proj", k)]:
        tensors[name.replace("mamba_fwd", "mamba_rev")] = tensors[name]
    tensors["lm_head.weight"] = tensors[PREFIX + "embeddings.word_embeddings.weight"]
    torch.save(tensors, path / "pytorch_model.bin")
    ids = torch.randint(0, 12, (1, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(
            load_checkpoint(path)(ids),
            CaduceusEmbedder.from_config({"tiny": None}, seed=2).model(ids),
        )
    tied = PREFIX + "layers.1.mixer.mamba_rev.out_proj.weight"
    tensors[tied] = tensors[tied] + 1
    torch.save(tensors, path / "pytorch_model.bin")
    with pytest.raises(ValueError, match=re.escape(f"{tied} differs from")):
        load_checkpoint(path)


REV_X_PROJ = PREFIX + "layers.1.mixer.mamba_rev.x_proj.weight"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing", f"missing tensor {REV_X_PROJ}"),
        ("extra", f"unexpected tensor {PREFIX}layers.1.mixer.mamba_rev.in_proj.bias"),
        ("misshapen", f"{REV_X_PROJ} has shape (33, 64), the config implies (34, 64)"),
    ],
)
def test_checkpoint_with_a_wrong_tensor_is_refused_by_name(tmp_path, change, message):
    path = save_pretrained_tiny(tmp_path / change)
    tensors = load_file(path / "model.safetensors")
    if change == "missing":
        del tensors[REV_X_PROJ]
    elif change == "extra":
        tensors[PREFIX + "layers.1.mixer.mamba_rev.in_proj.bias"] = torch.zeros(128)
    else:
        tensors[REV_X_PROJ] = tensors[REV_X_PROJ][:-1].contiguous()
    save_file(tensors, path / "model.safetensors")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rcps", True, "rcps = True is not implemented"),
        ("bidirectional_strategy", "ew_multiply", "bidirectional_strategy = 'ew_multiply'"),
        ("ssm_cfg", {"d_state": 16, "headdim": 64}, "ssm_cfg.headdim is not a Mamba v1"),
        ("complement_map", {"7": 7}, "complement_map[7] is not 10"),
    ],
)
def test_config_fields_not_implemented_are_refused_by_name(field, value, message):
    config = copy.deepcopy(HUB_CONFIG)
    config[field] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        CaduceusSettings.from_hub_config(config)


def test_missing_checkpoint_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{}")  # a folder, so not taken for a hub ID
    with pytest.raises(ValueError, match="missing d_model"):
        load_checkpoint(tmp_path)
    save_pretrained_tiny(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors or pytorch_model.bin"):
        load_checkpoint(tmp_path)


# --------------------------------------------------------------------------- embedder


def test_reverse_complement_embeds_as_the_flipped_embedding(embedder):
    seqs = [random_dna(300, seed) for seed in range(3)]
    seqs.append("acgtNNRY" + random_dna(292, 9))  # soft-masked, N and IUPAC codes
    out = embedder.embed(seqs)
    flipped = embedder.embed([reverse_complement(s) for s in seqs])[:, ::-1]
    # Exact by construction up to float rounding (the two calls batch the strands in the
    # other order); one strand alone is far from symmetric (differences ~1).
    np.testing.assert_allclose(flipped, out, atol=1e-6)
    single = embedder.model(torch.from_numpy(np.stack([token_ids(s) for s in seqs[:1]])))
    assert (single[0].detach().numpy() - out[0]).std() > 0.01


def test_from_config_tiny_keys_layers_and_registry():
    with pytest.raises(ConfigError, match=r"tiny Caduceus\.width: unknown key; allowed: d_conv"):
        CaduceusEmbedder.from_config({"tiny": {"width": 8}})
    with pytest.raises(ValueError, match=r"layer must index 0\.\.2 hidden states, got 3"):
        CaduceusEmbedder.from_config({"layer": 3})
    built = registry.build(
        {"architecture": "caduceus", "pretrained": None, "tiny": {"d_model": 16}, "layer": 0}
    )
    assert isinstance(built, CaduceusEmbedder) and built.embedding_dim == 16
    np.testing.assert_array_equal(built.bases_per_position(123), np.ones(123))
    table = built.model.embeddings.word_embeddings.weight.detach().numpy()
    # layer 0 = token embeddings, conjoined: A at the start pairs with T at the end
    np.testing.assert_allclose(built.embed(["AC"])[0, 0], (table[7] + table[10]) / 2, atol=1e-7)
    last = CaduceusEmbedder.from_config({"layer": -1}).embed(["ACGTA"])
    np.testing.assert_array_equal(last, CaduceusEmbedder.from_config({"layer": 2}).embed(["ACGTA"]))
    with pytest.raises(ValueError, match="equal length"):
        built.embed(["ACGT", "ACG"])


def test_demo_config_entry_builds_and_embeds_its_input_length():
    entry = yaml.safe_load((ROOT / "config.yaml").read_text())["models"]["caduceus"]
    embedder = registry.build(entry)
    out = embedder.embed([random_dna(entry["input_length"], seed=3)])
    assert out.shape == (1, entry["input_length"], entry["tiny"]["d_model"])


def test_tiny_forward_time_at_2048_bp():
    """Stated, not asserted (shared CPUs): ~0.2 s for both strands on one core when written."""
    embedder = CaduceusEmbedder.from_config({"tiny": None})
    seq = random_dna(2048, seed=4)
    embedder.embed([seq])  # warm-up
    started = time.perf_counter()
    out = embedder.embed([seq])
    print(f"tiny Caduceus-ph, 2,048 bp, both strands: {time.perf_counter() - started:.3f} s")
    assert out.shape == (1, 2048, 32) and np.isfinite(out).all()
