"""`semhash reproduce` computes its own tables in a run folder and compares them with the published ones.

The comparison is checked against hand-built tables whose means and sample stds (ddof=1) are worked out by
hand in the comments; the command line against a temporary project root, never the real results/.
"""

import math
from pathlib import Path

import pandas as pd
import pytest

from semhash_lib import cli, reproduce, results

REPO = Path(__file__).resolve().parent.parent


def _rows(method, bits, values, protocol="train_db", metric="mahp@250", **extra):
    return [{"dataset": "cifar100", "protocol": protocol, "method": method, "bits": bits, "seed": s,
             metric: v, **extra} for s, v in enumerate(values)]


def _reference_3_seeds():
    # semhash/32: 0.70, 0.72, 0.74 -> mean 0.72, std sqrt((0.02² + 0 + 0.02²) / 2) = 0.02, band 0.04
    # csq/32:     0.79, 0.80, 0.81 -> mean 0.80, std 0.01, band 0.02
    # dsh/32:     0.60, 0.62, 0.64 -> mean 0.62 (absent from the reproduction below)
    return pd.DataFrame(_rows("semhash", 32, [0.70, 0.72, 0.74]) + _rows("csq", 32, [0.79, 0.80, 0.81])
                        + _rows("dsh", 32, [0.60, 0.62, 0.64]))


def _reproduced_3_seeds():
    # semhash/32 mean 0.75 (difference +0.03, inside 0.04); csq/32 mean 0.83 (+0.03, outside 0.02);
    # hashnet/32 is not in the reference
    return pd.DataFrame(_rows("semhash", 32, [0.74, 0.75, 0.76]) + _rows("csq", 32, [0.82, 0.83, 0.84])
                        + _rows("hashnet", 32, [0.70, 0.71, 0.72]))


def _row(cmp, method, metric="mahp@250"):
    r = cmp[(cmp["method"] == method) & (cmp["metric"] == metric)]
    assert len(r) == 1, r
    return r.iloc[0]


def test_band_is_two_published_stds_and_within_follows_it():
    cmp = results.compare_to_reference(_reproduced_3_seeds(), _reference_3_seeds(), metrics=["mahp@250"])
    s = _row(cmp, "semhash")
    assert s["status"] == "compared" and s["band_rule"] == "2 std"
    assert s["reproduced"] == pytest.approx(0.75) and s["reference"] == pytest.approx(0.72)
    assert s["reference_std"] == pytest.approx(0.02) and s["reference_n_seeds"] == 3
    assert s["reproduced_n_seeds"] == 3
    assert s["difference"] == pytest.approx(0.03) and s["band"] == pytest.approx(0.04)
    assert bool(s["within"]) is True
    c = _row(cmp, "csq")
    assert c["reference_std"] == pytest.approx(0.01) and c["band"] == pytest.approx(0.02)
    assert c["difference"] == pytest.approx(0.03) and bool(c["within"]) is False


def test_groups_on_one_side_only_are_reported_not_dropped():
    cmp = results.compare_to_reference(_reproduced_3_seeds(), _reference_3_seeds(), metrics=["mahp@250"])
    assert set(cmp["method"]) == {"semhash", "csq", "dsh", "hashnet"}
    d, h = _row(cmp, "dsh"), _row(cmp, "hashnet")
    assert d["status"] == "missing in reproduction" and bool(d["within"]) is False
    assert d["reference"] == pytest.approx(0.62) and math.isnan(d["reproduced"])
    assert h["status"] == "not in reference" and bool(h["within"]) is False
    assert h["reproduced"] == pytest.approx(0.71) and math.isnan(h["reference"])


def test_single_seed_reference_uses_the_stated_tolerance():
    ref = pd.DataFrame(_rows("semhash", 16, [0.500]) + _rows("csq", 16, [0.600]))
    rep = pd.DataFrame(_rows("semhash", 16, [0.515]) + _rows("csq", 16, [0.630]))
    cmp = results.compare_to_reference(rep, ref, metrics=["mahp@250"], tolerance=0.02)
    s, c = _row(cmp, "semhash"), _row(cmp, "csq")
    assert s["band_rule"] == "tolerance" and s["band"] == pytest.approx(0.02) and math.isnan(s["reference_std"])
    assert s["difference"] == pytest.approx(0.015) and bool(s["within"]) is True
    assert c["difference"] == pytest.approx(0.030) and bool(c["within"]) is False
    wider = results.compare_to_reference(rep, ref, metrics=["mahp@250"], tolerance=0.05)
    assert wider["within"].all()


