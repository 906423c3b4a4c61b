"""Correcting a clustering of the real digits by hand: each edit moves the scores the way it should, undo and
redo step through them, and a saved correction replays to the same labels."""
import numpy as np
import pytest

from core.corrections import Correction, Edit, InvalidEdit, Labelling, apply_edit, score_change
from core.experiment import RunConfig, run_experiment
from core.metrics import clustering_accuracy, contingency, match_labels, nmi


@pytest.fixture(scope="module")
def over_split():
    """k-means with 14 clusters on the 10 digits: some digits are cut in two."""
    return run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=14, projection=None))


@pytest.fixture(scope="module")
def under_split():
    """k-means with 7 clusters: some clusters hold two digits."""
    return run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=7, projection=None))


def _majority(labels, truth):
    counts, clusters, classes = contingency(truth, labels)
    return {int(c): int(classes[np.argmax(row)]) for c, row in zip(clusters, counts)}


def test_merging_two_halves_of_a_digit_raises_accuracy(over_split):
    truth, labels = over_split.dataset.labels, over_split.labels
    majority = _majority(labels, truth)
    pairs = [(a, b) for a in majority for b in majority if a < b and majority[a] == majority[b]]
    assert pairs, "14 clusters of 10 digits leave two clusters of one digit"
    correction = Correction(labels, over_split.embedding)
    after = correction.do(Edit("merge", clusters=pairs[0]))
    assert pairs[0][1] not in after.labels and np.sum(after.labels == pairs[0][0]) == \
        np.sum(np.isin(labels, pairs[0]))
    assert clustering_accuracy(truth, after.labels) > clustering_accuracy(truth, labels)
    change = dict((name, (old, new)) for name, old, new in
                  score_change(over_split.metrics, over_split.with_labels(after.labels).metrics))
    assert change["ACC"][1] > change["ACC"][0]
    assert change["NMI"][0] == pytest.approx(over_split.metrics.nmi)


def test_splitting_a_mixed_cluster_in_its_space_raises_nmi(under_split):
    truth, labels = under_split.dataset.labels, under_split.labels
    counts, clusters, _ = contingency(truth, labels)
    second = np.sort(counts, axis=1)[:, -2]  # the mixed cluster: most images of a second digit
    mixed = int(clusters[np.argmax(second)])
    correction = Correction(labels, under_split.embedding, seed=0)
    after = correction.do(Edit("split", clusters=(mixed,), parts=2))
    assert len(np.unique(after.labels)) == len(np.unique(labels)) + 1
    assert nmi(truth, after.labels) > nmi(truth, labels)
    # seeded: the same split again gives the same labels
    again = apply_edit(Labelling(labels), Edit("split", clusters=(mixed,), parts=2), under_split.embedding, seed=0)
    assert np.array_equal(again.labels, after.labels)


def test_moving_the_images_of_a_wrong_cell_to_their_digits_cluster_gains_exactly_their_share(under_split):
    truth, labels = under_split.dataset.labels, under_split.labels
    matched = match_labels(truth, labels)          # cluster -> digit
    cluster_of = {d: c for c, d in matched.items()}
    moved = None
    for cluster, digit in matched.items():
        for other in set(np.unique(truth)) - {digit}:
            rows = np.flatnonzero((labels == cluster) & (truth == other))
            if other in cluster_of and len(rows) > 5:
                moved = (rows, cluster_of[other])
                break
        if moved:
            break
    rows, target = moved
    after = Correction(labels, under_split.embedding).do(Edit("move", clusters=(target,), rows=tuple(rows)))
    gained = clustering_accuracy(truth, after.labels) - clustering_accuracy(truth, labels)
    assert gained == pytest.approx(len(rows) / len(labels))
    new = Correction(labels, under_split.embedding).do(Edit("move", rows=tuple(rows[:3])))
    assert set(new.labels[rows[:3]]) == {labels.max() + 1}


def test_undo_redo_names_and_a_saved_correction_replays_to_the_same_labels(over_split):
    labels, space = over_split.labels, over_split.embedding
    correction = Correction(labels, space)
    correction.do(Edit("rename", clusters=(3,), name="  looped   fours "))
    assert correction.current.name(3) == "looped fours" and correction.current.name(4) == "cluster 4"
    correction.do(Edit("merge", clusters=(2, 3)))
    assert 3 not in correction.current.names  # the merged cluster's name goes with it
    correction.do(Edit("split", clusters=(0,), parts=3))
    after_three = correction.current.labels.copy()
    correction.undo()
    correction.undo()
    assert correction.current.names == {3: "looped fours"} and np.array_equal(correction.current.labels, labels)
    correction.redo()
    assert not np.array_equal(correction.current.labels, labels)
    saved = correction.to_dict()
    again = Correction.from_dict(saved, labels, space)
    assert again.position == 2 and np.array_equal(again.current.labels, correction.current.labels)
    again.redo()
    assert np.array_equal(again.current.labels, after_three)
    assert [done for _, done in correction.history()] == [True, True, False]
    assert correction.history()[1][0] == 'Merged looped fours into cluster 2'
    correction.do(Edit("rename", clusters=(0,), name="zeros"))  # a new edit drops what was undone
    assert not correction.can_redo and len(correction.edits) == 3
    assert np.array_equal(labels, over_split.labels)  # the run's own labels never change


