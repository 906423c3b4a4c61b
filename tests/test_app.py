"""The pages, driven with streamlit's AppTest: pick digits, set sliders, train, then look around."""
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import TIMEOUT, new_app, texts
from tests.conftest import ROOT


def train(at: AppTest, algorithm: str, epochs: int | None = None) -> AppTest:
    at.selectbox(key="train_dataset").set_value("digits")
    at.selectbox(key="train_algorithm").set_value(algorithm).run()
    at.slider(key="train_n_clusters_digits_10").set_value(10)
    if epochs is not None:
        at.slider(key=f"train_{algorithm}_epochs").set_value(epochs)
        at.slider(key=f"train_{algorithm}_latent_dim").set_value(8)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    assert job.wait(TIMEOUT), "training did not finish in time"
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ["pages/explore.py", "pages/metrics.py"])
def test_explore_and_metrics_before_training_say_what_to_do(page):
    at = new_app()
    at.switch_page(page).run()
    assert not at.exception
    assert "train a model first" in texts(at)
    assert not at.get("plotly_chart")


def test_train_page_shows_dataset_preview_and_defaults():
    at = new_app()
    assert at.selectbox(key="train_dataset").value == "digits"
    assert at.slider(key="train_n_clusters_digits_10").value == 10  # the number of classes
    assert "1,797 images of 8x8" in texts(at)
    assert at.get("image"), "no preview grid"


def test_train_autoencoder_kmeans_then_explore_and_metrics():
    at = train(new_app(), "ae_kmeans", epochs=5)
    job = at.session_state["job"]
    assert job.status == "finished", job.error
    assert "Finished in" in texts(at)
    result = at.session_state["result"]
    assert result.embedding.shape == (1797, 8)
    assert result.estimator_params["epochs"] == 5
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]

    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2  # projection scatter and cluster sizes
    assert [h for h in at.get("html") if "dc-gallery" in h.proto.body], "no gallery"
    at.radio(key="explore_colour").set_value("True label").run()
    at.radio(key="explore_projection").set_value("pca").run()
    at.selectbox(key="explore_cluster").set_value(3).run()
    assert not at.exception, at.exception
    assert "pca" in result.projections and "umap" in result.projections

    at.switch_page("pages/metrics.py").run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert set(shown) == {"ACC", "NMI", "ARI", "Purity", "Silhouette", "UMAP silhouette"}
    assert float(shown["NMI"]) == pytest.approx(result.metrics.nmi, abs=1e-3)
    assert 0.0 < float(shown["NMI"]) <= 1.0
    assert len(at.get("plotly_chart")) == 3  # scores, loss curve, cluster-versus-label heatmap

    at.switch_page("pages/train.py").run()  # the result survives page switches
    assert at.session_state["result"] is result


def test_pixel_kmeans_has_no_training_loss_and_says_so():
    at = train(new_app(), "kmeans")
    at.switch_page("pages/metrics.py").run()
    assert "has no training loss" in texts(at)
    assert at.session_state["result"].metrics.nmi > 0.6


def test_an_automatic_batch_size_reads_automatic_and_a_chosen_one_reaches_the_run():
    """A parameter whose default is None (the method's automatic choice) shows "automatic" in its select box,
    not Streamlit's empty "Choose an option", and both it and a chosen size reach the run as they should."""
    at = train(new_app(), "ae_kmeans", epochs=1)
    box = at.selectbox(key="train_ae_kmeans_batch_size")
    assert box.value == "automatic" and "automatic" in box.options
    assert at.session_state["job"].config.params["batch_size"] is None
    box.set_value(128).run()
    at.button(key="train").click().run()
    job = at.session_state["job"]
    assert job.wait(TIMEOUT) and job.status == "finished", job.error
    assert job.config.params["batch_size"] == 128
    at.run()
    assert at.selectbox(key="train_ae_kmeans_batch_size").value == 128 and not at.exception


def test_the_page_drawn_after_a_click_on_train_shows_the_first_progress_line():
    at = train(new_app(), "kmeans")  # the training process is warm now
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(300)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    try:
        [bar] = at.get("progress")
        # "0% · Preparing the data · 0 s elapsed", not "Preparing..." until the next poll half a second later
        assert re.match(r"\d+% · ", bar.text), bar.text
    finally:
        job.cancel()
        assert job.wait_for_worker(30)


def test_cancel_stops_training_and_leaves_the_app_usable():
    at = new_app()
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(300)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    deadline = time.time() + TIMEOUT
    while (job.snapshot().event is None or job.snapshot().event.epoch < 2) and time.time() < deadline:
        time.sleep(0.2)  # wait until it really trains
    at.run()
    assert at.button(key="stop_keep").label == "Stop and keep"  # beside Cancel, for a deep run
    epoch_at_cancel = job.snapshot().event.epoch
    at.button(key="cancel").click().run()
    assert "Training cancelled" in texts(at)
    assert not at.button(key="train").disabled  # the page is usable again at once
    assert job.wait_for_worker(30), "the worker did not stop after Cancel"
    from core.runs import RunStore

    record = RunStore().get(job.run_id)
    # Cancel stops at the next batch, a few epochs at most after the click on a loaded machine (an epoch
    # takes about a second here); a cancel that did not land would let all 300 epochs run.
    assert record.status == "cancelled" and len(record.history) <= epoch_at_cancel + 5, (len(record.history),
                                                                                         epoch_at_cancel)
    at = train(at, "kmeans")  # and the worker takes the next run
    assert at.session_state["job"].status == "finished"


