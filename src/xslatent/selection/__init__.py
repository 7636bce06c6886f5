"""Model selection: search spaces as data, a batched, resumable, distributable randomized search.

* :class:`SearchSpace`, :func:`load_preset`, :func:`list_presets` — the paper's spaces
  (its Tables 3–5) as TOML presets and user-defined spaces; schema in
  :mod:`xslatent.selection._space`.
* :class:`RandomizedSearch` — K-fold CV scored by the generalized R2, batched training of
  same-shape candidates, a resumable SQLite :class:`ResultStore`, optional
  :class:`SuccessiveHalving`, Dask fan-out.
"""

from ._search import RandomizedSearch, ResultsTable, SuccessiveHalving, candidate_seed
from ._space import SearchSpace, list_presets, load_preset
from ._store import ResultStore

__all__ = [
    "RandomizedSearch",
    "ResultStore",
    "ResultsTable",
    "SearchSpace",
    "SuccessiveHalving",
    "candidate_seed",
    "list_presets",
    "load_preset",
]
