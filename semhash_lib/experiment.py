"""Experiment glue for the notebooks: data for a config, grids of training runs, evaluation tables (issues 6-7).

- :func:`prepare_data` — an :class:`ExperimentData` for a :class:`~semhash_lib.train.TrainConfig`: images or
  cached frozen features, labels, class names, the class-similarity matrix of the chosen source
  (WordNet, Barz & Denzler's tree, class-gloss sentence embeddings) or, for caption data, per-image
  sentence embeddings.
- :func:`zero_shot_split` — seen / unseen classes for the zero-shot experiment.
- :func:`evaluate` — one retrieval protocol: mAP@1000, mAP@all, mAHP@250 on ``sign(h)``, the same metrics
  on the continuous ``h`` (and the drop), code statistics.
- :func:`run_grid` — methods x bit lengths x seeds x protocols, one row each, appended atomically to a
  CSV so an interrupted grid resumes where it stopped.

Retrieval protocols (``../shared/paper.md`` §5.1: the paper's own split is unrecovered):

- ``"train_db"``: queries = test split, database = train split (the usual deep-hashing protocol);
- ``"test_vs_test"``: every test image queries all other test images (Barz & Denzler's mAHP protocol);
- ``"zs_unseen"``: zero-shot, queries = test images of unseen classes, database = train images of unseen
  classes only;
- ``"zs_mixed"``: zero-shot, the same queries against the whole train split (seen-class images too).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from .io import atomic_write, cache_key
from .train import RESUME_FREE_FIELDS, TrainConfig, encode, train

__all__ = ["ExperimentData", "prepare_data", "validation_split", "validation_data", "available_dataset", "class_similarity_matrix", "stratified_subset",
           "zero_shot_split", "PROTOCOLS", "protocol_indices", "evaluate", "run_grid", "config_key",
           "METRIC_COLUMNS"]

PROTOCOLS = ("train_db", "test_vs_test", "zs_unseen", "zs_mixed")
METRIC_COLUMNS = ("map@1000", "map@all", "mahp@250", "cont_map@1000", "cont_mahp@250", "drop_map@1000",
                  "drop_mahp@250", "near_zero", "quant_error", "bit_balance", "code_entropy")
CAPTION_DATASETS = ("coco-mini", "coco")
SUBSET_SEED = 0  # data subsets do not depend on the training seed: every seed sees the same images


@dataclass
class ExperimentData:
    """The arrays one experiment trains and evaluates on.

    ``x_train``/``x_test``: uint8 images (N, C, H, W) (``input="images"``) or float32 features (N, D)
    (``input="features"``); ``y_train``/``y_test``: int64 class ids (N,) or ``None`` (caption data);
    ``class_names``; ``class_similarity``: float32 (C, C) in [0, 1] (``None`` for caption data);
    ``train_embeddings``/``test_embeddings``: float32 per-sample target embeddings (caption data) or
    ``None``; ``image_stats``: (mean, std) of the raw images in [0, 1] units; ``images_train``/
    ``images_test``: the raw images behind the rows (for figures), ``train_index``/``test_index``: the rows'
    positions in the full splits; ``meta``: provenance (dataset, similarity source, sizes).
    """

    dataset: str
    input: str
    x_train: torch.Tensor
    y_train: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor | None
    class_names: list[str]
    class_similarity: torch.Tensor | None
    train_embeddings: torch.Tensor | None = None
    test_embeddings: torch.Tensor | None = None
    image_stats: tuple = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    images_train: Any = None
    images_test: Any = None
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for caption data)."""
        return len(self.class_names)

    @property
    def feature_dim(self) -> int:
        """Input dimension of feature data (``x_train.shape[1]``)."""
        return int(self.x_train.shape[1])


# ---------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------

