"""Temperature scaling (Guo et al. 2017): one temperature per head, fitted on validation logits.

T is kept in [T_MIN, T_MAX]: a head that separates the validation set perfectly
(not-fundus here) drives the NLL optimum towards T -> 0, i.e. arbitrarily sharp
probabilities that would be overconfident on photos from new cameras.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

T_MIN, T_MAX = 0.25, 20.0


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """T minimising the NLL of logits / T (multi-class if logits is (N, K), else binary)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    t = torch.as_tensor(np.asarray(y))
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def nll():
        opt.zero_grad()
        s = z / log_t.exp()
        loss = F.cross_entropy(s, t.long()) if z.ndim == 2 else F.binary_cross_entropy_with_logits(s, t.double())
        loss.backward()
        return loss

    opt.step(nll)
    return float(np.clip(log_t.exp().item(), T_MIN, T_MAX))

