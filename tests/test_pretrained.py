"""Pretrain once: an autoencoder trained for one run is kept in the store and reused whenever its key
(every setting of the network and its training, and the exact training data) matches."""
import numpy as np
import pytest

from core.algorithms import ALGORITHMS, AutoencoderKMeans
from core.experiment import RunConfig
from core.runs import RunStore
from core.runs.autoencoders import AutoencoderLibrary
from core.runs.runner import record_run, run_sweep

AE = {"epochs": 3, "latent_dim": 6}


def test_a_method_reuses_the_network_another_one_trained_on_the_same_images(digits, tmp_path):
    library = AutoencoderLibrary(tmp_path / "autoencoders")
    images = digits.images[:400]
    first = ALGORITHMS["ae_kmeans"].build(10, **AE).fit(images, library=library)
    assert not first.pretrained_reused_ and len(library.entries()) == 1
    entry = library.entries()[0]
    assert entry.key == first.pretrain_key_ and entry.size_bytes > 0 and len(entry.history) == 3

    again = ALGORITHMS["ae_gmm"].build(8, **AE).fit(images, library=library)  # another method, another count
    assert again.pretrained_reused_ and again.pretrain_key_ == first.pretrain_key_
    assert again.history_[:3] == first.history_[:3]  # the loss curve comes with it
    np.testing.assert_allclose(again.transform(images), first.transform(images), rtol=1e-5, atol=1e-5)
    dec = ALGORITHMS["dec"].build(10, **AE, cluster_epochs=1).fit(images, library=library)
    assert dec.pretrained_reused_
    assert dec.timings_["pretrain"] < first.timings_["pretrain"] / 2
    np.testing.assert_array_equal(dec.initial_labels_, first.labels_)  # DEC starts from the same k-means

    # Nothing stale: other training settings, another subset or another seed each train their own.
    for model, data in [(ALGORITHMS["ae_kmeans"].build(10, epochs=4, latent_dim=6), images),
                        (ALGORITHMS["ae_kmeans"].build(10, **AE), digits.images[:401]),
                        (ALGORITHMS["ae_kmeans"].build(10, **AE, random_state=1), images)]:
        assert not model.fit(data, library=library).pretrained_reused_
    assert len(library.entries()) == 4
    library.remove(entry.key)
    assert not ALGORITHMS["ae_kmeans"].build(10, **AE).fit(images, library=library).pretrained_reused_


def test_a_damaged_entry_is_trained_again_and_a_stopped_pretraining_is_not_kept(digits, tmp_path):
    from core.progress import StopTraining

    library = AutoencoderLibrary(tmp_path / "autoencoders")
    images = digits.images[:300]
    first = ALGORITHMS["ae_kmeans"].build(10, **AE).fit(images, library=library)
    (library.directory / first.pretrain_key_ / "weights.npz").write_bytes(b"PK\x03\x04 truncated")
    assert not ALGORITHMS["ae_kmeans"].build(10, **AE).fit(images, library=library).pretrained_reused_

    def stop_in_epoch_1(event):
        if event.phase == "pretrain" and event.end_of_epoch:
            raise StopTraining()

    stopped = ALGORITHMS["ae_kmeans"].build(10, epochs=5, latent_dim=6)
    stopped.fit(images, library=library, callback=stop_in_epoch_1)
    assert len(stopped.history_) == 1
    assert stopped.pretrain_key_ not in {e.key for e in library.entries()}  # 1 epoch is not the 5-epoch network


def test_a_keras_autoencoder_of_the_same_shape_can_be_given(digits):
    images = digits.images[:300]
    trained = ALGORITHMS["ae_kmeans"].build(10, **AE).fit(images)
    reused = ALGORITHMS["idec"].build(10, **AE, cluster_epochs=0).fit(images, pretrained=trained.autoencoder_)
    assert reused.pretrained_reused_
    np.testing.assert_array_equal(reused.initial_labels_, trained.labels_)
    with pytest.raises(ValueError, match="does not fit"):
        ALGORITHMS["ae_kmeans"].build(10, epochs=3, latent_dim=5).fit(images, pretrained=trained.autoencoder_)


def test_a_sweep_over_clustering_settings_pretrains_once(tmp_path):
    store = RunStore(tmp_path / "store")
    base = RunConfig(dataset="digits", algorithm="ae_kmeans", params=AE, n_samples=300, projection=None)
    _, results = run_sweep(base, {"n_clusters": [6, 8, 10]}, store)
    assert [r.estimator.pretrained_reused_ for r in results] == [False, True, True]
    assert len(store.autoencoders.entries()) == 1
    assert store.autoencoders.entries()[0].info["dataset"] == "digits"
    assert "reused" in store.get(results[1].run_id).message
    # A later run of another method on the same data and settings reuses it too.
    dec = record_run(RunConfig(dataset="digits", algorithm="dec", n_samples=300, projection=None,
                               params=AE | {"cluster_epochs": 1}), store)
    assert dec.estimator.pretrained_reused_ and store.autoencoders.entries()[0].info["uses"] == 3


def test_runs_page_lists_the_pretrained_autoencoders_and_deletes_them():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    store = RunStore()  # the app's store ($DEEP_CLUSTERING_HOME of this test session), shared with other tests
    record_run(RunConfig(dataset="digits", algorithm="ae_kmeans", params={"epochs": 2, "latent_dim": 7},
                         n_samples=200, projection=None), store, name="pretrained listing")
    shown = "dense, latent 7, 2 epochs, on digits (200 images)"
    [entry] = [e for e in store.autoencoders.entries() if e.describe() == shown]
    others = len(store.autoencoders.entries()) - 1
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "pretrained autoencoders kept for reuse" in text and f"in {others + 1}." in text
    table = [d.value for d in at.dataframe if "Pretrained autoencoder" in d.value.columns][0]
    assert table["Pretrained autoencoder"].tolist()[0] == shown  # the most recently used first
    at.multiselect(key="runs_pretrained").set_value([entry.key]).run()
    at.button(key="runs_pretrained_delete").click().run()
    assert not at.exception, at.exception
    assert entry.key not in {e.key for e in store.autoencoders.entries()}
    assert len(store.autoencoders.entries()) == others
    [run] = [r for r in store.list_runs() if r.name == "pretrained listing"]
    assert run.status == "finished" and store.load_result(run.id).n_clusters == 10  # the run keeps its own model


def test_past_the_size_limit_the_least_recently_used_go_first(digits, tmp_path, monkeypatch):
    from core.runs import autoencoders

    library = AutoencoderLibrary(tmp_path / "autoencoders")
    images = digits.images[:200]
    small = {"epochs": 1, "latent_dim": 4, "hidden_units": (16,)}
    first = AutoencoderKMeans(10, **small).fit(images, library=library)
    second = AutoencoderKMeans(10, **small, random_state=1).fit(images, library=library)
    assert AutoencoderKMeans(10, **small).fit(images, library=library).pretrained_reused_  # the first, used again
    size = library.entries()[0].size_bytes
    monkeypatch.setattr(autoencoders, "MAX_KEPT_BYTES", int(size * 2.5))
    third = AutoencoderKMeans(10, **small, random_state=2).fit(images, library=library)
    assert {e.key for e in library.entries()} == {first.pretrain_key_, third.pretrain_key_}
    assert second.pretrain_key_ not in {e.key for e in library.entries()}
