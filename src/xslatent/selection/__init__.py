"""Model selection: search spaces as data, a batched, resumable, distributable randomized search.

* :class:`SearchSpace`, :func:`load_preset`, :func:`list_presets` — the paper's spaces
  (its Tables 3–5) as TOML presets and user-defined spaces; schema in
  :mod:`xslatent.selection._space`.
* :class:`RandomizedSearch` — K-fold CV scored by the generalized R2, batched training of
  same-shape candidates, a resumable SQLite :class:`ResultStore`, optional
  :class:`SuccessiveHalving` or asynchronous :class:`AsynchronousHalving` (ASHA), Dask fan-out.
* :func:`ridge_baseline`, :func:`group_mean_baseline`, :func:`check_nesting` — the baselines
  every table reports and the nesting checks (:mod:`xslatent.selection._baselines`).
* :func:`warm_started_ednn`, :func:`warm_started_emulator`, :func:`warm_started_nnca` — refits of a container from the
  model it contains, used when a search breaks the nesting (:mod:`xslatent.selection._nested`).
"""

from ._baselines import (
    Baseline,
    check_nesting,
    cv_noise,
    group_mean_baseline,
    group_mean_prediction,
    ridge_baseline,
)
from ._nested import Fallback, warm_started_ednn, warm_started_emulator, warm_started_nnca
from ._search import (
    AsynchronousHalving,
    RandomizedSearch,
    ResultsTable,
    SuccessiveHalving,
    candidate_seed,
    cv_folds,
)
from ._space import SearchSpace, list_presets, load_preset
from ._store import ResultStore

__all__ = [
    "AsynchronousHalving",
    "Baseline",
    "Fallback",
    "RandomizedSearch",
    "ResultStore",
    "ResultsTable",
    "SearchSpace",
    "SuccessiveHalving",
    "candidate_seed",
    "check_nesting",
    "cv_folds",
    "cv_noise",
    "group_mean_baseline",
    "group_mean_prediction",
    "list_presets",
    "load_preset",
    "ridge_baseline",
    "warm_started_ednn",
    "warm_started_emulator",
    "warm_started_nnca",
]
