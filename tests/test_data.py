"""Data loaders on the real data in ../shared/data (and Debian's Fashion-MNIST), checked against
published facts (sizes, class order, superclasses, channel statistics) and against independent
readers written here (struct/pickle/json/csv-level parsing)."""

import gzip
import hashlib
import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import semhash_lib.paths as paths_mod
from semhash_lib.data import (ArrayDataset, CocoCaptions, ConceptualCaptions, DataFormatError,
                              DataNotFoundError, ImageFolderDataset, dataset_stats, imagenet_class_index,
                              load_arrays, load_coco_captions, read_idx)
from semhash_lib.data import cifar as cifar_mod
from semhash_lib.data import fashion_mnist as fm_mod

# Published CIFAR-100 superclass table (Krizhevsky 2009, "The CIFAR-100 dataset" web page), a few rows.
SUPERCLASSES = {
    "aquatic_mammals": {"beaver", "dolphin", "otter", "seal", "whale"},
    "trees": {"maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"},
    "vehicles_1": {"bicycle", "bus", "motorcycle", "pickup_truck", "train"},
    "people": {"baby", "boy", "girl", "man", "woman"},
}


# --------------------------------------------------------------------------- CIFAR-100, binary version
@pytest.fixture(scope="module")
def cifar(cifar100_binary):
    out = {}
    for split in ("train", "test"):
        x, fine, fine_names = load_arrays("cifar100", split, root=cifar100_binary, download=False)
        _, coarse, coarse_names = load_arrays("cifar100", split, root=cifar100_binary, coarse=True,
                                              download=False)
        out[split] = dict(x=x, fine=fine, coarse=coarse, fine_names=fine_names, coarse_names=coarse_names)
    return out


def test_cifar100_sizes_dtypes_and_class_balance(cifar):
    for split, n, per_class in (("train", 50_000, 500), ("test", 10_000, 100)):
        d = cifar[split]
        assert d["x"].shape == (n, 3, 32, 32) and d["x"].dtype == np.uint8
        assert d["fine"].dtype == np.int64 and d["fine"].shape == (n,)
        assert np.array_equal(np.bincount(d["fine"], minlength=100), np.full(100, per_class))
        assert np.array_equal(np.bincount(d["coarse"], minlength=20), np.full(20, 5 * per_class))
        assert len(d["fine_names"]) == 100 and len(d["coarse_names"]) == 20


def test_cifar100_class_names_in_official_order(cifar, shared_data):
    fine, coarse = cifar["train"]["fine_names"], cifar["train"]["coarse_names"]
    # The official meta lists are alphabetical.
    assert fine == sorted(fine) and coarse == sorted(coarse)
    assert fine[0] == "apple" and fine[-1] == "worm"
    assert coarse[0] == "aquatic_mammals" and coarse[-1] == "vehicles_2"
    # Same spelling and order as the leaves 0..99 of Barz & Denzler's hierarchy (python-version meta names).
    barz = shared_data / "hierarchies" / "cifar100" / "class_names.txt"
    if barz.exists():
        leaves = dict(line.split(" ", 1) for line in barz.read_text().splitlines() if line.strip())
        assert fine == [leaves[str(i)].strip() for i in range(100)]


def test_cifar100_each_fine_class_has_one_published_superclass(cifar):
    for split in ("train", "test"):
        d = cifar[split]
        pairs = np.unique(np.stack([d["fine"], d["coarse"]], 1), axis=0)
        assert len(pairs) == 100 and np.array_equal(pairs[:, 0], np.arange(100))
        parent = {d["fine_names"][f]: d["coarse_names"][c] for f, c in pairs}
        for sup, members in SUPERCLASSES.items():
            assert {k for k, v in parent.items() if v == sup} == members