def test_only_metrics_and_keys_in_both_tables_are_used_and_eval_similarity_splits_groups():
    ref = pd.DataFrame(_rows("semhash", 32, [0.70], eval_similarity="wordnet")
                       + _rows("semhash", 32, [0.90], eval_similarity="sentence"))
    ref["map@1000"] = 0.4
    rep = pd.DataFrame(_rows("semhash", 32, [0.71], eval_similarity="wordnet")
                       + _rows("semhash", 32, [0.89], eval_similarity="sentence"))   # no map@1000 column
    cmp = results.compare_to_reference(rep, ref)
    assert list(cmp["metric"].unique()) == ["mahp@250"]
    assert "eval_similarity" in cmp.columns and len(cmp) == 2
    by_sim = cmp.set_index("eval_similarity")
    # averaged together the two would be 0.80 on both sides; kept apart they differ by +0.01 and -0.01
    assert by_sim.loc["wordnet", "difference"] == pytest.approx(0.01)
    assert by_sim.loc["sentence", "difference"] == pytest.approx(-0.01)
    assert cmp["within"].all()


def test_metric_nan_on_both_sides_gets_no_row_and_on_one_side_is_named():
    ref = pd.DataFrame(_rows("semhash_no_ce", 32, [0.94]))
    ref["map@1000"] = float("nan")                   # caption retrieval: no labels, no mAP
    rep = ref.copy()
    cmp = results.compare_to_reference(rep, ref)
    assert list(cmp["metric"]) == ["mahp@250"] and cmp["within"].all()
    rep2 = ref.copy()
    rep2["mahp@250"] = float("nan")
    assert _row(results.compare_to_reference(rep2, ref), "semhash_no_ce")["status"] == "no value in reproduction"


