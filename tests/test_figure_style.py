"""Figures that read at a glance (semhash_lib.plotting.style and the functions that draw notebooks 00, 04, 05
and 09's figures): one fixed style per method that survives grey-scale, legends outside the data, every axis
and colour bar labelled, titles that say what is drawn, no empty panels. Checked on the matplotlib Figure
objects, drawn from small synthetic data and from the published tables in results/."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from semhash_lib.methods import METHODS  # noqa: E402
from semhash_lib.plotting import style  # noqa: E402
from semhash_lib.plotting.ablation import plot_ablation_intervals  # noqa: E402
from semhash_lib.plotting.codes import plot_bit_correlations, plot_code_histograms  # noqa: E402
from semhash_lib.plotting.curves import plot_curves, plot_precision_curves  # noqa: E402
from semhash_lib.plotting.tables import (plot_map_vs_mahp, plot_metric, plot_metric_by_bits_per_group,  # noqa: E402
                                         plot_metrics_by_bits)

RESULTS = Path(__file__).resolve().parents[1] / "results"
TEN = ["semhash", "semhash_sampled_kl", "semhash_no_kl", "semhash_quant", "classification", "dsh", "dpsh",
       "hashnet", "csq", "greedyhash"]


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


# ------------------------------------------------------------------ figure checks
def _is_colorbar(ax) -> bool:
    return hasattr(ax, "_colorbar")


def _data_axes(fig):
    return [ax for ax in fig.axes if not _is_colorbar(ax)]


def _legends(fig):
    return list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]


def _overlap_px(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def assert_legends_outside(fig, expect: int | None = None):
    """Every legend's box is clear of every axes' data area (the axes patch), in display pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = _legends(fig)
    if expect is not None:
        assert len(legends) == expect, f"{len(legends)} legends, expected {expect}"
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in _data_axes(fig):
            assert _overlap_px(box, ax.get_window_extent(renderer)) < 1.0, \
                f"legend {[t.get_text() for t in legend.get_texts()][:3]} covers axes {ax.get_title()!r}"


def assert_axes_labelled(fig):
    """Each data axes has an x label, or one below it in its column has; a y label, or one left of it in its
    row has; every colour bar has a label."""
    axes = _data_axes(fig)
    pos = {ax: ax.get_position() for ax in axes}
    for ax in axes:
        p = pos[ax]
        if not ax.get_xlabel():
            assert any(o.get_xlabel() and abs(pos[o].x0 - p.x0) < 1e-3 and pos[o].y0 < p.y0 for o in axes), \
                f"axes {ax.get_title()!r} has no x label and none below it"
        if not ax.get_ylabel():
            assert any(o.get_ylabel() and abs(pos[o].y0 - p.y0) < 1e-3 and pos[o].x0 < p.x0 for o in axes), \
                f"axes {ax.get_title()!r} has no y label and none left of it"
    for ax in fig.axes:
        if _is_colorbar(ax):
            assert ax.get_ylabel() or ax.get_xlabel(), "colour bar without a label"


def assert_no_empty_axes(fig):
    for ax in _data_axes(fig):
        drawn = ax.lines or ax.collections or ax.images or ax.containers or \
            [p for p in ax.patches if p.get_visible()]
        assert drawn and ax.get_visible() and ax.axison, f"empty or hidden axes {ax.get_title()!r}"


def assert_readable(fig, legends: int | None = None):
    assert_legends_outside(fig, legends)
    assert_axes_labelled(fig)
    assert_no_empty_axes(fig)


def _same_style(line: Line2D, st: style.SeriesStyle) -> bool:
    ref = Line2D([], [], linestyle=st.linestyle)
    return (to_hex(line.get_color()) == to_hex(st.color) and line.get_marker() == st.marker
            and line.get_linestyle() == ref.get_linestyle())


# ------------------------------------------------------------------ the palette
def test_luminance_is_the_relative_luminance_of_srgb():
    assert style.luminance("#000000") == 0.0 and style.luminance("white") == pytest.approx(1.0)
    assert style.luminance("#808080") == pytest.approx(0.2159, abs=1e-4)       # sRGB 128: 0.2159 linear
    assert style.luminance("#00ff00") == pytest.approx(0.7152)                # BT.709 green weight


