"""bootstrap fanned out to a Dask cluster gives the in-process members."""

import warnings

import numpy as np
import pytest

from xslatent import NNCA
from xslatent.datasets import make_subspace_spectra
from xslatent.interpret import bootstrap

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")


def test_dask_members_equal_local_members():
    X, Y, _, _ = make_subspace_spectra(300, 3, 1, 12, random_state=0)
    est = NNCA(1, decoder_layer_sizes=(8,), max_iter=10, dtype="float64")
    local = bootstrap(est, X, Y, n_resamples=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.Client(processes=False, n_workers=2, threads_per_worker=1,
                                dashboard_address=None) as client:
            remote = bootstrap(est, X, Y, n_resamples=4, random_state=0, client=client)
    np.testing.assert_allclose(remote.scores(X, Y), local.scores(X, Y), atol=1e-10)
    assert [m.seed_ for m in remote.estimators_] == [m.seed_ for m in local.estimators_]
