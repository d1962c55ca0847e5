"""Named run profiles: ``test`` (seconds), ``quick`` (CPU, <= 15 min), ``medium`` (CPU, <= 60 min), ``paper`` (GPU).

A profile is a YAML file next to this module with the keys

- ``name``, ``description``: what the profile is for and what its numbers mean;
- ``train``: the shared :class:`semhash_lib.train.TrainConfig` fields (the base configuration);
- ``eval``: shared evaluation settings (protocols, number of queries, ...);
- ``notebooks``: for each notebook stem (``03_train_hashing``, ...) the papermill parameters the
  ``semhash`` command passes to it (self-contained: the shared sections are merged in with YAML anchors);
- ``tune`` (optional): what ``semhash tune`` searches (methods, trials per method, bits, n_val, seed);
- ``tuned`` (optional): the path of the ``semhash tune`` result (``results/tuned_<profile>.yaml``); its
  parameters are put into the ``tuned`` field of every training configuration of the profile (``train``
  and each notebook's ``*config`` mappings), so every method trains with its tuned parameters.

``load_profile(name)`` returns that mapping as a plain ``dict``; ``name`` may also be a path to a YAML file.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

__all__ = ["PROFILE_DIR", "ProfileError", "available_profiles", "load_profile", "notebook_parameters", "load_tuned"]

PROFILE_DIR = Path(__file__).resolve().parent
REQUIRED_KEYS = ("name", "train", "notebooks")


class ProfileError(ValueError):
    """A profile that does not exist or is malformed; the message names it and what is wrong."""


def available_profiles() -> list[str]:
    """Names of the profiles shipped with semhash (``*.yaml`` in this folder), sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str | os.PathLike) -> dict:
    """The profile ``name`` (``"quick"``, ``"medium"``, ``"paper"``, ``"test"``) or a YAML file path, as a dict.

    Raises :class:`ProfileError` (a ``ValueError``) for an unknown name (listing the available ones), a file
    that is not YAML, or one that lacks the
    keys ``name``, ``train`` and ``notebooks``.
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"profile must be a name or a path, got {type(name).__name__}")
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name}.yaml"
        if not path.is_file():
            raise ProfileError(f"unknown profile {str(name)!r}; available: {available_profiles()} "
                             "(or pass the path of a YAML file)")
    elif not path.is_file():
        raise ProfileError(f"profile file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            prof = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ProfileError(f"{path}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(prof, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping, got {type(prof).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in prof]
    if missing:
        raise ProfileError(f"{path}: profile lacks the key(s) {missing} (needs {list(REQUIRED_KEYS)})")
    if not isinstance(prof["notebooks"], dict) or not isinstance(prof["train"], dict):
        raise ProfileError(f"{path}: 'train' and 'notebooks' must be mappings")
    if prof.get("tuned"):
        _inject_tuned(prof, load_tuned(prof["tuned"]))
    return prof


def _inject_tuned(prof: dict, tuned: dict) -> None:
    """Set ``tuned`` in the profile's ``train`` mapping and in every notebook mapping under a key ending in
    ``config`` (``config``, ``caption_config``, ``fashion_mnist.config``, ...)."""
    def walk(d: dict) -> None:
        for key, value in d.items():
            if isinstance(value, dict):
                if key.endswith("config"):
                    value["tuned"] = dict(tuned)
                walk(value)

    prof["train"]["tuned"] = dict(tuned)
    walk(prof["notebooks"])


def notebook_parameters(profile: str | os.PathLike, notebook: str, namespace: dict | None = None) -> dict:
    """The profile's papermill parameters for ``notebook`` (a stem such as ``"03_train_hashing"``).

    With ``namespace`` (a notebook's ``globals()``), every parameter that is missing there or ``None`` is
    set from the profile, so a notebook opened in Jupyter runs with the profile's values while papermill's
    injected values win. Returns the merged parameters.
    """
    params = dict((load_profile(profile).get("notebooks") or {}).get(notebook) or {})
    if namespace is not None:
        for key, value in params.items():
            if namespace.get(key) is None:
                namespace[key] = value
        params.update({k: namespace[k] for k in params if k in namespace})
    return params


def load_tuned(path: str | os.PathLike) -> dict[str, dict]:
    """``{method: params}`` from a ``tuned_<profile>.yaml`` (relative paths: from the project root).
    A missing file is an error naming it and the command that writes it."""
    from ..io import project_root

    p = Path(path)
    if not p.is_absolute():
        p = project_root() / p
    if not p.is_file():
        raise FileNotFoundError(f"tuned parameters {p} not found; write them with `semhash tune --profile <name>` "
                                "or remove the profile's 'tuned:' key to train with the defaults")
    doc = yaml.safe_load(p.read_text()) or {}
    methods = doc.get("methods")
    if not isinstance(methods, dict):
        raise ProfileError(f"{p}: expected a 'methods' mapping (method -> params) written by `semhash tune`")
    return {m: dict(e.get("params") or {}) for m, e in methods.items()}
