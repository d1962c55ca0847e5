"""Figures of the free-output toys of notebook 00 (:mod:`semhash_lib.toy`), and the live controls.

- :func:`plot_kl_geometry` — a batch in 2 or 3 dimensions as the k-NN KL term sees it: the target samples
  (or corners), each output's nu (segment to its k-th nearest target) and rho (to its k-th nearest other
  output), its descent direction -dL/dh, and in 2-d the field a new output would feel (``docs/paper.md`` §4.4);
- :func:`plot_trajectory_panels` and :func:`save_trajectory_gif` — the batch moving to the corners over the
  training steps, as a static panel sequence (for PDF/HTML export) and as a GIF (matplotlib's PillowWriter);
- :func:`plot_many_bits` — histograms of the outputs of each KL variant at many bits;
- :func:`plot_code_vs_target` — code distance against target distance before and after training (§4.3);
- :func:`plot_trivial_solution` — hP@k curves of a class-id code and a semantic code (§5.1);
- :func:`toy_controls` — ipywidgets sliders that re-run the similarity + KL toy live in JupyterLab, one
  static drawing otherwise (papermill, nbconvert).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

import numpy as np

from ..io import atomic_write
from .style import OKABE_ITO, VARIANT_STYLES, legend_outside, variant_style
from ..toy import (KLGeometry, SimilarityToy, Trajectory, binarization_statistics, class_id_codes, default_k,
                   hp_curves, pair_distances, retrieval_table, similarity_toy)

__all__ = ["plot_kl_geometry", "plot_trajectory_panels", "save_trajectory_gif", "plot_many_bits",
           "plot_code_vs_target", "plot_trivial_solution", "draw_toy", "toy_controls", "TOY_DEFAULTS",
           "VARIANT_COLORS"]

#: one colour per KL variant, in every figure of the toy (the colour of the method using that variant,
#: :data:`semhash_lib.plotting.style.VARIANT_STYLES`)
VARIANT_COLORS = {variant: style.color for variant, style in VARIANT_STYLES.items()}
#: the codes of the trivial-solution figure: (colour, line style), Okabe & Ito's palette
_CODE_STYLES = ((OKABE_ITO["blue"], "-"), (OKABE_ITO["vermillion"], "--"), (OKABE_ITO["black"], ":"),
                (OKABE_ITO["reddish_purple"], "-."))
#: the parts of the KL geometry panels
_NU_COLOR, _RHO_COLOR, _DESCENT_COLOR = OKABE_ITO["orange"], OKABE_ITO["reddish_purple"], OKABE_ITO["vermillion"]


def _color(variant: str) -> str:
    return variant_style(variant).color


def _draw_segments(ax, a: np.ndarray, b: np.ndarray, **kw) -> None:
    for p, q in zip(a, b):
        ax.plot(*[[p[i], q[i]] for i in range(a.shape[1])], **kw)


def _geometry_panel(ax, g: KLGeometry, field=None, lim: float = 1.6) -> None:
    d = g.h.shape[1]
    if field is not None:
        X, Y, U, V = field
        norm = np.hypot(U, V)
        unit = np.where(norm > 0, 1.0 / np.maximum(norm, 1e-12), 0.0)
        spacing = float(X[0, 1] - X[0, 0]) if X.shape[1] > 1 else 1.0
        shade = np.log1p(norm / max(float(np.median(norm)), 1e-12))
        ax.quiver(X, Y, U * unit, V * unit, shade, cmap="Greys", clim=(-0.5, float(shade.max()) + 1e-9),
                  pivot="mid", angles="xy", scale_units="xy", scale=1.0 / (0.6 * spacing), width=0.004, zorder=1)
        ax.plot([], [], ls="none", marker=r"$\rightarrow$", ms=10, color="0.45",
                label="field on a new output (darker: stronger)")
    t, counts = np.unique(np.round(g.targets, 6), axis=0, return_counts=True)
    ax.scatter(*t.T, marker="s", s=60, c="black", zorder=3,
               label="target samples (corners drawn with replacement)" if g.variant == "sampled" else "corners")
    if g.variant == "sampled" and d == 2:
        for p, c in zip(t, counts):
            ax.annotate(f"x{c}", p, xytext=(6, 6), textcoords="offset points", fontsize=7)
        ax.plot([], [], ls="none", marker=r"$xN$", ms=14, color="black",
                label="xN: N target samples on that corner")
    _draw_segments(ax, g.h, g.nu_points, color=_NU_COLOR, lw=0.9, alpha=0.85)
    _draw_segments(ax, g.h, g.rho_points, color=_RHO_COLOR, lw=0.9, ls="--", alpha=0.85)
    ax.plot([], [], color=_NU_COLOR, lw=1, label=f"nu: to the {g.k}-th nearest target")
    ax.plot([], [], color=_RHO_COLOR, lw=1, ls="--", label=f"rho: to the {g.k}-th nearest output")
    st = variant_style(g.variant)
    ax.scatter(*g.h.T, s=16, color=st.color, marker=st.marker, zorder=4, label=f"outputs h ({g.variant})")
    step = 0.35 * g.descent / max(float(np.abs(g.descent).max()), 1e-12)
    if d == 2:
        ax.quiver(*g.h.T, *step.T, color=_DESCENT_COLOR, angles="xy", scale_units="xy", scale=1, width=0.006,
                  zorder=5)
        ax.set_aspect("equal")
    else:
        ax.quiver(*g.h.T, *step.T, color=_DESCENT_COLOR)
    ax.plot([], [], ls="none", marker=r"$\nearrow$", ms=10, color=_DESCENT_COLOR,
            label="descent direction -dL/dh (longest 0.35)")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("output h$_1$")
    ax.set_ylabel("output h$_2$")
    if d == 3:
        ax.set_zlim(-lim, lim)
        ax.set_zlabel("output h$_3$")
    ax.set_title(f"{g.variant}, k={g.k}: KL term L = {g.loss:.2f}", fontsize=9)


def plot_kl_geometry(geometries: Mapping[str, KLGeometry], fields: Mapping[str, tuple] | None = None,
                     title: str | None = None, lim: float = 1.6):
    """One panel per ``label -> KLGeometry`` (2-d or 3-d outputs, axes the output coordinates h_1, h_2, h_3):
    target samples (black squares; "xN" the number of samples on a corner) or corners, each output (dots,
    its variant's colour) with its nu segment (orange) and rho segment (purple, dashed), its descent
    direction -dL/dh (vermillion arrows, scaled so the longest has length 0.35) and, in 2-d with
    ``fields[label]`` = :func:`semhash_lib.toy.kl_gradient_field`, the normalised field a new output would
    feel (grey, darker = stronger). One legend for all panels, below them, explains each mark.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    if not geometries:
        raise ValueError("plot_kl_geometry: no geometries given")
    dims = {g.h.shape[1] for g in geometries.values()}
    if not dims <= {2, 3} or len(dims) != 1:
        raise ValueError(f"plot_kl_geometry draws batches of one dimension, 2 or 3; got dimensions {sorted(dims)}")
    d = dims.pop()
    n = len(geometries)
    fig = plt.figure(figsize=(4.6 * n, 4.6))
    for i, (label, g) in enumerate(geometries.items()):
        ax = fig.add_subplot(1, n, i + 1, projection="3d" if d == 3 else None)
        _geometry_panel(ax, g, (fields or {}).get(label), lim)
        if label != g.variant:
            ax.set_title(f"{label}\n" + ax.get_title(), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    legend_outside(fig, where="below", ncol=3)
    return fig


def _frames(traj: Trajectory, n_panels: int) -> np.ndarray:
    return np.unique(np.linspace(0, len(traj.steps) - 1, n_panels).round().astype(int))


def plot_trajectory_panels(trajectories: Mapping[str, Trajectory], n_panels: int = 5, lim: float = 1.6,
                           title: str | None = None):
    """The batch at ``n_panels`` recorded steps (columns), one row per ``label -> Trajectory`` of 2-d
    outputs (axes h_1, h_2), with the corners and each frame's quantization error mean | |h| - 1 |; cells
    of rows with fewer frames are removed. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not trajectories:
        raise ValueError("plot_trajectory_panels: no trajectories given")
    rows = len(trajectories)
    cols = max(len(_frames(t, n_panels)) for t in trajectories.values())
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.4 * rows), squeeze=False)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    for r, (label, traj) in enumerate(trajectories.items()):
        for c, f in enumerate(_frames(traj, n_panels)):
            ax = axes[r, c]
            h = traj.h[f][:, :2]
            ax.scatter(*corners.T, marker="s", s=40, c="black")
            st = variant_style(label.split(" ")[0])
            ax.scatter(*h.T, s=10, color=st.color, marker=st.marker)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xticks([-1, 1])
            ax.set_yticks([-1, 1])
            ax.tick_params(labelsize=7)
            ax.set_title(f"step {traj.steps[f]}: q.err {binarization_statistics(traj.h[f])['quant_error']:.2f}",
                         fontsize=8)
            ax.set_xlabel("h$_1$", fontsize=8, labelpad=0)
        axes[r, 0].set_ylabel(f"{label}\nh$_2$", fontsize=9)
        for c in range(len(_frames(traj, n_panels)), cols):
            fig.delaxes(axes[r, c])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_trajectory_gif(trajectories: Mapping[str, Trajectory], figures_dir: str | os.PathLike, name: str,
                        fps: int = 8, lim: float = 1.6) -> Path:
    """``<figures_dir>/<name>.gif``: the 2-d batches of ``trajectories`` side by side, one frame per
    recorded step (matplotlib's FuncAnimation and PillowWriter), written atomically. Returns the path."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    if not trajectories:
        raise ValueError("save_trajectory_gif: no trajectories given")
    items = list(trajectories.items())
    n_frames = min(len(t.steps) for _, t in items)
    fig, axes = plt.subplots(1, len(items), figsize=(3.2 * len(items), 3.4), squeeze=False)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    dots = []
    for ax, (label, traj) in zip(axes[0], items):
        ax.scatter(*corners.T, marker="s", s=50, c="black")
        st = variant_style(label.split(" ")[0])
        dots.append(ax.scatter(*traj.h[0][:, :2].T, s=12, color=st.color, marker=st.marker))
        ax.set_xlabel("h$_1$")
        ax.set_ylabel("h$_2$")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
    fig.tight_layout()

    def frame(i):
        for dot, (_, traj) in zip(dots, items):
            dot.set_offsets(traj.h[i][:, :2])
        fig.suptitle(f"step {items[0][1].steps[i]}", fontsize=9, y=0.02, va="bottom")
        return dots

    anim = FuncAnimation(fig, frame, frames=n_frames, blit=False)
    path = Path(figures_dir) / f"{name}.gif"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.gif")     # PillowWriter picks the format from the suffix
    try:
        anim.save(str(tmp), writer=PillowWriter(fps=fps))
        with open(tmp, "rb") as src, atomic_write(path, "wb") as dst:
            dst.write(src.read())
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)
    return path


def plot_many_bits(outputs: Mapping[str, np.ndarray], bits: int | None = None, bins: int = 60):
    """One histogram of the outputs h per KL variant (``variant -> h`` (n, K)), with the quantization error
    mean | |h| - 1 | and the share of |h| < 0.1 written in each panel. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not outputs:
        raise ValueError("plot_many_bits: no outputs given")
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.4 * len(outputs), 2.8), squeeze=False, sharex=True)
    edges = np.linspace(-1.6, 1.6, bins + 1)
    for ax, (variant, h) in zip(axes[0], outputs.items()):
        s = binarization_statistics(h)
        ax.hist(np.clip(np.ravel(h), -1.6, 1.6), bins=edges, color=_color(variant), density=True)
        ax.set_title(f"{variant}\nquant. error {s['quant_error']:.2f}, |h|<0.1: {s['near_zero']:.1%}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("output h")
    axes[0, 0].set_ylabel("density")
    if bits:
        fig.suptitle(f"KL term alone at {bits} bits", fontsize=10)
    fig.tight_layout()
    return fig


def plot_code_vs_target(result: SimilarityToy, seed: int = 0):
    """Hamming distance of sign(h) against the target distance T of every pair of the toy, before and after
    training (points jittered horizontally; black: the mean per target value), with Spearman's rank
    correlation in each panel. Returns the Figure."""
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), sharey=True)
    for ax, (label, h) in zip(axes, [("before training", result.h_before), ("after training", result.h_after)]):
        t, d = pair_distances(h, result.T)
        ax.scatter(t + rng.uniform(-0.04, 0.04, t.shape), d, s=4, alpha=0.25, color="#4d4d4d")
        levels = np.unique(t)
        ax.plot(levels, [d[t == v].mean() for v in levels], "o-", color="black", ms=5)
        rho = spearmanr(t, d).statistic if np.ptp(d) > 0 else float("nan")
        ax.set_title(f"{label}: Spearman {rho:.2f}", fontsize=9)
        ax.set_xlabel("target distance T = 1 - s")
    axes[0].set_ylabel(f"Hamming distance ({result.h_after.shape[1]} bits)")
    fig.tight_layout()
    return fig


def plot_trivial_solution(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], table=None,
                          class_size: int | None = None):
    """hP@k against k for each code (``name -> (ks, hP)``, :func:`semhash_lib.toy.hp_curves`), the legend
    carrying each code's mAP and mAHP from ``table`` (:func:`semhash_lib.toy.retrieval_table`);
    ``class_size`` marks where the same-class items run out. Returns the Figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    for i, (name, (ks, hp)) in enumerate(curves.items()):
        label = name
        if table is not None:
            row = table[table["code"] == name].iloc[0]
            mahp = [c for c in table.columns if c.startswith("mAHP")][0]
            label = f"{name}: mAP {row['mAP']:.2f}, {mahp} {row[mahp]:.2f}"
        color, ls = _CODE_STYLES[i % len(_CODE_STYLES)]
        ax.plot(ks, hp, color=color, ls=ls, lw=1.8, label=label)
    if class_size:
        ax.axvline(class_size, color="0.5", ls=":", lw=1)
        ax.text(class_size, 0.06, " same-class items used up", fontsize=7, color="0.4", transform=ax.get_xaxis_transform())
    ax.set_xlabel("k (retrieved items)")
    ax.set_ylabel("hP@k")
    ax.set_ylim(0, 1.03)
    ax.set_title("hP@k of the codes sign(h), Hamming ranking, ties averaged", fontsize=10)
    fig.tight_layout()
    legend_outside(ax, where="below", ncol=1)
    return fig


#: the settings the live controls start from (and the static drawing uses)
TOY_DEFAULTS = dict(kl_weight=0.02, k=1, bits=16, variant="nearest_corner", lr=0.05, steps=200, per_class=8, seed=0)


def draw_toy(kl_weight: float = 0.02, k: int = 1, bits: int = 16, variant: str = "nearest_corner", lr: float = 0.05,
             steps: int = 200, per_class: int = 8, seed: int = 0):
    """Train :func:`semhash_lib.toy.similarity_toy` with these settings and draw three panels: the histogram of
    the outputs h, code distance against target distance, and the hP@k curve; the title carries quantization
    error, mAP and mAHP. Returns the Figure."""
    import matplotlib.pyplot as plt

    r = similarity_toy(per_class=per_class, bits=int(bits), steps=int(steps), lr=float(lr),
                       kl_weight=float(kl_weight), k=min(int(k), 6 * per_class - 1), variant=variant,
                       seed=seed)
    table = retrieval_table({"trained": r.h_after}, r.labels, r.S)
    (ks, hp), = hp_curves({"trained": r.h_after}, r.labels, r.S).values()
    s = binarization_statistics(r.h_after)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    axes[0].hist(r.h_after.ravel(), bins=np.linspace(-1.05, 1.05, 43), color=_color(variant))
    axes[0].set_xlabel("output h = tanh(z)")
    axes[0].set_ylabel("count")
    axes[0].set_title(f"quant. error {s['quant_error']:.3f}, |h|<0.1: {s['near_zero']:.1%}", fontsize=9)
    t, d = pair_distances(r.h_after, r.T)
    axes[1].scatter(t + np.random.default_rng(seed).uniform(-0.04, 0.04, t.shape), d, s=4, alpha=0.25, color="0.3")
    axes[1].set_xlabel("target distance T")
    axes[1].set_ylabel("Hamming distance")
    axes[2].plot(ks, hp, color=_color(variant))
    axes[2].axvline(per_class - 1, color="0.5", ls=":")
    axes[2].set_ylim(0, 1.03)
    axes[2].set_xlabel("k")
    axes[2].set_ylabel("hP@k")
    mahp = [c for c in table.columns if c.startswith("mAHP")][0]
    axes[2].set_title(f"mAP {table['mAP'][0]:.3f}, {mahp} {table[mahp][0]:.3f}", fontsize=9)
    fig.suptitle(f"{bits} bits, {variant} KL x {kl_weight:g} (k={k}), lr {lr:g}, {steps} steps", fontsize=10)
    fig.tight_layout()
    return fig


def _in_jupyter_kernel() -> bool:
    """True inside an IPython kernel that a frontend talks to over ZMQ (JupyterLab, Notebook, papermill)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return type(shell).__name__ == "ZMQInteractiveShell"


def toy_controls(interactive: bool | None = None, **settings):
    """Live controls for the similarity + KL toy (:func:`draw_toy`): sliders for the KL weight, k, the code
    length and the learning rate, and a menu of the KL variant; moving one re-trains the toy (a second or
    two) and redraws.

    ``interactive``: ``True`` builds and displays the ipywidgets controls (when ipywidgets is importable and
    the code runs in a Jupyter kernel; otherwise it falls back to one static drawing), ``False`` draws once
    with ``settings`` (what papermill runs use: the profiles pass ``interactive: false``, since papermill's
    kernel is a Jupyter kernel without a frontend to show widgets), ``None`` decides by
    :func:`_in_jupyter_kernel`. ``settings`` override :data:`TOY_DEFAULTS`. Returns the widget or the Figure.
    """
    unknown = set(settings) - set(TOY_DEFAULTS)
    if unknown:
        raise ValueError(f"toy_controls: unknown settings {sorted(unknown)}; known: {sorted(TOY_DEFAULTS)}")
    values = {**TOY_DEFAULTS, **settings}
    if interactive is None:
        interactive = _in_jupyter_kernel()
    try:
        import ipywidgets as w
    except ImportError:
        interactive = False
    if not interactive or not _in_jupyter_kernel():
        return draw_toy(**values)
    return _widget(w, values)


def _widget(w, values: dict):
    """The ipywidgets form of :func:`toy_controls` (displayed, and returned)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from ..losses import NU_MODES

    n = values["per_class"] * 6
    controls = {
        "kl_weight": w.FloatSlider(value=values["kl_weight"], min=0.0, max=2.0, step=0.05, description="KL weight",
                                   continuous_update=False),
        "k": w.IntSlider(value=values["k"], min=1, max=max(2, min(16, default_k(n, 1))), description="k",
                         continuous_update=False),
        "bits": w.Dropdown(options=[2, 4, 8, 16, 32, 64], value=values["bits"], description="code length"),
        "variant": w.Dropdown(options=list(NU_MODES), value=values["variant"], description="KL variant"),
        "lr": w.FloatLogSlider(value=values["lr"], base=10, min=-3, max=-0.5, description="learning rate",
                               continuous_update=False),
    }
    fixed = {key: values[key] for key in ("steps", "per_class", "seed")}

    def redraw(**chosen):
        draw_toy(**chosen, **fixed)
        plt.show()

    out = w.interactive_output(redraw, controls)
    form = w.VBox([w.HBox([controls["kl_weight"], controls["k"], controls["lr"]]),
                   w.HBox([controls["bits"], controls["variant"]]), out])
    form.controls = controls
    display(form)
    return form
