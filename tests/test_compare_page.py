"""The Compare page for five runs of mixed algorithms (AppTest), and the figures and tables behind it."""
import json
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import RunConfig
from core.runs import RunStore
from core.runs import compare as runs
from core.viz import compare as viz
from core import vocabulary
from core.vocabulary import METRICS
from tests.conftest import ROOT
from ui.text import plain

# The runs of `mixed` are projected with PCA: they have no UMAP silhouette, and its axis is left out.
AXIS_TITLES = ["Algorithm", "Cluster in", "Number of clusters", *(m for m in METRICS if m != "UMAP silhouette")]
SPACES = ["autoencoder embedding (10-d)", "pixels (64-d)"]


@pytest.fixture(scope="module")
def mixed():
    """Five quick runs on digits: k-means (8 clusters, pixels), agglomerative on a 2-epoch autoencoder,
    a Gaussian mixture, DBSCAN (finds its own count) and spectral clustering, all on pixels but one."""
    from core.runs.runner import record_run

    store = RunStore()  # $DEEP_CLUSTERING_HOME, set for the whole test session in conftest
    plan = [("kmeans", 8, {}), ("agglomerative", 10, {"space": "autoencoder", "epochs": 2}), ("gmm", 10, {}),
            ("dbscan", None, {}), ("spectral", 10, {})]
    results = [record_run(RunConfig(dataset="digits", algorithm=a, n_clusters=k, params=p, projection="pca"), store,
                          name=f"compare {a}") for a, k, p in plan]
    return [r.run_id for r in results], results


def compare_page(run_ids) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="compare_dataset").set_value("digits").run()
    at.multiselect(key="compare_runs_digits_None").set_value(list(run_ids)).run()
    assert not at.exception, at.exception
    return at


def in_order(node):
    """The page's elements in the order they are drawn."""
    children = getattr(node, "children", None)
    if children:
        for child in children.values():
            yield from in_order(child)
    else:
        yield node


