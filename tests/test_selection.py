"""Touching a result: a box or lasso selects images on Explore's projection, a point opens with its
neighbours, a cell of Metrics' cluster-versus-label table opens its images; each lives in the URL.

Core checks run on the real digits; the pages are driven with AppTest over a k-means run on them."""
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig, run_experiment
from core.metrics import contingency_in_matched_order
from core.runs.export import cluster_folders_zip, labels_csv
from core.selection import (MAX_VERTICES, InvalidSelection, Selection, cell_rows, inside_polygon, makeup,
                            nearest_rows)
from core.vocabulary import cluster_name
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def run():
    """k-means (soft: a GMM, so there is a confidence to order by) on the real digits, PCA projection."""
    return run_experiment(RunConfig(dataset="digits", algorithm="gmm", n_clusters=10, projection="pca"))


def _box_round(points, low=25, high=60) -> Selection:
    (x0, x1), (y0, y1) = np.percentile(points[:, 0], [low, high]), np.percentile(points[:, 1], [low, high])
    return Selection("box", "pca", x=(float(x0), float(x1)), y=(float(y0), float(y1)))


# --- core ----------------------------------------------------------------------------------------------
def test_a_box_and_a_lasso_hold_the_points_inside_them(run):
    points = run.projections["pca"].astype(np.float64)
    box = _box_round(points)
    rows = box.rows_in(points)
    (x0, x1), (y0, y1) = box.x, box.y
    expected = np.flatnonzero((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1))
    assert 20 < len(rows) < len(points) and np.array_equal(rows, expected)
    # a lasso drawn along the same box holds the same points; a triangle half of them, by the barycentric test
    square = Selection("lasso", "pca", x=(x0, x1, x1, x0), y=(y0, y0, y1, y1))
    assert np.array_equal(square.rows_in(points), expected)
    triangle = Selection("lasso", "pca", x=(x0, x1, x0), y=(y0, y0, y1))
    u, v = (points[:, 0] - x0) / (x1 - x0), (points[:, 1] - y0) / (y1 - y0)
    on_edge = np.isclose(u, 0) | np.isclose(v, 0) | np.isclose(u + v, 1)  # the corners are percentiles: data points
    inside = np.zeros(len(points), dtype=bool)
    inside[triangle.rows_in(points)] = True
    assert np.array_equal(inside[~on_edge], ((u > 0) & (v > 0) & (u + v < 1))[~on_edge]) and inside.sum() > 10
    # a concave outline: an L leaves its missing corner out
    ell = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], dtype=float)
    assert inside_polygon(np.array([[0.5, 0.5], [1.5, 0.5], [0.5, 1.5], [1.5, 1.5], [3, 3]]), ell).tolist() == \
        [True, True, True, False, False]


def test_a_selection_travels_as_its_shape_in_a_short_text(run):
    points = run.projections["pca"]
    angles = np.linspace(0, 2 * np.pi, 700)
    lasso = {"x": (np.cos(angles) * 2).tolist(), "y": (np.sin(angles) * 2).tolist(), "xref": "x", "yref": "y"}
    selection = Selection.from_event({"lasso": [lasso], "box": [], "points": []}, "pca")
    assert selection.kind == "lasso" and len(selection.x) <= MAX_VERTICES  # thinned: one corner per mouse move
    text = selection.to_text()
    assert len(text) < 3000 and text.startswith("lasso:pca:")
    again = Selection.from_text(text)
    assert np.array_equal(again.rows_in(points), selection.rows_in(points))
    for bad in ["", "lasso", "lasso:pca:1,2;3", "circle:pca:1,2;3,4;5,6", "box:pca:1,nan;2,3", "rows:pca:-4",
                "box:../x:1,2;3,4", "lasso:pca:" + ";".join(["1,2"] * 500)]:
        with pytest.raises(InvalidSelection):
            Selection.from_text(bad)


def test_clicked_points_are_read_by_the_row_they_carry_never_their_number_in_a_trace():
    event = {"points": [{"curve_number": 2, "point_number": 0, "customdata": ["417", "5", "cluster 2", "7"]},
                        {"curve_number": 0, "point_number": 0, "customdata": ["12", "3", "cluster 0", "1"]},
                        {"curve_number": 5, "point_number": 0, "customdata": ["new.png", "cluster 1"]}],
             "box": [], "lasso": []}
    assert Selection.from_event(event, "umap", n_traces=5).rows == (12, 417)  # the placed image's star left out
    assert Selection.from_event({"points": [], "box": [], "lasso": []}, "umap") is None


def test_nearest_neighbours_are_those_of_the_clustering_space(run):
    space = run.embedding
    neighbours, distances = nearest_rows(space, 5)
    reference = NearestNeighbors(n_neighbors=11).fit(space).kneighbors(space[5:6], return_distance=False)[0]
    assert 5 not in neighbours and set(neighbours) == set(reference) - {5}
    assert np.all(np.diff(distances) >= 0)
    with pytest.raises(IndexError):
        nearest_rows(space, len(space))


def test_a_cell_opens_least_confident_first_and_makeup_counts_largest_first(run):
    labels, clusters = run.dataset.labels, run.labels
    confidence = run.view_data["confidence"]
    counts, row_clusters, classes = contingency_in_matched_order(labels, clusters)
    i, j = np.unravel_index(np.argmax(counts), counts.shape)
    rows = cell_rows(clusters, labels, row_clusters[i], classes[j], confidence)
    assert len(rows) == counts[i, j]
    assert np.all(np.diff(confidence[rows]) >= 0)
    values, amounts = makeup(clusters[rows[:50]])
    assert amounts.sum() == 50 and np.all(np.diff(amounts) <= 0)


