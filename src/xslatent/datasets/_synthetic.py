"""Synthetic structure–spectrum data with a known decisive subspace (for tests and examples)."""

from __future__ import annotations

import numpy as np

from .._validation import Interval, Options, RANDOM_STATE, validate_params

__all__ = ["make_subspace_spectra"]

_CONSTRAINTS = {
    "n_samples": [Interval(int, 2, None)],
    "n_features": [Interval(int, 1, None)],
    "n_components": [Options((1, 2))],
    "n_channels": [Interval(int, 2, None)],
    "kind": [Options(("linear", "radial"))],
    "noise": [Interval(float, 0, None, closed="left")],
    "random_state": [RANDOM_STATE],
}


def _gauss(e, centre, width):
    return np.exp(-0.5 * ((e[None, :] - centre[:, None]) / width) ** 2)


def make_subspace_spectra(
    n_samples: int = 2000,
    n_features: int = 10,
    n_components: int = 2,
    n_channels: int = 60,
    *,
    kind: str = "linear",
    noise: float = 0.0,
    random_state: int | None = None,
):
    """Spectrum-like targets that depend on ``X`` only through a known subspace.

    ``X`` is standard normal. With ``kind="linear"`` the spectra depend on the scores
    ``z = X W^T`` of a random orthonormal ``W`` (``n_components`` × ``n_features``): two
    Gaussian peaks on a grid over [0, 1] whose positions and heights are smooth nonlinear
    functions of ``z``. With ``kind="radial"`` they depend on the single nonlinear scalar
    ``r = ||(x_1, x_2)||`` (``W`` then spans the first two axes), which no one-dimensional
    linear projection captures.

    Parameters
    ----------
    n_samples, n_features, n_channels : int
        Shape of ``X`` (n_samples × n_features) and ``Y`` (n_samples × n_channels).
    n_components : {1, 2}, default=2
        Dimension of the decisive subspace for ``kind="linear"``.
    kind : {"linear", "radial"}, default="linear"
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to ``Y``.
    random_state : int or None

    Returns
    -------
    X : ndarray (n_samples, n_features)
    Y : ndarray (n_samples, n_channels)
    W : ndarray (k, n_features)
        Orthonormal basis of the decisive subspace.
    energy : ndarray (n_channels,)
    """
    validate_params(
        "make_subspace_spectra",
        dict(n_samples=n_samples, n_features=n_features, n_components=n_components,
             n_channels=n_channels, kind=kind, noise=noise, random_state=random_state),
        _CONSTRAINTS,
    )
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    e = np.linspace(0.0, 1.0, n_channels)
    if kind == "radial":
        if n_features < 2:
            raise ValueError("kind='radial' needs n_features >= 2.")
        W = np.eye(n_features)[:2]
        r = np.linalg.norm(X[:, :2], axis=1)
        s = np.tanh(r - 1.2)
        Y = (1.0 + 0.5 * s)[:, None] * _gauss(e, 0.35 + 0.12 * s, 0.07) + 0.8 * _gauss(
            e, 0.7 - 0.08 * s, 0.06
        )
    else:
        if n_components > n_features:
            raise ValueError("n_components must not exceed n_features.")
        Q, _ = np.linalg.qr(rng.standard_normal((n_features, n_components)))
        W = Q.T
        z = X @ W.T
        z1 = z[:, 0]
        z2 = z[:, 1] if n_components == 2 else np.zeros(n_samples)
        p1 = 0.33 + 0.10 * np.tanh(0.8 * z1)
        h1 = 1.0 + 0.35 * np.tanh(0.9 * z2) + 0.15 * np.tanh(z1)
        p2 = 0.68 + 0.07 * np.tanh(0.7 * z2) - 0.04 * np.tanh(z1)
        h2 = 0.8 + 0.25 * np.tanh(0.8 * z1 - 0.4 * z2)
        Y = h1[:, None] * _gauss(e, p1, 0.06) + h2[:, None] * _gauss(e, p2, 0.05)
    if noise > 0:
        Y = Y + noise * rng.standard_normal(Y.shape)
    return X, Y, W, e


