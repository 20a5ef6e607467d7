"""Tests for haplexpr.models.registry: each entry names an importable class of its family."""

import importlib

import pytest

from haplexpr.models.registry import ARCHITECTURES
from haplexpr.models.s2f import S2FModel


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_registry_entries_name_a_class_with_from_config(name):
    entry = ARCHITECTURES[name]
    module = importlib.import_module(entry.module)
    assert callable(getattr(module, entry.class_name).from_config)
    assert entry.load() is getattr(module, entry.class_name)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_each_class_is_of_its_entrys_family(name):
    """S2F models read the entry's settings class; gLMs are embedders, not S2F models."""
    entry = ARCHITECTURES[name]
    cls = entry.load()
    if entry.family == "s2f":
        assert issubclass(cls, S2FModel) and cls.settings_class is entry.settings
    else:
        assert not issubclass(cls, S2FModel)
        assert callable(cls.embed) and callable(cls.bases_per_position)
