"""Regenerate docs/screenshot.png: train autoencoder + k-means on digits at the default settings in a
real browser and capture the Explore page.

    .venv/bin/python docs/make_screenshot.py
"""
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect  # noqa: E402

from tests.browser import ROOT, browser_page, serve_app  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(tmp) / "streamlit.log") as url, \
            browser_page(1400, 1500) as page:
        page.goto(url)
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=90_000)
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text("Finished in")).to_be_visible(timeout=300_000)
        page.get_by_role("link", name="Explore").first.click()
        expect(page.locator("[data-testid='stImage'] img").first).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        print("saved docs/screenshot.png")


if __name__ == "__main__":
    main()