@pytest.mark.parametrize("edit", [dict(kind="merge", clusters=[1]), dict(kind="split", clusters=[1], parts=1),
                                  dict(kind="move", clusters=[1]), dict(kind="paint"), "merge",
                                  dict(kind="split", clusters=[1, 2]), dict(kind="move", rows=["x"])])
def test_malformed_edits_are_refused(edit):
    with pytest.raises(InvalidEdit):
        Edit.from_dict(edit)


def test_edits_that_do_not_fit_the_labels_are_refused_and_change_nothing(over_split):
    correction = Correction(over_split.labels, over_split.embedding)
    for edit in [Edit("merge", clusters=(1, 99)), Edit("move", clusters=(1,), rows=(10**6,)),
                 Edit("split", clusters=(99,))]:
        with pytest.raises(InvalidEdit):
            correction.do(edit)
    assert not correction.changed and correction.edits == []


def test_a_correction_is_saved_as_a_new_run_derived_from_the_original_which_is_left_as_it_was(tmp_path):
    from core.runs import RunStore
    from core.runs.runner import record_run

    store = RunStore(tmp_path)
    original = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=14, projection="pca"), store)
    before = store.get(original.run_id)
    majority = _majority(original.labels, original.dataset.labels)
    pair = next((a, b) for a in majority for b in majority if a < b and majority[a] == majority[b])
    correction = Correction(original.labels, original.embedding)
    correction.do(Edit("merge", clusters=pair))
    correction.do(Edit("rename", clusters=(pair[0],), name="sevens"))
    corrected = original.with_labels(correction.current.labels, correction.current.names)
    run_id = store.add_derived_run(original.run_id, corrected, changes=[text for text, _ in correction.history()])
    derived = store.get(run_id)
    assert derived.parent_id == original.run_id and derived.status == "finished"
    assert derived.changes == [f"Merged cluster {pair[1]} into cluster {pair[0]}", f'Named cluster {pair[0]} "sevens"']
    assert derived.scores["ACC"] == pytest.approx(corrected.metrics.accuracy)
    assert derived.scores["ACC"] > before.scores["ACC"]
    reopened = store.load_result(run_id)
    assert np.array_equal(reopened.labels, correction.current.labels) and reopened.cluster_label(pair[0]) == "sevens"
    assert np.array_equal(reopened.projections["pca"], original.projections["pca"])
    assert not (store.run_dir(run_id) / "model").exists()
    # the original is untouched
    assert store.get(original.run_id).scores == before.scores
    assert np.array_equal(store.load_result(original.run_id).labels, original.labels)


def test_a_draft_is_kept_in_the_store_and_the_first_of_two_tabs_to_save_wins(tmp_path):
    from core.runs import RunStore
    from core.runs.drafts import DraftConflict

    store = RunStore(tmp_path)
    assert store.drafts.get(7) == (None, 0)
    first = store.drafts.save(7, {"edits": [{"kind": "merge", "clusters": [1, 2]}], "position": 1}, revision=0)
    draft, revision = store.drafts.get(7)
    assert revision == first == 1 and draft["position"] == 1
    other_tab = RunStore(tmp_path)  # a second tab (or process) that read revision 1 too
    store.drafts.save(7, {"edits": [], "position": 0}, revision=1)
    with pytest.raises(DraftConflict) as conflict:
        other_tab.drafts.save(7, {"edits": [{"kind": "split", "clusters": [3], "parts": 2}], "position": 1},
                              revision=1)
    assert conflict.value.revision == 2 and conflict.value.draft == {"edits": [], "position": 0}
    assert store.drafts.get(7)[0] == {"edits": [], "position": 0}
    store.drafts.save(7, None, revision=2)
    assert store.drafts.get(7) == (None, 3)


def test_given_names_reach_the_exports_and_the_report_safely(over_split):
    import io
    import zipfile

    import pandas as pd

    from core.runs.export import cluster_folders_zip, labels_csv
    from core.runs.report import html_report

    correction = Correction(over_split.labels, over_split.embedding)
    correction.do(Edit("rename", clusters=(0,), name="../../etc/zeros"))
    correction.do(Edit("rename", clusters=(1,), name="<b>ones</b>"))
    named = over_split.with_labels(correction.current.labels, correction.current.names)
    table = pd.read_csv(io.BytesIO(labels_csv(named)))
    assert set(table.loc[table["cluster"] == 0, "cluster_name"]) == {"../../etc/zeros"}
    with zipfile.ZipFile(io.BytesIO(cluster_folders_zip(named, np.flatnonzero(named.labels < 3)))) as archive:
        folders = {name.split("/")[0] for name in archive.namelist()}
    assert folders == {"etc_zeros", "b_ones__b", "cluster 2"}
    report = html_report(named)
    assert "&lt;b&gt;ones&lt;/b&gt;" in report and "<b>ones</b>" not in report
