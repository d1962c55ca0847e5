"""The paper's figures: one small module per kind of plot.

- :mod:`.style` — ``save_figure`` (PNG + SVG, atomic) and the shared look.
- :mod:`.codes` — histograms of the pre-sign outputs (binarization, paper §3 / fix ii).
- :mod:`.curves` — precision@k and hierarchical-precision@k curves (paper's fix iii).
- :mod:`.retrieval` — query / nearest-neighbour image grids.
"""

from .style import save_figure

__all__ = ["save_figure"]
