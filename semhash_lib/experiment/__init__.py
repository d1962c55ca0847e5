"""Experiment glue for the notebooks: data for a config, retrieval protocols, grids of training runs.

- :mod:`.data` — :class:`ExperimentData` and :func:`prepare_data` (images or cached frozen features,
  labels, class similarity or caption embeddings), subsets, the validation and zero-shot splits;
- :mod:`.protocols` — :data:`PROTOCOLS`, :func:`protocol_indices`, :func:`evaluate` (:data:`METRIC_COLUMNS`);
- :mod:`.grid` — :func:`run_grid` (methods x bits x seeds x protocols, resumable CSV), :func:`config_key`;
- :mod:`.single` — one run from a config file (``semhash train``): :func:`load_run_config`, :func:`train_and_evaluate`.

Every name is importable from here: ``from semhash_lib import experiment; experiment.prepare_data(cfg)``.
"""

from .data import (ExperimentData, available_dataset, class_similarity_matrix, prepare_data, stratified_subset,
                   validation_data, validation_split, zero_shot_split)
from .grid import config_key, evaluate_run, run_grid
from .single import load_run_config, train_and_evaluate
from .protocols import METRIC_COLUMNS, PROTOCOLS, evaluate, protocol_indices

__all__ = ["ExperimentData", "prepare_data", "validation_split", "validation_data", "available_dataset",
           "class_similarity_matrix", "stratified_subset", "zero_shot_split", "PROTOCOLS", "protocol_indices",
           "evaluate", "run_grid", "evaluate_run", "config_key", "METRIC_COLUMNS",
           "load_run_config", "train_and_evaluate"]
