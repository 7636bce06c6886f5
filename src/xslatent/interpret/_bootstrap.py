"""Bootstrap ensembles: refit an estimator on resampled training groups and seeds.

Every reported number of a trained network depends on the rows it saw and on its seed.
:func:`bootstrap` refits clones of one estimator (its hyper-parameters fixed, e.g. those a
search selected) on ``n_resamples`` bootstrap resamples of the training data, each member
with its own seed, and returns a :class:`BootstrapEnsemble` whose methods turn the members
into percentile intervals: test R2, basis vectors (aligned to a reference), R2 per rank and
reconstructions.

Resampling: with ``groups`` (MD trajectories, melt-quench runs) whole groups are drawn with
replacement (a cluster bootstrap: frames of one trajectory are not independent, so drawing
rows would understate the spread); without, rows are drawn with replacement. Rows never
drawn are the member's out-of-bag rows.

Training: members of the torch estimators (:class:`~xslatent.MLPEmulator`,
:class:`~xslatent.EDNN`, :class:`~xslatent.NNCA`) share one architecture, so all of them
train as *one* stacked network through :class:`~xslatent.nn._batched.BatchedTrainer` (the
engine of the model search), each member keeping its own rows, seed, minibatch order and
stopping rule; this gives exactly what ``n_resamples`` separate ``fit`` calls give (up to
float rounding) at a fraction of the cost. An :class:`~xslatent.ECA` is bootstrapped by
bootstrapping its emulator that way, then fitting one ECA per member emulator on the
member's rows. Other scikit-learn estimators are cloned and fitted one by one. With a Dask
``client`` the members are split into one stack per worker.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import clone

from .._validation import (
    BOOLEAN,
    RANDOM_STATE,
    Interval,
    check_array,
    check_X_y,
    check_random_state_int,
    validate_params,
)
from ..exceptions import InvalidParameterError
from ..metrics import r2_score

__all__ = ["BootstrapEnsemble", "BootstrapInterval", "align_components", "bootstrap", "eca_on_ensemble",
           "intervals_separate"]

_CONSTRAINTS = {
    "n_resamples": [Interval(int, 2, None)],
    "random_state": [RANDOM_STATE],
    "batched": [BOOLEAN],
    "warm_start": [BOOLEAN],
}
_CONFIDENCE = {"confidence": [Interval(float, 0, 1, closed="neither")]}


class BootstrapInterval(NamedTuple):
    """A percentile interval over the members of a bootstrap ensemble.

    Attributes
    ----------
    estimate : float or ndarray
        Median over the members.
    low, high : float or ndarray
        ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles over the members.
    values : ndarray of shape (n_members, ...)
        The members' values.
    """

    estimate: Any
    low: Any
    high: Any
    values: np.ndarray

    def format(self, digits: int = 3) -> str:
        """``"0.912 [0.901, 0.925]"`` (scalar intervals)."""
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _interval(values, confidence: float) -> BootstrapInterval:
    validate_params("BootstrapEnsemble", {"confidence": confidence}, _CONFIDENCE)
    v = np.asarray(values, dtype=np.float64)
    q = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN entries stay NaN
        lo, med, hi = np.nanpercentile(v, [q, 50.0, 100 - q], axis=0)
    if v.ndim == 1:
        lo, med, hi = float(lo), float(med), float(hi)
    return BootstrapInterval(med, lo, hi, v)


def intervals_separate(a: BootstrapInterval, b: BootstrapInterval) -> bool:
    """True when two scalar intervals do not overlap (an ordering that counts as a finding)."""
    return bool(a.low > b.high or b.low > a.high)


def align_components(V, reference) -> np.ndarray:
    """Align a basis to a reference basis of the same span dimension.

    One vector: the sign that makes it point along the reference. Several: the orthogonal
    Procrustes rotation ``R = argmin ||R V - V_ref||_F`` within the span of ``V`` (from the
    SVD of ``V_ref V^T``), so that members which found the same subspace with a different
    in-plane orientation (NNCA without rank order) compare entry by entry.

    Parameters
    ----------
    V, reference : array-like of shape (k, n_features)

    Returns
    -------
    ndarray of shape (k, n_features)
    """
    V = np.atleast_2d(np.asarray(V, dtype=np.float64))
    R0 = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    if V.shape != R0.shape:
        raise InvalidParameterError(
            f"The 'reference' argument of align_components must have the shape of the basis "
            f"{V.shape}. Got {R0.shape} instead."
        )
    if V.shape[0] == 1:
        return V * (1.0 if float(V[0] @ R0[0]) >= 0 else -1.0)
    U, _, Wt = np.linalg.svd(R0 @ V.T)
    return (U @ Wt) @ V


def _check_labels(groups, n: int, owner: str) -> np.ndarray:
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise InvalidParameterError(
            f"The 'groups' argument of {owner} must have one label per sample, shape ({n},). "
            f"Got shape {groups.shape} instead."
        )
    return groups


def _resamples(n: int, groups, n_resamples: int, rng: np.random.Generator):
    """(train rows, out-of-bag rows) per member; whole groups with ``groups``."""
    out = []
    if groups is None:
        for _ in range(n_resamples):
            rows = np.sort(rng.integers(0, n, n))
            out.append((rows, np.setdiff1d(np.arange(n), rows)))
        return out
    labels, codes = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(codes == g) for g in range(labels.shape[0])]
    for _ in range(n_resamples):
        drawn = rng.integers(0, labels.shape[0], labels.shape[0])
        rows = np.concatenate([members[g] for g in np.sort(drawn)])
        oob = np.setdiff1d(np.arange(labels.shape[0]), drawn)
        out.append((rows, np.concatenate([members[g] for g in oob]) if oob.size else np.empty(0, int)))
    return out


def _is_torch(est) -> bool:
    from .._base import TorchNetworkEstimator

    return isinstance(est, TorchNetworkEstimator)


#: fewest out-of-bag rows a member validates its early stopping on (else it holds out a
#: ``validation_fraction`` of its own resample, as a plain fit does)
MIN_OOB_VALIDATION = 10


def _oob_validation(template, val_rows):
    """The member's early-stopping rows: its out-of-bag rows, when the template stops early."""
    if val_rows is None or not getattr(template, "early_stopping", False) or len(val_rows) < MIN_OOB_VALIDATION:
        return None
    return np.asarray(val_rows, dtype=np.int64)


