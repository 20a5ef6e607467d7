"""Tests for haplexpr.embeddings.imported: the seed's .pt embeddings imported into shards."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from support import ROOT
from support.pipeline_runs import make_workdir, snakemake
from support.study_tables import small_study

from haplexpr.config import load_config
from haplexpr.embeddings.imported import (
    PrecomputedEmbeddingError,
    check_present,
    import_embeddings,
    needed_items,
    seed_file,
)
from haplexpr.embeddings.shards import open_shard
from haplexpr.predictions.runs import predict_run
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.training.runs import train_run

LENGTH, HIDDEN, BIN = 256, 8, 4


def evo2_config(root: Path) -> dict:
    """The demo config with a small seed-imported Evo2 and a tower sized for 64 positions."""
    config = copy.deepcopy(load_config(ROOT / "config.yaml"))
    config["models"]["evo2"].update(
        precomputed_root=str(root),
        input_length=LENGTH,
        pooling={"region": "window", "tss_window": None, "bin_size": BIN},
        tower={
            "channels": None, "kernels_strides": [[4, 2], [3, 2]], "pool_sizes": [1, 1],
            "hidden": 16, "mlp_hidden": 8, "dropout": 0.0,
        },
    )  # fmt: skip
    config["training"]["tower"].update(epochs=4, batch_size=32, mixed_precision=False)
    config["training"]["device"] = "cpu"
    return config


def save(path: Path, tensor: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(tensor, path)


def write_seed_folder(root: Path, study: Study, signal: dict, rng) -> dict:
    """Every file the study needs, in the seed's layout; returns each item's saved tensor.

    Channel 0 of every base carries ``signal[(individual, gene)]``; the rest is noise. Files
    alternate between (1, T, D) float32, (T, D) float32 and (1, T, D) bfloat16; the
    reference's windows are one base longer, as the seed's are.
    """
    genes = sorted(study.genes["gene"])
    saved = {}
    individuals = [REFERENCE_INDIVIDUAL, *study.individuals]
    for number, item in enumerate(needed_items(individuals, genes)):
        individual, gene, _ = item
        length = LENGTH + (individual == REFERENCE_INDIVIDUAL)
        states = rng.normal(0, 0.1, (length, HIDDEN)).astype(np.float32)
        states[:, 0] += signal.get((individual, gene), 0.0)
        tensor = torch.from_numpy(states)
        tensor = [tensor[None], tensor, tensor[None].to(torch.bfloat16)][number % 3]
        save(seed_file(root, "ref", item), tensor)
        saved[item] = tensor
    return saved


@pytest.fixture(scope="module")
def seed_folder(tmp_path_factory):
    """The demo study's seed-layout folder: targets' gene deviations planted in channel 0."""
    root = tmp_path_factory.mktemp("seed") / "embeddings"
    study = Study.from_config(load_config(ROOT / "config.yaml"), root=ROOT)
    table = study.table[study.table["sample"].isin(study.individuals)]
    deviation = table["log_TPM"] - table.groupby("gene")["log_TPM"].transform("mean")
    signal = dict(zip(zip(table["sample"], table["gene"], strict=True), deviation, strict=True))
    saved = write_seed_folder(root, study, signal, np.random.default_rng(0))
    return root, study, saved


def strands(study: Study) -> dict[str, str]:
    return dict(zip(study.genes["gene"], study.genes["strand"], strict=True))


def import_shard(root, study, individuals, folder: Path, name="shard000", config=None):
    config = config or evo2_config(root)
    array = folder / f"{name}.npy"
    import_embeddings(
        root, individuals, strands(study), config["models"]["evo2"], "ref", array,
        folder / f"{name}.json", where="models.evo2.precomputed_root",
    )  # fmt: skip
    return array


def test_rows_are_the_seed_tensors_pooled_in_bins(seed_folder, tmp_path):
    """Each haplotype's row: its file's states averaged in bins of 4 bases, the reference's
    extra base dropped at the gene's 3' end of the seed's slice (last on +, first on -)."""
    root, study, saved = seed_folder
    individuals = [REFERENCE_INDIVIDUAL, *study.individuals[:2]]
    array, items, rows = open_shard(import_shard(root, study, individuals, tmp_path))
    genes = sorted(study.genes["gene"])
    assert items == needed_items(individuals, genes) and array.shape == (len(items), 64, HIDDEN)
    strand = strands(study)
    assert {strand[g] for g in genes} == {"+", "-"}  # both trims are exercised
    for item, row in zip(items, rows, strict=True):
        states = saved[item].float().reshape(-1, HIDDEN).numpy()
        if item[0] == REFERENCE_INDIVIDUAL:
            states = states[1:] if strand[item[1]] == "-" else states[:-1]
        want = states.reshape(64, BIN, HIDDEN).mean(axis=1)
        np.testing.assert_allclose(array[row], want, atol=2e-3, rtol=2e-3, err_msg=str(item))


