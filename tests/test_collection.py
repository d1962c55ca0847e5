"""Encoding a collection in shards (one per torchrun rank) gives the file one process would write."""

import numpy as np
import pytest
import torch

from semhash_lib.models import HashingNetwork, build_backbone
from semhash_lib.retrieval import pack_codes
from semhash_lib.retrieval.collection import encode_collection, encode_shard, merge_code_parts, part_path, shard_rows
from semhash_lib.train import encode


@pytest.fixture()
def model_and_data():
    torch.manual_seed(0)
    backbone, _ = build_backbone("features", feature_dim=12)
    return HashingNetwork(backbone, 24).eval(), torch.randn(11, 12)


def test_shards_cover_the_rows_once_in_order():
    for n in (0, 1, 10, 11):
        for world in (1, 2, 3, 4):
            rows = [shard_rows(n, r, world) for r in range(world)]
            assert sum((list(range(n))[s] for s in rows), []) == list(range(n))
            assert max(s.stop - s.start for s in rows) - min(s.stop - s.start for s in rows) <= 1


def test_three_shards_merged_equal_one_process(model_and_data, tmp_path):
    model, x = model_and_data
    expected = pack_codes(encode(model, x)[0], kind="real")
    out = tmp_path / "codes.npy"
    for rank in range(3):                       # what the 3 ranks of a torchrun group each do
        encode_shard(model, x, out, rank, 3, batch_size=2)
    merged = np.load(merge_code_parts(out, 3))
    np.testing.assert_array_equal(merged, expected)
    assert merged.dtype == np.uint8 and merged.shape == (11, 3)
    assert not list(tmp_path.glob("*.part-*")), "parts are removed after the merge"
    np.testing.assert_array_equal(np.load(encode_collection(model, x, tmp_path / "one.npy")), expected)


def test_a_finished_part_is_kept_and_a_missing_one_is_named(model_and_data, tmp_path, monkeypatch):
    model, x = model_and_data
    out = tmp_path / "codes.npy"
    first = encode_shard(model, x, out, 0, 2)
    before = first.read_bytes()
    import semhash_lib.retrieval.collection as C

    monkeypatch.setattr(C, "encode", lambda *a, **k: pytest.fail("a finished part must not be re-encoded"))
    assert encode_shard(model, x, out, 0, 2).read_bytes() == before
    with pytest.raises(FileNotFoundError, match=str(part_path(out, 1, 2).name)):
        merge_code_parts(out, 2)