def test_failed_download_is_explained_and_other_datasets_still_work(monkeypatch):
    import keras.src.datasets.mnist as keras_mnist

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras_mnist, "get_file", offline)
    at = new_app()
    at.selectbox(key="train_dataset").set_value("mnist").run()
    assert not at.exception
    assert "MNIST could not be downloaded" in " ".join(e.value for e in at.error)
    at.selectbox(key="train_dataset").set_value("digits").run()
    assert not at.exception and not at.error
    assert "1,797 images" in texts(at)


def test_synthetic_dataset_size_and_clusters_are_user_settings():
    at = new_app()
    at.selectbox(key="train_dataset").set_value("synthetic").run()
    at.slider(key="train_synthetic_n_samples").set_value(400)
    at.slider(key="train_synthetic_n_clusters").set_value(4).run()
    assert "400 images of 16x16, 4 classes" in texts(at)
    assert at.slider(key="train_n_clusters_synthetic_4").value == 4  # follows the true count
    at.selectbox(key="train_algorithm").set_value("kmeans").run()
    at.button(key="train").click().run()
    assert at.session_state["job"].wait(TIMEOUT)
    at.run()
    result = at.session_state["result"]
    assert result.dataset.n_samples == 400 and result.config.dataset_options["n_clusters"] == 4
    assert result.metrics.nmi > 0.5  # far above chance (0), though shifts and noise keep pixels imperfect


def unlabelled_kmeans() -> AppTest:
    """Train's form set to k-means on synthetic images with their labels hidden."""
    at = new_app()
    at.selectbox(key="train_dataset").set_value("synthetic").run()
    at.selectbox(key="train_synthetic_with_labels").set_value(False).run()
    at.selectbox(key="train_algorithm").set_value("kmeans").run()
    return at


def train_then_metrics(at: AppTest) -> dict:
    """Train the form's run, open Metrics, and return the scores it shows ({label: text})."""
    at.button(key="train").click().run()
    assert at.session_state["job"].wait(TIMEOUT)
    at.run()
    at.switch_page("pages/metrics.py").run()
    assert not at.exception, at.exception
    return {m.label: m.value for m in at.metric}


def test_unlabelled_data_shows_silhouette_only_and_says_why():
    at = unlabelled_kmeans()
    assert "no labels" in texts(at)
    shown = train_then_metrics(at)
    assert shown["NMI"] == "n/a" and shown["Silhouette"] != "n/a"
    assert "no true labels" in texts(at)
    assert len(at.get("plotly_chart")) == 1  # scores only: no loss curve for k-means, no heatmap without labels
    at.switch_page("pages/explore.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="explore_colour").options == ["Cluster"]


def test_runs_of_unlabelled_images_show_their_label_free_score_and_compare_ranks_by_it():
    """No labels: each run shows its UMAP silhouette beside the other scores, and Compare ranks by it."""
    at = unlabelled_kmeans()
    scores = {}
    for k in (3, 6):
        [count] = [s for s in at.slider if s.key.startswith("train_n_clusters_")]
        count.set_value(k).run()
        shown = train_then_metrics(at)
        assert shown["NMI"] == "n/a" and shown["UMAP silhouette"] != "n/a", shown
        scores[at.session_state["result"].run_id] = float(shown["UMAP silhouette"])
        at.switch_page("pages/train.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="compare_dataset").set_value("synthetic").run()
    # this module's store holds other runs on synthetic images, with labels: these two alone
    at.multiselect(key="compare_runs_synthetic_None").set_value(sorted(scores)).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare_rank_by").value == "UMAP silhouette"
    board = at.dataframe[0].value
    best = max(scores, key=scores.get)
    assert board["Run"].iloc[0].startswith(f"#{best} ") and len(board) == 2, board
    assert "Best by UMAP silhouette" in texts(at)


def test_another_session_training_at_the_same_time_never_replaces_this_sessions_result():
    mine = train(new_app(), "kmeans")
    shown = mine.session_state["result"]
    assert shown.run_id == mine.session_state["job"].run_id and "Finished in" in texts(mine)
    other = new_app()  # another tab, another person: same server, same worker
    other.selectbox(key="train_dataset").set_value("digits")
    other.selectbox(key="train_algorithm").set_value("gmm").run()
    other.button(key="train").click().run()
    while not other.session_state["job"].done:
        mine.run()  # this tab keeps drawing while the other trains
        assert not mine.exception, mine.exception
        time.sleep(0.3)
    assert other.session_state["job"].status == "finished"
    for page in ("pages/train.py", "pages/explore.py", "pages/metrics.py"):
        mine.switch_page(page).run()
        assert not mine.exception, mine.exception
        assert mine.session_state["result"].run_id == shown.run_id, page
    other.run()
    assert other.session_state["result"].run_id == other.session_state["job"].run_id != shown.run_id


def test_a_refreshed_train_tab_takes_its_own_run_back_by_its_address():
    at = new_app()
    at.selectbox(key="train_dataset").set_value("digits")
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(12)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    assert at.query_params["job"] == str(job.id)
    refreshed = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # a new session, same address
    refreshed.query_params["job"] = str(job.id)
    refreshed.run()
    assert not refreshed.exception, refreshed.exception
    assert refreshed.session_state["job"] is job
    assert refreshed.selectbox(key="train_algorithm").value == "ae_kmeans"  # the form is the run's, not reset
    assert refreshed.slider(key="train_ae_kmeans_epochs").value == 12
    assert "another tab" not in texts(refreshed)
    assert job.wait(TIMEOUT) and job.status == "finished", job.error
    refreshed.run()
    assert "Finished in" in texts(refreshed) and f"Saved as run #{job.run_id}" in texts(refreshed)
    assert refreshed.session_state["result"].run_id == job.run_id
