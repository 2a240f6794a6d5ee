"""Rendering a report in a real headless Chromium (tests and documentation screenshots)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "render_dom", "screenshot"]

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout)


def render_dom(html_file: str | os.PathLike) -> tuple[str, int, int]:
    """The DOM after scripts ran, and (images decoded, images on the page)."""
    url = Path(html_file).resolve().as_uri()
    r = _run(["--virtual-time-budget=5000", "--dump-dom", url])
    m = re.search(r'id="imgcheck"[^>]*data-loaded="(\d+)"[^>]*data-total="(\d+)"', r.stdout)
    if not m:
        raise RuntimeError(f"the page's image check did not run: {r.stderr[-300:]}")
    return r.stdout, int(m.group(1)), int(m.group(2))


def screenshot(html_file: str | os.PathLike, png: str | os.PathLike, width: int = 1200, height: int = 1600) -> Path:
    url = Path(html_file).resolve().as_uri()
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={png}", f"--window-size={width},{height}", "--hide-scrollbars", url])
    if not png.exists():
        raise RuntimeError("Chromium wrote no screenshot")
    return png
