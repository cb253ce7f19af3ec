"""bn_running_stats: wrong implementations (MUTANTS, with the checks each must fail and at which
stage) and different-but-correct ones (ALTERNATIVES), run by tests/test_mutations.py
and tests/test_seed_stability.py; and the tests particular to this exercise."""


from support import Mutant

EXERCISE = "bn_running_stats"
UPDATE_CASES = ["first_update_from_none", "two_samples", "custom_momentum"]
EVAL_CASES = ["stats_far_from_batch", "one_sample", "custom_eps"]


def update(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"update_matches_batchnorm1d[{case}]": stage for case in cases}


def evaluation(*cases: str, stage: str = "values") -> dict[str, str]:
    return {f"eval_matches_batchnorm1d[{case}]": stage for case in cases}


# Wrong updates give wrong values in every check that compares an update.
WRONG_UPDATE = {**update(*UPDATE_CASES), "update_five_batches_in_a_row": "values",
                "update_inputs_not_modified": "values", "update_single_sample_raises": "values",
                "float32_stays_float32": "values"}
WRONG_EVAL = {**evaluation(*EVAL_CASES), "eval_inputs_not_modified": "values", "float32_stays_float32": "values"}

UPDATE_LINES = """    new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    new_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)
    return new_mean, new_var"""
EVAL_LINE = "return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta"

MUTANTS = [
    # update_running_stats
    Mutant("momentum weighs the old value (0.9 on the new batch)", "batchnorm.py", UPDATE_LINES,
           """    new_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
    new_var = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)
    return new_mean, new_var""", WRONG_UPDATE),
    Mutant("biased variance stored", "batchnorm.py", "x.var(axis=0, ddof=1)", "x.var(axis=0)", WRONG_UPDATE),
    Mutant("running variance starts at 0", "batchnorm.py", "running_var = np.ones(features, dtype=x.dtype)",
           "running_var = np.zeros(features, dtype=x.dtype)", update("first_update_from_none")),
    Mutant("statistics not updated", "batchnorm.py", UPDATE_LINES, "    return running_mean, running_var",
           WRONG_UPDATE),
    Mutant("momentum hard-coded to 0.1", "batchnorm.py", UPDATE_LINES,
           """    new_mean = 0.9 * running_mean + 0.1 * x.mean(axis=0)
    new_var = 0.9 * running_var + 0.1 * x.var(axis=0, ddof=1)
    return new_mean, new_var""", update("custom_momentum")),
    Mutant("running statistics updated in place", "batchnorm.py", UPDATE_LINES,
           """    running_mean *= 1 - momentum
    running_mean += momentum * x.mean(axis=0)
    running_var *= 1 - momentum
    running_var += momentum * x.var(axis=0, ddof=1)
    return running_mean, running_var""", {"update_inputs_not_modified": "mutation"}),
    Mutant("no error for a single sample", "batchnorm.py", 'raise ValueError(f"the unbiased variance',
           'print(f"the unbiased variance', {"update_single_sample_raises": "raises"},
           {"update_single_sample_raises": "batch_of_one_raises"}),
    Mutant("float64 statistics for float32 input", "batchnorm.py", "momentum * x.mean(axis=0)",
           "momentum * x.mean(axis=0, dtype=np.float64)", {"float32_stays_float32": "dtype"},
           {"float32_stays_float32": "float32_kept"}),
    # batchnorm_eval
    Mutant("eval uses the batch statistics", "batchnorm.py", EVAL_LINE,
           "return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta", WRONG_EVAL),
    Mutant("eval without gamma and beta", "batchnorm.py", EVAL_LINE,
           "return (x - running_mean) / np.sqrt(running_var + eps)", WRONG_EVAL),
    Mutant("eval divides by the variance, not the std", "batchnorm.py", EVAL_LINE,
           "return gamma * (x - running_mean) / (running_var + eps) + beta", WRONG_EVAL),
    Mutant("eval with eps outside the square root", "batchnorm.py", EVAL_LINE,
           "return gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta",
           {**evaluation(*EVAL_CASES), "eval_inputs_not_modified": "values"}),  # 1e-5 is below float32's tolerance
    Mutant("eval with eps hard-coded", "batchnorm.py", EVAL_LINE,
           "return gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta", evaluation("custom_eps")),
    Mutant("eval also updates the running statistics in place", "batchnorm.py", EVAL_LINE,
           """out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    running_mean[:] = 0.9 * running_mean + 0.1 * x.mean(axis=0)
    return out""", {"eval_inputs_not_modified": "mutation"}),
    Mutant("default momentum 0.9 (a CS231n habit)", "batchnorm.py",
           "def update_running_stats(running_mean, running_var, x, momentum=0.1):",
           "def update_running_stats(running_mean, running_var, x, momentum=0.9):",
           {**update("first_update_from_none", "two_samples"), "update_five_batches_in_a_row": "values"}),
    Mutant("eval with default eps 1e-3", "batchnorm.py",
           "def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):",
           "def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-3):",
           evaluation("stats_far_from_batch", "one_sample")),
    Mutant("float64 eval output for float32 input", "batchnorm.py", EVAL_LINE,
           "return (gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta).astype(np.float64)",
           {"float32_stays_float32": "dtype"}, {"float32_stays_float32": "float32_kept"}),
]