def test_cifar100_channel_statistics_match_published_and_dataset_stats(cifar):
    x = cifar["train"]["x"]
    # exact moments from per-channel histograms of the 0..255 values
    v = np.arange(256) / 255.0
    counts = np.stack([np.bincount(x[:, c].ravel(), minlength=256) for c in range(3)]) / x[:, 0].size
    mean = counts @ v
    std = np.sqrt(counts @ v**2 - mean**2)
    np.testing.assert_allclose(mean, [0.5071, 0.4865, 0.4409], atol=1e-3)
    np.testing.assert_allclose(std, [0.2673, 0.2564, 0.2762], atol=1e-3)
    m, s = dataset_stats("cifar100")
    np.testing.assert_allclose(m, mean, atol=1e-3)
    np.testing.assert_allclose(s, std, atol=1e-3)


def test_cifar100_binary_record_layout_by_hand(cifar, cifar100_binary):
    # Independent parse of record 7 of test.bin: coarse byte, fine byte, then R, G, B planes.
    with open(cifar100_binary / "test.bin", "rb") as f:
        f.seek(7 * 3074)
        rec = f.read(3074)
    d = cifar["test"]
    assert (rec[0], rec[1]) == (d["coarse"][7], d["fine"][7])
    assert d["x"][7, 1, 3, 5] == rec[2 + 1024 + 3 * 32 + 5]  # green plane, row 3, column 5
    assert bytes(d["x"][7].tobytes()) == rec[2:]


def _write_python_version(folder: Path, images, fine, coarse, fine_names, coarse_names, split="test"):
    """The official python-version structure: Python-2 style pickles with bytes keys."""
    folder.mkdir(parents=True, exist_ok=True)
    batch = {b"filenames": [b"img_%d.png" % i for i in range(len(images))], b"batch_label": split.encode(),
             b"fine_labels": [int(v) for v in fine], b"coarse_labels": [int(v) for v in coarse],
             b"data": images.reshape(len(images), -1)}
    with open(folder / split, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [n.encode() for n in fine_names],
                     b"coarse_label_names": [n.encode() for n in coarse_names]}, f, protocol=2)


def test_cifar100_python_version_reads_identical_arrays(cifar, tmp_path):
    d = cifar["test"]
    folder = tmp_path / "cifar-100-python"
    _write_python_version(folder, d["x"], d["fine"], d["coarse"], d["fine_names"], d["coarse_names"])
    tr = cifar["train"]
    _write_python_version(folder, tr["x"][:100], tr["fine"][:100], tr["coarse"][:100], d["fine_names"],
                          d["coarse_names"], split="train")
    x, y, names = load_arrays("cifar100", "test", root=tmp_path, download=False)
    assert np.array_equal(x, d["x"]) and np.array_equal(y, d["fine"]) and names == d["fine_names"]
    _, yc, cnames = load_arrays("cifar100", "test", root=folder, coarse=True, download=False)
    assert np.array_equal(yc, d["coarse"]) and cnames == d["coarse_names"]
    # A train pickle of 100 records is not CIFAR-100's train split.
    with pytest.raises(DataFormatError, match=r"expected 50000 .*found 100") as e:
        load_arrays("cifar100", "train", root=folder, download=False)
    assert str(folder / "train") in str(e.value)


def test_cifar100_pickle_with_missing_key_or_foreign_object_is_rejected(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "meta").write_bytes(b"")
    (folder / "train").write_bytes(b"")
    with open(folder / "test", "wb") as f:
        pickle.dump({b"data": np.zeros((10000, 3072), np.uint8), b"labels": [0] * 10000}, f, protocol=2)
    with pytest.raises(DataFormatError, match="fine_labels") as e:
        load_arrays("cifar100", "test", root=folder, download=False)
    assert str(folder / "test") in str(e.value)

    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    with open(folder / "test", "wb") as f:
        pickle.dump({b"data": Evil()}, f, protocol=2)
    with pytest.raises(DataFormatError, match="refusing to load"):
        load_arrays("cifar100", "test", root=folder, download=False)


def _binary_folder(tmp_path, cifar100_binary, train_bytes: bytes) -> Path:
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir(parents=True)
    (folder / "train.bin").write_bytes(train_bytes)
    (folder / "test.bin").write_bytes(b"")
    for name in ("fine_label_names.txt", "coarse_label_names.txt"):
        shutil.copy(cifar100_binary / name, folder / name)
    return folder


