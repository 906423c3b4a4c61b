"""The Sweeps page, driven with AppTest: a grid point that cannot be a clustering is refused before anything starts
(as by the command line); how long a sweep takes is said before it starts and while it runs; a sweep queued in one
tab shows in another without its Cancel; a cancelled sweep shows as cancelled; the Ray cluster is a choice only
where the server was started with one."""
import time

from streamlit.testing.v1 import AppTest

from core.runs import RunStore
from core.runs.ray_sweeps import RAY_ADDRESS_ENV, ray_installed
from tests.conftest import ROOT

# Autoencoder + GMM on the synthetic shapes: no other test records such runs in the session's store, so the page
# has nothing to judge this sweep's time from until its own first run has finished.
ALGORITHM = "ae_gmm"


def sweeps_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/sweeps.py").run()
    assert not at.exception, at.exception
    return at


def grid(at: AppTest, algorithm: str, axis: str, values: str, *, n_samples: int = 1000) -> AppTest:
    """Synthetic shapes (`n_samples` images), `algorithm`, and `axis` varied over `values`."""
    at.selectbox(key="sweep_dataset").set_value("synthetic").run()
    at.slider(key="sweep_synthetic_n_samples").set_value(n_samples)
    at.selectbox(key="sweep_algorithm").set_value(algorithm).run()
    at.selectbox(key=f"sweep_axis1_{algorithm}").set_value(axis).run()
    at.text_input(key=f"sweep_values_1_{algorithm}_{axis}").set_value(values).run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def bars(at: AppTest) -> list:
    """(percent, text) of each progress bar: the sweep's first, then the run training now."""
    return [(bar.proto.value, bar.proto.text) for bar in at.get("progress")]


def until_page(at: AppTest, condition, timeout: float = 240, what: str = "the page"):
    """Draw the page again until `condition(at)` (the fragment that polls in a browser does not run here)."""
    deadline = time.time() + timeout
    while True:
        at.run()
        assert not at.exception, at.exception
        if condition(at):
            return
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {bars(at)}")
        time.sleep(1.0)


def test_a_grid_point_that_cannot_be_a_clustering_is_refused_here_and_on_the_command_line(tmp_path, capsys):
    at = grid(sweeps_page(), "kmeans", "n_clusters", "4, 300", n_samples=300)
    assert any("Number of clusters must be less than 300" in e.value for e in at.error)
    assert at.button(key="sweep_start").disabled

    from core.cli import main

    code = main(["--store", str(tmp_path), "sweep", "--dataset", "synthetic", "--dataset-option", "n_samples=300",
                 "--algorithm", "kmeans", "--vary", "n_clusters=4,300"])
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1 and "must be less than 300" in error, error
    assert RunStore(tmp_path).sweeps.all() == [] and RunStore(tmp_path).list_runs() == []  # nothing started


def test_a_sweep_says_how_long_it_takes_hides_its_cancel_from_other_tabs_and_shows_a_cancel_as_such():
    assert not RunStore().list_runs(dataset="synthetic", algorithm=ALGORITHM), "another test recorded such runs"
    mine = grid(sweeps_page(), ALGORITHM, "epochs", "1, 300")
    assert "not known yet" in captions(mine)  # before it starts: nothing like it in the store
    mine.button(key="sweep_start").click().run()
    assert not mine.exception, mine.exception
    assert "run 1 of 2 · time left not known until its first run finishes" in bars(mine)[0][1]
    until_page(mine, lambda at: "run 2 of 2 · about" in bars(at)[0][1], what="the sweep's second run")
    assert "judging from the run finished so far" in bars(mine)[0][1]  # the 1-epoch run: the estimate's basis

    other = sweeps_page()  # another tab, another person: it sees the sweep, and cannot stop it
    assert "run 2 of 2" in bars(other)[0][1]
    assert not [b for b in other.button if b.key == "sweep_cancel"], "another tab could cancel this sweep"
    assert "Queued from another tab" in captions(other)
    assert other.button(key="sweep_start").disabled

    mine.button(key="sweep_cancel").click().run()
    assert not mine.exception, mine.exception
    percent, text = bars(mine)[0]
    assert percent < 100 and "cancelled · 1 of 2 runs finished, 1 cancelled" in text, (percent, text)
    table = mine.dataframe[0].value
    assert list(table["status"]) == ["finished", "cancelled"]
    assert list(table.iloc[1][["NMI", "ACC", "Silhouette"]]) == ["cancelled"] * 3
    assert not table.isna().any().any() and "None" not in table.astype(str).to_numpy()
    deadline = time.time() + 60  # the worker stops the cancelled run before the next test queues anything
    while any(r.status == "running" for r in RunStore().list_runs(algorithm=ALGORITHM)) and time.time() < deadline:
        time.sleep(0.5)

    mine.run()  # the same grid again: now the store has a finished run like it
    assert "judging from similar runs in the store" in captions(mine), captions(mine)


def test_the_ray_cluster_is_offered_only_when_the_server_was_started_with_one(monkeypatch):
    monkeypatch.delenv(RAY_ADDRESS_ENV, raising=False)
    at = sweeps_page()
    assert not [box for box in at.checkbox if box.key == "sweep_on_ray"]
    assert "Ray" not in captions(at)
    monkeypatch.setenv(RAY_ADDRESS_ENV, "ray://head.lan:10001")  # the server's setting: a visitor never types one
    at.run()
    assert not at.exception, at.exception
    if not ray_installed():
        assert "Ray is not installed: pip install -r requirements-ray.txt" in captions(at)
        return
    box = at.checkbox(key="sweep_on_ray")
    assert box.label == "Run on the Ray cluster (ray://head.lan:10001)" and not box.value
    assert not [t for t in at.text_input if "ray" in (t.key or "").lower()]  # nothing to type an address into
