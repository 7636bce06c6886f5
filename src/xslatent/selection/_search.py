"""Randomized hyper-parameter search with K-fold CV, batched training, a resumable store,
optional successive halving and Dask fan-out."""

from __future__ import annotations

import csv
import json
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, clone

from .._validation import (
    BOOLEAN,
    ESTIMATOR,
    NONE,
    RANDOM_STATE,
    Interval,
    _Constraint,
    check_random_state_int,
    check_X_y,
    validate_params,
)
from ..exceptions import ConvergenceWarning, InvalidParameterError
from ._backend import GroupRun, Task, _result, make_groups
from ._space import SearchSpace
from ._store import ResultStore, data_fingerprint, result_key

__all__ = [
    "AsynchronousHalving",
    "RandomizedSearch",
    "ResultsTable",
    "SuccessiveHalving",
    "candidate_seed",
    "cv_folds",
]

#: estimator parameters that do not change a training's result (left out of store keys)
_NOT_IN_KEY = ("verbose", "device")


def candidate_seed(random_state: int, index: int) -> int:
    """Network seed of candidate ``index``: ``SeedSequence([random_state, index])``'s first
    32-bit word. Every fold of a candidate, and its refit, use this seed."""
    return int(np.random.SeedSequence([int(random_state), int(index)]).generate_state(1)[0])


def cv_folds(cv, X, Y=None, random_state=0, *, owner="RandomizedSearch") -> list:
    """The (train, validation) index pairs of a search: ``cv`` as :class:`RandomizedSearch`
    takes it (an int k gives ``KFold(k, shuffle=True, random_state=random_state)``), each
    index array sorted.

    Parameters
    ----------
    cv : int, splitter or iterable of (train, test)
    X : ndarray
    Y : ndarray, optional
    random_state : int
    owner : str
        Named in error messages.

    Returns
    -------
    list of (ndarray, ndarray)
    """
    from sklearn.model_selection import KFold

    if isinstance(cv, int):
        if cv > X.shape[0]:
            raise InvalidParameterError(
                f"The 'cv' parameter of {owner} must be at most n_samples={X.shape[0]}. "
                f"Got {cv} instead."
            )
        splits = KFold(cv, shuffle=True, random_state=random_state).split(X)
    elif hasattr(cv, "split"):
        splits = cv.split(X, Y)
    else:
        splits = cv
    folds = [
        (np.sort(np.asarray(tr, dtype=np.int64)), np.sort(np.asarray(te, dtype=np.int64)))
        for tr, te in splits
    ]
    if not folds:
        raise InvalidParameterError(f"The 'cv' parameter of {owner} gave no splits.")
    return folds


#: ``pruned_at`` value of a candidate that lost the folds' own rung (AsynchronousHalving.rung_folds)
_FOLDS_RUNG = -1


def _trained(r: dict) -> bool:
    """Whether a result is a training: not a fold that never started (recorded as pruned
    with ``n_iter = 0`` by AsynchronousHalving.rung_folds)."""
    return r["status"] != "pruned" or r["n_iter"] > 0


@dataclass(frozen=True)
class SuccessiveHalving:
    """Synchronous successive halving over epochs (off unless passed as ``pruning``).

    All candidates train (every fold) to ``min_epochs``; candidates are ranked by their mean
    fold score (generalized R2 on the CV validation folds, at each member's best weights so
    far) and only the best ``ceil(n / eta)`` of the ``n`` with a finite score (and any tied
    with the last of them) keep training, to ``min_epochs * eta``, and so on (a rung where no
    candidate has a finite score prunes them all); rungs stop below the largest
    ``max_iter``. Survivors then train to their own stopping rule, exactly as without pruning (their results equal an unpruned search's). Candidates
    that already stopped by their own rule take part in the ranking but are never pruned.
    Pruned candidates are reported with status ``"pruned"`` and their score at the rung.

    Parameters
    ----------
    min_epochs : int, default=10
        First rung.
    eta : int, default=3
        Reduction factor (>= 2).
    """

    min_epochs: int = 10
    eta: int = 3

    def __post_init__(self):
        validate_params(
            "SuccessiveHalving",
            {"min_epochs": self.min_epochs, "eta": self.eta},
            {"min_epochs": [Interval(int, 1, None)], "eta": [Interval(int, 2, None)]},
        )

    def rungs(self, max_iter: int) -> list[int]:
        out, r = [], int(self.min_epochs)
        while r < max_iter:
            out.append(r)
            r *= int(self.eta)
        return out

    def signature(self) -> str:
        return f"halving(min_epochs={self.min_epochs},eta={self.eta})"