_LINEAR_CONSTRAINTS = {
    "n_samples": [Interval(int, 2, None)],
    "n_features": [Interval(int, 2, None)],
    "n_outputs": [Interval(int, 1, None)],
    "rank": [Interval(int, 1, None)],
    "nonlinearity": [Interval(float, 0, None, closed="left")],
    "noise": [Interval(float, 0, None, closed="left")],
    "random_state": [RANDOM_STATE],
}


def make_mostly_linear(
    n_samples: int = 3000,
    n_features: int = 150,
    n_outputs: int = 8,
    *,
    rank: int = 4,
    nonlinearity: float = 0.5,
    noise: float = 0.5,
    random_state: int | None = None,
):
    """Targets with a known linear part, a small nonlinearity and noise (a GeO2-like problem).

    ``X`` has correlated features (standard normal scores mixed by a random matrix, then
    standardized), as descriptors such as Coulomb matrices do. The targets are

    ``Y = X B + nonlinearity * tanh(X w1) * tanh(X w2) c^T + noise * E``

    with ``B`` of rank ``rank`` (a few structural directions matter), ``w1``, ``w2`` unit
    vectors in the span of ``B``'s input directions, ``c`` a random unit vector and ``E``
    standard normal. Ridge regression recovers ``X B``; only a nonlinear model can also
    cover the product term; nothing covers the noise.

    Parameters
    ----------
    n_samples, n_features, n_outputs : int
    rank : int, default=4
        Rank of the linear map (at most ``min(n_features, n_outputs)``).
    nonlinearity : float, default=0.5
        Amplitude of the nonlinear term.
    noise : float, default=0.5
        Standard deviation of the noise added to each target.
    random_state : int or None

    Returns
    -------
    X : ndarray (n_samples, n_features)
    Y : ndarray (n_samples, n_outputs)
    B : ndarray (n_features, n_outputs)
        The linear part.
    r2_linear : float
        Population R2 of the linear part alone, ``var(X B) / var(Y)`` summed over targets
        (estimated on a fresh draw of 200 000 rows): what ridge can reach.
    """
    validate_params(
        "make_mostly_linear",
        dict(n_samples=n_samples, n_features=n_features, n_outputs=n_outputs, rank=rank,
             nonlinearity=float(nonlinearity), noise=float(noise), random_state=random_state),
        _LINEAR_CONSTRAINTS,
    )
    if rank > min(n_features, n_outputs):
        raise ValueError(
            f"The 'rank' parameter of make_mostly_linear must be at most min(n_features, n_outputs)="
            f"{min(n_features, n_outputs)}. Got {rank} instead."
        )
    rng = np.random.default_rng(random_state)
    mix = rng.standard_normal((n_features, n_features)) / np.sqrt(n_features) + np.eye(n_features)
    U, _ = np.linalg.qr(rng.standard_normal((n_features, rank)))
    V, _ = np.linalg.qr(rng.standard_normal((n_outputs, rank)))
    B = U @ np.diag(np.linspace(1.0, 0.4, rank)) @ V.T
    w1, w2 = U[:, 0], U[:, 1 % rank]
    c = rng.standard_normal(n_outputs)
    c /= np.linalg.norm(c)

    def draw(n, g):
        Z = g.standard_normal((n, n_features)) @ mix
        X = Z / np.sqrt(np.sum(mix**2, axis=0))  # unit variance per feature
        lin = X @ B
        nl = nonlinearity * (np.tanh(X @ w1) * np.tanh(1.5 * (X @ w2)))[:, None] * c[None, :]
        return X, lin, nl + noise * g.standard_normal((n, n_outputs))

    X, lin, rest = draw(n_samples, rng)
    _, lin_p, rest_p = draw(200_000, np.random.default_rng(rng.integers(2**32)))
    Yp = lin_p + rest_p
    r2_linear = float(np.sum(lin_p.var(axis=0)) / np.sum(Yp.var(axis=0)))
    return X, lin + rest, B, r2_linear
