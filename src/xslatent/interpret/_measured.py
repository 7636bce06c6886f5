"""A measured (or new simulated) spectrum → latent values → structure, with a run's models.

A *run directory* (``xslatent analyse DATA.h5 --out RUN``) holds the fitted models and their
scalers under ``RUN/models/<target>/<label>/`` (safetensors + JSON) and a description
``RUN/run.json`` written by :func:`describe_run`: energy grid, feature names and their
training distribution, the intensity convention of the training spectra and, per model,
the residuals of the same latent fit on held-out test spectra (the yardstick for a new
spectrum).

:func:`interpret_spectra` puts each spectrum on the model grid, optionally fits an energy
shift (bounded) and normalizes the intensity like the training spectra, fits the latent
values by least squares through each model's decoder with several starts, and expands them
to structure (ECA, NNCA) in physical units.

Ensemble averages
-----------------
An experiment measures the average spectrum ``<f(x)>`` of many structures. The fitted
latent ``t*`` minimizes ``|<f(x)> - g(t)|``; where the decoder ``g`` is close to linear over
the spread of the ensemble's latents, ``t* ≈ <t> = V <x>``, so the expansion ``V^T t*`` is
the *average structure projected onto the decisive subspace*: the mean of the decisive
combinations of features, with every non-decisive direction left at the training mean.
Curvature of ``g`` biases ``t*`` by about ``g''/(2 g') Var(t)`` (second order in the
ensemble's spread), so a broad ensemble is recovered less exactly than one snapshot. The
expansion is not the average of each feature separately unless those features lie in the
decisive subspace.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._validation import Interval, Options, validate_params
from ..decomposition._latent import LatentInversionMixin
from ..exceptions import DataFormatError, InvalidParameterError

__all__ = [
    "RUN_FORMAT",
    "Run",
    "describe_run",
    "load_run",
    "interpret_spectra",
    "write_interpretation",
    "training_convention",
]

RUN_FORMAT = "xslatent.run"
RUN_SCHEMA_VERSION = 1
#: Relative spread (std / mean) of area or maximum below which spectra count as normalized.
_NORMALIZED_CV = 0.01
_KINDS = {"eca": "ECA", "nnca": "NNCA", "ednn": "EDNN"}


def _area(E: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return np.trapezoid(Y, E, axis=-1)


def training_convention(energy: Any, Y: Any) -> dict:
    """Which intensity normalization the spectra ``Y`` follow.

    Parameters
    ----------
    energy : array-like of shape (m,)
    Y : array-like of shape (n, m)

    Returns
    -------
    dict
        ``convention`` ("area" if every spectrum has the same area within 1 %, else "max" if
        the same maximum within 1 %, else "none"), and the relative spreads ``area_cv`` and
        ``max_cv``.
    """
    E, Y = np.asarray(energy, float), np.asarray(Y, float)
    area, peak = _area(E, Y), Y.max(axis=1)
    area_cv = float(np.std(area) / abs(np.mean(area))) if np.mean(area) else float("inf")
    max_cv = float(np.std(peak) / abs(np.mean(peak))) if np.mean(peak) else float("inf")
    conv = "area" if area_cv < _NORMALIZED_CV else "max" if max_cv < _NORMALIZED_CV else "none"
    return {"convention": conv, "area_cv": area_cv, "max_cv": max_cv}


class _ChannelSubset(LatentInversionMixin):
    """A model's latent decoder restricted to some output channels (for masked fits)."""

    def __init__(self, model, channels):
        import torch

        self._model = model
        self._idx = torch.as_tensor(np.asarray(channels), device=model._device())
        self._nested_ranks = model._nested_ranks
        self.n_components_ = model.n_components_
        self.n_outputs_ = len(channels)
        self.latent_min_, self.latent_max_ = model.latent_min_, model.latent_max_

    def _inversion_module(self):
        return self._model._inversion_module()

    @property
    def _torch_dtype(self):
        return self._model._torch_dtype

    def _device(self):
        return self._model._device()

    def _decode_latent(self, T):
        return self._model._decode_latent(T)[:, self._idx]


