"""The ImageNet path: folders train/<wnid>/ and val/<wnid>/ (here real COCO photos relabelled into real ILSVRC
wnid folders), its errors, its class similarities (WordNet, Barz & Denzler's tree), the decoding transform,
the cached file features and `semhash reproduce --profile imagenet-test --only 03`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from semhash_lib.data import (IMAGENET100_CMC, DataFormatError, DataNotFoundError, imagenet_class_index,
                              load_image_resized, load_imagenet, read_imagenet_tree)

# tench, goldfish (both cyprinids), tabby cat; 4 training and 2 validation photos each
WNIDS = ["n01440764", "n01443537", "n02123045"]


def _build(root: Path, coco: Path, wnids=WNIDS, n_train: int = 4, n_val: int = 2) -> Path:
    train = sorted((coco / "train2017").glob("*.jpg"))
    val = sorted((coco / "val2017").glob("*.jpg"))
    for i, w in enumerate(wnids):
        for split, files, n in (("train", train, n_train), ("val", val, n_val)):
            d = root / split / w
            d.mkdir(parents=True, exist_ok=True)
            for f in files[i * n:(i + 1) * n]:
                shutil.copy(f, d / (f.stem + ".JPEG"))
    return root


@pytest.fixture(scope="module")
def imagenet_folder(tmp_path_factory, coco_mini) -> Path:
    return _build(tmp_path_factory.mktemp("imagenet"), coco_mini)


def test_load_imagenet_labels_follow_the_wnid_folders(imagenet_folder):
    train, val = load_imagenet(imagenet_folder)
    assert train.classes == val.classes == WNIDS
    assert len(train) == 12 and len(val) == 6
    for ds in (train, val):                      # each image's label is the index of the folder it lies in
        assert all(ds.classes[y] == p.parent.name for p, y in ds.samples)
        assert ds.targets == [y for _, y in ds.samples]
    assert train.class_names[:2] == ["tench", "goldfish"]
    sub_train, sub_val = load_imagenet(imagenet_folder, classes=["n02123045", "n01440764"])
    assert sub_train.classes == ["n01440764", "n02123045"] and len(sub_train) == 8 and len(sub_val) == 4
    assert {p.parent.name for p, _ in sub_val.samples} == {"n01440764", "n02123045"}


def test_a_class_without_validation_images_only_adds_to_the_database(tmp_path, coco_mini):
    root = _build(tmp_path, coco_mini, n_val=2)
    shutil.rmtree(root / "val" / WNIDS[1])
    train, val = load_imagenet(root)
    assert train.classes == val.classes == WNIDS and len(val) == 4
    assert sorted(set(val.targets)) == [0, 2]    # labels still index all three classes


@pytest.mark.parametrize("problem, match", [
    ("missing", "does not exist"),
    ("no_val", "lacks val/"),
    ("empty_train", "has no wnid folders"),
    ("flat_val", "images lie directly in it"),
    ("not_wnid", r"\['cats'\] are not ImageNet wnids"),
    ("val_only_class", "no training images"),
])
def test_bad_folders_are_one_line_errors(tmp_path, coco_mini, problem, match):
    root = tmp_path / "imagenet"
    if problem != "missing":
        _build(root, coco_mini)
    if problem == "no_val":
        shutil.rmtree(root / "val")
    elif problem == "empty_train":
        shutil.rmtree(root / "train")
        (root / "train").mkdir()
    elif problem == "flat_val":
        for f in list((root / "val").rglob("*.JPEG")):
            f.rename(root / "val" / f.name)
        for d in (root / "val").iterdir():
            if d.is_dir():
                d.rmdir()
    elif problem == "not_wnid":
        shutil.copytree(root / "train" / WNIDS[0], root / "train" / "cats")
    elif problem == "val_only_class":
        shutil.copytree(root / "val" / WNIDS[0], root / "val" / "n02124075")
    with pytest.raises((DataNotFoundError, DataFormatError), match=match) as info:
        load_imagenet(root)
    assert "\n" not in str(info.value)


def test_requested_classes_must_be_wnids_present(imagenet_folder):
    with pytest.raises(DataNotFoundError, match="99 of the 100 requested classes have no folder"):
        load_imagenet(imagenet_folder, classes="imagenet100")     # of our three only tabby is in the CMC list
    with pytest.raises(ValueError, match="not wnids"):
        load_imagenet(imagenet_folder, classes=["tench"])
    with pytest.raises(ValueError, match="imagenet100"):
        load_imagenet(imagenet_folder, classes="imagenet-42")


def test_imagenet100_cmc_list_is_100_ilsvrc_classes(imagenet_hierarchy):
    index = imagenet_class_index(imagenet_hierarchy / "imagenet_class_index.json")
    assert len(IMAGENET100_CMC) == len(set(IMAGENET100_CMC)) == 100
    assert set(IMAGENET100_CMC) <= set(index)
    assert index["n02869837"][1] == "bonnet" and index["n02123045"][1] == "tabby"   # first entry; one of ours
    assert "n02123045" in IMAGENET100_CMC and "n01440764" not in IMAGENET100_CMC


def _lca_height_reference(parent: dict, classes: list[str]) -> np.ndarray:
    """1 - height(lca) / height(root) on the tree of the classes' ancestors, by walking paths (no vectors)."""
    paths = {}
    for c in classes:
        path, n = [c], c
        while n in parent:
            n = parent[n]
            path.append(n)
        paths[c] = path
    nodes = {n for p in paths.values() for n in p}
    children = {n: [m for m in nodes if parent.get(m) == n] for n in nodes}

    def height(n):
        return 0 if not children[n] else 1 + max(height(m) for m in children[n])

    root = paths[classes[0]][-1]
    S = np.empty((len(classes), len(classes)))
    for i, a in enumerate(classes):
        for j, b in enumerate(classes):
            lca = next(n for n in paths[a] if n in set(paths[b]))
            S[i, j] = 1 - height(lca) / height(root)
    return S


