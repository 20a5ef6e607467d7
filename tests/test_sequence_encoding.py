"""Tests for haplexpr.sequence_encoding: one-hot, reverse complement, TSS-centred windows."""

import numpy as np
import pytest

from haplexpr.sequence_encoding import centered_window, one_hot, orient, reverse_complement


def test_one_hot_columns_case_and_unknowns():
    x = one_hot("ACGTacgtNnR-")
    assert x.dtype == np.float32 and x.shape == (12, 4)
    np.testing.assert_array_equal(x[:4], np.eye(4, dtype=np.float32))
    np.testing.assert_array_equal(x[4:8], np.eye(4, dtype=np.float32))
    assert not x[8:].any()
    assert one_hot("").shape == (0, 4)


def test_reverse_complement_keeps_case_and_iupac():
    assert reverse_complement("ACGTN") == "NACGT"
    assert reverse_complement("aacG") == "Cgtt"
    assert reverse_complement("RYKMSWBDHV") == "BDHVWSKMRY"
    assert reverse_complement(reverse_complement("ACGTRYnx")) == "ACGTRYnx"


@pytest.mark.parametrize(
    ("center", "length", "expected"),
    [
        (5, 4, "3456"),  # even: [c - L/2, c + L/2)
        (5, 5, "34567"),  # odd: centre at index L // 2
        (1, 6, "NN0123"),  # runs off the left end
        (8, 6, "56789N"),  # runs off the right end
        (5, 14, "NN0123456789NN"),  # both ends
        (0, 1, "0"),
        (30, 4, "NNNN"),  # wholly off the right end
        (-10, 3, "NNN"),  # wholly off the left end
        (5, 0, ""),
    ],
)
def test_centered_window(center, length, expected):
    window = centered_window("0123456789", center, length)
    assert window == expected
    assert len(window) == length
    if 0 <= center < 10 and length:
        assert window[length // 2] == str(center)


def test_orient_minus_strand_tss_position():
    seq = "ACGTTTGCA" + "G" + "CATTTGCAT"  # TSS 'G' at index 9
    for length in (8, 9):
        window = centered_window(seq, 9, length)
        assert window[length // 2] == "G"
        minus = orient(window, "-")
        assert minus == reverse_complement(window)
        assert minus[length - 1 - length // 2] == "C"  # complement of the TSS base
    assert orient("ACG", "+") == "ACG"
    with pytest.raises(ValueError):
        orient("ACG", ".")


def test_one_hot_reads_iupac_codes_as_n():
    """Codes written at unphased calls (consensus.unphased: iupac) are zero rows, as N and as
    the seed's one-hot encoder reads every non-ACGT letter."""
    codes = "RYKMSWBDHV"
    x = one_hot(codes + codes.lower() + "N")
    assert x.shape == (21, 4) and not x.any()
