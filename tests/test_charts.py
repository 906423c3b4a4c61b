"""Charts a room can read: the cluster palette (colour-blind safe, symbols past its length), colours kept
when colouring by true label, titles and legends clear of Plotly's toolbar, each panel of the cluster-count
sweep marking its own best count, the dendrogram's last leaf, the image galleries and the Model page's
confidence view. Pure Python on the figure objects, and AppTest for the pages."""
import json
import re

import numpy as np
import plotly.colors as pc
import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig, run_experiment
from core.model_selection import ClusterCountSweep, elbow_count
from core.viz import figures
from core.viz.images import gallery_html
from core.viz.palette import NOISE_COLOR, PALETTE, cluster_color, cluster_symbol, colour_ids
from tests.conftest import ROOT
from tests.apptest import run_scan

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "normal vision": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
MIN_DELTA_E = 15.0  # CIELAB (1976) units; the palette meets 18, the old one fell to 1.7
OLD_PALETTE = pc.qualitative.D3 + pc.qualitative.Set2 + pc.qualitative.Pastel1 + pc.qualitative.Dark24


def _srgb(colour: str) -> np.ndarray:
    if colour.startswith("rgb"):
        return np.array(pc.unlabel_rgb(colour), dtype=float) / 255
    return np.array([int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)], dtype=float) / 255


def _lab(colours, matrix) -> np.ndarray:
    """CIELAB (D65) of `colours` as seen through the simulation `matrix`."""
    srgb = np.array([_srgb(c) for c in colours])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(linear @ matrix.T, 0, 1)
    xyz = linear @ np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                             [0.0193339, 0.1191920, 0.9503041]]).T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def min_distance(colours) -> dict:
    """{vision: smallest CIELAB distance between two of `colours`}."""
    out = {}
    for vision, matrix in CVD.items():
        lab = _lab(colours, matrix)
        distance = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
        np.fill_diagonal(distance, np.inf)
        out[vision] = float(distance.min())
    return out


def test_palette_stays_distinguishable_for_colour_blind_viewers():
    colours = [cluster_color(c) for c in range(len(PALETTE))] + [cluster_color(-1), "#ffffff"]  # + background
    for vision, distance in min_distance(colours).items():
        assert distance >= MIN_DELTA_E, f"two cluster colours look alike with {vision} (ΔE {distance:.1f})"
    # the threshold means something: the old palette fails it
    assert min(min_distance(OLD_PALETTE).values()) < MIN_DELTA_E


def test_colour_and_symbol_tell_sixty_clusters_apart_and_noise_is_grey():
    pairs = [(cluster_color(c), cluster_symbol(c)) for c in range(60)]
    assert len(set(pairs)) == 60
    assert cluster_color(-1) == NOISE_COLOR and cluster_symbol(-1) not in {s for _, s in pairs}
    assert cluster_color(3) == cluster_color(np.int64(3))


def test_projection_scatter_gives_clusters_past_the_palette_another_symbol():
    groups = np.repeat(np.arange(24), 3)
    points = np.random.default_rng(0).normal(size=(len(groups), 2))
    fig = figures.projection_scatter(points, groups, indices=np.arange(len(groups)), clusters=groups)
    markers = {trace.name: (trace.marker.color, trace.marker.symbol) for trace in fig.data}
    assert len(set(markers.values())) == 24
    assert markers["2"][0] == markers["12"][0] and markers["2"][1] != markers["12"][1]


def test_true_labels_take_the_colour_of_their_matched_cluster():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(5), 20)
    clusters = np.array([3, 0, 4, 1, 2])[labels]  # label 0 is cluster 3, label 1 cluster 0, ...
    clusters[rng.choice(len(labels), 8, replace=False)] = 4  # some noise in the matching
    ids = colour_ids(labels, clusters=clusters)
    assert ids == {0: 3, 1: 0, 2: 4, 3: 1, 4: 2}
    assert colour_ids(clusters) == {c: c for c in range(5)}
    # a label without a cluster of its own takes a spare colour, not another group's
    extra = colour_ids(np.append(labels, [5, 5]), clusters=np.append(clusters, [0, 0]))
    assert extra[5] not in {ids[k] for k in ids}
    points = rng.normal(size=(len(labels), 2))
    by_label = figures.projection_scatter(points, labels, indices=np.arange(len(labels)), clusters=clusters,
                                          colour_ids=ids)
    assert [t.marker.color for t in by_label.data] == [cluster_color(ids[y]) for y in range(5)]


