"""The SGD step that updates gamma and beta: reference solution (as torch.optim.SGD)."""


def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    """One step of torch.optim.SGD with dampening 0 and no Nesterov momentum.

    param, grad: arrays of the same shape. velocity: the momentum buffer from the previous
    step (None before the first). Returns (new_param, new_velocity) as new arrays;
    new_velocity is None when momentum is 0. Contract: float32 in, float32 out.
    """
    step = grad + weight_decay * param if weight_decay else grad
    if momentum:
        velocity = step.copy() if velocity is None else momentum * velocity + step
        step = velocity
    else:
        velocity = None
    return param - lr * step, velocity
