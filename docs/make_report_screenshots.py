"""Screenshots of a screening report and a cohort page, rendered by headless Chromium.

Usage: python docs/make_report_screenshots.py [DEMO_DIR]

DEMO_DIR is the output of ``hounsfield demo -o DEMO_DIR`` (run first when
absent). A small batch of synthetic patients gives the cohort page. Writes
docs/report_screenshot.png and docs/cohort_screenshot.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from hounsfield.batch import run_batch
from hounsfield.phantoms import generate_patient, write_patient
from hounsfield.report.browser import render_dom, screenshot

DOCS = Path(__file__).parent


def main() -> None:
    demo = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("hounsfield-demo")
    report = demo / "screen_non_gated" / "report.html"
    if not report.exists():
        subprocess.run([sys.executable, "-m", "hounsfield", "demo", "-o", str(demo)], check=True)
    _, loaded, total = render_dom(report)
    print(f"report: {loaded}/{total} images loaded")
    screenshot(report, DOCS / "report_screenshot.png", width=1100, height=2600)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(4):
            r = generate_patient(seed=11, index=i, matrix=160, gated_matrix=160, thickness=3.0)
            write_patient(r, tmp / "root" / r.patient_id, formats=("nifti",), masks=False)
        run_batch(tmp / "root", tmp / "out", workers=2)
        _, loaded, total = render_dom(tmp / "out" / "cohort.html")
        print(f"cohort: {loaded}/{total} images loaded")
        screenshot(tmp / "out" / "cohort.html", DOCS / "cohort_screenshot.png", width=1100, height=1800)


if __name__ == "__main__":
    main()