def test_every_method_has_a_fixed_okabe_ito_style_in_its_family_hues():
    assert set(style.METHOD_STYLES) == set(METHODS)
    palette = {c.lower() for c in style.OKABE_ITO.values()}
    assert all(s.color.lower() in palette for s in style.METHOD_STYLES.values())
    family = {m: ("classification" if m == "classification" else "semhash" if m.startswith("semhash")
                  else "baseline") for m in METHODS}
    assert {m: s.family for m, s in style.METHOD_STYLES.items()} == family
    oi = style.OKABE_ITO
    cool = {oi["blue"], oi["sky_blue"], oi["bluish_green"]}
    warm = {oi["vermillion"], oi["orange"], oi["reddish_purple"]}
    for m, s in style.METHOD_STYLES.items():      # a family shares a hue family; families share no colour
        assert s.color in {"semhash": cool, "baseline": warm, "classification": {oi["black"]}}[family[m]], m
    assert style.method_style("semhash @32b") is style.METHOD_STYLES["semhash"]
    assert style.method_color("nope") == "#777777"


@pytest.mark.parametrize("styles", [style.METHOD_STYLES, style.ARM_STYLES], ids=["methods", "arms"])
def test_styles_stay_apart_in_grey_scale(styles):
    """Any two styles differ in marker; any two with the same line style differ in grey luminance by the
    margin, so lines without markers stay apart in grey-scale too."""
    grey = {name: style.luminance(s.color) for name, s in styles.items()}
    tuples = {(round(grey[n], 2), str(s.linestyle), s.marker) for n, s in styles.items()}
    assert len(tuples) == len(styles)
    for (a, sa), (b, sb) in itertools.combinations(styles.items(), 2):
        assert sa.marker != sb.marker, (a, b)
        if sa.linestyle == sb.linestyle:
            assert abs(grey[a] - grey[b]) >= style.MIN_LUMINANCE_GAP, (a, b, grey[a], grey[b])


def test_grid_shape_and_unused_axes():
    import matplotlib.pyplot as plt

    assert style.grid_shape(5, 4) == (2, 3) and style.grid_shape(4, 4) == (1, 4) and style.grid_shape(9, 4) == (3, 3)
    fig, axes = plt.subplots(2, 3, sharex=True)
    style.remove_unused_axes(fig, axes, 4)
    assert len(fig.axes) == 4 and axes[0, 1].xaxis.get_tick_params()["labelbottom"]   # bottom of its column now
    with pytest.raises(ValueError, match="where"):
        style.legend_outside(axes[0, 0], where="inside")


# ------------------------------------------------------------------ notebook 05
def _curves(methods=TEN):
    ks = np.arange(1, 101)
    out = {}
    for protocol, size, queries in (("train_db", 40, 200), ("test_vs_test", 9, 500)):
        out[protocol] = {"class_size": size, "queries": queries,
                         "hP@k": {m: (ks, 0.9 - 0.03 * i - 0.001 * ks) for i, m in enumerate(methods)},
                         "P@k": {m: (ks, 0.7 - 0.03 * i - 0.002 * ks) for i, m in enumerate(methods)}}
    return out


def test_precision_curves_ten_methods_one_legend_outside_styles_and_titles():
    fig = plot_precision_curves(_curves(), 32, seed=0)
    assert_readable(fig, legends=1)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == TEN
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if ln.get_label() in TEN]
        assert len(lines) == len(TEN)
        assert all(_same_style(ln, style.method_style(ln.get_label())) for ln in lines)
        assert "sign(h)" in ax.get_title() and "32 bits, seed 0" in ax.get_title()
    titles = [ax.get_title() for ax in fig.axes]
    assert "train_db: 200 test queries vs the train database" in titles[0]
    assert "test_vs_test: 500 test queries vs the other test images" in titles[3]


def test_plot_curves_alone_puts_its_legend_right_of_the_axes():
    fig = plot_curves(_curves(["semhash", "dsh"])["train_db"]["hP@k"], class_size=40)
    assert_readable(fig, legends=1)
    legend = fig.axes[0].get_legend()
    fig.canvas.draw()
    assert legend.get_window_extent().x0 > fig.axes[0].get_window_extent().x1      # to the right


def _published(name: str) -> pd.DataFrame:
    path = RESULTS / name
    if not path.exists():
        pytest.skip(f"{path} not published in this checkout")
    return pd.read_csv(path)


