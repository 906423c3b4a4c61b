"""What a presenter shows, off the browser: the first cluster colours far apart, the loss curve's optimiser
restarts marked, a run's HTML report and a comparison's opening offline with interactive Plotly charts (real
runs on digits), names said once, a dataset preview spread over the upload, one run without a made-up colour
scale."""
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from core.data.library import preview_rows
from core.experiment import RunConfig
from core.runs import FINISHED, RunStore
from core.runs.compare import runs_table, seed_summary
from core.runs.report import comparison_report, html_report, loss_note, story_lines
from core.runs.runner import record_run
from core.viz import compare as compare_viz
from core.viz.figures import loss_curve
from core.viz.palette import PALETTE, cluster_color
from core.vocabulary import counted, run_name, run_title


# --------------------------------------------------------------------------- colours

def _lab(hex_colour: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour."""
    srgb = np.array([int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)], dtype=float) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000_lab(first, second) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu & Dalal 2005) between two CIELAB colours."""
    (l1, a1, b1), (l2, a2, b2) = first, second
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    d_l, d_c, d_h = l2 - l1, c2 - c1, 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    r_t = (-2 * np.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7))
           * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))))
    return float(np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h)))


def ciede2000(first: str, second: str) -> float:
    """CIEDE2000 between two sRGB colours ("#0072B2")."""
    return ciede2000_lab(_lab(first), _lab(second))


def test_ciede2000_matches_the_published_test_data():
    """Pairs 1, 7, 17 and 25 of Sharma, Wu & Dalal's test data."""
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 0, 0), (50, -1, 2), 2.3669),
             ((50, 2.5, 0), (73, 25, -18), 27.1492),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)]
    for first, second, expected in pairs:
        assert ciede2000_lab(first, second) == pytest.approx(expected, abs=1e-4)


def test_the_first_cluster_colours_are_far_apart():
    """Three clusters are blue, orange and purple, not two blues that merge into one blob: every two of the first
    three colours are at least 40 CIEDE2000 units apart (a just-noticeable difference is about 2), and of the
    first five at least 30."""
    first = [cluster_color(c) for c in range(5)]
    assert min(ciede2000(a, b) for i, a in enumerate(first[:3]) for b in first[i + 1:3]) >= 40
    assert min(ciede2000(a, b) for i, a in enumerate(first) for b in first[i + 1:]) >= 30
    assert len(set(PALETTE)) == len(PALETTE) == 10
    # the threshold means something: the old order's first three held two blues, 22 apart
    assert ciede2000("#0072B2", "#56B4E9") < 30


# --------------------------------------------------------------------------- real runs

@pytest.fixture(scope="module")
def store(tmp_path_factory, digits):
    """Two k-means runs on digits that differ only in seed, and a short autoencoder run on 500 of the digits
    that restarts its optimiser every epoch."""
    store = RunStore(tmp_path_factory.mktemp("present-store"))
    for seed in range(2):
        record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=3, seed=seed, projection="pca"), store,
                   dataset=digits)
    record_run(RunConfig(dataset="digits", algorithm="ae_kmeans", n_clusters=10, projection="pca", n_samples=500,
                         params={"epochs": 3, "latent_dim": 4, "restart_every": 1}), store)
    return store


