"""Small, dependency-free metrics every family reports: F1 per class, ROC AUC, calibration error."""

from __future__ import annotations

import numpy as np


def f1_per_class(y_true, y_pred, classes) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {}
    for c in classes:
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        out[c] = float(2 * tp / max(2 * tp + fp + fn, 1))
    return out


def auc(y_true, score) -> float:
    """ROC AUC by the Mann-Whitney rank statistic (ties count half).

    Ranks, not all pairs, so it also serves millions of map patches.
    """
    y = np.asarray(y_true).ravel().astype(bool)
    s = np.asarray(score, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]  # 1-based, ties averaged
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ece(probs: np.ndarray, y_true: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top-class confidence (probs (N, K), or (N,) binary P(1))."""
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true)
    if probs.ndim == 1:
        probs = np.stack([1 - probs, probs], 1)
    conf, pred = probs.max(1), probs.argmax(1)
    correct = (pred == y_true).astype(np.float64)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)