def _fit_torch_stack(template, X, Y, rows_list, seeds, batched: bool, warm: bool = False, val_list=None):
    """Members of one torch estimator, trained as one stacked network when possible; with
    ``warm``, every member starts from the fitted ``template``'s weights. With early
    stopping, a member validates on its out-of-bag rows (``val_list``): rows of its own
    resample would repeat rows it trains on and never stop it."""
    from ..nn._batched import BatchedMember, BatchedTrainer, NotBatchableError
    from ..nn._modules import copy_weights
    from ..nn._train import DTYPES
    from ..selection._backend import build_module
    from .._validation import resolve_device

    ests = [clone(template).set_params(random_state=int(s)) for s in seeds]
    if warm:
        for e in ests:
            e.set_params(max_iter=_warm_max_iter(template))

    def start(module):
        if warm:
            copy_weights(template.module_, module)
        return module

    vals = [_oob_validation(template, v) for v in (val_list or [None] * len(rows_list))]

    def one_by_one():
        return [e._fit_network(X[r], Y[r], warm_start=start if warm else None,
                               validation=None if v is None else (X[v], Y[v]))
                for e, r, v in zip(ests, rows_list, vals)]

    if not batched:
        return one_by_one()
    ests[0]._validate_params()
    ests[0]._check_shapes(X, Y)
    device, dtype = resolve_device(template.device), DTYPES[template.dtype]
    members = [
        BatchedMember(start(build_module(e, int(s), X.shape[1], Y.shape[1])), r, e._train_config(), int(s), tag=i,
                      validation_rows=v)
        for i, (e, r, s, v) in enumerate(zip(ests, rows_list, seeds, vals))
    ]
    try:
        trainer = BatchedTrainer(members, X, Y, device=device, dtype=dtype, keep_states=True)
    except NotBatchableError:
        return one_by_one()
    for o in trainer.run():
        if o.status != "ok":
            raise RuntimeError(f"Bootstrap member {o.tag} of {type(template).__name__} failed: {o.error}")
        e, r, s = ests[o.tag], rows_list[o.tag], int(seeds[o.tag])
        module = build_module(e, s, X.shape[1], Y.shape[1])
        module.load_state_dict(o.state)
        e._adopt_network(module, o.result, X[r], Y[r], s)
    return ests