def _title_is_clear_of_the_toolbar(fig, name):
    layout = fig.layout
    assert layout.title.xanchor == "left" and layout.title.x == 0, f"{name}: title not left-aligned"
    assert layout.title.yref == "paper" and layout.title.yanchor == "bottom", f"{name}: title in the toolbar band"
    top = layout.margin.t
    # one line of title (or subplot title) fits between the toolbar band and the plot, and no more
    assert figures.MODEBAR_BAND + 20 <= top <= 80, f"{name}: top margin {top}"
    for annotation in layout.annotations:  # subplot titles sit on top of their plot, below the band
        if annotation.yref == "paper" and annotation.y is not None and annotation.y >= 1:
            assert annotation.yanchor == "bottom", f"{name}: {annotation.text!r} in the toolbar band"


def _legend_is_clear_of_the_toolbar(fig, name):
    legend = fig.layout.legend
    shown = fig.layout.showlegend is not False and sum(t.showlegend is not False for t in fig.data) > 1
    if not shown:
        return
    y = 1 if legend.y is None else legend.y
    top = y if legend.yanchor in ("top", None) else None
    assert legend.yref in (None, "paper") and top is not None and top <= 1, f"{name}: legend in the toolbar band"


def _every_figure():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    points = rng.normal(size=(200, 2))
    history = [{"phase": p, "epoch": e, "loss": 1 / e} for p in ("pretrain", "cluster") for e in range(1, 6)]
    from scipy.cluster.hierarchy import linkage

    sweep = ClusterCountSweep(ks=[2, 3, 4, 5, 6], silhouette=[0.2, 0.3, 0.25, 0.2, 0.1], bic=[5, 4, 3, 3.5, 4],
                              inertia=[100, 40, 30, 25, 22], suggested=3, bic_best=4, n_samples=200, n_features=2)
    return {
        "projection_scatter": figures.projection_scatter(points, labels, indices=np.arange(200), clusters=labels,
                                                         title="UMAP of the 10-d embedding"),
        "cluster_sizes_bar": figures.cluster_sizes_bar(np.arange(4), np.bincount(labels)),
        "loss_curve": figures.loss_curve(history),
        "metrics_bar": figures.metrics_bar({"ACC": 0.8, "NMI": 0.7, "Silhouette": -0.1}),
        "contingency_heatmap": figures.contingency_heatmap(np.eye(4, dtype=int), [-1, 0, 1, 2], list("abcd")),
        "confidence_box": figures.confidence_box(rng.uniform(0.5, 1, 200), labels),
        "label_change_curve": figures.label_change_curve([0.2, 0.05, 0.01], tol=0.001),
        "transition_heatmap": figures.transition_heatmap(labels, rng.permutation(labels)),
        "dendrogram_figure": figures.dendrogram_figure(linkage(points, "ward"), 4),
        "k_distance_curve": figures.k_distance_curve(np.sort(rng.uniform(size=50)), 0.5, 0.4, 5),
        "som_hits_heatmap": figures.som_hits_heatmap(np.arange(12), (3, 4), np.arange(12) % 3),
        "cluster_count_sweep": figures.cluster_count_sweep(sweep, current=4),
    }


@pytest.mark.parametrize("name", list(_every_figure()))
def test_titles_and_legends_stay_clear_of_the_toolbar(name):
    fig = _every_figure()[name]
    _title_is_clear_of_the_toolbar(fig, name)
    _legend_is_clear_of_the_toolbar(fig, name)


def test_cluster_names_label_rows_boxes_and_bars():
    heatmap = figures.contingency_heatmap(np.eye(2, dtype=int), [-1, 3], ["a", "b"])
    assert list(heatmap.data[0].y) == ["noise", "cluster 3"]
    box = figures.confidence_box(np.array([0.9, 0.8, 0.7]), np.array([-1, 0, 0]))
    assert [t.name for t in box.data] == ["noise", "cluster 0"]
    bars = figures.cluster_sizes_bar(np.array([-1, 0]), np.array([3, 4]))
    assert list(bars.data[0].x) == ["noise", "cluster 0"]


def test_elbow_is_the_point_farthest_from_the_chord():
    assert elbow_count([2, 3, 4, 5, 6], [100, 40, 30, 25, 22]) == 3
    assert elbow_count(range(2, 12), [1000 / k for k in range(2, 12)]) == 5  # 1/k: farthest at sqrt(2 * 11)
    assert elbow_count([2, 3, 4], [3, 2, 1]) == 2  # a straight line: the first count
    assert elbow_count([2, 3], [5, 1]) == 2


