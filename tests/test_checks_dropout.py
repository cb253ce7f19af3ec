"""dropout: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES, drawing their masks in other ways), run by
tests/test_mutations.py and tests/test_seed_stability.py; and the tests particular to dropout."""

from dataclasses import dataclass

import pytest
from support import Mutant, failures

EXERCISE = "dropout"
FILE = "dropout.py"
# A wrong scale of the survivors shows in every check that compares values in training.
WRONG_SCALE = {"survivors_scaled": "values", "backward_uses_forward_mask": "values",
               "float32_stays_float32": "values", "inputs_not_modified": "values",
               "backward_where_x_is_zero": "values", "conv_activations": "values"}


@dataclass(frozen=True)
class Whole(Mutant):
    """A mutant given as a whole replacement of the student's file."""

    def source(self) -> str:
        return self.new


def whole(name: str, source: str, fails: dict[str, str], rules: dict[str, str] | None = None) -> Whole:
    return Whole(name, FILE, "", source, fails, rules or {})


P_AS_KEEP = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train:
        return x.copy(), None
    mask = rng.random(x.shape) < p          # keeps with probability p
    return x * mask / p, (mask, p)

def dropout_backward(dout, cache):
    if cache is None:
        return dout.copy()
    mask, p = cache
    return dout * mask / p
'''

NOT_INVERTED = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train:
        return x * (1 - p), None            # classic dropout: scale at test time
    mask = rng.random(x.shape) >= p
    return x * mask, mask

def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache
'''

MIXED_CONVENTION = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train:
        return x.copy(), None
    mask = (rng.random(x.shape) > p) / p     # drop convention, keep-convention scale
    return x * mask, mask

def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache
'''

NEW_MASK_IN_BACKWARD = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train or p == 0:
        return x.copy(), (None, p, rng)
    if p == 1:
        return np.zeros_like(x), (x.shape, p, rng)
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p), (x.shape, p, rng)

def dropout_backward(dout, cache):
    shape, p, rng = cache
    if shape is None:
        return dout.copy()
    if p == 1:
        return np.zeros_like(dout)
    keep = rng.random(shape) >= p            # a fresh mask, not the forward one
    return dout * keep / (1 - p)
'''

PRESCALED_FLOAT64_MASK = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train:
        return x.copy(), None
    if p == 1:
        mask = np.zeros(x.shape)
    else:
        mask = (rng.random(x.shape) >= p) / (1 - p)   # float64 mask
    return x * mask, mask

def dropout_backward(dout, cache):
    return dout.copy() if cache is None else dout * cache
'''

MASK_FROM_OUTPUT = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train or p == 0:
        return x.copy(), (None, 0.0)
    if p == 1:
        return np.zeros_like(x), (None, 1.0)
    out = x * (rng.random(x.shape) >= p) / (1 - p)
    return out, (out, p)

def dropout_backward(dout, cache):
    out, p = cache
    if out is None:
        return np.zeros_like(dout) if p == 1 else dout.copy()
    return dout * (out != 0) / (1 - p)   # the mask, rebuilt
'''

