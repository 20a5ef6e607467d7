"""Tests for haplexpr.models.evo2 on CPU: a tiny real StripedHyena 2 (vtx), its checkpoints,
and the stand-ins that let vortex import and run without flash-attn, Triton or CUDA."""

import os
import subprocess
import sys
from types import ModuleType

import numpy as np
import pytest
import torch
import yaml
from support import ROOT

from haplexpr.errors import ConfigError
from haplexpr.models import evo2_cpu_shims as shims
from haplexpr.models.evo2 import Evo2Embedder, token_ids
from haplexpr.models.evo2_model import (
    build_tiny,
    load_checkpoint,
    save_checkpoint,
    save_pretrained_tiny,
    tiny_config,
)
from haplexpr.models.settings import Evo2Settings

LAYER = "blocks.3.mlp.l3"  # the tiny model's attention block's MLP output
ATTENTION = "blocks.3.inner_mha_cls"  # that block's attention output
TINY = {"pretrained": None, "layer": LAYER, "input_length": 256}


def random_bases(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


@pytest.fixture(scope="module")
def embedder():
    return Evo2Embedder.from_config(TINY)


def test_tiny_striped_hyena_embeds_one_finite_row_per_base(embedder):
    out = embedder.embed(random_bases(3, 200))
    assert out.shape == (3, 200, 32) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.std() > 1e-3
    assert embedder.embedding_dim == 32 and embedder.bases_per_position(200).tolist() == [1] * 200
    blocks = [type(b).__name__ for b in embedder.model.blocks]
    assert blocks == ["ParallelGatedConvBlock"] * 3 + ["AttentionBlock"]
    assert {b.filter.fir_inner_filter_length for b in embedder.model.blocks[:3]} == {7, 128, None}


def test_batches_and_causality_do_not_change_a_window(embedder):
    seqs = random_bases(3, 160, seed=1)
    one_by_one = np.concatenate([embedder.embed([s]) for s in seqs])
    embedder.batch_size = 2
    try:
        batched = embedder.embed(seqs)
    finally:
        embedder.batch_size = 1
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-4, atol=1e-5)
    # Evo2 is causal: position i sees bases 0..i only.
    prefix = embedder.embed([seqs[0][:100]])
    np.testing.assert_allclose(prefix[0], one_by_one[0, :100], rtol=1e-3, atol=1e-4)


def test_the_tiny_model_is_the_same_for_a_seed_and_another_for_another():
    seqs = random_bases(1, 128)
    first = Evo2Embedder.from_config(TINY).embed(seqs)
    again = Evo2Embedder.from_config(TINY).embed(seqs)
    other = Evo2Embedder.from_config(TINY, seed=1).embed(seqs)
    np.testing.assert_allclose(again, first, rtol=1e-5, atol=1e-6)
    assert np.abs(other - first).max() > 1e-2


def test_soft_masked_bases_reach_evo2_as_upper_case_bytes(embedder):
    seen = []
    hook = embedder.model.embedding_layer.register_forward_pre_hook(
        lambda _module, args: seen.append(args[0][0].tolist())
    )
    try:
        lower = embedder.embed(["acgtnacgta"])
        upper = embedder.embed(["ACGTNACGTA"])
    finally:
        hook.remove()
    assert seen == [list(b"ACGTNACGTA")] * 2
    np.testing.assert_array_equal(lower, upper)