def _decode(model, T: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model._decode_latent(torch.as_tensor(T, dtype=model._torch_dtype, device=model._device()))
    return out.detach().cpu().double().numpy()


def _expand(model, T: np.ndarray, x_scaler) -> np.ndarray | None:
    if not hasattr(model, "inverse_transform"):
        return None  # EDNN: no linear expansion to structure
    return x_scaler.inverse_transform(model.inverse_transform(T))


def _leverage(model, k: int) -> np.ndarray | None:
    V = getattr(model, "components_", None)
    return None if V is None else np.sum(np.asarray(V)[:k] ** 2, axis=0)


# ---------------------------------------------------------------------------- run directory
def describe_run(out_dir, data, result, prepared, target_set: str, *, n_reference: int = 200,
                 random_state: int = 0, log=print):
    """Write ``RUN/run.json``: what :func:`interpret_spectra` needs besides the models.

    Parameters
    ----------
    out_dir : path
        The run directory (models under ``models/<target_set>/``).
    data : Dataset
        The analysed data set.
    result : TargetResult
        From :func:`xslatent.pipeline.analysis.analyse_target`.
    prepared : Prepared
        Its split and fitted scalers.
    target_set : str
        Name of the target set (sub-folder of ``models/``).
    n_reference : int, default=200
        Test spectra (at most) whose latent-fit residuals are stored as the yardstick.
    random_state : int, default=0
        Seed of that subset.
    log : callable, default=print

    Returns
    -------
    info : dict
        The content of ``run.json``.
    sections : list of Section
        A report section: structures recovered from test spectra, in physical units.
    """
    import matplotlib.pyplot as plt

    from ..report import Section, atomic_write_text, figure_html, table_html

    out = Path(out_dir)
    k = max(int(kk) for kk in (m.n_components_ for m in result.models.values()
                               if hasattr(m, "n_components_")))
    labels = [lab for lab in ("eca", f"nnca_k{k}", f"ednn_k{k}") if lab in result.models]
    rng = np.random.default_rng(random_state)
    n_test = prepared.Yte.shape[0]
    rows = np.sort(rng.choice(n_test, size=min(n_reference, n_test), replace=False))
    Xte_phys = prepared.test.X[rows]
    models_info, table, expansions = {}, [], {}
    for label in labels:
        model = result.models[label]
        kind = _KINDS[label.split("_")[0]]
        fit = model.fit_latent(prepared.Yte[rows], n_starts=8, max_iter=300, random_state=random_state)
        mse = fit.residuals / prepared.Yte.shape[1]
        entry = {"path": f"models/{target_set}/{label}", "kind": kind, "k": int(model.n_components_),
                 "test_r2": float(result.r2.get((kind, k), float("nan"))),
                 "test_mse": [float(v) for v in mse]}
        x = _expand(model, fit.latents, prepared.x_scaler)
        if x is not None:
            rmse = np.sqrt(np.mean((x - Xte_phys) ** 2, axis=0))
            entry["feature_rmse"] = dict(zip(data.feature_names, map(float, rmse)))
            expansions[kind] = x
            table.append({"model": f"{kind} k={model.n_components_}",
                          **{f: float(v) for f, v in zip(data.feature_names, rmse)}})
        models_info[label] = entry
        log(f"[{target_set}] {label}: test latent-fit residual (mean square per channel) median "
            f"{np.median(mse):.3g}, 99 % {np.quantile(mse, 0.99):.3g}")
    Xtr = prepared.train.X
    info = {
        "format": RUN_FORMAT,
        "schema_version": RUN_SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "target_set": target_set,
        "dataset": data.name,
        "feature_names": list(data.feature_names),
        "energy": None if data.energy is None else [float(v) for v in data.energy],
        "normalization": None if data.energy is None else training_convention(data.energy, prepared.train.Y),
        "features_train": {"mean": Xtr.mean(0).tolist(), "q05": np.quantile(Xtr, 0.05, 0).tolist(),
                           "q95": np.quantile(Xtr, 0.95, 0).tolist()},
        "components": k,
        "models": models_info,
        "n_reference": int(rows.size),
    }
    info = _json_safe(info)
    atomic_write_text(out / "run.json", json.dumps(info, indent=1, allow_nan=False))
    sections = []
    if expansions:
        d = len(data.feature_names)
        show = range(min(d, 6))
        fig, axes = plt.subplots(1, len(show), figsize=(3.2 * len(show), 3.0), squeeze=False)
        for ax, j in zip(axes[0], show):
            for kind, x in expansions.items():
                ax.plot(Xte_phys[:, j], x[:, j], ".", ms=3, label=kind)
            lims = [Xte_phys[:, j].min(), Xte_phys[:, j].max()]
            ax.plot(lims, lims, "k-", lw=0.8)
            ax.set_xlabel(f"true {data.feature_names[j]}")
            ax.set_ylabel("from the spectrum")
        axes[0][0].legend(fontsize=7)
        sections.append(Section(
            "Structure recovered from held-out spectra (physical units)",
            ["<p class='note'>Latent values fitted to each test spectrum through the decoder, "
             "expanded to structure; RMSE per feature in the units of its name.</p>",
             table_html(table), figure_html(fig)]))
    return info, sections


@dataclass
class Run:
    """A loaded run directory.

    Attributes
    ----------
    path : Path
    info : dict
        ``run.json``.
    models : dict of str to estimator
        Label (``"eca"``, ``"nnca_k2"``, ``"ednn_k2"``) to fitted model.
    x_scaler, y_scaler : scalers
        Fitted on the training split.
    bootstrap : dict of str to list of estimator
        Bootstrap ensembles found under ``models/<target>/bootstrap/<label>/<i>/``.
    """

    path: Path
    info: dict
    models: dict
    x_scaler: Any
    y_scaler: Any
    bootstrap: dict = field(default_factory=dict)

    @property
    def energy(self) -> np.ndarray:
        """The models' energy grid (eV)."""
        return np.asarray(self.info["energy"], dtype=float)

    @property
    def feature_names(self) -> list:
        """Names of the structural features, with their units."""
        return list(self.info["feature_names"])


def load_run(path, *, device: str = "cpu") -> Run:
    """Load a run directory written by ``xslatent analyse`` (never unpickles).

    Parameters
    ----------
    path : str or Path
    device : str, default="cpu"

    Returns
    -------
    Run

    Raises
    ------
    DataFormatError
        If ``run.json`` or a model is missing or damaged, or the run's targets are not
        spectra on an energy grid.
    """
    from ..io import load_model

    path = Path(path)
    jpath = path / "run.json"
    if not jpath.is_file():
        raise DataFormatError(
            f"{path} is not an xslatent run directory (no run.json). Make one with "
            f"`xslatent analyse DATA.h5 --out {path}`."
        )
    try:
        info = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{jpath} is not valid JSON: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise DataFormatError(f"{jpath} is not an xslatent run description (format != {RUN_FORMAT!r}).")
    if info.get("schema_version") != RUN_SCHEMA_VERSION:
        raise DataFormatError(f"{jpath} has schema_version {info.get('schema_version')!r}; this xslatent "
                              f"reads {RUN_SCHEMA_VERSION}.")
    if info.get("energy") is None:
        raise DataFormatError(
            f"{path} was trained on targets without an energy grid (e.g. moments); interpret needs "
            f"spectra on a grid."
        )
    models, scalers, bootstrap = {}, None, {}
    for label, entry in info["models"].items():
        model, extras, _ = load_model(path / entry["path"], device=device, return_extras=True)
        models[label] = model
        scalers = scalers or (extras["x_scaler"], extras["y_scaler"])
        boot_dir = path / entry["path"] / ".." / "bootstrap" / label
        members = sorted(p for p in boot_dir.glob("*") if (p / "model.json").is_file())
        if len(members) >= 2:
            bootstrap[label] = [load_model(p, device=device) for p in members]
    return Run(path, info, models, scalers[0], scalers[1], bootstrap)


# ---------------------------------------------------------------------------- interpretation
_RULES = {
    "fit_shift": [Interval(float, 0, None)],
    "normalize": [Options(("auto", "area", "max", "none"))],
    "n_starts": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 1, None)],
}