def test_a_tower_trains_from_a_seed_folder(seed_folder, tmp_path):
    """Two imported shards, a tower trained (p) and used to predict: the planted signal is
    learnt, so held-out individuals' predictions follow their targets' gene deviations."""
    root, study, _ = seed_folder
    config = evo2_config(root)
    everyone = [REFERENCE_INDIVIDUAL, *study.individuals]
    half = len(everyone) // 2
    shards = [
        import_shard(root, study, everyone[:half], tmp_path, "shard000"),
        import_shard(root, study, everyone[half:], tmp_path, "shard001"),
    ]
    model_dir = tmp_path / "model"
    train_run(study, config, "evo2", "p", model_dir, shards)
    out = tmp_path / "p.parquet"
    predict_run(study, config, "evo2", "p", model_dir / "model.pt", out, shards)
    predictions = pd.read_parquet(out)
    held_out = predictions.merge(study.observed(), on=["sample", "gene"])
    held_out = held_out[held_out["sample"].isin(study.test_individuals)]
    centred = held_out.groupby("gene")[["prediction", "observed"]].transform(lambda v: v - v.mean())
    r = np.corrcoef(centred["prediction"], centred["observed"])[0, 1]
    assert r > 0.5, r
    assert set(predictions["sample"]) == set(everyone)


# --- errors, on a study of three individuals and two genes --------------------------------


@pytest.fixture
def small(tmp_path):
    """A complete seed folder of a tiny study; returns (root, study, import function)."""
    rows = [
        f"{split},{sample},{gene},chr1,{tss},{strand},{value}"
        for gene, tss, strand, split in (("G1", 300, "+", "train"), ("G2", 900, "-", "train"))
        for sample, value in (("ref", 1.0), ("A", 1.5), ("B", 0.5), ("C", 1.2))
    ]
    study = small_study(tmp_path, rows)
    root = tmp_path / "seed"
    write_seed_folder(root, study, {}, np.random.default_rng(1))

    def run():
        return import_shard(root, study, [REFERENCE_INDIVIDUAL, *study.individuals], tmp_path)

    return root, study, run


def test_the_first_missing_file_is_named_at_start_up_and_on_import(small):
    root, study, run = small
    (root / "B" / "G1_allele_2.pt").unlink()
    (root / "C" / "G2_allele_1.pt").unlink()
    expected = (
        f"models.evo2.precomputed_root: 2 of 14 precomputed embedding files are missing, the"
        f" first {root / 'B' / 'G1_allele_2.pt'} (B haplotype 2, gene G1)"
    )
    with pytest.raises(PrecomputedEmbeddingError) as caught:
        check_present(
            root, [REFERENCE_INDIVIDUAL, *study.individuals], ["G1", "G2"], "ref",
            "models.evo2.precomputed_root",
        )  # fmt: skip
    assert str(caught.value).startswith(expected)
    assert "set models.evo2.precomputed_root: null" in str(caught.value)
    with pytest.raises(PrecomputedEmbeddingError, match=re.escape(expected)):
        run()


def test_a_missing_reference_folder_is_named(small):
    root, _, run = small
    for path in (root / "ref").iterdir():
        path.unlink()
    (root / "ref").rmdir()
    with pytest.raises(PrecomputedEmbeddingError, match=r"the first .*ref/G1_allele_\.pt"):
        run()


@pytest.mark.parametrize(
    ("tensor", "why"),
    [
        (torch.zeros(1, LENGTH, HIDDEN + 1), f"hidden size {HIDDEN + 1}, .* has {HIDDEN}"),
        (torch.zeros(LENGTH - 1, HIDDEN), f"{LENGTH - 1} positions where a {LENGTH}-base window"),
        (torch.zeros(2, LENGTH, HIDDEN), re.escape(f"shape (2, {LENGTH}, {HIDDEN})")),
        (torch.zeros(LENGTH, HIDDEN, dtype=torch.int64), "dtype int64"),
        (torch.zeros(LENGTH, HIDDEN, dtype=torch.float64), "dtype float64"),
        ({"embedding": torch.zeros(LENGTH, HIDDEN)}, "holds a dict, not a tensor"),
        (torch.full((LENGTH, HIDDEN), float("nan")), r"non-finite values"),
    ],
    ids=["hidden", "positions", "leading-2", "int64", "float64", "dict", "nan"],
)
def test_a_malformed_file_is_named_with_what_was_expected(small, tensor, why):
    root, _, run = small
    bad = root / "C" / "G2_allele_1.pt"
    torch.save(tensor, bad)
    with pytest.raises(PrecomputedEmbeddingError) as caught:
        run()
    message = str(caught.value)
    assert message.startswith(f"{bad}: "), message
    assert re.search(why, message), message
    assert f"{LENGTH} positions for a {LENGTH}-base window; recompute or replace" in message
    assert not list(root.parent.glob("shard000.*"))  # nothing half-written is left


def test_an_unreadable_file_is_named(small):
    root, _, run = small
    bad = root / "A" / "G1_allele_1.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(PrecomputedEmbeddingError, match=rf"^{re.escape(str(bad))}: torch.load"):
        run()


