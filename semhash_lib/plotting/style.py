"""Shared figure style and saving: one fixed look per method, legends outside the data, no empty panels.

**Palette.** Colours are the eight of Okabe & Ito's colour-universal-design palette (M. Okabe, K. Ito,
*Color Universal Design*, 2008; B. Wong, "Points of view: Color blindness", *Nature Methods* 8:441, 2011),
which stay apart for the common forms of colour blindness. Ten or more methods need more than colour, so
every method has a fixed (colour, line style, marker) triple (:data:`METHOD_STYLES`), the same in every
figure:

- the **semhash family** (the paper's method and its ablations, ``semhash_lib.methods``) in the cool hues
  (blue, sky blue, bluish green); its members differ in line style and marker, and the paper's method is
  drawn a little thicker;
- **classification** (CE only) in black;
- the **baselines** (DSH, DPSH, HashNet, CSQ, GreedyHash) in the warm hues (vermillion, orange, reddish
  purple), with dash-dot, dotted and dash-dot-dot lines.

Every marker is used once, and two methods with the same line style differ in grey luminance by at least
:data:`MIN_LUMINANCE_GAP`, so the figures stay readable in grey-scale print (``tests/test_figure_style.py``
checks both). The ablation arms of notebook 09 (:data:`ARM_STYLES`) and the KL variants of the toys of
notebook 00 (:data:`VARIANT_STYLES`) reuse the style of the method that trains them.

**Layout helpers.** :func:`legend_outside` puts a legend to the right of or below an axes (or a whole
figure) so it never covers data; :func:`grid_shape` and :func:`remove_unused_axes` keep grids free of empty
panels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..io import atomic_write

__all__ = ["save_figure", "method_color", "method_style", "arm_style", "variant_style", "SeriesStyle",
           "OKABE_ITO", "METHOD_STYLES", "ARM_STYLES", "VARIANT_STYLES", "MIN_LUMINANCE_GAP", "luminance",
           "legend_outside", "grid_shape", "remove_unused_axes"]

#: Okabe & Ito's eight colours (Wong 2011's hex values)
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7"}

#: two styles that share a line style differ in grey luminance by at least this much
MIN_LUMINANCE_GAP = 0.1

_DASH_DOT_DOT = (0, (4, 1.5, 1, 1.5, 1, 1.5))


@dataclass(frozen=True)
class SeriesStyle:
    """How one method (or arm, or variant) is drawn: colour, line style, marker, family, line width."""

    color: str
    linestyle: object
    marker: str
    family: str
    linewidth: float = 1.6

    def line(self) -> dict:
        """Keyword arguments for ``ax.plot`` / ``ax.errorbar``."""
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker, "lw": self.linewidth}

    def points(self) -> dict:
        """Keyword arguments for ``ax.scatter`` (colour and marker; no line)."""
        return {"color": self.color, "marker": self.marker}


_OI = OKABE_ITO
#: one fixed style per method of ``semhash_lib.methods.METHODS``
METHOD_STYLES: dict[str, SeriesStyle] = {
    "semhash": SeriesStyle(_OI["blue"], "-", "o", "semhash", 2.2),
    "semhash_sampled_kl": SeriesStyle(_OI["blue"], "--", "s", "semhash"),
    "semhash_grouped_kl": SeriesStyle(_OI["sky_blue"], "--", "d", "semhash"),
    "semhash_no_kl": SeriesStyle(_OI["sky_blue"], "-", "^", "semhash"),
    "semhash_quant": SeriesStyle(_OI["bluish_green"], "-", "D", "semhash"),
    "semhash_no_ce": SeriesStyle(_OI["bluish_green"], "--", "P", "semhash"),
    "classification": SeriesStyle(_OI["black"], "-", "X", "classification"),
    "dsh": SeriesStyle(_OI["vermillion"], "-.", "v", "baseline"),
    "dpsh": SeriesStyle(_OI["orange"], "-.", "<", "baseline"),
    "hashnet": SeriesStyle(_OI["reddish_purple"], ":", ">", "baseline"),
    "csq": SeriesStyle(_OI["orange"], ":", "p", "baseline"),
    "greedyhash": SeriesStyle(_OI["vermillion"], _DASH_DOT_DOT, "h", "baseline"),
}

#: the KL ablation's arms (``semhash_lib.ablation.ARMS``): the style of the method each arm trains, where
#: there is one; the two arms without a registered method get markers no method uses
ARM_STYLES: dict[str, SeriesStyle] = {
    "none": METHOD_STYLES["semhash_no_kl"],
    "quant": METHOD_STYLES["semhash_quant"],
    "kl_nearest_corner": METHOD_STYLES["semhash"],
    "kl_sampled": METHOD_STYLES["semhash_sampled_kl"],
    "kl_mixture": SeriesStyle(_OI["sky_blue"], "-.", "*", "semhash"),
    "spread": SeriesStyle(_OI["black"], ":", "H", "semhash"),
}

#: the KL term's target-side variants in the toys of notebook 00: the style of the method using each
VARIANT_STYLES: dict[str, SeriesStyle] = {
    "nearest_corner": METHOD_STYLES["semhash"],
    "sampled": METHOD_STYLES["semhash_sampled_kl"],
    "grouped": METHOD_STYLES["semhash_grouped_kl"],
}

_UNKNOWN = SeriesStyle("#777777", "-", "o", "other")


def _method_name(label: str) -> str:
    """The method a series label names: its first word, without an ``@<bits>`` suffix (``"semhash @32b"``)."""
    word = str(label).strip().split(" ")[0] if str(label).strip() else ""
    return word.split("@")[0]


def method_style(name: str) -> SeriesStyle:
    """The :class:`SeriesStyle` of a method (or of a label starting with a method's name, e.g.
    ``"semhash @32b"``); grey with a plain line for unknown names."""
    return METHOD_STYLES.get(name, METHOD_STYLES.get(_method_name(name), _UNKNOWN))


def arm_style(arm: str) -> SeriesStyle:
    """The :class:`SeriesStyle` of a KL-ablation arm (grey for unknown arms)."""
    return ARM_STYLES.get(arm, _UNKNOWN)


def variant_style(variant: str) -> SeriesStyle:
    """The :class:`SeriesStyle` of a KL variant of the toys (dark grey for unknown variants)."""
    return VARIANT_STYLES.get(variant, SeriesStyle("#444444", "-", "o", "other"))


def method_color(name: str) -> str:
    """The colour used for ``name`` in every figure (grey for unknown methods)."""
    return method_style(name).color


def luminance(color) -> float:
    """Relative luminance in [0, 1] of a matplotlib colour (sRGB linearised, ITU-R BT.709 weights, as in
    WCAG 2): the grey level the colour becomes in grey-scale print."""
    from matplotlib.colors import to_rgb

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in to_rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def legend_outside(target, handles=None, labels=None, where: str = "right", **kwargs):
    """A legend outside the data: to the right of (``where="right"``) or below (``"below"``) ``target``, an
    Axes or a Figure. A figure's legend lies outside its axes; ``save_figure`` (``bbox_inches="tight"``)
    widens the saved image to hold it. Returns the Legend."""
    from matplotlib.figure import Figure

    if where not in ("right", "below"):
        raise ValueError(f"legend_outside: where must be 'right' or 'below', got {where!r}")
    if handles is None:
        source = target.axes if isinstance(target, Figure) else [target]
        seen: dict = {}
        for ax in source:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        labels, handles = list(seen), list(seen.values())
    if labels is None:
        labels = [h.get_label() for h in handles]
    opts = {"fontsize": 8, "frameon": False}
    if isinstance(target, Figure):
        boxes = [ax.get_position() for ax in target.axes if ax.get_visible()]
        right = max(b.x1 for b in boxes) if boxes else 1.0
        bottom = min(b.y0 for b in boxes) if boxes else 0.0
        if where == "right":
            opts.update(loc="center left", bbox_to_anchor=(max(right, 0.98) + 0.01, 0.5))
        else:
            opts.update(loc="upper center", bbox_to_anchor=(0.5, min(bottom, 0.02) - 0.08),
                        ncol=min(len(handles), 4))
    else:
        if where == "right":
            opts.update(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        else:
            opts.update(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(len(handles), 4))
    opts.update(kwargs)
    return target.legend(handles, labels, **opts)


def grid_shape(n: int, max_cols: int) -> tuple[int, int]:
    """(rows, columns) of a grid for ``n`` panels with at most ``max_cols`` columns and as few empty cells as
    that many rows allow (5 panels, 4 columns at most: 2 x 3, not 2 x 4)."""
    if n < 1 or max_cols < 1:
        raise ValueError(f"grid_shape: need n >= 1 and max_cols >= 1, got {n}, {max_cols}")
    rows = -(-n // max_cols)
    return rows, -(-n // rows)


def remove_unused_axes(fig, axes, used: int) -> None:
    """Delete the axes of the flat grid ``axes`` after the first ``used`` ones from ``fig`` (no empty
    panels), and show the x tick labels of the axes left at the bottom of each column."""
    import numpy as np

    grid = np.asarray(axes, dtype=object)
    flat = grid.ravel()
    for ax in flat[used:]:
        fig.delaxes(ax)
    if grid.ndim == 2:
        rows, cols = grid.shape
        for c in range(cols):
            kept = [r for r in range(rows) if r * cols + c < used]
            if kept:
                grid[kept[-1], c].xaxis.set_tick_params(labelbottom=True)


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
