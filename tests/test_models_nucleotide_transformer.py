"""NT v2 on CPU: the gated feed-forward, hub-layout checkpoints, the embedder (its tokens:
test_models_nt_tokenizer.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from support.dna import random_dna, seed_nt_input
from transformers import EsmConfig, EsmForMaskedLM

from haplexpr.models.nt_tokenizer import NT_VOCAB, token_ids, tokens_for_length
from haplexpr.models.nucleotide_transformer import (
    NucleotideTransformerEmbedder,
    NucleotideTransformerV2Config,
    NucleotideTransformerV2ForMaskedLM,
    load_pretrained,
    save_in_hub_layout,
    save_pretrained_tiny,
    tiny_config,
)

SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
}


# --------------------------------------------------------------------------- architecture


def test_gated_feed_forward_matches_a_hand_written_swiglu():
    config = tiny_config(
        {
            "hidden_size": 8,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 12,
        }
    )
    torch.manual_seed(0)
    block = NucleotideTransformerV2ForMaskedLM(config).double().eval().esm.encoder.layer[0]
    w_in, w_out = block.intermediate.dense.weight, block.output.dense.weight
    assert w_in.shape == (24, 8) and w_out.shape == (8, 12)
    assert block.intermediate.dense.bias is None and block.output.dense.bias is None
    ln = block.LayerNorm
    with torch.no_grad():  # non-trivial LayerNorm parameters, so the reference tests them too
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    centred = x - x.mean(-1, keepdim=True)
    normed = centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + 1e-12)
    h = (normed * ln.weight + ln.bias) @ w_in.T
    a, b = h[..., :12], h[..., 12:]  # the first half is gated
    want = x + (a * torch.sigmoid(a) * b) @ w_out.T
    with torch.no_grad():
        got = block.feed_forward_chunk(x)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_layout_of_the_published_50m_checkpoint():
    """Counts published for InstaDeepAI/nucleotide-transformer-v2-50m-multi-species.

    Its model card (as recorded by kurtvalcorza/nucleotide-transformer-genomics-pipeline,
    MODEL_CARD.md) gives 55,904,972 parameters and 55,905,164 stored elements (plus 16
    rotary ``inv_freq`` values per layer); its ``model.safetensors`` is 223,642,688 bytes.
    """
    sizes = {"hidden_size": 512, "num_hidden_layers": 12, "num_attention_heads": 16}
    config = tiny_config(sizes | {"intermediate_size": 2048})
    with torch.device("meta"):
        model = NucleotideTransformerV2ForMaskedLM(config)
    assert sum(p.numel() for p in model.parameters()) == 55_904_972
    state = model.state_dict()
    assert sum(t.numel() for t in state.values()) == 55_905_164
    assert len(state) == 192 and set(state) == hub_tensor_names(12)


def hub_tensor_names(n_layers: int) -> set[str]:
    """The tensor names of a published NT v2 checkpoint, written out."""
    per_block = [
        "attention.self.query.weight",
        "attention.self.query.bias",
        "attention.self.key.weight",
        "attention.self.key.bias",
        "attention.self.value.weight",
        "attention.self.value.bias",
        "attention.self.rotary_embeddings.inv_freq",
        "attention.output.dense.weight",
        "attention.output.dense.bias",
        "attention.LayerNorm.weight",
        "attention.LayerNorm.bias",
        "intermediate.dense.weight",
        "output.dense.weight",
        "LayerNorm.weight",
        "LayerNorm.bias",
    ]
    rest = [
        "esm.embeddings.word_embeddings.weight",
        "esm.embeddings.position_embeddings.weight",
        "esm.encoder.emb_layer_norm_after.weight",
        "esm.encoder.emb_layer_norm_after.bias",
        "esm.contact_head.regression.weight",
        "esm.contact_head.regression.bias",
        "lm_head.dense.weight",
        "lm_head.dense.bias",
        "lm_head.layer_norm.weight",
        "lm_head.layer_norm.bias",
        "lm_head.decoder.weight",
        "lm_head.bias",
    ]
    return {f"esm.encoder.layer.{i}.{n}" for i in range(n_layers) for n in per_block} | set(rest)


def test_hub_layout_round_trip_is_exact(tmp_path):
    torch.manual_seed(1)
    model = NucleotideTransformerV2ForMaskedLM(tiny_config(SMALL)).eval()
    save_in_hub_layout(model, tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    assert "model_type" not in written and written["add_bias_fnn"] is False
    assert written["auto_map"]["AutoModelForMaskedLM"] == "modeling_esm.EsmForMaskedLM"
    assert not list(tmp_path.glob("*.py"))  # the auto_map's code is not there: nothing runs it
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        assert set(f.keys()) == hub_tensor_names(2)

    loaded = load_pretrained(tmp_path)  # what a hub ID goes through too
    assert type(loaded) is NucleotideTransformerV2ForMaskedLM
    assert type(loaded.config) is NucleotideTransformerV2Config
    seq = random_dna(93, seed=4)
    ids = torch.tensor([token_ids(seq)[1]])
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True)
        got = loaded.eval()(
            input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True
        )
    assert torch.equal(want.logits, got.logits)
    assert all(
        torch.equal(a, b) for a, b in zip(want.hidden_states, got.hidden_states, strict=True)
    )
    embedder = NucleotideTransformerEmbedder.from_config({"pretrained": str(tmp_path), "layer": 1})
    np.testing.assert_array_equal(embedder.embed([seq])[0], want.hidden_states[1][0, 1:].numpy())


def _native_esm(path):
    """transformers' own ESM of the same sizes: GELU feed-forward with biases."""
    fields = {k: v for k, v in tiny_config(SMALL).to_dict().items() if k != "add_bias_fnn"}
    EsmForMaskedLM(EsmConfig(**fields)).save_pretrained(path)