def test_the_reference_alone_may_have_the_seeds_extra_base(small):
    """An individual's window of input_length + 1 bases is refused: only the reference's is."""
    root, _, run = small
    torch.save(torch.zeros(LENGTH + 1, HIDDEN), root / "A" / "G1_allele_1.pt")
    with pytest.raises(PrecomputedEmbeddingError, match=f"{LENGTH + 1} positions"):
        run()


def test_nt_files_drop_cls_and_padding(tmp_path):
    """NT: <cls>, one state per 6-mer slot, then the seed's fixed-size padding."""
    rows = [f"train,{s},G1,chr1,300,+,1.0" for s in ("ref", "A", "B", "C")]
    study = small_study(tmp_path, rows, genes="G1\n")
    config = load_config(ROOT / "config.yaml")["models"]["nt"]
    config = {**config, "input_length": 64, "pooling": {"bin_size": 1}}
    slots = 64 // 6 + 64 % 6  # 10 six-mers and 4 single bases
    root = tmp_path / "seed"
    values = {}
    for item in needed_items([REFERENCE_INDIVIDUAL, *study.individuals], ["G1"]):
        reference = item[0] == REFERENCE_INDIVIDUAL
        n = 65 // 6 + 65 % 6 if reference else slots  # the reference's 65 bases
        states = torch.randn(1 + n + 5, HIDDEN)  # <cls>, the slots, five pads
        save(seed_file(root, "ref", item), states)
        values[item] = states
    array_path = tmp_path / "nt.npy"
    import_embeddings(root, [REFERENCE_INDIVIDUAL, "A"], {"G1": "+"}, config, "ref", array_path,
                      tmp_path / "nt.json")  # fmt: skip
    array, items, rows = open_shard(array_path)
    for item, row in zip(items, rows, strict=True):
        reference = item[0] == REFERENCE_INDIVIDUAL
        spans = np.r_[[6] * 10, [1] * (5 if reference else 4)]  # 65 or 64 bases
        states = values[item].numpy()[1 : 1 + len(spans)]
        want = np.repeat(states, spans, axis=0)[:64]  # the + strand reference's extra: last
        np.testing.assert_allclose(array[row], want, atol=2e-3, rtol=2e-3, err_msg=str(item))


def test_nt_files_keep_cls_ahead_of_the_bases_with_keep_cls(tmp_path):
    """keep_cls: the seed's <cls> state is the first stored position, the bases follow."""
    config = load_config(ROOT / "config.yaml")["models"]["nt"]
    config = {**config, "input_length": 64, "pooling": {"bin_size": 1}, "keep_cls": True}
    root = tmp_path / "seed"
    values = {}
    for item in needed_items([REFERENCE_INDIVIDUAL, "A"], ["G1"]):
        n = 65 // 6 + 65 % 6 if item[0] == REFERENCE_INDIVIDUAL else 64 // 6 + 64 % 6
        values[item] = torch.randn(1 + n + 5, HIDDEN)  # <cls>, the slots, five pads
        save(seed_file(root, "ref", item), values[item])
    array_path = tmp_path / "nt.npy"
    import_embeddings(root, ["A"], {"G1": "-"}, config, "ref", array_path, tmp_path / "nt.json")
    array, items, rows = open_shard(array_path)
    assert array.shape[1] == 1 + 64
    for item, row in zip(items, rows, strict=True):
        states = values[item].numpy()
        np.testing.assert_allclose(array[row, 0], states[0], atol=2e-3, rtol=2e-3)
        np.testing.assert_allclose(array[row, 1:7], np.repeat(states[1:2], 6, 0), atol=2e-3,
                                   rtol=2e-3, err_msg=str(item))  # fmt: skip


def test_a_precomputed_glm_needs_no_sequences(tmp_path):
    """Only Evo2, imported: the dry run has import jobs, and no consensus or embedding job."""
    seed = tmp_path / "seed"
    demo = Study.from_config(load_config(ROOT / "config.yaml"), root=ROOT)
    genes = sorted(demo.genes["gene"])
    for item in needed_items([REFERENCE_INDIVIDUAL, *demo.individuals], genes):
        save(seed_file(seed, "ref", item), torch.zeros(1, 1, 1))  # existence is checked here
    config = load_config(ROOT / "config.yaml")
    models = {
        name: {**model, "enabled": name == "evo2"} for name, model in config["models"].items()
    }
    models["evo2"]["precomputed_root"] = str(seed)
    workdir = make_workdir(
        tmp_path / "run", {"models": models, "baselines": {"elastic_net": {
            **config["baselines"]["elastic_net"], "enabled": False}}},
    )  # fmt: skip
    result = snakemake(workdir, "-n", "--cores", "1", "all")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = set(re.findall(r"(?m)^rule (\w+):", result.stdout + result.stderr))
    assert "embeddings_import" in jobs and "training_tower" in jobs, jobs
    assert not jobs & {"embeddings_compute", "sequences_consensus", "sequences_reference"}, jobs
    (seed / "ref" / f"{genes[0]}_allele_.pt").unlink()
    result = snakemake(workdir, "-n", "--cores", "1", "all")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"the first {seed / 'ref' / genes[0]}_allele_.pt (the reference" in output, output