def test_the_selection_downloads_hold_its_images_and_only_them(run):
    rows = _box_round(run.projections["pca"]).rows_in(run.projections["pca"])
    table = pd.read_csv(io.BytesIO(labels_csv(run, rows)))
    assert table["index"].tolist() == run.dataset.indices[rows].tolist()
    assert table["cluster"].tolist() == run.labels[rows].tolist()
    with zipfile.ZipFile(io.BytesIO(cluster_folders_zip(run, rows))) as archive:
        names = archive.namelist()
    assert len(names) == len(rows)
    assert {n.split("/")[0] for n in names} == {cluster_name(c) for c in np.unique(run.labels[rows])}


# --- the pages -----------------------------------------------------------------------------------------
def _page(result, path: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["result"] = result
    at.switch_page(path)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _subheaders(at) -> list[str]:
    return [s.value for s in at.subheader]


def test_explore_shows_a_linked_selection_then_opens_a_point_and_walks_to_a_neighbour(run):
    points = run.projections["pca"]
    box = _box_round(points)
    n_rows = len(box.rows_in(points))
    at = _page(run, "pages/explore.py", sel=box.to_text(), point="5")
    assert f"Box: {n_rows} images" in _subheaders(at)
    assert "Image #5" in _subheaders(at)
    assert len(at.get("plotly_chart")) == 1  # the projection; the selection's make-up is plain HTML bars
    [bars] = [h.proto.body for h in at.get("html") if "dc-makeup" in h.proto.body]
    rows = box.rows_in(points)
    clusters, counts = makeup(run.labels[rows])
    assert f'title="{cluster_name(clusters[0])}: {counts[0]:,}"' in bars  # largest first, by its count
    assert bars.index(cluster_name(clusters[0])) < bars.index(cluster_name(clusters[-1]))
    assert "By true label" in bars
    gallery = [h.proto.body for h in at.get("html") if "dc-gallery" in h.proto.body]
    assert gallery and gallery[0].count("<figure>") == min(n_rows, 120)
    neighbours, _ = nearest_rows(run.embedding, 5)
    at.button(key="explore_neighbour_0").click().run()
    assert f"Image #{run.dataset.indices[neighbours[0]]}" in _subheaders(at)
    assert at.query_params["point"] == str(neighbours[0])
    at.button(key="explore_clear_selection").click().run()
    assert "sel" not in at.query_params and "Gallery" in _subheaders(at)
    at.button(key="explore_close_point").click().run()
    assert "point" not in at.query_params and not any(s.startswith("Image") for s in _subheaders(at))
    assert not at.exception, at.exception


def test_a_broken_link_selection_is_said_and_dropped(run):
    at = _page(run, "pages/explore.py", sel="lasso:pca:1,2;oops")
    assert any("selection was left out" in w.value for w in at.warning)
    assert "Gallery" in _subheaders(at) and "sel" not in at.query_params


def test_metrics_opens_a_cell_of_the_table_least_confident_first(run):
    counts, clusters, classes = contingency_in_matched_order(run.dataset.labels, run.labels)
    off = counts - np.diag(np.diag(counts)) if counts.shape[0] == counts.shape[1] else counts
    i, j = np.unravel_index(np.argmax(off), off.shape)
    at = _page(run, "pages/metrics.py", cell=f"{clusters[i]},{classes[j]}")
    assert f"{cluster_name(clusters[i])}, true label {classes[j]}: {counts[i, j]} images" in _subheaders(at)
    [gallery] = [h.proto.body for h in at.get("html") if "dc-gallery" in h.proto.body]
    shown = [float(c.rsplit(" · ", 1)[1]) for c in
             (part.split("</figcaption>")[0] for part in gallery.split('">')[1:] if "</figcaption>" in part)]
    assert len(shown) == min(counts[i, j], 96) and shown == sorted(shown)
    at.button(key="metrics_close_cell").click().run()
    assert "cell" not in at.query_params and not at.exception
    # a link to a cell the table has not: said, no empty gallery
    at = _page(run, "pages/metrics.py", cell="99,99")
    assert any("cluster 99 and label 99" in w.value for w in at.warning) and not at.exception
    assert not [h for h in at.get("html") if "dc-gallery" in h.proto.body]


def test_the_image_map_spreads_a_sample_over_the_view_and_draws_it(run):
    from core.selection import spread_rows

    points = run.projections["pca"]
    rows = spread_rows(points, 12)
    assert 30 < len(rows) <= 144 and len(set(rows.tolist())) == len(rows)
    # one per occupied square: no two sampled points share a square of the 12 x 12 grid
    low, size = points.min(axis=0), (points.max(axis=0) - points.min(axis=0)) / 12
    squares = {tuple(np.minimum(((points[r] - low) / size).astype(int), 11)) for r in rows}
    assert len(squares) == len(rows)
    at = _page(run, "pages/explore.py")
    at.toggle(key="explore_image_map").set_value(True).run()
    assert not at.exception, at.exception
    import json

    images = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["images"]
    assert len(images) == len(spread_rows(points, 18)) and images[0]["source"].startswith("data:image/png;base64,")
    # each image framed in its cluster's colour, enlarged by whole pixels (8x8 digits: 4x, inside a 2-pixel frame)
    import base64
    import io

    from PIL import Image

    from core.viz.palette import cluster_color

    first = spread_rows(points, 18)[0]
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]["source"].split(",", 1)[1]))))
    assert picture.shape == (36, 36, 3)
    assert "#%02x%02x%02x" % tuple(picture[0, 0]) == cluster_color(run.labels[first]).lower()