@dataclass(frozen=True)
class AsynchronousHalving(SuccessiveHalving):
    """Asynchronous successive halving (ASHA, Li et al. 2020) over waves of candidates.

    Candidates are taken in their sampling order in waves of ``wave_size``. A wave trains
    (all folds, or the first ``rung_folds``; batched, in process or on the Dask workers)
    rung by rung as in
    :class:`SuccessiveHalving`, but a candidate is promoted past a rung when its mean fold
    score is in the top ``1 / eta`` of *every* score recorded at that rung so far, this
    wave's and all earlier waves' — the promotion rule of ASHA, which needs no
    synchronisation over the whole search: the bar set by early waves prunes later waves
    at their first rung, so the work per candidate falls as the search grows. Decisions
    depend only on results in wave order, so a search is deterministic and resumes from
    its store (rung scores are stored) to the same result; extended to more candidates, it
    gives the result of one uninterrupted search when the stored search ended on a full wave
    (a partial last wave's decisions are not revisited). A finished training reused from a
    store without a score at some rung (written with other rungs, or without pruning) leaves
    its candidate unranked at that rung rather than pruned.

    Parameters
    ----------
    min_epochs : int, default=10
        First rung.
    eta : int, default=3
        Reduction factor (>= 2).
    wave_size : int, default=27
        Candidates per wave (the first wave is plain successive halving; smaller waves
        prune sooner, larger ones batch better).
    rung_folds : int or None, default=None
        Folds a candidate trains at the rungs. None: all of them (every rung ranks by the
        full CV mean). An int ``m`` makes the folds a second halving resource: only the
        first ``m`` folds train through the rungs, are ranked there and train to the end;
        then the folds have a rung of their own: only a candidate whose finished ``m``-fold
        score is in the top ``1 / eta`` of all such scores so far trains its other folds
        (from scratch), so a pruned candidate costs ``m / n_folds`` of its work. The
        reported CV score of a candidate that finishes is always over all folds; a pruned
        candidate (also one that stopped by its own rule before a rung it lost) reports the
        mean of its first folds (``std_test_score`` NaN with one), and its other folds are
        stored as pruned with ``n_iter = 0`` (they count as zeros in ``mean_fit_time`` and
        ``mean_n_iter``). Without epoch rungs (``max_iter <= min_epochs``) only the folds'
        rung prunes; ``rung_folds >= n_folds`` is the same as None. The price: rungs rank
        on fewer validation rows, so they are noisier, and fewer candidates get a full CV
        score — worth it when the validation fold is large and training dominates (many
        candidates, short rungs).
    """

    wave_size: int = 27
    rung_folds: int | None = None

    def __post_init__(self):
        super().__post_init__()
        validate_params(
            "AsynchronousHalving",
            {"wave_size": self.wave_size, "rung_folds": self.rung_folds},
            {"wave_size": [Interval(int, 1, None)], "rung_folds": [NONE, Interval(int, 1, None)]},
        )

    def signature(self) -> str:
        extra = "" if self.rung_folds is None else f",rung_folds={self.rung_folds}"
        return (
            f"asha(min_epochs={self.min_epochs},eta={self.eta},wave_size={self.wave_size}{extra})"
        )


def _below_the_bar(means: dict, recorded, eta: int) -> set:
    """The candidates of ``means`` (candidate -> mean fold score) a rung prunes: those not in
    the top ``1 / eta`` of the finite scores ``recorded`` there (the ``ceil(n / eta)``-th best
    is the bar; a score equal to it is promoted; a NaN score never is). Successive halving
    records one rung's scores, ASHA every wave's so far."""
    ranked = sorted((v for v in recorded if math.isfinite(v)), reverse=True)
    bar = ranked[max(1, math.ceil(len(ranked) / eta)) - 1] if ranked else math.inf
    return {c for c, v in means.items() if not (math.isfinite(v) and v >= bar)}


