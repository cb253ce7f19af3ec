"""spatial_bn: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES), run by tests/test_mutations.py
and tests/test_seed_stability.py; and the tests particular to this exercise."""

from dataclasses import dataclass, field

from support import EXERCISES, Mutant, check_ids

EXERCISE = "spatial_bn"
FILE = "spatial_batchnorm.py"
FORWARD_CASES = ["random_batch", "single_sample", "flat_channels", "large_offset", "custom_eps"]
BACKWARD_CASES = ["random_batch", "two_samples", "single_sample", "custom_eps"]


def forward(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"forward_matches_batchnorm2d[{case}]": stage for case in cases}


def backward(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"backward_matches_autograd[{case}]": stage for case in cases}


def everywhere(stage: str = "values", raise_check: str | None = None) -> dict[str, str]:
    """Every check that compares values (the ValueError one first checks a 2x3x1x1 forward)."""
    return {**forward(*FORWARD_CASES, stage=stage), **backward(*BACKWARD_CASES, stage=stage),
            "float32_stays_float32": stage, "inputs_not_modified": stage,
            "single_value_per_channel_raises": raise_check or stage}


def without_raise_check(fails: dict[str, str]) -> dict[str, str]:
    return {name: stage for name, stage in fails.items() if name != "single_value_per_channel_raises"}


@dataclass(frozen=True)
class Rewrite:
    """A wrong implementation written from scratch (not a small edit of the solution)."""

    name: str
    file: str
    text: str
    fails: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)

    def source(self) -> str:
        return self.text


RESHAPE_WITHOUT_TRANSPOSE = '''
from batchnorm import batchnorm_backward, batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    out, cache = batchnorm_forward(x.reshape(-1, c), gamma, beta, eps)
    return out.reshape(n, c, h, w), cache


def spatial_batchnorm_backward(dout, cache):
    n, c, h, w = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.reshape(-1, c), cache)
    return dx.reshape(n, c, h, w), dgamma, dbeta
'''

MUTANTS = [
    Mutant("statistics over N only (per position)", FILE, "AXES = (0, 2, 3)", "AXES = (0,)",
           without_raise_check(everywhere())),  # with H = W = 1 the positions are the channel
    Rewrite("channels mixed by reshape(-1, C) without a transpose", FILE, RESHAPE_WITHOUT_TRANSPOSE,
            without_raise_check(everywhere())),  # with H = W = 1 the reshape happens to be right
    Mutant("per-sample statistics (layer norm)", FILE, "AXES = (0, 2, 3)", "AXES = (1, 2, 3)", everywhere()),
    Mutant("unbiased variance", FILE, "x.var(axis=AXES, keepdims=True)", "x.var(axis=AXES, keepdims=True, ddof=1)",
           everywhere()),
    Mutant("eps outside the square root", FILE, "np.sqrt(x.var(axis=AXES, keepdims=True) + eps)",
           "(np.sqrt(x.var(axis=AXES, keepdims=True)) + eps)",
           {**forward(*FORWARD_CASES), **backward(*BACKWARD_CASES), "inputs_not_modified": "values",
            "single_value_per_channel_raises": "values"}),
    Mutant("eps hard-coded", FILE, "x.var(axis=AXES, keepdims=True) + eps", "x.var(axis=AXES, keepdims=True) + 1e-5",
           {**forward("custom_eps"), **backward("custom_eps")}),
    Mutant("default eps=1e-3", FILE, "def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):",
           "def spatial_batchnorm_forward(x, gamma, beta, eps=1e-3):",
           forward(*[c for c in FORWARD_CASES if c != "custom_eps"])),  # the only checks leaving eps to its default
    Mutant("gamma not reshaped to (1, C, 1, 1)", FILE, "scale = gamma.reshape(1, channels, 1, 1)", "scale = gamma",
           everywhere("exception", raise_check="shape")),  # (2, 3, 1, 1) broadcasts to (2, 3, 1, 3)
    Mutant("ValueError for N = 1 (copied from batchnorm_forward)", FILE, "if n * height * width < 2:", "if n < 2:",
           {**forward("single_sample", stage="exception"), **backward("single_sample", stage="exception")}),
    Mutant("dgamma of shape (1, C, 1, 1)", FILE, "dgamma = (dout * x_hat).sum(axis=AXES)",
           "dgamma = (dout * x_hat).sum(axis=AXES, keepdims=True)",
           {**backward(*BACKWARD_CASES, stage="shape"), "float32_stays_float32": "shape",
            "inputs_not_modified": "shape"}),
    Mutant("N instead of N*H*W values per channel in the backward", FILE,
           "m = dout.shape[0] * dout.shape[2] * dout.shape[3]", "m = dout.shape[0]",
           {**backward(*BACKWARD_CASES), "float32_stays_float32": "values", "inputs_not_modified": "values"}),
    Mutant("dx without the mean and variance paths", FILE,
           "dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=AXES, keepdims=True)\n"
           "                        - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True))",
           "dx = dx_hat * inv_std",
           {**backward(*BACKWARD_CASES), "float32_stays_float32": "values", "inputs_not_modified": "values"}),
    Mutant("normalises x in place", FILE, "x_hat = (x - mean) * inv_std", "x -= mean\n    x *= inv_std\n    x_hat = x",
           {"inputs_not_modified": "mutation"}),
    Mutant("scales dout in place", FILE, "dx_hat = dout * scale", "dout *= scale\n    dx_hat = dout",
           {"inputs_not_modified": "mutation"}),
    Mutant("float64 output for float32 input", FILE, "out = scale * x_hat + beta.reshape(1, channels, 1, 1)",
           "out = (scale * x_hat + beta.reshape(1, channels, 1, 1)).astype(np.float64)",
           {"float32_stays_float32": "dtype"}, {"float32_stays_float32": "float32_kept"}),
    Mutant("no error for a single value per channel", FILE, "raise ValueError(\"spatial batch",
           "print(\"spatial batch", {"single_value_per_channel_raises": "raises"},
           {"single_value_per_channel_raises": "one_value_per_channel_raises"}),
]


