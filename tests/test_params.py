"""One truth for every parameter: the form's ranges and defaults agree with the estimators' constraints and
defaults, and a configuration that cannot run is refused, by the names the user sees, before anything is
recorded (through `core`, the command line and a sweep)."""
import inspect

import pytest

from core.algorithms import ALGORITHMS
from core.params import Interval, OneOf
from core.experiment import RunConfig, check_config
from core.runs import RunStore

SYNTHETIC = {"n_samples": 200}


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_the_form_and_the_estimator_agree_on_every_parameter(name):
    spec = ALGORITHMS[name]
    signature = inspect.signature(spec.estimator).parameters
    for p in spec.params:
        assert p.default == signature[p.name].default, (name, p.name)
        constraint = spec.estimator.parameter(p.name).constraint
        assert constraint.accepts(p.default), (name, p.name, p.default)
        if p.kind == "choice":
            assert all(constraint.accepts(option) for option in p.options), (name, p.name, p.options)
            if isinstance(constraint, OneOf):  # a closed set: the form offers all of it
                assert set(p.options) == set(constraint.options), (name, p.name)
            continue
        assert isinstance(constraint, Interval), (name, p.name)
        assert (constraint.kind is int) == (p.kind == "int"), (name, p.name)
        if constraint.low_open:  # e.g. eps > 0: the box starts at the bound and the bound itself is refused
            assert p.low == constraint.low and not constraint.accepts(p.low), (name, p.name)
        else:
            # the form may offer less than the estimator takes (a latent size of 1 is allowed, not offered)
            assert constraint.low is None or p.low >= constraint.low, (name, p.name, p.low, constraint.low)
            assert constraint.accepts(int(p.low) if p.kind == "int" else float(p.low)), (name, p.name)
        assert p.high is None or constraint.high is None or p.high <= constraint.high, (name, p.name)
        assert p.high is None or constraint.accepts(p.kind == "int" and int(p.high) or float(p.high)), (name, p.name)


def test_the_self_organizing_map_starts_the_same_way_from_the_form_and_from_the_library():
    from core.algorithms.som import SelfOrganizingMap
    from core.models.som import initial_prototypes, train_som

    default = SelfOrganizingMap().som_init
    assert inspect.signature(train_som).parameters["init"].default == default
    assert inspect.signature(initial_prototypes).parameters["init"].default == default


BAD_CONFIGS = [
    (dict(n_clusters=0), "Number of clusters must be at least 2; got 0"),
    (dict(n_clusters=1), "Number of clusters must be at least 2; got 1"),
    (dict(n_clusters=-3), "Number of clusters must be at least 2; got -3"),
    (dict(n_clusters=10000), "Number of clusters must be less than 200"),
    (dict(n_clusters=10**20), "Number of clusters must be less than 200"),
    (dict(n_samples=0), "Sample size must be at least 10; got 0"),
    (dict(n_samples=-5), "Sample size must be at least 10; got -5"),
    (dict(n_samples=5000), "Sample size must be at most 200"),
    (dict(seed=-1), "Seed must be from 0 to 4,294,967,295; got -1"),
    (dict(algorithm="dbscan", params={"eps": float("nan")}), "Radius eps .* must be a finite number; got nan"),
    (dict(algorithm="dbscan", params={"eps": float("inf")}), "Radius eps .* must be a finite number; got inf"),
    (dict(algorithm="dbscan", params={"eps": 0.0}), "Radius eps .* must be left empty or a number > 0; got 0.0"),
    (dict(algorithm="dbscan", params={"eps": -1.0}), "Radius eps .* must be at least 0; got -1"),
    (dict(params={"input_dropout": float("nan")}), "Input dropout .* must be a finite number; got nan"),
    (dict(dataset="digits", dataset_options={}, params={"latent_dim": 64}),
     "\"Latent size\" must be smaller than the 64 values of each sample"),
    (dict(params={"latent_dim": 65}), "Latent size must be from 2 to 64; got 65"),
    (dict(params={"epochs": 0}), "Epochs must be from 1 to 300; got 0"),
    (dict(params={"epochs": -4}), "Epochs must be from 1 to 300; got -4"),
    (dict(params={"latent": 3}), "has no setting latent"),
    (dict(dataset_options={"n_samples": 200, "noise": float("nan")}), "Pixel noise must be a finite number"),
    (dict(algorithm="som", params={"grid_rows": 2, "grid_cols": 2}),
     "a 2 x 2 map has 4 nodes, fewer than the 5 clusters asked for; raise \"Map rows\" or \"Map columns\""),
]


