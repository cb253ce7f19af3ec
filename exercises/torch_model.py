"""BatchNorm and Dropout in a PyTorch model, as in the course notebook.

This is the one exercise where you use PyTorch (torch and torch.nn); the others are NumPy.
The notebook combines the two layers like this, for a hidden layer of a classifier:

    fully connected -> BatchNorm1d -> ReLU -> Dropout -> fully connected

Three functions: build that network, predict with it, and freeze its BatchNorm layer for
fine-tuning. The checks never look at your code: they build your model, give it known weights
and running statistics, and watch what it does (the activations between the layers, the
running statistics, the mode of every module, which parameters change in training).

Rules the checks rely on:
    - The network holds exactly two nn.Linear layers (in_features -> hidden and
      hidden -> classes) and one nn.BatchNorm1d layer over the hidden features, with
      PyTorch's default settings (eps, momentum, learnable gamma and beta, running
      statistics); the checks find these three layers by their type.
      ReLU and Dropout may be modules or functional calls.
    - The output is the second layer's scores, shape (N, classes): no softmax.
    - The checks run your model in float64 (they call model.double()): do not cast inside
      forward.
    - evaluate(model, x) returns a tensor of shape (N, classes).
"""

import torch
from torch import nn


def build_model(in_features, hidden, classes, p=0.5):
    """The notebook's network: fc1 -> BatchNorm1d -> ReLU -> Dropout(p) -> fc2.

    Args:
        in_features: D, the number of input features.
        hidden: H, the width of the hidden layer (fc1's outputs, BatchNorm's features).
        classes: C, the number of outputs (fc2's outputs).
        p: the probability that Dropout DROPS a unit during training (as nn.Dropout's p).

    Returns:
        An nn.Module (nn.Sequential or a class of your own) mapping x of shape (N, D) to
        scores of shape (N, C). In training mode BatchNorm normalises with the batch's
        statistics (and updates its running statistics) and Dropout drops units; in
        evaluation mode BatchNorm uses its running statistics and Dropout does nothing.
    """
    raise NotImplementedError("build_model: fc1 -> BatchNorm1d -> ReLU -> Dropout -> fc2")


def evaluate(model, x):
    """The model's predictions for x, as at validation or test time.

    Args:
        model: a model built by build_model, in training or in evaluation mode.
        x: a tensor of shape (N, D).

    Returns:
        The scores, a tensor of shape (N, C), computed:
        - in evaluation mode (BatchNorm uses, and does not change, its running statistics;
          Dropout is off), so the same x always gives the same scores;
        - without gradient tracking (no autograd graph is built during the forward pass);
        - leaving the model in the mode it found it: every module back in training mode if it
          was in training mode, in evaluation mode if it was in evaluation mode.
    """
    raise NotImplementedError("evaluate: predictions in evaluation mode, without gradients")


def freeze_bn(model):
    """Freeze every BatchNorm layer of `model` for fine-tuning; the rest keeps training.

    A fine-tuning loop calls, at every epoch: model.train(), then freeze_bn(model), then
    forward, backward and an optimizer step on the parameters that require gradients. Note
    that model.train() puts every module back in training mode, BatchNorm included, which is
    why the loop calls freeze_bn again after it (so calling it twice must be harmless).

    After freeze_bn(model), during those training steps:
        - BatchNorm normalises with its stored running statistics (as in evaluation), not
          with the batch's own statistics;
        - its running statistics no longer change;
        - gamma and beta (its weight and bias) no longer change: no gradient is computed
          for them;
        - everything else trains as before: the fully connected layers still get
          gradients, and Dropout still drops units.

    Returns:
        Nothing (the model is changed in place).
    """
    raise NotImplementedError("freeze_bn: frozen statistics and frozen gamma and beta")
