"""Regenerate the Train page's screenshots at 1280x720 in a real browser (docs/screenshots/):

- ``train_1280x720.png``: a first visit, the Train button in sight without scrolling;
- ``train_watching_1280x720.png``: DEC training on digits, the live picture of its clusters forming;
- ``train_replay_1280x720.png``: the run finished, its replay beside its loss curve;
- ``train_replay_playing_1280x720.png``: the replay playing (Play pressed);
- ``model_replay_1280x720.png``: the same replay on the Model page.

    .venv/bin/python docs/make_train_screenshots.py [--algorithm dec]

Runs the app as the README does (``python -m ui.serve``) on an empty temporary store, in headless Chromium.
"""
import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect  # noqa: E402

from tests.browser import ROOT, browser_page, choose, serve_app, settle  # noqa: E402

FOLDER = ROOT / "docs" / "screenshots"
TITLES = {"dec": "Deep · DEC (deep embedded clustering)", "ae_kmeans": "Deep · Autoencoder + k-means",
          "n2d": "Deep · N2D (autoencoder + UMAP + GMM)", "vade": "Deep · VaDE (Gaussian-mixture VAE)"}


def shoot(page, name: str) -> None:
    page.wait_for_timeout(800)  # let charts finish their transitions
    page.screenshot(path=str(FOLDER / f"{name}.png"))
    print(f"saved docs/screenshots/{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithm", default="dec", choices=list(TITLES))
    args = parser.parse_args()
    FOLDER.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, \
            serve_app(Path(tmp) / "streamlit.log", env={"DEEP_CLUSTERING_HOME": tmp}) as url, \
            browser_page(1280, 720) as page:
        page.goto(f"{url}/train")
        train = page.get_by_role("button", name="Train", exact=True)
        expect(train).to_be_enabled(timeout=90_000)
        settle(page)
        box = train.bounding_box()
        assert box["y"] + box["height"] <= 720, f"the Train button is below the fold: {box}"
        shoot(page, "train_1280x720")

        choose(page, "Algorithm", TITLES[args.algorithm])
        settle(page)
        page.evaluate("window.scrollTo(0, 0)")
        train.click()
        # the live picture's title: "Pretraining, epoch 20 of 75 · frame 4"
        expect(page.locator("text=/epoch \\d+ of \\d+ · frame [4-9]/").first).to_be_visible(timeout=300_000)
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "train_watching_1280x720")

        expect(page.get_by_text("Finished in")).to_be_visible(timeout=900_000)
        settle(page)
        replay = page.get_by_text("How the clusters formed").first
        expect(replay).to_be_visible(timeout=60_000)
        replay.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.mouse.wheel(0, -120)
        shoot(page, "train_replay_1280x720")
        page.get_by_text("▶ Play").first.click()
        page.wait_for_timeout(2500)
        page.screenshot(path=str(FOLDER / "train_replay_playing_1280x720.png"))
        print("saved docs/screenshots/train_replay_playing_1280x720.png")

        page.get_by_role("link", name="Model").first.click()
        heading = page.get_by_role("heading", name="How the clusters formed")
        expect(heading).to_be_visible(timeout=60_000)
        settle(page)
        heading.evaluate("element => element.scrollIntoView({block: 'start'})")
        shoot(page, "model_replay_1280x720")


if __name__ == "__main__":
    main()
