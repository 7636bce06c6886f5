"""Paper Fig. 5 in ångström: reconstructed vs true Ge–O and Ge–Ge distances per pressure.

The reconstruction of :func:`xslatent.pipeline.geo2.reconstruct_distances` gives, per pressure,
one distance ``r_j`` and one Ge fraction ``p_j`` for each neighbour rank ``j`` of the Ge site
(from the per-pressure mean reconstructed Coulomb matrix). Splitting by species, the mean Ge–Ge
distance is ``Σ p_j r_j / Σ p_j`` and the mean Ge–O distance ``Σ (1−p_j) r_j / Σ (1−p_j)``: the
pooled mean over every (site, neighbour) pair of that species among the 16 neighbours. The true
values are the same pooled means over the test sites' stored neighbour distances and species.
The error is the mean absolute error in Å over the pressures.
"""

from __future__ import annotations

import numpy as np

__all__ = ["species_mean_distances", "true_species_distances", "species_distance_rows",
           "first_shell_diagnosis"]

SPECIES = ("Ge–O", "Ge–Ge")


def species_mean_distances(r, p_ge) -> np.ndarray:
    """Mean Ge–O and Ge–Ge distance from per-rank distances and Ge fractions.

    Parameters
    ----------
    r : array-like of shape (..., n_neighbours)
        Distance of each neighbour rank from the Ge site (Å); NaN ranks are left out.
    p_ge : array-like of shape (..., n_neighbours)
        Fraction (or indicator) of Ge at each rank.

    Returns
    -------
    ndarray of shape (..., 2)
        (Ge–O, Ge–Ge) mean distances; NaN where a species has no weight.
    """
    r, p = np.asarray(r, float), np.asarray(p_ge, float)
    ok = np.isfinite(r)
    r0 = np.where(ok, r, 0.0)
    out = []
    for w in (1.0 - p, p):
        w = np.where(ok, w, 0.0)
        s = w.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(s > 0, (w * r0).sum(axis=-1) / s, np.nan))
    return np.stack(out, axis=-1)


def true_species_distances(distances, numbers, groups, z_ge: float = 32.0) -> dict:
    """Per group (pressure): pooled mean Ge–O and Ge–Ge distance over all sites and neighbours.

    Parameters
    ----------
    distances : array-like of shape (n_sites, n_neighbours)
    numbers : array-like of shape (n_sites, n_neighbours)
        Atomic numbers of the neighbours.
    groups : array-like of shape (n_sites,)

    Returns
    -------
    dict
        ``{float(group): ndarray([Ge–O, Ge–Ge])}``.
    """
    distances, numbers, groups = np.asarray(distances, float), np.asarray(numbers), np.asarray(groups)
    out = {}
    for g in np.unique(groups):
        m = groups == g
        # pooling every (site, neighbour) pair = one long row of neighbours
        out[float(g)] = species_mean_distances(distances[m].ravel(), (numbers[m] == z_ge).ravel().astype(float))
    return out


def species_distance_rows(true: dict, recon: dict) -> tuple[list[dict], list[dict]]:
    """Per-pressure table and mean absolute error per method.

    Parameters
    ----------
    true : dict
        ``{pressure: [Ge–O, Ge–Ge]}`` (:func:`true_species_distances`).
    recon : dict
        ``{label: {pressure: (r, p_ge)}}`` (:func:`xslatent.pipeline.geo2.reconstruct_distances`
        per method and k).

    Returns
    -------
    per_pressure : list of dict
        One row per pressure: the true and every method's Ge–O and Ge–Ge distances (Å).
    mae : list of dict
        One row per method: MAE over the pressures in Å for Ge–O and Ge–Ge, and the
        reconstructed change between the lowest and highest pressure next to the true one.
    """
    pressures = sorted(true)
    rec = {label: {p: species_mean_distances(*r[p]) for p in pressures} for label, r in recon.items()}
    per_pressure = []
    for p in pressures:
        row = {"pressure_GPa": p}
        for s, name in enumerate(SPECIES):
            row[f"{name} true (Å)"] = float(true[p][s])
            for label in rec:
                row[f"{name} {label} (Å)"] = float(rec[label][p][s])
        per_pressure.append(row)
    mae = []
    for label in rec:
        row = {"model": label}
        for s, name in enumerate(SPECIES):
            t = np.array([true[p][s] for p in pressures])
            r = np.array([rec[label][p][s] for p in pressures])
            row[f"{name} MAE (Å)"] = float(np.nanmean(np.abs(r - t)))
            row[f"{name} change true (Å)"] = float(t[-1] - t[0])
            row[f"{name} change rec. (Å)"] = float(r[-1] - r[0])
        mae.append(row)
    return per_pressure, mae