def stratified_subset(labels: np.ndarray | torch.Tensor, n: int | None, seed: int = SUBSET_SEED) -> np.ndarray:
    """Indices (sorted) of a class-stratified random subset of size ``n`` (all indices when ``n`` is None
    or >= N): items are ranked within their class in a seeded random order and taken rank by rank, so
    every class gets ``floor(n / C)`` or one more item (as far as it has them)."""
    labels = np.asarray(labels)
    N = len(labels)
    if n is None or n >= N:
        return np.arange(N)
    if n <= 0:
        raise ValueError(f"subset size must be positive, got {n}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(N)
    lab = labels[perm]
    order = np.argsort(lab, kind="stable")                 # grouped by class, random within
    sorted_lab = lab[order]
    starts = np.searchsorted(sorted_lab, sorted_lab, side="left")
    rank = np.empty(N, dtype=np.int64)
    rank[order] = np.arange(N) - starts                    # position within its class
    pick = np.lexsort((rng.random(N), rank))[:n]           # by rank, classes shuffled within a rank
    return np.sort(perm[pick])


def validation_split(labels: np.ndarray | torch.Tensor, n_val: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, val)``: sorted int64 indices into the *training* split, disjoint, together all of it; ``val``
    is a class-stratified random subset of ``n_val`` items (:func:`stratified_subset` with ``seed``).

    Tuning (``semhash tune``) trains on ``fit`` and evaluates ``val`` queries against ``fit`` as the
    database; the test split is never seen until the final tables."""
    labels = np.asarray(labels)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or not 0 < n_val < len(labels):
        raise ValueError(f"n_val must be an int in 1..{len(labels) - 1} (the training split has {len(labels)} "
                         f"items), got {n_val!r}")
    val = stratified_subset(labels, int(n_val), seed=seed).astype(np.int64)
    fit = np.setdiff1d(np.arange(len(labels), dtype=np.int64), val)
    return fit, val


def validation_data(data: "ExperimentData", n_val: int, seed: int = 0) -> "ExperimentData":
    """The tuning view of ``data``: its training split cut by :func:`validation_split` into a new training
    split (``fit``) and a new test split (``val``); ``meta["validation"]`` records the split. The test split
    of ``data`` is not part of the result."""
    if data.y_train is None:
        raise ValueError("validation_data needs class labels (stratification); caption data has none")
    fit, val = validation_split(data.y_train.numpy(), n_val, seed)

    def rows(x, idx):
        return None if x is None else x[torch.from_numpy(idx)] if isinstance(x, torch.Tensor) else x[idx]

    base_index = data.train_index if data.train_index is not None else np.arange(len(data.y_train))
    return ExperimentData(
        dataset=data.dataset, input=data.input, x_train=rows(data.x_train, fit), y_train=rows(data.y_train, fit),
        x_test=rows(data.x_train, val), y_test=rows(data.y_train, val), class_names=list(data.class_names),
        class_similarity=data.class_similarity, train_embeddings=rows(data.train_embeddings, fit),
        test_embeddings=rows(data.train_embeddings, val), image_stats=data.image_stats,
        images_train=rows(data.images_train, fit), images_test=rows(data.images_train, val),
        train_index=base_index[fit], test_index=base_index[val],
        meta={**data.meta, "validation": {"n_fit": len(fit), "n_val": len(val), "seed": seed},
              "n_train": len(fit), "n_test": len(val)})


def class_similarity_matrix(dataset: str, class_names: Sequence[str], source: str = "wordnet",
                            measure: str = "lca_height") -> np.ndarray:
    """C x C class similarity S in [0, 1] (diag 1) for the target distances T = 1 - S and for mAHP.

    ``source``: ``"wordnet"`` (WordNet hierarchy over the curated class synsets, ``measure`` in
    ``"lca_height"``/``"wup"``/``"path"``), ``"barz"`` (Barz & Denzler's CIFAR-100 tree, same measures),
    ``"sentence"`` (sentence-embedding similarity (1 + cos) / 2 of class descriptions: ``measure="gloss"``
    ``"<name>: <WordNet definition>"`` or ``"prompt"`` ``"a photo of a <name>"``; reconstruction, the paper
    does not say which text), ``"identity"`` (0/1 same class). Rows follow ``class_names``.
    """
    from . import targets

    C = len(class_names)
    if source == "identity":
        return np.eye(C)
    if source in ("wordnet", "barz"):
        names, S = targets.wordnet_similarity(dataset, measure=measure, hierarchy=source)
    elif source == "sentence":
        names = [e.class_name for e in targets.synset_map(dataset)]
        S = targets.sentence_similarity(targets.class_texts(dataset, source=measure))
    else:
        raise ValueError(f"similarity source must be 'wordnet', 'barz', 'sentence' or 'identity', got {source!r}")
    S = np.asarray(S, dtype=np.float64)
    if list(names) != list(class_names):
        pos = {n: i for i, n in enumerate(names)}
        missing = [n for n in class_names if n not in pos]
        if missing:
            raise ValueError(f"the {source} similarity lacks the classes {missing[:5]} of {dataset!r}")
        idx = np.array([pos[n] for n in class_names])
        S = S[np.ix_(idx, idx)]
    return S


def available_dataset(preferred: str = "cifar100", fallback: str = "fashion-mnist",
                      root: str | os.PathLike | None = None) -> str:
    """``preferred`` when its files are found locally (no download attempted), else ``fallback`` (issue 6:
    the quick profile runs on CIFAR-100 when it is found, else on Fashion-MNIST). A warning names the switch."""
    import warnings

    from .data import canonical_name, find_cifar100, find_fashion_mnist
    from .paths import DataNotFoundError

    finders = {"cifar100": find_cifar100, "fashion-mnist": find_fashion_mnist}
    name = canonical_name(preferred)
    try:
        finders[name](root, download=False)
        return name
    except DataNotFoundError as e:
        warnings.warn(f"{preferred} not found locally ({str(e).splitlines()[0]}); using {fallback} instead",
                      stacklevel=2)
        return canonical_name(fallback)


def _features_for(name: str, split: str, images: np.ndarray, index: np.ndarray, config: TrainConfig,
                  progress: bool) -> np.ndarray:
    """Features of ``images[index]``: rows of the whole split's cache when it exists (or ``index`` is the
    whole split), else extracted for the subset alone (cached under its own key)."""
    from .features import extract_features, features_from_images

    whole = len(index) == len(images)
    full = extract_features(name, split, config.feature_extractor, config.feature_resolution, progress=progress,
                            cached_only=not whole)
    if full is not None:
        return full if whole else full[index]
    return features_from_images(images[index], config.feature_extractor, config.feature_resolution,
                                progress=progress, cache_name=f"{name}-{split}-n{len(index)}")


def prepare_data(config: TrainConfig | dict, root: str | os.PathLike | None = None,
                 progress: bool = True) -> ExperimentData:
    """Load ``config.dataset`` (subsets per ``train_subset``/``test_subset``, class-stratified, seed 0) as
    images or cached frozen features (``config.input``), with the class similarity of
    ``config.similarity``/``similarity_measure``. Caption data (``"coco-mini"``): COCO ``train2017`` images
    train, ``val2017`` images test; each image's target embedding is the normalised mean of its captions'
    sentence embeddings (:func:`semhash_lib.targets.embed_texts`; reconstruction: Conceptual Captions has
    one caption per image)."""
    from .data import canonical_name, dataset_stats, load_arrays

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if config.dataset.lower() in CAPTION_DATASETS:
        return _prepare_captions(config, root, progress)
    name = canonical_name(config.dataset)
    Xtr, ytr, class_names = load_arrays(name, "train", root=root)
    Xte, yte, _ = load_arrays(name, "test", root=root)
    itr = stratified_subset(ytr, config.train_subset)
    ite = stratified_subset(yte, config.test_subset)
    if config.input == "features":
        xtr = torch.from_numpy(_features_for(name, "train", Xtr, itr, config, progress))
        xte = torch.from_numpy(_features_for(name, "test", Xte, ite, config, progress))
    else:
        xtr, xte = torch.from_numpy(Xtr[itr]), torch.from_numpy(Xte[ite])
    S = class_similarity_matrix(name, class_names, config.similarity, config.similarity_measure)
    return ExperimentData(
        dataset=name, input=config.input, x_train=xtr, y_train=torch.from_numpy(ytr[itr]).long(), x_test=xte,
        y_test=torch.from_numpy(yte[ite]).long(), class_names=list(class_names),
        class_similarity=torch.as_tensor(S, dtype=torch.float32), image_stats=dataset_stats(name),
        images_train=Xtr[itr], images_test=Xte[ite], train_index=itr, test_index=ite,
        meta={"dataset": name, "similarity": config.similarity, "measure": config.similarity_measure,
              "n_train": len(itr), "n_test": len(ite), "input": config.input,
              "feature_resolution": config.feature_resolution if config.input == "features" else None})


def _prepare_captions(config: TrainConfig, root, progress: bool) -> ExperimentData:
    from .data import CocoCaptions, dataset_stats
    from .data.images import load_image
    from .features import features_from_images
    from .targets import embed_texts

    splits = {}
    for part, split in (("train", "train2017"), ("test", "val2017")):
        ds = CocoCaptions(root, split)
        n = config.train_subset if part == "train" else config.test_subset
        index = np.arange(len(ds))[:n] if n else np.arange(len(ds))
        images = [load_image(ds.paths[i]) for i in index]
        caps = [ds.captions[i] for i in index]
        if config.input == "features":
            x = torch.from_numpy(features_from_images(images, config.feature_extractor, config.feature_resolution,
                                                      progress=progress, cache_name=f"coco-{split}"))
        else:
            res = config.resolution or 64
            x = torch.cat([torch.nn.functional.interpolate(im[None].float(), size=(res, res), mode="bilinear",
                                                           align_corners=False).round().clamp(0, 255).byte()
                           for im in images])
        splits[part] = (x, torch.from_numpy(embed_texts(caps)), images, index, caps)
    (xtr, etr, imtr, itr, ctr), (xte, ete, imte, ite, cte) = splits["train"], splits["test"]
    return ExperimentData(
        dataset="coco-mini", input=config.input, x_train=xtr, y_train=None, x_test=xte, y_test=None,
        class_names=[], class_similarity=None, train_embeddings=etr, test_embeddings=ete,
        image_stats=dataset_stats("imagenet"), images_train=imtr, images_test=imte, train_index=itr,
        test_index=ite, meta={"dataset": "coco-mini", "similarity": "sentence", "n_train": len(itr),
                              "n_test": len(ite), "captions_train": ctr, "captions_test": cte,
                              "input": config.input})


def zero_shot_split(dataset: str, num_classes: int, n_unseen: int = 20, strategy: str = "per_superclass",
                    seed: int = 0, root: str | os.PathLike | None = None) -> tuple[list[int], list[int]]:
    """``(seen, unseen)`` sorted class ids for the zero-shot experiment (reconstruction: the paper's split
    is unrecovered).

    ``"per_superclass"`` (CIFAR-100 only, ``n_unseen`` = 20): one fine class of each of the 20
    superclasses is held out, drawn with ``seed``, so every unseen class has seen siblings whose
    similarity the codes can transfer; ``"random"``: ``n_unseen`` classes drawn uniformly with ``seed``.
    """
    if not 0 < n_unseen < num_classes - 1:
        raise ValueError(f"n_unseen must be in 1..{num_classes - 2}, got {n_unseen}")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        unseen = np.sort(rng.choice(num_classes, n_unseen, replace=False))
    elif strategy == "per_superclass":
        from .data import canonical_name, load_arrays

        if canonical_name(dataset) != "cifar100" or n_unseen != 20:
            raise ValueError("strategy='per_superclass' needs dataset 'cifar100' and n_unseen=20; "
                             "use strategy='random' otherwise")
        _, fine, _ = load_arrays("cifar100", "test", root=root)
        _, coarse, _ = load_arrays("cifar100", "test", root=root, coarse=True)
        parent = np.zeros(100, dtype=np.int64)
        parent[fine] = coarse                                      # fine class -> superclass
        keys = rng.random(100)
        unseen = np.sort([int(np.flatnonzero(parent == c)[np.argmin(keys[parent == c])]) for c in range(20)])
    else:
        raise ValueError(f"strategy must be 'per_superclass' or 'random', got {strategy!r}")
    seen = np.setdiff1d(np.arange(num_classes), unseen)
    return seen.tolist(), [int(u) for u in unseen]


# ---------------------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------------------

def protocol_indices(protocol: str, data: ExperimentData, train_classes: Sequence[int] | None = None
                     ) -> tuple[str, np.ndarray, str, np.ndarray, bool]:
    """``(query_split, query_rows, db_split, db_rows, exclude_self)`` of a retrieval protocol (module doc)."""
    n_tr, n_te = len(data.x_train), len(data.x_test)
    if protocol == "train_db":
        return "test", np.arange(n_te), "train", np.arange(n_tr), False
    if protocol == "test_vs_test":
        return "test", np.arange(n_te), "test", np.arange(n_te), True
    if protocol in ("zs_unseen", "zs_mixed"):
        if train_classes is None or data.y_train is None:
            raise ValueError(f"protocol {protocol!r} needs labelled data and config.train_classes (the seen classes)")
        seen = np.asarray(train_classes)
        q = np.flatnonzero(~np.isin(data.y_test.numpy(), seen))
        db = np.flatnonzero(~np.isin(data.y_train.numpy(), seen)) if protocol == "zs_unseen" else np.arange(n_tr)
        if len(q) == 0 or len(db) == 0:
            raise ValueError(f"protocol {protocol!r}: no unseen-class images (train_classes covers every class)")
        return "test", q, "train", db, False
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}")


def evaluate(h_query: np.ndarray, h_db: np.ndarray, data: ExperimentData, q_rows: np.ndarray, q_split: str,
             db_rows: np.ndarray, db_split: str, exclude_self: bool = False, continuous_rank: str = "euclidean",
             k_map: int = 1000, k_mahp: int = 250, class_similarity: Any = None) -> dict:
    """Retrieval metrics of one protocol: ``map@1000``, ``map@all``, ``mahp@250`` on ``sign(h)`` (Hamming
    ranking, ties by database index), ``cont_*`` the same metrics ranking by ``continuous_rank`` distance on
    ``h`` itself, ``drop_*`` = continuous - binary (the information lost by rounding, paper §5.3), and code
    statistics of the query outputs (``near_zero`` = share of |h| < 0.1, ``quant_error`` =
    mean (h - sign h)^2, ``bit_balance``, ``code_entropy``). mAHP uses ``class_similarity`` (C x C) when
    given, else the data's own (the training targets). Caption data (no labels): mAP is NaN and mAHP uses the
    per-pair sentence similarity (1 + cos) / 2 of the target embeddings. ``k`` is capped at the database size."""
    from . import metrics
    from .codes import code_statistics

    out: dict[str, float] = {}
    labels = data.y_train is not None
    if labels:
        ql = (data.y_test if q_split == "test" else data.y_train).numpy()[q_rows]
        dbl = (data.y_test if db_split == "test" else data.y_train).numpy()[db_rows]
        S = data.class_similarity if class_similarity is None else class_similarity
        hier = dict(class_similarity=np.asarray(S, dtype=np.float64))
    else:
        from .targets import cosine_to_similarity

        qe = (data.test_embeddings if q_split == "test" else data.train_embeddings)[q_rows]
        de = (data.test_embeddings if db_split == "test" else data.train_embeddings)[db_rows]
        pair = cosine_to_similarity((qe @ de.T).clamp(-1.0, 1.0)).double().numpy()
        ql = dbl = None
        hier = dict(pair_similarity=pair)
    k_map_eff = min(k_map, len(db_rows) - int(exclude_self))
    k_hp_eff = min(k_mahp, len(db_rows) - int(exclude_self))
    for prefix, rank in (("", "hamming"), ("cont_", continuous_rank)):
        if labels:
            out[f"{prefix}map@{k_map}"] = metrics.mean_average_precision(
                h_query, h_db, ql, dbl, k=k_map_eff, exclude_self=exclude_self, rank=rank)
            if prefix == "":
                out["map@all"] = metrics.mean_average_precision(h_query, h_db, ql, dbl, k=None,
                                                                exclude_self=exclude_self, rank=rank)
        else:
            out[f"{prefix}map@{k_map}"] = float("nan")
            if prefix == "":
                out["map@all"] = float("nan")
        out[f"{prefix}mahp@{k_mahp}"] = metrics.mean_average_hierarchical_precision(
            h_query, h_db, ql, dbl, k=k_hp_eff, exclude_self=exclude_self, rank=rank, **hier)
    out[f"drop_map@{k_map}"] = out[f"cont_map@{k_map}"] - out[f"map@{k_map}"]
    out[f"drop_mahp@{k_mahp}"] = out[f"cont_mahp@{k_mahp}"] - out[f"mahp@{k_mahp}"]
    stats = code_statistics(h_query)
    out.update(near_zero=float(stats["near_zero"][0.1]), quant_error=float(stats["quantization_mse"]),
               bit_balance=float(stats["bit_balance"]), code_entropy=float(stats["code_entropy"]))
    return out


def config_key(config: TrainConfig) -> str:
    """Hash of the settings that determine a run's result (not where it is written or run)."""
    return cache_key({k: v for k, v in config.effective().to_dict().items() if k not in RESUME_FREE_FIELDS})


def _read_results(path: Path | None) -> pd.DataFrame:
    if path is None or not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: results file is unreadable ({e}); move it away to start the grid afresh") from e


def _append_rows(path: Path, rows: list[dict]) -> None:
    table = pd.concat([_read_results(path), pd.DataFrame(rows)], ignore_index=True)
    with atomic_write(path, "w") as f:
        table.to_csv(f, index=False)


def run_grid(methods: Sequence[str], bits_list: Sequence[int], seeds: Sequence[int], base_config: TrainConfig | dict,
             data: ExperimentData | None = None, protocols: Sequence[str] = ("train_db", "test_vs_test"),
             results_path: str | os.PathLike | None = None, *, eval_queries: int | None = None,
             continuous_rank: str = "euclidean", eval_similarity: dict[str, Any] | None = None,
             progress: bool = True, extra: dict | None = None) -> pd.DataFrame:
    """Train every (method, bits, seed) with ``base_config`` and evaluate each protocol: one row per
    (method, bits, seed, protocol) with the :func:`evaluate` metrics plus ``train_seconds``,
    ``images_per_s``, ``eval_seconds``, ``n_queries``, ``n_db``, ``epochs`` and ``config_key``.

    Runs are written to ``<base_config.out_dir>/<method>-<bits>b-s<seed>`` (or the default run folder),
    so a finished run is loaded from its checkpoint instead of retrained and an interrupted one resumes.
    With ``results_path`` every run's rows are appended atomically to that CSV as soon as they exist, and
    rows already there (same ``config_key``, protocol and ``eval_similarity``) are not recomputed.
    ``eval_queries``: evaluate on a fixed class-stratified subset of the queries (seed 0) to save time
    (not for ``test_vs_test``, whose queries are its database). ``eval_similarity``: ``{name: C x C matrix}``
    to compute mAHP under other similarities too (e.g. WordNet for a run trained on sentence targets;
    default: the training targets, named after ``config.similarity``), one row each, column
    ``eval_similarity``. ``extra``: constant columns added to every row (e.g. ``{"profile": "quick"}``).
    Returns this grid's rows (old and new), in grid order.
    """
    if isinstance(base_config, dict):
        base_config = TrainConfig.from_dict(base_config)
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; expected one of {list(PROTOCOLS)}")
    if not methods or not bits_list or not seeds:
        raise ValueError("methods, bits_list and seeds must each be non-empty")
    if data is None:
        data = prepare_data(base_config, progress=progress)
    path = Path(results_path) if results_path is not None else None
    sims = eval_similarity or {base_config.similarity: None}
    done = _read_results(path)
    done_keys = set(zip(done["config_key"], done["protocol"], done["eval_similarity"])) if len(done) else set()
    rows_out: list[dict] = []
    for method in methods:
        for bits in bits_list:
            for seed in seeds:
                changes: dict[str, Any] = dict(method=method, bits=int(bits), seed=int(seed))
                if base_config.out_dir:
                    changes["out_dir"] = str(Path(base_config.out_dir) / f"{method}-{int(bits)}b-s{int(seed)}")
                cfg = base_config.replace(**changes)
                key = config_key(cfg)
                todo = [(p, name) for p in protocols for name in sims if (key, p, name) not in done_keys]
                old = done[(done["config_key"] == key) & done["protocol"].isin(protocols)
                           & done["eval_similarity"].isin(list(sims))].to_dict("records") if len(done) else []
                if not todo:
                    rows_out += old
                    continue
                result = train(cfg, data, progress=progress)
                h = {"train": encode(result.model, data.x_train)[0], "test": encode(result.model, data.x_test)[0]}
                new = []
                for protocol, sim_name in todo:
                    q_split, q_rows, db_split, db_rows, excl = protocol_indices(protocol, data, cfg.train_classes)
                    if eval_queries is not None and eval_queries < len(q_rows) and not excl:
                        labels = data.y_test.numpy()[q_rows] if data.y_test is not None else np.zeros(len(q_rows))
                        q_rows = q_rows[stratified_subset(labels, eval_queries)]
                    t0 = time.perf_counter()
                    scores = evaluate(h[q_split][q_rows], h[db_split][db_rows], data, q_rows, q_split, db_rows,
                                      db_split, exclude_self=excl, continuous_rank=continuous_rank,
                                      class_similarity=sims[sim_name])
                    new.append({"config_key": key, "method": method, "bits": int(bits), "seed": int(seed),
                                "protocol": protocol, "eval_similarity": sim_name, "dataset": data.dataset,
                                "input": data.input, "similarity": cfg.similarity, **scores,
                                "train_seconds": result.train_seconds, "images_per_s": result.images_per_s,
                                "eval_seconds": time.perf_counter() - t0, "n_queries": len(q_rows),
                                "n_db": len(db_rows), "epochs": cfg.epochs, **(extra or {})})
                if path is not None:
                    _append_rows(path, new)
                rows_out += old + new
    return pd.DataFrame(rows_out)
