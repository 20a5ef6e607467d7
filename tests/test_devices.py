"""Tests for haplexpr.devices: ``auto`` is CUDA where there is a GPU, else the CPU; a named
device is taken as it is."""

from __future__ import annotations

import pytest
import torch

from haplexpr.devices import resolve_device


@pytest.mark.parametrize(("has_gpu", "expected"), [(True, "cuda"), (False, "cpu")])
def test_auto_follows_the_machine(monkeypatch, has_gpu, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_gpu)
    assert resolve_device("auto") == torch.device(expected)


def test_a_named_device_is_taken_as_it_is(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(RuntimeError):
        resolve_device("gpu")
