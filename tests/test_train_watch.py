"""Train, driven with AppTest: the live view of a deep run (its frames while it trains, the replay after), a run
that reused its pretrained autoencoder saying so where it finishes, and "Repeat with N seeds" queueing a sweep
over seeds that links to Compare. Fragments do not rerun in AppTest: the page is drawn again by hand while the
job trains, as the live fragment would draw it."""
import json
import re
import time

from streamlit.testing.v1 import AppTest

from core.runs import FINISHED, RunStore
from tests.apptest import TIMEOUT, new_app, texts


def charts(at: AppTest, key: str) -> list:
    """The Plotly figures (as dicts) of the charts whose key is `key`."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id.endswith(key)]


def small_data(at: AppTest) -> None:
    """200 synthetic images: runs (and their 2-D projections) that take a second or two."""
    at.selectbox(key="train_dataset").set_value("synthetic").run()
    at.slider(key="train_synthetic_n_samples").set_value(200).run()


def wait_for(condition, timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_live_view_shows_frames_while_a_deep_run_trains_and_replays_them_after():
    at = new_app()
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(100)  # a frame every few epochs: stopped once two are seen
    at.slider(key="train_ae_kmeans_latent_dim").set_value(6)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    captions = []
    try:
        for frames in (1, 2):
            wait_for(lambda: len(job.snapshot().frames) >= frames or job.done, what=f"{frames} frames")
            at.run()
            assert not at.exception, at.exception
            [live] = charts(at, "learning_live_chart")
            captions.append(live["layout"]["title"]["text"])
            assert len(live["data"][0]["x"]["bdata"] if isinstance(live["data"][0]["x"], dict)
                       else live["data"][0]["x"]) > 0
        assert captions[0] == "Pretraining, epoch 1 of 100 · frame 1", captions
        assert re.fullmatch(r"Pretraining, epoch \d+ of 100 · frame 2", captions[1]), captions
        at.button(key="stop_keep").click().run()
    finally:
        if not job.done and not job.stopping:
            job.cancel()
    assert job.wait(TIMEOUT) and job.status == FINISHED, job.error
    at.run()
    assert not at.exception, at.exception
    assert not charts(at, "learning_live_chart")
    [replay] = charts(at, "train_replay_chart")
    result = at.session_state["result"]
    assert len(result.frames) >= 3 and len(replay["frames"]) == len(result.frames)   # kept with the run
    assert len(replay["layout"]["sliders"][0]["steps"]) == len(result.frames)
    assert "How the clusters formed" in replay["layout"]["title"]["text"]
    at.segmented_control(key="train_replay_colour").set_value("true labels").run()
    assert not at.exception, at.exception
    assert {t["name"] for t in charts(at, "train_replay_chart")[0]["data"][1:]} == {str(d) for d in range(10)}

    at.switch_page("pages/model.py").run()
    assert not at.exception, at.exception
    assert "How the clusters formed" in [s.value for s in at.subheader]
    assert charts(at, "model_replay_chart")


def test_a_run_that_reused_its_pretrained_autoencoder_says_so_where_it_finishes():
    at = new_app()
    small_data(at)
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(3)
    at.slider(key="train_ae_kmeans_latent_dim").set_value(5)
    for first in (True, False):
        at.button(key="train").click().run()
        job = at.session_state["job"]
        assert job.wait(TIMEOUT) and job.status == FINISHED, job.error
        at.run()
        assert not at.exception, at.exception
        [finished] = [s.value for s in at.success]
        assert finished.startswith("Finished in")
        assert ("pretrained once before" in finished and "reused" in finished) != first, finished
    assert "This run has no replay" in texts(at)   # nothing trained: nothing to replay


def test_repeat_with_three_seeds_queues_them_as_a_sweep_and_links_to_compare():
    at = new_app()
    small_data(at)
    at.selectbox(key="train_algorithm").set_value("kmeans").run()
    at.number_input(key="train_seed").set_value(4).run()
    at.number_input(key="train_repeat_seeds").set_value(3).run()
    assert "3 runs, seeds 4 to 6" in texts(at)
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    sweep_id = at.session_state["repeat_sweep"]
    assert sweep_id is not None
    store = RunStore()
    wait_for(lambda: [r.status for r in store.list_runs(sweep_id=sweep_id)] == [FINISHED] * 3, what="3 runs")
    runs = sorted(store.list_runs(sweep_id=sweep_id), key=lambda r: r.config.seed)
    assert [r.config.seed for r in runs] == [4, 5, 6]
    assert {r.config.algorithm for r in runs} == {"kmeans"} and store.sweeps.all()[0].axes == {"seed": [4, 5, 6]}
    deadline = time.time() + 30  # the last run's end reaches the server's dispatcher just after the store
    while "Repeated with" not in texts(at) and time.time() < deadline:
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
    assert "Repeated with seeds 4, 5 and 6: 3 runs finished" in texts(at)
    [link] = [e for e in at.get("page_link") if "compare" in e.proto.page]
    assert f"sweep={sweep_id}" in link.proto.query_string and "Compare the 3 runs" in link.proto.label
    assert at.session_state["compare_sweep"] == sweep_id
    at.query_params["sweep"] = str(sweep_id)   # the link, followed
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    board = at.dataframe[0].value  # one setting: one row, the mean of its 3 seeds
    assert list(board["Seeds"]) == [3] and any("mean of 3 seeds" in m.value for m in at.markdown)
    assert "Seeds: mean and spread" in [h.value for h in at.subheader]
