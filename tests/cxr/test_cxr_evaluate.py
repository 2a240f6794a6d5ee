"""``hounsfield evaluate cxr``: metrics of a predictions CSV against a labels CSV (hand-computed answers)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hounsfield.cli import main
from hounsfield.cxr.evaluate import evaluate_prediction_csv
from hounsfield.cxr.predict import OUTPUT_COLUMNS


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _labels(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir(exist_ok=True)
    rows = [[f"images/p{i}.png", f"p{i}", cac] for i, cac in enumerate([0, 0, 50, 500, 20])]
    return _write(tmp_path / "labels.csv", ["image", "patient_id", "cac"], rows)


def test_hand_computed_auroc_threshold_and_matching(tmp_path):
    labels = _labels(tmp_path)
    # p4 (CAC 20) has no prediction; q9 has no label; images predicted from another folder match by file name
    preds = [[f"/elsewhere/p{i}.png", p, 0.5, c] for i, (p, c) in enumerate([(0.1, 0), (0.6, 1), (0.4, 0), (0.9, 3)])]
    preds.append(["/elsewhere/q9.png", 0.7, 0.5, 1])
    pred_csv = _write(tmp_path / "pred.csv", ["image", "p_cac_gt0", "threshold", "category"], preds)
    res = evaluate_prediction_csv(pred_csv, labels, n_boot=50)
    # positives 0.4, 0.9 vs negatives 0.1, 0.6: 3 of 4 pairs ordered -> 0.75
    assert res["n"] == 4 and res["n_cac_gt0"] == 2
    assert res["auroc_cac_gt0"]["value"] == pytest.approx(0.75)
    at = res["cac_gt0_at_threshold"]  # the model's threshold 0.5: 0.6 and 0.9 called positive
    assert res["threshold"] == 0.5 and (at["tp"], at["fp"], at["tn"], at["fn"]) == (1, 1, 1, 1)
    assert res["n_unlabelled_predictions"] == 1 and res["unlabelled_predictions"][0].endswith("q9.png")
    assert res["n_labels_without_prediction"] == 1 and res["labels_without_prediction"][0].endswith("p4.png")
    assert res["confusion_categories"][0] == [1, 1, 0, 0]  # the two CAC = 0 images: categories 0 and 1
    # an explicit threshold overrides the model's: 0.3 calls 0.4, 0.6, 0.9 positive
    at = evaluate_prediction_csv(pred_csv, labels, threshold=0.3, n_boot=50)["cac_gt0_at_threshold"]
    assert (at["tp"], at["fp"], at["tn"], at["fn"]) == (2, 1, 1, 0)


def test_cli_writes_json_and_rejects_bad_input_in_one_line(tmp_path, capsys):
    labels = _labels(tmp_path)
    pred_csv = _write(tmp_path / "pred.csv", ["image", "p_cac_gt0"],
                      [["images/p0.png", 0.2], ["images/p2.png", 0.3], ["images/p3.png", 0.8], ["images/p1.png", 0.1]])
    out = tmp_path / "m.json"
    assert main(["evaluate", "cxr", str(pred_csv), str(labels), "--json", str(out), "--n-boot", "50"]) == 0
    assert "AUROC 1.000" in capsys.readouterr().out
    assert json.loads(out.read_text())["auroc_cac_gt0"]["value"] == 1.0
    bad = _write(tmp_path / "bad.csv", ["image", "p_cac_gt0"], [["images/p0.png", 1.7]])
    other = _write(tmp_path / "other.csv", ["image", "p_cac_gt0"], [["x.png", 0.5]])
    for args in ([str(bad), str(labels)], [str(other), str(labels)], [str(pred_csv), str(labels), "--threshold", "2"]):
        capsys.readouterr()
        assert main(["evaluate", "cxr", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err and "Traceback" not in err and len(err.splitlines()) == 1


def test_predictions_of_the_bundled_model_on_real_radiographs_evaluate(tmp_path, fixtures_dir):
    """End to end on real files: 'hounsfield cxr' on the two NIH PNGs, then 'evaluate cxr' with labels."""
    imgs = sorted((fixtures_dir / "cxr").glob("*.png"))
    assert len(imgs) == 2
    pred_csv = tmp_path / "pred.csv"
    assert main(["cxr", *map(str, imgs), "--csv", str(pred_csv), "--threads", "1"]) == 0
    with open(pred_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["image"] for r in rows] == [str(i) for i in imgs] and set(OUTPUT_COLUMNS) <= set(rows[0])
    labels = _write(tmp_path / "labels.csv", ["image", "patient_id", "cac"],
                    [[str(imgs[0]), "a", 0], [str(imgs[1]), "b", 120]])
    res = evaluate_prediction_csv(pred_csv, labels, n_boot=20)
    p = [float(r["p_cac_gt0"]) for r in rows]
    assert res["n"] == 2 and res["auroc_cac_gt0"]["value"] == (1.0 if p[1] > p[0] else 0.0 if p[1] < p[0] else 0.5)
    assert res["threshold"] == pytest.approx(float(rows[0]["threshold"]), abs=1e-6)


def test_relative_prediction_paths_are_those_given_to_hounsfield_cxr(tmp_path, monkeypatch):
    """'hounsfield cxr a/p0.png ...' writes the paths as given (relative to where it ran); the same file name in
    two folders must then be told apart by the path."""
    for d in ("a", "b", "out"):
        (tmp_path / d).mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "p0.png").write_bytes(b"")
    labels = _write(tmp_path / "labels.csv", ["image", "patient_id", "cac"], [["a/p0.png", "pa", 0], ["b/p0.png", "pb", 100]])
    pred_csv = _write(tmp_path / "out" / "pred.csv", ["image", "p_cac_gt0"], [["a/p0.png", 0.2], ["b/p0.png", 0.8]])
    monkeypatch.chdir(tmp_path)
    res = evaluate_prediction_csv(pred_csv, labels, n_boot=20)
    assert res["n"] == 2 and res["auroc_cac_gt0"]["value"] == 1.0 and res["n_unlabelled_predictions"] == 0


def test_subgroups_show_a_model_that_only_tells_the_groups_apart(tmp_path, capsys):
    """--by sex: within each sex the ranking is perfect here (1.0) while the pooled AUROC is 0.75; and the
    numeric column age is cut into tertiles."""
    (tmp_path / "images").mkdir()
    rows = [["images/p0.png", "p0", 0, "F", 40], ["images/p1.png", "p1", 0, "M", 50], ["images/p2.png", "p2", 50, "F", 60],
            ["images/p3.png", "p3", 500, "M", 70]]
    labels = _write(tmp_path / "labels.csv", ["image", "patient_id", "cac", "sex", "age"], rows)
    pred_csv = _write(tmp_path / "pred.csv", ["image", "p_cac_gt0"],
                      [[f"images/p{i}.png", p] for i, p in enumerate([0.1, 0.6, 0.4, 0.9])])
    res = evaluate_prediction_csv(pred_csv, labels, n_boot=20, by="sex")
    assert res["auroc_cac_gt0"]["value"] == pytest.approx(0.75)
    g = res["by"]["groups"]
    assert set(g) == {"F", "M"} and g["F"]["auroc_cac_gt0"]["value"] == 1.0 and g["M"]["auroc_cac_gt0"]["value"] == 1.0
    assert (g["F"]["sensitivity"], g["F"]["specificity"]) == (0.0, 1.0)  # threshold 0.5: 0.4 missed, 0.1 negative
    many = [[f"images/q{i}.png", f"q{i}", 10 * (i % 2), "F", 40 + i] for i in range(12)]
    labels2 = _write(tmp_path / "labels2.csv", ["image", "patient_id", "cac", "sex", "age"], many)
    pred2 = _write(tmp_path / "pred2.csv", ["image", "p_cac_gt0"], [[r[0], 0.5] for r in many])
    assert len(evaluate_prediction_csv(pred2, labels2, n_boot=20, by="age")["by"]["groups"]) == 3  # tertiles
    assert main(["evaluate", "cxr", str(pred_csv), str(labels), "--by", "sex", "--n-boot", "20"]) == 0
    assert "sex = F: 2 images" in capsys.readouterr().out
    assert main(["evaluate", "cxr", str(pred_csv), str(labels), "--by", "height"]) == 2
