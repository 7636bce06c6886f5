"""Make the bundled ``geo2_spectra.h5``: broadened Kβ spectra of a GeO2 site sample (Fig. 2d).

Picks ``--n-per-pressure`` sites at each of the 11 pressures, shared evenly over each
pressure's 6 melt-quench runs (:func:`xslatent.simulate.geo2_spectra.sample_sites`),
recomputes them from ``datasets/geo2/geometries`` with the bundled file's GFN1-xTB settings
(:func:`~xslatent.simulate.geo2_spectra.recompute_spectra`, which refuses the result unless
the recomputed stick moments equal the bundled ones to 1e-4), prints the per-site cost, the
Kβ'' and Kβ2 peak positions per pressure (mean ± std over the sites) and writes the file into
the package with its sha256 in ``registry.json``. One core, a few minutes:

    OMP_NUM_THREADS=1 python examples/geo2_fig2d_spectra.py            # writes and registers
    OMP_NUM_THREADS=1 python examples/geo2_fig2d_spectra.py --time-only  # cost of 3 sites
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from xslatent.datasets import load_geo2
from xslatent.datasets._bundled import register
from xslatent.simulate.geo2_spectra import line_peaks, recompute_spectra, sample_sites

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-per-pressure", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--geometries", default=str(REPO / "datasets" / "geo2" / "geometries"))
    ap.add_argument("--time-only", action="store_true", help="time 3 sites and stop")
    ap.add_argument("--no-register", action="store_true", help="write to a temporary file only")
    args = ap.parse_args(argv)

    data = load_geo2()
    rows = sample_sites(data.metadata["pressure_gpa"], data.metadata["run_index"],
                        n_per_pressure=args.n_per_pressure, seed=args.seed)
    t0 = time.perf_counter()
    recompute_spectra(data, rows[:3], args.geometries, progress=False)
    per_site = (time.perf_counter() - t0) / 3
    print(f"per-site cost (3 sites, one core): {per_site:.2f} s; {len(rows)} sites -> ~{per_site * len(rows):.0f} s")
    if args.time_only:
        return
    t0 = time.perf_counter()
    sample = recompute_spectra(data, rows, args.geometries)
    print(f"{len(sample)} sites ({args.n_per_pressure} per pressure, seed {args.seed}) in "
          f"{time.perf_counter() - t0:.0f} s; grid {sample.energy[0]:g}..{sample.energy[-1]:g} eV, "
          f"{len(sample.energy)} points; FWHM {sample.attrs['spectrum_fwhm']} eV; largest |recomputed - bundled| "
          f"stick moment {sample.attrs['max_moment_difference']:.2e}")
    peaks = line_peaks(sample.energy, sample.Y, sample.metadata["cluster_split"])
    print("pressure_GPa  n  Kbeta''_peak_eV  Kbeta2_peak_eV  (mean +- std over sites)")
    for p in np.unique(sample.groups):
        k = sample.groups == p
        lo, hi = peaks[k].mean(axis=0), peaks[k].std(axis=0)
        print(f"{p:6g}  {k.sum():3d}  {lo[0]:7.2f} +- {hi[0]:.2f}  {lo[1]:7.2f} +- {hi[1]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "geo2_spectra.h5"
        sample.save(path)
        print(f"file size {path.stat().st_size / 1e6:.2f} MB")
        if not args.no_register:
            entry = register(path, "geo2_spectra.h5", n_sites=len(sample), n_per_pressure=args.n_per_pressure,
                             seed=args.seed, description=(
                                 f"Broadened GFN1-xTB Ge Kbeta spectra (FWHM {sample.attrs['spectrum_fwhm']} eV) of "
                                 f"{len(sample)} geo2.h5 sites, {args.n_per_pressure} per pressure spread over the "
                                 f"runs, recomputed from datasets/geo2/geometries with geo2.h5's settings "
                                 f"(examples/geo2_fig2d_spectra.py)"))
            print(f"registered geo2_spectra.h5: sha256 {entry['sha256']}")


if __name__ == "__main__":
    main()
