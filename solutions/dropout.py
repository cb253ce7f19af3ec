"""Inverted Dropout: reference solution.

p is the probability of dropping a unit (as nn.Dropout). In training, survivors are scaled by
1 / (1 - p) so the expected output equals the input; in evaluation dropout is the identity.
"""

import numpy as np


def dropout_forward(x, p, train, rng):
    """x: array of any shape; p in [0, 1]; train: bool; rng: numpy.random.Generator.

    Returns out (same shape and dtype as x) and a cache for the backward pass.
    Contract: raises ValueError when p is outside [0, 1]; p = 1 gives zeros (no NaN); float32
    in, float32 out.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not train or p == 0.0:
        return x.copy(), (None, p)
    keep = rng.random(x.shape) >= p
    if p == 1.0:
        return np.zeros_like(x), (keep, p)
    return x * keep / (1.0 - p), (keep, p)


def dropout_backward(dout, cache):
    """dout: upstream gradient, shape of x. Returns dx, using the forward pass's mask.
    Contract: p = 1 gives zeros (no NaN); dx has the dtype of dout."""
    keep, p = cache
    if keep is None:
        return dout.copy()
    if p == 1.0:
        return np.zeros_like(dout)
    return dout * keep / (1.0 - p)