def test_a_checkpoint_round_trip_keeps_the_weights_and_the_wqkv_row_order(tmp_path):
    model = build_tiny(seed=3)
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    path = save_checkpoint(model, tmp_path / "tiny")
    assert path.name == "tiny.pt" and path.with_suffix(".yml").exists()
    loaded = load_checkpoint(path)
    for key, value in loaded.state_dict().items():  # exactly the weights, rounded to bf16
        float32_kept = "log_poles" in key or "residues" in key or "projections" in key
        expected = saved[key] if float32_kept else saved[key].to(torch.bfloat16)
        torch.testing.assert_close(value, expected.to(value.dtype), rtol=0, atol=0, msg=key)

    # Embeddings agree within bf16 rounding of the weights (8 significant bits). The
    # attention block's own output shows a wrong Wqkv order most plainly.
    seqs = random_bases(2, 192, seed=2)
    model.float()
    for layer, tolerance in ((LAYER, 0.03), (ATTENTION, 0.02)):
        original = Evo2Embedder(model, Evo2Settings(layer=layer)).embed(seqs)
        reloaded = Evo2Embedder(loaded.float(), Evo2Settings(layer=layer)).embed(seqs)
        assert np.abs(reloaded - original).mean() < tolerance * np.abs(original).mean(), layer
    assert np.abs(reloaded - original).max() < tolerance * np.abs(original).max()

    # The same tensors saved in vortex's row order, as the published files are not: the
    # reorder on loading scrambles q, k and v across heads, and the attention output shows it.
    raw = tmp_path / "raw.pt"
    torch.save(model.state_dict(), raw)
    raw.with_suffix(".yml").write_text(path.with_suffix(".yml").read_text())
    scrambled = Evo2Embedder(load_checkpoint(raw).float(), Evo2Settings(layer=ATTENTION))
    assert np.abs(scrambled.embed(seqs) - original).mean() > 0.3 * np.abs(original).mean()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda state: state.pop("blocks.2.filter.log_poles"), "Missing key.*log_poles"),
        (lambda state: state.update(stray=torch.zeros(1)), "no place for: stray"),
        (
            lambda state: state.update({"blocks.0.mlp.l3.weight": torch.zeros(32, 65)}),
            "size mismatch for blocks.0.mlp.l3.weight",
        ),
    ],
    ids=["missing", "extra", "wrong_shape"],
)
def test_a_checkpoint_that_does_not_fit_its_config_is_refused(tmp_path, edit, message):
    path = save_pretrained_tiny(tmp_path)
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)


def test_a_checkpoint_without_a_config_is_refused_by_name(tmp_path):
    path = save_pretrained_tiny(tmp_path)
    path.with_suffix(".yml").unlink()
    with pytest.raises(FileNotFoundError, match="evo2_tiny.yml"):
        load_checkpoint(path)


def test_a_local_checkpoint_is_what_pretrained_loads(tmp_path):
    path = save_pretrained_tiny(tmp_path, seed=5)
    from_file = Evo2Embedder.from_config({**TINY, "pretrained": str(path)})
    built = Evo2Embedder.from_config(TINY, seed=5)
    seqs = random_bases(1, 64)
    np.testing.assert_array_equal(from_file.embed(seqs), built.embed(seqs))
    assert yaml.safe_load(path.with_suffix(".yml").read_text())["use_flash_attn"] is False


def test_tiny_settings_are_checked():
    with pytest.raises(ConfigError, match="tiny Evo2.hidden_sise: unknown key"):
        tiny_config({"hidden_sise": 8})
    with pytest.raises(ConfigError, match="must list each of the 5 blocks once"):
        tiny_config({"num_layers": 5})
    with pytest.raises(ValueError, match="no layer 'blocks.9.mlp.l3'"):
        Evo2Embedder.from_config({**TINY, "layer": "blocks.9.mlp.l3"})
    with pytest.raises(ValueError, match="neither a local checkpoint"):
        Evo2Embedder.from_config({**TINY, "pretrained": "evo2_7"})
    with pytest.raises(ValueError, match="256-base inputs exceed Evo2's max_seqlen 128"):
        Evo2Embedder.from_config({**TINY, "tiny": {"max_seqlen": 128}})


def test_config_yamls_evo2_block_builds_the_tiny_model_and_its_tower():
    from haplexpr.config import load_config
    from haplexpr.models.tower import TowerHead

    cfg = load_config(ROOT / "config.yaml")["models"]["evo2"]
    embedder = Evo2Embedder.from_config(cfg)
    length = cfg["input_length"]
    out = embedder.embed(random_bases(1, length))
    embedding_dim = embedder.embedding_dim
    assert out.shape == (1, length, embedding_dim)
    tower = TowerHead(in_dim=embedding_dim, **cfg["tower"]).eval()  # as training builds it
    assert tower(torch.from_numpy(out)).shape == (1,)


