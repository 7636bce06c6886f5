"""Bootstrap intervals, decisiveness and reconstructability inside the reproduce pipelines."""

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from xslatent import Dataset
from xslatent.pipeline.analysis import Budget
from xslatent.pipeline.h2o import reproduce_h2o
from xslatent.pipeline.uncertainty import cm_feature_groups, ordering_finding
from xslatent.interpret import BootstrapInterval

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")
TINY = Budget("tiny", {"emulator": 1, "ednn": 1, "nnca": 1}, cv=2, max_iter=15, n_iter_no_change=5,
              eca_restarts=1, n_resamples=3)


def _toy(n=240, seed=0):
    """Spectra depend on the angle and on long − short; 12 'trajectories' of 20 frames."""
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(105, 8, n), rng.normal(1.05, 0.05, n), rng.normal(0.95, 0.04, n)]
    e = np.linspace(520, 530, 30)
    z1, z2 = (X[:, 0] - 105) / 8, (X[:, 1] - X[:, 2] - 0.1) / 0.06
    Y = np.exp(-0.5 * ((e[None] - 525 - 0.8 * np.tanh(z1)[:, None]) / 0.8) ** 2) * (1 + 0.2 * np.tanh(z2))[:, None]
    return {"XES": Dataset(X, Y, energy=e, feature_names=["angle", "long", "short"], groups=np.repeat(np.arange(n // 20), 20),
                           name="toy-xes")}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("unc")
    logs = []
    result = reproduce_h2o(out, budget=TINY, datasets=_toy(), spectra=("XES",), split="group", log=logs.append)
    return out, result, logs


def test_interval_tables_written(run):
    out, _, _ = run
    rows = list(csv.DictReader(open(out / "table1_intervals.csv")))
    assert [(r["target"], r["k"]) for r in rows] == [("XES", "1"), ("XES", "2")]
    for r in rows:
        for m in ("EDNN", "NNCA", "ECA"):
            med, lo, hi = (float(v) for v in r[f"{m} bootstrap"].replace("[", "").replace("]", "").replace(",", "").split())
            assert lo <= med <= hi
        assert r["finding"].count(";") == 1
    ranks = list(csv.DictReader(open(out / "r2_per_rank.csv")))
    assert {(r["method"], r["rank"]) for r in ranks} == {("ECA", "1"), ("ECA", "2"), ("NNCA k=2", "1"), ("NNCA k=2", "2")}
    dec = list(csv.DictReader(open(out / "decisiveness.csv")))
    assert [r["feature"] for r in dec] == ["angle", "long", "short"]
    rec = list(csv.DictReader(open(out / "reconstructability.csv")))
    assert len(rec) == 6  # ECA k=2 and NNCA k=2, three coordinates each
    assert (out / "basis_bands_xes.png").stat().st_size > 0
    html = (out / "report.html").read_text()
    assert "Decisiveness of each structural coordinate" in html and "group test split" in html
    summary = json.loads((out / "uncertainty" / "XES.json").read_text())
    assert summary["resampled"] == "groups" and len(summary["scores"]["NNCA k=2"]) == 3
    assert np.asarray(summary["components"]["ECA"]).shape == (3, 2, 3)


def test_group_split_keeps_trajectories_apart(run):
    _, result, _ = run
    prov = json.loads((run[0] / "provenance.json").read_text())
    assert prov["split"] == "group" and prov["n_resamples"] == 3


def test_rerun_reads_the_summary(run):
    out, result, _ = run
    logs = []
    reproduce_h2o(out, budget=TINY, datasets=_toy(), spectra=("XES",), split="group", log=logs.append)
    assert any("uncertainty: loaded from" in line for line in logs)


def test_no_intervals_without_resamples(tmp_path):
    logs = []
    reproduce_h2o(tmp_path, budget=replace(TINY, n_resamples=0), datasets=_toy(n=120), spectra=("XES",), log=logs.append)
    assert not (tmp_path / "table1_intervals.csv").exists()


def test_ordering_finding_only_where_intervals_separate():
    iv = lambda m, lo, hi: BootstrapInterval(m, lo, hi, np.array([lo, m, hi]))  # noqa: E731
    f = ordering_finding({"EDNN": iv(0.9, 0.88, 0.92), "NNCA": iv(0.89, 0.87, 0.91), "ECA": iv(0.7, 0.6, 0.8)})
    assert f == "EDNN ≈ NNCA; NNCA > ECA"


def test_cm_feature_groups():
    labels = cm_feature_groups(17)
    assert len(labels) == 153
    assert labels[0] == "Ge self" and labels[1] == "Ge–neighbour 1–4" and labels[5] == "Ge–neighbour 5–6"
    assert labels.count("Ge–neighbour 7–16") == 10
    assert labels[17] == "species of neighbour 1–4"  # M_11
    assert sum(lab.startswith("species") for lab in labels) == 16


def test_geo2_bands_and_summaries(tmp_path):
    from test_geo2_pipeline import _clusters

    from xslatent.pipeline.geo2 import reproduce_geo2

    data = _clusters(n_per_pressure=30, pressures=(0.0, 20.0, 80.0))
    b = replace(TINY, n_resamples=2)
    reproduce_geo2(tmp_path, budget=b, data=data, log=lambda *a: None)
    for name in ("table2_intervals.csv", "decisiveness_by_group.csv", "reconstructability_by_group.csv",
                 "fig5_reconstruction_bands.png", "fig8_basis_vectors_bands.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    groups = list(csv.DictReader(open(tmp_path / "decisiveness_by_group.csv")))
    assert sum(int(r["n_features"]) for r in groups) == 153
    summary = json.loads((tmp_path / "uncertainty" / "moments.json").read_text())
    dist = summary["extra"]["distances"]["NNCA k=2"]
    assert sorted(dist) == ["0", "20", "80"] and np.asarray(dist["20"]).shape == (2, 16)


def test_members_of_a_kept_warm_start_start_from_it(run, monkeypatch, tmp_path):
    """Cold bootstrap, except for the models the run kept as warm starts (NNCA from ECA, EDNN
    from NNCA, emulator from ridge): refitted from scratch, their members would describe the
    searched model that was replaced."""
    from xslatent.pipeline import uncertainty as unc
    from xslatent.selection import Fallback

    _, result, _ = run
    res, prep = result["results"][0], result["preps"]["XES"]
    res = replace(res, fallbacks=[Fallback("NNCA k=1", "warm start from ECA k=1 (fit on train)", "test"),
                                  Fallback("EDNN k=2", "search", "test")])
    calls, real = {}, unc.bootstrap

    class Stop(Exception):
        pass

    def fake_bootstrap(model, X, Y, *, warm_start, **kw):
        calls[id(model)] = warm_start
        if len(calls) == 5:
            raise Stop
        return real(model, X, Y, warm_start=warm_start, **{**kw, "n_resamples": 2})

    monkeypatch.setattr(unc, "bootstrap", fake_bootstrap)
    logs = []
    with pytest.raises(Stop):
        unc.analyse_uncertainty("XES", res, prep, tmp_path, n_resamples=2, log=logs.append)
    m = res.models
    want = {"emulator": False, "ednn_k1": False, "ednn_k2": False, "nnca_k1": True}
    assert {k: calls[id(m[k])] for k in want} == want
    monkeypatch.setattr(unc, "bootstrap", lambda *a, **k: (_ for _ in ()).throw(Stop()))
    with pytest.raises(Stop):  # the rule is part of the cache fingerprint: nothing stale is read
        unc.analyse_uncertainty("XES", res, prep, run[0], n_resamples=3, log=logs.append)