def test_barz_similarity_is_lca_height_on_their_tree(imagenet_hierarchy):
    from semhash_lib.experiment import class_similarity_matrix

    tree = read_imagenet_tree(imagenet_hierarchy)
    assert len(tree) == 1784 and len(set(tree) - set(tree.values())) == 1000   # the 1,000 classes are the leaves
    classes = ["n01440764", "n01443537", "n02123045", "n02124075", "n04254680", "n02869837"]
    S = class_similarity_matrix("imagenet", classes, "barz")
    np.testing.assert_allclose(S, _lca_height_reference(tree, classes))
    assert S[0, 1] > S[0, 2] and S[2, 3] > S[2, 4]   # two fish, two cats closer than fish-cat, cat-ball
    with pytest.raises(ValueError, match="lacks the classes"):
        class_similarity_matrix("imagenet", classes + ["n00001740"], "barz")     # the root, not a class


def test_wordnet_similarity_of_wnids_and_an_unknown_wnid():
    pytest.importorskip("nltk")
    from semhash_lib.experiment import class_similarity_matrix

    S = class_similarity_matrix("imagenet", WNIDS, "wordnet")
    assert S.shape == (3, 3) and np.allclose(np.diag(S), 1) and np.allclose(S, S.T)
    assert S[0, 1] > S[0, 2]                          # tench and goldfish share the cyprinid family
    with pytest.raises(ValueError, match="n09999999 is not a WordNet 3.0 noun synset"):
        class_similarity_matrix("imagenet", WNIDS + ["n09999999"], "wordnet")
    with pytest.raises(ValueError, match="must be 'wordnet', 'barz' or 'identity'"):
        class_similarity_matrix("imagenet", WNIDS, "sentence", "gloss")


def test_load_image_resized_keeps_the_centre(tmp_path):
    from PIL import Image

    rgb = np.zeros((200, 400, 3), dtype=np.uint8)       # H 200, W 400: red | green (middle half) | blue
    rgb[:, :100, 0] = 255
    rgb[:, 100:300, 1] = 255
    rgb[:, 300:, 2] = 255
    Image.fromarray(rgb).save(tmp_path / "x.png")
    x = load_image_resized(tmp_path / "x.png", 32)     # shorter side 200 -> 37, width 74, central 32 columns
    assert x.shape == (3, 32, 32) and x.dtype == torch.uint8
    assert (x[1] == 255).all() and (x[0] == 0).all() and (x[2] == 0).all()
    square = np.zeros((200, 200, 3), dtype=np.uint8)   # red | blue halves: crop=1 keeps the whole square
    square[:, :100, 0] = 255
    square[:, 100:, 2] = 255
    Image.fromarray(square).save(tmp_path / "sq.png")
    whole = load_image_resized(tmp_path / "sq.png", 32, crop=1.0)
    assert whole.shape == (3, 32, 32) and whole[0, :, 0].min() > 200 and whole[2, :, -1].min() > 200
    assert load_image_resized(tmp_path / "sq.png", 32)[0, :, 0].min() > 200   # 37 px, 2-3 px cut per side


