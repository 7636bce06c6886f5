"""Chunked, resumable, parallel execution of simulation tasks.

A generator splits its work into chunks identified by integers and provides a picklable
top-level function ``compute_chunk(chunk_id, **kwargs)`` that returns a dict:

* every key except the reserved ones below is a dataset name (``"xps/binding_energy"``;
  a ``/`` makes HDF5 groups) mapped to an array-like;
* ``"attrs"`` (optional): a dict of file attributes (str, numbers, or arrays of them);
* ``"excluded"`` (optional): a list of ``(item_index, reason)`` pairs for items of the chunk
  that failed; they are logged and stored as ``excluded/index`` and ``excluded/reason``.

:func:`run_chunks` writes each result to its own HDF5 file, atomically: the file is written
as ``<name>.tmp`` and renamed only when complete, so an interruption (Ctrl-C, ``kill``,
power loss) never leaves a half-written chunk under the final name. Chunks whose file
already exists and validates are skipped, so rerunning the same call resumes the work.

Work runs in a :class:`concurrent.futures.ProcessPoolExecutor` (one single-threaded
process per worker; ``n_workers=0`` runs in the calling process) or on a
``dask.distributed.Client``.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import TMP_SUFFIX, atomic_path

__all__ = [
    "THREAD_ENV",
    "ChunkError",
    "ItemError",
    "RunReport",
    "attrs_equal",
    "chunk_path",
    "is_complete",
    "read_chunk",
    "run_chunks",
]

logger = logging.getLogger(__name__)

#: Environment variables set to 1 in worker processes: the chunk functions are
#: single-threaded by design (several processes beat threads for small molecules).
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_RESERVED = ("attrs", "excluded")
_COMPLETE_ATTR = "complete"


class ItemError(RuntimeError):
    """One item of a chunk failed (a sanity check or a calculation); the message is the reason."""


class ChunkError(RuntimeError):
    """A whole chunk could not be computed, or an existing chunk file conflicts with the run."""


@dataclass
class RunReport:
    """What :func:`run_chunks` did.

    Attributes
    ----------
    computed : list of int
        Chunk ids computed and written in this call.
    skipped : list of int
        Chunk ids whose valid file already existed.
    failed : dict of int to str
        Chunk ids whose computation raised, with the error; no file was written for them,
        so a later call retries them.
    n_excluded : int
        Number of items recorded as excluded in the chunks computed in this call.
    seconds : float
        Wall time of the call.
    """

    computed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    n_excluded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no chunk failed."""
        return not self.failed


def chunk_path(out_dir: str | os.PathLike, chunk_id: int, name_format: str) -> Path:
    """Path of the file of ``chunk_id`` in ``out_dir``."""
    return Path(out_dir) / name_format.format(int(chunk_id))


def package_versions(*dists: str) -> dict:
    """``{"xslatent_version": ..., "<dist>_version": ...}`` for provenance attributes."""
    import importlib.metadata as md

    from .. import __version__

    out = {"xslatent_version": __version__}
    for dist in dists:
        try:
            out[f"{dist}_version"] = md.version(dist)
        except md.PackageNotFoundError:  # pragma: no cover
            out[f"{dist}_version"] = "unknown"
    return out


