"""Conceptual Captions: the img2dataset call `semhash data conceptual-captions` builds (offline: img2dataset is
an optional dependency that the suite never installs), img2dataset's "files" layout read by the loader (built
here from the real COCO-mini photos and captions), the caption-level precision against a brute-force
reference, and the conceptual-captions profile end to end on such a folder."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semhash_lib.data import (ConceptualCaptions, DataFormatError, DataNotFoundError, load_coco_captions,
                              read_img2dataset_folder)
from semhash_lib.data.download import (INSTALL_HINT, MissingDependencyError, download_conceptual_captions,
                                       img2dataset_arguments, write_url_list)


def write_img2dataset_files(out: Path, rows: list[tuple[Path, str, str]], shard_size: int = 10_000) -> Path:
    """What img2dataset writes with output_format="files" (oom_shard_count 5): <shard:05d>/<key>.jpg, .txt, .json,
    <shard>_stats.json; key = 10**ceil(log10(shard_size)) * shard + position, zero-padded to oom + 5 digits.
    A row whose image is None "failed to download": only counted in the stats."""
    oom = int(np.ceil(np.log10(shard_size)))
    for shard in range(0, (len(rows) + shard_size - 1) // shard_size):
        folder = out / f"{shard:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        part = rows[shard * shard_size:(shard + 1) * shard_size]
        for pos, (image, caption, url) in enumerate(part):
            key = f"{10 ** oom * shard + pos:0{oom + 5}d}"
            if image is None:
                continue
            (folder / f"{key}.jpg").write_bytes(Path(image).read_bytes())
            (folder / f"{key}.txt").write_text(caption, encoding="utf-8")
            (folder / f"{key}.json").write_text(json.dumps({"url": url, "caption": caption, "key": key,
                                                            "status": "success"}), encoding="utf-8")
        (out / f"{shard:05d}_stats.json").write_text(json.dumps({"count": len(part),
                                                                 "successes": sum(r[0] is not None for r in part)}))
    return out


def _coco_rows(coco: Path, split: str):
    paths, captions = load_coco_captions(coco, split)
    return [(p, c[0], f"http://example.org/{split}/{p.name}") for p, c in zip(paths, captions)]


# --------------------------------------------------------------------------- the download command
def test_url_list_has_a_header_the_first_rows_and_csv_quoting(tmp_path):
    tsv = tmp_path / "cc.tsv"
    tsv.write_text('a "quoted" caption\thttp://x/1.jpg\nplain one\thttp://x/2.jpg\nthird\thttp://x/3.jpg\n',
                   encoding="utf-8")
    assert write_url_list(tsv, tmp_path / "u.tsv", max_rows=2) == 2
    assert (tmp_path / "u.tsv").read_text(encoding="utf-8").split("\n") == [
        "caption\turl", '"a ""quoted"" caption"\thttp://x/1.jpg', "plain one\thttp://x/2.jpg", ""]
    assert write_url_list(tsv, tmp_path / "all.tsv") == 3
    with open(tmp_path / "all.tsv", encoding="utf-8", newline="") as f:       # RFC-4180 reading gives the rows back
        assert list(csv.DictReader(f, delimiter="\t"))[0] == {"caption": 'a "quoted" caption', "url": "http://x/1.jpg"}
    with pytest.raises(ValueError, match="max_rows"):
        write_url_list(tsv, tmp_path / "x.tsv", max_rows=0)


def test_download_builds_the_img2dataset_call_and_reads_what_it_wrote(tmp_path, coco_mini,
                                                                       conceptual_captions_tsv):
    calls = []
    photos = sorted((coco_mini / "val2017").glob("*.jpg"))

    def fake_download(**kw):                      # stands in for img2dataset.download: same layout
        with open(kw["url_list"], encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        calls.append((kw, rows))
        write_img2dataset_files(Path(kw["output_folder"]),
                                [(photos[i] if i != 2 else None, r["caption"], r["url"]) for i, r in enumerate(rows)])

    out = tmp_path / "cc"
    res = download_conceptual_captions(conceptual_captions_tsv, out, max_rows=5, image_size=224, processes=3,
                                       downloader=fake_download)
    (kw, rows), = calls
    assert {k: v for k, v in kw.items() if k != "url_list"} == dict(
        input_format="tsv", url_col="url", caption_col="caption", output_format="files",
        output_folder=str(out.resolve()), image_size=224, resize_mode="keep_ratio", number_sample_per_shard=10_000,
        processes_count=3, thread_count=64, timeout=10, retries=0, enable_wandb=False)
    assert not Path(kw["url_list"]).exists()                       # the temporary TSV is gone
    first = conceptual_captions_tsv.read_text(encoding="utf-8").split("\n")[:5]
    assert [f"{r['caption']}\t{r['url']}" for r in rows] == first  # --max 5: the first 5 rows, unchanged
    assert (res["rows"], res["images"]) == (5, 4)                  # row 2 "failed to download"
    manifest = json.loads((out / "semhash_download.json").read_text())
    assert manifest["rows"] == 5 and manifest["images"] == 4 and manifest["img2dataset"]["output_format"] == "files"
    ds = ConceptualCaptions.from_img2dataset(out)
    assert ds.indices.tolist() == [0, 1, 3, 4] and (ds.num_rows, ds.num_missing) == (5, 1)
    # the keys are the TSV rows: the TSV-based loader pairs the same images with the same captions
    by_tsv = ConceptualCaptions(conceptual_captions_tsv, image_dir=out)
    assert by_tsv.indices.tolist() == [0, 1, 3, 4] and by_tsv.captions == ds.captions and by_tsv.urls == ds.urls
    assert [p.name for p in ds.paths] == ["000000000.jpg", "000000001.jpg", "000000003.jpg", "000000004.jpg"]


def test_missing_img2dataset_names_the_install_command(tmp_path, monkeypatch, capsys, conceptual_captions_tsv):
    from semhash_lib.cli import main

    monkeypatch.setitem(sys.modules, "img2dataset", None)          # as on this machine: not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "semhash\[cc\]"'):
        download_conceptual_captions(conceptual_captions_tsv, tmp_path / "cc", max_rows=3)
    assert main(["data", "conceptual-captions", "--tsv", str(conceptual_captions_tsv), "--out", str(tmp_path / "cc"),
                 "--max", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and INSTALL_HINT.split("  ")[0] in err and "pip install img2dataset" in err
    assert not (tmp_path / "cc").exists()


def test_cli_dry_run_prints_the_call(tmp_path, capsys, conceptual_captions_tsv):
    from semhash_lib.cli import main

    assert main(["data", "conceptual-captions", "--tsv", str(conceptual_captions_tsv), "--out", str(tmp_path / "cc"),
                 "--max", "7", "--image-size", "128", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("img2dataset.download(") and "first 7 rows" in out
    assert "image_size=128" in out and "url_col='url'" in out and "output_format='files'" in out
    assert not (tmp_path / "cc").exists()
    assert main(["data", "conceptual-captions", "--tsv", str(tmp_path / "absent.tsv"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_shard_size_must_be_a_power_of_ten():
    assert img2dataset_arguments("u.tsv", "o", shard_size=1000)["number_sample_per_shard"] == 1000
    with pytest.raises(ValueError, match="power of ten"):
        img2dataset_arguments("u.tsv", "o", shard_size=5000)


# --------------------------------------------------------------------------- the files layout
def test_read_img2dataset_folder_across_shards(tmp_path, coco_mini):
    rows = _coco_rows(coco_mini, "val2017")[:7]
    write_img2dataset_files(tmp_path / "cc", rows, shard_size=10)       # one shard: keys 0..6
    write_img2dataset_files(tmp_path / "two", rows, shard_size=1)       # seven shards of one: keys 0..6 too
    for folder in ("cc", "two"):
        keys, paths, captions, urls = read_img2dataset_folder(tmp_path / folder)
        assert keys.tolist() == list(range(7))
        assert captions == [r[1] for r in rows] and urls == [r[2] for r in rows]
        assert [p.read_bytes() for p in paths] == [Path(r[0]).read_bytes() for r in rows]


def test_img2dataset_folder_errors(tmp_path, coco_mini):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_img2dataset_folder(tmp_path / "absent")
    (tmp_path / "empty" / "00000").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="semhash data conceptual-captions"):
        read_img2dataset_folder(tmp_path / "empty")
    write_img2dataset_files(tmp_path / "cc", _coco_rows(coco_mini, "val2017")[:2])
    (tmp_path / "cc" / "00000" / "000000001.txt").unlink()
    (tmp_path / "cc" / "00000" / "000000001.json").write_text("{}")
    with pytest.raises(DataFormatError, match="000000001.jpg: no caption"):
        read_img2dataset_folder(tmp_path / "cc")
    with pytest.raises(DataNotFoundError, match="conceptual-captions"):
        from semhash_lib.data import find_conceptual_captions_download
        find_conceptual_captions_download(tmp_path / "cc")             # no train/ and val/


# --------------------------------------------------------------------------- caption-level precision
def test_caption_precision_matches_a_brute_force_reference():
    from semhash_lib.metrics.caption_precision import caption_precision

    rng = np.random.default_rng(3)
    q, d = rng.choice([-1.0, 1.0], size=(9, 8)), rng.choice([-1.0, 1.0], size=(40, 8))   # many distance ties
    e = rng.standard_normal((49, 5))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    qe, de = e[:9], e[9:]
    for k, tau in ((1, 0.0), (7, 0.3), (40, -0.2), (100, 0.5)):
        ref = []
        for i in range(9):
            ham = (q[i] != d).sum(axis=1)
            order = np.argsort(ham, kind="stable")[:min(k, 40)]             # ties by database index
            ref.append(np.mean(de[order] @ qe[i] >= tau))
        assert caption_precision(q, d, qe, de, k=k, threshold=tau) == pytest.approx(np.mean(ref), abs=1e-12)
    assert caption_precision(q, d, qe, de, k=5, threshold=-1.0) == 1.0
    with pytest.raises(ValueError, match="one embedding per code"):
        caption_precision(q, d, qe[:3], de)
    with pytest.raises(ValueError, match="threshold"):
        caption_precision(q, d, qe, de, threshold=2.0)


# --------------------------------------------------------------------------- the profile end to end
@pytest.mark.slow
def test_conceptual_captions_profile_runs_on_an_img2dataset_folder(tmp_path, coco_mini, monkeypatch):
    from semhash_lib.cli import main

    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "cc"
    write_img2dataset_files(root / "train", _coco_rows(coco_mini, "train2017")[:24])   # few images: 224 px
    write_img2dataset_files(root / "val", _coco_rows(coco_mini, "val2017")[:16])       # features are slow on CPU
    rc = main(["reproduce", "--profile", "conceptual-captions", "--only", "07", "-p", "captions_root", str(root),
               "-p", "bits", "[16]", "--results-dir", str(tmp_path / "r"), "--figures-dir", str(tmp_path / "f"),
               "--output-dir", str(tmp_path / "nb")])
    assert rc == 0
    table = pd.read_csv(tmp_path / "r" / "captions_conceptual-captions.csv")
    assert set(table["dataset"]) == {"conceptual-captions"} and set(table["method"]) == {"semhash_no_ce"}
    assert (table["n_queries"].tolist(), table["n_db"].tolist()) == ([16], [24])
    assert table["mahp@250"].between(0, 1).all() and table["map@1000"].isna().all()
    cp = pd.read_csv(tmp_path / "r" / "caption_precision_conceptual-captions.csv")
    assert cp[["k", "threshold"]].values.tolist() == [[100, 0.5]] and cp["caption_precision"].between(0, 1).all()
    assert not (tmp_path / "r" / "sentence_vs_wordnet_conceptual-captions.csv").exists()   # part 1 skipped
    assert (tmp_path / "f" / "07_coco_retrieval.png").stat().st_size > 2000


def test_conceptual_captions_profile_configures_notebook_07():
    from semhash_lib.profiles import load_profile
    from semhash_lib.train import TrainConfig

    prof = load_profile("conceptual-captions")
    params = prof["notebooks"]["07_captions"]
    assert set(prof["notebooks"]) == {"07_captions"} and params["sentence_config"] is None
    cfg = TrainConfig.from_dict(params["caption_config"])
    assert (cfg.dataset, cfg.method, cfg.feature_resolution) == ("conceptual-captions", "semhash_no_ce", 224)
    assert (params["caption_k"], params["caption_threshold"]) == (100, 0.5)
