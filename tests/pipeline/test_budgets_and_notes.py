"""Budgets in optimizer steps, the run-time estimate, and the nesting notes under the tables."""

import math

import numpy as np
import pytest

from xslatent.pipeline._budgets import BUDGETS, MIN_PATIENCE, Budget, announce, estimate_seconds
from xslatent.pipeline.analysis import TargetResult, nesting_warnings
from xslatent.pipeline.tables import notes_html, table_notes, table_rows, write_table
from xslatent.selection import Baseline, Fallback


@pytest.mark.parametrize(
    "name, n_train, expected",
    [
        ("quick", 8000, (120, 10)),  # bundled H2O: the epoch counts the budgets always had
        ("standard", 8000, (300, 20)),
        ("paper", 8000, (1000, 20)),
        ("quick", 800, (960, 80)),  # 10x less data: the same number of optimizer steps
        ("standard", 2341, (967, 65)),  # the 2926-site GeO2 set of the issue
        ("quick", 11405, (83, 7)),
    ],
)
def test_budget_epochs_follow_optimizer_steps(name, n_train, expected):
    b = BUDGETS[name]
    assert b.epochs(n_train) == expected
    max_iter, _ = b.epochs(n_train)
    assert max_iter * b.steps_per_epoch(n_train) >= b.max_steps > (max_iter - 1) * b.steps_per_epoch(n_train)


def test_budget_without_steps_keeps_epochs_and_patience_has_a_floor():
    b = Budget("tiny", {"emulator": 2, "ednn": 1, "nnca": 1}, cv=2, max_iter=15, n_iter_no_change=5, eca_restarts=2)
    assert b.epochs(100) == (15, 5) and b.epochs(10**6) == (15, 5)
    big = Budget("big", {"emulator": 1, "ednn": 1, "nnca": 1}, cv=5, max_iter=1, n_iter_no_change=1, eca_restarts=1,
                 max_steps=100, patience_steps=10)
    assert big.epochs(10**6)[1] == MIN_PATIENCE


def test_paper_budget_is_the_papers_protocol():
    p = BUDGETS["paper"]
    assert p.search_n_iter("ednn", "h2o") == 20000 and p.search_n_iter("nnca", "geo2") == 200000
    assert p.search_n_iter("emulator", "geo2") == 200000 and p.cv == 5 and p.pruning


def test_estimate_scales_with_candidates_and_workers(monkeypatch):
    from xslatent.pipeline import _budgets

    monkeypatch.setattr(_budgets, "_measure_step_seconds", lambda *a, **k: 1e-3)
    q = BUDGETS["quick"]
    # 3 + 2 * (2 + 2) = 11 searches x 3 folds x 2880 steps x 0.5 x 1 ms
    assert estimate_seconds(q, "h2o", 8000, 3, 100) == pytest.approx(11 * 3 * 2880 * 0.4 * 1e-3)
    p = BUDGETS["paper"]
    h2o = estimate_seconds(p, "h2o", 8000, 3, 100, n_targets=3, n_workers=4)
    assert h2o == pytest.approx(3 * 100000 * 5 * 29000 * 0.4 * 0.15 * 1e-3 / 4)

    class Data:
        X, Y = np.zeros((10000, 3)), np.zeros((10000, 100))

        def __len__(self):
            return 10000

    lines = []
    sec = announce(p, "h2o", Data(), n_targets=3, log=lines.append)
    assert sec == pytest.approx(3 * 100000 * 5 * 29000 * 0.4 * 0.15 * 1e-3)
    assert "estimated search time 30.2 days" in lines[0] and "Dask" in lines[0]


def _result(name="XES"):
    res = TargetResult(name)
    res.emulator_r2 = 0.495
    res.r2 = {("EDNN", 1): 0.487, ("NNCA", 1): 0.518, ("ECA", 1): 0.45}
    res.cv_noise = {"emulator": 0.004, "ednn_k1": 0.002}
    res.baselines = {"ridge": Baseline("ridge", np.array([0.5, 0.52]), 0.51, 0.01, 0.53, {"alpha": 1.0})}
    res.fallbacks = [Fallback("EDNN k=1", "warm start from NNCA k=1", "searched CV 0.4 < NNCA k=1 CV 0.5"),
                     Fallback("emulator", "search", "searched CV 0.6 >= ridge CV 0.51")]
    return res


def test_violations_are_printed_under_the_table_and_in_the_report(tmp_path):
    res = _result()
    res.warnings = nesting_warnings(res)
    assert res.warnings == [
        "XES: emulator (0.4950) does not beat ridge (0.5300)",
        "XES: NNCA k=1 (0.5180) > EDNN k=1 (0.4870) by 0.0310, more than the CV noise 0.0020",
        "XES: NNCA k=1 (0.5180) > emulator (0.4950) by 0.0230, more than the CV noise 0.0040",
    ]
    notes = table_notes([res])
    assert notes[0] == "XES: EDNN k=1: warm start from NNCA k=1 (searched CV 0.4 < NNCA k=1 CV 0.5)"
    assert notes[1:] == ["WARNING " + w for w in res.warnings]
    rows = table_rows([res], {}, components=(1,))
    assert rows[0]["ridge"] == 0.53 and "group mean" not in rows[0]
    md = write_table(rows, tmp_path, "t", notes)
    assert md.splitlines()[-1] == "- WARNING XES: NNCA k=1 (0.5180) > emulator (0.4950) by 0.0230, more than the CV noise 0.0040"
    html = notes_html(notes)
    assert html.count("<li") == 4 and html.count("color:#b00") == 3
    assert notes_html([]) == ""


def test_no_notes_when_the_searches_respect_the_nesting():
    res = _result()
    res.emulator_r2 = 0.99
    res.r2 = {("EDNN", 1): 0.9, ("NNCA", 1): 0.85, ("ECA", 1): 0.8}
    res.fallbacks = []
    assert nesting_warnings(res) == []
    assert not math.isnan(res.baselines["ridge"].test_score)


def test_nesting_checks_nnca_against_the_train_fitted_eca_only():
    from xslatent.pipeline.analysis import ECA_LABEL

    res = _result()
    res.emulator_r2 = 0.99
    res.fallbacks = []
    # the test-fitted ECA (the paper's protocol) is scored in-sample: 0.95 > NNCA is no violation
    res.r2 = {("EDNN", 1): 0.9, ("NNCA", 1): 0.85, ("ECA", 1): 0.95, (ECA_LABEL["train"], 1): 0.84}
    assert res.eca_fit_on == "test" and nesting_warnings(res) == []
    res.r2[(ECA_LABEL["train"], 1)] = 0.88
    assert nesting_warnings(res) == [
        "XES: ECA k=1 (0.8800) > NNCA k=1 (0.8500) by 0.03000, more than the floor 0.0001"]
    res.eca_fit_on = "train"
    res.r2 = {("EDNN", 1): 0.9, ("NNCA", 1): 0.85, ("ECA", 1): 0.88}
    assert len(nesting_warnings(res)) == 1
