"""``reproduce paper`` on toy data and tiny budgets: one report with every table and figure, resume."""

import json

import numpy as np
import pytest

from xslatent.pipeline.analysis import Budget
from xslatent.pipeline.paper import InverseBudget, reproduce_paper

from test_geo2_pipeline import _clusters
from test_reproduce import _toy_h2o

TINY = Budget("tiny", {"emulator": 1, "ednn": 1, "nnca": 1}, cv=2, max_iter=10, n_iter_no_change=5, eca_restarts=1)
TINY_INV = InverseBudget(n_search=1, cv=2, max_iter=5, n_components=(1,), max_samples=50)


def _run(out, logs):
    return reproduce_paper(out, budget=TINY, inverse_budget=TINY_INV, h2o_datasets={"XES": _toy_h2o(120)["XES"]},
                           geo2_data=_clusters(n_per_pressure=16), log=logs.append)


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    logs = []
    return out, _run(out, logs), logs


@pytest.mark.slow  # about 40 s of CPU: every step of the paper, twice (run and resume)
def test_one_report_with_every_table_and_figure(paper_run):
    out, result, logs = paper_run
    html = (out / "report.html").read_text()
    for title in ("Table 1: H2O", "Table 2: GeO2", "Fig. 2:", "Fig. 3:", "polynomial emulator", "isosurfaces",
                  "Fig. 5:", "Figs. 6–7", "Fig. 8:", "Wall time per step", "Provenance", "optimistic"):
        assert title in html, title
    # Figs 2, 3 (MLP + polynomial + 3-D), 5 (Å + per rank), 6, 7, 8 are embedded images
    assert html.count("data:image/png;base64") >= 9
    assert [r["target"] for r in result["table1"]] == ["XES", "XES"]
    assert result["table1"][0]["EDNN (paper)"] == 0.86 and result["table2"][0]["ECA (paper)"] == 0.77
    assert np.isfinite(result["table1"][0]["ECA (fit on train)"])
    assert set(result["inverse"]) == {"GeO2", "H2O XES"}
    assert result["inverse"]["GeO2"]["1"]["depths"][0] in range(1, 6)
    poly = json.loads((out / "h2o" / "fig3_polynomial.json").read_text())
    assert poly[0]["degree"] in range(1, 11) and poly[0]["test R2"] > 0.5
    steps = json.loads((out / "steps.json").read_text())
    assert set(steps) == {"fig6_geo2", "fig7_h2o_xes"}
    assert result["seconds"]["total"] >= sum(v for k, v in result["seconds"].items() if k != "total") - 1e-6


@pytest.mark.slow
def test_rerun_resumes(paper_run):
    out, result, _ = paper_run
    logs = []
    again = _run(out, logs)
    assert sum("done earlier" in line for line in logs) == 2
    assert sum("loaded from" in line for line in logs) == 5 + 5  # H2O XES and GeO2: emulator, ednn/nnca k1/k2
    assert again["table1"] == result["table1"] and again["table2"] == result["table2"]


def test_cli_rejects_unknown_budget(capsys):
    from xslatent.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["reproduce", "paper", "--budget", "huge", "--out", "x"])
    assert e.value.code == 2


def test_budget_is_validated_before_any_work(tmp_path):
    from xslatent.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'budget'.*'quick', 'standard', 'paper'.*Got 'huge'"):
        reproduce_paper(tmp_path / "p", budget="huge")
    assert not (tmp_path / "p").exists()


def test_inverse_budgets_cover_the_table4_grid_only_for_paper():
    from xslatent.pipeline.paper import INVERSE_BUDGETS
    from xslatent.selection import load_preset

    for system in ("h2o", "geo2"):
        grid = load_preset(f"{system}-ednn-square-lrelu").grid_size()
        assert grid == 750
        assert INVERSE_BUDGETS["paper"].n_search >= grid > INVERSE_BUDGETS["standard"].n_search


def test_budget_object_takes_the_inverse_budget_of_its_name(tmp_path):
    from xslatent.exceptions import InvalidParameterError

    # a Budget named like no inverse budget needs one given; the name is what is checked
    with pytest.raises(InvalidParameterError, match="'budget' parameter of reproduce_paper"):
        reproduce_paper(tmp_path, budget=TINY, h2o_datasets={}, geo2_data=None)
