"""One step of SGD as torch.optim.SGD: new_param, new_velocity = sgd_step(param, grad, lr,
velocity, momentum, weight_decay).

The variants get the inputs of the step being checked (the param and velocity the student's
previous step returned, which that step's check accepted). torch's step is
``g = grad + weight_decay * param``, ``b = g`` at the first step, else ``momentum * b + g``,
then ``param - lr * b`` (``param - lr * g`` without momentum, and no buffer).

The checks compare new_param before new_velocity, so a velocity variant is only reached when
the student's new_param was right: it must describe a mistake that leaves the parameter right
at that step (at the first step, typically), or it would name the wrong idea.
"""

from __future__ import annotations

from autograder.grading.misconceptions import variant

EXERCISE = "bn_sgd_step"


def torch_step(param, grad, velocity, momentum, weight_decay):
    """(the direction torch steps along, its momentum buffer or None)."""
    g = grad + weight_decay * param
    if not momentum:
        return g, None
    buffer = g if velocity is None else momentum * velocity + g
    return buffer, buffer


@variant("gradient_ascent", EXERCISE, "new_param")
def _(param, grad, lr, velocity, momentum, weight_decay):
    return param + lr * torch_step(param, grad, velocity, momentum, weight_decay)[0]


@variant("weight_decay_ignored", EXERCISE, "new_param")
def _(param, grad, lr, velocity, momentum, weight_decay):
    return param - lr * torch_step(param, grad, velocity, momentum, 0.0)[0]


@variant("weight_decay_after_momentum", EXERCISE, "new_param")
def _(param, grad, lr, velocity, momentum, weight_decay):
    """Decay added to the step, not to the gradient: ``param - lr * (b + wd * param)``
    with b built from the raw gradients (the same param as torch at the first step)."""
    step = torch_step(param, grad, velocity, momentum, 0.0)[0]
    return param - lr * (step + weight_decay * param)


@variant("weight_decay_after_momentum", EXERCISE, "new_velocity")
def _(param, grad, lr, velocity, momentum, weight_decay):
    """A buffer of raw gradients behind a right param: the decay went to the step, not the
    buffer. (A buffer without decay behind a param without decay fails at the param first,
    as weight_decay_ignored.)"""
    return torch_step(param, grad, velocity, momentum, 0.0)[1]


def lr_in_velocity(sign: float):
    """``v = mu * v - lr * g; param += v`` (sign -1) or ``v = mu * v + lr * g; param -= v``."""

    def function(param, grad, lr, velocity, momentum, weight_decay):
        if not momentum:
            raise ValueError("no buffer without momentum")
        g = grad + weight_decay * param
        return sign * lr * g if velocity is None else momentum * velocity + sign * lr * g

    return function


for _sign in (-1.0, 1.0):
    variant("momentum_lr_in_velocity", EXERCISE, "new_velocity")(lr_in_velocity(_sign))


@variant("momentum_dampened", EXERCISE, "new_param")
def _(param, grad, lr, velocity, momentum, weight_decay):
    """``v = mu * v + (1 - mu) * g`` (an average of gradients), from v = 0 or from v = g at
    the first step: either way the param is wrong as soon as the buffer is."""
    if not momentum:
        raise ValueError("no buffer without momentum")
    g = grad + weight_decay * param
    buffer = (1 - momentum) * g if velocity is None else momentum * velocity + (1 - momentum) * g
    return param - lr * buffer


@variant("momentum_not_applied", EXERCISE, "new_param")
def _(param, grad, lr, velocity, momentum, weight_decay):
    """The buffer is computed (and returned) but the step uses the plain gradient."""
    return param - lr * (grad + weight_decay * param)