@pytest.mark.skipif(
    shims.has_real(shims.FLASH_ATTN_MODULE), reason="checks the path without flash-attn"
)
@pytest.mark.parametrize("in_parts", [False, True])
def test_an_evo2_model_name_runs_with_pytorch_attention_without_flash_attn(
    monkeypatch, tmp_path, in_parts
):
    """evo2_7b by name: its weights as Hugging Face holds them (whole or in parts), loaded
    with PyTorch attention. The download is faked by a tiny model in the 7B's file names,
    with the tiny config beside where the merged file goes (the 7B's own would not fit)."""
    import huggingface_hub

    written = save_checkpoint(build_tiny(seed=3), tmp_path / "tiny")
    repo, cache = tmp_path / "repo", tmp_path / "hf" / "hub"
    repo.mkdir()
    data = written.read_bytes()
    if in_parts:
        half = len(data) // 2
        (repo / "evo2_7b.pt.part0").write_bytes(data[:half])
        (repo / "evo2_7b.pt.part1").write_bytes(data[half:])
        (cache.parent / "evo2_7b.yml").parent.mkdir(parents=True)
        (cache.parent / "evo2_7b.yml").write_text(written.with_suffix(".yml").read_text())
    else:
        (repo / "evo2_7b.pt").write_bytes(data)
        (repo / "evo2_7b.yml").write_text(written.with_suffix(".yml").read_text())
    asked = []
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(
        huggingface_hub, "snapshot_download", lambda repo_id: asked.append(repo_id) or str(repo)
    )
    embedder = Evo2Embedder.from_config({**TINY, "pretrained": "evo2_7b"})
    assert asked == ["arcinstitute/evo2_7b"]
    assert all(not block.config.use_flash_attn for block in embedder.model.blocks)
    reference = Evo2Embedder.from_config({**TINY, "pretrained": str(written)})
    bases = random_bases(2, 64)
    np.testing.assert_array_equal(embedder.embed(bases), reference.embed(bases))
    if in_parts:  # joined once, where evo2 keeps it, and found there next time
        assert (cache.parent / "evo2_7b.pt").read_bytes() == data
        Evo2Embedder.from_config({**TINY, "pretrained": "evo2_7b"})
        assert asked == ["arcinstitute/evo2_7b"]


# The stand-ins.


def test_the_flash_attention_stand_in_raises_if_called():
    module = shims._flash_attn_stand_in()
    for name in shims.FLASH_ATTN_FUNCTIONS:
        with pytest.raises(shims.FlashAttentionUnavailable, match=f"{name} was called"):
            getattr(module, name)(torch.zeros(1))
    assert not hasattr(module, "anything_else")


def test_install_puts_stand_ins_only_where_the_real_modules_are_absent(monkeypatch):
    for name in (shims.FLASH_ATTN_MODULE, shims.ROTARY_MODULE):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(shims.importlib.util, "find_spec", lambda name: None)
    assert shims.install() == [shims.FLASH_ATTN_MODULE, shims.ROTARY_MODULE]
    assert all(not shims.has_real(name) for name in (shims.FLASH_ATTN_MODULE, "triton"))
    assert sys.modules[shims.ROTARY_MODULE].apply_rotary is shims.apply_rotary
    assert shims.install() == []  # already in place


