"""``finetune: full | heads | lora`` on tiny Enformer and Borzoi: what trains, checkpoints."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from support import ROOT
from torch.utils.data import Dataset

from haplexpr.config import ConfigError, load_config, validate_config
from haplexpr.models.borzoi import TINY_BORZOI, BorzoiModel
from haplexpr.models.enformer import EnformerModel
from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.training.checkpoints import CheckpointError, load_weights, read_weights
from haplexpr.training.loop import predict, train
from haplexpr.training.runs import build_model
from haplexpr.training.settings import TrainingSettings

LENGTH = 1024
CONFIGS = {
    "enformer": (EnformerModel, {}),
    "borzoi": (
        BorzoiModel,
        {"tiny": {**TINY_BORZOI, "enable_human_head": False, "conv_widths": [8] * 6 + [16]}},
    ),
}
SETTINGS = TrainingSettings(
    learning_rate=0.01,
    batch_size=4,
    epochs=1,
    warmup_fraction=0.0,
    final_lr_ratio=1.0,
    pairwise_alpha=0.0,
    mixed_precision=False,
    seed=3,
    device="cpu",
)


class OneHotData(Dataset):
    """Eight examples of two random one-hot haplotypes with a GC-content target."""

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        bases = torch.randint(0, 4, (8, 2, LENGTH), generator=generator)
        self.x = torch.nn.functional.one_hot(bases, 4).float()
        self.y = self.x[..., 1:3].mean(dim=(1, 2, 3)) * 10

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int):
        return self.x[index], self.y[index]


def build(architecture: str, seed: int = 0, **cfg) -> HaplotypeAverage:
    """The model a training or prediction job builds: seeded, then from its config."""
    cls, base = CONFIGS[architecture]
    torch.manual_seed(seed)
    return HaplotypeAverage(
        cls.from_config({"input_length": LENGTH, "center_bins": 4, **base, **cfg})
    )


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in after if not torch.equal(before[name], after[name])}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each architecture in each mode: its weights before and after a training epoch."""
    runs = {}
    for architecture in CONFIGS:
        for mode in ("full", "heads", "lora"):
            model = build(architecture, finetune=mode)
            before = snapshot(model)
            out = tmp_path_factory.mktemp(f"{architecture}_{mode}")
            path = train(model, OneHotData(), SETTINGS, out, architecture=architecture)
            runs[architecture, mode] = (before, snapshot(model), path)
    return runs


@pytest.mark.parametrize("architecture", CONFIGS)
def test_full_trains_the_trunk_and_saves_every_weight(trained, architecture):
    before, after, path = trained[architecture, "full"]
    moved = changed(before, after)
    assert any(name.startswith("model.trunk.") for name in moved)
    assert {"model.linear.weight", "model.pool.to_logits.weight"} <= moved
    checkpoint = read_weights(path)
    assert set(checkpoint["state_dict"]) == set(after)
    assert checkpoint["finetune"]["mode"] == "full"


@pytest.mark.parametrize("architecture", CONFIGS)
def test_heads_leaves_every_trunk_tensor_unchanged(trained, architecture):
    before, after, path = trained[architecture, "heads"]
    head = {"model.pool.to_logits.weight", "model.pool.to_logits.bias"}
    head |= {"model.linear.weight", "model.linear.bias"}
    assert changed(before, after) == head  # BatchNorm statistics included
    checkpoint = read_weights(path)
    assert set(checkpoint["state_dict"]) == head
    assert len(checkpoint["finetune"]["base"]["sha256"]) == 64


@pytest.mark.parametrize("architecture", CONFIGS)
def test_lora_changes_only_adapters_and_head(trained, architecture):
    before, after, path = trained[architecture, "lora"]
    adapters = {name for name in after if ".lora_" in name}
    head = {"model.pool.to_logits.weight", "model.pool.to_logits.bias"}
    head |= {"model.linear.weight", "model.linear.bias"}
    moved = changed(before, after)
    assert head <= moved and moved - head <= adapters
    assert any(".lora_B." in name for name in moved)  # B starts at zero: the adapter trained
    checkpoint = read_weights(path)
    trainable = {
        n for n, p in build(architecture, finetune="lora").named_parameters() if p.requires_grad
    }
    assert set(checkpoint["state_dict"]) == trainable and trainable - head <= adapters
    # the base is the one the heads run froze: same seed, same digest with adapters added
    heads_checkpoint = read_weights(trained[architecture, "heads"][2])
    assert checkpoint["finetune"]["base"] == heads_checkpoint["finetune"]["base"]


@pytest.mark.parametrize("mode", ["full", "heads", "lora"])
def test_checkpoint_loads_back_into_the_model_a_prediction_job_builds(trained, mode):
    _, after, path = trained["enformer", mode]
    model = build("enformer", finetune=mode)
    load_weights(model, path, "enformer")
    assert all(torch.equal(after[name], tensor) for name, tensor in model.state_dict().items())
    data = OneHotData()
    first = predict(model, data, batch_size=4, device="cpu")
    reloaded = build("enformer", finetune=mode)
    load_weights(reloaded, path, "enformer")
    assert (predict(reloaded, data, batch_size=4, device="cpu") == first).all()


