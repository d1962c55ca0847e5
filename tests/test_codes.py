"""Code statistics on a hand-worked example and against numpy's own definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semhash_lib.codes import code_statistics, histogram

# 4 outputs of 2 bits; codes sign(h) with 0 -> +1: (+,-), (-,+), (+,-), (+,+)
H = np.array([[0.5, -0.02], [-1.2, 0.3], [0.0, -0.9], [1.0, 0.08]])


def test_hand_worked_statistics():
    st = code_statistics(H)
    # |h| = .5 .02 1.2 .3 0 .9 1 .08
    assert st["near_zero"] == pytest.approx({0.05: 2 / 8, 0.1: 3 / 8, 0.25: 3 / 8})
    # (|h| - 1)^2 = .25 .9604 .04 .49 1 .01 0 .8464
    assert st["quantization_mse"] == pytest.approx(3.5968 / 8)
    # |h - sign h| = .5 .98 .2 .7 1 .1 0 .92
    assert st["quantization_l1"] == pytest.approx(4.4 / 8)
    np.testing.assert_allclose(st["bit_means"], [0.5, 0.0])
    assert st["bit_balance"] == pytest.approx(0.25)
    assert st["bit_correlation"][0, 1] == pytest.approx(-1 / np.sqrt(3))
    # code frequencies 2/4, 1/4, 1/4 -> entropy 1.5 bits
    assert st["distinct_codes"] == 3 and st["code_entropy"] == pytest.approx(1.5)
    assert st["num_codes"] == 4 and st["bits"] == 2


def test_correlation_matches_numpy_and_constant_bits():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((500, 6))
    h[:, 5] = np.abs(h[:, 5])  # a constant bit
    st = code_statistics(torch.from_numpy(h))
    b = np.where(h >= 0, 1.0, -1.0)
    np.testing.assert_allclose(st["bit_correlation"][:5, :5], np.corrcoef(b[:, :5].T), atol=1e-12)
    np.testing.assert_array_equal(st["bit_correlation"][5], [0, 0, 0, 0, 0, 1])
    assert st["bit_means"][5] == 1.0


def test_entropy_of_uniform_codes():
    # all 2^4 codes exactly once: entropy 4 bits, 16 distinct codes, perfectly balanced bits
    codes = np.array([[1 if (i >> j) & 1 else -1 for j in range(4)] for i in range(16)], dtype=float)
    st = code_statistics(codes)
    assert st["distinct_codes"] == 16 and st["code_entropy"] == pytest.approx(4.0)
    assert st["bit_balance"] == 0.0 and st["quantization_mse"] == 0.0 and st["near_zero"][0.1] == 0.0


def test_histogram():
    counts, edges = histogram(H, bins=[-2, -1, 0, 1, 2])
    assert counts.tolist() == [1, 2, 4, 1] and edges.tolist() == [-2, -1, 0, 1, 2]
    counts, edges = histogram(H, bins=4, value_range=(-1.0, 1.0))
    assert counts.sum() == 7 and len(edges) == 5  # -1.2 lies outside the range


def test_invalid_inputs():
    with pytest.raises(ValueError, match="NaN"):
        code_statistics(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2-D|bits"):
        code_statistics(np.ones(5))
    with pytest.raises(TypeError, match="packed"):
        code_statistics(np.ones((3, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="positive"):
        code_statistics(H, thresholds=(0.0,))
