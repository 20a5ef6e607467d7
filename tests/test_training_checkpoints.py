"""Tests for haplexpr.training.checkpoints: model.pt written with its architecture, read checked."""

import pytest
import torch
from torch import nn

from haplexpr.training.checkpoints import CheckpointError, load_weights, save_weights


def test_weights_round_trip_with_their_architecture(tmp_path):
    path = tmp_path / "model.pt"
    saved = nn.Linear(3, 2)
    save_weights(path, saved, {"epochs": 2}, "enformer")
    loaded = nn.Linear(3, 2)
    checkpoint = load_weights(loaded, path, "enformer")
    assert (checkpoint["architecture"], checkpoint["settings"]) == ("enformer", {"epochs": 2})
    torch.testing.assert_close(loaded.weight, saved.weight)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_weights_of_another_shape_are_refused_by_name(tmp_path):
    path = tmp_path / "model.pt"
    save_weights(path, nn.Linear(3, 2), {}, None)  # no architecture recorded: keys decide
    with pytest.raises(CheckpointError) as caught:
        load_weights(nn.Linear(4, 2), path, "borzoi")
    message = str(caught.value)
    assert message.startswith(f"{path}: its weights do not fit this borzoi (another architecture")
    assert "size mismatch for weight" in message
    assert message.endswith("delete it and rerun: Snakemake retrains it")


def test_weights_of_another_architecture_are_refused_before_loading(tmp_path):
    path = tmp_path / "model.pt"
    save_weights(path, nn.Linear(3, 2), {}, "caduceus")
    with pytest.raises(CheckpointError, match="holds the weights of a caduceus model, not of evo2"):
        load_weights(nn.Linear(3, 2), path, "evo2")


def test_a_file_without_weights_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weights": {}}, path)
    with pytest.raises(CheckpointError, match="holds no 'state_dict', so it is no haplexpr"):
        load_weights(nn.Linear(3, 2), path, "enformer")