def _write(df, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def test_compare_results_dirs_pairs_per_seed_tables_of_the_profile(tmp_path):
    rep_dir, ref_dir = tmp_path / "rep", tmp_path / "ref"
    _write(_reproduced_3_seeds(), rep_dir / "hashing_quick.csv")
    _write(_reference_3_seeds(), ref_dir / "hashing_quick.csv")
    _write(_reference_3_seeds(), ref_dir / "zero_shot_quick.csv")          # published, not reproduced
    _write(_reference_3_seeds().assign(mahp=0), ref_dir / "hashing_medium.csv")   # another profile
    _write(_reproduced_3_seeds(), rep_dir / "hashing_medium.csv")
    means = pd.DataFrame({"dataset": ["cifar100"], "protocol": ["train_db"], "bits": [16], "method": ["csq"],
                          "mahp@250": [0.7], "n_seeds": [3]})            # like trivial_solutions_*: no seed column
    _write(means, rep_dir / "trivial_solutions_quick.csv")
    _write(means.assign(**{"mahp@250": 0.1}), ref_dir / "trivial_solutions_quick.csv")
    _write(pd.DataFrame({"tree": ["wordnet"], "nodes": [260]}), rep_dir / "01_barz_vs_wordnet.csv")
    _write(pd.DataFrame({"tree": ["wordnet"], "nodes": [261]}), ref_dir / "01_barz_vs_wordnet.csv")

    table, md = results.compare_results_dirs(rep_dir, ref_dir, "quick", metrics=["mahp@250"])
    assert set(table["table"]) == {"hashing_quick.csv"}
    assert len(table) == 4                                   # semhash, csq, dsh, hashnet
    assert "**1 of 2**" in md and "2 not compared" in md
    assert "`zero_shot_quick.csv`" in md and "hashing_medium" not in md
    assert "2 × the published sample std" in md
    report = results.comparison_report(table)
    assert report.startswith("1 of 2 (group, metric) pairs within")
    assert "csq" in report.split("not compared:")[0].split("outside the band:")[1] and "missing in reproduction" in report

    empty, md_test = results.compare_results_dirs(rep_dir, ref_dir, "test")
    assert empty.empty and "No published per-seed table of profile `test`" in md_test


def test_reproduce_dirs_default_to_a_run_folder_and_publish_to_results(tmp_path):
    d = reproduce.reproduce_dirs(tmp_path, "quick")
    run = tmp_path / "results" / "reproduced" / "quick"
    assert d == {"results": run, "figures": run / "figures", "notebooks": run / "notebooks"}
    p = reproduce.reproduce_dirs(tmp_path, "quick", publish=True)
    assert p == {"results": tmp_path / "results", "figures": tmp_path / "figures",
                 "notebooks": tmp_path / "results" / "notebooks"}
    o = reproduce.reproduce_dirs(tmp_path, "quick", results_dir=tmp_path / "x", figures_dir=tmp_path / "f")
    assert o == {"results": tmp_path / "x", "figures": tmp_path / "f", "notebooks": tmp_path / "x" / "notebooks"}


def _fake_project(tmp_path, monkeypatch):
    """A project root in tmp_path with a published hashing_test.csv (one seed: semhash 0.70, csq 0.80),
    and a run_notebooks that records its folders and writes a reproduced table (semhash 0.71: inside the
    0.02 tolerance; csq 0.85: outside)."""
    monkeypatch.setattr(cli, "project_root", lambda: tmp_path)
    published = tmp_path / "results" / "hashing_test.csv"
    _write(pd.DataFrame(_rows("semhash", 16, [0.70]) + _rows("csq", 16, [0.80])), published)
    calls = []

    def fake_run(books, profile, output_dir, figures_dir, results_dir, extra=None, **kw):
        calls.append({"notebooks": output_dir, "figures": figures_dir, "results": results_dir})
        _write(pd.DataFrame(_rows("semhash", 16, [0.71]) + _rows("csq", 16, [0.85])), results_dir / "hashing_test.csv")
        return [{"notebook": books[0].name, "seconds": 1.0, "output": str(output_dir / books[0].name)}]

    monkeypatch.setattr(reproduce, "run_notebooks", fake_run)
    return published, calls


def test_reproduce_writes_its_own_tables_and_compares_with_the_published(tmp_path, monkeypatch, capsys):
    published, calls = _fake_project(tmp_path, monkeypatch)
    before = published.read_bytes()
    rc = cli.main(["reproduce", "--profile", "test", "--only", "03", "--notebook-dir", str(REPO / "notebooks")])
    assert rc == 0
    run = tmp_path / "results" / "reproduced" / "test"
    assert calls == [{"notebooks": run / "notebooks", "figures": run / "figures", "results": run}]
    assert published.read_bytes() == before                  # the published table is neither read as resume state nor rewritten
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["hashing_test.csv", "reproduced"]
    cmp = pd.read_csv(run / "comparison_test.csv")
    assert dict(zip(cmp["method"], cmp["within"])) == {"semhash": True, "csq": False}
    assert cmp.set_index("method").loc["csq", "difference"] == pytest.approx(0.05)
    summary = (run / "summary_test.md").read_text()
    assert "## Comparison with the published tables" in summary and "**1 of 2**" in summary
    assert "## comparison_test.csv" not in summary
    out = capsys.readouterr().out
    assert "1 of 2 (group, metric) pairs within the published band" in out
    outside = out.split("outside the band:")[1].split("[semhash]")[0]
    assert "csq" in outside and "semhash" not in outside


def test_reproduce_publish_writes_into_results_and_compares_nothing(tmp_path, monkeypatch, capsys):
    published, calls = _fake_project(tmp_path, monkeypatch)
    rc = cli.main(["reproduce", "--profile", "test", "--only", "03", "--publish",
                   "--notebook-dir", str(REPO / "notebooks")])
    assert rc == 0
    assert calls == [{"notebooks": tmp_path / "results" / "notebooks", "figures": tmp_path / "figures",
                      "results": tmp_path / "results"}]
    assert pd.read_csv(published)["mahp@250"].tolist() == pytest.approx([0.71, 0.85])
    assert not (tmp_path / "results" / "reproduced").exists()
    assert not list((tmp_path / "results").glob("comparison_*"))
    assert "comparison" not in capsys.readouterr().out
    assert "Comparison with the published" not in (tmp_path / "results" / "summary_test.md").read_text()


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_reproduce_test_profile_runs_a_notebook_into_the_run_folder(tmp_path, monkeypatch, capsys):
    """The real command on notebook 01 (`test` profile): everything lands in the run folder, nothing in results/."""
    real_results, real_figures = REPO / "results", REPO / "figures"
    before = (_snapshot(real_results), _snapshot(real_figures))
    monkeypatch.setattr(cli, "project_root", lambda: tmp_path)
    rc = cli.main(["reproduce", "--profile", "test", "--only", "01", "--notebook-dir", str(REPO / "notebooks")])
    assert rc == 0
    run = tmp_path / "results" / "reproduced" / "test"
    assert list(run.glob("01_*.csv")) and list((run / "figures").glob("01_*.png"))
    assert (run / "notebooks" / "01_wordnet_targets.ipynb").exists() and (run / "summary_test.md").exists()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["reproduced"]
    assert not (tmp_path / "figures").exists()
    assert (_snapshot(real_results), _snapshot(real_figures)) == before
    assert "no published per-seed table to compare with" in capsys.readouterr().out


def test_seeds_that_agree_exactly_get_the_minimum_band():
    # reference: three identical seeds (std 0); 2 std would demand bit-identical floats, min_band 0.005 does not
    ref = pd.DataFrame(_rows("semhash", 16, [0.5, 0.5, 0.5]) + _rows("csq", 16, [0.5, 0.5, 0.5]))
    rep = pd.DataFrame(_rows("semhash", 16, [0.503]) + _rows("csq", 16, [0.507]))
    cmp = results.compare_to_reference(rep, ref, metrics=["mahp@250"])
    assert _row(cmp, "semhash")["band"] == pytest.approx(0.005) and bool(_row(cmp, "semhash")["within"])
    assert not bool(_row(cmp, "csq")["within"])
    strict = results.compare_to_reference(rep, ref, metrics=["mahp@250"], min_band=0.0)
    assert not bool(_row(strict, "semhash")["within"])


def test_regimes_are_compared_apart_where_their_pooled_mean_would_pass():
    # published: regime A seeds 0.60, 0.62, 0.64 (mean 0.62, std 0.02); regime B 0.80, 0.82, 0.84 (mean 0.82)
    # reproduced: A 0.70, 0.70, 0.70 (+0.08, outside 0.04); B 0.74, 0.74, 0.74 (-0.08, outside 0.04)
    # pooled over regimes both sides have mean 0.72 (published std 0.11 -> band 0.22): a pooled check would pass
    ref = pd.DataFrame(_rows("semhash", 16, [0.60, 0.62, 0.64], regime="A")
                       + _rows("semhash", 16, [0.80, 0.82, 0.84], regime="B"))
    rep = pd.DataFrame(_rows("semhash", 16, [0.70] * 3, regime="A") + _rows("semhash", 16, [0.74] * 3, regime="B"))
    pooled = results.compare_to_reference(rep.drop(columns="regime"), ref.drop(columns="regime"), metrics=["mahp@250"])
    assert len(pooled) == 1 and bool(pooled["within"].iloc[0]) and pooled["difference"].iloc[0] == pytest.approx(0)
    cmp = results.compare_to_reference(rep, ref, metrics=["mahp@250"]).set_index("regime")
    assert list(cmp.index) == ["A", "B"] and (cmp["status"] == "compared").all()
    assert cmp.loc["A", "difference"] == pytest.approx(0.08) and cmp.loc["B", "difference"] == pytest.approx(-0.08)
    assert not cmp["within"].astype(bool).any()


def test_every_shared_non_outcome_column_is_a_key_and_outcomes_are_not():
    # an unknown identifying column ("split") keys the groups; the ablation's selected point ("weight") is an
    # outcome of selection and may differ without splitting the group; so may timings and the config hash
    ref = pd.DataFrame(_rows("semhash", 16, [0.60, 0.62], split="val", weight=0.1, config_key="aa", train_seconds=3.0)
                       + _rows("semhash", 16, [0.80, 0.82], split="test", weight=0.1, config_key="bb", train_seconds=3.0))
    rep = pd.DataFrame(_rows("semhash", 16, [0.61, 0.61], split="val", weight=1.0, config_key="cc", train_seconds=9.0)
                       + _rows("semhash", 16, [0.81, 0.81], split="test", weight=1.0, config_key="dd", train_seconds=9.0))
    keys = results.identifying_columns(rep, ref)
    assert keys == ["dataset", "protocol", "method", "bits", "split"]
    cmp = results.compare_to_reference(rep, ref, metrics=["mahp@250"]).set_index("split")
    assert cmp.loc["val", "reproduced"] == pytest.approx(0.61) and cmp.loc["test", "reference"] == pytest.approx(0.81)
    assert (cmp["status"] == "compared").all()


def test_keys_with_an_empty_cell_on_one_side_still_match_equal_values():
    # one published row lacks n_queries (an older table): its column becomes float (2000.0, NaN) while the
    # reproduction's stays int (2000); equal values still meet, and the empty cell is a group of its own
    ref = pd.DataFrame(_rows("semhash", 16, [0.60, 0.62], n_queries=2000) + _rows("semhash", 32, [0.7], n_queries=None))
    rep = pd.DataFrame(_rows("semhash", 16, [0.61, 0.61], n_queries=2000))
    cmp = results.compare_to_reference(rep, ref, metrics=["mahp@250"])
    assert dict(zip(cmp["bits"], cmp["status"])) == {16: "compared", 32: "missing in reproduction"}
    assert bool(cmp.loc[cmp["bits"] == 16, "within"].iloc[0])


@pytest.mark.parametrize("profile", ["quick", "ablation"])
def test_published_tables_compared_with_themselves_match_group_for_group(profile, tmp_path):
    # the real published tables: every group keyed on all its identifying columns is compared (none pooled,
    # none missing) and lies within its band with difference 0; each table keeps as many groups as it has
    # distinct rows once seeds are dropped
    table, _ = results.compare_results_dirs(REPO / "results", REPO / "results", profile)
    assert len(table) and (table["status"] == "compared").all()
    assert table["within"].astype(bool).all() and (table["difference"].abs() < 1e-12).all()
    for name, part in table.groupby("table"):
        t = pd.read_csv(REPO / "results" / name)
        keys = results.identifying_columns(t, t)
        assert part.drop(columns="metric").drop_duplicates(subset=keys).shape[0] == t[keys].drop_duplicates().shape[0]
