"""Human-readable outputs: self-contained HTML pages and figures."""

from .cohort import write_cohort_html
from .html import embed_png, page

__all__ = ["embed_png", "page", "write_cohort_html"]
