"""bn_backward: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES), run by tests/test_mutations.py
and tests/test_seed_stability.py; and the tests particular to this exercise."""

import ast
from dataclasses import dataclass

from support import SOLUTIONS, Mutant

EXERCISE = "bn_backward"
ALL_CASES = ["random_batch", "two_samples", "odd_batch_one_feature", "flat_features", "large_offset", "custom_eps"]
OTHER_CHECKS = ["float32_stays_float32", "dout_not_modified", "cache_independent"]


def matches(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"matches_autograd[{case}]": stage for case in cases}


def everywhere(stage: str) -> dict[str, str]:
    """Every check of the exercise fails at `stage`."""
    return {**matches(*ALL_CASES, stage=stage), **{name: stage for name in OTHER_CHECKS}}


def replace_functions(file: str, names: list[str], new: str) -> str:
    """The solution `file` with the top-level functions `names` removed and `new` put where
    the first of them was."""
    source = (SOLUTIONS / file).read_text()
    spans = {node.name: (node.lineno - 1, node.end_lineno) for node in ast.parse(source).body
             if isinstance(node, ast.FunctionDef)}
    lines = source.splitlines(keepends=True)
    for name in sorted(names, key=lambda n: spans[n][0], reverse=True):
        start, end = spans[name]
        lines[start:end] = [new.strip() + "\n"] if name == names[0] else []
    return "".join(lines)


@dataclass(frozen=True)
class Rewrite(Mutant):
    """A mutant written as whole functions: `old` names them (space-separated), `new` is the
    replacement source."""

    def source(self) -> str:
        return replace_functions(self.file, self.old.split(), self.new)