def test_truncated_or_corrupt_train_bin_raises_naming_file(tmp_path, cifar100_binary):
    with open(cifar100_binary / "train.bin", "rb") as f:
        prefix = f.read(3074 * 40 + 1000)
    folder = _binary_folder(tmp_path / "a", cifar100_binary, prefix)  # cut inside a record
    with pytest.raises(DataFormatError, match="not a positive multiple of the 3074-byte") as e:
        load_arrays("cifar100", "train", root=folder, download=False)
    assert str(folder / "train.bin") in str(e.value)
    folder = _binary_folder(tmp_path / "b", cifar100_binary, prefix[:3074 * 40])  # whole records, too few
    with pytest.raises(DataFormatError, match=r"expected 50000 CIFAR-100 records, found 40"):
        load_arrays("cifar100", "train", root=folder, download=False)
    bad = bytearray(prefix[:3074 * 2])
    bad[3074 + 1] = 150  # fine label of record 1 out of range
    with pytest.raises(DataFormatError, match=r"fine labels must lie in 0..99"):
        cifar_mod.read_cifar100_binary(_binary_folder(tmp_path / "c", cifar100_binary, bytes(bad)) / "train.bin")


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """Every place semhash searches points into an empty tmp tree."""
    monkeypatch.setenv("SEMHASH_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(paths_mod, "project_root", lambda: tmp_path / "proj")
    monkeypatch.setattr(paths_mod, "SYSTEM_ROOTS", (tmp_path / "sys",))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def test_missing_cifar_lists_every_place_looked_and_download_failure(nowhere, monkeypatch):
    with pytest.raises(DataNotFoundError) as e:
        load_arrays("cifar100", "train", download=False)
    msg = str(e.value)
    for place in (nowhere / "env" / "cifar-100-python", nowhere / "proj" / "data" / "cifar-100-binary",
                  nowhere / "shared" / "data" / "cifar-100-python", nowhere / "sys" / "cifar-100-binary"):
        assert str(place) in msg
    assert "cifar.html" in msg  # how to get it

    def offline(target):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(cifar_mod, "_download", offline)
    with pytest.raises(DataNotFoundError, match="name resolution") as e:
        load_arrays("cifar100", "test")
    assert str(nowhere / "sys" / "cifar-100-python") in str(e.value)


def _never_download(target):
    raise AssertionError(f"an explicit root must not trigger a download (into {target})")


@pytest.mark.parametrize("name", ["cifar100", "fashion-mnist"])
def test_explicit_root_that_does_not_exist_is_an_error_naming_it(name, cifar100_binary, monkeypatch, tmp_path):
    """A wrong explicit root must not silently read the data from $SEMHASH_DATA, ./data, ../shared/data or
    a download: the real data stays findable (SEMHASH_DATA points at it) and is still not used."""
    monkeypatch.setenv("SEMHASH_DATA", str(cifar100_binary.parent))
    monkeypatch.setattr(cifar_mod, "_download", _never_download)
    monkeypatch.setattr(fm_mod, "_download", _never_download)
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(DataNotFoundError) as e:
        load_arrays(name, "test", root=missing)          # download=True (the default) too
    msg = str(e.value)
    assert f"root={str(missing)!r} does not exist" in msg
    expected = "test.bin|test" if name == "cifar100" else "t10k-images-idx3-ubyte|t10k-images-idx3-ubyte.gz"
    assert expected in msg and str(missing / ("cifar-100-binary" if name == "cifar100" else "fashion-mnist")) in msg
    assert str(cifar100_binary.parent) not in msg       # nothing else was looked at
    assert "\n" not in msg


def test_explicit_root_without_the_dataset_names_what_is_missing(cifar100_binary, monkeypatch, tmp_path):
    monkeypatch.setattr(cifar_mod, "_download", _never_download)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match=r"does not hold 'cifar-100-binary': expected train\.bin\|train"):
        load_arrays("cifar100", "train", root=empty)
    # a partial copy: which folder lacks which file
    part = tmp_path / "part" / "cifar-100-binary"
    part.mkdir(parents=True)
    shutil.copy(cifar100_binary / "fine_label_names.txt", part)
    (part / "test.bin").write_bytes(b"")
    with pytest.raises(DataNotFoundError) as e:
        load_arrays("cifar100", "test", root=tmp_path / "part")
    assert f"{part} lacks train.bin|train)" in str(e.value)     # test.bin and the label names are there
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(DataNotFoundError, match="is not a folder"):
        load_arrays("cifar100", "test", root=a_file)
    # the dataset folder itself and its parent both work
    assert load_arrays("cifar100", "test", root=cifar100_binary, download=False)[0].shape == (10_000, 3, 32, 32)
    assert cifar_mod.find_cifar100(cifar100_binary.parent, download=False) == cifar100_binary.parent / cifar100_binary.name