def _eca_members(template, emulators, X, Y, rows_list, seeds, **params):
    """One ECA per fitted member emulator, on that member's rows."""
    return [
        clone(template).set_params(emulator=em, random_state=int(s), **params).fit(X[r], Y[r])
        for em, r, s in zip(emulators, rows_list, seeds)
    ]


def eca_on_ensemble(eca, emulators: BootstrapEnsemble, X, y, *, warm_start: bool = False) -> BootstrapEnsemble:
    """Bootstrap ensemble of ECA built on an emulator ensemble (no emulator is retrained).

    Member ``i`` is ``eca`` (cloned; its ``emulator`` replaced) fitted with member ``i``'s
    emulator on member ``i``'s rows: what :func:`bootstrap` of an ECA does, for an emulator
    ensemble that is already there.

    Parameters
    ----------
    eca : ECA
        Template (fitted or not; a fitted one becomes the reference).
    emulators : BootstrapEnsemble
        Members are fitted emulators; its rows refer to ``X``.
    X, y : array-like
        The data ``emulators`` was bootstrapped on.
    warm_start : bool, default=False
        Start each member's projection pursuit from the fitted ``eca``'s basis, with one
        restart (``init=eca.components_``, ``n_restarts=1``) and a plateau test a third as
        long (``n_iter_no_change``, at least 5). A member then costs a few plateau lengths
        instead of a full search (on the H2O data about a twentieth), at a
        price: the interval measures the spread of the optimum near the selected basis and
        would miss members that converge to another optimum from random starts.

    Returns
    -------
    BootstrapEnsemble
    """
    X, Y = check_X_y(X, y, owner="eca_on_ensemble", y_name="y")
    params = {}
    if warm_start:
        if not hasattr(eca, "components_"):
            raise InvalidParameterError(
                "The 'eca' argument of eca_on_ensemble must be fitted when warm_start=True. Got an unfitted ECA."
            )
        params = _eca_warm_params(eca)
    t0 = time.perf_counter()
    members = _eca_members(eca, emulators.estimators_, X, Y, emulators.train_indices_, emulators.seeds_, **params)
    return BootstrapEnsemble(members, emulators.train_indices_, emulators.oob_indices_, emulators.seeds_,
                             eca if _is_fitted(eca) else None, emulators.groups_,
                             time.perf_counter() - t0, emulators.batched_)


def _warm_max_iter(est) -> int:
    """Epochs of a warm-started member: a quarter of the template's ``max_iter``, at least
    twice its ``n_iter_no_change`` (it starts at the fitted optimum and only adapts to its
    resample)."""
    return int(max(2 * est.n_iter_no_change, math.ceil(est.max_iter / 4)))