def _plain(value: Any) -> Any:
    """numpy scalars and bytes as plain Python values, for messages."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def attrs_equal(a: Any, b: Any) -> bool:
    """Whether two HDF5 attribute values are equal (bytes as str, arrays element-wise)."""
    if isinstance(a, bytes):
        a = a.decode()
    if isinstance(b, bytes):
        b = b.decode()
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):
        return False


def is_complete(path: str | os.PathLike, expected_attrs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``path`` is a complete chunk file written by :func:`run_chunks`.

    Parameters
    ----------
    path : path-like
        Chunk file.
    expected_attrs : mapping, optional
        Attributes the file must carry with these values (for example the seed). A complete
        file that disagrees raises :class:`ChunkError` instead of returning False, so a rerun
        with other parameters never mixes results into an existing directory.

    Returns
    -------
    bool
        False when the file is missing, unreadable or not marked complete.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as f:
            if not bool(f.attrs.get(_COMPLETE_ATTR, False)):
                return False
            attrs = dict(f.attrs)
    except (OSError, KeyError, ValueError):
        return False
    for key, value in (expected_attrs or {}).items():
        if key not in attrs or not attrs_equal(attrs[key], value):
            raise ChunkError(
                f"{path} was written with {key}={_plain(attrs.get(key))!r}, but this run has "
                f"{key}={_plain(value)!r}. Use another output directory or delete the old files."
            )
    return True


def read_chunk(path: str | os.PathLike) -> dict:
    """Read a chunk file back into the dict layout ``compute_chunk`` returns.

    Returns
    -------
    dict
        Dataset name -> ndarray, plus ``"attrs"`` and ``"excluded"`` (list of pairs).
    """
    import h5py

    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith("excluded/"):
                out[name] = obj[()]

        f.visititems(visit)
        out["attrs"] = {k: v for k, v in f.attrs.items() if k != _COMPLETE_ATTR}
        if "excluded" in f:
            idx = f["excluded/index"][()]
            reasons = [r.decode() if isinstance(r, bytes) else str(r) for r in f["excluded/reason"][()]]
            out["excluded"] = list(zip(idx.tolist(), reasons))
        else:
            out["excluded"] = []
    return out


def _write_chunk(path: Path, result: Mapping[str, Any], chunk_id: int, extra_attrs: Mapping) -> None:
    import h5py

    excluded = list(result.get("excluded", []) or [])
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, value in result.items():
            if name in _RESERVED:
                continue
            arr = np.asarray(value)
            if arr.dtype.kind in "OU":
                arr = arr.astype(h5py.string_dtype())
                f.create_dataset(name, data=arr)
            elif arr.ndim and arr.size > 16:
                f.create_dataset(name, data=arr, compression="gzip", compression_opts=4, shuffle=True)
            else:
                f.create_dataset(name, data=arr)
        f.create_dataset("excluded/index", data=np.array([int(i) for i, _ in excluded], dtype=np.int64))
        f.create_dataset(
            "excluded/reason",
            data=np.array([str(r) for _, r in excluded], dtype=object),
            dtype=h5py.string_dtype(),
        )
        for key, value in {**dict(result.get("attrs", {}) or {}), **dict(extra_attrs)}.items():
            f.attrs[key] = value
        f.attrs["chunk_id"] = int(chunk_id)
        f.attrs["n_excluded"] = len(excluded)
        f.attrs[_COMPLETE_ATTR] = True


def _limit_threads() -> None:
    """Pin native thread pools to one thread (env for libraries not yet loaded, threadpoolctl
    for those already loaded)."""
    for var in THREAD_ENV:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        return
    threadpool_limits(1)


def _worker_init() -> None:
    # The parent handles Ctrl-C and terminates the workers; a worker must not die mid-chunk
    # with a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()


def _execute(func: Callable, chunk_id: int, kwargs: Mapping[str, Any]) -> tuple[dict, float]:
    """Run one chunk in a worker (process-pool or Dask); returns the result and its seconds."""
    _limit_threads()
    return _timed(func, chunk_id, kwargs)


def _execute_here(func: Callable, chunk_id: int, kwargs: Mapping[str, Any]) -> tuple[dict, float]:
    """Run one chunk in the calling process, single-threaded only for its duration."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return _timed(func, chunk_id, kwargs)
    with threadpool_limits(1):
        return _timed(func, chunk_id, kwargs)


