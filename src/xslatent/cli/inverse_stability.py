"""``xslatent inverse-stability DATASET --out DIR``."""

from __future__ import annotations

from ._common import add_device_argument, add_seed_argument

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``inverse-stability`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "inverse-stability",
        help="EDNN layer-wise inversion analysis",
        description="Train a square-matrix leaky-ReLU EDNN on DATASET and analyse layer-by-layer "
        "inversion: layer-wise maximum errors, singular values, HTML report.",
    )
    p.add_argument("dataset", help="Dataset HDF5 file, or 'h2o:xes' / 'geo2' for bundled data")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--n-components", type=int, nargs="+", default=[1])
    p.add_argument("--encoder-depth", type=int, default=2)
    p.add_argument("--decoder-depth", type=int, default=2)
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 1e-4, 1e-3, 1e-2])
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--search", type=int, default=0, metavar="N",
                   help="choose the network by a randomized search of N candidates (0: use the depths given)")
    p.add_argument("--preset", default="h2o-ednn-square-lrelu",
                   help="search space for --search (h2o-ednn-square-lrelu, geo2-ednn-square-lrelu)")
    add_seed_argument(p)
    add_device_argument(p)
    return p


def run(args) -> int:
    """Run ``inverse-stability``; errors are reported by :func:`xslatent.cli.main.main`."""
    from ..datasets import load_dataset
    from ..pipeline.inverse_stability import run_inverse_stability

    data = load_dataset(args.dataset)
    summary = run_inverse_stability(
        data, args.out, n_components=tuple(args.n_components), encoder_depth=args.encoder_depth,
        decoder_depth=args.decoder_depth, noise_levels=tuple(args.noise), max_iter=args.max_iter,
        random_state=args.seed, device=args.device, n_search=args.search, preset=args.preset,
    )
    for k, s in summary.items():
        p = s["predicted"]
        t = s["target"]
        print(f"k={k}: test R2 {s['test_r2']:.4f}; from the predicted output the error grows most at "
              f"{p['worst_layer']} (x{p['growth']:.3g}), input error {p['input_error']:.3g}; from the "
              f"test-set spectra most at {t['worst_layer']} (x{t['growth']:.3g}), input error {t['input_error']:.3g}")
        layers = list(s["exact_per_layer"])
        print(f"  {'layer':<12}{'predicted':>12}{'test spectra':>14}{'exact':>12}{'cond':>12}")
        for lab in layers:
            print(f"  {lab:<12}{s['predicted']['per_layer'][lab]:>12.3g}{s['target']['per_layer'][lab]:>14.3g}"
                  f"{s['exact_per_layer'][lab]:>12.3g}{s['cond'].get(lab, float('nan')):>12.3g}")
    print(f"wrote {args.out}/inverse_stability.html")
    return 0
