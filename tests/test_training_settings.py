"""Tests for haplexpr.training.settings: one run's settings from its model's recipe."""

from haplexpr.training.settings import TrainingSettings


def test_settings_from_config_and_reference_alpha():
    knobs = {
        "learning_rate": 1e-3,
        "batch_size": 8,
        "epochs": 3,
        "warmup_fraction": 0.1,
        "final_lr_ratio": 0.1,
        "pairwise_alpha": 0.3,
    }
    models = {"s2f": {"architecture": "enformer"}, "glm": {"architecture": "caduceus"}}
    training = {"seed": 5, "device": "cpu", "early_stopping_patience": 0}
    config = {"training": {**training, "s2f": knobs, "tower": knobs}, "models": models}
    individual = TrainingSettings.from_config(config, "s2f", "p")
    assert individual.pairwise_alpha == 0.3 and individual.seed == 5
    assert individual.device == "cpu"
    assert TrainingSettings.from_config(config, "glm", "r").pairwise_alpha == 0.0
    assert TrainingSettings.from_config(config, "glm", "rp").pairwise_alpha == 0.3
    grouped = {**config, "training": {**config["training"], "s2f": {**knobs, "batches": "by_gene"}}}
    assert TrainingSettings.from_config(grouped, "s2f", "p").batches == "by_gene"
    assert TrainingSettings.from_config(grouped, "s2f", "r").batches == "shuffled"
    centred = {
        **config,
        "training": {**config["training"], "s2f": {**knobs, "target": "gene_centred"}},
    }
    assert TrainingSettings.from_config(centred, "s2f", "rp").target == "gene_centred"
    assert TrainingSettings.from_config(centred, "s2f", "r").target == "raw"  # one per gene
    assert TrainingSettings.from_config(config, "s2f", "p").target == "raw"  # the seed's
    own = {"architecture": "enformer", "training": {"epochs": 1, "learning_rate": 1e-5}}
    tuned = TrainingSettings.from_config({**config, "models": {"s2f": own}}, "s2f", "p")
    assert (tuned.epochs, tuned.learning_rate, tuned.batch_size) == (1, 1e-5, 8)
    # the model's family picks the block: the tower's knobs for a gLM
    towers = {**config, "training": {**config["training"], "tower": {**knobs, "epochs": 9}}}
    assert TrainingSettings.from_config(towers, "glm", "p").epochs == 9
    assert TrainingSettings.from_config(towers, "s2f", "p").epochs == 3
