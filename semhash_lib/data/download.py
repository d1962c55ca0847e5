"""Downloading the Conceptual Captions images with img2dataset (``semhash data conceptual-captions``).

Conceptual Captions (Sharma et al. 2018; the paper's caption data, ``docs/paper.md`` §6) is distributed as
``caption<TAB>url`` TSVs; the images have to be fetched from their URLs, many of which are dead (typically a
fifth to a third of the rows fail). img2dataset (``pip install "semhash[cc]"``, an optional dependency) does
that in parallel and writes ``output_format="files"``: shard folders ``00000/`` with ``<key>.jpg``,
``<key>.txt`` (the caption) and ``<key>.json`` (url, status, ...), which
:meth:`semhash_lib.data.ConceptualCaptions.from_img2dataset` reads.

- :func:`write_url_list` — img2dataset's ``tsv`` reader wants a header row (the official TSVs have none), so
  the rows (the first ``max_rows`` with ``--max N``) are copied into a temporary TSV with the header
  ``caption<TAB>url``, fields holding a quote, tab or newline quoted as CSV does;
- :func:`img2dataset_arguments` — the keyword arguments of ``img2dataset.download`` (the call itself);
- :func:`download_conceptual_captions` — both, then the download, a manifest ``semhash_download.json`` in the
  output folder and a count of the images that arrived.

The shard size must be a power of ten: img2dataset's keys are ``10**ceil(log10(shard size)) * shard +
position``, which equals the TSV row only then. A re-run continues: img2dataset skips shards already done.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Callable

from ..io import atomic_write
from ..paths import DataNotFoundError
from .conceptual_captions import iter_conceptual_captions_tsv, read_img2dataset_folder

__all__ = ["INSTALL_HINT", "MissingDependencyError", "write_url_list", "img2dataset_arguments",
           "download_conceptual_captions", "MANIFEST"]

INSTALL_HINT = 'pip install "semhash[cc]"  (or: pip install img2dataset)'
MANIFEST = "semhash_download.json"


class MissingDependencyError(ImportError):
    """An optional dependency that a command needs is not installed; the message says how to install it."""


def write_url_list(tsv: str | os.PathLike, dest: str | os.PathLike, max_rows: int | None = None) -> int:
    """Copy the ``caption<TAB>url`` rows of ``tsv`` (all, or the first ``max_rows``) to ``dest`` under the header
    ``caption<TAB>url``, as img2dataset's ``tsv`` input expects; returns the number of rows written. Rows are
    checked as :func:`~semhash_lib.data.read_conceptual_captions_tsv` checks them (a malformed row is a
    :class:`~semhash_lib.paths.DataFormatError` naming the file and line)."""
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows <= 0):
        raise ValueError(f"max_rows must be a positive int or None, got {max_rows!r}")
    n = 0
    with atomic_write(dest, "wb") as raw:
        f = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(["caption", "url"])
        for caption, url in iter_conceptual_captions_tsv(tsv):
            if max_rows is not None and n >= max_rows:
                break
            writer.writerow([caption, url])
            n += 1
        f.flush()
        f.detach()
    return n


def img2dataset_arguments(url_list: str | os.PathLike, output_folder: str | os.PathLike, image_size: int = 256,
                          processes: int | None = None, threads: int = 64, shard_size: int = 10_000,
                          timeout: int = 10, retries: int = 0) -> dict:
    """The keyword arguments of ``img2dataset.download`` for a Conceptual Captions TSV with a header
    (:func:`write_url_list`): ``input_format="tsv"``, ``url_col="url"``, ``caption_col="caption"``,
    ``output_format="files"``, images resized so that the shorter side is ``image_size`` (``resize_mode=
    "keep_ratio"``: no borders, the aspect ratio kept; the features' centre crop is taken later),
    ``number_sample_per_shard=shard_size`` (a power of ten, see the module docstring), ``processes`` download
    processes (default ``os.cpu_count()``) with ``threads`` threads each, no wandb."""
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1 \
            or 10 ** round(math.log10(shard_size)) != shard_size:
        raise ValueError(f"shard_size must be a power of ten (keys = TSV rows only then), got {shard_size!r}")
    for name, value in (("image_size", image_size), ("threads", threads), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    return dict(url_list=str(url_list), input_format="tsv", url_col="url", caption_col="caption",
                output_format="files", output_folder=str(output_folder), image_size=int(image_size),
                resize_mode="keep_ratio", number_sample_per_shard=int(shard_size),
                processes_count=int(processes or os.cpu_count() or 1), thread_count=int(threads),
                timeout=int(timeout), retries=int(retries), enable_wandb=False)


def _img2dataset_download() -> Callable:
    try:
        from img2dataset import download
    except ImportError as e:
        raise MissingDependencyError(f"img2dataset is not installed; it downloads the Conceptual Captions "
                                     f"images: {INSTALL_HINT}") from e
    return download


def download_conceptual_captions(tsv: str | os.PathLike, out: str | os.PathLike, max_rows: int | None = None,
                                 image_size: int = 256, processes: int | None = None, threads: int = 64,
                                 downloader: Callable | None = None, dry_run: bool = False) -> dict:
    """Download the images of the Conceptual Captions ``tsv`` (its first ``max_rows`` rows) into ``out`` with
    img2dataset (layout in the module docstring) and return a summary: ``rows`` (given to img2dataset),
    ``images`` (that arrived, counting earlier runs into ``out``), ``out``, and ``arguments`` (the
    ``img2dataset.download`` call, its ``url_list`` a temporary file that is removed afterwards).

    ``downloader``: the function to call with those arguments (default ``img2dataset.download``; a missing
    img2dataset is a :class:`MissingDependencyError` naming ``pip install "semhash[cc]"``). ``dry_run``: build
    the call and return it without downloading (nothing is written)."""
    tsv, out = Path(tsv), Path(out)
    if not tsv.is_file():
        raise DataNotFoundError(f"Conceptual Captions TSV {tsv} does not exist; get the TSVs from "
                                "https://ai.google.com/research/ConceptualCaptions/download")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a folder")
    if downloader is None and not dry_run:
        downloader = _img2dataset_download()
    with tempfile.TemporaryDirectory(prefix="semhash-cc-") as tmp:
        url_list = Path(tmp) / "url_list.tsv"
        rows = write_url_list(tsv, url_list, max_rows)
        args = img2dataset_arguments(url_list, out.resolve(), image_size, processes, threads)
        if dry_run:
            return {"rows": rows, "images": None, "out": str(out), "arguments": args}
        out.mkdir(parents=True, exist_ok=True)
        downloader(**args)
    keys = read_img2dataset_folder(out)[0]
    manifest = {"tsv": str(tsv.resolve()), "max_rows": max_rows, "rows": rows, "images": int(len(keys)),
                "img2dataset": {k: v for k, v in args.items() if k != "url_list"}}
    with atomic_write(out / MANIFEST, "w") as f:
        json.dump(manifest, f, indent=1)
    return {"rows": rows, "images": int(len(keys)), "out": str(out), "arguments": args}
