import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # The test machine is shared; one thread also makes float results reproducible.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(151, 4))
    Y = np.c_[np.sin(X[:, :2]), X[:, 2:] ** 2, X.sum(1, keepdims=True), X[:, :1] * X[:, 1:2]]
    return X, Y
