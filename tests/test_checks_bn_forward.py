"""bn_forward: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES), run by tests/test_mutations.py
and tests/test_seed_stability.py; and the tests particular to this exercise."""


from support import Mutant, mutate

from autograder.i18n import Translator

EXERCISE = "bn_forward"
ALL_CASES = ["random_batch", "two_samples", "odd_batch_one_feature", "flat_features", "large_offset", "custom_eps"]


def matches(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"matches_batchnorm1d[{case}]": stage for case in cases}


MUTANTS = [
    Mutant("unbiased variance", "batchnorm.py", "x.var(axis=0)", "x.var(axis=0, ddof=1)",
           {**matches(*ALL_CASES), "float32_stays_float32": "values", "inputs_not_modified": "values", "single_sample_raises": "values"}),
    Mutant("naive E[x^2] - E[x]^2 variance", "batchnorm.py", "x.var(axis=0)",
           "((x ** 2).mean(axis=0) - mean ** 2)", matches("large_offset")),
    Mutant("eps outside the square root", "batchnorm.py", "np.sqrt(x.var(axis=0) + eps)",
           "(np.sqrt(x.var(axis=0)) + eps)",
           {**matches(*ALL_CASES), "inputs_not_modified": "values", "single_sample_raises": "values"}),
    Mutant("no eps", "batchnorm.py", "np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0))",
           {**matches(*ALL_CASES), "matches_batchnorm1d[flat_features]": "nonfinite",
            "inputs_not_modified": "values", "single_sample_raises": "values"}),
    Mutant("eps hard-coded", "batchnorm.py", "np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0) + 1e-5)",
           matches("custom_eps")),
    Mutant("statistics over the features", "batchnorm.py", "mean = x.mean(axis=0)\n    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)",
           "mean = x.mean(axis=1, keepdims=True)\n    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)",
           {**matches(*ALL_CASES), "float32_stays_float32": "values", "inputs_not_modified": "values",
            "single_sample_raises": "values"}),
    Mutant("gamma and beta swapped", "batchnorm.py", "out = gamma * x_hat + beta", "out = beta * x_hat + gamma",
           {**matches(*ALL_CASES), "float32_stays_float32": "values", "inputs_not_modified": "values", "single_sample_raises": "values"}),
    Mutant("wrong default eps", "batchnorm.py", "def batchnorm_forward(x, gamma, beta, eps=1e-5):",
           "def batchnorm_forward(x, gamma, beta, eps=1e-3):",  # only the value cases leave eps to its default
           matches(*[c for c in ALL_CASES if c != "custom_eps"])),
    Mutant("float64 output for float32 input", "batchnorm.py", "out = gamma * x_hat + beta",
           "out = (gamma * x_hat + beta).astype(np.float64)", {"float32_stays_float32": "dtype"},
           {"float32_stays_float32": "float32_kept"}),
    Mutant("normalises x in place", "batchnorm.py", "x_hat = (x - mean) * inv_std",
           "x -= mean\n    x *= inv_std\n    x_hat = x", {"inputs_not_modified": "mutation"}),
    Mutant("no error for a single sample", "batchnorm.py", "raise ValueError(f\"batch normalisation needs",
           "print(f\"batch normalisation needs", {"single_sample_raises": "raises"},
           {"single_sample_raises": "batch_of_one_raises"}),
    Mutant("returns only out", "batchnorm.py", "return out, (x_hat, gamma, inv_std)", "return out",
           {name: "type" for name in [*matches(*ALL_CASES), "float32_stays_float32", "inputs_not_modified",
                                       "single_sample_raises"]}),
]


ALTERNATIVES = {
    "two-pass statistics written out": '''
import numpy as np

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if len(x) <= 1:
        raise ValueError("need a batch")
    n = x.shape[0]
    mu = np.sum(x, axis=0) / n
    centred = x - mu
    var = np.sum(centred * centred, axis=0) / n
    std = np.sqrt(var + eps)
    xn = centred / std
    return xn * gamma + beta, {"xn": xn, "std": std, "gamma": gamma}
''',
    "loops over features (slow but right)": '''
import numpy as np

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.shape[0] < 2:
        raise ValueError("N must be at least 2 in training")
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        column = x[:, j]
        out[:, j] = gamma[j] * (column - column.mean()) / np.sqrt(column.var() + eps) + beta[j]
    return out, None
''',
    "float64 computation cast back": '''
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError("expected a batch (N, D) with N >= 2")
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=0)
    var = x64.var(axis=0)
    out = gamma.astype(np.float64) * (x64 - mu) / np.sqrt(var + eps) + beta.astype(np.float64)
    return out.astype(x.dtype), (x64, mu, var, eps)
''',
    "keepdims everywhere": '''
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, D = x.shape
    if N == 1:
        raise ValueError("batch norm in training needs more than one sample")
    mu = np.mean(x, axis=0, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=0, keepdims=True)
    x_norm = (x - mu) / np.sqrt(var + eps)
    out = gamma[np.newaxis, :] * x_norm + beta[np.newaxis, :]
    return out, (x_norm, var, gamma)
''',
    "reductions with np.add.reduce and np.reciprocal": '''
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"N={n}: no batch statistics")
    mean = np.add.reduce(x, axis=0) / n
    deviation = np.subtract(x, mean)
    var = np.add.reduce(np.square(deviation), axis=0) / n
    inv_std = np.reciprocal(np.sqrt(var + eps))
    return np.add(np.multiply(gamma, deviation * inv_std), beta), (deviation, inv_std, gamma)
''',
}


def test_a_property_check_failing_on_values_says_the_property_held(grade_files):
    """eps outside the root leaves the inputs alone and raises for N = 1: those two checks fail
    on the values only, and say first that their own property held."""
    wrong = mutate("batchnorm.py", "np.sqrt(x.var(axis=0) + eps)", "(np.sqrt(x.var(axis=0)) + eps)")
    report = grade_files({"batchnorm.py": wrong}, [EXERCISE])
    summaries = {check.id.split("::")[1]: Translator("en")(check.feedback.summary)
                 for check in report.exercise(EXERCISE).checks if not check.passed}
    assert summaries["inputs_not_modified"].startswith(
        "The inputs (x, gamma, beta) are left unchanged, but this check also needs correct results: "
        "out returned by batchnorm_forward does not match PyTorch")
    assert summaries["single_sample_raises"].startswith("batchnorm_forward raises ValueError where it should, but")
