"""The data of one experiment: :class:`ExperimentData` for a :class:`~semhash_lib.train.TrainConfig`.

- :func:`prepare_data` — images or cached frozen features, labels, class names, the class-similarity
  matrix of the chosen source (:func:`class_similarity_matrix`: WordNet, Barz & Denzler's tree,
  class-gloss sentence embeddings) or, for caption data, per-image sentence embeddings;
- :func:`stratified_subset` — the class-stratified subsets of ``train_subset`` / ``test_subset``;
- :func:`validation_split` / :func:`validation_data` — the tuning view: the training split cut into
  ``fit`` and ``val`` (the test split unseen);
- :func:`zero_shot_split` — seen / unseen classes for the zero-shot experiment;
- :func:`available_dataset` — CIFAR-100 when its files are found, else Fashion-MNIST;
- ImageNet folders (``dataset="imagenet"``: ``<root>/train/<wnid>/``, ``<root>/val/<wnid>/``, WordNet or Barz &
  Denzler tree targets) and downloaded Conceptual Captions (``dataset="conceptual-captions"``:
  ``<root>/train/`` and ``<root>/val/`` img2dataset folders, caption-embedding targets), decoded from their
  files in batches and cached as frozen features (:func:`_file_features`).

Subsets, the zero-shot split and the caption targets are reconstructions (``docs/reconstruction.md``;
``docs/paper.md`` §6: the paper's subsets and held-out classes are unknown).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ..train import TrainConfig

__all__ = ["ExperimentData", "prepare_data", "validation_split", "validation_data", "available_dataset",
           "class_similarity_matrix", "stratified_subset", "zero_shot_split"]

CAPTION_DATASETS = ("coco-mini", "coco")
IMAGENET = "imagenet"
CONCEPTUAL_CAPTIONS = "conceptual-captions"
FILE_FEATURE_CHUNK = 2048   # images per cached part while file features are computed (an interrupted run resumes)
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
    ``dataset="imagenet"``: ``class_names`` are the wnids; ``"wordnet"`` builds the tree over exactly them,
    ``"barz"`` is Barz & Denzler's ImageNet tree cut to their ancestors (:func:`_imagenet_similarity`).
    """
    from .. import targets

    C = len(class_names)
    if source == "identity":
        return np.eye(C)
    if dataset == IMAGENET:
        return _imagenet_similarity(list(class_names), source, measure)
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
    """``preferred`` when its files are found locally (no download attempted), else ``fallback`` (the quick
    profile runs on CIFAR-100 when it is found, else on Fashion-MNIST). A warning names the switch."""
    import warnings

    from ..data import canonical_name, find_cifar100, find_fashion_mnist
    from ..paths import DataNotFoundError

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
    whole split), else extracted for the subset alone (cached under its own key). With
    ``config.feature_stage``: the float16 activations after that EfficientNet-Lite0 stage, cached the same way."""
    from ..features import extract_features, features_from_images

    whole = len(index) == len(images)
    full = extract_features(name, split, config.feature_extractor, config.feature_resolution, progress=progress,
                            cached_only=not whole, stage=config.feature_stage)
    if full is not None:
        return full if whole else full[index]
    return features_from_images(images[index], config.feature_extractor, config.feature_resolution,
                                progress=progress, cache_name=f"{name}-{split}-n{len(index)}",
                                stage=config.feature_stage)


def prepare_data(config: TrainConfig | dict, root: str | os.PathLike | None = None,
                 progress: bool = True, classes: str | Sequence[str] | None = None) -> ExperimentData:
    """Load ``config.dataset`` (subsets per ``train_subset``/``test_subset``, class-stratified, seed 0) as
    images or cached frozen features (``config.input``), with the class similarity of
    ``config.similarity``/``similarity_measure``. Caption data (``"coco-mini"``): COCO ``train2017`` images
    train, ``val2017`` images test; each image's target embedding is the normalised mean of its captions'
    sentence embeddings (:func:`semhash_lib.targets.embed_texts`; reconstruction: Conceptual Captions has
    one caption per image). ``"imagenet"`` (:func:`_prepare_imagenet`; ``classes``: ``None``, ``"imagenet100"``
    or a list of wnids) and ``"conceptual-captions"`` (:func:`_prepare_conceptual_captions`) read the folder
    ``root`` (``None``: searched on the data path)."""
    from ..data import canonical_name, dataset_stats, load_arrays

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if config.dataset.lower() in CAPTION_DATASETS:
        return _prepare_captions(config, root, progress)
    if config.dataset.lower() == IMAGENET:
        return _prepare_imagenet(config, root, progress, classes)
    if config.dataset.lower() == CONCEPTUAL_CAPTIONS:
        return _prepare_conceptual_captions(config, root, progress)
    if classes is not None:
        raise ValueError(f"classes= selects ImageNet classes; dataset {config.dataset!r} does not take it")
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
              "feature_resolution": config.feature_resolution if config.input == "features" else None,
              **({"feature_stage": config.feature_stage} if config.feature_stage is not None else {})})


def _prepare_captions(config: TrainConfig, root, progress: bool) -> ExperimentData:
    from ..data import CocoCaptions, dataset_stats
    from ..data.images import load_image
    from ..features import features_from_images
    from ..targets import embed_texts

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


def _file_features(paths: Sequence, config: TrainConfig, name: str, progress: bool = True,
                   chunk: int = FILE_FEATURE_CHUNK) -> np.ndarray:
    """Frozen ``config.feature_extractor`` features (N, D) of image files, for collections too large to hold
    as pixels (ImageNet, Conceptual Captions).

    Each file is decoded straight to ``feature_resolution`` by :func:`semhash_lib.data.load_image_resized`
    (shorter side to ``resolution / 0.875``, centre crop: the ImageNet evaluation transform) in parallel
    worker processes, ``chunk`` images at a time, and passed through
    :func:`semhash_lib.features.features_from_images`. The result is cached as
    ``<cache>/features/<name>-<backbone>-<res>px-<key>.npz``, ``key`` hashing the backbone, its weights file,
    the resolution, the crop and every file's path, size and modification time; while it is computed each
    chunk is cached as a part file, so an interrupted run resumes at the first missing chunk (the parts are
    removed once the whole file is written)."""
    from ..data.images import CENTER_CROP, decode_images
    from ..features import FEATURE_VERSION, feature_cache_path, features_from_images, weights_id
    from ..io import atomic_save_npz, cache_key, load_npz

    backbone, res = config.feature_extractor, config.feature_resolution
    stats = []
    for p in paths:
        st = os.stat(p)
        stats.append((str(p), st.st_size, st.st_mtime_ns))
    key = cache_key("file-features", FEATURE_VERSION, backbone, weights_id(backbone), res, CENTER_CROP, stats)
    path = feature_cache_path(name, backbone, res, key)
    if (hit := load_npz(path, ("features",))) is not None:
        return hit["features"]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(paths), desc=f"{name}: {backbone} features @{res}px", unit="img", leave=False)
    parts, part_paths = [], []
    for start in range(0, len(paths), chunk):
        part = path.with_name(f"{path.stem}-part{start // chunk:05d}.npz")
        hit = load_npz(part, ("features",)) if len(paths) > chunk else None
        if hit is None:
            pixels = decode_images(list(paths[start:start + chunk]), res)
            hit = {"features": features_from_images(pixels, backbone, res, progress=False)}
            if len(paths) > chunk:
                atomic_save_npz(part, **hit)
        parts.append(hit["features"])
        part_paths.append(part)
        if bar is not None:
            bar.update(min(chunk, len(paths) - start))
    if bar is not None:
        bar.close()
    out = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    atomic_save_npz(path, features=out)
    for part in part_paths:
        part.unlink(missing_ok=True)
    return out


def _imagenet_similarity(wnids: list[str], source: str, measure: str) -> np.ndarray:
    """C x C similarity of ImageNet classes given by wnids: ``"wordnet"`` — the WordNet tree over exactly these
    classes (:func:`semhash_lib.targets.wordnet_similarity`, so heights depend on the subset, as for CIFAR-100);
    ``"barz"`` — Barz & Denzler's ImageNet tree (:func:`semhash_lib.data.read_imagenet_tree`) cut to the
    classes' ancestors, with ``measure`` on it (:meth:`semhash_lib.targets.ClassHierarchy.similarity_matrix`);
    ``"identity"``. A wnid that WordNet or the tree lacks is a one-line ``ValueError``."""
    from .. import targets
    from ..data import read_imagenet_tree

    if source == "wordnet":
        from ..resources import wordnet

        import warnings

        wn = wordnet()
        for w in wnids:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")       # nltk warns and returns None for an unknown offset
                try:
                    found = wn.synset_from_pos_and_offset("n", int(w[1:]))
                except Exception:
                    found = None
            if found is None:
                raise ValueError(f"class folder {w} is not a WordNet 3.0 noun synset (ImageNet wnids are); "
                                 "remove it or rename it to its wnid")
        return np.asarray(targets.wordnet_similarity(wnids, measure=measure)[1], dtype=np.float64)
    if source == "barz":
        tree = read_imagenet_tree()
        missing = [w for w in wnids if w not in tree]
        if missing:
            raise ValueError(f"Barz & Denzler's ImageNet tree lacks the classes {missing[:5]} (it covers the 1,000 "
                             "ILSVRC-2012 classes); use similarity 'wordnet' for others")
        parent: dict[str, str] = {}
        for w in wnids:
            while w in tree and w not in parent:
                parent[w] = tree[w]
                w = tree[w]
        return targets.ClassHierarchy(parent, wnids).similarity_matrix(measure)
    raise ValueError(f"similarity for ImageNet must be 'wordnet', 'barz' or 'identity', got {source!r} "
                     "(sentence similarity needs curated class texts, which exist for CIFAR-100 only)")


def _file_pixels(paths: Sequence, config: TrainConfig, progress: bool, desc: str) -> torch.Tensor:
    """``uint8 (N, 3, r, r)`` of image files for end-to-end training, ``r = config.resolution`` (224 when
    ``None``), decoded as in :func:`_file_features`; needs ``N * 3 * r**2`` bytes of memory."""
    from ..data import decode_images

    return decode_images(list(paths), config.resolution or 224, progress=progress, desc=desc)


def _prepare_imagenet(config: TrainConfig, root, progress: bool, classes=None) -> ExperimentData:
    """ImageNet from ``<root>/train/<wnid>/`` and ``<root>/val/<wnid>/`` (:func:`semhash_lib.data.load_imagenet`):
    train = database, val = queries; class-stratified ``train_subset``/``test_subset``; class similarity of
    ``config.similarity`` over the wnids found, computed before the (long) feature pass so that a bad class
    fails at once. ``class_names`` are the wnids; ``images_*`` lazy :class:`semhash_lib.data.ImageFiles`."""
    from ..data import ImageFiles, dataset_stats, load_imagenet

    train, val = load_imagenet(root, classes)
    wnids = list(train.classes)
    S = class_similarity_matrix(IMAGENET, wnids, config.similarity, config.similarity_measure)
    ytr, yte = np.asarray(train.targets, dtype=np.int64), np.asarray(val.targets, dtype=np.int64)
    itr, ite = stratified_subset(ytr, config.train_subset), stratified_subset(yte, config.test_subset)
    ptr, pte = [train.samples[i][0] for i in itr], [val.samples[i][0] for i in ite]
    if config.input == "features":
        xtr = torch.from_numpy(_file_features(ptr, config, "imagenet-train", progress))
        xte = torch.from_numpy(_file_features(pte, config, "imagenet-val", progress))
    else:
        xtr, xte = _file_pixels(ptr, config, progress, "imagenet train"), _file_pixels(pte, config, progress, "imagenet val")
    return ExperimentData(
        dataset=IMAGENET, input=config.input, x_train=xtr, y_train=torch.from_numpy(ytr[itr]), x_test=xte,
        y_test=torch.from_numpy(yte[ite]), class_names=wnids, class_similarity=torch.as_tensor(S, dtype=torch.float32),
        image_stats=dataset_stats("imagenet"), images_train=ImageFiles(ptr), images_test=ImageFiles(pte),
        train_index=itr, test_index=ite,
        meta={"dataset": IMAGENET, "root": str(train.root.parent), "classes": len(wnids),
              "similarity": config.similarity, "measure": config.similarity_measure, "n_train": len(itr),
              "n_test": len(ite), "input": config.input,
              "feature_resolution": config.feature_resolution if config.input == "features" else None})


def _prepare_conceptual_captions(config: TrainConfig, root, progress: bool) -> ExperimentData:
    """Conceptual Captions downloaded by img2dataset (``semhash data conceptual-captions``) into
    ``<root>/train/`` (database, training) and ``<root>/val/`` (queries), read with their own captions
    (:meth:`semhash_lib.data.ConceptualCaptions.from_img2dataset`); ``train_subset``/``test_subset`` take the
    first images by key. Each image's target embedding is its caption's sentence embedding
    (:func:`semhash_lib.targets.embed_texts`, all-MiniLM-L6-v2); no labels (``docs/paper.md`` §6)."""
    from ..data import ConceptualCaptions, ImageFiles, dataset_stats, find_conceptual_captions_download
    from ..targets import embed_texts

    folder = find_conceptual_captions_download(root)
    splits = {}
    for part in ("train", "val"):
        ds = ConceptualCaptions.from_img2dataset(folder / part)
        n = config.train_subset if part == "train" else config.test_subset
        rows = np.arange(len(ds))[:n] if n else np.arange(len(ds))
        paths, caps = [ds.paths[i] for i in rows], [ds.captions[i] for i in rows]
        if config.input == "features":
            x = torch.from_numpy(_file_features(paths, config, f"conceptual-captions-{part}", progress))
        else:
            x = _file_pixels(paths, config, progress, f"conceptual captions {part}")
        splits[part] = (x, torch.from_numpy(embed_texts(caps)), paths, ds.indices[rows], caps, ds.num_missing)
    (xtr, etr, ptr, ktr, ctr, mtr), (xte, ete, pte, kte, cte, mte) = splits["train"], splits["val"]
    return ExperimentData(
        dataset=CONCEPTUAL_CAPTIONS, input=config.input, x_train=xtr, y_train=None, x_test=xte, y_test=None,
        class_names=[], class_similarity=None, train_embeddings=etr, test_embeddings=ete,
        image_stats=dataset_stats("imagenet"), images_train=ImageFiles(ptr), images_test=ImageFiles(pte),
        train_index=ktr, test_index=kte,
        meta={"dataset": CONCEPTUAL_CAPTIONS, "root": str(folder), "similarity": "sentence", "n_train": len(ktr),
              "n_test": len(kte), "not_downloaded": {"train": mtr, "val": mte},
              "captions_train": [[c] for c in ctr], "captions_test": [[c] for c in cte], "input": config.input})


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
        from ..data import canonical_name, load_arrays

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
