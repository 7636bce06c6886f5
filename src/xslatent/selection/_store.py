"""Resumable on-disk store of finished (candidate, fold) trainings (SQLite).

Every result is committed in its own transaction the moment it is known, so a search killed
at any instant (even by SIGKILL) loses at most the trainings in flight; SQLite's journal
makes each commit atomic. Rows are keyed by :func:`result_key`, a SHA-256 over everything
that determines a training's outcome, so a rerun with the same arguments finds them and a
run with different data, folds, seeds or parameters does not.

Schema (``schema_version`` 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)             -- 'schema_version', 'format'
    results(
        key TEXT PRIMARY KEY,      -- result_key(...)
        estimator TEXT,            -- 'xslatent.decomposition._ednn.EDNN'
        params TEXT,               -- JSON of the candidate's parameters
        fold INTEGER, seed INTEGER,
        fingerprint TEXT,          -- data + CV split fingerprint
        status TEXT,               -- 'ok' | 'failed' | 'pruned'
        score REAL,                -- generalized R2 on the fold (NULL when failed)
        n_iter INTEGER, best_epoch INTEGER, converged INTEGER,
        fit_time REAL,             -- seconds (the member's share of a batched run)
        pruning TEXT,              -- pruning schedule signature, for 'pruned' rows
        error TEXT, created REAL)
    rungs(key TEXT, epoch INTEGER, score REAL, PRIMARY KEY (key, epoch))
                                   -- fold scores at successive-halving rungs
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

__all__ = ["ResultStore", "canonical_params", "data_fingerprint", "result_key"]

SCHEMA_VERSION = 1
#: bump when a change of the training code changes results (invalidates old stores)
TRAINER_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, estimator TEXT, params TEXT, fold INTEGER, seed INTEGER,
    fingerprint TEXT, status TEXT, score REAL, n_iter INTEGER, best_epoch INTEGER,
    converged INTEGER, fit_time REAL, pruning TEXT, error TEXT, created REAL);
CREATE TABLE IF NOT EXISTS rungs (key TEXT, epoch INTEGER, score REAL, PRIMARY KEY (key, epoch));
"""


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and v.is_integer():
        return v  # keep floats floats (1.0 stays 1.0 in JSON)
    return v


def canonical_params(params: dict) -> str:
    """Deterministic JSON of a parameter dict (tuples as lists, sorted keys)."""
    return json.dumps(
        {k: _jsonable(v) for k, v in sorted(params.items())}, sort_keys=True, default=repr
    )


def data_fingerprint(X: np.ndarray, Y: np.ndarray, folds) -> str:
    """SHA-256 over the bytes of ``X``, ``Y`` (float64) and the CV validation indices."""
    h = hashlib.sha256()
    for A in (X, Y):
        A = np.ascontiguousarray(A, dtype=np.float64)
        h.update(str(A.shape).encode())
        h.update(A.tobytes())
    for _train, test in folds:
        t = np.ascontiguousarray(np.asarray(test, dtype=np.int64))
        h.update(str(t.shape).encode())
        h.update(t.tobytes())
    return h.hexdigest()


def result_key(estimator_name: str, params: dict, fold: int, seed: int, fingerprint: str) -> str:
    """Key of one (candidate, fold) training."""
    doc = json.dumps(
        {
            "estimator": estimator_name,
            "params": canonical_params(params),
            "fold": int(fold),
            "seed": int(seed),
            "fingerprint": fingerprint,
            "trainer": TRAINER_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(doc.encode()).hexdigest()


class ResultStore:
    """SQLite file of finished trainings (see module docstring for the schema).

    Parameters
    ----------
    path : str or Path
        Database file; created with its parent directory if missing.

    Examples
    --------
    >>> store = ResultStore(tmp_path / "search.sqlite")     # doctest: +SKIP
    >>> len(store)                                           # doctest: +SKIP
    0
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            with self._conn:
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('format', 'xslatent-selection-store')"
                )
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        elif int(row[0]) > SCHEMA_VERSION:
            from ..exceptions import DataFormatError

            raise DataFormatError(
                f"{self.path} has store schema_version {row[0]}; this xslatent reads up to {SCHEMA_VERSION}."
            )

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __deepcopy__(self, memo):  # sklearn.clone copies parameters; one file, one connection
        return self

    # -- writing ---------------------------------------------------------------------------
    def put(
        self,
        key: str,
        *,
        estimator: str,
        params: dict,
        fold: int,
        seed: int,
        fingerprint: str,
        status: str,
        score: float | None,
        n_iter: int = 0,
        best_epoch: int = 0,
        converged: bool = False,
        fit_time: float = 0.0,
        pruning: str | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or replace one result (one atomic transaction)."""
        score = None if score is None or not np.isfinite(score) else float(score)
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    estimator,
                    canonical_params(params),
                    int(fold),
                    int(seed),
                    fingerprint,
                    status,
                    score,
                    int(n_iter),
                    int(best_epoch),
                    int(bool(converged)),
                    float(fit_time),
                    pruning,
                    error,
                    time.time(),
                ),
            )

    def put_rung(self, key: str, epoch: int, score: float) -> None:
        """Record a fold score at a successive-halving rung."""
        score = None if score is None or not np.isfinite(score) else float(score)
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO rungs VALUES (?,?,?)", (key, int(epoch), score)
            )

    # -- reading ---------------------------------------------------------------------------
    def get(self, keys) -> dict[str, dict]:
        """Stored results for the given keys (missing keys are absent from the dict)."""
        keys = list(keys)
        out = {}
        cols = (
            "key",
            "status",
            "score",
            "n_iter",
            "best_epoch",
            "converged",
            "fit_time",
            "pruning",
            "error",
        )
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT {', '.join(cols)} FROM results WHERE key IN ({','.join('?' * len(chunk))})"
            for row in self._conn.execute(q, chunk):
                d = dict(zip(cols, row))
                d["score"] = np.nan if d["score"] is None else d["score"]
                d["converged"] = bool(d["converged"])
                out[d["key"]] = d
        return out

    def get_rungs(self, keys) -> dict[tuple[str, int], float]:
        """Stored rung scores ``{(key, epoch): score}`` for the given keys."""
        keys = list(keys)
        out = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT key, epoch, score FROM rungs WHERE key IN ({','.join('?' * len(chunk))})"
            for k, e, s in self._conn.execute(q, chunk):
                out[(k, int(e))] = np.nan if s is None else s
        return out
