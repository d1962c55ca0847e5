"""``semhash tune``: the same Optuna budget for every method, on a validation split of the training data.

For each method one Optuna study (TPE sampler, seeded) searches the method's declared space
(:attr:`semhash_lib.methods.MethodSpec.search_space`) and maximises **validation mAHP@250**: the network
is trained on the ``fit`` part of :func:`semhash_lib.experiment.validation_split` and the ``val`` queries
are ranked against the ``fit`` codes as the database (validation mAP@1000 is recorded beside it). The
test split is never read. Every study lives in one SQLite file per profile, so a killed tune resumes
where it stopped: finished trials are kept, a trial that was running is re-queued with the same
parameters (and its training resumes from its checkpoint), and only the missing trials are run.

The profile's ``tune`` section sets ``methods``, ``trials`` (per method), ``bits`` (the code length
tuned at; the parameters are then used at every length), ``n_val`` and ``seed``. A method with a ``base``
(:attr:`semhash_lib.methods.MethodSpec.base`: the semhash family on ``semhash_no_kl``) is tuned after its
base, on top of the base's best parameters, searching only its own term with the same number of trials;
its entry holds the base's parameters and its own, and its study is named after the base parameters, so a
re-tuned base starts a new study instead of mixing trials. The result,
``results/tuned_<profile>.yaml``, holds per method the best parameters, ``n_trials``, the best
validation values and the study file; profiles read it back through their ``tuned:`` key.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .io import atomic_write, project_root
from .methods import Choice, LogUniform, Uniform, apply_params, get_method, merge_loss_options

__all__ = ["tune", "tune_method", "space_signature", "check_storage", "TuningError", "OBJECTIVE"]

OBJECTIVE = "val_mahp@250"


class TuningError(ValueError):
    """Bad tuning input (unknown method, trials <= 0, a study of another profile or search space)."""


def space_signature(method: str, bits: int) -> str:
    """A stable text of ``method``'s search space at ``bits`` (stored with the study; a changed space is an
    error instead of a silently mixed study)."""
    space = get_method(method).search_space
    items = {}
    for name, dist in sorted(space.items()):
        if isinstance(dist, Choice):
            items[name] = ["choice", list(dist.values)]
        else:
            lo, hi = dist.bounds(bits)
            items[name] = ["log" if dist.log else "uniform", float(lo), float(hi)]
    return json.dumps(items, sort_keys=True)


def _suggest(trial, method: str, bits: int) -> dict[str, Any]:
    params = {}
    for name, dist in get_method(method).search_space.items():
        if isinstance(dist, Choice):
            params[name] = trial.suggest_categorical(name, list(dist.values))
        elif isinstance(dist, (LogUniform, Uniform)):
            lo, hi = dist.bounds(bits)
            params[name] = trial.suggest_float(name, lo, hi, log=dist.log)
        else:
            raise TypeError(f"{method}: unknown search-space entry {name}={dist!r}")
    return params


def validation_scores(model, data, k_map: int = 1000, k_mahp: int = 250) -> dict[str, float]:
    """mAP@k_map and mAHP@k_mahp of the sign codes of ``data.x_test`` (the validation queries) against
    ``data.x_train`` (the fit database), Hamming ranking, ties by database index."""
    from . import metrics
    from .train import encode

    hq, hdb = encode(model, data.x_test)[0], encode(model, data.x_train)[0]
    yq, ydb = data.y_test.numpy(), data.y_train.numpy()
    S = data.class_similarity.numpy().astype(np.float64)
    k1, k2 = min(k_map, len(ydb)), min(k_mahp, len(ydb))
    return {f"val_map@{k_map}": float(metrics.mean_average_precision(hq, hdb, yq, ydb, k=k1)),
            f"val_mahp@{k_mahp}": float(metrics.mean_average_hierarchical_precision(
                hq, hdb, yq, ydb, k=k2, class_similarity=S))}


def check_storage(path: str | os.PathLike) -> None:
    """An existing study file must be an Optuna SQLite database (checked before any data is read or trained,
    and without writing to it); a missing one is created later. :class:`TuningError` naming the file."""
    import sqlite3

    path = Path(path)
    if not path.exists():
        return
    if not path.is_file():
        raise TuningError(f"--storage {path} is not a file; give the path of an Optuna SQLite study file")
    with open(path, "rb") as f:
        header = f.read(16)
    if header and header != b"SQLite format 3\x00":
        raise TuningError(f"--storage {path} is not an SQLite database (an Optuna study file); give another path "
                          "(nothing was changed)")
    if not header:
        return                                  # an empty file: SQLite makes it a database
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise TuningError(f"--storage {path} cannot be read as SQLite ({e}); nothing was changed") from None
    if tables and "studies" not in tables:
        raise TuningError(f"--storage {path} is an SQLite database but not an Optuna study file (tables: "
                          f"{', '.join(sorted(tables)[:5])}); give another path (nothing was changed)")


def _params_key(params: dict) -> str:
    """A short stable hash of a parameter dict (names a study tuned on top of shared parameters)."""
    from .io import cache_key

    return cache_key({k: _plain(v) for k, v in sorted(params.items())})[:8]


def _open_study(storage_path: Path, profile: str, method: str, bits: int, seed: int, n_val: int, base_key: str,
                suffix: str = ""):
    import optuna

    name = f"{profile}:{method}:{bits}b{suffix}"
    url = f"sqlite:///{storage_path}"
    storage = optuna.storages.RDBStorage(url)
    attrs = {"profile": profile, "method": method, "bits": bits, "seed": seed, "n_val": n_val,
             "space": space_signature(method, bits), "base_config": base_key}
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    other_profiles = sorted({s.user_attrs.get("profile") for s in existing.values()} - {profile, None})
    if other_profiles:
        raise TuningError(f"{storage_path} holds studies of profile(s) {other_profiles}, not {profile!r}; "
                          "use that profile or another --storage file (nothing was changed)")
    sampler = optuna.samplers.TPESampler(seed=seed)
    if name in existing:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        differ = {k: (study.user_attrs.get(k), v) for k, v in attrs.items() if study.user_attrs.get(k) != v}
        if differ:
            what = ", ".join(f"{k} (study: {a!r:.80}, now: {b!r:.80})" for k, (a, b) in differ.items())
            raise TuningError(f"study {name!r} in {storage_path} was made with other settings: {what}. Its "
                              "trials cannot be mixed with these; use another --storage file (nothing was "
                              "changed)")
        return study
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", sampler=sampler)
    for k, v in attrs.items():
        study.set_user_attr(k, v)
    return study


def _requeue_interrupted(study) -> None:
    """Trials a killed or interrupted tune left behind (RUNNING, or FAIL without a recorded ``failure``,
    which is how Optuna ends a trial on Ctrl-C) are queued again with their parameters, once each; a
    RUNNING one is marked failed first. The handled trial numbers are kept in the study's user attrs."""
    import optuna

    handled = set(study.user_attrs.get("requeued_trials", []))
    todo = [t for t in study.get_trials(deepcopy=False)
            if t.number not in handled and (t.state == optuna.trial.TrialState.RUNNING or
                                            (t.state == optuna.trial.TrialState.FAIL and "failure" not in t.user_attrs))]
    for t in todo:
        if t.state == optuna.trial.TrialState.RUNNING:
            study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, skip_if_exists=False)
        handled.add(t.number)
    if todo:
        study.set_user_attr("requeued_trials", sorted(handled))


