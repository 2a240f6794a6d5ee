"""cohort.html in a real headless Chromium: every image decodes, the key numbers are on the page."""

import pytest

from hounsfield.batch import run_batch
from hounsfield.report.browser import find_chromium, render_dom, screenshot

from ..batch.conftest import make_cohort

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (apt-get install chromium)")


def test_cohort_page_in_chromium(tmp_path):
    root = make_cohort(tmp_path / "root", n_dicom=3)
    run_batch(root, tmp_path / "out", task="convert", workers=1)
    dom, loaded, total = render_dom(tmp_path / "out" / "cohort.html")
    assert total >= 2 and loaded == total
    assert "5 exams: done 4, failed 1" in dom
    assert "not a readable NIfTI" in dom  # the failure is listed with its error
    png = screenshot(tmp_path / "out" / "cohort.html", tmp_path / "cohort.png")
    assert png.stat().st_size > 10_000


def test_broken_image_is_detected(tmp_path):
    from hounsfield.report.html import page

    f = tmp_path / "p.html"
    f.write_text(page("t", '<img src="data:image/png;base64,AAAA">'))
    _, loaded, total = render_dom(f)
    assert (loaded, total) == (0, 1)