STAGED_GRAPH = '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] < 2:
        raise ValueError("need two samples")
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu ** 2).mean(axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    return gamma * xhat + beta, (xhat, gamma, xmu, ivar, sqrtvar)


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dsq = dvar * np.ones_like(dout) / DIVISOR
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = dmu * np.ones_like(dout) / n
    return dx1 + dx2, dgamma, dbeta
'''

RECOMPUTES_FROM_X = '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] < 2:
        raise ValueError("need two samples")
    mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, (x, gamma, eps)


def batchnorm_backward(dout, cache):
    x, gamma, eps = cache
    n = x.shape[0]
    mean = x.mean(axis=0)
    var = VARIANCE
    inv_std = 1.0 / np.sqrt(var + EPS_USED)
    x_hat = (x - mean) * inv_std
    dx_hat = dout * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
'''


def recomputes(variance: str = "x.var(axis=0)", eps_used: str = "eps") -> str:
    return RECOMPUTES_FROM_X.replace("VARIANCE", variance).replace("EPS_USED", eps_used)


GLOBAL_CACHE = '''
_saved = {}


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] < 2:
        raise ValueError("need two samples")
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    _saved["x_hat"] = (x - x.mean(axis=0)) * inv_std
    _saved["gamma"], _saved["inv_std"] = gamma, inv_std
    return gamma * _saved["x_hat"] + beta, None


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = _saved["x_hat"], _saved["gamma"], _saved["inv_std"]
    n = dout.shape[0]
    dx_hat = dout * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
'''

BOTH = "batchnorm_forward batchnorm_backward"
DX = "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))"

MUTANTS = [
    Mutant("dgamma keeps dims (1, D)", "batchnorm.py", "dgamma = (dout * x_hat).sum(axis=0)",
           "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)", everywhere("shape")),
    Mutant("dgamma not summed over the batch", "batchnorm.py", "dgamma = (dout * x_hat).sum(axis=0)",
           "dgamma = dout * x_hat", everywhere("shape")),
    Mutant("dbeta averaged instead of summed", "batchnorm.py", "dbeta = dout.sum(axis=0)",
           "dbeta = dout.mean(axis=0)", everywhere("values")),
    Mutant("dx treats mean and variance as constants", "batchnorm.py", DX, "dx = dx_hat * inv_std",
           everywhere("values")),
    Mutant("dx misses the variance path", "batchnorm.py", DX,
           "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0))", everywhere("values")),
    Mutant("dx misses gamma", "batchnorm.py", "dx_hat = dout * gamma", "dx_hat = dout", everywhere("values")),
    Rewrite("N - 1 in the variance gradient", "batchnorm.py", BOTH,
            STAGED_GRAPH.replace("DIVISOR", "(n - 1)"), everywhere("values")),
    Rewrite("eps hard-coded in the backward pass", "batchnorm.py", BOTH, recomputes(eps_used="1e-5"),
            matches("custom_eps")),
    Rewrite("naive E[x^2] - E[x]^2 variance recomputed in backward", "batchnorm.py", BOTH,
            recomputes(variance="(x ** 2).mean(axis=0) - mean ** 2"), matches("large_offset")),
    Rewrite("forward state kept in a global, not in the cache", "batchnorm.py", BOTH, GLOBAL_CACHE,
            {"cache_independent": "values"}),
    Mutant("dout scaled in place", "batchnorm.py", "dx_hat = dout * gamma",
           "dout *= gamma\n    dx_hat = dout", {"dout_not_modified": "mutation"}),
    Mutant("float64 dx for float32 input", "batchnorm.py", "return dx, dgamma, dbeta",
           "return dx.astype(np.float64), dgamma, dbeta", {"float32_stays_float32": "dtype"},
           {"float32_stays_float32": "float32_kept"}),
    # Mistakes in the forward pass: the backward checks say "blocked by bn_forward".
    Mutant("forward with eps hard-coded", "batchnorm.py", "np.sqrt(x.var(axis=0) + eps)",
           "np.sqrt(x.var(axis=0) + 1e-5)", matches("custom_eps", stage="blocked")),
    Mutant("forward returns only out", "batchnorm.py", "return out, (x_hat, gamma, inv_std)", "return out",
           everywhere("blocked")),
]


def test_blocked_checks_name_the_forward_exercise(grade_files):
    mutant = next(m for m in MUTANTS if m.name == "forward returns only out")
    report = grade_files({mutant.file: mutant.source()}, [EXERCISE])
    assert {check.blocked_by for check in report.exercise(EXERCISE).checks} == {"bn_forward"}


PAPER_FORMULAS = '''
import numpy as np


class Cache:
    def __init__(self, x, gamma, eps):
        self.x, self.gamma, self.eps = x, gamma, eps


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if len(x) < 2:
        raise ValueError("training needs a batch")
    mu = np.mean(x, axis=0)
    var = np.mean((x - mu) ** 2, axis=0)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, Cache(x, gamma, eps)


def batchnorm_backward(dout, cache):
    """Ioffe and Szegedy (2015), Algorithm 1's backward, written out term by term."""
    x, gamma, eps = cache.x, cache.gamma, cache.eps
    m = x.shape[0]
    mu = np.mean(x, axis=0)
    xmu = x - mu
    var = np.mean(xmu ** 2, axis=0)
    std = np.sqrt(var + eps)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 * std ** -3
    dmu = np.sum(-dxhat / std, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)
    dx = dxhat / std + dvar * 2.0 * xmu / m + dmu / m
    return dx, np.sum(dout * xmu / std, axis=0), np.sum(dout, axis=0)
'''

ALTERNATIVES = {
    "staged computational graph": replace_functions("batchnorm.py", BOTH.split(),
                                                    STAGED_GRAPH.replace("DIVISOR", "n")),
    "paper formulas, object cache, recomputed statistics": PAPER_FORMULAS,
    "dict cache with einsum": replace_functions("batchnorm.py", BOTH.split(), '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] == 1:
        raise ValueError("N must be at least 2")
    centred = x - x.mean(axis=0)
    inv_std = (np.einsum("nd,nd->d", centred, centred) / x.shape[0] + eps) ** -0.5
    x_hat = centred * inv_std
    return x_hat * gamma + beta, {"x_hat": x_hat, "scale": gamma * inv_std}


def batchnorm_backward(dout, cache):
    x_hat, scale = cache["x_hat"], cache["scale"]
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dbeta = dout.sum(axis=0)
    dx = scale * (dout - dbeta / len(dout) - x_hat * dgamma / len(dout))
    return dx, dgamma, dbeta
'''),
    "the compact backward written from dgamma and dbeta": replace_functions("batchnorm.py", BOTH.split(), '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    N = x.shape[0]
    if N < 2:
        raise ValueError("N < 2")
    mu = x.mean(axis=0)
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
'''),
    "float64 computation cast back": replace_functions("batchnorm.py", BOTH.split(), '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] < 2:
        raise ValueError("need two samples")
    x64, g64 = np.asarray(x, dtype=np.float64), np.asarray(gamma, dtype=np.float64)
    mean = x64.mean(axis=0)
    std = np.sqrt(x64.var(axis=0) + eps)
    x_hat = (x64 - mean) / std
    out = g64 * x_hat + beta
    return out.astype(x.dtype), {"x_hat": x_hat, "std": std, "gamma": g64, "dtype": x.dtype}


def batchnorm_backward(dout, cache):
    d = np.asarray(dout, dtype=np.float64)
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    n = d.shape[0]
    dx_hat = d * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
    dtype = cache["dtype"]
    return dx.astype(dtype), (d * x_hat).sum(axis=0).astype(dtype), d.sum(axis=0).astype(dtype)
'''),
    "keepdims everywhere, gradients squeezed at the end": replace_functions("batchnorm.py", BOTH.split(), '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if len(x) < 2:
        raise ValueError("batch of one")
    mean = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    g = gamma.reshape(1, -1)
    return g * x_hat + beta.reshape(1, -1), (x_hat, g, inv_std)


def batchnorm_backward(dout, cache):
    x_hat, g, inv_std = cache
    n = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=0, keepdims=True)
    dbeta = np.sum(dout, axis=0, keepdims=True)
    dx_hat = dout * g
    dx = inv_std * (dx_hat - np.sum(dx_hat, axis=0, keepdims=True) / n
                    - x_hat * np.sum(dx_hat * x_hat, axis=0, keepdims=True) / n)
    return dx, dgamma.squeeze(0), dbeta.squeeze(0)
'''),
}
