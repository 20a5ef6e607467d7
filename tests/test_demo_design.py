"""Tests for haplexpr.demo.design: the default design is today's, and bad designs are refused."""

import pytest
from support.demo_files import MOTIF

from haplexpr.demo.design import DemoDesign


def test_default_design_is_todays():
    d = DemoDesign()
    assert (d.seed, d.motif, d.effect, d.noise_sd) == (20261125, MOTIF, 1.0, 0.25)
    assert (d.n_genes, d.n_individuals, d.n_train_individuals, d.n_test_genes) == (60, 40, 24, 15)
    assert (d.n_individual_genes, d.n_genes_without_causal) == (36, 8)
    assert d.contigs == (("1", 700_037, 35), ("2", 500_011, 25))
    assert d.id_counts == (20, 8, 12)
    assert d.describe() == "seed=20261125"
    assert DemoDesign(motif="gataagct").motif == "GATAAGCT"
    for bad in ({"motif": "GATAA"}, {"motif": "GATAAGCTGATAA"}, {"motif": "GATNAGCT"}):
        with pytest.raises(ValueError, match="motif"):
            DemoDesign(**bad)
    with pytest.raises(ValueError, match="n_genes"):
        DemoDesign(n_genes=3)
    with pytest.raises(ValueError, match="noise_sd"):
        DemoDesign(noise_sd=-1.0)
