"""Spatial Batch Normalization for convolutional layers: reference solution.

As nn.BatchNorm2d: one mean and variance per channel, over the batch and both spatial
axes (N, H, W); gamma and beta have one value per channel.
"""

import numpy as np

AXES = (0, 2, 3)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode forward pass.

    x: (N, C, H, W); gamma, beta: (C,). Returns out (N, C, H, W) and a cache.
    Contract: raises ValueError when a channel has a single value (N * H * W < 2); float32 in,
    float32 out.
    """
    n, channels, height, width = x.shape
    if n * height * width < 2:
        raise ValueError("spatial batch normalisation needs more than one value per channel in training")
    mean = x.mean(axis=AXES, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=AXES, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    scale = gamma.reshape(1, channels, 1, 1)
    out = scale * x_hat + beta.reshape(1, channels, 1, 1)
    return out, (x_hat, scale, inv_std)


def spatial_batchnorm_backward(dout, cache):
    """Gradients of the forward pass: dout (N, C, H, W) -> dx (N, C, H, W), dgamma (C,), dbeta (C,).
    Contract: float32 in, float32 out."""
    x_hat, scale, inv_std = cache
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dbeta = dout.sum(axis=AXES)
    dgamma = (dout * x_hat).sum(axis=AXES)
    dx_hat = dout * scale
    dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=AXES, keepdims=True)
                        - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True))
    return dx, dgamma, dbeta