MUTANTS = [
    whole("p used as the keep probability", P_AS_KEEP,
          {"keep_rate": "property", **WRONG_SCALE, "p_zero_is_identity": "nonfinite",
           "p_one_gives_zeros": "values"}),
    whole("not inverted: scaled at test time instead", NOT_INVERTED,
          {**WRONG_SCALE, "mean_preserved": "property", "eval_is_identity": "values"}),
    whole("(rand > p) / p: mixed conventions", MIXED_CONVENTION,
          {**WRONG_SCALE, "mean_preserved": "property", "p_zero_is_identity": "nonfinite",
           "float32_stays_float32": "dtype"}, {"float32_stays_float32": "float32_kept"}),  # a float64 mask
    Mutant("mask shared across the batch", FILE, "keep = rng.random(x.shape) >= p",
           "keep = rng.random(x.shape[1:]) >= p", {"mask_not_shared": "property", "conv_activations": "property"}),
    Mutant("one draw per channel of a conv input (nn.Dropout2d)", FILE, "keep = rng.random(x.shape) >= p",
           "keep = rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) >= p", {"conv_activations": "property"}),
    Mutant("whole samples dropped (one draw per row)", FILE, "keep = rng.random(x.shape) >= p",
           "keep = rng.random((x.shape[0], 1)) >= p", {"mask_not_shared": "property", "conv_activations": "exception"}),
    whole("a new mask drawn in backward (rng kept in the cache)", NEW_MASK_IN_BACKWARD,
          {"backward_uses_forward_mask": "values", "float32_stays_float32": "values",
           "inputs_not_modified": "values", "backward_where_x_is_zero": "values", "conv_activations": "values"}),
    Mutant("dropout active in evaluation", FILE, "if not train or p == 0.0:", "if p == 0.0:",
           {"eval_is_identity": "values"}),
    Mutant("division by zero at p = 1", FILE,
           "    if p == 1.0:\n        return np.zeros_like(x), (keep, p)\n", "", {"p_one_gives_zeros": "nonfinite"},
           {"p_one_gives_zeros": "p_one_gives_zeros"}),
    Mutant("np.random instead of rng", FILE, "keep = rng.random(x.shape) >= p",
           "keep = np.random.random(x.shape) >= p", {"mask_comes_from_rng": "property",
                                                     "backward_where_x_is_zero": "property"}),
    Mutant("a fixed-seed generator of its own", FILE, "keep = rng.random(x.shape) >= p",
           "keep = np.random.default_rng(0).random(x.shape) >= p", {"mask_comes_from_rng": "property"}),
    whole("the mask rebuilt in backward as out != 0", MASK_FROM_OUTPUT, {"backward_where_x_is_zero": "values"}),
    Mutant("a mask that depends on the values of x", FILE, "keep = rng.random(x.shape) >= p",
           "keep = (rng.random(x.shape) >= p) | (x == 0)", {"backward_where_x_is_zero": "values"}),
    Mutant("a mask for 2-D inputs only", FILE, "keep = rng.random(x.shape) >= p",
           "n, d = x.shape\n    keep = rng.random((n, d)) >= p", {"conv_activations": "exception"}),
    Mutant("p = 1 gives zeros in evaluation too", FILE, "    if not train or p == 0.0:",
           "    if p == 1.0:\n        return np.zeros_like(x), (np.zeros(x.shape, bool), p)\n"
           "    if not train or p == 0.0:", {"eval_is_identity": "values"}),
    Mutant("evaluation scaled by 1 - p on top of inverted training", FILE,
           "    if not train or p == 0.0:\n        return x.copy(), (None, p)",
           "    if not train or p == 0.0:\n        return x * (1 - p), (None, p)", {"eval_is_identity": "values"}),
    Mutant("no ValueError for an invalid p", FILE, "if not 0.0 <= p <= 1.0:", "if False:",
           {"invalid_p_raises": "raises"}, {"invalid_p_raises": "invalid_p_raises"}),
    whole("float64 output for float32 input (pre-scaled float64 mask)", PRESCALED_FLOAT64_MASK,
          {"float32_stays_float32": "dtype"}, {"float32_stays_float32": "float32_kept"}),
    Mutant("x scaled in place", FILE, "return x * keep / (1.0 - p), (keep, p)",
           "x *= keep\n    x /= 1.0 - p\n    return x, (keep, p)", {"inputs_not_modified": "mutation"}),
    Mutant("dout scaled in place", FILE, "return dout * keep / (1.0 - p)",
           "dout *= keep\n    dout /= 1.0 - p\n    return dout", {"inputs_not_modified": "mutation"}),
    Mutant("identity everywhere (return x, None)", FILE, "if not train or p == 0.0:", "if True:",
           {"keep_rate": "property", "mean_preserved": "property", "survivors_scaled": "property",
            "eval_is_identity": "property", "p_zero_is_identity": "property",
            "p_one_gives_zeros": "values", "backward_uses_forward_mask": "property",
            "mask_comes_from_rng": "property", "mask_not_shared": "property",
            "float32_stays_float32": "property", "inputs_not_modified": "property",
            "invalid_p_raises": "property", "backward_where_x_is_zero": "property",
            "conv_activations": "property"}),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 7, 12345])