def spec(at, index=0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def axis_parts(figure: dict):
    """({x: axis title}, {x: [tick texts]}) of a parallel-coordinates figure's annotations."""
    titles, ticks = {}, {}
    for note in figure["layout"].get("annotations", []):
        text = re.sub(r"<[^>]+>", " ", note["text"]).strip()
        text = re.sub(r"\s+", " ", text)
        if note.get("yshift"):
            titles[note["x"]] = text
        else:
            ticks.setdefault(note["x"], []).append(text)
    return titles, ticks


def all_texts(figure: dict) -> list:
    """Every label a figure prints: annotations, and Parcoords dimensions' labels and tick texts."""
    texts = [a.get("text", "") for a in figure["layout"].get("annotations", [])]
    for trace in figure["data"]:
        for dim in trace.get("dimensions", []):
            texts += [dim.get("label", "")] + list(dim.get("ticktext", []))
    return texts


# ------------------------------------------------------------------------------------------ the page

def test_only_settings_that_vary_among_their_users_are_shown(mixed):
    ids, _ = mixed
    at = compare_page(ids)
    titles, _ = axis_parts(spec(at, 0))
    assert [titles[x] for x in sorted(titles)] == AXIS_TITLES
    # Latent size and epochs: used by the autoencoder run only; linkage, covariance: one algorithm each.
    board = at.dataframe[0].value
    for hidden in ("Latent size", "Epochs", "Linkage", "Covariance", "Seed", "Preprocessing"):
        assert not [c for c in board.columns if c.startswith(hidden)], hidden
    assert {"Cluster in", "Number of clusters"} <= set(board.columns)
    assert any(c.value == "5 runs on digits. Settings that differ: Algorithm, Cluster in, Number of clusters."
               for c in at.caption)
    assert not [c for c in board.columns if c.startswith("p:") or c in ("k", "latent_dim", "n_clusters")]


def test_leaderboard_comes_first_sorted_by_the_chosen_metric_with_the_best_marked(mixed):
    ids, _ = mixed
    at = compare_page(ids)
    kinds = [getattr(e, "type", "") for e in in_order(at.main)]
    assert kinds.index("dataframe") < kinds.index("plotly_chart")
    assert at.selectbox(key="compare_rank_by").value == "NMI"  # the runs have labels
    for metric in ("NMI", "ACC", "Silhouette"):
        at.selectbox(key="compare_rank_by").set_value(metric).run()
        board = at.dataframe[0].value
        assert list(board.columns[:5]) == [" ", "Rank", "Run", "Algorithm", metric]  # seen on a narrow screen
        assert [c for c in board.columns if c in METRICS] == [metric, *(m for m in METRICS if m != metric
                                                                        and m in board.columns)]
        assert "Duration (s)" in board.columns
        assert board[metric].is_monotonic_decreasing and list(board["Rank"]) == [1, 2, 3, 4, 5]
        assert list(board[" "]) == ["★", "", "", "", ""]
        assert sorted(board["Run"]) == sorted(f"#{i} compare {a}" for i, a in
                                              zip(ids, ("kmeans", "agglomerative", "gmm", "dbscan", "spectral")))
        assert any(f"Best by {metric}: {plain(board['Run'][0])}" in m.value for m in at.markdown)
    assert not at.exception


def test_parallel_coordinates_has_no_placeholder_values_internal_names_or_repeated_ticks(mixed):
    ids, _ = mixed
    figure = spec(compare_page(ids), 0)
    texts = all_texts(figure)
    assert texts and not [t for t in texts if "n/a" in t.lower()]
    titles, ticks = axis_parts(figure)
    for title in titles.values():
        assert "p:" not in title and "_" not in title, title
    for x, labels in ticks.items():
        assert len(labels) == len(set(labels)), (titles.get(x), labels)
    assert not [t for t in figure["data"] if t["type"] == "parcoords"]
    kmeans = next(t for t in figure["data"] if t.get("name", "").startswith(f"#{ids[0]} "))
    assert kmeans["y"][1] is None  # k-means clusters pixels with no "Cluster in" setting: a gap, not a value
    assert "compare kmeans" in kmeans["hovertemplate"] and "Cluster in: not used" in kmeans["hovertemplate"]


def test_a_warning_names_the_silhouette_spaces_when_they_differ(mixed):
    ids, _ = mixed
    at = compare_page(ids)
    warnings = [w.value for w in at.warning if "silhouette" in w.value.lower()]
    assert len(warnings) == 1 and all(space in warnings[0] for space in SPACES)
    board = at.dataframe[0].value
    spaces = dict(zip(board["Run"], board["Silhouette space"]))
    assert spaces[f"#{ids[1]} compare agglomerative"] == SPACES[0]
    assert spaces[f"#{ids[0]} compare kmeans"] == SPACES[1]

    pixels_only = [i for i in ids if i != ids[1]]
    at.multiselect(key="compare_runs_digits_None").set_value(pixels_only).run()
    assert not [w for w in at.warning if "silhouette" in w.value.lower()]
    assert "Silhouette space" not in at.dataframe[0].value.columns


def test_two_runs_side_by_side_only_on_request(mixed):
    ids, results = mixed
    at = compare_page(ids)
    # parallel coordinates, metric bars, metric against a setting, the agreement of every two runs
    assert len(at.get("plotly_chart")) == 4
    assert not at.metric
    at.toggle(key="compare_side_by_side").set_value(True).run()
    at.selectbox(key="compare_left").set_value(ids[0]).run()
    at.selectbox(key="compare_right").set_value(ids[2]).run()
    assert not at.exception, at.exception
    # and the two projections, and where each cluster went
    assert len(at.get("plotly_chart")) == 7
    assert at.metric[0].value == f"{runs.agreement(results[0].labels, results[2].labels):.3f}"
    right = json.loads(next(c for c in at.get("plotly_chart") if c.key == "compare_umap_right").proto.spec)
    assert {t["name"] for t in right["data"]} <= {f"cluster {c}" for c in range(10)}


# ------------------------------------------------------------------------------------------ core, directly

@pytest.fixture
def table():
    """A runs table of four runs as runs_table makes it: a latent size only two runs use."""
    return pd.DataFrame({
        "id": [1, 2, 3, 4], "name": ["pixels", "ae small", "ae big", "no labels"],
        "algorithm": ["k-means on pixels", "Autoencoder + k-means", "Autoencoder + k-means", "DBSCAN"],
        "k": [10, 10, 12, 7], "p:latent_dim": [np.nan, 5, 10, np.nan], "p:epochs": [np.nan, 50, 50, np.nan],
        "ACC": [0.6, 0.8, 0.8, np.nan], "NMI": [0.55, 0.7, 0.75, np.nan], "ARI": [0.4, 0.6, 0.65, np.nan],
        "Purity": [0.6, 0.8, 0.82, np.nan], "Silhouette": [0.18, 0.5, 0.45, -0.05],
        "UMAP silhouette": [0.3, 0.55, 0.6, 0.1],
        "silhouette space": ["pixels (64-d)", "autoencoder embedding (5-d)", "autoencoder embedding (10-d)",
                             "pixels (64-d)"],
        "seconds": [1.0, 20.0, 25.0, 2.0],
    })


def test_column_labels_are_the_user_facing_setting_labels(table):
    assert vocabulary.column_label("k") == "Number of clusters"
    assert vocabulary.column_label("p:latent_dim", table) == "Latent size"
    assert vocabulary.column_label("p:epochs", table) == "Epochs"
    assert vocabulary.column_label("algorithm") == "Algorithm" and vocabulary.column_label("seconds") == "Duration (s)"
    spaces = pd.DataFrame({"algorithm": ["Agglomerative (hierarchical)", "DBSCAN"], "p:space": ["pixels", "pixels"]})
    assert vocabulary.column_label("p:space", spaces) == "Cluster in"


def test_parallel_coordinates_gaps_ticks_titles_and_hover(table):
    fig = viz.parallel_coordinates(table, ["algorithm", "p:latent_dim", "k"], METRICS, "NMI").to_plotly_json()
    titles, ticks = axis_parts(fig)
    assert [titles[x] for x in sorted(titles)] == ["Algorithm", "Latent size", "Number of clusters", *METRICS]
    lines = {t["name"]: t for t in fig["data"] if t.get("name")}
    assert lines["#1 pixels"]["y"][1] is None and lines["#4 no labels"]["y"][1] is None  # gaps, not values
    assert lines["#1 pixels"]["connectgaps"] is False
    assert lines["#4 no labels"]["y"][3:7] == [None] * 4 and lines["#4 no labels"]["y"][7] is not None
    assert ticks[1] == ["5", "10"]
    for metric_x in range(3, 7):
        assert ticks[metric_x] == ["0", "0.5", "1"]  # each once, though the range is also 0 to 1
    assert ticks[7][0] == "-0.05" and len(ticks[7]) == len(set(ticks[7]))
    assert "Latent size: not used" in lines["#1 pixels"]["hovertemplate"]
    assert "NMI: 0.750" in lines["#3 ae big"]["hovertemplate"]
    assert not [t for t in all_texts(fig) if "n/a" in t]
    notes = {n["x"]: n for n in fig["layout"]["annotations"] if n.get("yshift")}
    assert "DBSCAN" in notes[2]["hovertext"]  # found by the algorithm, said on hover
    assert lines["#4 no labels"]["line"]["color"] == "#b0b0b0"  # no NMI: grey, not a made-up colour


def test_long_titles_and_categories_are_wrapped_or_cut_with_the_full_text_on_hover():
    assert viz.wrap("Restart Adam every (epochs)", 14) == "Restart Adam<br>every (epochs)"
    assert viz.wrap("Latent size (autoencoder space)", 10) == "Latent<br>size (aut…"
    long = "A made-up algorithm whose title goes on and on, far too long for one axis"
    table = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"],
                          "algorithm": ["Agglomerative (hierarchical)", "N2D (autoencoder + UMAP + GMM)", long],
                          **{m: [0.5, 0.6, 0.7] for m in METRICS[:5]}})
    fig = viz.parallel_coordinates(table, ["algorithm"], METRICS[:5], "NMI").to_plotly_json()  # six axes wide
    notes = {n["text"]: n for n in fig["layout"]["annotations"]}
    assert "Agglomerative<br>(hierarchical)" in notes and "N2D (autoencoder +<br>UMAP + GMM)" in notes  # whole
    cut = [n for n in notes.values() if "…" in n["text"]]
    assert len(cut) == 1 and cut[0]["hovertext"] == long
    assert all("…" not in n["text"] or n.get("hovertext") for n in notes.values())


