"""The paper's figures: one small module per kind of plot.

- :mod:`.style` — ``save_figure`` (PNG + SVG, atomic) and the shared look.
- :mod:`.codes` — histograms of the pre-sign outputs (binarization, paper §3 / fix ii).
- :mod:`.curves` — precision@k and hierarchical-precision@k curves (paper's fix iii).
- :mod:`.retrieval` — query / nearest-neighbour image grids.
- :mod:`.targets` — similarity heatmaps in tree order, the class tree, scatter / histograms of similarities.
"""

from .style import save_figure
from .targets import (plot_class_tree, plot_similarity_heatmap, plot_similarity_histograms,
                      plot_similarity_scatter, tree_order)

__all__ = ["save_figure", "tree_order", "plot_similarity_heatmap", "plot_class_tree", "plot_similarity_scatter",
           "plot_similarity_histograms"]