class ResultsTable(dict):
    """``cv_results_``: a dict of equal-length numpy arrays (as scikit-learn's), plus writers."""

    def columns(self) -> list[str]:
        return [k for k in self if k != "params"]

    def to_csv(self, path) -> None:
        """Write one row per candidate (tuples and dicts as JSON); no pandas needed."""
        cols = self.columns()
        n = len(self["mean_test_score"])
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for i in range(n):
                w.writerow([_cell(self[c][i]) for c in cols])

    def to_frame(self):
        """A :class:`pandas.DataFrame` (pandas imported on demand)."""
        import pandas as pd

        return pd.DataFrame({k: list(v) for k, v in self.items()})


def _cell(v):
    if isinstance(v, (tuple, list, dict)):
        return json.dumps(v)
    if isinstance(v, float) and math.isnan(v):
        return ""
    if v is None or v is np.ma.masked:
        return ""
    if isinstance(v, np.generic):
        return v.item()
    return v


_CV = _Constraint(
    "cv",
    "an int in the range [2, inf) or a splitter with a 'split' method or an iterable of (train, test)",
    lambda v: (
        (isinstance(v, int) and not isinstance(v, bool) and v >= 2)
        or hasattr(v, "split")
        or (hasattr(v, "__iter__") and not isinstance(v, (str, bytes)))
    ),
)
_SPACE = _Constraint(
    "param_distributions",
    "a SearchSpace, a preset name, a .toml path, a dict or a list of dicts",
    lambda v: isinstance(v, (SearchSpace, str, dict, list)) or hasattr(v, "__fspath__"),
)
_STORE = _Constraint(
    "store",
    "None, a path or a ResultStore",
    lambda v: v is None or isinstance(v, (str, ResultStore)) or hasattr(v, "__fspath__"),
)
_CLIENT = _Constraint(
    "client", "None or a dask.distributed.Client", lambda v: v is None or hasattr(v, "submit")
)
_PRUNING = _Constraint(
    "pruning",
    "None, 'halving', 'asha', a SuccessiveHalving or an AsynchronousHalving",
    lambda v: v is None or v in ("halving", "asha") or isinstance(v, SuccessiveHalving),
)