class _Page(HTMLParser):
    """The scripts (with their src), the chart divs and every external address of an HTML page."""

    def __init__(self):
        super().__init__()
        self.scripts, self.charts, self.external, self._in_script = [], [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = [attrs.get("src"), ""]
            self.scripts.append(self._in_script)
        if tag == "div" and "plotly-graph-div" in (attrs.get("class") or ""):
            self.charts.append(attrs["id"])
        for name in ("src", "href"):
            if re.match(r"\s*(https?:)?//", attrs.get(name) or ""):
                self.external.append(attrs[name])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script[1] += data


def parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def assert_offline_with_charts(page: str, at_least: int) -> _Page:
    """plotly.js inlined once, no script or link from the network, and each chart div drawn by a Plotly call."""
    html = parsed(page)
    assert not html.external and not any(src for src, _ in html.scripts)
    bundles = [text for _, text in html.scripts if len(text) > 1_000_000]
    assert len(bundles) == 1 and "plotly" in bundles[0][:2000].lower()
    assert len(html.charts) >= at_least and len(set(html.charts)) == len(html.charts)
    calls = " ".join(text for _, text in html.scripts if len(text) < 1_000_000)
    assert calls.count("Plotly.newPlot(") == len(html.charts)
    for chart in html.charts:
        assert f'document.getElementById("{chart}")' in calls
    return html


def test_run_report_tells_the_story_offline_with_interactive_charts(store, artifacts_dir):
    records = store.list_runs(status=FINISHED)
    run_id = min(r.id for r in records if r.algorithm == "kmeans")
    spread = seed_summary(records, run_id)
    assert spread is not None and set(spread["Seeds"]) == {2}
    result = store.load_result(run_id)
    page = html_report(result, run_id=run_id, name=store.get(run_id).name, spread=spread)
    (artifacts_dir / "report_with_spread.html").write_text(page, encoding="utf-8")
    assert_offline_with_charts(page, at_least=4)  # scores with spread, projection, sizes, clusters vs labels
    assert "<title>k-means on pixels on digits</title>" in page  # the default name without its " #1"
    for topic, text in story_lines(result):
        assert f"<b>{topic}:</b>" in page
    assert "What was trained on what" in page and "Over 2 seeds" in page and "SD of 2 seeds" in page
    assert len(page) < 6_000_000  # plotly.js is 4.7 MB of it: the run itself adds little


def test_loss_curve_marks_the_optimiser_restarts(store):
    record = next(r for r in store.list_runs(status=FINISHED) if r.algorithm == "ae_kmeans")
    result = store.load_result(record.id)
    assert [h["epoch"] for h in result.history if h["phase"] == "pretrain"] == [1, 2, 3]
    fig = loss_curve(result.history, restart_every=1)
    restarts = [t for t in fig.data if t.name == "optimizer restart"]
    assert len(restarts) == 1 and fig.layout.showlegend  # one legend entry for all of them
    assert [x for x in restarts[0].x if x is not None] == [1.5, 1.5, 2.5, 2.5]  # before epochs 2 and 3
    assert [x for x in loss_curve(result.history, restart_every=2).data[-1].x if x is not None] == [2.5, 2.5]
    assert "epochs 2 and 3" in loss_note(result) and "restarts every epoch" in loss_note(result)
    assert not [t for t in loss_curve(result.history).data if t.name == "optimizer restart"]
    page = html_report(result, run_id=record.id, name=record.name)
    assert "optimizer restart" in page and "How the loss went" in page


def test_comparison_report_is_self_contained(store, artifacts_dir):
    records = store.list_runs(status=FINISHED)
    page = comparison_report(records)
    (artifacts_dir / "comparison_report.html").write_text(page, encoding="utf-8")
    assert_offline_with_charts(page, at_least=2)  # the metric bars and the parallel coordinates
    assert "3 runs compared on digits" in page and "Ranked by NMI" in page
    assert "Settings repeated over seeds" in page  # the two k-means seeds as one row
    first = records[-1]
    assert f"<td>#{first.id} k-means on pixels on digits</td>" in page  # each run's number said once
    same = comparison_report(runs_table(records), title="Q3 <review>", rank_by="ARI")  # a page's table works too
    assert "Q3 &lt;review&gt;" in same and "Ranked by ARI" in same
    with pytest.raises(ValueError):
        comparison_report([])


# --------------------------------------------------------------------------- words, previews, one run

def test_names_and_counts_say_each_thing_once():
    assert run_title(4, "k-means on digits #4") == "#4 · k-means on digits"
    assert run_title(4, "my run #2") == "#4 · my run #2" and run_title(None, "x") == "x"
    assert run_name("#4", 4) == "#4"
    assert counted(1, "run") == "1 run" and counted(1797, "image") == "1,797 images"
    assert counted(2, "true class", "true classes") == "2 true classes"


def test_dataset_preview_is_spread_over_the_upload():
    labels = np.repeat([0, 1, 2], [60, 30, 5])  # sorted by file name: whole folders one after another
    rows = preview_rows(len(labels), 40, labels)
    assert len(rows) == 40 and list(rows) == sorted(rows)
    assert np.bincount(labels[rows]).tolist() == [18, 17, 5]  # each class in turn, the small one whole
    unlabelled = preview_rows(95, 40)
    assert len(set(unlabelled)) == 40 and unlabelled.max() > 60  # not the first 40 files
    assert list(preview_rows(95, 40)) == list(unlabelled)  # the same sample every time
    assert list(preview_rows(10, 40)) == list(range(10))


def test_one_run_has_no_colour_scale(store):
    table = runs_table(store.list_runs(status=FINISHED)[:1])
    fig = compare_viz.parallel_coordinates(table, ["k"], ["NMI", "ACC"], "NMI")
    assert not any(getattr(t.marker, "showscale", False) for t in fig.data if t.marker is not None)