def _rows_on_grid(E, mask, e, y, shifts, normalize, ref):
    """The spectrum at E + shift (masked channels), normalized like ``ref``; and the factors."""
    rows = np.empty((len(shifts), E.size))
    factors = np.ones(len(shifts))
    Em = E[mask]
    for i, s in enumerate(shifts):
        r = np.interp(E + s, e, y)
        if normalize == "area":
            factors[i] = _area(Em, ref[mask]) / _area(Em, r[mask])
        elif normalize == "max":
            factors[i] = ref[mask].max() / r[mask].max()
        rows[i] = np.where(mask, r * factors[i], ref)
    if not np.all(np.isfinite(factors)) or np.any(factors <= 0):
        raise InvalidParameterError(
            f"The spectrum cannot be normalized by '{normalize}' (its area or maximum over the model "
            f"grid is zero or negative). Use normalize='none'."
        )
    return rows, factors


def _fit_one(run, model, e, y, S, normalize, n_starts, max_iter, random_state, shift=None):
    """Latent fit of one spectrum; the shift is searched in [-S, S] unless given."""
    E = run.energy
    tol = 1e-9 * max(1.0, abs(E).max())
    mask = (E - S >= e[0] - tol) & (E + S <= e[-1] + tol)
    if mask.sum() < max(3, E.size // 2):
        raise InvalidParameterError(
            f"The spectrum covers {e[0]:g} to {e[-1]:g} eV; the model grid is {E[0]:g} to {E[-1]:g} eV"
            f"{f' and the shift may reach ±{S:g} eV' if S else ''}, which leaves {int(mask.sum())} of "
            f"{E.size} channels (at least half are needed). Measure a wider range or lower --fit-shift."
        )
    idx = np.flatnonzero(mask)
    sub = _ChannelSubset(model, idx)
    ref = np.asarray(run.y_scaler.mean_, dtype=float)

    def fit(shifts):
        rows, factors = _rows_on_grid(E, mask, e, y, shifts, normalize, ref)
        scaled = run.y_scaler.transform(rows)[:, idx]
        res = sub.fit_latent(scaled, n_starts=n_starts, max_iter=max_iter, random_state=random_state)
        return res.latents, res.residuals / idx.size, factors, rows

    if S == 0 or shift is not None:
        shift = 0.0 if shift is None else float(shift)
        T, mse, factors, rows = fit(np.array([shift]))
    else:
        step = min(np.median(np.diff(E)) / 2, S / 5)
        coarse = np.linspace(-S, S, min(161, int(np.ceil(2 * S / step)) + 1))
        _, mse_c, _, _ = fit(coarse)
        b = int(np.argmin(mse_c))
        h = coarse[1] - coarse[0]
        fine = np.clip(np.linspace(coarse[b] - h, coarse[b] + h, 21), -S, S)
        _, mse_f, _, _ = fit(fine)
        j = int(np.argmin(mse_f))
        shift = float(fine[j])
        if 0 < j < fine.size - 1:  # vertex of the parabola through the best three points
            a, bb, _ = np.polyfit(fine[j - 1:j + 2], mse_f[j - 1:j + 2], 2)
            if a > 0:
                shift = float(np.clip(-bb / (2 * a), fine[j - 1], fine[j + 1]))
        T, mse, factors, rows = fit(np.array([shift]))
    fitted = run.y_scaler.inverse_transform(_decode(model, T))[0]
    return {"shift": shift, "latents": T[0], "mse": float(mse[0]), "factor": float(factors[0]),
            "mask": mask, "measured": rows[0], "fitted": fitted}


def interpret_spectra(
    run: Run,
    spectra: Sequence[tuple],
    *,
    fit_shift: float = 0.0,
    normalize: str = "auto",
    models: Sequence[str] | None = None,
    n_starts: int = 8,
    max_iter: int = 300,
    random_state: int = 0,
) -> dict:
    """Fit latent values (and optionally an energy shift) to spectra and expand to structure.

    Parameters
    ----------
    run : Run
        From :func:`load_run`.
    spectra : sequence of (name, energy, intensity)
        Each spectrum on its own (strictly increasing) grid.
    fit_shift : float, default=0.0
        Largest energy shift (eV) to fit, in both directions; 0 fits none. A shift ``δ``
        means the spectrum sits ``δ`` eV above the model: it is compared as ``y(E + δ)``.
    normalize : {"auto", "area", "max", "none"}, default="auto"
        Intensity scaling before the fit: the area (or maximum) over the compared channels
        is set to that of the training mean spectrum; "none" compares raw values; "auto"
        uses the training spectra's own convention (``run.info["normalization"]``), or
        "area" when they had none.
    models : sequence of str, optional
        Model labels to use (default: all in the run).
    n_starts : int, default=8
        Starting points of each latent fit.
    max_iter : int, default=300
        Adam steps of each latent fit.
    random_state : int, default=0

    Returns
    -------
    dict
        JSON-able: ``rows`` (one per spectrum: shift, structure and residual of the primary
        model, warnings), ``spectra`` (per spectrum and model: shift, scale, latents,
        residual and its percentile among test spectra, structure, bootstrap spread,
        outside-manifold flag, the compared measured and fitted curves), ``models`` (per
        model: kind, k, test R2, feature leverage), ``settings`` and ``notes``.
    """
    validate_params("interpret_spectra", dict(fit_shift=fit_shift, normalize=normalize, n_starts=n_starts,
                                              max_iter=max_iter), _RULES)
    labels = list(run.models) if models is None else list(models)
    unknown = [m for m in labels if m not in run.models]
    if unknown:
        raise InvalidParameterError(
            f"The 'models' parameter of interpret_spectra must name models of the run "
            f"({', '.join(run.models)}). Got {unknown!r}."
        )
    conv = (run.info.get("normalization") or {}).get("convention", "none")
    norm = (conv if conv in ("area", "max") else "area") if normalize == "auto" else normalize
    names = run.feature_names
    q99 = {lab: float(np.quantile(run.info["models"][lab]["test_mse"], 0.99)) for lab in labels}
    expanding = [lab for lab in labels if hasattr(run.models[lab], "inverse_transform")]
    primary = max(expanding or labels, key=lambda lab: _or_minus_inf(run.info["models"][lab].get("test_r2")))
    out_spectra, rows = [], []
    for name, e, y in spectra:
        from ..io._spectra import check_energy_grid

        e = check_energy_grid(e, f"spectrum {name!r}")
        y = np.asarray(y, dtype=float)
        if y.shape != e.shape or not np.all(np.isfinite(y)):
            raise InvalidParameterError(
                f"The spectrum {name!r} must have one finite intensity per energy ({e.size}). Got shape "
                f"{y.shape} with {int(np.sum(~np.isfinite(y)))} non-finite value(s)."
            )
        per_model, warnings = {}, []
        for lab in labels:
            model = run.models[lab]
            r = _fit_one(run, model, e, y, float(fit_shift), norm, n_starts, max_iter, random_state)
            test = np.asarray(run.info["models"][lab]["test_mse"])
            span = np.where(model.latent_max_ > model.latent_min_, model.latent_max_ - model.latent_min_, 1.0)
            beyond = (r["latents"] < model.latent_min_ - 0.1 * span) | (r["latents"] > model.latent_max_ + 0.1 * span)
            outside = bool(r["mse"] > q99[lab] or beyond.any())
            x = _expand(model, r["latents"][None], run.x_scaler)
            spread = None
            if x is not None and lab in run.bootstrap:  # each member refitted at this shift
                xs = [_expand(member, _fit_one(run, member, e, y, float(fit_shift), norm, n_starts, max_iter,
                                               random_state, shift=r["shift"])["latents"][None], run.x_scaler)[0]
                      for member in run.bootstrap[lab]]
                spread = dict(zip(names, map(float, np.std(xs, axis=0, ddof=1))))
            per_model[lab] = {
                "shift_eV": r["shift"], "intensity_factor": r["factor"],
                "latents": r["latents"].tolist(), "residual_mse": r["mse"],
                "test_residual_percentile": float(100 * np.mean(test <= r["mse"])),
                "test_residual_q99": q99[lab],
                "outside_training_manifold": outside,
                "latents_beyond_training_range": bool(beyond.any()),
                "structure": None if x is None else dict(zip(names, map(float, x[0]))),
                "structure_bootstrap_std": spread,
                "channels_compared": int(r["mask"].sum()),
                "measured_on_grid": [float(v) if keep else None for v, keep in zip(r["measured"], r["mask"])],
                "fitted": r["fitted"].tolist(),
            }
            if outside:
                why = (f"residual {r['mse']:.3g} above the 99th percentile of test spectra ({q99[lab]:.3g})"
                       if r["mse"] > q99[lab] else "latent values beyond the training range")
                warnings.append(f"{lab}: outside the training manifold ({why}); its structure is an "
                                f"extrapolation.")
            if fit_shift and abs(r["shift"]) > 0.95 * fit_shift:
                warnings.append(f"{lab}: the shift {r['shift']:+.3f} eV is at its bound ±{fit_shift:g} eV.")
        p = per_model[primary]
        rows.append({"spectrum": name, "model": primary, "shift_eV": p["shift_eV"],
                     **(p["structure"] or {}), "residual_mse": p["residual_mse"],
                     "test_residual_percentile": p["test_residual_percentile"],
                     "warning": "; ".join(warnings)})
        out_spectra.append({"name": name, "models": per_model, "warnings": warnings})
    model_info = {}
    for lab in labels:
        m, entry = run.models[lab], run.info["models"][lab]
        lev = _leverage(m, int(m.n_components_))
        model_info[lab] = {"kind": entry["kind"], "k": entry["k"], "test_r2": entry.get("test_r2"),
                           "feature_leverage": None if lev is None else dict(zip(names, map(float, lev))),
                           "bootstrap_members": len(run.bootstrap.get(lab, []))}
    return {
        "run": str(run.path), "primary_model": primary, "energy": run.energy.tolist(),
        "feature_names": names, "rows": rows, "spectra": out_spectra, "models": model_info,
        "settings": {"fit_shift_eV": float(fit_shift), "normalize": norm,
                     "training_convention": run.info.get("normalization"), "n_starts": n_starts,
                     "max_iter": max_iter, "random_state": random_state},
        "notes": [
            "shift_eV: the spectrum sits this many eV above the model; it is compared as y(E + shift).",
            f"Intensity: '{norm}' sets the area/maximum over the compared channels to that of the "
            f"training mean spectrum; the training spectra's convention is "
            f"{(run.info.get('normalization') or {}).get('convention')!r}.",
            "structure: expansion of the fitted latents (ECA, NNCA); directions the spectrum does not "
            "encode stay at the training mean. For an ensemble-average spectrum it estimates the "
            "average structure projected onto the decisive subspace (to first order in the "
            "ensemble's spread).",
            "feature_leverage: sum of squared basis-vector entries per standardized feature (1 = fully "
            "inside the decisive subspace, 0 = not encoded).",
        ],
    }


def _or_minus_inf(value):
    return -np.inf if value is None else value


def _json_safe(value):
    """NaN and infinities as null, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_interpretation(result: dict, out_dir, run: Run) -> dict:
    """Write ``interpretation.json``, ``interpretation.png`` and ``interpretation.html``.

    Parameters
    ----------
    result : dict
        From :func:`interpret_spectra`.
    out_dir : path
        Created if needed.
    run : Run

    Returns
    -------
    dict of str to Path
    """
    import matplotlib.pyplot as plt

    from ..plotting import plot_reconstructed_feature, plot_spectrum_fits
    from ..report import Section, atomic_write_text, figure_html, table_html, write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "interpretation.json", "png": out / "interpretation.png",
             "html": out / "interpretation.html"}
    atomic_write_text(paths["json"], json.dumps(_json_safe(result), indent=1, allow_nan=False))
    primary, names = result["primary_model"], result["feature_names"]
    show = names[:6]
    fig, axes = plt.subplots(1, 1 + len(show), figsize=(4.5 + 2.6 * len(show), 3.4), squeeze=False)
    chosen = [sp["models"][primary] for sp in result["spectra"]]
    labels = [sp["name"] for sp in result["spectra"]]
    plot_spectrum_fits(result["energy"], [np.asarray(m["measured_on_grid"], dtype=float) for m in chosen],
                       [m["fitted"] for m in chosen], ax=axes[0][0], model=primary)
    q05, q95 = (run.info["features_train"][k] for k in ("q05", "q95"))
    lev = result["models"][primary]["feature_leverage"] or {}
    for j, (ax, name) in enumerate(zip(axes[0][1:], show)):
        plot_reconstructed_feature(
            [(m["structure"] or {}).get(name, np.nan) for m in chosen], labels, band=(q05[j], q95[j]),
            errors=[(m["structure_bootstrap_std"] or {}).get(name, 0.0) for m in chosen], ax=ax,
            title=name + (" (barely encoded)" if lev.get(name, 1.0) < 0.1 else ""))
    if show:
        axes[0][1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=110)
    cols = ["spectrum", "model", "shift_eV", *names, "residual_mse", "test_residual_percentile", "warning"]
    detail = [{"spectrum": sp["name"], "model": lab, "shift_eV": m["shift_eV"],
               "residual_mse": m["residual_mse"], "percentile": m["test_residual_percentile"],
               "outside": m["outside_training_manifold"], **(m["structure"] or {})}
              for sp in result["spectra"] for lab, m in sp["models"].items()]
    leverage_rows = [{"model": lab, **(mi["feature_leverage"] or {})} for lab, mi in result["models"].items()
                     if mi["feature_leverage"]]
    warn = [w for sp in result["spectra"] for w in sp["warnings"]]
    sections = [
        Section("Summary (one row per spectrum)", [table_html(result["rows"], cols)]
                + [f"<p><b>Warning:</b> {w}</p>" for w in warn]),
        Section("Measured vs fitted; reconstructed features", [figure_html(fig)]),
        Section("Every model", [table_html(detail)]),
        Section("Decisive features (leverage of the basis)", [table_html(leverage_rows)]),
        Section("How to read this", ["<ul>" + "".join(f"<li>{n}</li>" for n in result["notes"]) + "</ul>"]),
    ]
    write_report(paths["html"], "xslatent interpret", sections, result["settings"])
    return paths
