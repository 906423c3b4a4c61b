"""The modern vision backbones (core.models.backbones) load through KerasHub's from_preset and give each
image its features, batched and cancellable. No test needs the network: each builds the same kind of
backbone small, with random weights, saves it as a preset to a temporary folder, and the app's own
from_preset path loads it from there ($DEEP_CLUSTERING_PRESETS)."""
import numpy as np
import pytest

from core.algorithms.spaces import BACKBONES, Backbone
from core.data import DatasetUnavailable
from core.models import backbones
from core.progress import TrainingCancelled


def save_small_preset(kind: str, folder) -> None:
    """Backbone `kind` with a single tiny layer and random weights, saved as its preset name in `folder`."""
    import keras_hub

    spec = BACKBONES[kind]
    side = (spec.side, spec.side)
    layer = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32)
    text = dict(vocabulary_size=64, embedding_dim=16, max_sequence_length=8, **layer)
    if kind == "dinov2":
        # saved at the preset's own 518 pixels, as the real one is: loading builds it at spec.side
        model = keras_hub.models.DINOV2Backbone(patch_size=14, image_shape=(518, 518, 3),
                                                position_embedding_shape=(518, 518), **layer)
        converter = keras_hub.layers.DINOV2ImageConverter(image_size=side, scale=1 / 255.0)
    elif kind == "clip":
        model = keras_hub.models.CLIPBackbone(
            keras_hub.models.CLIPVisionEncoder(patch_size=16, image_shape=(*side, 3), **layer),
            keras_hub.models.CLIPTextEncoder(**text), projection_dim=8)
        converter = keras_hub.layers.CLIPImageConverter(image_size=side, scale=1 / 255.0)
    else:
        model = keras_hub.models.SigLIPBackbone(
            keras_hub.models.SigLIPVisionEncoder(patch_size=16, image_shape=(*side, 3), **layer),
            keras_hub.models.SigLIPTextEncoder(**text))
        converter = keras_hub.layers.SigLIPImageConverter(image_size=side, scale=1 / 127.5, offset=-1.0)
    model.save_to_preset(str(folder / spec.preset))
    converter.save_to_preset(str(folder / spec.preset))


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("presets")
    for kind in BACKBONES:
        save_small_preset(kind, folder)
    return folder


@pytest.mark.parametrize("kind", list(BACKBONES))
def test_each_backbone_loads_from_its_preset_and_gives_features(presets, monkeypatch, digits, kind):
    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    assert backbones.preset_location(BACKBONES[kind]) == str(presets / BACKBONES[kind].preset)
    images = digits.images[:20]  # 8x8 grey: made three channels and resized by the preset's converter
    seen = []
    features = backbones.backbone_features(images, BACKBONES[kind], batch_size=8, report=lambda m, f: seen.append((m, f)))
    assert features.shape[0] == 20 and features.ndim == 2 and features.dtype == np.float32
    assert np.isfinite(features).all() and np.unique(features.round(5), axis=0).shape[0] > 10  # images differ
    assert [f for _, f in seen] == [8 / 20, 16 / 20, 1.0] and "20 of 20 images" in seen[-1][0]
    np.testing.assert_allclose(backbones.backbone_features(images, BACKBONES[kind]), features, rtol=1e-4, atol=1e-5)


def test_a_cancel_stops_between_batches_and_tables_are_refused(presets, monkeypatch, digits):
    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    calls = []

    def cancel(message, fraction):
        calls.append(fraction)
        raise TrainingCancelled()

    with pytest.raises(TrainingCancelled):
        backbones.backbone_features(digits.images[:40], BACKBONES["dinov2"], batch_size=8, report=cancel)
    assert calls == [0.2]
    with pytest.raises(ValueError, match="needs images"):
        backbones.backbone_features(np.zeros((10, 5), dtype=np.float32), BACKBONES["dinov2"])


def test_a_preset_that_cannot_be_fetched_is_named_with_how_to_get_it(monkeypatch, tmp_path, digits):
    missing = Backbone("dinov2", "no_such_preset_for_this_test", "DINOv2 ViT-S/14", 112, "class token", 90, 0.0)
    monkeypatch.setenv(backbones.PRESETS_ENV, str(tmp_path))
    with pytest.raises(DatasetUnavailable, match="no_such_preset_for_this_test.*downloaded once"):
        backbones.backbone_features(digits.images[:4], missing)


