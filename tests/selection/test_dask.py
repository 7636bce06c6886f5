"""A search fanned out to a Dask LocalCluster gives the local result (kept quick)."""

import warnings

import numpy as np
import pytest

from xslatent import EDNN
from xslatent.exceptions import ConvergenceWarning
from xslatent.selection import AsynchronousHalving, RandomizedSearch, SuccessiveHalving

distributed = pytest.importorskip("distributed")

SPACE = {
    "encoder_layer_sizes": {"depth": [1, 2], "width": [5, 8]},
    "decoder_layer_sizes": [(6,)],
    "learning_rate_init": {"distribution": "loguniform", "low": 3e-3, "high": 3e-2},
}


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=40,
        )
        c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.mark.parametrize(
    "pruning",
    [None, SuccessiveHalving(min_epochs=2, eta=2), AsynchronousHalving(min_epochs=2, eta=2, wave_size=2),
     AsynchronousHalving(min_epochs=2, eta=2, wave_size=3, rung_folds=1)],
    ids=["plain", "halving", "asha", "asha-rung-folds"],
)
def test_dask_equals_local(client, data, tmp_path, pruning):
    X, Y = data
    kw = dict(n_iter=6, cv=3, random_state=0, pruning=pruning, refit=False)
    est = EDNN(1, max_iter=8, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = RandomizedSearch(est, SPACE, **kw).fit(X, Y)
        remote = RandomizedSearch(est, SPACE, client=client, store=tmp_path / "s.sqlite", **kw).fit(
            X, Y
        )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-9
    )
    assert list(remote.cv_results_["status"]) == list(local.cv_results_["status"])
    assert remote.n_trained_ == local.n_trained_
    if getattr(pruning, "rung_folds", None) is None:
        assert remote.n_trained_ == 18
