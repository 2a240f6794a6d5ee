"""hounsfield works offline: importing it and the libraries it drives opens no network connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, socket, sys
calls = []
def refuse(*a, **k):
    calls.append(repr(a[:1]))
    raise OSError("network disabled by the test")
socket.create_connection = refuse
socket.getaddrinfo = refuse
import hounsfield
from hounsfield.cxr.train import _augmenter
from hounsfield.clot.augment import augment_2d
augment_2d(0)
_augmenter(0)
import albumentations
print(json.dumps({"calls": calls, "env": __import__("os").environ.get("NO_ALBUMENTATIONS_UPDATE")}))
"""


def test_importing_the_augmentation_libraries_opens_no_connection():
    pytest.importorskip("albumentations")
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    res = subprocess.run([sys.executable, "-W", "error::UserWarning:albumentations.check_version", "-c", PROBE],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got == {"calls": [], "env": "1"}