def test_each_sweep_panel_marks_its_own_best_count_and_the_current_run():
    sweep = ClusterCountSweep(ks=[2, 3, 4, 5, 6, 7], silhouette=[0.1, 0.2, 0.4, 0.3, 0.2, 0.1],
                              bic=[9, 8, 7, 6, 5, 6], inertia=[100, 40, 30, 25, 22, 20], suggested=4, bic_best=6,
                              n_samples=100, n_features=2)
    assert sweep.elbow == 3
    assert sweep.suggestion == "Suggested: 4 clusters (highest silhouette in the embedding)."
    fig = figures.cluster_count_sweep(sweep, current=5)
    marks = {t.name: (list(t.x), t.xaxis) for t in fig.data if t.name}
    assert marks["Highest silhouette: 4"] == ([4], "x")
    assert marks["Lowest GMM BIC: 6"] == ([6], "x2")
    assert marks["Elbow of the inertia: 3"] == ([3], "x3")
    current = [t for t in fig.data if t.name == "Current run: 5"]
    assert {t.xaxis for t in current} == {"x", "x2", "x3"} and sum(t.showlegend is not False for t in current) == 1
    assert not fig.layout.shapes  # no unnamed lines left
    outside = figures.cluster_count_sweep(sweep, current=10)
    assert "Current run: 10 (outside the range swept)" in [t.name for t in outside.data]


def test_dendrogram_leaves_room_for_the_last_leaf_label():
    from scipy.cluster.hierarchy import linkage

    points = np.random.default_rng(2).normal(size=(120, 3))
    fig = figures.dendrogram_figure(linkage(points, "ward"), 5, top=30)
    ticks = list(fig.layout.xaxis.tickvals)
    low, high = fig.layout.xaxis.range
    assert low <= ticks[0] - 5 and high >= ticks[-1] + 5


def test_gallery_is_a_grid_of_fixed_tiles_with_one_line_escaped_captions():
    images = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)
    html = gallery_html(images, ["#1 · 7", "<b>bold</b> & a very long caption that will not fit", '"q"'], tile=48)
    assert "display: grid" in html and "repeat(auto-fill, 48px)" in html
    assert "image-rendering: pixelated" in html
    assert "white-space: nowrap" in html and "text-overflow: ellipsis" in html
    assert html.count("<figure>") == 3 and html.count('src="data:image/png;base64,') == 3
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; a very long" in html
    assert 'title="&quot;q&quot;"' in html
    import base64
    import io

    from PIL import Image

    first = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert Image.open(io.BytesIO(base64.b64decode(first))).size == (8, 8)  # the browser enlarges it
    with pytest.raises(ValueError):
        gallery_html(images, ["one"])
    hover = gallery_html(images[:1], ["0.61 · 8"], tooltips=["confidence 0.612 · image #1012 · 8"])
    assert '<figcaption title="confidence 0.612 · image #1012 · 8">0.61 · 8</figcaption>' in hover


# ---- pages ---------------------------------------------------------------------------------------------

INTERNAL_NAMES = ("project_umap", "minmax", "kmeans_backend", "n_clusters")


