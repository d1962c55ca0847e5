"""The paper's figures: one small module per kind of plot.

- :mod:`.style` — ``save_figure`` (PNG + SVG, atomic) and the shared look: one fixed colour (Okabe & Ito's
  colour-blind-safe palette), line style and marker per method, legends outside the data, no empty panels.
- :mod:`.codes` — histograms of the pre-sign outputs (binarization, paper §3 / fix ii), bit correlations.
- :mod:`.curves` — precision@k and hierarchical-precision@k curves (paper's fix iii).
- :mod:`.retrieval` — query / nearest-neighbour image grids, thumbnails.
- :mod:`.targets` — similarity heatmaps in tree order, the class tree, scatter / histograms of similarities.
- :mod:`.toy` — the free-output toys of notebook 00 (KL geometry in 2-d / 3-d, training panels and GIF,
  many-bits histograms, code vs target distance, the trivial solution) and ``toy_controls`` (live widgets).
- :mod:`.tables` — figures of results tables (:mod:`semhash_lib.results`, the layer below: metric by code
  length per protocol or group, bars for one code length, ``plot_metric`` choosing between them, mAP vs mAHP);
  :mod:`.ablation` — the KL ablation's paired differences with their intervals (import it as
  ``semhash_lib.plotting.ablation``).
"""

from .codes import plot_bit_correlations, plot_code_histograms
from .curves import plot_curves, plot_precision_curves
from .retrieval import plot_caption_retrieval, plot_class_retrieval, plot_retrieval_grid, thumbnail
from .style import method_color, save_figure
from .tables import (plot_map_vs_mahp, plot_metric, plot_metric_bars, plot_metric_by_bits,
                     plot_metric_by_bits_per_group, plot_metrics_by_bits)
from .toy import (plot_code_vs_target, plot_kl_geometry, plot_many_bits, plot_trajectory_panels,
                  plot_trivial_solution, save_trajectory_gif, toy_controls)
from .targets import (plot_caption_similarity, plot_class_tree, plot_hierarchy_comparison, plot_similarity_heatmap,
                      plot_similarity_heatmaps, plot_similarity_histograms, plot_similarity_scatter,
                      plot_similarity_scatters, tree_order)

__all__ = ["save_figure", "method_color", "tree_order", "plot_similarity_heatmap", "plot_class_tree",
           "plot_similarity_scatter", "plot_similarity_histograms", "plot_similarity_heatmaps",
           "plot_similarity_scatters", "plot_hierarchy_comparison", "plot_caption_similarity",
           "plot_code_histograms", "plot_bit_correlations", "plot_curves", "plot_precision_curves",
           "plot_retrieval_grid", "plot_class_retrieval", "plot_caption_retrieval", "thumbnail",
           "plot_kl_geometry", "plot_trajectory_panels", "save_trajectory_gif", "plot_many_bits",
           "plot_code_vs_target", "plot_trivial_solution", "toy_controls", "plot_metric", "plot_metric_by_bits", "plot_metric_bars",
           "plot_metrics_by_bits", "plot_metric_by_bits_per_group", "plot_map_vs_mahp"]
