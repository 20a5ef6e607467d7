"""Tests for haplexpr.models.mamba: one direction against transformers' MambaMixer (its
sequential recurrence), the bidirectional layer, and the chunked selective scan."""

from __future__ import annotations

import pytest
import torch

from haplexpr.models.mamba import BiMamba, Mamba, selective_scan


@pytest.mark.parametrize("length", [1, 64, 301])  # 301: not a multiple of the 64-chunk
def test_one_direction_matches_transformers_mamba_mixer_slow_path(length):
    from transformers import MambaConfig
    from transformers.models.mamba.modeling_mamba import MambaMixer

    torch.manual_seed(0)
    ours = Mamba(32, d_state=16, d_conv=4, expand=2)
    with torch.no_grad():  # off the initialisation, dt up to ~3 so states decay hard too
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
        ours.dt_proj.bias.uniform_(-3.0, 3.0)
    oracle = MambaMixer(
        MambaConfig(
            hidden_size=32,
            state_size=16,
            conv_kernel=4,
            expand=2,
            use_bias=False,
            use_conv_bias=True,
            time_step_rank="auto",
        ),
        layer_idx=0,
    ).eval()
    oracle.load_state_dict(ours.state_dict())  # the same names: mamba_ssm's
    x = torch.randn(2, length, 32)
    with torch.no_grad():
        expected = oracle.slow_forward(x)  # its sequential float32 recurrence
        got = ours(x, scan_chunk=64)
    print(f"length {length}: max |ours - MambaMixer| = {(got - expected).abs().max():.2e}")
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_bimamba_adds_the_reverse_direction_run_on_the_flipped_sequence():
    torch.manual_seed(1)
    bi = BiMamba(16)
    reverse = Mamba(16)
    reverse.load_state_dict(
        {
            **bi.mamba_rev.state_dict(),
            "in_proj.weight": bi.mamba_fwd.in_proj.weight,  # shared with mamba_fwd
            "out_proj.weight": bi.mamba_fwd.out_proj.weight,
        }
    )
    x = torch.randn(2, 50, 16)
    with torch.no_grad():
        expected = bi.mamba_fwd(x) + reverse(x.flip(1)).flip(1)
        torch.testing.assert_close(bi(x), expected, atol=1e-6, rtol=1e-6)


def test_chunked_scan_equals_one_chunk():
    gen = torch.Generator().manual_seed(2)
    batch, length, d_inner, d_state = 2, 100, 8, 4

    def randn(*shape):
        return torch.randn(*shape, generator=gen)

    u, z = randn(batch, length, d_inner), randn(batch, length, d_inner)
    delta = torch.nn.functional.softplus(randn(batch, length, d_inner))
    A = -torch.exp(randn(d_inner, d_state))
    B, C = randn(batch, length, d_state), randn(batch, length, d_state)
    D = randn(d_inner)
    whole = selective_scan(u, delta, A, B, C, D, z, chunk=length)
    for chunk in (1, 7, 16, 64):  # chunk 1 is the plain sequential recurrence
        torch.testing.assert_close(
            selective_scan(u, delta, A, B, C, D, z, chunk=chunk), whole, atol=1e-5, rtol=1e-5
        )
