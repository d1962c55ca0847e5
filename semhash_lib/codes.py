"""Statistics of hash-layer outputs and their codes (paper §5.3 diagnostics, a reconstruction: the paper's
abstract names the "information loss when rounded"; which statistics it reports is unknown).

Bits follow :mod:`semhash_lib.retrieval`: ``b = sign(h)`` with ``0 -> +1``, as ±1 values.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .retrieval import _to_numpy

__all__ = ["code_statistics", "code_statistics_table", "histogram"]


def _real_outputs(h: Any) -> np.ndarray:
    arr = _to_numpy(h, "h")
    if arr.ndim != 2:
        raise ValueError(f"h: expected pre-sign outputs (N, bits), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"h: empty array {arr.shape}")
    if arr.dtype == np.uint8:
        raise TypeError("h: code statistics need the real outputs h (or ±1 codes), not packed bytes")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"h: {int((~np.isfinite(arr)).sum())} NaN/inf values")
    return arr


def code_statistics(h: Any, thresholds: Sequence[float] = (0.05, 0.1, 0.25)) -> dict:
    """Diagnostics of pre-sign outputs ``h`` (N, K) (numpy or torch) and of their codes ``b = sign(h)``.

    Returns a dict:

    - ``near_zero``: ``{t: mean(|h| < t)}`` for each threshold, the share of fragile outputs;
    - ``quantization_mse``: ``mean((|h| - 1)^2)``, the squared distance of ``|h|`` to 1 (the
      ``semhash_quant`` penalty);
    - ``quantization_l1``: ``mean(|h - b|)``, the mean rounding error;
    - ``bit_means``: (K,) per-bit mean of ``b``; ``bit_balance``: ``mean_k |bit_means[k]|`` (0 = every bit
      split 50/50, 1 = constant bits);
    - ``bit_correlation``: (K, K) Pearson correlation of the bits over the N codes (a constant bit has
      no correlation: its off-diagonal entries are 0, its diagonal 1);
    - ``code_entropy``: ``-sum_c p_c log2 p_c`` over the empirical distribution of distinct codes, in bits
      (at most ``min(K, log2 N)``);
    - ``distinct_codes``: the number of different codes; ``num_codes`` N and ``bits`` K.
    """
    x = _real_outputs(h)
    thr = [float(t) for t in thresholds]
    if any(t <= 0 for t in thr):
        raise ValueError(f"thresholds must be positive, got {thresholds}")
    n, k = x.shape
    b = np.where(x >= 0, 1.0, -1.0)
    absx = np.abs(x)
    bit_means = b.mean(axis=0)
    centred = b - bit_means
    std = np.sqrt((centred ** 2).mean(axis=0))
    cov = centred.T @ centred / n
    denom = np.outer(std, std)
    corr = np.where(denom > 0, cov / np.where(denom > 0, denom, 1.0), 0.0)
    np.fill_diagonal(corr, 1.0)
    _, counts = np.unique(np.packbits(x >= 0, axis=1), axis=0, return_counts=True)
    p = counts / n
    return {
        "near_zero": {t: float((absx < t).mean()) for t in thr},
        "quantization_mse": float(((absx - 1.0) ** 2).mean()),
        "quantization_l1": float(np.abs(x - b).mean()),
        "bit_means": bit_means,
        "bit_balance": float(np.abs(bit_means).mean()),
        "bit_correlation": corr,
        "code_entropy": float(-(p * np.log2(p)).sum()),
        "distinct_codes": int(counts.size),
        "num_codes": int(n),
        "bits": int(k),
    }


def histogram(h: Any, bins: int | Sequence[float] = 50, value_range: tuple[float, float] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of all values of ``h`` (any shape): ``(counts int64 (B,), edges float64 (B+1,))``.

    ``np.histogram`` semantics (bins right-open except the last); ``value_range`` defaults to the data
    range. Values outside ``value_range`` are not counted.
    """
    arr = _to_numpy(h, "h").astype(np.float64).ravel()
    if not np.isfinite(arr).all():
        raise ValueError("h: NaN/inf values")
    counts, edges = np.histogram(arr, bins=bins, range=value_range)
    return counts.astype(np.int64), edges


def code_statistics_table(outputs: Mapping[str, Any], bits: int):
    """One row of :func:`code_statistics` per ``method -> h`` (all at code length ``bits``), as a
    ``pandas.DataFrame`` with the columns ``method``, ``bits``, ``|h|<0.05``, ``|h|<0.1`` (shares of fragile
    outputs), ``quant. MSE`` (``quantization_mse``), ``bit balance``, ``mean |corr|`` (mean absolute
    off-diagonal bit correlation), ``code entropy (bits)`` and ``distinct codes``."""
    import pandas as pd

    rows = []
    for method, h in outputs.items():
        s = code_statistics(h)
        k = s["bits"]
        rows.append({"method": method, "bits": bits, "|h|<0.05": s["near_zero"][0.05], "|h|<0.1": s["near_zero"][0.1],
                     "quant. MSE": s["quantization_mse"], "bit balance": s["bit_balance"],
                     "mean |corr|": float(np.abs(s["bit_correlation"][~np.eye(k, dtype=bool)]).mean()),
                     "code entropy (bits)": s["code_entropy"], "distinct codes": s["distinct_codes"]})
    return pd.DataFrame(rows)
