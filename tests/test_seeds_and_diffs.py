"""Honest comparisons on real digits: runs that differ only in seed shown as a mean and a spread, two runs
diffed cluster by cluster (a flow diagram and the images that moved), the agreement of every two runs, and
their consensus saved as a run; in AppTest and in real Chromium."""
import base64
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.metrics import relabel
from core.runs import FINISHED, RunStore
from core.runs import compare as runs
from core.runs.runner import record_run, run_sweep
from tests.browser import CHROMIUM, browser_page, no_exception, serve_app, settle, shoot
from tests.conftest import ROOT

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def seeded():
    """k-means on the real digits in 10 and in 8 clusters, each a sweep over three seeds, in the test session's
    store (the one the pages open): (store, {run id: result}, {clusters: sweep id})."""
    store = RunStore()
    results, sweeps = {}, {}
    for k in (10, 8):
        base = RunConfig(dataset="digits", algorithm="kmeans", n_clusters=k, projection="pca")
        sweeps[k], outcomes = run_sweep(base, {"seed": list(SEEDS)}, store)
        results.update({r.run_id: r for r in outcomes})
    return store, results, sweeps


def ours(store, results):
    """The runs_table of this module's runs (other modules may share the store)."""
    table = runs.runs_table(store.list_runs(status=FINISHED))
    return table[table["id"].isin(results)].reset_index(drop=True)


def test_runs_that_differ_only_in_seed_are_one_group_with_its_mean_and_spread(seeded):
    store, results, _ = seeded
    records = [r for r in store.list_runs(status=FINISHED) if r.id in results]
    table = ours(store, results)
    groups = runs.seed_group_ids(table)
    assert groups.notna().all() and groups.nunique() == 2
    spread = runs.seed_spread(table, ["NMI", "ACC"])
    assert [len(ids) for ids in spread["runs"]] == [3, 3] and list(spread["seeds"]) == [list(SEEDS)] * 2
    for _, group in spread.iterrows():
        nmi = np.array([results[i].metrics.nmi for i in group["runs"]])
        assert group["NMI Mean"] == pytest.approx(nmi.mean()) and group["NMI SD"] == pytest.approx(nmi.std(ddof=1))
        assert (group["NMI Min"], group["NMI Max"]) == pytest.approx((nmi.min(), nmi.max()))
    assert list(spread["title"]) == ["k-means on pixels · Number of clusters 10",  # the oldest group first
                                     "k-means on pixels · Number of clusters 8"]

    board = runs.group_leaderboard(table, "NMI", ["NMI", "ACC"])  # ranked by the mean, not the luckiest seed
    assert list(board.columns[:6]) == ["Rank", "Best", "Setting", "Seeds", "NMI", "NMI SD"]
    assert board["NMI"].is_monotonic_decreasing and list(board["Seeds"]) == [3, 3]
    folded = runs.fold_seed_groups(table)
    assert len(folded) == 2 and set(folded["id"]) == {max(i for i in results if results[i].config.n_clusters == k)
                                                      for k in (10, 8)}

    newest = records[0]
    summary = runs.seed_summary(records, newest.id)
    row = summary.set_index("Metric").loc["NMI"]
    assert row["This run"] == pytest.approx(results[newest.id].metrics.nmi) and row["Seeds"] == 3
    assert row["Min"] <= row["This run"] <= row["Max"]

    # A run corrected by hand, and one with another setting, belong to no group.
    parent = results[newest.id]
    derived = store.add_derived_run(newest.id, parent.with_labels(np.roll(parent.labels, 1), {}), changes=["test"])
    other = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=9, seed=0, projection="pca"), store)
    table = ours(store, {**results, derived: None, other.run_id: None})
    groups = runs.seed_group_ids(table).set_axis(table["id"])
    assert pd.isna(groups[derived]) and pd.isna(groups[other.run_id]) and groups.notna().sum() == 6
    assert runs.seed_summary(store.list_runs(status=FINISHED), other.run_id) is None
    store.delete(derived)
    store.delete(other.run_id)


def test_a_diff_follows_every_image_from_one_run_to_the_other(seeded):
    _, results, _ = seeded
    left, right = (results[i].labels for i in sorted(results)[:2])
    diff = runs.diff_labellings(left, right)
    assert diff.flows["count"].sum() == len(left)
    assert diff.n_changed == int((relabel(right, diff.matched) != left).sum()) > 0
    moved = np.concatenate([rows for _, _, rows in diff.moves()])
    assert sorted(moved) == list(np.flatnonzero(diff.changed))
    for a, b, rows in diff.moves():
        assert (left[rows] == a).all() and (right[rows] == b).all() and diff.matched[b] != a
    renamed = (left + 3) % 10  # the same clusters under other numbers: nothing changed
    assert runs.diff_labellings(left, renamed).n_changed == 0
    with pytest.raises(ValueError, match="different images"):
        runs.diff_labellings(left, right[:-1])


