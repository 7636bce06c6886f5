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
    import torch

    # Equal to 1e-10 needs a fixed summation order (one intra-op thread) and workers that do
    # not share a process: with processes=False the two worker threads share torch's global
    # state and one member in about six runs came out 7e-4 off (seen 2026-12-03, not yet
    # explained; see the session note). Worker processes, as a real cluster has, pass 12/12.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _check_dask_members_equal_local_members()
    finally:
        torch.set_num_threads(n_threads)


def _check_dask_members_equal_local_members():
    X, Y, _, _ = make_subspace_spectra(300, 3, 1, 12, random_state=0)
    est = NNCA(1, decoder_layer_sizes=(8,), max_iter=10, dtype="float64")
    local = bootstrap(est, X, Y, n_resamples=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.Client(processes=True, n_workers=2, threads_per_worker=1,
                                dashboard_address=None) as client:
            remote = bootstrap(est, X, Y, n_resamples=4, random_state=0, client=client)
    np.testing.assert_allclose(remote.scores(X, Y), local.scores(X, Y), atol=1e-10)
    assert [m.seed_ for m in remote.estimators_] == [m.seed_ for m in local.estimators_]