def _eca_warm_params(eca) -> dict:
    """ECA parameters of a member that starts from the fitted ``eca``'s basis: one restart
    (the basis) and a plateau test a third as long (at least 5 steps)."""
    return {"init": np.asarray(eca.components_).tolist(), "n_restarts": 1,
            "n_iter_no_change": max(5, int(eca.n_iter_no_change) // 3)}


def _fit_members(template, X, Y, rows_list, seeds, batched: bool, warm: bool = False, val_list=None):
    from ..decomposition import ECA
    from ..exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if isinstance(template, ECA):
            if warm:
                emulators = _fit_members(template.emulator_, X, Y, rows_list, seeds, batched, warm=True,
                                         val_list=val_list)
                return _eca_members(template, emulators, X, Y, rows_list, seeds, **_eca_warm_params(template))
            emulators = _fit_members(clone(template.emulator), X, Y, rows_list, seeds, batched, val_list=val_list)
            return _eca_members(template, emulators, X, Y, rows_list, seeds)
        if _is_torch(template):
            return _fit_torch_stack(template, X, Y, rows_list, seeds, batched, warm, val_list)
        out = []
        for r, s in zip(rows_list, seeds):
            est = clone(template)
            if "random_state" in est.get_params(deep=False):
                est.set_params(random_state=int(s))
            out.append(est.fit(X[r], Y[r]))
        return out


def bootstrap(
    estimator,
    X,
    y,
    *,
    n_resamples: int = 20,
    groups=None,
    random_state: int | None = None,
    client=None,
    batched: bool = True,
    warm_start: bool = False,
) -> BootstrapEnsemble:
    """Refit clones of ``estimator`` on bootstrap resamples of ``(X, y)`` and seeds.

    Parameters
    ----------
    estimator : estimator
        An emulator, ECA, NNCA, EDNN (or any scikit-learn regressor), fitted or not. It is
        cloned: its hyper-parameters are kept, its fitted state is not used (a fitted
        estimator serves as the reference for aligning basis vectors).
    X : array-like of shape (n_samples, n_features)
        Training structures (standardized).
    y : array-like of shape (n_samples, n_outputs)
        Training targets (scaled).
    n_resamples : int, default=20
        Members of the ensemble.
    groups : array-like of shape (n_samples,), default=None
        Draw whole groups (trajectories, runs) with replacement instead of rows.
    random_state : int or None, default=None
        Seed of the resampling and of the members' seeds.
    client : dask.distributed.Client, optional
        Train one stack of members per worker.
    batched : bool, default=True
        Train same-shape torch members as one stacked network; False fits them one by one
        (the reference the batched path reproduces; for benchmarks).
    warm_start : bool, default=False
        Start every member from the fitted ``estimator``'s weights (an ECA: its emulator's
        weights and its basis, one restart) instead of a fresh initialisation; each member
        still trains on its own resample, with its own seed (minibatch order, validation
        split) and the same stopping rule, for at most a quarter of ``max_iter`` epochs (at
        least ``2 * n_iter_no_change``); ECA members keep a plateau test a third as long. A
        member then costs a fraction of a full fit (on the H2O data 3-7x less).
        The price: the interval measures the data-resampling spread around the selected
        solution and leaves out the spread over initialisations (members that a fresh start
        would take to another optimum), so it is narrower than a full bootstrap. Needs a
        fitted torch estimator (emulator, EDNN, NNCA) or ECA.

    Returns
    -------
    BootstrapEnsemble

    Notes
    -----
    A torch member with ``early_stopping`` stops on its **out-of-bag** rows (whole groups
    with ``groups``) and trains on all of its resample: a validation split drawn from the
    resample itself would mostly repeat rows the member trains on (about 63 % of the rows of
    a resample are distinct, each drawn 1.6 times on average) and stop too late. Members
    with fewer than ``MIN_OOB_VALIDATION`` (10) out-of-bag rows hold out their
    ``validation_fraction`` as a plain fit does. The out-of-bag rows then choose each
    member's stopping epoch, so scores on them (e.g. :func:`decisiveness` without
    ``X_eval``) are slightly optimistic; pass held-out rows (the pipelines use the test split).

    Examples
    --------
    >>> from xslatent import NNCA
    >>> from xslatent.datasets import make_subspace_spectra
    >>> X, Y, W, _ = make_subspace_spectra(300, 4, 1, 20, random_state=0)
    >>> ens = bootstrap(NNCA(1, decoder_layer_sizes=(16,), max_iter=20), X, Y,
    ...                 n_resamples=4, random_state=0)
    >>> len(ens.estimators_)
    4
    """
    validate_params(
        "bootstrap",
        {"n_resamples": n_resamples, "random_state": random_state, "batched": batched, "warm_start": warm_start},
        _CONSTRAINTS,
    )
    X, Y = check_X_y(X, y, owner="bootstrap", y_name="y")
    if warm_start:
        _check_warm_start(estimator)
    if groups is not None:
        groups = _check_labels(groups, X.shape[0], "bootstrap")
        if np.unique(groups).shape[0] < 2:
            raise InvalidParameterError(
                "The 'groups' argument of bootstrap must hold at least 2 distinct groups. Got 1 instead."
            )
    rng = np.random.default_rng(check_random_state_int(random_state))
    splits = _resamples(X.shape[0], groups, int(n_resamples), rng)
    seeds = rng.integers(0, 2**31 - 1, int(n_resamples))
    rows_list = [s[0] for s in splits]
    oob_list = [s[1] for s in splits]
    t0 = time.perf_counter()
    if client is None:
        members = _fit_members(estimator, X, Y, rows_list, seeds, batched, bool(warm_start), oob_list)
    else:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = np.array_split(np.arange(int(n_resamples)), min(n_workers, int(n_resamples)))
        Xf, Yf = client.scatter(X, broadcast=True), client.scatter(Y, broadcast=True)
        futures = [
            client.submit(_fit_members, estimator, Xf, Yf, [rows_list[i] for i in c], seeds[c], batched,
                          bool(warm_start), [oob_list[i] for i in c], pure=False)
            for c in chunks
        ]
        members = [m for part in client.gather(futures) for m in part]
    seconds = time.perf_counter() - t0
    reference = estimator if _is_fitted(estimator) else None
    return BootstrapEnsemble(members, [s[0] for s in splits], [s[1] for s in splits], seeds, reference,
                             groups, seconds, batched)


def _check_warm_start(estimator) -> None:
    from ..decomposition import ECA

    ok = (isinstance(estimator, ECA) and hasattr(estimator, "components_")) or (
        _is_torch(estimator) and hasattr(estimator, "module_"))
    if not ok:
        state = "fitted" if _is_fitted(estimator) else "unfitted"
        raise InvalidParameterError(
            "The 'estimator' argument of bootstrap must be a fitted torch estimator (MLPEmulator, EDNN, "
            f"NNCA) or a fitted ECA when warm_start=True. Got an {state} {type(estimator).__name__} instead."
        )


def _is_fitted(est) -> bool:
    return any(k.endswith("_") and not k.startswith("_") for k in vars(est))


class BootstrapEnsemble:
    """The fitted members of :func:`bootstrap` and intervals computed from them.

    Intervals are percentile intervals over the members (median as the estimate); with 20
    members the default 90 % interval spans the 2nd to the 19th of the sorted values. Test
    scores are taken on data the members never trained on (pass a test split); basis
    vectors are aligned to a reference first (:func:`align_components`).

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    train_indices_ : list of ndarray
        Rows (of the ``X`` given to :func:`bootstrap`) each member trained on, with repeats.
    oob_indices_ : list of ndarray
        Rows each member never saw.
    seeds_ : ndarray of int
    reference_ : estimator or None
        The fitted estimator given to :func:`bootstrap`, if it was fitted.
    groups_ : ndarray or None
    fit_seconds_ : float
        Wall time of training the members.
    batched_ : bool
    """

    def __init__(self, estimators, train_indices, oob_indices, seeds, reference, groups, seconds, batched):
        self.estimators_ = list(estimators)
        self.train_indices_ = list(train_indices)
        self.oob_indices_ = list(oob_indices)
        self.seeds_ = np.asarray(seeds)
        self.reference_ = reference
        self.groups_ = groups
        self.fit_seconds_ = float(seconds)
        self.batched_ = bool(batched)

    def __len__(self) -> int:
        return len(self.estimators_)

    def __repr__(self) -> str:
        kind = type(self.estimators_[0]).__name__
        return f"BootstrapEnsemble({len(self)} × {kind}, trained in {self.fit_seconds_:.1f} s)"

    @property
    def members_per_second_(self) -> float:
        """Members trained per second of wall time."""
        return len(self) / self.fit_seconds_ if self.fit_seconds_ > 0 else math.inf

    # -- scores ----------------------------------------------------------------------------
    def scores(self, X, y, *, n_components: int | None = None) -> np.ndarray:
        """Generalized R2 of every member on ``(X, y)`` (of the rank-``n_components`` model
        for ECA and hierarchical NNCA).

        Returns
        -------
        ndarray of shape (n_members,)
        """
        X, Y = check_X_y(X, y, owner="BootstrapEnsemble.scores", y_name="y")
        kw = {} if n_components is None else {"n_components": n_components}
        return np.array([r2_score(Y, m.predict(X, **kw)) for m in self.estimators_])

    def score_interval(self, X, y, *, n_components: int | None = None, confidence: float = 0.9) -> BootstrapInterval:
        """Interval of the test R2 (see :meth:`scores`)."""
        return _interval(self.scores(X, y, n_components=n_components), confidence)

    def r2_per_rank_interval(self, X=None, y=None, *, confidence: float = 0.9) -> BootstrapInterval:
        """Interval of the cumulative R2 per rank: the members' ``r2_per_rank_`` (their own
        training rows) or, with ``X, y``, their rank-``j`` scores on that data."""
        first = self.estimators_[0]
        if not hasattr(first, "r2_per_rank_"):
            raise InvalidParameterError(
                f"r2_per_rank_interval needs members with ranks (ECA, NNCA). Got {type(first).__name__} instead."
            )
        if X is None:
            vals = np.array([m.r2_per_rank_ for m in self.estimators_])
        else:
            k = first.n_components_
            vals = np.stack([self.scores(X, y, n_components=j) for j in range(1, k + 1)], axis=1)
        return _interval(vals, confidence)

    # -- basis vectors ---------------------------------------------------------------------
    def aligned_components(self, reference=None, *, n_components: int | None = None) -> np.ndarray:
        """Members' basis vectors aligned to ``reference`` (:func:`align_components`).

        Parameters
        ----------
        reference : estimator, array of shape (k, n_features) or None
            None uses :attr:`reference_` when set, else the first member.
        n_components : int or None
            Use the first ``n_components`` vectors (ranked bases).

        Returns
        -------
        ndarray of shape (n_members, k, n_features)
        """
        comps = [np.asarray(m.components_) for m in self.estimators_]
        k = comps[0].shape[0] if n_components is None else int(n_components)
        if reference is None:
            reference = self.reference_ if self.reference_ is not None else comps[0]
        ref = np.asarray(getattr(reference, "components_", reference), dtype=np.float64)[:k]
        return np.stack([align_components(c[:k], ref) for c in comps])

    def components_interval(self, reference=None, *, n_components=None, confidence: float = 0.9) -> BootstrapInterval:
        """Entry-wise interval of the aligned basis vectors, arrays of shape (k, n_features)."""
        return _interval(self.aligned_components(reference, n_components=n_components), confidence)

    # -- reconstructions -------------------------------------------------------------------
    def reconstructions(self, Y, *, n_components=None, inverse=None, **fit_latent_kw) -> np.ndarray:
        """Every member's reconstruction of the structures behind spectra ``Y``.

        Parameters
        ----------
        Y : array-like of shape (n_targets, n_outputs)
            Spectra (scaled as in training).
        n_components : int or None
            Rank used (ECA, hierarchical NNCA).
        inverse : callable or None
            Applied to each member's standardized reconstruction (e.g. the feature scaler's
            ``inverse_transform``) to report physical units.
        **fit_latent_kw
            Passed to ``reconstruct`` (``fit_latent``).

        Returns
        -------
        ndarray of shape (n_members, n_targets, n_features)
        """
        Y = check_array(Y, "Y", owner="BootstrapEnsemble.reconstructions")
        kw = dict(fit_latent_kw)
        if n_components is not None:
            kw["n_components"] = n_components
        out = []
        for m in self.estimators_:
            R = m.reconstruct(Y, **kw)
            out.append(inverse(R) if inverse is not None else R)
        return np.stack(out)

    def reconstruct_interval(self, Y, *, groups=None, n_components=None, inverse=None, confidence: float = 0.9,
                             **fit_latent_kw):
        """Intervals of reconstructions per row and, with ``groups``, of their per-group means.

        Returns
        -------
        rows : BootstrapInterval
            Arrays of shape (n_targets, n_features).
        group_means : dict label -> BootstrapInterval
            Arrays of shape (n_features,); empty without ``groups``.
        """
        R = self.reconstructions(Y, n_components=n_components, inverse=inverse, **fit_latent_kw)
        rows = _interval(R, confidence)
        means = {}
        if groups is not None:
            groups = _check_labels(groups, R.shape[1], "reconstruct_interval")
            for g in np.unique(groups):
                means[g.item() if hasattr(g, "item") else g] = _interval(R[:, groups == g].mean(axis=1), confidence)
        return rows, means
