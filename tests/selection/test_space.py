import pytest
import scipy.stats
from sklearn.model_selection import ParameterSampler

from xslatent import EDNN, NNCA, MLPEmulator
from xslatent.exceptions import InvalidParameterError
from xslatent.selection import SearchSpace, list_presets, load_preset

PRESETS = [
    "h2o-emulator",
    "h2o-ednn",
    "h2o-nnca",
    "h2o-ednn-square-lrelu",
    "geo2-emulator",
    "geo2-ednn",
    "geo2-nnca",
    "geo2-ednn-square-lrelu",
]


def test_all_presets_listed():
    assert set(PRESETS) <= set(list_presets())


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_sample(name):
    space = load_preset(name)
    assert space.name == name
    cands = space.sample(20, random_state=0, n_features=3, n_outputs=100)
    assert len(cands) == 20
    for c in cands:
        for key, value in c.items():
            if key.endswith("layer_sizes"):
                assert isinstance(value, tuple) and len(set(value)) == 1  # equal widths
        assert 1e-4 <= c["learning_rate_init"] <= 1e-2
        assert 1e-6 <= c["alpha"] <= 1e-1


@pytest.mark.parametrize(
    "name, key, depths, widths",
    [
        ("h2o-ednn", "encoder_layer_sizes", {2, 3, 4}, {64, 128, 256}),
        ("geo2-ednn", "decoder_layer_sizes", {2, 3, 4}, {8, 32, 64, 128, 256}),
        ("h2o-nnca", "decoder_layer_sizes", {2, 3, 4, 5}, {5, 10, 50, 100, 200, 500}),
        ("geo2-nnca", "decoder_layer_sizes", {2, 3}, {64, 128}),
        ("h2o-emulator", "hidden_layer_sizes", {2, 3, 4, 5}, {5, 10, 50, 100, 200, 500}),
        ("geo2-emulator", "hidden_layer_sizes", {2, 3}, {64, 128}),
        ("h2o-ednn-square-lrelu", "encoder_layer_sizes", {1, 2, 3, 4, 5}, {3}),
        ("h2o-ednn-square-lrelu", "decoder_layer_sizes", {1, 2, 3, 4, 5}, {100}),
        ("geo2-ednn-square-lrelu", "encoder_layer_sizes", {1, 2, 3, 4, 5}, {153}),
    ],
)
def test_preset_grids_follow_the_paper(name, key, depths, widths):
    n_features, n_outputs = (153, 8) if name.startswith("geo2") else (3, 100)
    cands = load_preset(name).sample(
        300, random_state=1, n_features=n_features, n_outputs=n_outputs
    )
    assert {len(c[key]) for c in cands} == depths
    assert {c[key][0] for c in cands} == widths


#: paper Supplementary Table 5 (NNCA decoders; Section II: "the same search spaces that were
#: used for the emulators of the ECA implementations"): system -> (depths, widths)
PAPER_TABLE5 = {"h2o": ([2, 3, 4, 5], [5, 10, 50, 100, 200, 500]), "geo2": ([2, 3], [64, 128])}


@pytest.mark.parametrize("system", ["h2o", "geo2"])
def test_emulator_space_is_the_nnca_decoder_space_of_table5(system):
    depths, widths = PAPER_TABLE5[system]
    emu = load_preset(f"{system}-emulator")
    nnca = load_preset(f"{system}-nnca")
    # exhaustive grids: every (depth, width, learning rate, L2) combination exactly once
    assert emu.grid_size() == nnca.grid_size() == len(depths) * len(widths) * 5 * 6
    e = emu.sample(10_000, random_state=0)
    n = nnca.sample(10_000, random_state=0)
    assert len(e) == emu.grid_size()
    shapes = sorted((len(c["hidden_layer_sizes"]), c["hidden_layer_sizes"][0]) for c in e)
    assert sorted(set(shapes)) == [(d, w) for d in depths for w in widths]
    drop = ("hidden_layer_sizes", "decoder_layer_sizes", "activation")
    assert {(c["hidden_layer_sizes"], c["learning_rate_init"], c["alpha"]) for c in e} == {
        (c["decoder_layer_sizes"], c["learning_rate_init"], c["alpha"]) for c in n
    }
    assert all(set(c) - set(drop) == {"learning_rate_init", "alpha"} for c in e)
    assert "Table 5" in emu.reference


def test_square_lrelu_is_exhaustive_and_leaky():
    space = load_preset("h2o-ednn-square-lrelu")
    assert space.grid_size() == 5 * 5 * 5 * 6
    cands = space.sample(10_000, random_state=0, n_features=3, n_outputs=100)
    assert len(cands) == space.grid_size()
    assert len({repr(sorted(c.items())) for c in cands}) == len(cands)
    assert {c["activation"] for c in cands} == {"leaky_relu"}


def test_symbols_stay_unresolved_without_data():
    c = load_preset("geo2-ednn-square-lrelu").sample(1, random_state=0)[0]
    assert set(c["encoder_layer_sizes"]) == {"n_features"}


