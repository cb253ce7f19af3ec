"""Batch Normalization for fully connected layers.

Fill in the four functions below with NumPy (no loops over samples are needed; torch is not
available here). Run `grade` after each change: it compares your results with PyTorch's
nn.BatchNorm1d and tells you what is off.

Conventions (the same as PyTorch):
- x has shape (N, D): N samples in the mini-batch, D features. Statistics are computed per
  feature, over the batch axis (axis 0).
- Training normalises with the *biased* batch variance (divide by N), with eps inside the
  square root:  x_hat = (x - mean) / sqrt(var + eps),  out = gamma * x_hat + beta.
- Never modify the input arrays in place; return new arrays.

Each function's docstring ends with its contract: rules of this kit's API that are not the
mathematics (an error for a batch of one sample, float32 kept). They are checked apart and
weigh a small share of an exercise's points together (course.yml's contract_share, 10 %
by default).
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode forward pass of Batch Normalization.

    Args:
        x: inputs, shape (N, D).
        gamma: scale, shape (D,).
        beta: shift, shape (D,).
        eps: small constant added to the variance before the square root.

    Returns:
        out: normalised, scaled and shifted inputs, shape (N, D), dtype of x.
        cache: anything your batchnorm_backward needs (a tuple or dict of arrays, say).

    Raises:
        ValueError: if N < 2 (a single sample has no batch statistics; PyTorch refuses it too).

    Contract:
        - N < 2 raises ValueError.
        - float32 inputs give a float32 out (out has the dtype of x).
    """
    raise NotImplementedError("batchnorm_forward: compute the batch mean and variance, normalise, scale and shift")


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward.

    Args:
        dout: upstream gradient dLoss/dout, shape (N, D).
        cache: what batchnorm_forward returned.

    Returns:
        dx: gradient with respect to x, shape (N, D).
        dgamma: gradient with respect to gamma, shape (D,)  (not (1, D)).
        dbeta: gradient with respect to beta, shape (D,).

    Remember that the batch mean and variance depend on every sample of x.

    Contract:
        - float32 inputs give float32 gradients (dx, dgamma and dbeta have the dtype of dout).
    """
    raise NotImplementedError("batchnorm_backward: differentiate through the normalisation")


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    """One training-time update of the running statistics, as nn.BatchNorm1d does it.

        new_running = (1 - momentum) * running + momentum * batch_statistic

    where the batch variance stored is the *unbiased* one (divide by N - 1), as in PyTorch.

    Args:
        running_mean, running_var: current running statistics, shape (D,), or None before
            the first update: then start from PyTorch's initial values, running_mean = 0
            and running_var = 1 (for every feature).
        x: the training batch, shape (N, D).
        momentum: weight of the new batch statistics (PyTorch's default 0.1).

    Returns:
        (new_running_mean, new_running_var): new arrays of shape (D,); the inputs stay unchanged.

    Raises:
        ValueError: if N < 2 (the unbiased variance needs two samples).

    Contract:
        - N < 2 raises ValueError.
        - float32 inputs give float32 statistics (the dtype of x).
    """
    raise NotImplementedError("update_running_stats: blend the batch statistics into the running ones")


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluation-mode forward pass: normalise with the running statistics.

    Args:
        x: inputs, shape (N, D); any N >= 1 (a single sample is fine at inference).
        gamma, beta: scale and shift, shape (D,).
        running_mean, running_var: statistics collected during training, shape (D,).
        eps: as in batchnorm_forward.

    Returns:
        out: shape (N, D). The running statistics are used as they are, never updated.

    Contract:
        - float32 inputs give a float32 out (the dtype of x).
    """
    raise NotImplementedError("batchnorm_eval: normalise with the running statistics")
