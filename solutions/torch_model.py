"""BatchNorm and Dropout in a PyTorch model: reference solution (the course notebook's network)."""

import torch
from torch import nn


def build_model(in_features, hidden, classes, p=0.5):
    """fc1 -> BatchNorm1d -> ReLU -> Dropout(p) -> fc2, mapping (N, D) to scores (N, C)."""
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(hidden, classes),
    )


def evaluate(model, x):
    """Scores (N, C) in evaluation mode without gradients; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(was_training)


def freeze_bn(model):
    """BatchNorm layers in evaluation mode (fixed running statistics) with gamma and beta fixed."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.eval()
            for parameter in module.parameters():
                parameter.requires_grad_(False)