class RandomizedSearch(BaseEstimator):
    """Randomized search over a space of hyper-parameters with K-fold cross-validation.

    Like :class:`sklearn.model_selection.RandomizedSearchCV` with the generalized R2
    (:func:`xslatent.metrics.r2_score`) as score, plus what long searches over many small
    networks need: candidates sharing a network shape are trained together, with all their
    folds, as one stacked network (``batched``); each finished (candidate, fold) training is
    written to an SQLite ``store`` at once so a killed search resumes without redoing it;
    a Dask ``client`` fans the work out; ``pruning`` optionally stops hopeless candidates.

    Parameters
    ----------
    estimator : MLPEmulator, EDNN, NNCA or any scikit-learn regressor
        Template; candidates are ``clone(estimator).set_params(**candidate)``. Batched
        training applies to the xslatent torch estimators; other estimators are fitted one
        by one.
    param_distributions : SearchSpace, str, dict or list of dict
        The space: a :class:`SearchSpace`, a preset name (:func:`list_presets`), a path to a
        TOML file, or a dict / list of dicts as described in :mod:`xslatent.selection`.
    n_iter : int, default=10
        Number of candidates sampled (fewer if a lists-only space is smaller).
    cv : int, splitter or iterable, default=5
        An int k gives ``KFold(k, shuffle=True, random_state=random_state)``.
    random_state : int or None, default=None
        Seeds the sampler, the folds and, through :func:`candidate_seed`, each candidate's
        network (initialisation, validation split, minibatch order). ``None`` draws one at
        fit time (``random_state_``); resuming needs a fixed value.
    store : None, str, path or ResultStore, default=None
        SQLite file of finished trainings; reused results are not recomputed.
    client : dask.distributed.Client or None, default=None
        Send groups of trainings to the cluster's workers (data scattered once); results are
        stored by this process as they arrive.
    batched : bool, default=True
        Train groups of same-shape networks as one stacked network; False trains each
        (candidate, fold) with :func:`xslatent.nn._train.train_module`. Results agree up to
        floating-point rounding.
    pruning : None, "halving", "asha", SuccessiveHalving or AsynchronousHalving, default=None
        Early pruning of hopeless candidates; None reproduces the plain protocol. "asha"
        (:class:`AsynchronousHalving`) is the one for large searches.
    refit : bool, default=True
        Refit the best candidate (with its seed) on all of ``X``, ``Y``.
    max_group_size : int or None, default=None
        Most members per stacked network; None sizes groups to about 1 GiB each.
    verbose : int or bool, default=0
        Show a progress bar (ETA and best score so far).

    Attributes
    ----------
    cv_results_ : ResultsTable
        Per candidate: ``params``, ``param_<name>``, ``seed``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_n_iter`` and ``status`` (``"ok"``, ``"pruned"``,
        ``"failed"``).
    best_index_ : int
    best_params_ : dict
        Parameters of the best candidate (sampled and fixed ones).
    best_score_ : float
        Its mean validation-fold R2.
    best_seed_ : int
    best_estimator_ : estimator
        Refitted on all the data (when ``refit``).
    refit_time_ : float
    n_splits_ : int
    random_state_ : int
    n_trained_ : int
        (candidate, fold) trainings run by this ``fit`` (not taken from the store).
    n_reused_ : int
        Trainings taken from the store.
    best_score_trace_ : list of (float, float)
        ``(seconds since fit started, best mean CV score)`` each time a completed candidate
        improved the best (time to quality).

    See Also
    --------
    SearchSpace, load_preset, SuccessiveHalving, ResultStore

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent import MLPEmulator
    >>> from xslatent.selection import RandomizedSearch
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 3)); Y = np.c_[np.sin(X[:, :1]), X[:, 1:] ** 2]
    >>> search = RandomizedSearch(
    ...     MLPEmulator(max_iter=5),
    ...     {"hidden_layer_sizes": {"depth": [1, 2], "width": [8, 16]},
    ...      "learning_rate_init": {"distribution": "loguniform", "low": 1e-3, "high": 1e-2}},
    ...     n_iter=4, cv=3, random_state=0).fit(X, Y)
    >>> sorted(search.best_params_)
    ['hidden_layer_sizes', 'learning_rate_init']
    """

    _parameter_constraints = {
        "estimator": [ESTIMATOR],
        "param_distributions": [_SPACE],
        "n_iter": [Interval(int, 1, None)],
        "cv": [_CV],
        "random_state": [RANDOM_STATE],
        "store": [_STORE],
        "client": [_CLIENT],
        "batched": [BOOLEAN],
        "pruning": [_PRUNING],
        "refit": [BOOLEAN],
        "max_group_size": [NONE, Interval(int, 1, None)],
        "verbose": [BOOLEAN, Interval(int, 0, None)],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        n_iter=10,
        *,
        cv=5,
        random_state=None,
        store=None,
        client=None,
        batched=True,
        pruning=None,
        refit=True,
        max_group_size=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.cv = cv
        self.random_state = random_state
        self.store = store
        self.client = client
        self.batched = batched
        self.pruning = pruning
        self.refit = refit
        self.max_group_size = max_group_size
        self.verbose = verbose

    # ------------------------------------------------------------------------------ fit
    def fit(self, X, Y):
        """Sample candidates, cross-validate each, pick the best and refit it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        Y : array-like of shape (n_samples, n_outputs)

        Returns
        -------
        self : RandomizedSearch
        """
        owner = type(self).__name__
        validate_params(owner, self.get_params(deep=False), self._parameter_constraints)
        X, Y = check_X_y(X, Y, owner=owner)
        space = SearchSpace.coerce(self.param_distributions)
        space.validate(self.estimator)
        rs = check_random_state_int(self.random_state)
        self.random_state_ = rs
        candidates = space.sample(self.n_iter, rs, n_features=X.shape[1], n_outputs=Y.shape[1])
        seeds = [candidate_seed(rs, i) for i in range(len(candidates))]
        folds = self._folds(X, Y, rs)
        self.n_splits_ = len(folds)
        fingerprint = data_fingerprint(X, Y, folds)
        est_name = f"{type(self.estimator).__module__}.{type(self.estimator).__qualname__}"
        base = {
            k: v for k, v in self.estimator.get_params(deep=False).items() if k not in _NOT_IN_KEY
        }
        tasks = []
        for i, cand in enumerate(candidates):
            full = {**base, **cand, "random_state": seeds[i]}
            for k in range(len(folds)):
                key = result_key(est_name, full, k, seeds[i], fingerprint)
                tasks.append(Task(len(tasks), i, k, cand, seeds[i], key))
        pruning = {"halving": SuccessiveHalving(), "asha": AsynchronousHalving()}.get(
            self.pruning, self.pruning
        ) if isinstance(self.pruning, str) else self.pruning
        psig = pruning.signature() if pruning is not None else None

        store, own_store = self._open_store()
        try:
            stored = store.get(t.key for t in tasks) if store is not None else {}
            results: dict[int, dict] = {}
            for t in tasks:
                r = stored.get(t.key)
                if r is None or (r["status"] == "pruned" and r["pruning"] != psig):
                    continue
                results[t.id] = dict(r, task=t.id)
            self.n_reused_ = sum(_trained(r) for r in results.values())
            pending = [t for t in tasks if t.id not in results]
            self.n_trained_ = 0
            bar = self._progress(len(tasks), len(results))
            tracker = _Tracker(tasks, results, len(folds), bar)
            self.best_score_trace_ = tracker.trace

            def record(r: dict) -> None:
                t = tasks[r["task"]]
                results[t.id] = r
                if _trained(r):
                    self.n_trained_ += 1
                if store is not None:
                    store.put(
                        t.key,
                        estimator=est_name,
                        params=t.params,
                        fold=t.fold,
                        seed=t.seed,
                        fingerprint=fingerprint,
                        status=r["status"],
                        score=r["score"],
                        n_iter=r["n_iter"],
                        best_epoch=r["best_epoch"],
                        converged=r["converged"],
                        fit_time=r["fit_time"],
                        pruning=psig if r["status"] == "pruned" else None,
                        error=r["error"],
                    )
                tracker.update(t, r)

            try:
                if pending and isinstance(pruning, AsynchronousHalving):
                    self._run_asha(tasks, results, X, Y, folds, record, pruning, store)
                elif pending:
                    groups = self._groups(pending, X, Y)
                    if pruning is None:
                        self._run_plain(groups, X, Y, folds, record)
                    else:
                        self._run_halving(
                            groups, tasks, results, X, Y, folds, record, pruning, store
                        )
            finally:
                if bar is not None:
                    bar.close()
        finally:
            if own_store and store is not None:
                store.close()

        self._summarise(candidates, seeds, tasks, results, len(folds))
        if self.refit:
            self._refit(X, Y)
        return self

    # -------------------------------------------------------------------------- helpers
    def _folds(self, X, Y, rs):
        return cv_folds(self.cv, X, Y, rs, owner=type(self).__name__)

    def _groups(self, pending, X, Y, cache=None):
        return make_groups(
            self.estimator,
            pending,
            X.shape[1],
            Y.shape[1],
            batched=self.batched,
            max_group_size=self.max_group_size,
            min_groups=self._n_workers(),
            cache=cache,
        )

    def _open_store(self):
        if self.store is None:
            return None, False
        if isinstance(self.store, ResultStore):
            return self.store, False
        return ResultStore(self.store), True

    def _n_workers(self) -> int:
        if self.client is None:
            return 1
        try:
            return max(1, len(self.client.scheduler_info().get("workers", {})))
        except Exception:
            return 1

    def _progress(self, total, done):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=done, desc=type(self).__name__, unit="fit", smoothing=0.05)

    def _run_plain(self, groups, X, Y, folds, record) -> None:
        if self.client is None:
            for spec in groups:
                GroupRun(spec, X, Y, folds, batched=self.batched, on_result=record).advance(None)
            return
        from distributed import as_completed

        from ._backend import dask_run_group

        client = self.client
        Xf, Yf, Ff = client.scatter([X, Y, folds], broadcast=True)
        futs = [
            client.submit(dask_run_group, spec, Xf, Yf, Ff, self.batched, pure=False)
            for spec in groups
        ]
        for fut in as_completed(futs):
            for r in fut.result():
                record(r)
            fut.release()

    def _halving_setup(self, tasks, pruning, store):
        """Rung epochs, tasks per candidate and the stored rung scores."""
        max_iter = max(
            int(t.params.get("max_iter", getattr(self.estimator, "max_iter", 1))) for t in tasks
        )
        by_cand: dict[int, list[Task]] = {}
        for t in tasks:
            by_cand.setdefault(t.candidate, []).append(t)
        stored_rungs = store.get_rungs(t.key for t in tasks) if store is not None else {}
        return pruning.rungs(max_iter), by_cand, stored_rungs

    @staticmethod
    def _pruned_at(tasks, results) -> dict[int, int]:
        """candidate -> rung epoch it was pruned at, from (stored) results."""
        out: dict[int, int] = {}
        for t in tasks:
            r = results.get(t.id)
            if r is not None and r["status"] == "pruned" and _trained(r):
                out[t.candidate] = min(out.get(t.candidate, 10**9), r["n_iter"])
        return out

    def _run_halving(self, groups, tasks, results, X, Y, folds, record, pruning, store) -> None:
        rungs, by_cand, stored_rungs = self._halving_setup(tasks, pruning, store)
        pruned_at = self._pruned_at(tasks, results)
        ex = _Executor(self.client, groups, X, Y, folds, self.batched, record)
        try:
            for epoch in rungs:
                live_scores = ex.advance(epoch)
                for tid, sc in live_scores.items():
                    if store is not None:
                        store.put_rung(tasks[tid].key, epoch, sc)
                means = self._rung_means(
                    list(by_cand), by_cand, results, live_scores, stored_rungs, pruned_at, epoch
                )
                losers = _below_the_bar(means, means.values(), pruning.eta)
                for c in losers:
                    pruned_at.setdefault(c, epoch)
                drop = [t.id for c in losers for t in by_cand[c] if t.id in live_scores]
                if drop:
                    ex.prune(drop)
            ex.advance(None)
        finally:
            ex.close()

    def _rung_means(
        self, cands, by_cand, results, live_scores, stored_rungs, pruned_at, epoch, n_folds=None
    ):
        """Mean fold score at rung ``epoch`` of every candidate still in the race (over its
        first ``n_folds`` folds; None: all)."""
        out = {}
        for c in cands:
            if pruned_at.get(c, 10**9) < epoch:
                continue
            scores = []
            for t in by_cand[c]:
                if n_folds is not None and t.fold >= n_folds:
                    continue
                r = results.get(t.id)
                if t.id in live_scores:
                    scores.append(live_scores[t.id])
                elif r is not None and r["status"] != "pruned" and r["n_iter"] <= epoch:
                    scores.append(r["score"])
                elif (t.key, epoch) in stored_rungs:
                    scores.append(stored_rungs[(t.key, epoch)])
                elif r is not None and r["status"] == "ok":
                    # finished past this rung without a score recorded here (a store written
                    # with other rungs or without pruning; an estimator that cannot pause):
                    # unknown, so the candidate is not ranked at this rung rather than lost
                    scores = None
                    break
                else:
                    scores.append(math.nan)
            if scores is not None:
                out[c] = float(np.mean(scores)) if scores else math.nan
        return out

    def _run_asha(self, tasks, results, X, Y, folds, record, pruning, store) -> None:
        rungs, by_cand, stored_rungs = self._halving_setup(tasks, pruning, store)
        nf = pruning.rung_folds
        if nf is not None and nf >= len(folds):
            nf = None
        # with rung_folds, "end" is the folds' own rung: the first folds trained to the end
        history: dict = {r: [] for r in [*rungs, "end"]}
        cands = sorted(by_cand)
        arch_cache: dict = {}  # network signatures by architecture, kept across the waves

        def at_rungs(t):
            return nf is None or t.fold < nf

        def losers_at(rung, means):
            """ASHA's rule: below the top 1 / eta of every score recorded at ``rung``."""
            history[rung].extend(means.values())
            return _below_the_bar(means, history[rung], pruning.eta)

        for start in range(0, len(cands), pruning.wave_size):
            wave = cands[start : start + pruning.wave_size]
            pruned_at = self._pruned_at([t for c in wave for t in by_cand[c]], results)
            pending = [t for c in wave for t in by_cand[c] if t.id not in results and at_rungs(t)]
            ex = rest = None
            if pending:
                groups = self._groups(pending, X, Y, arch_cache)
                ex = _Executor(self.client, groups, X, Y, folds, self.batched, record)
            try:
                for epoch in rungs:
                    live = ex.advance(epoch) if ex is not None else {}
                    if store is not None:
                        for tid, sc in live.items():
                            store.put_rung(tasks[tid].key, epoch, sc)
                    means = self._rung_means(
                        wave, by_cand, results, live, stored_rungs, pruned_at, epoch, nf
                    )
                    losers = losers_at(epoch, means)
                    for c in losers:
                        pruned_at.setdefault(c, epoch)
                    drop = [t.id for c in losers for t in by_cand[c] if t.id in live]
                    if drop:
                        ex.prune(drop)
                if ex is not None:
                    ex.advance(None)
                if nf is None:
                    continue
                # the folds' rung: survivors' first folds, finished, against all finished so far
                means = {}
                for c in wave:
                    if c not in pruned_at:
                        rs = [results[t.id] for t in by_cand[c] if at_rungs(t)]
                        ok = all(r["status"] == "ok" for r in rs)
                        means[c] = float(np.mean([r["score"] for r in rs])) if ok else math.nan
                for c in losers_at("end", means):
                    pruned_at[c] = _FOLDS_RUNG
                # the other folds: never started for the pruned, from scratch for the rest
                later = [
                    t for c in wave for t in by_cand[c] if not at_rungs(t) and t.id not in results
                ]
                for t in later:
                    if t.candidate in pruned_at:
                        record(_result(t, "pruned"))
                start_now = [t for t in later if t.candidate not in pruned_at]
                if start_now:
                    groups = self._groups(start_now, X, Y, arch_cache)
                    rest = _Executor(self.client, groups, X, Y, folds, self.batched, record)
                    rest.advance(None)
            finally:
                for e in (ex, rest):
                    if e is not None:
                        e.close()

    def _summarise(self, candidates, seeds, tasks, results, n_folds) -> None:
        n = len(candidates)
        split = np.full((n, n_folds), np.nan)
        fit_time = np.zeros((n, n_folds))
        n_iter = np.zeros((n, n_folds))
        status = np.array(["ok"] * n, dtype=object)
        not_converged = 0
        for t in tasks:
            r = results[t.id]
            split[t.candidate, t.fold] = r["score"]
            fit_time[t.candidate, t.fold] = r["fit_time"]
            n_iter[t.candidate, t.fold] = r["n_iter"]
            if r["status"] == "failed":
                status[t.candidate] = "failed"
            elif r["status"] == "pruned" and status[t.candidate] != "failed":
                status[t.candidate] = "pruned"
            elif r["status"] == "ok" and not r["converged"]:
                not_converged += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # a pruned candidate's folds that never started are NaN: mean of the rest (std
            # only where two or more folds have a score)
            pruned = status == "pruned"
            n_scored = np.isfinite(split).sum(axis=1)
            mean = np.where(pruned, np.nanmean(split, axis=1), split.mean(axis=1))
            std = np.where(pruned, np.where(n_scored > 1, np.nanstd(split, axis=1), np.nan),
                           split.std(axis=1))
            mean[status == "failed"] = np.nan
            std[status == "failed"] = np.nan
        order = sorted(
            range(n),
            key=lambda i: (
                {"ok": 0, "pruned": 1, "failed": 2}[status[i]],
                -mean[i] if np.isfinite(mean[i]) else math.inf,
            ),
        )
        rank = np.empty(n, dtype=np.int64)
        prev, prev_rank = None, 0
        for pos, i in enumerate(order):
            keyv = (status[i], mean[i])
            if keyv != prev:
                prev, prev_rank = keyv, pos + 1
            rank[i] = prev_rank
        table = ResultsTable()
        names = sorted({k for c in candidates for k in c})
        for name in names:
            col = np.empty(n, dtype=object)
            for i, c in enumerate(candidates):
                col[i] = c.get(name)
            table[f"param_{name}"] = col
        params = np.empty(n, dtype=object)
        for i, c in enumerate(candidates):
            params[i] = dict(c)
        table["params"] = params
        table["seed"] = np.asarray(seeds, dtype=np.int64)
        for k in range(n_folds):
            table[f"split{k}_test_score"] = split[:, k]
        table["mean_test_score"] = mean
        table["std_test_score"] = std
        table["rank_test_score"] = rank
        table["mean_fit_time"] = fit_time.mean(axis=1)
        table["std_fit_time"] = fit_time.std(axis=1)
        table["mean_n_iter"] = n_iter.mean(axis=1)
        table["status"] = status
        self.cv_results_ = table
        ok = [i for i in range(n) if status[i] == "ok" and np.isfinite(mean[i])]
        if not ok:
            errors = {r["error"] for r in results.values() if r.get("error")}
            raise RuntimeError(
                f"Every candidate of {type(self).__name__} failed or was pruned; errors: "
                f"{'; '.join(sorted(errors)[:3]) or 'none recorded'}."
            )
        best = min(ok, key=lambda i: rank[i])
        self.best_index_ = int(best)
        self.best_params_ = dict(candidates[best])
        self.best_score_ = float(mean[best])
        self.best_seed_ = int(seeds[best])
        if not_converged:
            warnings.warn(
                f"{not_converged} of {len(tasks)} trainings stopped at max_iter before meeting the "
                f"stopping rule (tol, n_iter_no_change).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _refit(self, X, Y) -> None:
        est = clone(self.estimator).set_params(**self.best_params_)
        if "random_state" in est.get_params(deep=False):
            est.set_params(random_state=self.best_seed_)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, Y)
        self.refit_time_ = time.perf_counter() - t0
        self.best_estimator_ = est

    # -------------------------------------------------------------------------- sklearn API
    def predict(self, X):
        """``best_estimator_.predict(X)``."""
        from .._validation import check_is_fitted

        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    def score(self, X, Y) -> float:
        """Generalized R2 of ``best_estimator_`` on ``(X, Y)``."""
        from ..metrics import r2_score

        return r2_score(Y, self.predict(X))


