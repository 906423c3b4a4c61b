"""State that holds while a presenter moves around: renamed runs, the Train form, runs named in the URL."""
import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.runs import RunStore
from tests.conftest import ROOT
from tests.apptest import run_scan


@pytest.fixture(scope="module")
def five_runs():
    """Five quick runs on digits in the app's store (conftest points DEEP_CLUSTERING_HOME at a temp dir)."""
    from core.runs.runner import record_run

    store = RunStore()
    configs = [RunConfig(dataset="digits", algorithm="kmeans", n_clusters=k, projection="pca") for k in (6, 8, 10)]
    configs += [RunConfig(dataset="digits", algorithm="agglomerative", n_clusters=10, projection="pca"),
                RunConfig(dataset="digits", algorithm="gmm", n_clusters=10, projection="pca")]
    results = [record_run(config, store, name=f"state run {i}") for i, config in enumerate(configs)]
    return store, results


def app(path: str = None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({k: str(v) for k, v in query.items()})
    at.run()
    if path is not None:
        at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def run_picker(at: AppTest):
    [picker] = [s for s in at.selectbox if s.label == "Run"]
    return picker


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "success", "warning", "error", "title")
                    for e in at.get(kind))


def test_rename_then_tag_acts_on_the_run_on_screen(five_runs):
    store, results = five_runs
    target, newest = results[3], results[4]
    at = app("pages/runs.py")
    run_picker(at).set_value(target.run_id).run()
    at.text_input(key=f"runs_name_{target.run_id}").set_value("Ward on digits, for the demo").run()
    at.button(key="runs_rename").click().run()
    assert not at.exception, at.exception
    assert store.get(target.run_id).name == "Ward on digits, for the demo"
    picker = run_picker(at)
    assert picker.value == target.run_id, "the page moved to another run after the rename"
    assert f"#{target.run_id} · Ward on digits, for the demo" in picker.options  # the new name, at once
    assert any(s.value == "Ward on digits, for the demo" for s in at.subheader)

    at.multiselect(key=f"runs_tags_{target.run_id}").set_value(["demo"]).run()
    at.button(key="runs_save_tags").click().run()
    assert store.get(target.run_id).tags == ["demo"]
    assert store.get(newest.run_id).tags == []
    assert run_picker(at).value == target.run_id


def test_train_form_survives_leaving_the_page():
    at = app()
    at.selectbox(key="train_algorithm").set_value("dec").run()
    at.slider(key="train_dec_epochs").set_value(20).run()
    at.slider(key="train_n_clusters_digits_10").set_value(7).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/explore.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_algorithm").value == "dec"
    assert at.slider(key="train_dec_epochs").value == 20
    assert at.slider(key="train_n_clusters_digits_10").value == 7


def test_finished_banner_goes_when_the_settings_change():
    at = app()
    at.selectbox(key="train_algorithm").set_value("kmeans").run()
    at.button(key="train").click().run()
    assert at.session_state["job"].wait(120)
    at.run()
    assert "Finished in" in texts(at)
    at.switch_page("pages/metrics.py").run()
    at.switch_page("pages/train.py").run()
    assert "Finished in" in texts(at), "the banner of the run just made is gone after coming back"
    at.selectbox(key="train_algorithm").set_value("gmm").run()
    assert "Finished in" not in texts(at), "a banner about k-means stays over the Gaussian mixture's settings"


def test_take_a_cluster_count_keeps_the_analysed_algorithm(five_runs):
    store, results = five_runs
    analysed = results[3]  # agglomerative
    at = app("pages/clusters.py", run=analysed.run_id)
    at.slider(key="sweep_range").set_value((2, 6)).run()
    run_scan(at)  # in the training process
    at.button(key="sweep_take").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train_algorithm").value == "agglomerative"
    suggested = [s for s in at.slider if s.key.startswith("train_n_clusters_")][0].value
    assert 2 <= suggested <= 6


@pytest.mark.parametrize("page", ["pages/explore.py", "pages/metrics.py", "pages/model.py"])
def test_a_run_in_the_url_survives_a_refresh(five_runs, page):
    store, results = five_runs
    run = results[1]
    store.rename(run.run_id, "Eight clusters, renamed")
    at = app(page, run=run.run_id)   # a refresh, a bookmark or a new tab: a new session with ?run= in the URL
    shown = at.session_state["result"]
    assert shown is not None and shown.run_id == run.run_id
    assert "train a model first" not in texts(at)
    assert f"Run #{run.run_id} · Eight clusters, renamed" in texts(at)
    assert at.query_params.get("run") == str(run.run_id)


def test_no_run_chosen_offers_the_latest_finished_run(five_runs):
    store, results = five_runs
    at = app("pages/explore.py")
    assert "train a model first" in texts(at)
    at.button(key="open_latest_run").click().run()
    assert not at.exception, at.exception
    latest = max(r.id for r in store.list_runs(status="finished"))
    assert at.session_state["result"].run_id == latest
    assert at.query_params.get("run") == str(latest)
    assert at.get("plotly_chart"), "the run opened but nothing is drawn"


def test_report_title_is_the_runs_name(five_runs):
    from core.runs.report import html_report

    store, results = five_runs
    run = results[0]
    store.rename(run.run_id, "Six clusters <for the board>")
    result = store.load_result(run.run_id)
    html = html_report(result, run_id=run.run_id, name=store.get(run.run_id).name)
    assert "<title>Six clusters &lt;for the board&gt;</title>" in html
    assert "<h1>Six clusters &lt;for the board&gt;</h1>" in html


def test_runs_warns_when_silhouettes_come_from_different_spaces(five_runs):
    from core.runs.runner import record_run

    store, results = five_runs
    at = app("pages/runs.py")
    at.text_input(key="runs_search").set_value("state run").run()
    assert not [w for w in at.warning if "different spaces" in w.value]  # all five clustered the pixels
    record_run(RunConfig(dataset="digits", algorithm="agglomerative", projection="pca",
                         params={"space": "autoencoder", "epochs": 2, "latent_dim": 6}), store, name="state run ae")
    at.run()
    [warning] = [w for w in at.warning if "different spaces" in w.value]
    assert "autoencoder embedding (6-d)" in warning.value and "pixels (64-d)" in warning.value