def app_with(result, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["result"] = result
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def shown_text(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "subheader", "success", "warning")
    return " ".join(str(e.value) for kind in kinds for e in at.get(kind))


def _sentences_end_with_a_full_stop(at: AppTest) -> None:
    for kind in ("caption", "info", "success"):
        for element in at.get(kind):
            text = str(element.value).strip()
            assert text.endswith((".", ".)")), f"{kind} without a full stop: {text!r}"


@pytest.fixture(scope="module")
def digits_kmeans():
    result = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", projection="pca"))
    result.projections["umap"] = result.projections["pca"]  # no UMAP compile in a unit test
    return result


def _figure(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def test_explore_keeps_colours_when_colouring_by_true_label_and_shows_an_html_gallery(digits_kmeans):
    result = digits_kmeans
    at = app_with(result, "pages/explore.py")
    by_cluster = {t["name"]: t["marker"]["color"] for t in _figure(at, 0)["data"]}
    assert by_cluster["cluster 0"] == cluster_color(0)
    at.radio(key="explore_colour").set_value("True label").run()
    assert not at.exception, at.exception
    by_label = {t["name"]: t["marker"]["color"] for t in _figure(at, 0)["data"]}
    from core.metrics import match_clusters

    matched = match_clusters(reference=result.labels, other=result.dataset.labels)
    for label, cluster in matched.items():
        assert by_label[result.dataset.label_name(label)] == cluster_color(cluster)
    gallery = [h for h in at.get("html") if "dc-gallery" in h.proto.body]
    assert gallery and gallery[0].proto.body.count("<figure>") == 40
    assert not at.get("image")
    assert re.search(r"Most common true label: \d \(\d+% of the cluster\)\.", shown_text(at))
    _sentences_end_with_a_full_stop(at)


def test_model_page_of_a_certain_model_says_so_instead_of_a_gallery():
    result = run_experiment(RunConfig(dataset="digits", algorithm="gmm", n_samples=600, projection=None))
    assert figures.is_certain(result.view_data["confidence"])
    at = app_with(result, "pages/model.py")
    text = shown_text(at)
    assert "The model is certain about every image" in text
    assert not at.get("plotly_chart") and not [h for h in at.get("html") if "dc-gallery" in h.proto.body]
    assert "Least confident" not in text
    _sentences_end_with_a_full_stop(at)


def test_model_page_shows_the_doubtful_members_in_an_html_gallery():
    result = run_experiment(RunConfig(dataset="digits", algorithm="gmm", projection=None))
    confidence = result.view_data["confidence"]
    assert not figures.is_certain(confidence)
    at = app_with(result, "pages/model.py")
    box = _figure(at, 0)
    assert [t["name"] for t in box["data"]][:2] == ["cluster 0", "cluster 1"]
    chosen = at.selectbox(key="model_cluster").value
    assert np.any(confidence[result.labels == chosen] < figures.CERTAIN_CONFIDENCE)  # a cluster with doubt
    assert "(" in at.selectbox(key="model_cluster").format_func(chosen) and "doubtful" in \
        at.selectbox(key="model_cluster").format_func(chosen)
    gallery = [h for h in at.get("html") if "dc-gallery" in h.proto.body]
    assert gallery and f"Least confident members of cluster {chosen}" in shown_text(at)
    # a cluster whose members are all certain says so
    certain = [c for c in np.unique(result.labels) if confidence[result.labels == c].min() >= 0.995]
    if certain:
        at.selectbox(key="model_cluster").set_value(int(certain[0])).run()
        assert f"certain about every member of cluster {certain[0]}" in shown_text(at)
    _sentences_end_with_a_full_stop(at)
    assert not any(name in shown_text(at) for name in INTERNAL_NAMES)


def test_model_centres_row_is_an_html_gallery_named_by_cluster(digits_kmeans):
    at = app_with(digits_kmeans, "pages/model.py")
    gallery = [h.proto.body for h in at.get("html") if "dc-gallery" in h.proto.body]
    assert gallery and gallery[0].count("<figure>") == 10 and 'title="cluster 9"' in gallery[0]
    assert not at.get("image")


def test_how_many_clusters_names_the_criterion_and_marks_each_panel(digits_kmeans):
    at = app_with(digits_kmeans, "pages/clusters.py")
    at.slider(key="sweep_range").set_value((2, 11))
    run_scan(at)  # in the training process
    shown = {m.label: m.value for m in at.metric}
    suggested = int(shown["Highest UMAP silhouette"])  # the run has a 2-D picture: the suggestion follows it
    assert f"Suggested: {suggested} clusters (highest UMAP silhouette)." in shown_text(at)
    assert "criteria suggest" in shown_text(at) or "Only the UMAP silhouette suggests" in shown_text(at)
    assert 2 <= int(shown["Elbow of the inertia"]) <= 11
    names = [t.get("name") for t in _figure(at, 0)["data"]]
    assert any(n and n.startswith(f"Highest UMAP silhouette: {suggested}") for n in names) and "Current run: 10" in names
    assert any(n and n.startswith("Highest silhouette: ") for n in names)
    assert any(n and n.startswith("Lowest GMM BIC: ") for n in names)
    assert any(n and n.startswith("Elbow of the inertia: ") for n in names)
    assert at.button(key="sweep_take").label == f"Take {suggested} clusters and go to Train"
    _sentences_end_with_a_full_stop(at)
    assert not any(name in shown_text(at) for name in INTERNAL_NAMES)
