"""Every estimator saves and loads itself (parameters as JSON, arrays without pickle, networks as .keras in
safe mode), and one that places new samples places them the same way after the round trip."""
import json
import shutil

import numpy as np
import pytest

from core.algorithms import load_estimator
from core.algorithms.classical import PixelKMeans
from core.algorithms.dec import DEC


def fitted_arrays(estimator) -> dict:
    return {name: value for name, value in vars(estimator).items()
            if name.endswith("_") and not name.startswith("_") and isinstance(value, np.ndarray)}


def assert_round_trip(fitted, X, folder) -> None:
    """`fitted` saved to `folder` and loaded back holds the same parameters, fitted arrays and facts, and
    places `X` as it does (called for every algorithm by tests/test_algorithms.py, on the fit made there)."""
    fitted.save(folder)
    assert not list(folder.glob("*.pkl")) and (fitted.name == "vade" or not list(folder.glob("*.h5")))
    loaded = load_estimator(folder)
    assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
    arrays = fitted_arrays(fitted)
    assert {"labels_", "embedding_"} <= set(arrays) and set(fitted_arrays(loaded)) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(loaded, key), value, err_msg=key)
    for key in ("image_shape_", "embedding_space_", "history_", "timings_"):
        assert getattr(loaded, key) == getattr(fitted, key), key
    if fitted.can_predict:
        np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
        np.testing.assert_allclose(loaded.transform(X), fitted.transform(X), rtol=1e-5, atol=1e-5)
        if hasattr(fitted, "predict_proba"):
            np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X), rtol=1e-5, atol=1e-6)
        # place: one pass through the space gives what transform, predict and predict_proba give apart
        points, labels, confidence = loaded.place(X)
        np.testing.assert_allclose(points, loaded.transform(X), rtol=1e-5, atol=1e-5)
        if hasattr(loaded, "predict_proba"):
            probabilities = loaded.predict_proba(X)
            np.testing.assert_array_equal(labels, probabilities.argmax(axis=1))
            np.testing.assert_allclose(confidence, probabilities.max(axis=1), rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(labels, loaded.predict(X))
            assert confidence is None
    else:
        assert not hasattr(loaded, "predict") and not hasattr(loaded, "place") and fitted.cannot_predict


def test_what_is_saved_is_plain_files(synthetic, tmp_path):
    DEC(4, latent_dim=4, hidden_units=(32, 16), epochs=2, cluster_epochs=2).fit(synthetic.images).save(
        tmp_path, training_arrays=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoder.keras", "encoder.keras", "params.json", "state.npz"]
    saved = json.loads((tmp_path / "params.json").read_text())
    assert saved["estimator"] == "DEC" and saved["name"] == "dec" and saved["params"]["latent_dim"] == 4
    with np.load(tmp_path / "state.npz", allow_pickle=False) as state:
        assert {"cluster_centers_", "kernel_scale_"} <= set(state.files) and "labels_" not in state.files


def test_a_folder_of_another_estimator_or_none_is_refused(synthetic, tmp_path):
    PixelKMeans(4).fit(synthetic.images).save(tmp_path)
    with pytest.raises(ValueError, match="holds a PixelKMeans, not a DEC"):
        DEC.load(tmp_path)
    (tmp_path / "params.json").write_text(json.dumps({"estimator": "os.system", "params": {}}))
    with pytest.raises(ValueError, match="holds no estimator of this app"):
        load_estimator(tmp_path)


def test_a_damaged_or_incomplete_model_folder_says_which_file(synthetic, tmp_path):
    """Hostile files: a truncated state.npz or encoder.keras, a params.json that is not JSON, a missing
    file, each give one DamagedModel naming the file, never a raw zipfile or Keras traceback."""
    from core.algorithms import DamagedModel

    PixelKMeans(4).fit(synthetic.images).save(tmp_path / "kmeans")
    DEC(4, latent_dim=4, hidden_units=(16,), epochs=1, cluster_epochs=1).fit(synthetic.images).save(tmp_path / "dec")
    assert load_estimator(tmp_path / "dec").predict(synthetic.images).shape == (len(synthetic.images),)

    def damaged(folder, name, data):
        target = tmp_path / f"{folder}-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(tmp_path / folder, target)
        if data is None:
            (target / name).unlink()
        else:
            (target / name).write_bytes(data)
        return target

    state = (tmp_path / "kmeans" / "state.npz").read_bytes()
    encoder = (tmp_path / "dec" / "encoder.keras").read_bytes()
    cases = [(damaged("kmeans", "state.npz", state[:len(state) // 2]), "state.npz .* is damaged"),
             (damaged("kmeans", "state.npz", None), "incomplete: state.npz is missing"),
             (damaged("kmeans", "params.json", b"{not json"), "params.json .* is damaged"),
             (damaged("kmeans", "params.json", b"[1, 2]"), "params.json .* is damaged"),
             (damaged("dec", "encoder.keras", encoder[:len(encoder) // 2]), "encoder.keras .* is damaged"),
             (damaged("dec", "encoder.keras", b"PK\x03\x04 not a zip"), "encoder.keras .* is damaged")]
    for folder, message in cases:
        with pytest.raises(DamagedModel, match=message):
            load_estimator(folder)
