"""Temperature-scaled probabilities from model logits.

One definition for the Analyzer and for training's calibration, validation and
export checks, so the probabilities a card reports are the ones the app shows.
"""

from __future__ import annotations

import numpy as np


def probabilities(logits, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of (N, K) logits; sigmoid of anything else (binary heads, maps)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    if z.ndim == 2:
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    return 1 / (1 + np.exp(-z))