def _timed(func: Callable, chunk_id: int, kwargs: Mapping[str, Any]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    result = func(chunk_id, **kwargs)
    if not isinstance(result, Mapping):
        raise ChunkError(f"compute_chunk must return a dict, got {type(result).__name__}")
    return dict(result), time.perf_counter() - t0


def run_chunks(
    compute_chunk: Callable[..., Mapping[str, Any]],
    chunk_ids: Iterable[int],
    out_dir: str | os.PathLike,
    *,
    kwargs: Mapping[str, Any] | None = None,
    n_workers: int = 1,
    client: Any = None,
    name_format: str = "chunk_{:05d}.h5",
    expected_attrs: Mapping[str, Any] | None = None,
    validate: Callable[[Path], bool] | None = None,
    items_per_chunk: Callable[[int], int] | None = None,
    desc: str = "chunks",
    progress: bool = True,
) -> RunReport:
    """Compute every chunk whose file is missing, in parallel, writing each atomically.

    Parameters
    ----------
    compute_chunk : callable
        Picklable top-level function ``compute_chunk(chunk_id, **kwargs) -> dict`` (see the
        module docstring for the dict layout). Exceptions it raises mark the chunk as failed
        (logged with traceback, reported, retried on the next call); per-item failures belong
        in its ``"excluded"`` list.
    chunk_ids : iterable of int
        Chunks to make.
    out_dir : path-like
        Directory of the chunk files; created if needed.
    kwargs : mapping, optional
        Keyword arguments passed to every ``compute_chunk`` call; must be picklable.
    n_workers : int, default=1
        Worker processes (each single-threaded). 0 runs the chunks in the calling process,
        which is handy for debugging; ignored when ``client`` is given.
    client : dask.distributed.Client, optional
        Submit the chunks to this Dask cluster instead of a local process pool. Its workers
        should run single-threaded native code (Dask nannies set ``OMP_NUM_THREADS=1`` by
        default).
    name_format : str, default="chunk_{:05d}.h5"
        File name of a chunk, formatted with its id.
    expected_attrs : mapping, optional
        Attributes written into every file and required of existing files; an existing file
        with other values raises :class:`ChunkError` (parameters changed between runs).
    validate : callable, optional
        Extra check ``validate(path) -> bool`` for existing files; False recomputes the chunk.
    items_per_chunk : callable, optional
        ``items_per_chunk(chunk_id) -> int``, used to report seconds per item in the log.
    desc : str, default="chunks"
        Label of the progress bar.
    progress : bool, default=True
        Show a tqdm progress bar with ETA.

    Returns
    -------
    RunReport
        Computed, skipped and failed chunk ids and the number of excluded items.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C or SIGTERM, after cancelling pending work and stopping the workers.
        Finished chunks stay on disk; calling again resumes.
    ChunkError
        When an existing file disagrees with ``expected_attrs``.
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs = dict(kwargs or {})
    expected_attrs = dict(expected_attrs or {})
    report = RunReport()

    for stale in out_dir.glob("*" + TMP_SUFFIX):
        logger.info("removing unfinished file %s", stale)
        stale.unlink()

    todo = []
    for cid in chunk_ids:
        cid = int(cid)
        path = chunk_path(out_dir, cid, name_format)
        if is_complete(path, expected_attrs) and (validate is None or validate(path)):
            report.skipped.append(cid)
        else:
            if path.exists():
                logger.warning("%s is incomplete or invalid; recomputing it", path)
            todo.append(cid)
    if report.skipped:
        logger.info("%s: %d already done in %s, %d to compute", desc, len(report.skipped), out_dir, len(todo))
    if not todo:
        report.seconds = time.perf_counter() - t_start
        return report

    bar = tqdm(total=len(todo), desc=desc, unit="chunk", disable=not progress, dynamic_ncols=True, smoothing=0.1)

    def finish(cid: int, result: dict, seconds: float) -> None:
        path = chunk_path(out_dir, cid, name_format)
        excluded = list(result.get("excluded", []) or [])
        for index, reason in excluded:
            logger.warning("%s %d: item %s excluded: %s", desc, cid, index, reason)
        _write_chunk(path, result, cid, expected_attrs)
        report.computed.append(cid)
        report.n_excluded += len(excluded)
        per_item = ""
        if items_per_chunk is not None:
            n = items_per_chunk(cid)
            if n:
                per_item = f", {seconds / n:.2f} s/item"
        logger.info("wrote %s (%.1f s%s, %d excluded)", path.name, seconds, per_item, len(excluded))
        bar.update(1)

    def fail(cid: int, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        logger.error("%s %d failed; it will be retried on the next run:\n%s", desc, cid, tb)
        report.failed[cid] = f"{type(exc).__name__}: {exc}"
        bar.update(1)

    # SIGTERM (kill, job schedulers) takes the same clean path as Ctrl-C.
    previous_term = None
    try:
        def on_term(signum, frame):
            raise KeyboardInterrupt("SIGTERM")

        previous_term = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not in the main thread
        previous_term = None

    try:
        if client is not None:
            _run_dask(client, compute_chunk, todo, kwargs, finish, fail)
        elif n_workers == 0:
            for cid in todo:
                try:
                    result, seconds = _execute_here(compute_chunk, cid, kwargs)
                except Exception as exc:  # noqa: BLE001 - recorded and reported
                    fail(cid, exc)
                    continue
                finish(cid, result, seconds)
        else:
            _run_pool(int(n_workers), compute_chunk, todo, kwargs, finish, fail)
    finally:
        bar.close()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        report.seconds = time.perf_counter() - t_start
    return report


def _run_pool(n_workers, func, todo, kwargs, finish, fail) -> None:
    # Set the env before the workers start so their numpy/pyscf read it on import; spawn
    # (not fork) so they do not inherit thread pools the parent already created.
    saved = {var: os.environ.get(var) for var in THREAD_ENV}
    for var in THREAD_ENV:
        os.environ[var] = "1"
    executor = cf.ProcessPoolExecutor(
        max_workers=max(1, min(n_workers, len(todo))),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        # A fresh process per chunk: PySCF/xTB runs leave several GB of heap behind that a
        # long-lived worker would carry (seen: 3.7 GB RSS after three H2O chunks).
        max_tasks_per_child=1,
    )
    try:
        futures = {executor.submit(_execute, func, cid, kwargs): cid for cid in todo}
        for fut in cf.as_completed(futures):
            cid = futures[fut]
            try:
                result, seconds = fut.result()
            except Exception as exc:  # noqa: BLE001
                fail(cid, exc)
                continue
            finish(cid, result, seconds)
    except BaseException:
        # Ctrl-C: drop queued chunks and stop running ones; finished files are already safe.
        for proc in list(getattr(executor, "_processes", {}).values()):
            if proc.is_alive():
                proc.terminate()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        executor.shutdown(wait=True)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _run_dask(client, func, todo, kwargs, finish, fail) -> None:
    from distributed import as_completed

    futures = [
        client.submit(_execute, func, cid, kwargs, key=f"xslatent-chunk-{cid}-{time.time_ns()}")
        for cid in todo
    ]
    ids = {fut.key: cid for fut, cid in zip(futures, todo)}
    try:
        for fut in as_completed(futures):
            cid = ids[fut.key]
            try:
                result, seconds = fut.result()
            except Exception as exc:  # noqa: BLE001
                fail(cid, exc)
                continue
            finish(cid, result, seconds)
            fut.release()
    except BaseException:
        client.cancel(futures)
        raise