def test_sampling_is_parameter_sampler_on_the_flattened_space():
    space = SearchSpace(
        {
            "hidden_layer_sizes": {"depth": [1, 2, 3], "width": [8, 16]},
            "learning_rate_init": {"distribution": "loguniform", "low": 1e-4, "high": 1e-2},
            "alpha": [1e-5, 1e-4],
        }
    )
    flat = {
        "hidden_layer_sizes__depth": [1, 2, 3],
        "hidden_layer_sizes__width": [8, 16],
        "learning_rate_init": scipy.stats.loguniform(1e-4, 1e-2),
        "alpha": [1e-5, 1e-4],
    }
    ref = list(ParameterSampler(flat, 15, random_state=3))
    got = space.sample(15, random_state=3)
    for r, g in zip(ref, got):
        assert (
            g["hidden_layer_sizes"]
            == (r["hidden_layer_sizes__width"],) * r["hidden_layer_sizes__depth"]
        )
        assert g["learning_rate_init"] == pytest.approx(r["learning_rate_init"], rel=0, abs=0)
        assert g["alpha"] == r["alpha"]


def test_toml_space_and_fixed(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        'estimator = "NNCA"\n[fixed]\nactivation = "tanh"\n[params]\n'
        'decoder_layer_sizes = [[8, 8], [16]]\nalpha = { distribution = "uniform", low = 0.0, high = 0.1 }\n'
    )
    space = SearchSpace.from_toml(path)
    assert space.name == "space"
    c = space.sample(3, random_state=0)
    assert {x["activation"] for x in c} == {"tanh"}
    assert all(x["decoder_layer_sizes"] in [(8, 8), (16,)] for x in c)
    assert all(0.0 <= x["alpha"] <= 0.1 for x in c)


@pytest.mark.parametrize(
    "params, key",
    [
        ({"learning_rate_init": [-0.1, 0.01]}, "learning_rate_init"),
        (
            {"learning_rate_init": {"distribution": "uniform", "low": -1e-3, "high": 1e-2}},
            "learning_rate_init",
        ),
        (
            {"learning_rate_init": {"distribution": "loguniform", "low": -1e-3, "high": 1e-2}},
            "learning_rate_init",
        ),
        ({"learnig_rate_init": [0.01]}, "learnig_rate_init"),
        ({"learning_rate_init": ["fast"]}, "learning_rate_init"),
        ({"learning_rate_init": 0.01}, "learning_rate_init"),
        ({"learning_rate_init": []}, "learning_rate_init"),
        (
            {"learning_rate_init": {"distribution": "normal", "low": 0.0, "high": 1.0}},
            "learning_rate_init",
        ),
        (
            {"learning_rate_init": {"distribution": "loguniform", "low": "a", "high": 1.0}},
            "learning_rate_init",
        ),
        ({"max_iter": {"distribution": "uniform", "low": 1.0, "high": 9.0}}, "max_iter"),
        ({"hidden_layer_sizes": {"depth": [2.5], "width": [8]}}, "hidden_layer_sizes.depth"),
        ({"hidden_layer_sizes": {"depth": [2], "width": ["n_inputs"]}}, "hidden_layer_sizes.width"),
        ({"hidden_layer_sizes": {"depth": [2]}}, "hidden_layer_sizes"),
        ({"alpha": {"depth": [2], "width": [3]}}, "alpha"),
        ({"random_state": [0, 1]}, "random_state"),
    ],
)
def test_bad_spaces_name_the_key(params, key):
    with pytest.raises(InvalidParameterError, match=f"'{key}'"):
        SearchSpace(params, estimator="MLPEmulator")


@pytest.mark.parametrize("params", [{}, [], [{}]])
def test_empty_space(params):
    with pytest.raises(InvalidParameterError, match="'params'.*empty"):
        SearchSpace(params)


def test_unknown_key_suggests_and_is_checked_against_the_estimator():
    space = SearchSpace({"encoder_layer_sizes": [(8,)]})
    space.validate(EDNN())
    with pytest.raises(InvalidParameterError, match="'encoder_layer_sizes'.*NNCA"):
        space.validate(NNCA())
    with pytest.raises(InvalidParameterError, match="did you mean 'alpha'"):
        SearchSpace({"alpah": [0.1]}).validate(MLPEmulator())


def test_bad_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[params]\nlearning_rate_init = { distribution = "loguniform", low = 0.1 }\n')
    with pytest.raises(InvalidParameterError, match="'learning_rate_init'"):
        SearchSpace.from_toml(path)
    path.write_text("[parms]\nalpha = [1]\n")
    with pytest.raises(InvalidParameterError, match="'parms'.*did you mean 'params'"):
        SearchSpace.from_toml(path)


def test_unknown_preset():
    with pytest.raises(InvalidParameterError, match="h2o-ednn"):
        load_preset("h2o-ednm")