def tune_method(method: str, base_config, data, n_trials: int, storage_path: str | os.PathLike, profile: str,
                bits: int, seed: int = 0, n_val: int = 5000, runs_dir: str | os.PathLike | None = None,
                progress: bool = True, shared: dict | None = None) -> dict:
    """Run ``method``'s study until it has ``n_trials`` finished trials; returns its best entry.

    ``data`` is the validation view (:func:`semhash_lib.experiment.validation_data`). A trial trains
    ``base_config`` with the trial's parameters (:func:`semhash_lib.methods.apply_params`) in its own run
    folder under ``runs_dir`` (keyed by its configuration, so a re-queued trial resumes its checkpoint).
    A trial whose loss becomes NaN/inf is recorded as failed and does not count. ``shared``: fixed
    parameters (the base method's best) applied under every trial's own; the returned ``params`` hold both.
    """
    import optuna
    from tqdm.auto import tqdm

    from .experiment import config_key
    from .train import NonFiniteLossError, train

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    get_method(method)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials <= 0:
        raise TuningError(f"trials must be a positive int, got {n_trials!r}")
    storage_path = Path(storage_path)
    storage_path.parent.mkdir(parents=True, exist_ok=True)
    shared = dict(shared or {})
    base = base_config.replace(method=method, bits=int(bits), tuned={})
    if shared:
        changes = apply_params(shared)
        base = base.replace(**{**changes, "loss": merge_loss_options(base.loss, changes.get("loss", {}))})
    study = _open_study(storage_path, profile, method, int(bits), seed, n_val, config_key(base),
                        f":on-{get_method(method).base}-{_params_key(shared)}" if shared else "")
    _requeue_interrupted(study)
    runs_dir = Path(runs_dir) if runs_dir is not None else project_root() / "data" / "tune" / profile

    def done() -> int:
        return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))

    def objective(trial) -> float:
        params = _suggest(trial, method, int(bits))
        changes = apply_params(params)
        cfg = base.replace(**{**changes, "loss": merge_loss_options(base.loss, changes.get("loss", {}))})
        cfg = cfg.replace(out_dir=str(runs_dir / f"{method}-{int(bits)}b" / config_key(cfg)))
        t0 = time.perf_counter()
        try:
            result = train(cfg, data, progress=False)
        except NonFiniteLossError as e:          # a real failure of these parameters: recorded, not re-run
            trial.set_user_attr("failure", str(e).splitlines()[0])
            raise
        scores = validation_scores(result.model, data)
        for key, value in scores.items():
            trial.set_user_attr(key, value)
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        return scores[OBJECTIVE]

    bar = tqdm(total=n_trials, initial=min(done(), n_trials), desc=f"tune {method}", disable=not progress)
    try:
        while done() < n_trials:
            study.optimize(objective, n_trials=1, catch=(NonFiniteLossError,))
            bar.n = min(done(), n_trials)
            if done():
                bar.set_postfix_str(f"best mAHP@250 {study.best_value:.4f}")
            bar.refresh()
            if len(study.trials) > 3 * n_trials + 10:
                raise TuningError(f"{method}: {len(study.trials) - done()} trials failed; see the study in "
                                  f"{storage_path}")
    finally:
        bar.close()
    best = study.best_trial
    return {"params": {**shared, **{k: _plain(v) for k, v in best.params.items()}}, "n_trials": done(),
            "best": {OBJECTIVE: float(best.value),
                     "val_map@1000": float(best.user_attrs.get("val_map@1000", float("nan")))},
            "best_trial": int(best.number), "study": study.study_name,
            "storage": _relative(storage_path)}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def tune(profile: dict, methods: Sequence[str] | None = None, trials: int | None = None,
         storage: str | os.PathLike | None = None, out: str | os.PathLike | None = None, progress: bool = True,
         data=None) -> dict:
    """Tune every method of the ``profile``'s ``tune`` section (or ``methods``), ``trials`` each (default: the
    profile's), and write ``results/tuned_<profile>.yaml`` (or ``out``), merged with the entries of
    methods not tuned in this call. ``profile`` is a loaded profile mapping
    (:func:`semhash_lib.profiles.load_profile`; the command line loads it). Returns the written mapping."""
    import yaml

    from .experiment import prepare_data, validation_data
    from .train import TrainConfig

    if not isinstance(profile, dict) or "name" not in profile or "train" not in profile:
        raise TuningError("tune() takes a loaded profile mapping (semhash_lib.profiles.load_profile(name))")
    prof = profile
    name = prof["name"]
    section = prof.get("tune")
    if not isinstance(section, dict):
        raise TuningError(f"profile {name!r} has no 'tune' section (methods, trials, bits, n_val)")
    methods = list(methods or section.get("methods") or [])
    if not methods:
        raise TuningError(f"no methods to tune: give --methods or list them in profile {name!r}'s tune section")
    for m in methods:
        try:
            get_method(m)
        except KeyError as e:
            raise TuningError(str(e)) from None
    trials = section.get("trials") if trials is None else trials
    if isinstance(trials, bool) or not isinstance(trials, int) or trials <= 0:
        raise TuningError(f"trials must be a positive int, got {trials!r}")
    bits, n_val, seed = int(section.get("bits", 32)), int(section.get("n_val", 5000)), int(section.get("seed", 0))
    root = project_root()
    storage = Path(storage) if storage else root / "results" / "tuning" / f"{name}.sqlite3"
    check_storage(storage)
    out = Path(out) if out else root / "results" / f"tuned_{name}.yaml"
    train_section = {k: v for k, v in prof["train"].items() if k != "tuned"}
    base = TrainConfig.from_dict({**train_section, **(section.get("train") or {})})
    if data is None:
        data = prepare_data(base, progress=progress)
    vdata = validation_data(data, n_val, seed)
    previous = {}
    if out.exists():
        previous = (yaml.safe_load(out.read_text()) or {}).get("methods", {})
    result = {"profile": name, "objective": OBJECTIVE, "bits": bits, "n_val": n_val, "seed": seed,
              "split": "validation: class-stratified n_val of the training split (fit = the rest); test unused",
              "methods": dict(previous)}
    t0 = time.perf_counter()
    for m in _bases_first(methods):
        t_m = time.perf_counter()
        shared = _shared_params(m, result["methods"], out)
        entry = tune_method(m, base, vdata, trials, storage, name, bits, seed, n_val, progress=progress,
                            shared=shared)
        if shared:
            entry["shared_base"] = get_method(m).base
        entry["seconds"] = round(time.perf_counter() - t_m, 1)
        result["methods"][m] = entry
        _write_yaml(out, result)          # after every method: a killed tune keeps what it finished
    result["seconds"] = round(time.perf_counter() - t0, 1)
    _write_yaml(out, result)
    return result


def _bases_first(methods: Sequence[str]) -> list[str]:
    """``methods`` in their order, except that a method's base (when also listed) comes before it."""
    ordered: list[str] = []
    for m in methods:
        base = get_method(m).base
        if base in methods and base not in ordered:
            ordered.append(base)
        if m not in ordered:
            ordered.append(m)
    return ordered


def _shared_params(method: str, tuned: dict, out: Path) -> dict:
    """The tuned parameters of ``method``'s base (``{}`` for a method without one); an error naming the command
    when the base has not been tuned yet."""
    base = get_method(method).base
    if base is None:
        return {}
    entry = tuned.get(base)
    if not entry or not entry.get("params"):
        raise TuningError(f"{method} is tuned on top of {base}'s parameters (the semhash family's shared base), "
                          f"but {out} has no {base} entry; tune it first: semhash tune --methods {base} {method}")
    own = set(get_method(method).search_space)
    return {k: v for k, v in entry["params"].items() if k not in own}


def _write_yaml(path: Path, obj: dict) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        f.write("# written by `semhash tune`; per method the best parameters on the validation split\n")
        yaml.safe_dump(obj, f, sort_keys=False)