@pytest.mark.parametrize("name", ["mask shared across the batch", "whole samples dropped (one draw per row)"])
def test_a_shared_mask_costs_the_same_at_any_seed(name, seed, grade_files):
    """The keep-rate and mean intervals count the draws a shared mask really makes, so that
    only mask_not_shared (and the conv check) fail it, whatever the seed."""
    mutant = next(m for m in MUTANTS if m.name == name)
    report = grade_files({mutant.file: mutant.source()}, [EXERCISE], seed=seed)
    assert failures(report, EXERCISE) == mutant.fails


ALTERNATIVES = {
    "binomial mask, pre-scaled in the cache": '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if p < 0 or p > 1:
        raise ValueError("p must be in [0, 1]")
    if not train:
        return x.copy(), {"mask": None}
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = rng.binomial(1, 1.0 - p, size=x.shape).astype(x.dtype) * x.dtype.type(scale)
    return x * mask, {"mask": mask}

def dropout_backward(dout, cache):
    mask = cache["mask"]
    return dout.copy() if mask is None else dout * mask
''',
    "uniform draws and a cache object": '''
import numpy as np

class DropoutCache:
    def __init__(self, keep, scale):
        self.keep, self.scale = keep, scale

def dropout_forward(x, p, train, rng):
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"bad p={p}")
    if not train or p == 0:
        return np.array(x, copy=True), DropoutCache(np.ones(x.shape, dtype=bool), 1.0)
    keep = rng.uniform(0.0, 1.0, size=x.shape) < 1.0 - p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return np.where(keep, x * scale, 0).astype(x.dtype), DropoutCache(keep, scale)

def dropout_backward(dout, cache):
    return np.where(cache.keep, dout * cache.scale, 0).astype(dout.dtype)
''',
    "a permutation keeps exactly round((1 - p) * size) units": '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p out of range")
    if not train or p == 0:
        return x.copy(), None
    kept = int(round((1 - p) * x.size))
    keep = np.zeros(x.size, dtype=bool)
    keep[rng.permutation(x.size)[:kept]] = True
    keep = keep.reshape(x.shape)
    out = np.zeros_like(x)
    if kept:
        out[keep] = x[keep] / (1 - p)
    return out, (keep, p)

def dropout_backward(dout, cache):
    if cache is None:
        return dout.copy()
    keep, p = cache
    dx = np.zeros_like(dout)
    if p < 1:
        dx[keep] = dout[keep] / (1 - p)
    return dx
''',
    "boolean mask, scale in the cache, p = 1 on its own": '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be between 0 and 1")
    if not train:
        return x.copy(), {"train": False}
    keep = rng.random(x.shape) < 1 - p
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return (x * keep * scale).astype(x.dtype), {"train": True, "keep": keep, "scale": scale}

def dropout_backward(dout, cache):
    if not cache["train"]:
        return dout.copy()
    return (dout * cache["keep"] * cache["scale"]).astype(dout.dtype)
''',
    "rng.choice over keep and drop": '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if p < 0 or p > 1:
        raise ValueError("invalid dropout probability")
    if not train:
        return np.copy(x), None
    keep = rng.choice([True, False], size=x.shape, p=[1 - p, p])
    out = np.zeros_like(x)
    if p < 1:
        out[keep] = x[keep] / (1 - p)
    return out, (keep, p)

def dropout_backward(dout, cache):
    if cache is None:
        return np.copy(dout)
    keep, p = cache
    dx = np.zeros_like(dout)
    if p < 1:
        dx[keep] = dout[keep] / (1 - p)
    return dx
''',
    "draws in the input's dtype, mask multiplied in that dtype": '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not (0 <= p <= 1):
        raise ValueError("p outside [0, 1]")
    if not train or p == 0:
        return x.copy(), (None, x.dtype)
    if p == 1:
        return np.zeros_like(x), (np.zeros_like(x), x.dtype)
    mask = (rng.random(x.shape, dtype=x.dtype) >= p).astype(x.dtype) / x.dtype.type(1 - p)
    return x * mask, (mask, x.dtype)

def dropout_backward(dout, cache):
    mask, dtype = cache
    return dout.copy() if mask is None else (dout * mask).astype(dtype)
''',
}