ALTERNATIVES = {
    "reuses batchnorm.py through transpose and reshape": '''
from batchnorm import batchnorm_backward, batchnorm_forward


def _rows(a):
    """(N, C, H, W) -> (N*H*W, C): one row per position, one column per channel."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _unrows(rows, shape):
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    out, cache = batchnorm_forward(_rows(x), gamma, beta, eps)
    return _unrows(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    cache, shape = cache
    dx, dgamma, dbeta = batchnorm_backward(_rows(dout), cache)
    return _unrows(dx, shape), dgamma, dbeta
''',
    "step-by-step graph over axes (0, 2, 3)": '''
import numpy as np


def _c(v):
    return v[None, :, None, None]


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    count = n * h * w
    if count <= 1:
        raise ValueError("need at least two values per channel")
    centred = x - _c(x.sum(axis=(0, 2, 3)) / count)
    var = (centred ** 2).sum(axis=(0, 2, 3)) / count
    std = np.sqrt(var + eps)
    out = _c(gamma) * (centred / _c(std)) + _c(beta)
    return out, {"centred": centred, "std": std, "gamma": gamma, "count": count}


def spatial_batchnorm_backward(dout, cache):
    centred, std, gamma, count = cache["centred"], cache["std"], cache["gamma"], cache["count"]
    axes = (0, 2, 3)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * centred / _c(std)).sum(axis=axes)
    dnorm = dout * _c(gamma)
    dvar = -0.5 * (dnorm * centred).sum(axis=axes) / std ** 3
    dmean = -(dnorm / _c(std)).sum(axis=axes) - 2 * dvar * centred.sum(axis=axes) / count
    dx = dnorm / _c(std) + _c(dvar) * 2 * centred / count + _c(dmean) / count
    return dx, dgamma, dbeta
''',
    "einsum per channel, keepdims everywhere": '''
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    m = n * h * w
    if m < 2:
        raise ValueError("each channel needs two values or more")
    mean = (np.einsum("nchw->c", x) / m).reshape(1, c, 1, 1)
    centred = x - mean
    var = (np.einsum("nchw,nchw->c", centred, centred) / m).reshape(1, c, 1, 1)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = centred * inv_std
    return x_hat * gamma.reshape(1, c, 1, 1) + beta.reshape(1, c, 1, 1), (x_hat, gamma, inv_std, m)


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std, m = cache
    c = gamma.shape[0]
    dbeta = np.einsum("nchw->c", dout)
    dgamma = np.einsum("nchw,nchw->c", dout, x_hat)
    dx_hat = dout * gamma.reshape(1, c, 1, 1)
    dx = inv_std * (dx_hat - dx_hat.sum(axis=(0, 2, 3), keepdims=True) / m
                    - x_hat * (dx_hat * x_hat).sum(axis=(0, 2, 3), keepdims=True) / m)
    return dx, dgamma, dbeta
''',
    "np.moveaxis to channels-last and an (N, D) helper of its own": '''
import numpy as np


def _bn_rows(rows, gamma, beta, eps):
    mean = rows.mean(axis=0)
    inv_std = 1.0 / np.sqrt(rows.var(axis=0) + eps)
    x_hat = (rows - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def _bn_rows_backward(drows, cache):
    x_hat, gamma, inv_std = cache
    k = drows.shape[0]
    dx_hat = drows * gamma
    dx = inv_std / k * (k * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (drows * x_hat).sum(axis=0), drows.sum(axis=0)


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] * x.shape[2] * x.shape[3] < 2:
        raise ValueError("a single value per channel")
    last = np.moveaxis(x, 1, -1)
    out, cache = _bn_rows(last.reshape(-1, x.shape[1]), gamma, beta, eps)
    return np.moveaxis(out.reshape(last.shape), -1, 1), (cache, last.shape)


def spatial_batchnorm_backward(dout, cache):
    cache, shape = cache
    dx, dgamma, dbeta = _bn_rows_backward(np.moveaxis(dout, 1, -1).reshape(-1, shape[-1]), cache)
    return np.moveaxis(dx.reshape(shape), -1, 1), dgamma, dbeta
''',
    "a loop over channels": '''
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    if N * H * W <= 1:
        raise ValueError("need more than one value per channel")
    out = np.empty_like(x)
    x_hat = np.empty_like(x)
    inv_std = np.empty(C, dtype=x.dtype)
    for c in range(C):
        channel = x[:, c, :, :]
        inv_std[c] = 1.0 / np.sqrt(channel.var() + eps)
        x_hat[:, c] = (channel - channel.mean()) * inv_std[c]
        out[:, c] = gamma[c] * x_hat[:, c] + beta[c]
    return out, (x_hat, gamma, inv_std)


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    N, C, H, W = dout.shape
    m = N * H * W
    dx = np.empty_like(dout)
    dgamma = np.empty(C, dtype=dout.dtype)
    dbeta = np.empty(C, dtype=dout.dtype)
    for c in range(C):
        d, xh = dout[:, c], x_hat[:, c]
        dbeta[c] = d.sum()
        dgamma[c] = (d * xh).sum()
        dxh = d * gamma[c]
        dx[:, c] = inv_std[c] / m * (m * dxh - dxh.sum() - xh * (dxh * xh).sum())
    return dx, dgamma, dbeta
''',
}


def test_reused_batchnorm_stub_blocks_instead_of_failing(grade_files, solutions_report):
    """Spatial BN built on batchnorm.py while batchnorm_forward is still a stub: every check
    is "blocked by bn_forward", not failed."""
    stub = (EXERCISES / "batchnorm.py").read_text()
    reuse = ALTERNATIVES["reuses batchnorm.py through transpose and reshape"]
    report = grade_files({FILE: reuse, "batchnorm.py": stub}, [EXERCISE])
    checks = report.exercise(EXERCISE).checks
    assert {check.outcome for check in checks} == {"blocked"}
    assert {check.blocked_by for check in checks} == {"bn_forward"}
    assert len(checks) == len(check_ids(solutions_report, EXERCISE))