def test_explicit_root_is_strict_for_every_finder(tmp_path, monkeypatch, coco_mini):
    """COCO, the ImageNet class index, Barz's hierarchy and Conceptual Captions use the same rule."""
    from semhash_lib.data.coco import find_coco
    from semhash_lib.targets import load_barz_hierarchy

    missing = tmp_path / "missing"
    for call in (lambda: find_coco(missing), lambda: CocoCaptions(missing),
                 lambda: imagenet_class_index(missing), lambda: load_barz_hierarchy(missing)):
        with pytest.raises(DataNotFoundError, match="does not exist"):
            call()
    (tmp_path / "cc").mkdir()
    with pytest.raises(DataNotFoundError, match="does not hold 'conceptual-captions'"):
        ConceptualCaptions(tmp_path / "cc")
    assert len(CocoCaptions(coco_mini)) > 0


def test_search_roots_of_an_explicit_root_is_that_root_alone(tmp_path):
    assert paths_mod.search_roots(tmp_path / "x") == [tmp_path / "x"]
    assert tmp_path / "x" not in paths_mod.search_roots()


def test_missing_fashion_mnist_lists_places(nowhere):
    with pytest.raises(DataNotFoundError) as e:
        load_arrays("fashion-mnist", "train", download=False)
    assert str(nowhere / "sys" / "fashion-mnist") in str(e.value)
    assert "dataset-fashion-mnist" in str(e.value)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_arrays("mnist", "train")
    with pytest.raises(ValueError, match="split"):
        load_arrays("cifar100", "val")
    with pytest.raises(ValueError, match="coarse"):
        load_arrays("fashion_mnist", "train", coarse=True)
    with pytest.raises(TypeError):
        load_arrays(100, "train")


# --------------------------------------------------------------------------- Fashion-MNIST
@pytest.fixture(scope="module")
def fashion_dir():
    try:
        return fm_mod.find_fashion_mnist(download=False)
    except DataNotFoundError as e:
        pytest.skip(f"Fashion-MNIST is absent (install Debian's dataset-fashion-mnist): {e}")


