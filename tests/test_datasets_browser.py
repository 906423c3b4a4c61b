"""Your own images in a real browser: upload a zip of PNGs in two folders, preview, save, cluster, restart the
server, reopen the run with its images and file names; a file past the server's size limit is refused."""
import os
import re
import shutil

import pytest

from tests import uploads
from tests.browser import CHROMIUM, browser_page, choose, no_exception, serve_app, shoot

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def screenshots(artifacts_dir):
    return artifacts_dir / "screenshots"


def test_upload_preview_save_cluster_restart_and_reopen_with_file_names(tmp_path, screenshots):
    from core.runs import RunStore

    store_dir = tmp_path / "store"
    archive = tmp_path / "my_photos.zip"
    archive.write_bytes(uploads.labelled_png_zip(60, top="my_photos", names=("zeros", "ones"), size=20,
                                                 extra={"my_photos/readme.txt": b"not an image"}))
    env = {"DEEP_CLUSTERING_HOME": str(store_dir)}
    with serve_app(tmp_path / "first.log", env=env) as url, browser_page(width=1280, height=720) as page:
        page.goto(f"{url}/datasets")
        expect(page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").set_input_files(str(archive))
        expect(page.get_by_text("1 file was not images: my_photos/readme.txt.")).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("60", timeout=60_000)
        shoot(page, screenshots, "11_datasets_preview")
        name = page.get_by_label("Name", exact=True)
        name.fill("My photos")
        page.get_by_role("button", name="Save dataset").click()
        expect(page.get_by_text(re.compile(r"Saved My photos: 60 images, 20x20 grayscale, 2 labels"))).to_be_visible(
            timeout=30_000)
        no_exception(page)
        shoot(page, screenshots, "11_datasets_saved")

        page.get_by_role("button", name="Train on it").click()
        expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=30_000)
        expect(page.get_by_text("60 images of 20x20, 2 classes")).to_be_visible(timeout=30_000)
        choose(page, "Algorithm", "Classical · k-means on pixels")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Finished in"))).to_be_visible(timeout=120_000)
        no_exception(page)

    run_id = RunStore(store_dir).list_runs()[0].id
    with serve_app(tmp_path / "second.log", env=env) as url, browser_page(width=1280, height=720) as page:
        page.goto(f"{url}/explore?run={run_id}")
        expect(page.get_by_role("heading", name="Explore", exact=True)).to_be_visible(timeout=60_000)
        expect(page.locator(".dc-gallery img").first).to_be_visible(timeout=60_000)
        captions = page.locator(".dc-gallery figcaption").all_inner_texts()
        assert captions and all(re.fullmatch(r"img_\d{3}\.png · (zeros|ones)", c) for c in captions), captions
        no_exception(page)
        shoot(page, screenshots, "11_explore_after_restart")

        new_images = tmp_path / "five_new.zip"
        new_images.write_bytes(uploads.zip_bytes({f"new_{i}.png": uploads.png_bytes(image) for i, (_, image)
                                                  in enumerate(uploads.digit_images(5, size=24, seed=7))}))
        page.get_by_text("Place new images in this run").click()
        page.locator("input[type=file]").set_input_files(str(new_images))
        page.get_by_role("button", name="Place 5 images").click()
        expect(page.get_by_text(re.compile(r"Placed 5 new images: each image joins its nearest cluster centre"))) \
            .to_be_visible(timeout=60_000)
        expect(page.get_by_text("new_0.png · cluster", exact=False).first).to_be_visible()
        no_exception(page)
        shoot(page, screenshots, "11_explore_new_images_placed")


def test_a_file_past_the_upload_limit_is_refused_by_the_server(tmp_path, screenshots):
    from core.runs import RunStore

    store_dir = tmp_path / "store"
    big = tmp_path / "big.npz"
    big.write_bytes(os.urandom(2 * 2 ** 20))
    env = {"DEEP_CLUSTERING_HOME": str(store_dir), "STREAMLIT_SERVER_MAX_UPLOAD_SIZE": "1"}
    with serve_app(tmp_path / "limit.log", env=env) as url, browser_page(width=1280, height=720) as page:
        page.goto(f"{url}/datasets")
        expect(page.get_by_role("heading", name="Datasets", exact=True)).to_be_visible(timeout=60_000)
        page.locator("input[type=file]").set_input_files(str(big))
        expect(page.get_by_text(re.compile(r"File must be 1(\.0)? ?MB or smaller"))).to_be_visible(timeout=30_000)
        no_exception(page)
        shoot(page, screenshots, "11_upload_limit")
    assert RunStore(store_dir).datasets.names() == []
