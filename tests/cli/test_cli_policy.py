"""The CLI's shared policy: one-line user errors with exit status 2, instant --help, same options."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xslatent.cli import main as cli_main
from xslatent.cli._common import DEFAULT_DEVICE, DEFAULT_SEED

SRC = Path(cli_main.__file__).resolve().parents[2]


def _run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "xslatent.cli.main", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture
def not_a_dataset(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not HDF5")
    return path


@pytest.fixture
def bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("this is = = not toml\n")
    return path


# (argv, a fragment the one-line message must contain); paths under {tmp} are made per test.
BAD_INPUTS = [
    (["info", "{tmp}/missing.h5"], "No such data set file"),
    (["info", "{notes}"], "not a valid HDF5 file"),
    (["info", "{tmp}"], "not an xslatent model directory"),
    (["inverse-stability", "{tmp}/missing.h5", "--out", "{tmp}/o"], "No such data set file"),
    (["reproduce", "{tmp}/missing.h5", "--out", "{tmp}/o"], "No such data set file"),
    (["reproduce", "{notes}", "--out", "{tmp}/o", "--config", "{toml}"], "is not valid TOML"),
    (["reproduce", "h2o", "--out", "{tmp}/o", "--resamples", "1"], "--resamples must be 0"),
    (["reproduce", "{tmp}/missing.h5", "--out", "{tmp}/o", "--resamples", "4"], "--resamples applies to the bundled"),
    (["select", "{tmp}/missing.toml"], "No such file or directory"),
    (["select", "{toml}"], "is not valid TOML"),
    (["simulate", "h2o", "--out", "{tmp}/sim", "--n-snapshots", "0"], "'n_snapshots' parameter"),
    (["simulate", "assemble", "h2o", "{tmp}", "{tmp}/o.h5"], "No complete chunk files"),
    (["simulate", "assemble", "geo2", "{tmp}", "{tmp}/o.h5"], "No complete chunk files"),
]


@pytest.mark.parametrize("argv, fragment", BAD_INPUTS, ids=[" ".join(a[:3]) for a, _ in BAD_INPUTS])
def test_user_error_is_one_line_and_status_2(argv, fragment, tmp_path, not_a_dataset, bad_toml,
                                              capsys):
    argv = [a.format(tmp=tmp_path, notes=not_a_dataset, toml=bad_toml) for a in argv]
    assert cli_main.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"xslatent {argv[0]}: error: ")
    assert fragment in lines[0]
    assert captured.out == ""


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such data set file"):
        cli_main.main(["--traceback", "info", str(tmp_path / "missing.h5")])


@pytest.mark.parametrize("argv", [
    ["bogus"],
    ["info"],
    ["reproduce", "h2o", "--out", "o", "--budget", "huge"],
    ["simulate", "h2o", "--out", "o", "--seed", "one"],
    ["simulate", "assemble", "xyz", "d", "o.h5"],
])
def test_bad_command_line_is_one_line_and_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main.main(argv)
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and ": error: " in lines[0] and "--help" in lines[0], lines


def test_subprocess_user_error_has_no_traceback(tmp_path):
    proc = _run_cli("info", str(tmp_path / "missing.h5"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"xslatent info: error: No such data set file: '{tmp_path / 'missing.h5'}'"
    ]
    assert "Traceback" not in proc.stderr


def test_help_imports_no_heavy_library():
    code = (
        "import sys, contextlib, io\n"
        "import xslatent, xslatent.cli.main as m\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        m.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('torch', 'numpy', 'sklearn', 'scipy', 'h5py', 'matplotlib', 'dask')\n"
        "print(sorted({k.split('.')[0] for k in sys.modules} & set(heavy)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_lazy_package_attributes():
    import xslatent

    from xslatent.decomposition import ECA

    assert xslatent.ECA is ECA
    assert "NNCA" in dir(xslatent) and "NNCA" in xslatent.__all__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xslatent.nope  # noqa: B018


def _subparsers(parser: argparse.ArgumentParser, prefix=()):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, prefix + (name,))


def test_seed_and_device_have_one_default_everywhere():
    seen = {"seed": 0, "device": 0}
    for path, parser in _subparsers(cli_main.build_parser()):
        for action in parser._actions:
            if action.dest == "seed":
                seen["seed"] += 1
                assert action.default in (DEFAULT_SEED, None), path
                assert f"default: {DEFAULT_SEED}" in action.help or f"else {DEFAULT_SEED}" in action.help
            if action.dest == "device":
                seen["device"] += 1
                assert action.default in (DEFAULT_DEVICE, None), path
                assert DEFAULT_DEVICE in action.help
    assert seen["seed"] >= 4 and seen["device"] >= 2


def test_every_subcommand_is_registered_once_with_its_help():
    parser = cli_main.build_parser()
    text = parser.format_help()
    for name in cli_main.SUBCOMMANDS:
        assert name in text
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(action.choices) == list(cli_main.SUBCOMMANDS)
    listed = [c.dest for c in action._choices_actions]
    assert listed == list(cli_main.SUBCOMMANDS)  # each with a one-line help


def test_simulate_takes_action_and_system_in_separate_slots(capsys):
    parser = cli_main.build_parser()
    args = parser.parse_args(["simulate", "assemble", "geo2", "d", "o.h5", "--targets", "sticks"])
    assert args.system == "assemble" and args.assemble_system == "geo2"
    assert args._geo2_action == "assemble" and args.targets == "sticks"
    args = parser.parse_args(["simulate", "assemble", "h2o", "d", "o.h5", "--allow-incomplete"])
    assert args.assemble_system == "h2o" and args.allow_incomplete
    # the older spellings still parse, to the same action, with a deprecation note
    old = parser.parse_args(["simulate", "geo2-assemble", "d", "o.h5"])
    assert old._geo2_action == "assemble" and old._deprecated == "simulate assemble geo2"
    help_text = parser._subparsers._group_actions[0].choices["simulate"].format_help()
    assert "assemble" in help_text and "h2o-assemble" not in help_text


def test_deprecated_spelling_prints_note_then_runs(tmp_path, capsys):
    assert cli_main.main(["simulate", "h2o-assemble", str(tmp_path), str(tmp_path / "o.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("xslatent simulate: note: 'simulate h2o-assemble' is deprecated")
    assert err[1] == f"xslatent simulate: error: No complete chunk files in {tmp_path}."


def test_library_never_switches_the_matplotlib_backend():
    pkg = SRC / "xslatent"
    offenders = [str(p.relative_to(pkg)) for p in pkg.rglob("*.py")
                 if "matplotlib.use(" in p.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.mark.parametrize("target, module, func", [
    ("h2o", "xslatent.pipeline.h2o", "reproduce_h2o"),
    ("geo2", "xslatent.pipeline.geo2", "reproduce_geo2"),
    ("paper", "xslatent.pipeline.paper", "reproduce_paper"),
])
@pytest.mark.parametrize("extra", [[], ["--resamples", "4", "--split", "group"]])
def test_reproduce_passes_only_arguments_the_pipeline_takes(target, module, func, extra, monkeypatch, tmp_path):
    import importlib
    import inspect

    mod = importlib.import_module(module)
    real = getattr(mod, func)
    seen = {}

    def fake(*args, **kwargs):
        inspect.signature(real).bind(*args, **kwargs)  # raises TypeError on an unknown keyword
        seen.update(kwargs)

    monkeypatch.setattr(mod, func, fake)
    assert cli_main.main(["reproduce", target, "--out", str(tmp_path / "o"), *extra]) == 0
    if extra:
        assert seen["split"] == "group" and seen["budget"].n_resamples == 4
        assert seen["budget"].warm_bootstrap  # the quick budget's other settings are kept
    else:
        assert seen["budget"] == "quick"
