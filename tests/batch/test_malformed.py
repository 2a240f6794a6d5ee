"""A corpus of 30+ malformed inputs through a real batch: one-line errors, no crash, the control done."""

import csv

from hounsfield.batch import run_batch
from hounsfield.batch.malformed import CASES, NOT_CT, READABLE, write_corpus


def test_malformed_corpus_never_crashes_a_worker(tmp_path):
    names = write_corpus(tmp_path / "corpus")
    assert len(names) >= 30
    s = run_batch(tmp_path / "corpus", tmp_path / "out", task="convert", workers=2)
    with open(tmp_path / "out" / "results.csv") as fh:
        rows = {r["exam"].split("/")[0]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(CASES) | {"control_valid"}
    assert rows["control_valid"]["status"] == "done"
    for name in CASES:
        r = rows[name]
        if name in READABLE or name in NOT_CT:
            assert r["status"] == "done", (name, r["error"])
            continue
        assert r["status"] == "failed", name
        err = r["error"]
        assert err and "\n" not in err and "internal error" not in err, (name, err)
    assert s.failed == len(CASES) - len(READABLE) - len(NOT_CT)
