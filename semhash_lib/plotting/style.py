"""Shared figure style and saving."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write

__all__ = ["save_figure", "method_color"]

# A fixed colour per method so every figure uses the same one.
_PALETTE = {
    "semhash": "#1b7837", "semhash_sampled_kl": "#00441b", "semhash_grouped_kl": "#4d9221", "semhash_no_ce": "#5aae61", "semhash_no_kl": "#d6604d", "semhash_quant": "#f4a582",
    "classification": "#762a83", "dsh": "#2166ac", "dpsh": "#4393c3", "hashnet": "#92c5de",
    "csq": "#8c510a", "greedyhash": "#bf812d",
}


def method_color(name: str) -> str:
    """The colour used for ``name`` in every figure (grey for unknown methods)."""
    return _PALETTE.get(name, "#777777")


def save_figure(fig, figures_dir: str | Path, name: str, formats: tuple[str, ...] = ("png", "svg"),
                dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``<figures_dir>/<name>.<fmt>`` for each format, atomically; returns the paths."""
    out = []
    for fmt in formats:
        path = Path(figures_dir) / f"{name}.{fmt}"
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight")
        out.append(path)
    return out
