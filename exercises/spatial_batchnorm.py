"""Spatial Batch Normalization, for convolutional layers (as PyTorch's nn.BatchNorm2d).

Inputs have shape (N, C, H, W). Each channel gets one mean and one variance, computed over
the batch and both spatial axes (N, H and W together), and one gamma and one beta.
Same conventions as batchnorm.py: biased variance, eps inside the square root, inputs not
modified, and a contract at the end of each docstring (rules of this kit's API, checked apart
from the mathematics). You may reuse your functions from batchnorm.py
(`from batchnorm import batchnorm_forward, batchnorm_backward`): think about which
transpose and reshape turn (N, C, H, W) into a (N*H*W, C) batch, and back.
"""

import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode forward pass.

    Args:
        x: inputs, shape (N, C, H, W).
        gamma, beta: scale and shift, shape (C,).
        eps: added to the variance before the square root.

    Returns:
        out: shape (N, C, H, W), dtype of x.
        cache: what spatial_batchnorm_backward needs.

    Raises:
        ValueError: if a channel has a single value (N * H * W < 2), as PyTorch does.

    Contract:
        - N * H * W < 2 raises ValueError; N = 1 with H * W >= 2 is a valid batch.
        - float32 inputs give a float32 out (the dtype of x).
    """
    raise NotImplementedError("spatial_batchnorm_forward: normalise each channel over N, H and W")


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of spatial_batchnorm_forward.

    Args:
        dout: upstream gradient, shape (N, C, H, W).
        cache: what spatial_batchnorm_forward returned.

    Returns:
        dx: shape (N, C, H, W); dgamma and dbeta: shape (C,).

    Contract:
        - float32 inputs give float32 gradients (the dtype of dout).
    """
    raise NotImplementedError("spatial_batchnorm_backward: the batchnorm gradient, per channel")
