"""The stand-alone HTML report of a run, built from real (fast) runs on digits and synthetic data."""
import re
from dataclasses import replace

import numpy as np
import pytest

from core.experiment import RunConfig, run_experiment
from core.runs.report import MAX_GALLERY_CLUSTERS, html_report

PNG = "data:image/png;base64,"


def _body(page: str) -> str:
    # plotly.js (in <head>) happens to contain the PNG data-URI prefix itself, so count images in the body only.
    return page.split("</head>", 1)[1]


@pytest.fixture(scope="module")
def digits_run(digits):
    return run_experiment(RunConfig(dataset="digits", algorithm="kmeans", projection="pca"), dataset=digits)


@pytest.fixture(scope="module")
def unlabelled_run(synthetic):
    data = replace(synthetic, labels=None, class_names=None)
    assert not data.has_labels
    return run_experiment(RunConfig(dataset="synthetic", algorithm="kmeans", n_clusters=4, projection="pca"),
                          dataset=data)


def test_digits_report_is_self_contained_and_complete(digits_run, artifacts_dir):
    page = html_report(digits_run, run_id=7, name="<b>x</b>")
    (artifacts_dir / "report_digits_kmeans.html").write_text(page, encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in page  # the run's name is the title
    assert "k-means on pixels on digits" in page
    # plotly.js inlined once, nothing fetched from the network
    assert '<script src="http' not in page and not re.search(r"<(script|link|img)[^>]*\s(src|href)=\"http", page)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert max(len(s) for s in scripts) > 1_000_000
    assert sum(len(s) > 1_000_000 for s in scripts) == 1
    # scores as the table formats them
    report = digits_run.metrics
    for value in (report.accuracy, report.nmi, report.ari, report.purity, report.silhouette.score):
        assert f'<td class="num">{value:.3f}</td>' in page
    # one gallery grid per cluster
    assert digits_run.n_clusters == 10
    assert _body(page).count(PNG) == digits_run.n_clusters
    assert "Most common true label" in page
    # the contingency heatmap is there because digits has labels
    assert "Clusters versus true labels" in page
    # user text is escaped
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "Run #7" in page and digits_run.started_at in page
    assert "scikit-learn" in page  # library versions in the footer


def test_custom_title_is_escaped(digits_run):
    page = html_report(digits_run, title='Q3 <script>alert("hi")</script>')
    assert "<script>alert" not in page
    assert "Q3 &lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in page


def test_report_without_labels_shows_note_and_no_contingency(unlabelled_run):
    page = html_report(unlabelled_run)
    assert "Clusters versus true labels" not in page
    assert "most common true label" not in page
    assert unlabelled_run.metrics.note and unlabelled_run.metrics.note in page
    # ACC, NMI, ARI, purity, and the UMAP silhouette of a run projected with PCA (the note says why); the
    # silhouette is defined
    assert page.count(">n/a</td>") == 5 and "UMAP silhouette not computed: this run was projected with PCA" in page
    assert _body(page).count(PNG) == 4


def test_noise_cluster_is_named_noise(synthetic):
    # DBSCAN on raw pixels finds many small clusters plus noise on this data
    run = run_experiment(RunConfig(dataset="synthetic", algorithm="dbscan", projection=None), dataset=synthetic)
    clusters = np.unique(run.labels)
    assert -1 in clusters
    page = html_report(run)
    assert "<h3>noise</h3>" in page
    assert "pca" in run.projections  # computed on demand when the run has no projection
    assert _body(page).count(PNG) == min(len(clusters), MAX_GALLERY_CLUSTERS)


def test_gallery_is_capped(digits):
    k = MAX_GALLERY_CLUSTERS + 5
    run = run_experiment(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=k, projection="pca"),
                         dataset=digits)
    page = html_report(run)
    assert _body(page).count(PNG) == MAX_GALLERY_CLUSTERS
    assert f"first {MAX_GALLERY_CLUSTERS} of {k} clusters" in page
