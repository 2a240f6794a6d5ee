"""Is CAC-related signal present in the network inputs? Hand-made features + logistic regression (5-fold CV).

Usage: PYTHONPATH=src python3 benchmarks/cxr_signal_probe.py DRR/labels.csv

Features of the heart/mediastinum cut-out at 224 px (as the bundled model sees it): per cell of an 8 x 8 grid the
maximum of a white top-hat (bright specks < 5 px) and the mean intensity. A CNN that learns should beat this.
"""
import json
import sys
import time

import numpy as np
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from hounsfield.cxr.data import read_labels_csv, load_inputs
from hounsfield.cxr.preprocess import preset, HEART_REGION
t0 = time.time()
recs = read_labels_csv(sys.argv[1])
x = load_inputs([r.image for r in recs], preset(224, True, HEART_REGION), np.float32)[:, 0]
y = np.array([r.cac for r in recs]) > 0
feats = []
for im in x:
    th = im - ndimage.grey_opening(im, size=(5, 5))  # bright specks smaller than 5 px
    g = th.reshape(8, 28, 8, 28)
    feats.append(np.r_[g.max(axis=(1, 3)).ravel(), np.percentile(th, [99, 99.9]), im.reshape(8, 28, 8, 28).mean(axis=(1, 3)).ravel()])
F = np.array(feats)
cv = StratifiedKFold(5, shuffle=True, random_state=0)
out = {}
for name, cols in (("top-hat maxima (64 cells) + percentiles", slice(0, 66)), ("mean intensity (64 cells)", slice(66, 130)), ("all", slice(0, 130))):
    p = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)), F[:, cols], y, cv=cv, method="predict_proba")[:, 1]
    out[name] = round(float(roc_auc_score(y, p)), 3)
out["seconds"] = round(time.time() - t0, 1)
print(json.dumps(out))
