"""Tests for haplexpr.study.design: the study's individuals, genes and training examples
per strategy."""

import csv
import gzip

import pytest
from support import ROOT
from support.study_tables import small_study

from haplexpr.config import load_config
from haplexpr.study.design import Example, Study
from haplexpr.study.genes import StudyTableError


def demo_rows(config):
    """The demo partition table parsed with the csv module, independently of pandas."""
    with gzip.open(ROOT / config["data"]["partition_table"], "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def id_list(config, key):
    return (ROOT / config["data"][key]).read_text().split()


def test_demo_study_sizes(demo_config, demo_study):
    assert len(demo_study.train_individuals) == 24
    assert len(demo_study.test_individuals) == 16
    assert len(demo_study.individual_genes) == 36
    assert demo_study.train_individuals == id_list(demo_config, "train_individuals")
    assert demo_study.test_individuals == id_list(demo_config, "test_individuals")
    assert demo_study.individuals == (
        id_list(demo_config, "train_individuals") + id_list(demo_config, "test_individuals")
    )
    assert len(demo_study.genes) == 60


def test_demo_reference_examples_use_ref_rows(demo_config, demo_study):
    rows = demo_rows(demo_config)
    train_genes = sorted(
        {(r["chr"], int(r["TSS"]), r["gene"]) for r in rows if r["split"] == "train"}
    )
    ref_value = {r["gene"]: float(r["log_TPM"]) for r in rows if r["sample"] == "ref"}
    examples = demo_study.training_examples("r")
    assert len(examples) == 45
    assert examples == [Example("reference", gene, ref_value[gene]) for _, _, gene in train_genes]


def test_demo_individual_examples(demo_config, demo_study):
    rows = demo_rows(demo_config)
    train = set(id_list(demo_config, "train_individuals"))
    genes = set(id_list(demo_config, "individual_genes"))
    expected = sorted(
        (r["sample"], r["gene"], float(r["log_TPM"]))
        for r in rows
        if r["sample"] in train and r["gene"] in genes
    )
    examples = demo_study.training_examples("p")
    assert len(examples) == 24 * 36 == len(expected)
    assert examples == [Example(*row) for row in expected]
    assert demo_study.training_examples("rp") == examples


def test_unknown_strategy(demo_study):
    with pytest.raises(ValueError) as caught:
        demo_study.training_examples("pr")
    assert str(caught.value) == "unknown strategy 'pr'; use one of ('r', 'p', 'rp')"


# --- small studies ------------------------------------------------------------------------

# The split column is the gene's (G3 is a held-out gene); C is a held-out individual.
SMALL_ROWS = [
    "train,A,G1,chr1,100,+,1.0",
    "train,B,G1,chr1,100,+,2.5",
    "train,C,G1,chr1,100,+,100.0",
    "train,A,G2,chr1,900,-,-3.0",
    "train,B,G2,chr1,900,-,-0.5",
    "train,C,G2,chr1,900,-,50.0",
    "test,A,G3,chr2,50,+,7.0",
    "test,B,G3,chr2,50,+,8.0",
    "test,C,G3,chr2,50,+,9.0",
]


def test_reference_targets_fall_back_to_training_mean(tmp_path):
    study = small_study(tmp_path, SMALL_ROWS)
    # Mean over training individuals A and B only; C (held out) is left out.
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", -1.75),
    ]


def test_reference_targets_mix_ref_rows_and_mean(tmp_path):
    study = small_study(tmp_path, [*SMALL_ROWS, "train,ref,G2,chr1,900,-,4.0"])
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", 4.0),
    ]


def test_missing_ref_target_falls_back_to_the_training_mean(tmp_path):
    rows = [*SMALL_ROWS, "train,ref,G1,chr1,100,+,NA", "train,ref,G2,chr1,900,-,4.0"]
    study = small_study(tmp_path, rows)
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", 4.0),
    ]


def test_missing_individual_target_leaves_out_that_gene_only(tmp_path):
    rows = [r if not r.startswith("train,B,G2,") else "train,B,G2,chr1,900,-," for r in SMALL_ROWS]
    study = small_study(tmp_path, rows, genes="G1\nG2\n")
    assert study.training_examples("p") == [
        Example("A", "G1", 1.0),
        Example("A", "G2", -3.0),
        Example("B", "G1", 2.5),
    ]
    assert study.training_count("p") == 3
    assert ("B", "G2") in study.prediction_items()  # still predicted, just not scored
    assert ("B", "G2") not in set(map(tuple, study.observed()[["sample", "gene"]].values))
    with pytest.raises(StudyTableError, match="line 6, column log_TPM: '' is empty"):
        small_study(tmp_path, rows, missing_targets="error")


def test_gene_whose_targets_are_all_missing_leaves_the_study(tmp_path):
    rows = [r if ",G3," not in r else r.rsplit(",", 1)[0] + "," for r in SMALL_ROWS]
    study = small_study(tmp_path, rows)
    assert study.genes["gene"].tolist() == ["G1", "G2"]
    with pytest.raises(StudyTableError, match=r"only in rows without a target\): \['G3'\]"):
        small_study(tmp_path, rows, genes="G1\nG3\n")


def test_small_study_individual_examples(tmp_path):
    study = small_study(tmp_path, SMALL_ROWS, genes="G2\n")
    assert study.training_examples("p") == [Example("A", "G2", -3.0), Example("B", "G2", -0.5)]


def test_overlapping_train_and_test_individuals(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, train="A\nB\n", test="C\nB\n")
    assert str(caught.value) == (
        "individuals in both train and test lists: ['B']; remove each from "
        "data.train_individuals or data.test_individuals"
    )


def test_individual_genes_in_test_split(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, genes="G1\nG3\n")
    assert str(caught.value) == (
        "individual-level training genes are in the held-out (test) split: ['G3']; drop them "
        "from data.individual_genes or move them to the train split"
    )


def test_individual_genes_not_in_table(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, genes="G1\nG9\n")
    assert str(caught.value) == (
        "individual-level genes not in the table (or only in rows without a target): ['G9']; "
        "add their rows or drop them from data.individual_genes"
    )


def test_listed_individual_without_rows(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, test="C\nD\n")
    assert str(caught.value) == (
        "1 test individuals have no rows in the partition table (or only rows without a "
        "target), e.g. ['D']; add their rows or drop them from data.test_individuals"
    )


@pytest.mark.parametrize("strategy", ["r", "p", "rp"])
def test_counts_equal_the_items_they_count(demo_study, strategy):
    assert demo_study.training_count(strategy) == len(demo_study.training_examples(strategy))
    assert demo_study.prediction_count() == len(demo_study.prediction_items())


def test_split_validation_holds_out_individuals_or_genes():

    study = Study.from_config(load_config(ROOT / "config.yaml"), ROOT)
    train_p, valid_p = study.split_validation("p", 0.15, seed=0)
    held = {e.individual for e in valid_p}
    assert len(held) == 4 and not held & {e.individual for e in train_p}
    assert len(train_p) + len(valid_p) == len(study.training_examples("p"))
    train_r, valid_r = study.split_validation("r", 0.15, seed=0)
    assert {e.individual for e in valid_r} == {"reference"}
    assert not {e.gene for e in valid_r} & {e.gene for e in train_r}
    assert study.split_validation("p", 0.0, seed=0) == (study.training_examples("p"), [])
