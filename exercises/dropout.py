"""Inverted Dropout (as PyTorch's nn.Dropout).

p is the probability of DROPPING a unit (nn.Dropout(p=0.5) drops half of them).
In training, each unit is kept independently with probability 1 - p, and kept units are
scaled by 1 / (1 - p), so that the expected value of the output equals the input.
In evaluation (train=False), dropout does nothing: the output equals the input.
Draw all randomness from the `rng` argument (a numpy.random.Generator, e.g. rng.random),
never from np.random directly, so that the same seed gives the same mask.

Each function's docstring ends with its contract: rules of this kit's API that are not the
mathematics (p validated, p = 1, float32 kept). They are checked apart and weigh a small
share of the exercise's points together (course.yml's contract_share, 10 % by default).
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

    Contract:
        - p outside [0, 1] raises ValueError.
        - p = 1 in training gives all zeros, without NaN (no division by 1 - p = 0).
        - float32 inputs give a float32 out (the dtype of x).
    """
    raise NotImplementedError("dropout_forward: draw a keep mask, apply it and rescale")


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward, through the forward pass's mask and scale.

    Args:
        dout: upstream gradient, the shape of x.
        cache: what dropout_forward returned.

    Returns:
        dx: the shape and dtype of dout.

    Contract:
        - p = 1 in training gives an all-zero dx, without NaN.
        - float32 inputs give a float32 dx (the dtype of dout): a mask or scale kept in float64
          must not turn it into float64.
    """
    raise NotImplementedError("dropout_backward: route the gradient through the same mask")
