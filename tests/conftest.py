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