def test_titles_left_and_legends_clear_of_the_toolbar(table):
    figures = [viz.parallel_coordinates(table, ["algorithm", "k"], METRICS, "NMI"),
               viz.metric_bars(table, list(METRICS)),
               viz.metric_scatter(table, "p:latent_dim", "NMI"), viz.metric_scatter(table, "algorithm", "ACC")]
    for fig in figures:
        layout = fig.to_plotly_json()["layout"]
        assert layout["title"]["x"] == 0 and layout["title"]["xanchor"] == "left"
        legend = layout.get("legend", {})
        if fig.layout.showlegend is not False and any(t.showlegend is not False for t in fig.data):
            assert legend["orientation"] == "h" and legend["y"] <= 0.05 and legend["yanchor"] == "bottom"
        for trace in fig.data:
            bar = getattr(getattr(trace, "marker", None), "colorbar", None)
            if bar is not None and trace.marker.showscale:
                assert bar.y == 0 and bar.yanchor == "bottom" and bar.len <= 0.8  # below the toolbar
    scatter = viz.metric_scatter(table, "p:latent_dim", "NMI")
    assert scatter.layout.xaxis.title.text == "Latent size" and "2 runs without it" in scatter.layout.title.text


def test_leaderboard_ranks_best_first_ties_share_a_rank_and_unscored_runs_come_last(table):
    assert runs.default_rank_metric(table) == "NMI"
    unlabelled = table.assign(NMI=np.nan, ACC=np.nan, ARI=np.nan, Purity=np.nan)
    assert runs.default_rank_metric(unlabelled) == "UMAP silhouette"  # the score without labels that tracks NMI
    assert runs.default_rank_metric(unlabelled.assign(**{"UMAP silhouette": np.nan})) == "Silhouette"  # no UMAP
    board = runs.leaderboard(table, "ACC", ["k", "p:latent_dim"])
    assert list(board["Run"]) == ["#2 ae small", "#3 ae big", "#1 pixels", "#4 no labels"]
    assert list(board["Rank"].astype("float").fillna(0)) == [1, 1, 3, 0] and list(board["Best"]) == [True, True,
                                                                                                     False, False]
    assert list(board.columns) == ["Rank", "Best", "Run", "Algorithm", *METRICS, "Duration (s)",
                                   "Number of clusters", "Latent size", "Silhouette space"]
    assert board["Latent size"].isna().tolist() == [False, False, True, True]