def _biased_gated(path):
    """Gated, but with feed-forward biases its config.json denies."""
    save_in_hub_layout(
        NucleotideTransformerV2ForMaskedLM(tiny_config(SMALL | {"add_bias_fnn": True})), path
    )
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "add_bias_fnn": False}))


def _wider_config(path):
    """Weights of hidden size 32 under a config.json saying 48."""
    save_pretrained_tiny(path, SMALL)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "hidden_size": 48}))


def _no_lm_head(path):
    """A published layout with the masked-LM head's tensors left out."""
    save_pretrained_tiny(path, SMALL)
    tensors = load_file(path / "model.safetensors")
    kept = {k: v for k, v in tensors.items() if not k.startswith("lm_head.")}
    save_file(kept, path / "model.safetensors", metadata={"format": "pt"})


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (
            _native_esm,
            r"another shape.*esm\.encoder\.layer\.0\.intermediate\.dense\.weight \[128, 32\]",
        ),
        (_native_esm, r"unexpected: esm\.encoder\.layer\.0\.intermediate\.dense\.bias"),
        (_biased_gated, r"unexpected: esm\.encoder\.layer\.0\.intermediate\.dense\.bias"),
        (_wider_config, r"another shape.*word_embeddings\.weight \[4107, 48\]"),
        (_no_lm_head, r"missing: lm_head\."),
    ],
)
def test_other_architectures_are_refused_by_name(tmp_path, write, message):
    write(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(NT_VOCAB))
    with pytest.raises(ValueError, match=message):
        load_pretrained(tmp_path)


def test_another_vocabulary_is_refused(tmp_path):
    save_pretrained_tiny(tmp_path, SMALL)
    swapped = NT_VOCAB[:6] + [NT_VOCAB[7], NT_VOCAB[6]] + NT_VOCAB[8:]
    (tmp_path / "vocab.txt").write_text("\n".join(swapped))
    with pytest.raises(ValueError, match=r"token 6 is 'AAAAAT', NT v2 has 'AAAAAA'"):
        load_pretrained(tmp_path)


# --------------------------------------------------------------------------- embedder


@pytest.fixture(scope="module")
def nt_path(tmp_path_factory):
    return save_pretrained_tiny(
        tmp_path_factory.mktemp("nt"), SMALL | {"num_hidden_layers": 3}, seed=3
    )


def test_nt_embed_shapes_and_padding(nt_path):
    embedder = NucleotideTransformerEmbedder.from_config(
        {"pretrained": str(nt_path), "layer": 2, "input_length": 605}
    )
    assert embedder.embedding_dim == 32
    clean = [random_dna(605, seed) for seed in range(3)]
    out = embedder.embed(clean)
    assert out.shape == (3, tokens_for_length(605), 32) == (3, 105, 32)
    assert embedder.bases_per_position(605).tolist() == [6] * 100 + [1] * 5
    assert out.dtype == np.float32
    with_n = clean[1][:100] + "NN" + clean[1][102:]  # more tokens, same output shape
    mixed = embedder.embed([clean[0], with_n])
    assert mixed.shape == (2, 105, 32)
    # Padding changes the batch's shape and so the float32 kernels (~1e-7 on values ~1);
    # a mask that let padding leak into attention would move states by ~1e-2.
    np.testing.assert_allclose(mixed[0], out[0], atol=1e-5)  # padding + mask leave it intact
    np.testing.assert_allclose(mixed[1], embedder.embed([with_n])[0], atol=1e-5)
    with pytest.raises(ValueError):
        embedder.embed(["ACGTAC", "ACGTACG"])
    with pytest.raises(ValueError, match="2,048"):
        embedder.embed(["N" * 2048])