@pytest.mark.parametrize("mode", ["heads", "lora"])
def test_rp_starts_from_the_r_checkpoint_in_the_same_mode(trained, tmp_path, mode):
    _, after, path = trained["enformer", mode]
    model = build("enformer", finetune=mode)
    train(model, OneHotData(), SETTINGS, tmp_path, init_weights=path, architecture="enformer")
    assert read_weights(tmp_path / "model.pt")["finetune"]["mode"] == mode


@pytest.mark.parametrize(
    ("saved", "built", "says"),
    [
        ("lora", "heads", "was trained with finetune: lora, but this model's config says"),
        ("full", "lora", "was trained with finetune: full, but this model's config says"),
        ("heads", "full", "set the model's finetune back to heads"),
    ],
)
def test_a_checkpoint_of_another_mode_is_refused_naming_file_and_fix(trained, saved, built, says):
    path = trained["enformer", saved][2]
    with pytest.raises(CheckpointError) as error:
        load_weights(build("enformer", finetune=built), path, "enformer")
    assert str(error.value).startswith(str(path)) and says in str(error.value)
    assert "delete it and rerun" in str(error.value)


def test_inspect_says_the_mode_and_counts_what_trains(trained, capsys):
    from haplexpr.cli import main

    path = trained["enformer", "heads"][2]
    assert main(["inspect", str(path), "--architecture", "enformer"]) == 0
    assert f"{path}: enformer, finetune heads, 4 tensors, " in capsys.readouterr().out


def test_lora_adapters_on_other_base_weights_or_settings_are_refused(trained):
    path = trained["enformer", "lora"][2]
    with pytest.raises(CheckpointError, match="fine-tuned on other base weights"):
        load_weights(build("enformer", seed=1, finetune="lora"), path, "enformer")
    other_rank = build("enformer", finetune="lora", lora={"rank": 4})
    with pytest.raises(CheckpointError, match="restore the model's lora keys"):
        load_weights(other_rank, path, "enformer")


def test_trainable_weights_load_strictly(trained, tmp_path):
    path = trained["enformer", "lora"][2]
    checkpoint = torch.load(path, weights_only=True)
    dropped = sorted(checkpoint["state_dict"])[0]
    del checkpoint["state_dict"][dropped]
    torch.save(checkpoint, tmp_path / "model.pt")
    with pytest.raises(CheckpointError) as error:
        load_weights(build("enformer", finetune="lora"), tmp_path / "model.pt", "enformer")
    assert f"missing: ['{dropped}']" in str(error.value)
    checkpoint["state_dict"][dropped] = torch.zeros(3)  # back, with a wrong shape
    torch.save(checkpoint, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_weights(build("enformer", finetune="lora"), tmp_path / "model.pt", "enformer")


def test_train_mode_keeps_a_frozen_trunk_s_statistics(caplog):
    with caplog.at_level(logging.INFO, logger="haplexpr.models.s2f"):
        heads = build("enformer", finetune="heads").train().model
        lora = build("enformer", finetune="lora").train().model  # tiny: dropout 0.4
    assert not any(m.training for m in heads.trunk.modules()) and heads.pool.training
    norms = [m for m in lora.trunk.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    dropouts = [m for m in lora.trunk.modules() if isinstance(m, torch.nn.Dropout)]
    assert norms and not any(m.training for m in norms)
    assert dropouts and all(m.training for m in dropouts)
    logged = [r.getMessage() for r in caplog.records]
    trainable = sum(p.numel() for p in heads.parameters() if p.requires_grad)
    assert any(f"finetune heads: {trainable:,} of " in line for line in logged)


def test_lora_targets_are_glob_patterns_checked_by_name():
    model = build("enformer", finetune="lora", lora={"target_modules": ["transformer.*.to_v"]})
    assert model.model.finetuning.lora["target_modules"] == ["transformer.0.0.fn.1.to_v"]
    with pytest.raises(ValueError, match=r"'attention\.\*' matches no .* named like: stem\.0"):
        build("enformer", finetune="lora", lora={"target_modules": ["attention.*"]})


def test_config_keys_are_in_the_schema_and_reach_the_model():
    config = load_config(ROOT / "config.yaml")
    for name in ("enformer", "borzoi"):
        assert config["models"][name]["finetune"] == "full"  # the seed's
    config["models"]["enformer"].update(finetune="lora", lora={"rank": 2, "alpha": 4})
    assert validate_config(copy.deepcopy(config)) == config
    model = build_model(config["models"]["enformer"], seed=0).model
    assert model.finetuning.mode == "lora" and model.finetuning.lora["rank"] == 2
    for key, value, says in [
        ("finetune", "partial", "is not one of ['full', 'heads', 'lora']"),
        ("lora", {"rnk": 2}, "Additional properties are not allowed ('rnk'"),
    ]:
        bad = copy.deepcopy(config)
        bad["models"]["enformer"][key] = value
        with pytest.raises(ConfigError) as error:
            validate_config(bad)
        assert key in str(error.value) and says in str(error.value)