@pytest.mark.parametrize("settings, message", BAD_CONFIGS, ids=[str(i) for i in range(len(BAD_CONFIGS))])
def test_a_configuration_that_cannot_run_is_refused_before_it_is_recorded(tmp_path, settings, message):
    from core.runs.runner import record_run, run_sweep

    settings = {"dataset": "synthetic", "dataset_options": dict(SYNTHETIC), "projection": None, **settings}
    config = RunConfig(**settings)
    with pytest.raises(ValueError, match=message) as error:
        check_config(config)
    assert not any(spec.estimator.__name__ in str(error.value) for spec in ALGORITHMS.values()
                   if spec.estimator.__name__ not in spec.title)  # labels, not classes (N2D is both)
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match=message):
        record_run(config, store)
    with pytest.raises(ValueError, match=message):
        run_sweep(config, {"seed": [0, 1]} if "seed" not in settings else {"n_samples": [None]}, store)
    assert store.list_runs() == [] and store.sweeps.all() == []


@pytest.mark.parametrize("arguments, message", [
    (["--n-clusters", "0"], "Number of clusters must be at least 2; got 0"),
    (["--n-clusters", "99999999999999999999"], "Number of clusters must be less than 200"),
    (["--samples", "-5"], "Sample size must be at least 10; got -5"),
    (["--seed", "-1"], "Seed must be from 0"),
    (["--algorithm", "dbscan", "--set", "eps=-1"], "Radius eps (empty: suggested) must be at least 0; got -1"),
    (["--algorithm", "dbscan", "--set", "eps=nan"], "Radius eps (empty: suggested) must be a finite number; got nan"),
    (["--set", "input_dropout=nan"], "Input dropout (denoising) must be a finite number; got nan"),
    (["--dataset-option", "noise=nan"], "Pixel noise must be a finite number; got nan"),
    (["--set", "epochs=0"], "Epochs must be from 1 to 300; got 0"),
])
def test_the_command_line_says_what_is_wrong_in_one_line_and_records_nothing(tmp_path, capsys, arguments, message):
    from core.cli import main

    store = tmp_path / "store"
    for command in ("train", "sweep"):
        extra = ["--vary", "seed=0,1"] if command == "sweep" and "--seed" not in arguments else \
            ["--vary", "n_clusters=3,4"] if command == "sweep" else []
        code = main(["--store", str(store), command, "--dataset", "synthetic", "--dataset-option", "n_samples=200",
                     "--projection", "none", "--quiet", *arguments, *extra])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, (command, err)
    assert RunStore(store).list_runs() == [] and RunStore(store).sweeps.all() == []


def test_sweep_values_are_checked_like_the_form(tmp_path):
    from core.runs.runner import parse_axis_value

    with pytest.raises(ValueError, match="Latent size must be from 2 to 64; got 100"):
        parse_axis_value("ae_kmeans", "latent_dim", "100")
    with pytest.raises(ValueError, match="Radius eps .* must be at least 0; got -1"):
        parse_axis_value("dbscan", "eps", "-1")
    assert parse_axis_value("dbscan", "eps", "auto") is None
    with pytest.raises(ValueError, match="Number of clusters must be at least 2"):
        parse_axis_value("kmeans", "n_clusters", "1")


def test_train_says_why_a_setting_cannot_run_before_anything_starts():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.selectbox(key="train_dataset").set_value("digits")
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_latent_dim").set_value(64).run()  # digits have 64 pixels
    assert not at.exception, at.exception
    assert any('"Latent size" must be smaller than the 64 values' in e.value for e in at.error), \
        [e.value for e in at.error]
    assert at.button(key="train").disabled
    at.slider(key="train_ae_kmeans_latent_dim").set_value(10).run()
    assert not at.error and not at.button(key="train").disabled