def test_install_puts_nothing_where_flash_attn_triton_and_cuda_are_there(monkeypatch):
    real_flash, real_triton = ModuleType(shims.FLASH_ATTN_MODULE), ModuleType("triton")
    monkeypatch.setitem(sys.modules, shims.FLASH_ATTN_MODULE, real_flash)
    monkeypatch.setitem(sys.modules, "triton", real_triton)
    monkeypatch.delitem(sys.modules, shims.ROTARY_MODULE, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert shims.install() == []
    assert sys.modules[shims.FLASH_ATTN_MODULE] is real_flash
    assert shims.ROTARY_MODULE not in sys.modules


@pytest.mark.parametrize("interleaved", [False, True])
def test_the_rotary_stand_in_computes_vortexs_reference_rotation(interleaved):
    from vortex.model.rotary import apply_rotary_emb_torch

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 7, 3, 8, generator=generator)  # (B, L, heads, head_dim)
    angles = torch.randn(12, 3, generator=generator)  # rotary_dim 6 < head_dim 8
    cos, sin = angles.cos(), angles.sin()
    expected = apply_rotary_emb_torch(x, cos[2:9], sin[2:9], interleaved=interleaved)
    out = shims.apply_rotary(x, cos, sin, seqlen_offsets=2, interleaved=interleaved)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    back = shims.apply_rotary(out, cos, sin, 2, interleaved=interleaved, conjugate=True)
    torch.testing.assert_close(back, x, rtol=1e-5, atol=1e-5)
    per_sequence = shims.apply_rotary(x, cos, sin, torch.tensor([2, 0]), interleaved=interleaved)
    torch.testing.assert_close(per_sequence[0], expected[0], rtol=1e-5, atol=1e-6)
    inplace = x.clone()
    shims.apply_rotary(inplace, cos, sin, 2, interleaved=interleaved, inplace=True)
    torch.testing.assert_close(inplace, expected, rtol=1e-5, atol=1e-6)


def test_cuda_device_takes_a_cpu_device_only_inside_the_context():
    original = torch.cuda.device
    with shims.cuda_device_accepts_cpu():
        with torch.cuda.device(torch.device("cpu")), torch.cuda.device("cpu"):
            pass
    assert torch.cuda.device is original
    with pytest.raises(RuntimeError), shims.cuda_device_accepts_cpu():
        raise RuntimeError("restored on error too")
    assert torch.cuda.device is original
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="Expected a cuda device"):
            torch.cuda.device("cpu")


def test_importing_vortex_leaves_no_log_file_and_the_root_logger_as_it_was(tmp_path):
    script = (
        "import logging; from haplexpr.models import evo2_cpu_shims as s; s.import_vortex();"
        " root = logging.getLogger(); print(root.level, len(root.handlers))"
    )
    src = str(ROOT / "src")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [str(30), "0"]  # WARNING, no handlers: as before
    assert list(tmp_path.iterdir()) == []


def test_iupac_codes_are_their_own_byte_tokens_or_n_as_the_seed_writes_them():
    """Evo2 reads bytes: an IUPAC code written at an unphased call (consensus.unphased: iupac)
    is its own upper-case byte by default; the seed writes N for it first (non_acgt: n_token)."""
    assert token_ids("ACGTNRYkmsw").tolist() == list(b"ACGTNRYKMSW")
    assert token_ids("ACGTNRYkmsw", "n_token").tolist() == list(b"ACGTNNNNNNN")


def test_the_seeds_n_for_non_acgt_reaches_the_model(embedder):
    seeds = Evo2Embedder.from_config({**TINY, "non_acgt": "n_token"})
    seen = []
    hook = seeds.model.embedding_layer.register_forward_pre_hook(
        lambda _module, args: seen.append(args[0][0].tolist())
    )
    try:
        coded = seeds.embed(["ACGTRYACGT"])
    finally:
        hook.remove()
    assert seen == [list(b"ACGTNNACGT")]
    np.testing.assert_array_equal(coded, seeds.embed(["ACGTNNACGT"]))
    assert np.abs(embedder.embed(["ACGTRYACGT"]) - coded).max() > 1e-3  # default: R, Y bytes
    with pytest.raises(ValueError, match="non_acgt must be one of"):
        Evo2Embedder.from_config({**TINY, "non_acgt": "delete"})