ALTERNATIVES = {
    "np.cov and the folded scale and shift": '''
import numpy as np


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    if x.shape[0] < 2:
        raise ValueError("N must be at least 2")
    if running_mean is None:
        running_mean, running_var = np.zeros_like(x[0]), np.ones_like(x[0])
    batch_var = np.diag(np.atleast_2d(np.cov(x, rowvar=False))).astype(x.dtype)
    mean = running_mean + momentum * (x.mean(axis=0) - running_mean)
    return mean, running_var + momentum * (batch_var - running_var)


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    scale = gamma / np.sqrt(running_var + eps)
    return x * scale + (beta - running_mean * scale)
''',
    "N/(N-1) rescaling written out": '''
import numpy as np


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    n, d = x.shape
    if n == 1:
        raise ValueError("one sample has no unbiased variance")
    mean = np.full(d, 0.0, dtype=x.dtype) if running_mean is None else running_mean.copy()
    var = np.full(d, 1.0, dtype=x.dtype) if running_var is None else running_var.copy()
    batch_mean = x.sum(axis=0) / n
    biased = ((x - batch_mean) ** 2).sum(axis=0) / n
    mean *= 1 - momentum
    mean += momentum * batch_mean
    var *= 1 - momentum
    var += momentum * biased * n / (n - 1)
    return mean, var


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    x_hat = (x - running_mean) / np.sqrt(running_var + eps)
    return gamma * x_hat + beta
''',
    "np.average as a weighted blend, cast back": '''
import numpy as np


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    if x.shape[0] <= 1:
        raise ValueError("at least two samples")
    d = x.shape[1]
    old_mean = np.zeros(d) if running_mean is None else running_mean
    old_var = np.ones(d) if running_var is None else running_var
    weights = [1 - momentum, momentum]
    mean = np.average([old_mean, x.mean(axis=0)], axis=0, weights=weights)
    var = np.average([old_var, x.var(axis=0, ddof=1)], axis=0, weights=weights)
    return mean.astype(x.dtype), var.astype(x.dtype)


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return (x - running_mean) * (gamma / np.sqrt(running_var + eps)) + beta
''',
    "unbiased variance from np.std(ddof=1)": '''
import numpy as np


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    n = len(x)
    if n < 2:
        raise ValueError("N must be >= 2 for an unbiased variance")
    if running_mean is None:
        running_mean = np.zeros(x.shape[1], dtype=x.dtype)
    if running_var is None:
        running_var = np.ones(x.shape[1], dtype=x.dtype)
    batch_var = np.std(x, axis=0, ddof=1) ** 2
    return ((1 - momentum) * running_mean + momentum * np.mean(x, axis=0),
            (1 - momentum) * running_var + momentum * batch_var)


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    std = np.sqrt(running_var + eps)
    return gamma * ((x - running_mean) / std) + beta
''',
}
