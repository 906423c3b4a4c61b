"""Downloads in real Chromium: two download buttons clicked one right after the other both deliver their file
(a click used to rerun the page, and the rerun dropped the other buttons' files before they were asked for)."""
import os
import shutil

import pytest

from tests.browser import CHROMIUM, browser_page, serve_app, settle

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    from core.experiment import RunConfig
    from core.runs import RunStore
    from core.runs.runner import record_run

    directory = tmp_path_factory.mktemp("downloads-store")
    result = record_run(RunConfig(dataset="digits", algorithm="kmeans", n_clusters=10, projection="pca"),
                        RunStore(directory), name="downloads walk")
    return directory, result


def test_download_buttons_clicked_in_quick_succession_all_deliver(stored_run, tmp_path):
    directory, result = stored_run
    with serve_app(tmp_path / "streamlit.log", env={"DEEP_CLUSTERING_HOME": str(directory)}) as url, \
            browser_page(1400, 1000) as page:
        page.goto(f"{url}/metrics?run={result.run_id}")
        buttons = [page.get_by_role("button", name=name) for name in
                   ("Labels (CSV)", "Embedding (.npz)", "Report (HTML)", "Images by cluster (.zip)",
                    "Labels (CSV)")]
        expect(buttons[-1]).to_be_visible(timeout=60_000)
        settle(page)
        arrived = []
        page.on("download", lambda download: arrived.append(download))
        for button in buttons:  # one after another, within a fraction of a second, the first a second time at the end
            button.click()
            page.wait_for_timeout(50)
        deadline = 30_000
        while len(arrived) < len(buttons) and deadline > 0:
            page.wait_for_timeout(250)
            deadline -= 250
        names = sorted(d.suggested_filename for d in arrived)
        assert len(arrived) == len(buttons), (names, (tmp_path / "streamlit.log").read_text()[-2000:])
        assert sorted(n.rsplit("-", 1)[-1] for n in names) == ["clusters.zip", "embedding.npz", "labels.csv",
                                                                "labels.csv", "report.html"], names
        saved = tmp_path / "labels.csv"
        next(d for d in arrived if d.suggested_filename.endswith(".csv")).save_as(saved)
        assert len(saved.read_text().splitlines()) == 1_798  # a header and one row per image
