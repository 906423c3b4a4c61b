"""Correcting a run by hand on Explore, with AppTest: merge two clusters and see the scores move, name one,
undo and redo, save it as a run derived from the original; a refresh keeps the draft, and of two tabs the
first to save wins while the other is told."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.metrics import contingency
from core.runs import RunStore
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def stored():
    """k-means with 14 clusters on the real digits, in the store the app uses (two clusters share a digit)."""
    from core.runs.runner import record_run

    store = RunStore()
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=14, projection="pca"), store,
                        name="to correct")
    counts, clusters, classes = contingency(result.dataset.labels, result.labels)
    majority = {int(c): int(classes[np.argmax(row)]) for c, row in zip(clusters, counts)}
    pair = next((a, b) for a in majority for b in majority if a < b and majority[a] == majority[b])
    return store, result, pair


def explore(run_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/explore.py")
    at.query_params["run"] = str(run_id)
    at.run()
    assert not at.exception, at.exception
    return at


def steps(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption if c.value.startswith("Steps:"))


def test_merge_shows_each_score_change_undo_redo_and_save_as_a_derived_run(stored):
    store, result, pair = stored
    at = explore(result.run_id)
    at.multiselect(key="explore_merge").set_value(list(pair)).run()
    at.button(key="explore_merge_go").click().run()
    assert not at.exception, at.exception
    corrected = result.with_labels(np.where(result.labels == pair[1], pair[0], result.labels))
    [line] = [c.value for c in at.caption if "→" in c.value]
    assert f"ACC {result.metrics.accuracy:.3f} → {corrected.metrics.accuracy:.3f}" in line
    assert f"NMI {result.metrics.nmi:.3f} → {corrected.metrics.nmi:.3f}" in line
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    assert shown["ACC"] == (f"{corrected.metrics.accuracy:.3f}",
                            f"{corrected.metrics.accuracy - result.metrics.accuracy:+.3f}")
    assert len(at.selectbox(key="explore_cluster").options) == 13  # the galleries follow the correction
    at.selectbox(key="explore_rename").set_value(pair[0]).run()
    at.text_input(key="explore_rename_text").input("two of a kind").run()
    at.button(key="explore_rename_go").click().run()
    assert "two of a kind" in " ".join(at.selectbox(key="explore_cluster").options)
    at.button(key="explore_undo").click().run()
    assert "~~" in steps(at) and "two of a kind" not in " ".join(at.selectbox(key="explore_cluster").options)
    at.button(key="explore_redo").click().run()
    # a refresh (a new session on the same link) finds the draft as it was
    again = explore(result.run_id)
    assert steps(again) == steps(at) and "~~" not in steps(again)
    again.button(key="explore_save_correction").click().run()
    assert not again.exception, again.exception
    [saved] = [s.value for s in again.success if "Saved as run" in s.value]
    new_id = int(saved.split("#")[1].split(",")[0])
    record = store.get(new_id)
    assert record.parent_id == result.run_id and record.cluster_names == {pair[0]: "two of a kind"}
    assert record.scores["ACC"] == pytest.approx(corrected.metrics.accuracy)
    assert store.get(result.run_id).scores["ACC"] == pytest.approx(result.metrics.accuracy)  # untouched
    assert store.drafts.get(result.run_id)[0] is None  # saved: the draft is done with
    assert steps(again) == ""
    # Compare names the derived run's clusters by the name given, in its legend, beside the original
    compare = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    compare.run()
    compare.switch_page("pages/compare.py").run()
    compare.selectbox(key="compare_dataset").set_value("digits").run()
    compare.multiselect(key="compare_runs_digits_None").set_value([result.run_id, new_id]).run()
    compare.toggle(key="compare_side_by_side").set_value(True).run()
    compare.selectbox(key="compare_left").set_value(result.run_id).run()
    compare.selectbox(key="compare_right").set_value(new_id).run()
    assert not compare.exception, compare.exception
    charts = {chart.key: json.loads(chart.proto.spec) for chart in compare.get("plotly_chart")}
    left, right = charts["compare_umap_left"], charts["compare_umap_right"]
    assert "two of a kind" in {t.get("name") for t in right["data"]}
    assert "two of a kind" not in {t.get("name") for t in left["data"]}


def test_of_two_tabs_the_first_to_save_wins_and_the_other_is_told(stored):
    store, result, pair = stored
    first, second = explore(result.run_id), explore(result.run_id)
    first.multiselect(key="explore_merge").set_value(list(pair)).run()
    first.button(key="explore_merge_go").click().run()
    second.button(key="explore_split_go").click().run()  # a split on the page as drawn before the merge
    assert any("Another tab changed this correction first" in w.value and "not kept" in w.value
               for w in second.warning)
    assert steps(second) == steps(first) and "Merged" in steps(second) and "Split" not in steps(second)
    second.button(key="explore_split_go").click().run()  # done again, on the merged clusters: kept
    assert "Merged" in steps(second) and "Split" in steps(second)
    first.run()
    assert any("Another tab changed this correction" in w.value for w in first.warning) and steps(first) == steps(second)
    store.drafts.save(result.run_id, None, revision=store.drafts.get(result.run_id)[1])  # leave no draft behind
