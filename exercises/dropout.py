"""Inverted Dropout (as PyTorch's nn.Dropout).

p is the probability of DROPPING a unit (nn.Dropout(p=0.5) drops half of them).
In training, each unit is kept independently with probability 1 - p, and kept units are
scaled by 1 / (1 - p), so that the expected value of the output equals the input.
In evaluation (train=False), dropout does nothing: the output equals the input.
Draw all randomness from the `rng` argument (a numpy.random.Generator, e.g. rng.random),
never from np.random directly, so that the same seed gives the same mask.
"""

import numpy as np


def dropout_forward(x, p, train, rng):
    """Forward pass of inverted dropout.

    Args:
        x: inputs, any shape (e.g. (N, D), or (N, C, H, W) after a convolution).
        p: drop probability, 0 <= p <= 1. p = 0 keeps everything; p = 1 drops everything
           (the output is all zeros, without dividing by zero).
        train: True in training, False in evaluation.
        rng: numpy.random.Generator to draw the mask from.

    Returns:
        out: same shape and dtype as x.
        cache: what dropout_backward needs (the mask, at least).

    Raises:
        ValueError: if p is not in [0, 1].
    """
    raise NotImplementedError("dropout_forward: draw a keep mask, apply it and rescale")


def dropout_backward(dout, cache):
    """Backward pass: dout has the shape of x; returns dx. Use the forward pass's mask."""
    raise NotImplementedError("dropout_backward: route the gradient through the same mask")