def test_the_consensus_of_runs_keeps_what_they_agree_on(seeded):
    _, results, _ = seeded
    runs_of_kmeans = [r for r in results.values() if r.config.n_clusters == 10]
    labels = [r.labels for r in runs_of_kmeans]
    assert adjusted_rand_score(labels[0], runs.consensus_labels([labels[0], (labels[0] + 4) % 10], 10)) == 1.0
    truth = runs_of_kmeans[0].dataset.labels
    consensus = runs.consensus_labels(labels, 10)
    assert normalized_mutual_info_score(truth, consensus) >= min(r.metrics.nmi for r in runs_of_kmeans) - 0.02
    matrix = runs.agreement_matrix(labels)
    assert np.allclose(np.diag(matrix), 1) and np.allclose(matrix, matrix.T) and (matrix > 0.5).all()
    with pytest.raises(ValueError, match="at least two"):
        runs.consensus_labels(labels[:1], 10)


def compare_page(ids: list, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/compare.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.selectbox(key="compare_dataset").set_value("digits").run()
    at.multiselect(key="compare_runs_digits_None").set_value(ids).run()
    assert not at.exception, at.exception
    return at


def test_compare_shows_each_setting_as_mean_and_spread_and_diffs_two_runs(seeded):
    store, results, _ = seeded
    ids = sorted(results)
    at = compare_page(ids, {"diff": f"{ids[0]},{ids[3]}"})
    board = at.dataframe[0].value  # the leaderboard
    assert list(board["Seeds"]) == [3, 3] and set(board["Setting"]) == {f"k-means on pixels · Number of clusters {k}"
                                                                           for k in (10, 8)}
    assert any("mean of 3 seeds" in m.value for m in at.markdown)
    assert "Seeds: mean and spread" in [h.value for h in at.subheader]
    spread = next(d.value for d in at.dataframe if "±" in str(d.value.get("NMI", "")))
    assert all("±" in text for text in spread["NMI"])
    figures = {chart.proto.id: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    types = [trace.get("type") for figure in figures.values() for trace in figure["data"]]
    assert "sankey" in types  # the link's two runs opened side by side
    sankey = next(t for f in figures.values() for t in f["data"] if t.get("type") == "sankey")
    assert sum(sankey["link"]["value"]) == len(results[ids[0]].labels)
    assert any("changed cluster" in m.value for m in at.markdown)
    assert at.toggle(key="compare_side_by_side").value
    assert [at.selectbox(key="compare_left").value, at.selectbox(key="compare_right").value] == [ids[0], ids[3]]

    at.toggle(key="compare_fold").set_value(False).run()  # one row per run again
    assert len(at.dataframe[0].value) == 6

    at.number_input(key="compare_consensus_k").set_value(10)
    at.button[[b.label for b in at.button].index("Save the consensus as a run")].click().run()
    assert not at.exception, at.exception
    derived = store.list_runs(status=FINISHED)[0]
    assert derived.parent_id == ids[0] and derived.name.startswith("Consensus of")
    assert any(f"Saved as run #{derived.id}" in s.value for s in at.success)
    store.delete(derived.id)


def numbers(values) -> np.ndarray:
    """A figure's array as JSON gives it: a list, or Plotly's typed array ({"dtype", "bdata"})."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def test_sweeps_repeat_each_point_over_seeds_and_show_each_setting_as_mean_and_spread(seeded):
    _, results, sweeps = seeded
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/sweeps.py").run()
    at.number_input(key="sweep_seeds").set_value(3).run()
    assert not at.exception, at.exception
    planned = next(m.value for m in at.markdown if " runs** of " in m.value)
    points = len([v for v in at.text_input[0].value.split(",") if v.strip()])
    assert planned.startswith(f"**{points * 3} runs**") and "Seed (0, 1, 2)" in planned
    assert "--vary seed=0,1,2" in at.code[0].value
    # An earlier sweep over seeds shows its mean and spread (each seed a point, the mean ± SD).
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    spread = [c for c in charts if "each seed a point" in c["layout"]["title"]["text"]]
    assert len(spread) == len(sweeps)
    means = [t for c in spread for t in c["data"] if t.get("name") == "mean ± SD"]
    expected = {round(float(np.mean([r.metrics.nmi for r in results.values() if r.config.n_clusters == k])), 6)
                for k in sweeps}
    assert {round(float(numbers(m["y"])[0]), 6) for m in means} == expected


if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


def test_a_click_on_the_agreement_matrix_opens_the_two_runs_diff_in_chromium(seeded, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    store, _, sweeps = seeded
    with serve_app(tmp_path / "streamlit.log", env={"DEEP_CLUSTERING_HOME": str(store.directory)}) as url, \
            browser_page(1280, 720) as page:
        page.goto(f"{url}/compare?sweep={sweeps[10]}")  # the three seeds of k-means in 10 clusters
        matrix = page.locator(".stPlotlyChart").filter(has_text="Agreement between every two runs")
        expect(matrix.locator(".scatterlayer .point").first).to_be_attached(timeout=60_000)
        settle(page)
        matrix.scroll_into_view_if_needed()
        cell = matrix.locator(".scatterlayer .point").nth(2)
        box = cell.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        sankey = page.locator(".stPlotlyChart").filter(has_text="went in")
        expect(sankey.locator(".sankey-link").first).to_be_attached(timeout=60_000)
        assert "diff=" in page.url
        expect(page.get_by_text("The images that changed cluster")).to_be_visible()
        sankey.scroll_into_view_if_needed()
        shoot(page, artifacts_dir / "screenshots", "compare-diff")
        no_exception(page)
