"""The Runs and Compare pages, driven with AppTest over runs the test records in the app's store."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.metrics import match_clusters, relabel
from core.runs import RunNotFound, RunStore
from core.runs.compare import agreement
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def runs():
    """Three k-means runs on digits with 8, 10 and 12 clusters, in the store the app uses."""
    from core.runs.runner import record_run

    store = RunStore()  # $DEEP_CLUSTERING_HOME, set for the whole test session in conftest
    results = [record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=k, projection="pca"), store,
                          name=f"pages k={k}") for k in (8, 10, 12)]
    return store, results


def pick_run(at: AppTest, run_id: int) -> AppTest:
    """Choose `run_id` in the Runs page's run picker (its key follows the run on screen)."""
    [picker] = [s for s in at.selectbox if s.label == "Run"]
    return picker.set_value(run_id).run()


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def test_runs_table_filter_open_rename_tag_and_delete(runs):
    store, results = runs
    at = page("pages/runs.py")
    at.text_input(key="runs_search").set_value("pages k=").run()
    table = at.dataframe[0].value
    assert sorted(table["id"]) == sorted(r.run_id for r in results)
    assert set(table["k"]) == {8, 10, 12} and table["NMI"].between(0.5, 1).all()
    assert "k" in table.columns and "status" in table.columns

    middle = results[1]
    pick_run(at, middle.run_id)
    assert [b.label for b in at.get("download_button")] == [
        "Labels (CSV)", "Embedding (.npz)", "Trained model (.zip)", "Report (HTML)", "Images by cluster (.zip)",
        "Whole run, to import in another dashboard (.zip)"]
    at.button(key="runs_open_explore").click().run()
    assert not at.exception, at.exception
    shown = at.session_state["result"]
    assert shown.run_id == middle.run_id and shown.n_clusters == 10
    assert (shown.labels == middle.labels).all()
    assert any("Explore" == t.value for t in at.title)

    at = page("pages/runs.py")
    at.text_input(key="runs_search").set_value("pages k=").run()
    pick_run(at, middle.run_id)
    at.text_input(key=f"runs_name_{middle.run_id}").set_value("pages k=10, renamed").run()
    at.button(key="runs_rename").click().run()
    assert store.get(middle.run_id).name == "pages k=10, renamed"
    at.multiselect(key=f"runs_tags_{middle.run_id}").set_value(["keep"]).run()
    at.button(key="runs_save_tags").click().run()
    assert store.get(middle.run_id).tags == ["keep"]

    last = results[2]
    at.text_input(key="runs_search").set_value("").run()
    pick_run(at, last.run_id)
    at.button(key="runs_delete").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert store.get(last.run_id)  # nothing deleted before the confirmation
    at.button(key="runs_delete_yes").click().run()
    assert not at.exception, at.exception
    with pytest.raises(RunNotFound):
        store.get(last.run_id)
    assert last.run_id not in set(at.dataframe[0].value["id"])


def test_compare_two_runs(runs):
    store, results = runs
    first, second = results[0], results[1]
    at = page("pages/compare.py")
    at.selectbox(key="compare_dataset").set_value("digits").run()
    at.multiselect(key="compare_runs_digits_None").set_value([first.run_id, second.run_id]).run()
    assert not at.exception, at.exception
    # parallel coordinates, metric bars, metric against the setting, the agreement matrix
    assert len(at.get("plotly_chart")) == 4
    assert "Settings that differ: Number of clusters." in " ".join(c.value for c in at.caption)
    at.toggle(key="compare_side_by_side").set_value(True).run()
    assert len(at.get("plotly_chart")) == 7  # and the two projections, and where each cluster went
    expected = agreement(first.labels, second.labels)
    assert at.metric[0].value == f"{expected:.3f}" and 0.5 < expected < 1
    changed = (first.labels != relabel(second.labels, match_clusters(first.labels, second.labels))).sum()
    assert at.metric[1].value == f"{changed:,} of {len(first.labels):,}"


def stop_buttons(at: AppTest) -> list:
    return [b.key for b in at.button if b.key in ("cancel", "stop_keep")]


def long_training(at: AppTest):
    """Start autoencoder + k-means for 300 epochs on digits from `at`'s Train page; its job once recorded."""
    at.selectbox(key="train_algorithm").set_value("ae_kmeans").run()
    at.slider(key="train_ae_kmeans_epochs").set_value(300)
    at.button(key="train").click().run()
    job = at.session_state["job"]
    deadline = time.time() + 120
    while job.run_id is None and time.time() < deadline:  # recorded in the store once the worker starts it
        time.sleep(0.5)
    assert job.run_id is not None, "the job did not start"
    return job


def test_a_second_tab_sees_the_running_job_but_only_the_tab_that_started_it_can_stop_it():
    first = page("pages/train.py")
    job = long_training(first)
    second = page("pages/train.py")  # another browser tab: a new session on the same server
    assert any("started from another tab" in i.value for i in second.info)
    assert second.get("progress")
    assert stop_buttons(second) == [], "another tab could stop this run"
    first.run()
    assert stop_buttons(first) == ["cancel", "stop_keep"]

    # The walk that found it: the first tab cancels its run and the second starts one; the first tab, its own
    # run cancelled, shows the second tab's run, and still cannot stop it.
    first.button(key="cancel").click().run()
    assert job.wait_for_worker(60) and job.status == "cancelled"
    theirs = long_training(second)
    first.run()
    assert not first.exception, first.exception
    assert any("Training cancelled" in w.value for w in first.warning)
    assert any("started from another tab" in i.value for i in first.info) and first.get("progress")
    assert stop_buttons(first) == [], "a tab could stop another tab's run"
    assert stop_buttons(second) == ["cancel", "stop_keep"]
    second.button(key="cancel").click().run()
    assert theirs.wait_for_worker(60) and theirs.status == "cancelled"
    for run_id in (job.run_id, theirs.run_id):
        deadline = time.time() + 30
        while RunStore().get(run_id).status == "running" and time.time() < deadline:
            time.sleep(0.5)
        assert RunStore().get(run_id).status == "cancelled"


def test_sweep_form_leaves_the_varied_settings_to_the_grid():
    from core.algorithms import DEFAULT_ALGORITHM as DEFAULT

    at = page("pages/sweeps.py")
    at.selectbox(key=f"sweep_axis1_{DEFAULT}").set_value("n_clusters").run()
    at.selectbox(key=f"sweep_axis2_{DEFAULT}").set_value("seed").run()
    assert not at.exception, at.exception
    assert not [s for s in at.slider if s.key.startswith("sweep_n_clusters")], "the varied count has a slider"
    assert not [n for n in at.number_input if n.key == "sweep_seed"], "the varied seed has a box"
    assert not [c for c in at.caption if "found by the algorithm" in c.value]
    assert any("**9 runs**" in m.value for m in at.markdown)
    assert at.code[0].value.endswith("--vary n_clusters=8,10,12 --vary seed=0,1,2")
    at.text_input(key=f"sweep_values_2_{DEFAULT}_seed").set_value("0, x").run()
    assert any("Seed takes whole numbers" in e.value for e in at.error)
    assert at.button(key="sweep_start").disabled
