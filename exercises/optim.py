"""The SGD step that trains gamma and beta (and any other parameter), as torch.optim.SGD.

PyTorch's SGD with momentum mu and weight decay wd does, for each step:

    g = grad + wd * param             (weight decay is added to the gradient)
    v = g                on the first step (no buffer yet)
    v = mu * v + g       on later steps   (dampening 0)
    param = param - lr * v

With momentum 0 there is no buffer: param = param - lr * g.
Note that the learning rate multiplies the buffer at each step, so the buffer does not
depend on lr: this matters when lr changes during training (a schedule).
"""

import numpy as np


def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    """One step of torch.optim.SGD (dampening 0, no Nesterov).

    Args:
        param: current parameter values, any shape (e.g. gamma, shape (D,)).
        grad: gradient of the loss with respect to param, same shape.
        lr: learning rate for this step.
        velocity: the momentum buffer returned by the previous step, or None before the first.
        momentum: momentum factor mu (0 disables momentum).
        weight_decay: L2 penalty factor wd.

    Returns:
        (new_param, new_velocity): new arrays (param, grad and velocity stay unchanged);
        new_velocity is the buffer PyTorch keeps, or None when momentum is 0.

    Contract (a rule of this kit's API, checked apart from the mathematics):
        - float32 inputs give a float32 new_param and new_velocity (the dtype of param).
    """
    raise NotImplementedError("sgd_step: one torch.optim.SGD step")
