"""Validation split and `semhash tune`: the split never touches the test split, studies resume without losing
a trial, bad input is refused before anything is changed, and tuned parameters reach training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from semhash_lib import experiment as E
from semhash_lib import methods as M
from semhash_lib import tuning
from semhash_lib.cli import main
from semhash_lib.profiles import load_profile, load_tuned
from semhash_lib.train import TrainConfig

from synthetic import synthetic_data

torch.set_num_threads(2)


# ------------------------------------------------------------------ validation split
@pytest.mark.parametrize("n_val", [1, 30, 99, 150])
def test_validation_split_is_a_stratified_partition_of_the_training_split(n_val):
    labels = np.repeat(np.arange(10), 20)
    np.random.default_rng(1).shuffle(labels)
    fit, val = E.validation_split(labels, n_val, seed=3)
    assert fit.dtype == np.int64 and val.dtype == np.int64
    assert np.all(np.diff(fit) > 0) and np.all(np.diff(val) > 0)           # sorted, no repeats
    assert len(np.intersect1d(fit, val)) == 0
    np.testing.assert_array_equal(np.union1d(fit, val), np.arange(len(labels)))
    counts = np.bincount(labels[val], minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n_val    # class-stratified
    f2, v2 = E.validation_split(labels, n_val, seed=3)
    np.testing.assert_array_equal(v2, val)
    if n_val < 150:
        assert not np.array_equal(E.validation_split(labels, n_val, seed=4)[1], val) or n_val == 1


@pytest.mark.parametrize("bad", [0, -1, 200, 2.5, True])
def test_validation_split_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="n_val"):
        E.validation_split(np.repeat(np.arange(4), 50), bad)


def test_validation_data_holds_only_training_rows():
    data = synthetic_data(test_shift=100.0)
    v = E.validation_data(data, 30, seed=0)
    fit, val = E.validation_split(data.y_train.numpy(), 30, 0)
    assert torch.equal(v.x_train, data.x_train[fit]) and torch.equal(v.x_test, data.x_train[val])
    assert torch.equal(v.y_test, data.y_train[val])
    assert v.x_test.max() < 50 and v.x_train.max() < 50      # the (shifted) test split is nowhere
    assert v.meta["validation"] == {"n_fit": len(fit), "n_val": 30, "seed": 0}


# ------------------------------------------------------------------ search spaces
def test_apply_params_and_deep_merge_of_loss_options():
    changes = M.apply_params({"lr": 0.01, "loss.kl": 0.3, "loss.kl_kwargs.k": 3, "loss.sim_kwargs.p": 2})
    assert changes == {"lr": 0.01, "loss": {"kl": 0.3, "kl_kwargs": {"k": 3}, "sim_kwargs": {"p": 2}}}
    merged = M.merge_loss_options({"kl": 0.1, "kl_kwargs": {"nu": "sampled"}}, {"kl_kwargs": {"k": 3}})
    assert merged == {"kl": 0.1, "kl_kwargs": {"nu": "sampled", "k": 3}}
    with pytest.raises(ValueError, match="loss"):
        M.apply_params({"optimizer.beta": 1})


@pytest.mark.parametrize("name", list(M.METHODS))
def test_every_search_space_point_is_a_valid_config(name):
    """The bounds of every declared range, and every choice, give a TrainConfig that validates (so a trial
    can never fail on a misspelt option)."""
    import itertools

    spec = M.get_method(name)
    space = {**(M.get_method(spec.base).search_space if spec.base else {}), **spec.search_space}
    assert {"lr", "weight_decay"} <= set(space)                            # its own, or its base's
    corners = []
    for key, dist in space.items():
        corners.append([(key, v) for v in (dist.values if isinstance(dist, M.Choice) else dist.bounds(32))])
    for combo in itertools.islice(itertools.product(*corners), 64):
        cfg = TrainConfig(method=name, bits=32).replace(**M.apply_params(dict(combo)))
        M.get_method(name).make_loss(bits=32, num_classes=10, **cfg.loss)


def test_tuned_parameters_are_applied_under_explicit_loss_overrides():
    cfg = TrainConfig(method="semhash", lr=1e-3, loss={"kl": 0.05},
                      tuned={"semhash": {"lr": 0.02, "loss.kl": 0.5, "loss.sim": 2.0}, "dsh": {"lr": 0.5}})
    eff = cfg.effective()
    assert eff.lr == 0.02 and eff.loss == {"kl": 0.05, "sim": 2.0} and eff.tuned == {}
    assert eff.effective() == eff
    assert E.config_key(cfg) == E.config_key(eff)
    assert cfg.replace(method="dsh", loss={}).effective().lr == 0.5
    assert cfg.replace(method="csq", loss={}).effective().lr == 1e-3     # no entry: the base values
    with pytest.raises(ValueError, match="unknown option.*'kl'.*'dsh'"):
        cfg.replace(method="dsh")                                          # a semhash option on DSH


# ------------------------------------------------------------------ studies
def write_profile(tmp_path, name="synth", methods=("semhash", "dsh"), trials=2):
    prof = {"name": name, "notebooks": {},
            "train": {"dataset": "cifar100", "input": "features", "bits": 8, "epochs": 1, "batch_size": 32,
                      "device": "cpu", "seed": 0},
            "tune": {"methods": list(methods), "trials": trials, "bits": 8, "n_val": 30, "seed": 0}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(prof))
    return path


def trials_of(storage, study):
    import optuna

    s = optuna.load_study(study_name=study, storage=f"sqlite:///{storage}")
    return [(t.number, t.state.name, t.params) for t in s.trials]


def test_tune_writes_best_parameters_and_resumes_without_losing_trials(tmp_path):
    data, prof = synthetic_data(), write_profile(tmp_path)
    storage, out = tmp_path / "s.sqlite3", tmp_path / "tuned.yaml"
    res = tuning.tune(load_profile(prof), methods=["semhash_no_kl"], storage=storage, out=out, progress=False,
                      data=data)
    entry = res["methods"]["semhash_no_kl"]
    assert entry["n_trials"] == 2 and set(entry["params"]) == set(M.get_method("semhash_no_kl").search_space)
    assert 0 < entry["best"]["val_mahp@250"] <= 1 and 0 < entry["best"]["val_map@1000"] <= 1
    first = trials_of(storage, "synth:semhash_no_kl:8b")
    # more trials later: the first two are kept as they were, one is added
    tuning.tune(load_profile(prof), methods=["semhash_no_kl"], trials=3, storage=storage, out=out, progress=False,
                data=data)
    now = trials_of(storage, "synth:semhash_no_kl:8b")
    assert now[:2] == first and len(now) == 3 and now[2][1] == "COMPLETE"
    # the written file feeds training: a profile that names it puts the params into every config
    assert load_tuned(out)["semhash_no_kl"] == yaml.safe_load(out.read_text())["methods"]["semhash_no_kl"]["params"]
    assert yaml.safe_load(out.read_text())["methods"]["semhash_no_kl"]["n_trials"] == 3


def test_the_semhash_family_tunes_only_its_term_on_the_shared_base(tmp_path):
    """semhash_quant after semhash_no_kl (whatever order is asked): its trials search loss.quant alone, on top
    of semhash_no_kl's best parameters, which its entry repeats unchanged; without a tuned base it is refused."""
    data, prof = synthetic_data(), write_profile(tmp_path)
    storage, out = tmp_path / "s.sqlite3", tmp_path / "tuned.yaml"
    with pytest.raises(tuning.TuningError, match="tune it first"):
        tuning.tune(load_profile(prof), methods=["semhash_quant"], storage=storage, out=out, progress=False, data=data)
    assert not out.exists()
    res = tuning.tune(load_profile(prof), methods=["semhash_quant", "semhash_no_kl"], storage=storage, out=out,
                      progress=False, data=data)
    base, quant = res["methods"]["semhash_no_kl"], res["methods"]["semhash_quant"]
    assert list(res["methods"]) == ["semhash_no_kl", "semhash_quant"] and quant["shared_base"] == "semhash_no_kl"
    assert quant["params"] == {**base["params"], "loss.quant": quant["params"]["loss.quant"]}
    import optuna

    names = [s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{storage}")]
    [name] = [n for n in names if n.startswith("synth:semhash_quant:8b:on-semhash_no_kl-")]
    assert all(set(p) == {"loss.quant"} for _, _, p in trials_of(storage, name))
    eff = TrainConfig(method="semhash_quant", tuned=load_tuned(out)).effective()
    assert eff.lr == base["params"]["lr"] and eff.loss["sim"] == base["params"]["loss.sim"]


def test_a_killed_trial_is_rerun_with_its_parameters(tmp_path, monkeypatch):
    data, prof = synthetic_data(), write_profile(tmp_path, methods=["dsh"], trials=2)
    storage, out = tmp_path / "s.sqlite3", tmp_path / "tuned.yaml"
    real = tuning.validation_scores
    calls = {"n": 0}

    def dies_on_second(model, d):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt        # as a killed process: the trial stays RUNNING in the study
        return real(model, d)

    monkeypatch.setattr(tuning, "validation_scores", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(load_profile(prof), storage=storage, out=out, progress=False, data=data)
    before = trials_of(storage, "synth:dsh:8b")
    assert [s for _, s, _ in before] == ["COMPLETE", "FAIL"]      # Optuna ends a trial on Ctrl-C as FAIL
    monkeypatch.setattr(tuning, "validation_scores", real)
    # a SIGKILL leaves a trial RUNNING: make one by hand, with sampled parameters
    import optuna

    study = optuna.load_study(study_name="synth:dsh:8b", storage=f"sqlite:///{storage}")
    killed = study.ask()
    tuning._suggest(killed, "dsh", 8)
    tuning.tune(load_profile(prof), trials=3, storage=storage, out=out, progress=False, data=data)
    after = trials_of(storage, "synth:dsh:8b")
    assert after[0] == before[0]
    assert [s for _, s, _ in after] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert {str(after[3][2]), str(after[4][2])} == {str(before[1][2]), str(after[2][2])}   # same params, re-run
    tuning.tune(load_profile(prof), trials=3, storage=storage, out=out, progress=False, data=data)
    assert trials_of(storage, "synth:dsh:8b") == after                 # done: nothing re-queued twice


def test_tune_refuses_bad_input_and_changes_nothing(tmp_path, monkeypatch):
    data, prof = synthetic_data(), write_profile(tmp_path, methods=["dsh"], trials=1)
    storage, out = tmp_path / "s.sqlite3", tmp_path / "tuned.yaml"
    with pytest.raises(tuning.TuningError, match="nope"):
        tuning.tune(load_profile(prof), methods=["nope"], storage=storage, out=out, data=data)
    for bad in (0, -2):
        with pytest.raises(tuning.TuningError, match="trials"):
            tuning.tune(load_profile(prof), trials=bad, storage=storage, out=out, data=data)
    tuning.tune(load_profile(prof), storage=storage, out=out, progress=False, data=data)
    kept = trials_of(storage, "synth:dsh:8b")
    other = write_profile(tmp_path, name="other", methods=["dsh"], trials=1)
    with pytest.raises(tuning.TuningError, match="profile"):
        tuning.tune(load_profile(other), storage=storage, out=tmp_path / "o.yaml", data=data)
    space = dict(M.METHODS["dsh"].search_space, lr=M.LogUniform(1e-3, 1e-1))
    monkeypatch.setitem(M.METHODS, "dsh", M.MethodSpec(**{**M.METHODS["dsh"].__dict__, "search_space": space}))
    with pytest.raises(tuning.TuningError, match="space"):
        tuning.tune(load_profile(prof), trials=2, storage=storage, out=out, data=data)
    assert trials_of(storage, "synth:dsh:8b") == kept


def test_tune_checks_its_storage_file_before_any_work(tmp_path, capsys, monkeypatch):
    """A --storage that is not an Optuna SQLite study is a one-line error before any data is read; the file
    is left byte for byte as it was."""
    import sqlite3

    from semhash_lib import experiment

    monkeypatch.setattr(experiment, "prepare_data", lambda *a, **k: pytest.fail("data was read"))
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE runs (x INTEGER)")
    for path, why in ((text, "not an SQLite database"), (other, "not an Optuna study file")):
        before = path.read_bytes()
        assert main(["tune", "--profile", "test", "--storage", str(path), "--out", str(tmp_path / "t.yaml")]) == 2
        err = capsys.readouterr().err.strip()
        assert why in err and str(path) in err and len(err.splitlines()) == 1
        assert path.read_bytes() == before
    assert not (tmp_path / "t.yaml").exists()


def test_cli_tune_errors_are_one_line_and_exit_2(capsys):
    assert main(["tune", "--profile", "test", "--methods", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main(["tune", "--profile", "test", "--trials", "0"]) == 2
    assert "trials must be a positive int" in capsys.readouterr().err
    assert main(["tune", "--profile", "no-such-profile"]) == 2
    assert "unknown profile" in capsys.readouterr().err


def test_profile_tuned_key_reaches_every_training_config(tmp_path):
    tuned = tmp_path / "tuned.yaml"
    tuned.write_text(yaml.safe_dump({"methods": {"semhash": {"params": {"lr": 0.004}}}}))
    prof = {"name": "x", "tuned": str(tuned), "train": {"method": "semhash"},
            "notebooks": {"03": {"config": {"method": "semhash"}, "fashion_mnist": {"config": {}}}}}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(prof))
    p = load_profile(path)
    want = {"semhash": {"lr": 0.004}}
    assert p["train"]["tuned"] == want and p["notebooks"]["03"]["config"]["tuned"] == want
    assert p["notebooks"]["03"]["fashion_mnist"]["config"]["tuned"] == want
    assert TrainConfig.from_dict(p["notebooks"]["03"]["config"]).effective().lr == 0.004
    tuned.unlink()
    with pytest.raises(FileNotFoundError, match="semhash tune"):
        load_profile(path)
