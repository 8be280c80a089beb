"""Screenshots of the interactive pages (docs/interactive-run.png, docs/interactive-study.png) from small real runs.

    python benchmarks/screenshots.py          # about 2 CPU-minutes (10 min on 2 busy cores); needs chromium, playwright

Trains a small LSTM on ``tweets-docs`` with `rnnmem assess`, sweeps two units at two training
lengths with `rnnmem sweep` + `rnnmem report`, opens each run's ``interactive.html`` in headless
Chromium (the system's, driven by Playwright: nothing is downloaded), uses its menus and slider as
a reader would, and saves what the browser shows.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from rnnmem.fileio import write_atomically

DOCS = Path(__file__).resolve().parent.parent / "docs"
SMALL = ["--corpus", "tweets-docs", "--doc-tokens", "64", "--hidden", "32", "--embedding-dim", "32",
         "--max-distance", "48", "--max-sequences", "96"]
ASSESS = ["assess", "--unit", "lstm", "--max-len", "64", "--epochs", "4", "--piece-epochs", "1", *SMALL]
SWEEP = ["sweep", "--units", "srn,lstm", "--lengths", "16,64", "--seeds", "0", "--epochs", "3", "--workers", "1",
         *SMALL]


def rnnmem(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "rnnmem.cli", *args], check=True)


def screenshot(browser, page_path: Path, out: Path, act) -> None:
    """Open ``page_path``, let ``act`` use the page, and save a screenshot of the whole page."""
    # tall enough for the whole page: a screenshot that scrolls would move the pointer off the hovered token
    page = browser.new_page(viewport={"width": 1150, "height": 1400}, device_scale_factor=1)
    page.goto(page_path.resolve().as_uri())
    page.wait_for_selector("g.scatterlayer")
    act(page)
    write_atomically(out, page.locator("body").screenshot())
    print(f"wrote {out}")


def choose(page, menu: int, label: str) -> None:
    page.locator("g.updatemenu-header-group").nth(menu).click()
    page.locator("g.updatemenu-dropdown-button", has_text=label).first.click()


def use_run_page(page) -> None:
    """Sequence 2, the slider a third of the way in, the pointer on one of the last (measured) tokens."""
    choose(page, 0, "sequence 2 ")
    page.wait_for_timeout(500)  # the menu's list, which covers the slider, folds away
    page.locator("rect.slider-rail-touch-rect").scroll_into_view_if_needed()  # a click must land on screen
    rail = page.locator("rect.slider-rail-touch-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] / 3, rail["y"] + rail["height"] / 2)
    tokens = page.locator("g.heatmaplayer text").filter(has_text=re.compile(r"\S"))  # not the empty cells after the end
    tokens.nth(tokens.count() - 4).hover(force=True)  # force: Plotly's drag layer lies above the token's text
    page.wait_for_timeout(300)


def use_study_page(page) -> None:
    choose(page, 1, "ML(0.1)")
    page.wait_for_timeout(500)  # the menu's list, which covers the right-hand panel, folds away


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs (default docs/)")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rnnmem(*ASSESS, "--out", str(work / "run"))
        rnnmem(*SWEEP, "--store", str(work / "study.sqlite"))
        rnnmem("report", str(work / "study.sqlite"), "--out", str(work / "study"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            screenshot(browser, work / "run" / "interactive.html", args.out / "interactive-run.png", use_run_page)
            screenshot(browser, work / "study" / "interactive.html", args.out / "interactive-study.png",
                       use_study_page)
            browser.close()


if __name__ == "__main__":
    main()