def test_fashion_mnist_sizes_classes_and_published_mean(fashion_dir):
    for split, n in (("train", 60_000), ("test", 10_000)):
        x, y, names = load_arrays("fashion_mnist", split, root=fashion_dir, download=False)
        assert x.shape == (n, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
        assert np.array_equal(np.bincount(y, minlength=10), np.full(10, n // 10))  # balanced, published
        assert names[0] == "T-shirt/top" and names[9] == "Ankle boot" and len(names) == 10
        if split == "train":
            assert abs(x.mean() / 255 - 0.2860) < 1e-3 and abs((x / 255.0).std() - 0.3530) < 1e-3
            assert dataset_stats("fashion-mnist") == ((0.2860,), (0.3530,))


def test_fashion_mnist_plain_idx_equals_gz(fashion_dir, tmp_path):
    plain = tmp_path / "fashion-mnist"
    plain.mkdir()
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                 "train-labels-idx1-ubyte"):
        src = fashion_dir / name if (fashion_dir / name).exists() else fashion_dir / f"{name}.gz"
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as f:
            (plain / name).write_bytes(f.read())
    a = load_arrays("fashion-mnist", "test", root=fashion_dir, download=False)
    b = load_arrays("fashion-mnist", "test", root=tmp_path, download=False)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # by hand: image 0 is bytes 16..16+784 of the images file, label 0 is byte 8 of the labels file
    raw = (plain / "t10k-images-idx3-ubyte").read_bytes()
    assert struct.unpack(">IIII", raw[:16]) == (0x803, 10_000, 28, 28)
    assert a[0][0, 0].tobytes() == raw[16:16 + 784]
    assert a[1][0] == (plain / "t10k-labels-idx1-ubyte").read_bytes()[8]


def _idx(shape, data: bytes, type_byte=8) -> bytes:
    return struct.pack(">BBBB", 0, 0, type_byte, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + data


def test_read_idx_plain_gz_and_corrupt_files(tmp_path):
    data = bytes(range(24))
    (tmp_path / "a-idx3-ubyte").write_bytes(_idx((2, 3, 4), data))
    with gzip.open(tmp_path / "a-idx3-ubyte.gz", "wb") as f:
        f.write(_idx((2, 3, 4), data))
    expected = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte", ndim=3), expected)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), expected)
    with pytest.raises(DataFormatError, match="3 dimensions, expected 1"):
        read_idx(tmp_path / "a-idx3-ubyte", ndim=1)
    (tmp_path / "short").write_bytes(_idx((2, 3, 4), data[:-1]))
    with pytest.raises(DataFormatError, match="truncated") as e:
        read_idx(tmp_path / "short")
    assert str(tmp_path / "short") in str(e.value)
    (tmp_path / "float").write_bytes(_idx((2,), b"\0" * 8, type_byte=0x0D))
    with pytest.raises(DataFormatError, match="magic"):
        read_idx(tmp_path / "float")
    full = (tmp_path / "a-idx3-ubyte.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(DataFormatError, match="cut.gz"):
        read_idx(tmp_path / "cut.gz")


# --------------------------------------------------------------------------- ArrayDataset
def test_array_dataset_items_batches_and_validation():
    images = np.arange(5 * 3 * 2 * 2, dtype=np.uint8).reshape(5, 3, 2, 2)
    labels = np.array([4, 3, 2, 1, 0])
    ds = ArrayDataset(images, labels, transform=lambda t: t.float() / 255, class_names=list("abcde"))
    x, y = ds[1]
    assert len(ds) == 5 and x.dtype == torch.float32 and torch.allclose(x * 255, torch.tensor(images[1]).float())
    assert int(y) == 3 and ds.class_names[int(y)] == "d"
    xb, yb = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 3, 2, 2) and yb.tolist() == [4, 3, 2, 1] and yb.dtype == torch.int64
    raw, _ = ArrayDataset(images, labels)[0]
    assert raw.dtype == torch.uint8 and torch.equal(raw, torch.from_numpy(images[0]))
    with pytest.raises(ValueError, match="labels"):
        ArrayDataset(images, labels[:4])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ArrayDataset(images[0], labels)
    with pytest.raises(TypeError, match="uint8"):
        ArrayDataset(images.astype(np.float32), labels)
    with pytest.raises(TypeError, match="integer"):
        ArrayDataset(images, labels.astype(np.float32))


def test_array_dataset_from_name_on_real_cifar(cifar100_binary, cifar):
    ds = ArrayDataset.from_name("cifar100", "test", root=cifar100_binary)
    x, y = ds[123]
    assert torch.equal(x, torch.from_numpy(cifar["test"]["x"][123])) and int(y) == cifar["test"]["fine"][123]
    assert ds.class_names == cifar["test"]["fine_names"]


# --------------------------------------------------------------------------- ImageNet-style folders
def test_imagenet_class_index_is_the_ilsvrc_list(imagenet_hierarchy):
    index = imagenet_class_index()
    assert len(index) == 1000
    assert index["n01440764"] == (0, "tench") and index["n01443537"] == (1, "goldfish")
    # every ILSVRC class is a node of the WordNet tree shipped next to it
    tree = set((imagenet_hierarchy / "wordnet.parent-child.mintree.txt").read_text().split())
    assert set(index) <= tree
    assert imagenet_class_index(imagenet_hierarchy / "imagenet_class_index.json") == index


def _save(path: Path, array: np.ndarray, fmt: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def test_image_folder_subsets_labels_pixels_and_names(tmp_path, imagenet_hierarchy):
    rng = np.random.default_rng(0)
    png = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    _save(tmp_path / "n01443537" / "b.png", png, "PNG")
    _save(tmp_path / "n01443537" / "a.JPEG", np.full((8, 6, 3), (200, 30, 90), np.uint8), "JPEG")
    _save(tmp_path / "n01440764" / "x.JPEG", np.full((4, 4, 3), 50, np.uint8), "JPEG")
    _save(tmp_path / "n01440764" / "grey.png", np.full((3, 2), 77, np.uint8), "PNG")
    _save(tmp_path / "n99999999" / "z.png", png, "PNG")
    (tmp_path / "n01440764" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()

    ds = ImageFolderDataset(tmp_path)
    assert ds.classes == ["n01440764", "n01443537", "n99999999"] and len(ds) == 5
    assert ds.class_names == ["tench", "goldfish", "n99999999"]
    sub = ImageFolderDataset(tmp_path, classes=["n01443537", "n01440764"])
    assert sub.classes == ["n01440764", "n01443537"] and sub.targets == [0, 0, 1, 1]
    by_name = {p.name: i for i, (p, _) in enumerate(sub.samples)}
    x, y = sub[by_name["b.png"]]
    assert y == 1 and x.dtype == torch.uint8 and torch.equal(x, torch.from_numpy(png).permute(2, 0, 1))
    g, _ = sub[by_name["grey.png"]]
    assert g.shape == (3, 3, 2) and (g == 77).all()  # grey converted to RGB
    j, _ = sub[by_name["a.JPEG"]]
    assert j.shape == (3, 8, 6) and np.allclose(j.float().mean((1, 2)).numpy(), (200, 30, 90), atol=4)
    t = ImageFolderDataset(tmp_path, classes=["n01440764"], transform=lambda im: im.shape)
    assert [t[i][0] for i in range(len(t))] == [(3, 3, 2), (3, 4, 4)]  # grey.png, x.JPEG (sorted)
    with pytest.raises(ValueError, match="not found"):
        ImageFolderDataset(tmp_path, classes=["n01440764", "n00000000"])
    with pytest.raises(FileNotFoundError):
        ImageFolderDataset(tmp_path / "absent")


def test_corrupt_image_file_names_the_file(tmp_path):
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "broken.jpg").write_text("<html>404</html>")
    ds = ImageFolderDataset(tmp_path)
    with pytest.raises(DataFormatError, match="broken.jpg"):
        ds[0]


# --------------------------------------------------------------------------- COCO captions
@pytest.mark.parametrize("split,n_images", [("train2017", 80), ("val2017", 79)])
def test_coco_mini_counts_and_captions_match_the_json(coco_mini, split, n_images):
    raw = json.loads((coco_mini / "annotations" / f"captions_{split}.json").read_text())
    by_id = {}
    for a in raw["annotations"]:
        by_id.setdefault(a["image_id"], []).append(a["caption"].strip())
    ds = CocoCaptions(coco_mini, split=split)
    assert len(ds) == n_images == len(raw["images"]) and ds.num_missing == 0
    assert all(len(c) >= 5 for c in ds.captions)
    assert sum(map(len, ds.captions)) == len(raw["annotations"])
    for i, im in enumerate(raw["images"]):
        assert ds.image_ids[i] == im["id"] and ds.paths[i].name == im["file_name"]
        assert ds.captions[i] == by_id[im["id"]]
    x, caps = ds[3]
    assert x.dtype == torch.uint8 and tuple(x.shape) == (3, raw["images"][3]["height"], raw["images"][3]["width"])
    assert caps == by_id[raw["images"][3]["id"]]
    paths, captions = load_coco_captions(coco_mini, split)
    assert paths == ds.paths and captions == ds.captions


def test_coco_missing_image_is_skipped_and_counted_bad_json_raises(coco_mini, tmp_path):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    shutil.copy(coco_mini / "annotations" / "captions_val2017.json", root / "annotations")
    (root / "val2017").mkdir()
    files = sorted((coco_mini / "val2017").iterdir())
    for f in files[1:]:
        (root / "val2017" / f.name).symlink_to(f)
    ds = CocoCaptions(root, split="val2017")
    assert len(ds) == 78 and ds.num_missing == 1 and files[0].name not in {p.name for p in ds.paths}
    (root / "annotations" / "captions_val2017.json").write_text('{"images": [{"id": 1}]}')
    with pytest.raises(DataFormatError, match="captions_val2017.json"):
        CocoCaptions(root, split="val2017")


# --------------------------------------------------------------------------- Conceptual Captions
def test_conceptual_captions_tsv_captions_only(conceptual_captions_tsv):
    raw = conceptual_captions_tsv.read_bytes()
    rows = [line.split(b"\t") for line in raw.split(b"\n") if line]
    ds = ConceptualCaptions(conceptual_captions_tsv)
    assert len(ds) == ds.num_rows == raw.count(b"\n") == 15_833 and ds.num_missing == 0 and ds.paths is None
    assert ds[0] == rows[0][0].decode() and ds.urls[-1] == rows[-1][1].decode().strip()
    assert ConceptualCaptions().captions == ds.captions  # found by the search path


def test_conceptual_captions_local_images_by_index_padded_or_sha1(conceptual_captions_tsv, tmp_path):
    rows = [line.split("\t") for line in conceptual_captions_tsv.read_text().split("\n") if line]
    img = np.full((6, 5, 3), 120, np.uint8)
    _save(tmp_path / "imgs" / "0.jpg", img, "JPEG")
    _save(tmp_path / "imgs" / "00000" / "000000002.jpg", img, "JPEG")  # img2dataset layout
    (tmp_path / "imgs" / "00000" / "000000002.json").write_text("{}")  # its side files are ignored
    (tmp_path / "imgs" / "00000" / "000000003.txt").write_text(rows[3][0])
    sha = hashlib.sha1(rows[5][1].encode()).hexdigest()
    _save(tmp_path / "imgs" / f"{sha}.png", img, "PNG")
    ds = ConceptualCaptions(conceptual_captions_tsv, image_dir=tmp_path / "imgs")
    assert ds.indices.tolist() == [0, 2, 5] and len(ds) == 3 and ds.num_missing == 15_833 - 3
    assert ds.captions == [rows[i][0] for i in (0, 2, 5)]
    x, caption = ds[2]
    assert caption == rows[5][0] and x.shape == (3, 6, 5) and (x == 120).all()
    _save(tmp_path / "imgs" / "2.png", img, "PNG")  # a second file for row 2
    with pytest.raises(DataFormatError, match="two image files"):
        ConceptualCaptions(conceptual_captions_tsv, image_dir=tmp_path / "imgs")


def test_conceptual_captions_malformed_row_names_file_and_line(tmp_path):
    tsv = tmp_path / "cc.tsv"
    tsv.write_text("a dog on a beach\thttp://x/1.jpg\r\nsunset over hills\thttp://x/2.jpg\n"
                   "no tab on this row\nlast\thttp://x/4.jpg\n")
    with pytest.raises(DataFormatError, match=r"cc.tsv, line 3"):
        ConceptualCaptions(tsv)
    tsv.write_text("a dog on a beach\thttp://x/1.jpg\r\nsunset over hills\thttp://x/2.jpg\n")
    ds = ConceptualCaptions(tsv, image_dir=tmp_path)
    assert len(ds) == 0 and ds.num_missing == 2
    assert ConceptualCaptions(tsv).urls == ["http://x/1.jpg", "http://x/2.jpg"]