@pytest.mark.parametrize("algorithm", ["gmm", "umap_gmm"])
def test_a_classical_method_clusters_in_a_backbones_features(presets, monkeypatch, digits, algorithm):
    """Chosen as a space like the others: fit, the space's name, and (for the mixture) new images placed."""
    from core.algorithms import get_algorithm

    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    estimator = get_algorithm(algorithm).estimator(10, space="dinov2").fit(digits.images[:200])
    assert estimator.labels_.shape == (200,) and estimator.space_.text() == "DINOv2 ViT-S/14 features"
    assert estimator.timings_["features"] > 0
    if estimator.can_predict:
        np.testing.assert_array_equal(estimator.predict(digits.images[:50]), estimator.labels_[:50])


def test_features_are_computed_once_per_images_and_backbone(presets, monkeypatch, digits, tmp_path):
    """The store keeps a backbone's features: a second run on the same images reads them back (whatever the
    method), other images or another backbone compute their own, and a damaged entry is computed again."""
    from core.algorithms import get_algorithm
    from core.runs.autoencoders import AutoencoderLibrary

    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    library = AutoencoderLibrary(tmp_path / "autoencoders").with_context(dataset="digits")
    images = digits.images[:120]
    first = get_algorithm("gmm").estimator(5, space="dinov2").fit(images, library=library)
    [entry] = library.features.entries()
    assert entry.describe() == "DINOv2 ViT-S/14 features, on digits (120 images)"
    calls = []
    monkeypatch.setattr(backbones, "backbone_features", lambda *a, **k: calls.append(a) or 1 / 0)
    second = get_algorithm("agglomerative").estimator(5, space="dinov2").fit(images, library=library)
    assert calls == [] and np.array_equal(second.embedding_, first.embedding_)
    monkeypatch.undo()
    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    get_algorithm("gmm").estimator(5, space="dinov2").fit(digits.images[:100], library=library)
    get_algorithm("gmm").estimator(5, space="clip").fit(images, library=library)
    assert len(library.features.entries()) == 3
    (library.features.directory / entry.key / "features.npy").write_bytes(b"\x93NUMPY truncated")
    again = get_algorithm("gmm").estimator(5, space="dinov2").fit(images, library=library)
    np.testing.assert_allclose(again.embedding_, first.embedding_, rtol=1e-4, atol=1e-5)
    kept = library.features.find(entry.key, len(images))  # computed again and kept anew
    assert kept is not None and np.array_equal(kept, again.embedding_)


def test_a_run_in_a_backbones_features_keeps_them_and_the_runs_page_lists_and_deletes_them(presets, monkeypatch,
                                                                                           capsys):
    """From the command line as a user runs it: the run's features are kept in the store, the Runs page
    says what they take and deletes them."""
    from streamlit.testing.v1 import AppTest

    from core.cli import main
    from core.runs import RunStore
    from tests.conftest import ROOT

    monkeypatch.setenv(backbones.PRESETS_ENV, str(presets))
    code = main(["train", "--dataset", "digits", "--algorithm", "gmm", "--set", "space=siglip", "--samples", "300",
                 "--projection", "pca", "--name", "photos in siglip"])
    assert code == 0 and "finished" in capsys.readouterr().out
    store = RunStore()
    kept = [e for e in store.autoencoders.features.entries() if e.info.get("backbone") == "SigLIP ViT-B/16"]
    assert [e.describe() for e in kept] == ["SigLIP ViT-B/16 features, on digits (300 images)"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    assert "backbone features kept for reuse" in " ".join(m.value for m in at.markdown)
    at.button(key="runs_features_clear").click().run()
    assert not at.exception and store.autoencoders.features.entries() == []


def test_the_train_form_says_what_a_backbone_costs_before_the_run():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.selectbox(key="train_algorithm").set_value("gmm").run()
    at.selectbox(key="train_gmm_space").set_value("clip").run()
    assert not at.exception, at.exception
    shown = " ".join(c.value for c in at.caption)
    spec = BACKBONES["clip"]
    assert f"about {spec.seconds_per_1000:.0f} s per 1,000 images" in shown and "1,797" in shown
    assert f"about {spec.download_mb} MB" in shown
