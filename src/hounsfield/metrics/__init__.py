"""Metric helpers shared by the subsystems (wrappers around scikit-learn / MONAI).

Import the submodules directly, e.g. ``from hounsfield.metrics.classification import auroc``.
"""
