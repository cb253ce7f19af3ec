"""bn_sgd_step: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES), run by tests/test_mutations.py
and tests/test_seed_stability.py; and the tests particular to this exercise."""

from dataclasses import dataclass

from support import Mutant

EXERCISE = "bn_sgd_step"
MOMENTUM_CASES = ["momentum_schedule", "momentum_weight_decay_schedule"]
WEIGHT_DECAY_CASES = ["weight_decay_only", "momentum_weight_decay_schedule"]
ALL_CASES = ["plain_step", "weight_decay_only", *MOMENTUM_CASES]
# Checks that run with momentum and weight decay together.
WITH_BOTH = {"float32_stays_float32": "values", "inputs_not_modified": "values",
             "two_parameters_alternately": "values"}


def matches(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"matches_torch_sgd[{case}]": stage for case in cases}


@dataclass(frozen=True)
class Whole(Mutant):
    """A mutant given as a whole replacement of the student's file."""

    def source(self) -> str:
        return self.new


def whole(name: str, source: str, fails: dict[str, str], rules: dict[str, str] | None = None) -> Whole:
    return Whole(name, "optim.py", "", source, fails, rules or {})


MOMENTUM_LR_IN_BUFFER = '''
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    if velocity is None:
        velocity = -lr * g
    else:
        velocity = momentum * velocity - lr * g
    return param + velocity, velocity
'''

DECAY_AFTER_MOMENTUM = '''
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    if momentum == 0:
        return param - lr * (grad + weight_decay * param), None
    velocity = grad.copy() if velocity is None else momentum * velocity + grad
    return param - lr * (velocity + weight_decay * param), velocity
'''

GLOBAL_BUFFER = '''
_last_velocity = None

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    global _last_velocity
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    if velocity is None:
        _last_velocity = g.copy()
    else:
        _last_velocity = momentum * _last_velocity + g   # the last buffer, not the one passed in
    return param - lr * _last_velocity, _last_velocity.copy()
'''

ZEROS_FLOAT64_BUFFER = '''
import numpy as np

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    if velocity is None:
        velocity = np.zeros(param.shape)   # float64, whatever param's dtype
    velocity = momentum * velocity + g
    return param - lr * velocity, velocity
'''

VELOCITY_IN_PLACE = '''
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    if velocity is None:
        velocity = g.copy()
    else:
        velocity *= momentum
        velocity += g
    return param - lr * velocity, velocity
'''

MUTANTS = [
    Mutant("gradient added instead of subtracted", "optim.py", "return param - lr * step",
           "return param + lr * step", {**matches(*ALL_CASES), **WITH_BOTH}),
    whole("momentum as v = mu*v - lr*g; p += v", MOMENTUM_LR_IN_BUFFER,
          {**matches(*MOMENTUM_CASES), **WITH_BOTH}),
    Mutant("dampening: v = mu*v + (1 - mu)*g", "optim.py", "momentum * velocity + step",
           "momentum * velocity + (1 - momentum) * step", {**matches(*MOMENTUM_CASES), **WITH_BOTH}),
    Mutant("weight decay not added to the gradient", "optim.py",
           "step = grad + weight_decay * param if weight_decay else grad", "step = grad",
           {**matches(*WEIGHT_DECAY_CASES), **WITH_BOTH}),
    whole("weight decay added after momentum", DECAY_AFTER_MOMENTUM,
          {**matches("momentum_weight_decay_schedule"), **WITH_BOTH}),
    Mutant("zeros instead of None without momentum", "optim.py", "velocity = None",
           "velocity = 0 * param", matches("plain_step", "weight_decay_only", stage="type")),
    whole("float64 buffer from np.zeros(shape)", ZEROS_FLOAT64_BUFFER, {"float32_stays_float32": "dtype"},
          {"float32_stays_float32": "float32_kept"}),
    Mutant("param updated in place", "optim.py", "return param - lr * step, velocity",
           "param -= lr * step\n    return param, velocity", {"inputs_not_modified": "mutation"}),
    whole("velocity updated in place", VELOCITY_IN_PLACE, {"inputs_not_modified": "mutation"}),
    Mutant("weight decay added into grad in place", "optim.py",
           "step = grad + weight_decay * param if weight_decay else grad",
           "grad += weight_decay * param\n    step = grad", {"inputs_not_modified": "mutation"}),
    whole("velocity argument ignored, last buffer kept in a global", GLOBAL_BUFFER,
          {"two_parameters_alternately": "values"}),
]


ALTERNATIVES = {
    "explicit branches, as torch writes it": '''
import numpy as np

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    d_p = grad
    if weight_decay != 0:
        d_p = d_p + weight_decay * param
    buf = None
    if momentum != 0:
        if velocity is None:
            buf = np.array(d_p, copy=True)
        else:
            buf = momentum * velocity + d_p
        d_p = buf
    return param - lr * d_p, buf
''',
    "in-place updates on copies": '''
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    new_param = param.copy()
    g = grad.copy()
    g += weight_decay * param
    if not momentum:
        new_param -= lr * g
        return new_param, None
    if velocity is None:
        v = g
    else:
        v = velocity.copy()
        v *= momentum
        v += g
    new_param -= lr * v
    return new_param, v
''',
    "buffer starting from zeros_like (same as torch with dampening 0)": '''
import numpy as np

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    g = np.add(grad, weight_decay * param)
    if momentum:
        previous = np.zeros_like(param) if velocity is None else velocity
        velocity = np.multiply(momentum, previous) + g
        return np.subtract(param, lr * velocity), velocity
    return np.subtract(param, lr * g), None
''',
    "torch's transcription with dampening and nesterov arguments": '''
import numpy as np

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0, dampening=0.0, nesterov=False):
    d_p = grad + weight_decay * param if weight_decay else grad
    buf = None
    if momentum:
        buf = d_p.copy() if velocity is None else momentum * velocity + (1 - dampening) * d_p
        d_p = d_p + momentum * buf if nesterov else buf
    return param - lr * d_p, buf
''',
    "float64 accumulation cast back": '''
import numpy as np

def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    p = param.astype(np.float64)
    g = grad.astype(np.float64) + weight_decay * p
    if momentum == 0.0:
        return (p - lr * g).astype(param.dtype), None
    v = g if velocity is None else momentum * velocity.astype(np.float64) + g
    return (p - lr * v).astype(param.dtype), v.astype(param.dtype)
''',
}