class _Tracker:
    """Completed candidates, the best mean score so far and its history (``trace``), and the
    progress bar."""

    def __init__(self, tasks, results, n_folds, bar):
        self.bar, self.n_folds = bar, n_folds
        self.by_cand: dict[int, dict] = {}
        self.best = -math.inf
        self.t0 = time.perf_counter()
        self.trace: list[tuple[float, float]] = []
        for t in tasks:
            if t.id in results:
                self.by_cand.setdefault(t.candidate, {})[t.fold] = results[t.id]
        for c in list(self.by_cand):
            self._check(c)
        self._show()

    def _check(self, c):
        rs = self.by_cand[c]
        if len(rs) == self.n_folds and all(r["status"] == "ok" for r in rs.values()):
            m = float(np.mean([r["score"] for r in rs.values()]))
            if math.isfinite(m) and m > self.best:
                self.best = m
                self.trace.append((time.perf_counter() - self.t0, m))

    def _show(self):
        if self.bar is not None and math.isfinite(self.best):
            self.bar.set_postfix(best=f"{self.best:.4f}", refresh=False)

    def update(self, t: Task, r: dict) -> None:
        self.by_cand.setdefault(t.candidate, {})[t.fold] = r
        self._check(t.candidate)
        if self.bar is None:
            return
        self._show()
        self.bar.update(1)


