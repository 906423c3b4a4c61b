"""Runs saved before estimators saved and loaded themselves still open, show and place new images.

tests/data/old_store/ was written once by tests/data/make_old_store.py with the code of that time (one run
of each way a method kept its model: centres, a mixture, DEC's kernel, VaDE's prior, a SOM, and methods
with no rule for new images). It is copied before each use: opening a store may bring its schema forward.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.runs import RunStore
from core.runs.apply import CannotApply, apply_run

FIXTURE = Path(__file__).parent / "data" / "old_store"
PLACES = ["kmeans", "gmm", "ae_kmeans", "ae_gmm", "dec", "dcec", "vade", "som"]
CANNOT = ["agglomerative", "n2d"]


@pytest.fixture(scope="module")
def old_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("old") / "store"
    shutil.copytree(FIXTURE, folder)
    return RunStore(folder)


def run_of(store, algorithm):
    return next(r for r in store.list_runs() if r.algorithm == algorithm)


def test_the_fixture_is_small_and_holds_every_kind_of_saved_model(old_store):
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file())
    assert size < 2 * 1024 * 1024
    assert sorted(r.algorithm for r in old_store.list_runs()) == sorted(PLACES + CANNOT)


@pytest.mark.parametrize("algorithm", PLACES + CANNOT)
def test_an_old_run_opens_with_its_labels_scores_and_projection(old_store, algorithm):
    record = run_of(old_store, algorithm)
    result = old_store.load_result(record.id)
    assert len(result.labels) == result.dataset.n_samples == 120
    assert result.metrics.nmi == pytest.approx(record.scores["NMI"])
    assert result.projections["pca"].shape == (120, 2)


@pytest.mark.parametrize("algorithm", PLACES)
def test_an_old_run_places_its_own_images_where_it_put_them(old_store, algorithm):
    record = run_of(old_store, algorithm)
    result = old_store.load_result(record.id)
    placement = apply_run(old_store, record.id, result.dataset.images, result=result)
    assert np.mean(placement.labels == result.labels) >= 0.98, algorithm


@pytest.mark.parametrize("algorithm", CANNOT)
def test_an_old_run_without_a_rule_for_new_images_says_so(old_store, algorithm):
    record = run_of(old_store, algorithm)
    with pytest.raises(CannotApply, match="cannot place new images"):
        apply_run(old_store, record.id, old_store.load_result(record.id).dataset.images)


def test_an_old_spelling_of_a_setting_reads_as_todays(old_store):
    """The map's space was "latent" before it was "autoencoder", as every other method calls it."""
    from core.algorithms.registry import load_estimator

    from core.runs.records import config_from_dict

    assert config_from_dict({"algorithm": "som", "params": {"space": "latent"}}).params == {"space": "autoencoder"}
    record = run_of(old_store, "som")
    saved = json.loads((FIXTURE / "runs" / str(record.id) / "model" / "params.json").read_text())
    assert saved["params"]["space"] == "latent"  # as the earlier release wrote it
    model = load_estimator(old_store.run_dir(record.id) / "model")
    assert model.space == "autoencoder" and model.space_.kind == "autoencoder"
