"""Make the pictures docs/pictures.md and the README show, with the commands they show.

    python scripts/make_pictures.py          # from the repository root; needs '.[test]'

Each picture comes from one nnspec command, run here exactly as the docs write it (into a
temporary directory), then copied into docs/images/. PNG plots are stored with a 64-colour
palette (Pillow, which matplotlib brings) to keep the repository small; the screenshots of
the HTML reports are taken by Debian's Chromium through Playwright, and are left as they
are when that browser is missing. Run it again after changing how pictures are drawn: the
same nnspec and matplotlib write the same files.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's nnspec, installed or not
IMAGES = Path("docs/images")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# (command as the docs show it, with OUT for the temporary directory; files it writes -> docs/images/...)
PICTURES: list[tuple[str, dict[str, str]]] = [
    ("nnspec graph specs/seed_activations.yaml -o OUT/graph.dot", {"graph.dot": "seed_activations/graph.dot"}),
    ("nnspec graph specs/seed_activations.yaml -o OUT/graph.svg", {"graph.svg": "seed_activations/graph.svg"}),
    (
        "nnspec run specs/seed_activations.yaml --plots OUT/plots",
        {f"plots/{name}.png": f"seed_activations/{name}.png" for name in ("x", "tanh", "sigmoid", "relu")},
    ),
    ("nnspec graph specs/lenet.yaml --run -o OUT/graph.svg", {"graph.svg": "lenet/graph.svg"}),
    (
        "nnspec run specs/lenet.yaml --plots OUT/plots",
        {f"plots/{name}.png": f"lenet/{name}.png" for name in ("x", "conv1", "relu3", "probs")},
    ),
]
# (report command, screenshots: the part of the page at an anchor -> docs/images/...)
REPORTS: list[tuple[str, dict[str, str]]] = [
    (
        "nnspec run specs/seed_activations.yaml --report OUT/report.html",
        {"": "seed_activations/report.png", "#layer-tanh": "seed_activations/report-tanh.png"},
    ),
    ("nnspec run specs/lenet.yaml --report OUT/report.html", {"#findings": "lenet/report-findings.png"}),
]


def expected_files() -> list[Path]:
    """Every file this script writes under docs/images, relative to the repository root."""
    targets = [target for _, files in PICTURES for target in files.values()]
    targets += [target for _, shots in REPORTS for target in shots.values()]
    return sorted(IMAGES / target for target in targets)


def run_command(command: str, out: Path) -> None:
    """One nnspec command, into the fresh directory ``out``; its report (not a picture) is dropped."""
    from nnspec.cli import main

    print(f"$ {command}", file=sys.stderr)
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(command.replace("OUT", str(out)).split()[1:])
    if code not in (0, 1):  # 1: the run found errors, which some pictures are there to show
        raise SystemExit(f"{command}: exit code {code}")


def store(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".png":
        from PIL import Image

        with Image.open(source) as image:
            small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            small.save(target, optimize=True)
    else:
        shutil.copyfile(source, target)
    print(f"  {target} ({target.stat().st_size:,} bytes)", file=sys.stderr)


def screenshot(page_file: Path, shots: dict[str, str], out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 760})
        for fragment, target in shots.items():
            page.goto(page_file.as_uri() + fragment)
            shot = out / f"shot-{Path(target).name}"
            page.screenshot(path=str(shot))
            store(shot, IMAGES / target)
        browser.close()


def main() -> None:
    if Path.cwd().resolve() != ROOT:
        raise SystemExit(f"run it from the repository root ({ROOT}): the pictures name specs by relative path")
    for command, files in PICTURES:
        with tempfile.TemporaryDirectory() as temporary:
            out = Path(temporary)
            run_command(command, out)
            for written, target in files.items():
                store(out / written, IMAGES / target)
    try:
        import playwright  # noqa: F401
    except ImportError:
        playwright = None
    for command, shots in REPORTS:
        if playwright is None or not CHROMIUM.exists():
            print(
                f"no Chromium or Playwright here: the screenshots of '{command}' are left as they are", file=sys.stderr
            )
            continue
        with tempfile.TemporaryDirectory() as temporary:
            out = Path(temporary)
            run_command(command, out)
            screenshot(out / "report.html", shots, out)


if __name__ == "__main__":
    main()
