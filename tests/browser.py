"""Headless Chromium for the report tests: installed from Debian's packages when missing (the
test setup does it, as the issue asks), driven through Selenium and chromedriver.

Where Chromium cannot be installed (not root, no apt-get, no network), :func:`driver` skips with
a loud message naming what is missing, printed to the terminal as well as in the skip reason.

Chinese text needs a CJK font, and a fresh machine has none: Chinese reports screenshot as boxes
(tofu). Instead of installing a system font package, :func:`start` hands Chromium a fontconfig
file (``FONTCONFIG_FILE`` in the driver's environment, which Chromium inherits) that keeps the
system's fonts and adds the folder of the ``mplfonts`` package, whose Noto Sans CJK SC the charts
already use (:func:`cjk_fontconfig`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

PACKAGES = ["chromium", "chromium-driver"]
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def _found() -> tuple[str | None, str | None]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    return chrome, shutil.which("chromedriver")


def ensure_chromium() -> tuple[str, str] | str:
    """(chromium, chromedriver) paths, installing Debian's packages when missing; else the
    reason they are not available."""
    chrome, drv = _found()
    if chrome and drv:
        return chrome, drv
    if not shutil.which("apt-get"):
        return "chromium/chromedriver missing and no apt-get to install them"
    if os.geteuid() != 0:
        return (
            "chromium/chromedriver missing and not root: apt-get install chromium chromium-driver"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with FileLock(os.path.join(tempfile.gettempdir(), "workbook-apt.lock")):
        chrome, drv = _found()
        if not (chrome and drv):
            cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:  # stale package lists on a fresh machine
                subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
                r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["?"]
                return f"apt-get install {' '.join(PACKAGES)} failed: {tail[0]}"
    chrome, drv = _found()
    return (chrome, drv) if chrome and drv else "chromium/chromedriver still missing after install"


def loud_skip(reason: str) -> None:
    """Skip, and say so where a person reading the CI log will see it."""
    import pytest

    msg = f"BROWSER TESTS SKIPPED: {reason}"
    print("\n" + "!" * len(msg) + f"\n{msg}\n" + "!" * len(msg), file=sys.__stderr__, flush=True)
    pytest.skip(msg)


def cjk_fontconfig(folder: Path) -> Path:
    """A fontconfig file in ``folder``: the system's configuration plus the ``mplfonts`` fonts
    (Noto Sans CJK SC), with its cache in ``folder`` (the system cache may not be writable)."""
    from importlib import resources
    from xml.sax.saxutils import escape

    fonts = Path(str(resources.files("mplfonts") / "fonts"))
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{escape(str(fonts))}</dir>\n"
        f"  <cachedir>{escape(str(folder / 'cache'))}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def start(chrome: str, chromedriver: str, profile: Path):
    """A headless Chromium WebDriver that records the browser console and has a CJK font."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument("--window-size=1280,900")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = dict(os.environ, FONTCONFIG_FILE=str(cjk_fontconfig(profile / "fontconfig")))
    service = Service(executable_path=chromedriver, env=env)
    return webdriver.Chrome(service=service, options=opts)


IMAGES_OK_JS = """
return Array.from(document.images).map(i => [i.currentSrc.slice(0, 40), i.complete && i.naturalWidth > 0]);
"""


def open_page(driver, path: Path) -> dict:
    """Open ``path`` from file:// and report what a reader would meet: console errors, images
    that did not load, the page's height, and whether any script ran."""
    driver.get(path.resolve().as_uri())
    images = driver.execute_script(IMAGES_OK_JS)
    logs = driver.get_log("browser")
    return {
        "title": driver.title,
        "errors": [e["message"] for e in logs if e["level"] == "SEVERE"],
        "images": len(images),
        "broken_images": [src for src, ok in images if not ok],
        "height": driver.execute_script("return document.documentElement.scrollHeight"),
        "xss": driver.execute_script("return window.__xss || null"),
    }


def screenshot(driver, height: int, out: Path, max_height: int = 20000) -> Path:
    """A full-page screenshot (up to ``max_height`` pixels tall) saved for review."""
    import base64

    h = min(max(int(height), 900), max_height)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1280, "height": h, "scale": 1},
        },
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    return out