def test_map_vs_mahp_from_the_published_quick_table():
    t = _published("hashing_quick.csv")
    t = t[t["dataset"] == "cifar100"]
    fig = plot_map_vs_mahp(t, title="mAP vs mAHP, {protocol}")
    assert_readable(fig, legends=1)
    assert len(fig.axes) == t["protocol"].nunique()
    seeds = t.groupby(["protocol", "method", "bits"])["seed"].nunique()
    for ax, protocol in zip(fig.axes, t["protocol"].unique()):
        n = seeds[protocol]
        note = "1 seed" if n.max() == 1 else f"over {n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
        assert ax.get_title().startswith(f"mAP vs mAHP, {protocol}\n") and note in ax.get_title()
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    bits = sorted(t["bits"].unique())
    assert "marker size = code length:" in labels and [f"{b} bits" for b in bits] == labels[-len(bits):]
    ax = fig.axes[0]
    points = {c.get_label(): c for c in ax.collections}
    assert set(points) == set(t["method"])
    for m, c in points.items():           # the method's colour; larger markers for longer codes
        assert to_hex(c.get_facecolor()[0]) == to_hex(style.method_color(m))
        sizes = c.get_sizes()
        assert len(sizes) == len(bits) and np.all(np.diff(sizes) > 0)
    shapes = [tuple(np.round(c.get_paths()[0].vertices, 3).ravel()) for c in points.values()]
    assert len(set(shapes)) == len(shapes)                                       # a marker per method


def test_map_vs_mahp_one_code_length_says_so_instead_of_a_size_key():
    t = _published("hashing_quick.csv")
    t = t[(t["dataset"] == "cifar100") & (t["bits"] == 32)]
    fig = plot_map_vs_mahp(t)
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    assert "every point: 32 bits" in labels and not any("marker size" in x for x in labels)
    assert np.ptp(fig.axes[0].collections[0].get_sizes()) == 0


# ------------------------------------------------------------------ notebook 04 / 09 histograms, correlations
def _outputs(n=5, N=200, K=16, seed=0):
    rng = np.random.default_rng(seed)
    return {m: np.tanh(rng.normal(scale=2, size=(N, K))) for m in TEN[:n]}


def test_code_histograms_have_density_axes_method_colours_and_no_empty_panels():
    outputs = _outputs()
    fig = plot_code_histograms({f"{m} @16b": h for m, h in outputs.items()}, ncols=4)
    assert_readable(fig, legends=0)
    assert len(fig.axes) == 5                                            # 2 x 3 grid, the sixth cell removed
    assert "h" in fig._suptitle.get_text() and "3,200 values per panel" in fig._suptitle.get_text()
    first_column = [ax for ax in fig.axes if ax.get_subplotspec().colspan.start == 0]
    assert [ax.get_ylabel() for ax in first_column] == ["density", "density"]
    for ax, m in zip(fig.axes, outputs):
        assert len(ax.get_yticks()) > 1 and ax.yaxis.get_tick_params()["labelleft"] is not False
        filled = [p for p in ax.patches if p.get_fill()]
        assert filled and to_hex(filled[0].get_facecolor()[:3]) == to_hex(style.method_color(m))
        assert ax.get_title() == f"{m} @16b"
    # the column whose bottom cell went: its upper panel shows the h axis
    assert fig.axes[2].get_xlabel() == "pre-sign output h"
    assert fig.axes[2].xaxis.get_tick_params()["labelbottom"]


def test_code_histograms_keep_the_callers_title():
    fig = plot_code_histograms(_outputs(2), title="pre-sign outputs h, test, 16 bits")
    assert fig._suptitle.get_text() == "pre-sign outputs h, test, 16 bits" and len(fig.axes) == 2


def test_bit_correlations_say_sign_h_bits_and_codes_with_a_labelled_colour_bar():
    fig = plot_bit_correlations(_outputs(3, N=120, K=12))
    assert_readable(fig, legends=0)
    bars = [ax for ax in fig.axes if _is_colorbar(ax)]
    assert len(bars) == 1 and "sign(h" in bars[0].get_ylabel()
    title = fig._suptitle.get_text()
    assert "sign(h)" in title and "12 bits" in title and "120 codes" in title
    assert all(ax.get_xlabel() == "bit j" for ax in _data_axes(fig)) and fig.axes[0].get_ylabel() == "bit i"


# ------------------------------------------------------------------ results tables (notebooks 03, 06, 07)
def _table():
    rows = []
    for protocol in ("train_db", "test_vs_test"):
        for i, m in enumerate(TEN):
            for bits in (16, 32, 64):
                for seed in range(3):
                    v = 0.8 - 0.02 * i + bits / 1000 + seed / 100
                    rows.append({"protocol": protocol, "method": m, "bits": bits, "seed": seed, "targets": "T1",
                                 "mahp@250": v, "map@all": v - 0.3, "map@1000": v - 0.2})
    return pd.DataFrame(rows)