def first_shell_diagnosis(model, prep, groups_test, n_atoms: int = 17, shell=(1, 2, 3, 4),
                          outer=(5, 6)) -> dict:
    """Why a one-component expansion cannot follow the first shell.

    With one component every reconstructed feature is ``x̄ + s·v·t``, so each Ge-row entry
    ``M_0j`` and hence each distance ``r_0j`` is a monotonic function of the one fitted latent
    ``t``. This reports, per pressure, the mean fitted latent and the true and reconstructed
    mean first-shell distance, and the change of the first-shell and outer entries ``M_0j``
    per unit latent (loading × feature std, in the Coulomb matrix's units).

    Returns
    -------
    dict
        ``latent`` (per pressure), ``shell_true``/``shell_rec`` (Å, per pressure),
        ``dM_dt_shell``, ``dM_dt_outer`` (per rank).
    """
    from ..features.coulomb import distances_from_coulomb_matrix as distances_from_cm

    i, j = np.triu_indices(n_atoms)
    col = {k: int(np.flatnonzero((i == 0) & (j == k))[0]) for k in (*shell, *outer)}
    v = np.asarray(model.components_)[0]
    scale = np.asarray(prep.x_scaler.scale_)  # FeatureScaler: std of each feature on train
    out = {"latent": {}, "shell_true": {}, "shell_rec": {}}
    dist = prep.test.metadata["neighbor_distances"]
    idx = np.array(shell) - 1
    for p in np.unique(groups_test):
        rows = groups_test == p
        t = model.fit_latent(prep.Yte[rows], n_components=1).latents[:, 0]
        Xcm = prep.x_scaler.inverse_transform(model.inverse_transform(t[:, None]))
        r, _ = distances_from_cm(Xcm.mean(axis=0, keepdims=True), n_atoms - 1)
        out["latent"][float(p)] = float(t.mean())
        out["shell_rec"][float(p)] = float(r[0, idx].mean())
        out["shell_true"][float(p)] = float(np.nanmean(dist[rows][:, idx]))
    out["dM_dt_shell"] = {k: float(v[col[k]] * scale[col[k]]) for k in shell}
    out["dM_dt_outer"] = {k: float(v[col[k]] * scale[col[k]]) for k in outer}
    return out


def species_report(recon: dict, prep, res, out_dir, n_atoms: int = 17, log=print):
    """Fig. 5 in Å for the GeO2 report: table, MAE, figure, first-shell diagnosis.

    Writes ``fig5_species_distances.png``, ``fig5_species_distances.csv`` and
    ``fig5_species_mae.csv``; logs the MAE per method and the k = 1 diagnosis.

    Returns
    -------
    section : xslatent.report.Section
    summary : dict
        ``per_pressure`` and ``mae`` rows, ``first_shell`` (NNCA k = 1 and ECA k = 1).
    """
    import matplotlib.pyplot as plt

    from ..plotting import plot_species_distances
    from ..report import Section, figure_html, table_html
    from .tables import write_csv

    from .geo2 import site_pressures

    g_te = site_pressures(prep.test)  # the bundled data's groups are melt-quench runs, not pressures
    true = true_species_distances(prep.test.metadata["neighbor_distances"], prep.test.metadata["neighbor_numbers"],
                                  g_te)
    per_pressure, mae = species_distance_rows(true, recon)
    write_csv(per_pressure, out_dir, "fig5_species_distances")
    write_csv(mae, out_dir, "fig5_species_mae")
    for row in mae:
        log(f"[geo2] Fig 5 {row['model']}: MAE Ge–O {row['Ge–O MAE (Å)']:.3f} Å, Ge–Ge {row['Ge–Ge MAE (Å)']:.3f} Å; "
            f"change 0→max pressure Ge–O {row['Ge–O change rec. (Å)']:+.3f} (true {row['Ge–O change true (Å)']:+.3f}), "
            f"Ge–Ge {row['Ge–Ge change rec. (Å)']:+.3f} (true {row['Ge–Ge change true (Å)']:+.3f}) Å")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, s in zip(axes, SPECIES):
        plot_species_distances(per_pressure, s, list(recon), ax=ax)
    fig.tight_layout()
    fig.savefig(f"{out_dir}/fig5_species_distances.png", dpi=110)
    diag = {label: first_shell_diagnosis(model, prep, g_te, n_atoms)
            for label, model in (("NNCA k=1", res.models["nnca_k1"]), ("ECA k=1", res.models["eca"]))}
    diag_rows = []
    for label, d in diag.items():
        lat = d["latent"]
        log(f"[geo2] {label}: mean fitted latent per pressure "
            + ", ".join(f"{p:g}: {t:+.2f}" for p, t in lat.items())
            + "; first-shell mean distance true " + ", ".join(f"{v:.3f}" for v in d["shell_true"].values())
            + " Å, rec. " + ", ".join(f"{v:.3f}" for v in d["shell_rec"].values())
            + " Å; dM0j/dt shell " + ", ".join(f"{v:+.3f}" for v in d["dM_dt_shell"].values())
            + ", outer (5, 6) " + ", ".join(f"{v:+.3f}" for v in d["dM_dt_outer"].values()))
        for p in lat:
            diag_rows.append({"model": label, "pressure_GPa": p, "mean latent t": lat[p],
                              "first shell true (Å)": d["shell_true"][p], "first shell rec. (Å)": d["shell_rec"][p]})
    slopes = [{"model": label, **{f"dM0,{k}/dt": v for k, v in {**d["dM_dt_shell"], **d["dM_dt_outer"]}.items()}}
              for label, d in diag.items()]
    section = Section("Fig. 5 in ångström: Ge–O and Ge–Ge distances from the Ge site", [
        "<p>Per pressure, the pooled mean distance from the Ge site to its O and to its Ge neighbours "
        "(among the 16 Coulomb-matrix neighbours): true (test sites) vs reconstructed from the test "
        "moments (each rank's distance weighted by its reconstructed species share). MAE over the "
        "pressures in Å, and the change from the lowest to the highest pressure:</p>",
        table_html(mae), figure_html(fig), table_html(per_pressure),
        "<p>One component: every reconstructed distance is a monotonic function of the one fitted latent "
        "t (M<sub>0j</sub> is linear in t), so the first shell, which lengthens and then shortens with "
        "pressure, can only be followed on one side of its turn. Mean fitted latent and first-shell "
        "(neighbours 1–4) mean distance per pressure, and the change of each Ge-row entry per unit t:</p>",
        table_html(diag_rows), table_html(slopes)])
    return section, {"per_pressure": per_pressure, "mae": mae, "first_shell": diag}