class _Executor:
    """Live groups for successive halving, in process or on Dask workers."""

    def __init__(self, client, groups, X, Y, folds, batched, record):
        self.client, self.record = client, record
        if client is None:
            self.runs = [
                GroupRun(g, X, Y, folds, batched=batched, on_result=record) for g in groups
            ]
        else:
            from ._backend import dask_start_group

            Xf, Yf, Ff = client.scatter([X, Y, folds], broadcast=True)
            self.runs = [
                client.submit(dask_start_group, g, Xf, Yf, Ff, batched, pure=False) for g in groups
            ]

    def advance(self, epoch) -> dict[int, float]:
        scores: dict[int, float] = {}
        if self.client is None:
            for run in self.runs:
                run.advance(epoch)
                if epoch is not None:
                    scores.update(run.scores())
            return scores
        from distributed import as_completed

        from ._backend import dask_advance, getitem

        futs = [self.client.submit(dask_advance, run, epoch, pure=False) for run in self.runs]
        self.runs = [self.client.submit(getitem, f, 0, pure=False) for f in futs]
        reports = [self.client.submit(_report, f, pure=False) for f in futs]
        for fut in as_completed(reports):
            results, sc = fut.result()
            for r in results:
                self.record(r)
            scores.update(sc)
        return scores

    def prune(self, task_ids) -> None:
        if self.client is None:
            for run in self.runs:
                run.prune(task_ids)
            return
        from ._backend import dask_prune, getitem

        futs = [
            self.client.submit(dask_prune, run, list(task_ids), pure=False) for run in self.runs
        ]
        self.runs = [self.client.submit(getitem, f, 0, pure=False) for f in futs]
        for results, _ in self.client.gather(
            [self.client.submit(_report, f, pure=False) for f in futs]
        ):
            for r in results:
                self.record(r)

    def close(self) -> None:
        if self.client is not None:
            for f in self.runs:
                f.release()


def _report(out):
    return out[1], out[2]
