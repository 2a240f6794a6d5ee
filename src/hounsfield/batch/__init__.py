"""Cohorts: exam discovery, a resumable SQLite ledger, local or Dask workers, exports."""

from .exams import Exam, find_exams
from .export import export_results
from .ledger import Ledger
from .runner import BatchSummary, run_batch, run_exam

__all__ = ["BatchSummary", "Exam", "Ledger", "export_results", "find_exams", "run_batch", "run_exam"]