def test_nt_truncation_and_reload_are_exact(nt_path):
    seq = random_dna(120, seed=9)
    embedder = NucleotideTransformerEmbedder.from_config({"pretrained": str(nt_path), "layer": 1})
    assert len(embedder.model.esm.encoder.layer) == 2  # block 3 cannot change layer 1
    first = embedder.embed([seq])
    np.testing.assert_array_equal(first, embedder.embed([seq]))  # same shapes, same process
    again = NucleotideTransformerEmbedder.from_config({"pretrained": str(nt_path), "layer": 1})
    np.testing.assert_array_equal(first, again.embed([seq]))  # save -> load is exact
    untruncated = NucleotideTransformerEmbedder.from_config(
        {"pretrained": str(nt_path), "layer": 1, "truncate_layers": False}
    )
    # Same inputs and shapes, so on one machine these agree to the last bit; the tolerance
    # is rounding only (states ~1 after LayerNorm), far below a wrong layer's difference (~1).
    np.testing.assert_allclose(first, untruncated.embed([seq]), atol=1e-6)


def test_nt_tiny_from_config_and_layer_bounds():
    embedder = NucleotideTransformerEmbedder.from_config({"tiny": None, "layer": -1})
    assert isinstance(embedder.model, NucleotideTransformerV2ForMaskedLM)
    assert embedder.embed(["ACGTACGTAC"]).shape == (1, 5, 64)
    with pytest.raises(ValueError):
        NucleotideTransformerEmbedder.from_config({"layer": 5})
    with pytest.raises(ValueError, match="2,048"):  # more tokens than one forward pass takes
        embedder.embed(["ACGT" * 5_000])
    with pytest.raises(ValueError, match=r"Transformer\.hiden_size: unknown key; .*hidden_size"):
        NucleotideTransformerEmbedder.from_config({"tiny": {"hiden_size": 16}})


def test_reduced_precision_keeps_rotary_positions_float32():
    embedder = NucleotideTransformerEmbedder.from_config({"tiny": SMALL, "dtype": "bfloat16"})
    dtypes = {name: t.dtype for name, t in embedder.model.named_buffers() if "inv_freq" in name}
    assert set(dtypes.values()) == {torch.float32} and len(dtypes) == 2
    assert embedder.model.esm.embeddings.word_embeddings.weight.dtype == torch.bfloat16
    assert embedder.embed([random_dna(1800)]).shape == (1, 300, 32)  # past bfloat16's 256


# --------------------------------------------------------------------------- the seed's inputs


def test_delete_embeds_the_shortened_sequence_and_puts_states_back_on_the_kept_bases(nt_path):
    embedder = NucleotideTransformerEmbedder.from_config(
        {"pretrained": str(nt_path), "layer": 2, "non_acgt": "delete"}
    )
    seq = random_dna(20, seed=4)[:8] + "NNNNNNN" + random_dna(20, seed=5)[:15]  # 30 bases
    out = embedder.embed([seq])
    assert out.shape == (1, tokens_for_length(30), 32) == (1, 5, 32)
    kept_seq = seed_nt_input(seq)  # 23 bases: ACGT-only 6-mers run across the deletion
    tokens, ids = token_ids(kept_seq)
    with torch.inference_mode():
        states = embedder.model(torch.tensor([ids]), output_hidden_states=True).hidden_states[2]
    per_kept_base = np.repeat(states[0, 1:].numpy(), [len(t) for t in tokens], axis=0)
    # slot 1 = bases 6-11: bases 6-7 kept, 8-11 deleted; slot 2 = bases 12-17: 12-14 deleted
    np.testing.assert_allclose(out[0, 1], per_kept_base[6:8].mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(out[0, 2], per_kept_base[8:11].mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(out[0, 0], per_kept_base[0:6].mean(axis=0), atol=1e-5)
    only_n = embedder.embed(["ACGTAC" + "N" * 6])
    np.testing.assert_array_equal(only_n[0, 1], 0)  # a slot with no kept base is zeros
    clean = random_dna(30, seed=6)  # without non-ACGT bases the two rules agree
    n_token = NucleotideTransformerEmbedder.from_config({"pretrained": str(nt_path), "layer": 2})
    np.testing.assert_array_equal(embedder.embed([clean]), n_token.embed([clean]))
    assert not np.allclose(embedder.embed([seq]), n_token.embed([seq]), atol=1e-3)


def test_keep_cls_puts_the_cls_state_first(nt_path):
    keep = NucleotideTransformerEmbedder.from_config(
        {"pretrained": str(nt_path), "layer": 2, "keep_cls": True}
    )
    drop = NucleotideTransformerEmbedder.from_config({"pretrained": str(nt_path), "layer": 2})
    seq = random_dna(605, seed=2)
    out = keep.embed([seq])
    assert keep.leading_states == 1 and drop.leading_states == 0
    assert out.shape == (1, 1 + tokens_for_length(605), 32)
    np.testing.assert_array_equal(out[:, 1:], drop.embed([seq]))
    _, ids = token_ids(seq)
    with torch.inference_mode():
        states = keep.model(torch.tensor([ids]), output_hidden_states=True).hidden_states[2]
    np.testing.assert_allclose(out[0, 0], states[0, 0].numpy(), atol=1e-6)


def test_non_acgt_rule_is_checked():
    with pytest.raises(ValueError, match="non_acgt must be one of"):
        NucleotideTransformerEmbedder.from_config({"tiny": None, "non_acgt": "skip"})
