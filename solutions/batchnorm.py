"""Batch Normalization for fully connected layers: reference solution.

Conventions (as PyTorch's nn.BatchNorm1d): statistics over the batch axis (axis 0), the
biased variance for normalising, eps inside the square root, and running statistics that
store the unbiased variance.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode forward pass.

    x: (N, D); gamma, beta: (D,). Returns out (N, D), same dtype as x, and a cache for the
    backward pass. Contract: raises ValueError when N < 2; float32 in, float32 out.
    """
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"batch normalisation needs more than one sample per feature in training, got N={n}")
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    """Gradients of the training-mode forward pass.

    dout: (N, D) upstream gradient. Returns dx (N, D), dgamma (D,), dbeta (D,).
    Contract: float32 in, float32 out.
    """
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # The mean and the variance depend on every sample: their paths give the two sums.
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """One update of the running statistics, as nn.BatchNorm1d does in training.

    running_mean, running_var: (D,), or None before the first update (PyTorch starts from
    0 and 1); x: (N, D). Returns new arrays (the inputs are left alone):
    running = (1 - momentum) * running + momentum * batch statistic, with the unbiased batch
    variance. Contract: raises ValueError when N < 2; float32 in, float32 out.
    """
    n, features = x.shape
    if n < 2:
        raise ValueError(f"the unbiased variance needs at least two samples, got N={n}")
    if running_mean is None:
        running_mean = np.zeros(features, dtype=x.dtype)
    if running_var is None:
        running_var = np.ones(features, dtype=x.dtype)
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    new_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)
    return new_mean, new_var


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation-mode forward pass: normalise with the running statistics.

    x: (N, D) with any N >= 1; the other arrays (D,). Returns out (N, D).
    Contract: float32 in, float32 out.
    """
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