def test_file_features_are_the_images_features_cached_and_resumable(imagenet_folder, tmp_path, monkeypatch):
    import semhash_lib.features as features
    from semhash_lib.data import decode_images
    from semhash_lib.experiment import data as edata
    from semhash_lib.train import TrainConfig

    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))
    paths = sorted((imagenet_folder / "train").rglob("*.JPEG"))[:6]
    cfg = TrainConfig(dataset="imagenet", input="features", feature_resolution=32)
    reference = features.features_from_images(decode_images(paths, 32), "efficientnet_lite0", 32, progress=False)
    calls = []
    real = features.features_from_images

    def flaky(images, *a, **kw):
        calls.append(len(images))
        if len(calls) == 2:
            raise KeyboardInterrupt   # interrupted after the first chunk
        return real(images, *a, **kw)

    monkeypatch.setattr(features, "features_from_images", flaky)
    with pytest.raises(KeyboardInterrupt):
        edata._file_features(paths, cfg, "t", progress=False, chunk=4)
    out = edata._file_features(paths, cfg, "t", progress=False, chunk=4)
    assert calls == [4, 2, 2]                          # the second run computed only the missing chunk
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)
    again = edata._file_features(paths, cfg, "t", progress=False, chunk=4)
    assert calls == [4, 2, 2] and np.array_equal(again, out)   # whole-file cache hit
    assert [p.name for p in (tmp_path / "cache" / "features").iterdir() if "part" in p.name] == []


def test_prepare_data_reads_the_folder_before_features(imagenet_folder, tmp_path, monkeypatch):
    from semhash_lib.experiment import prepare_data
    from semhash_lib.train import TrainConfig

    cfg = TrainConfig(dataset="imagenet", input="images", resolution=32, similarity="barz")
    data = prepare_data(cfg, root=imagenet_folder, progress=False)
    assert data.x_train.shape == (12, 3, 32, 32) and data.x_test.shape == (6, 3, 32, 32)
    assert data.class_names == WNIDS and data.y_test.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.images_test[0].shape[0] == 3 and len(data.images_train) == 12
    with pytest.raises(ValueError, match="selects ImageNet classes"):
        prepare_data(TrainConfig(dataset="cifar100"), classes="imagenet100")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        prepare_data(cfg, root=tmp_path / "nowhere")


@pytest.mark.slow
def test_reproduce_imagenet_test_profile_writes_map_and_mahp(imagenet_folder, tmp_path, monkeypatch):
    from semhash_lib.cli import main

    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))
    rc = main(["reproduce", "--profile", "imagenet-test", "--only", "03", "-p", "imagenet_root", str(imagenet_folder),
               "--results-dir", str(tmp_path / "r"), "--figures-dir", str(tmp_path / "f"),
               "--output-dir", str(tmp_path / "nb")])
    assert rc == 0
    table = pd.read_csv(tmp_path / "r" / "hashing_imagenet-test.csv")
    assert set(table["protocol"]) == {"train_db", "test_vs_test"} and set(table["dataset"]) == {"imagenet"}
    row = table.set_index("protocol").loc["train_db"]
    assert (row["n_queries"], row["n_db"]) == (6, 12)
    for col in ("map@1000", "mahp@250"):
        assert table[col].between(0, 1).all(), col
    assert (tmp_path / "f" / "03_metrics_by_bits.png").stat().st_size > 2000


def test_imagenet_profiles_configure_notebook_03(capsys):
    from semhash_lib.cli import main
    from semhash_lib.profiles import load_profile
    from semhash_lib.train import TrainConfig

    for name in ("imagenet", "imagenet-test"):
        prof = load_profile(name)
        assert set(prof["notebooks"]) == {"03_train_hashing"}
        cfg = TrainConfig.from_dict(prof["notebooks"]["03_train_hashing"]["config"])
        assert (cfg.dataset, cfg.input) == ("imagenet", "features")
    assert TrainConfig.from_dict(load_profile("imagenet")["notebooks"]["03_train_hashing"]["config"]).feature_resolution == 224
    e2e = TrainConfig.from_dict(load_profile("imagenet")["end_to_end"])          # the GPU section is a valid config
    assert (e2e.input, e2e.backbone, e2e.resolution) == ("images", "efficientnet_lite0", 224)
    assert main(["reproduce", "--profile", "imagenet", "--only", "03", "-p", "imagenet_root", "/data/in", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert 'imagenet_root = "/data/in"   # -p' in out and '"feature_resolution": 224' in out
