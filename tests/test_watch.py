"""Watching a network learn (core): frames taken while a deep run trains, saved with the run, read back,
checked when a run is imported, drawn as a replay."""
import io
import json
import zipfile

import numpy as np
import pytest

from core.algorithms.watch import FrameRecorder
from core.experiment import RunConfig
from core.progress import FRAME_PHASES, ProgressEvent
from core.runs import RunStore

# A short deep run on the bundled digits: a dense autoencoder, 5 epochs; no 2-D projection (not what is tested).
CONFIG = RunConfig(dataset="digits", algorithm="ae_kmeans", params={"epochs": 5, "latent_dim": 6}, projection=None)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(store, result) of CONFIG recorded in a fresh store, with the progress events that carried frames."""
    from core.runs.runner import record_run

    store = RunStore(tmp_path_factory.mktemp("watched"))
    carried = []
    result = record_run(CONFIG, store, callback=lambda event: carried.append(event) if event.frame else None)
    return store, result, carried


def test_a_short_deep_run_records_frames_of_its_sample_and_sends_each_once(recorded, digits):
    _, result, carried = recorded
    frames = result.frames
    sample = frames[0].sample
    assert len(frames) >= 3 and [f.phase for f in frames] == ["pretrain"] * (len(frames) - 1) + ["result"]
    epochs = [f.epoch for f in frames[:-1]]   # the first, the last, and as many between as 3 % of the time affords
    assert epochs[0] == 1 and epochs[-1] == 5 and epochs == sorted(set(epochs))
    assert len(sample) == digits.n_samples and np.all(np.diff(sample) > 0)
    for frame in frames:
        assert frame.points.shape == (len(sample), 2) and frame.points.dtype == np.float16
        assert frame.labels.shape == (len(sample),) and set(np.unique(frame.labels)) <= set(range(10))
        assert np.all(np.isfinite(frame.points.astype(np.float32)))
    assert np.array_equal(frames[0].truth, digits.labels[sample])   # true labels: with the first frame only
    assert all(f.sample is None and f.truth is None for f in frames[1:])
    assert np.array_equal(frames[-1].labels, result.labels[sample])  # the last: the run's own clusters
    # each training frame rode on its epoch's end event, once; the result's frame is kept, not sent
    assert [e.frame for e in carried] == frames[:-1] and all(e.end_of_epoch for e in carried)


def test_frames_change_nothing_the_fit_computes(digits):
    """The recorder draws its sample and seeds its k-means with generators of its own: a fit watched and one
    not give the same network and clusters (here DEC: pretraining and a clustering phase)."""
    from core.algorithms import DEC

    images = digits.images[:600]

    def fit(recorder):
        return DEC(10, epochs=2, cluster_epochs=2, latent_dim=6, hidden_units=(64, 64, 128), kmeans_backend="scikit-learn",
                   random_state=3).fit(images, recorder=recorder)

    recorder = FrameRecorder(len(images), 10, seed=3)
    watched, plain = fit(recorder), fit(None)
    assert [f.phase for f in recorder.frames] == ["pretrain"] * 2 + ["cluster"] * 2 + ["result"]
    assert np.array_equal(watched.labels_, plain.labels_) and np.allclose(watched.embedding_, plain.embedding_)
    assert not hasattr(watched, "frames_") and getattr(watched, "_recorder", None) is None  # not kept by the model


def test_frames_are_saved_with_the_run_and_read_back(recorded, digits):
    store, result, _ = recorded
    assert (store.run_dir(result.run_id) / "frames.npz").is_file()
    back = store.load_result(result.run_id)
    assert len(back.frames) == len(result.frames)
    for saved, made in zip(back.frames, result.frames):
        assert (saved.phase, saved.epoch, saved.n_epochs) == (made.phase, made.epoch, made.n_epochs)
        assert np.array_equal(saved.points, made.points) and np.array_equal(saved.labels, made.labels)
    assert np.array_equal(back.frames[0].sample, result.frames[0].sample)
    assert np.array_equal(back.frames[0].truth, digits.labels[back.frames[0].sample])


def test_a_run_saved_without_frames_still_opens(recorded, tmp_path):
    from core.runs.transfer import import_run, run_archive

    store, result, _ = recorded
    there = RunStore(tmp_path / "there")
    run_id = import_run(there, _replaced(run_archive(store, result.run_id), None))  # as a run made before
    opened = there.load_result(run_id)
    assert opened.frames == [] and np.array_equal(opened.labels, result.labels)


def _frames_npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _replaced(archive: bytes, frames) -> bytes:
    """The run archive with its files/frames.npz replaced by `frames` (bytes), or left out (None)."""
    source, buffer = zipfile.ZipFile(io.BytesIO(archive)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == "files/frames.npz":
                if frames is not None:
                    target.writestr(item, frames)
                continue
            target.writestr(item, source.read(item))
    return buffer.getvalue()


def test_an_imported_archive_whose_frames_are_not_a_runs_frames_is_refused(recorded, tmp_path):
    """frames.npz of an imported run is checked from its arrays' headers before anything is read: a shape no
    run saves, a sample larger than the run, an array no run saves, are each refused and nothing is added."""
    from core.runs.transfer import InvalidRunArchive, import_run, run_archive

    store, result, _ = recorded
    archive = run_archive(store, result.run_id)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        good = dict(np.load(io.BytesIO(opened.read("files/frames.npz"))))
    count, m = good["points"].shape[:2]
    hostile = {
        "points of 3 coordinates": (dict(good, points=np.zeros((count, m, 3), np.float16)), "'points' is"),
        "labels of other frames": (dict(good, labels=np.zeros((count + 1, m), np.int16)), "'labels' is"),
        "a sample larger than the run": (dict(good, sample=np.arange(m + 5), points=np.zeros((count, m + 5, 2)),
                                              labels=np.zeros((count, m + 5), np.int16)), "are not frames of a run"),
        "an array no run saves": (dict(good, extra=np.zeros(3)), "not the arrays of a run's frames"),
        "points as text": (dict(good, points=np.full((count, m, 2), "x")), "holds <U1 values"),
    }
    there = RunStore(tmp_path / "there")
    for case, (arrays, message) in hostile.items():
        with pytest.raises(InvalidRunArchive, match="frames.npz") as refused:
            import_run(there, _replaced(archive, _frames_npz(**arrays)))
        assert message in str(refused.value), (case, str(refused.value))
    assert not there.list_runs() and not list(there.artifacts_root.glob(".partial-*"))
    assert len(there.load_result(import_run(there, archive)).frames) == len(result.frames)


def test_a_replay_is_one_frame_per_frame_with_a_slider_play_and_pause_in_the_runs_colours(recorded):
    from core.viz.frames import latest_frame_figure, matched_labels, replay_figure

    _, result, _ = recorded
    frames = result.frames
    figure = replay_figure(frames)
    assert len(figure.frames) == len(frames)
    assert len(figure.layout.sliders[0].steps) == len(frames) and figure.layout.sliders[0].active == len(frames) - 1
    assert [b.label for b in figure.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    assert figure.layout.sliders[0].steps[0].label == f"Frame 1 of {len(frames)} · pretraining, epoch 1 of 5"
    html = figure.to_html(include_plotlyjs=False, auto_play=False)   # plays in a file as well
    assert "Plotly.addFrames" in html or '"frames"' in html
    matched = matched_labels(frames)
    assert np.array_equal(matched[-1], frames[-1].labels)   # the run's clusters keep their own numbers (colours)
    live = latest_frame_figure(frames[:3], colour_by="true labels", truth_name=str)
    assert {trace.name for trace in live.data[1:]} == {str(d) for d in range(10)}


class _Rotating:
    """A fake network whose embedding of the sample turns a little each epoch: frames must not spin with it."""

    def __init__(self, points):
        self.points, self.turn = points, 0.0

    def __call__(self, rows):
        c, s = np.cos(self.turn), np.sin(self.turn)
        return rows @ np.array([[c, -s], [s, c]])


def test_frames_are_few_whatever_the_epochs_and_turned_to_follow_the_one_before():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(centre, 0.3, (100, 2)) for centre in ((0, 4), (4, 0), (-4, -4))])
    recorder = FrameRecorder(len(points), 3, frames_per_phase=16)
    recorder.follow(points)
    network = _Rotating(points)
    recorder.watch("pretrain", network)
    watched = recorder.wrap(None)
    for epoch in range(1, 301):
        network.turn = epoch * 0.05  # the embedding turns; the picture must not
        watched(ProgressEvent("pretrain", "", epoch / 300, epoch=epoch, n_epochs=300, end_of_epoch=True))
    taken = [f.epoch for f in recorder.frames]
    assert taken[0] == 1 and taken[-1] == 300 and 15 <= len(taken) <= 18
    first, last = (f.points.astype(np.float64) for f in (recorder.frames[0], recorder.frames[-1]))
    assert np.abs(first - last).max() < 0.01   # turned back onto the frame before, frame after frame
    assert len({tuple(np.bincount(f.labels)) for f in recorder.frames}) == 1   # the same three groups throughout
    assert FRAME_PHASES.index(recorder.frames[0].phase) == 0 and recorder.seconds > 0
    assert json.dumps([f.epoch for f in recorder.frames])  # plain numbers