def test_metrics_by_bits_one_legend_right_of_all_panels_with_method_styles():
    t = _table()
    fig = plot_metrics_by_bits(t, [("mahp@250", "train_db"), ("map@1000", "test_vs_test")], suptitle="S")
    assert_readable(fig, legends=1)
    assert [x.get_text() for x in fig.legends[0].get_texts()] == TEN
    assert all(ax.get_title().endswith("\nmean ± std over 3 seeds") for ax in fig.axes)
    for ax in fig.axes:
        for container, m in zip(ax.containers, TEN):
            assert _same_style(container.lines[0], style.method_style(m))


def test_metric_bars_hatch_the_groups_and_keep_the_legend_outside():
    t = _table()
    fig = plot_metric(t[t["bits"] == 32], "mahp@250", title="T")
    assert_readable(fig, legends=1)
    assert fig.axes[0].get_title() == "T, 32 bits\nmean ± std over 3 seeds"
    hatches = {p.get_hatch() for p in fig.axes[0].patches}
    assert len(hatches) == 2                                   # one hatch per protocol: readable in grey-scale
    black = [p for p in fig.axes[0].patches if p.get_hatch() and to_hex(p.get_facecolor()[:3]) == "#000000"]
    assert black and all(style.luminance(p.get_hatchcolor()[:3]) > 0.5 for p in black)   # visible on black


def test_metric_per_group_legend_outside():
    t = _table()
    t2 = t.assign(targets="T2", **{"mahp@250": t["mahp@250"] + 0.05})
    fig = plot_metric_by_bits_per_group(pd.concat([t, t2]), "mahp@250", "targets", title="T")
    assert_readable(fig, legends=1)
    assert fig.axes[0].get_title() == "T\nmean ± std over 60 runs (3 seeds), 10 method(s) pooled"
    lines = [c.lines[0] for c in fig.axes[0].containers]
    assert len({(ln.get_color(), ln.get_linestyle(), ln.get_marker()) for ln in lines}) == 2


# ------------------------------------------------------------------ notebook 09
def test_ablation_intervals_from_the_published_summary():
    summary = _published("kl_ablation_summary_ablation.csv")
    fig = plot_ablation_intervals(summary, reference="none")
    assert_readable(fig, legends=1)
    rows = summary[(summary["reference"] == "none") & (summary["protocol"] == "test_vs_test")]
    assert [x.get_text() for x in fig.legends[0].get_texts()] == list(dict.fromkeys(rows["arm"]))
    n = rows["n_seeds"].unique()
    assert f"{n[0]} seeds" in fig.axes[-1].get_xlabel() and f"{n[0]} seeds" in fig._suptitle.get_text()
    for container in fig.axes[0].containers:
        st = style.arm_style(container.get_label())
        assert to_hex(container.lines[0].get_color()) == to_hex(st.color)
        assert container.lines[0].get_marker() == st.marker


# ------------------------------------------------------------------ notebook 00
def test_kl_geometry_legend_below_axes_labelled_and_xn_explained():
    from semhash_lib import toy
    from semhash_lib.plotting import toy as plots

    demo = toy.kl_toy(bits=2, n=8, steps=10, grid=3, every=5)
    fig = plots.plot_kl_geometry(demo.geometries, demo.fields, title="8 outputs")
    assert_readable(fig, legends=1)
    fig.canvas.draw()
    legend = fig.legends[0]
    assert legend.get_window_extent().y1 <= min(ax.get_window_extent().y0 for ax in fig.axes)   # below
    labels = [x.get_text() for x in legend.get_texts()]
    assert "xN: N target samples on that corner" in labels
    assert any(x.startswith("descent direction") for x in labels) and any(x.startswith("field") for x in labels)
    assert all(ax.get_xlabel() == "output h$_1$" and ax.get_ylabel() == "output h$_2$" for ax in fig.axes)


def test_trivial_solution_and_trajectory_panels():
    from semhash_lib import toy
    from semhash_lib.plotting import toy as plots

    ks = np.arange(1, 30)
    fig = plots.plot_trivial_solution({"semantic": (ks, 0.9 - ks / 100), "class id": (ks, 0.8 - ks / 60)},
                                      class_size=5)
    assert_readable(fig, legends=1)
    assert "sign(h)" in fig.axes[0].get_title()
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label() in ("semantic", "class id")]
    assert len({(ln.get_color(), ln.get_linestyle()) for ln in lines}) == 2
    demo = toy.kl_toy(bits=2, n=8, steps=10, grid=3, every=5)
    fig = plots.plot_trajectory_panels(demo.trajectories, n_panels=3)
    assert_readable(fig, legends=0)
