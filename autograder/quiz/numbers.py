"""Numeric quiz questions: per-student numbers and the answers computed from them.

quiz.yml names a generator (``generator: normalised_value``); the generator draws the numbers
of one student's variant from a `random.Random` seeded with the student's seed and the question
id, so every student gets different numbers and the same student the same numbers on every run.
It returns a `Variant`: the values the question's texts refer to (``{batch}``, ``{answer}``...),
the answer, and the result of each known mistake (the feedback for each lives in quiz.yml).

The answers are computed here, in plain Python, never typed into the YAML; the tests recompute
them independently with NumPy and PyTorch.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

EPS = 1e-5
MOMENTUM = 0.1
MIN_GAP = 0.1
"""Every mistake's value differs from the answer by at least this much (and 5 %)."""


@dataclass(frozen=True)
class Variant:
    """One student's numbers for one numeric question."""

    values: dict[str, str]
    """Texts that fill the question's placeholders; ``answer`` is always among them, and each
    value also comes as ``<name>_p``, in parentheses when negative (``3 * (-1.5)``)."""
    answer: float
    mistakes: dict[str, float] = field(default_factory=dict)
    """Known mistake id -> the number that mistake produces."""


Generator = Callable[[random.Random], Variant]
GENERATORS: dict[str, Generator] = {}
MISTAKES: dict[str, tuple[str, ...]] = {}
"""Generator name -> the mistakes it computes (quiz.yml must give feedback for each)."""


def generator(*mistakes: str) -> Callable[[Callable], Callable]:
    """Register a function ``(rng) -> (values, answer, mistakes)`` as a generator that redraws
    until every mistake is clearly distinct from the answer."""

    def register(make: Callable[[random.Random], tuple[dict, float, dict]]) -> Callable:
        def generate(rng: random.Random) -> Variant:
            for _ in range(1000):
                values, answer, wrong = make(rng)
                if all(_distinct(value, answer) for value in wrong.values()):
                    break
            shown = {name: fmt(value) for name, value in values.items()}
            shown.update({f"{name}_p": f"({fmt(value)})" for name, value in values.items()
                          if isinstance(value, (int, float)) and value < 0})
            shown.update({f"{name}_p": text for name, text in list(shown.items()) if f"{name}_p" not in shown
                          and not name.endswith("_p")})
            return Variant({**shown, "answer": fmt(answer)}, answer, wrong)

        GENERATORS[make.__name__] = generate
        MISTAKES[make.__name__] = mistakes
        return make

    return register


def variant(name: str, seed: int, question_id: str) -> Variant:
    """The variant of the question `question_id` for the student with `seed`."""
    return GENERATORS[name](random.Random(f"{seed}:{question_id}"))


def fmt(value: object) -> str:
    """A number as a student would write it: 0.25, 3, -1.5; lists as [1, 2, 3]."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 1e-3 else f"{value:g}"
    return str(value)


def _distinct(value: float, answer: float) -> bool:
    gap = abs(value - answer)
    return gap >= MIN_GAP and gap >= 0.05 * abs(answer)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _var(xs: list[float], ddof: int = 0) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - ddof)


def _batch(rng: random.Random, n: int, low: int = -4, high: int = 9) -> list[int]:
    return rng.sample(range(low, high + 1), n)


# -- the generators -------------------------------------------------------------------------------


@generator("unbiased", "no_affine", "variance_not_std")
def normalised_value(rng: random.Random):
    """One output of BatchNorm (training) for a feature whose mini-batch holds 3 to 5 values."""
    n = rng.choice([3, 4, 5])
    batch = _batch(rng, n)
    k = rng.randrange(n)
    gamma, beta = rng.choice([0.5, 1.5, 2.0, 3.0]), rng.choice([-1.0, 0.5, 1.0, 2.0])
    mean, var = _mean(batch), _var(batch)
    x_hat = (batch[k] - mean) / math.sqrt(var + EPS)
    answer = gamma * x_hat + beta
    mistakes = {
        "unbiased": gamma * (batch[k] - mean) / math.sqrt(_var(batch, 1) + EPS) + beta,
        "no_affine": x_hat,
        "variance_not_std": gamma * (batch[k] - mean) / (var + EPS) + beta,
    }
    values = {"batch": batch, "n": n, "n_minus_1": n - 1, "x": batch[k], "position": k + 1, "gamma": gamma,
              "beta": beta, "mean": round(mean, 4), "var": round(var, 4), "x_hat": round(x_hat, 4)}
    return values, answer, mistakes


@generator("momentum_swapped", "last_batch", "average")
def running_mean_two_updates(rng: random.Random):
    """PyTorch's running mean (starting at 0) after two training batches, for a momentum of
    0.05, 0.1 or 0.2."""
    momentum = rng.choice([0.05, 0.1, 0.2])
    first, second = _batch(rng, 3, 0, 9), _batch(rng, 3, 0, 9)
    m1, m2 = _mean(first), _mean(second)
    after_one = (1 - momentum) * 0.0 + momentum * m1
    answer = (1 - momentum) * after_one + momentum * m2
    mistakes = {
        "momentum_swapped": momentum * ((1 - momentum) * m1) + (1 - momentum) * m2,
        "last_batch": m2,
        "average": (m1 + m2) / 2,
    }
    values = {"first": first, "second": second, "mean1": m1, "mean2": m2, "after_one": round(after_one, 4),
              "momentum": momentum, "keep": round(1 - momentum, 4)}
    return values, answer, mistakes


@generator("biased", "starts_at_zero", "momentum_swapped")
def running_var_update(rng: random.Random):
    """PyTorch's running variance (starting at 1) after one batch of 3 to 6 values."""
    n, momentum = rng.choice([3, 4, 5, 6]), rng.choice([0.1, 0.2, 0.3])
    batch = _batch(rng, n, 0, 12)
    unbiased, biased = _var(batch, 1), _var(batch)
    answer = (1 - momentum) * 1.0 + momentum * unbiased
    mistakes = {
        "biased": (1 - momentum) * 1.0 + momentum * biased,
        "starts_at_zero": momentum * unbiased,
        "momentum_swapped": momentum * 1.0 + (1 - momentum) * unbiased,
    }
    values = {"batch": batch, "n": n, "n_minus_1": n - 1, "mean": round(_mean(batch), 4),
              "unbiased": round(unbiased, 4), "biased": round(biased, 4), "momentum": momentum,
              "keep": round(1 - momentum, 4)}
    return values, answer, mistakes


@generator("linear", "oldest_share")
def ema_recent_share(rng: random.Random):
    """The share (in %) of a running average's weight held by its last k batches:
    1 - (1 - momentum)^k; the memory is about 1/momentum batches."""
    momentum, k = rng.choice([(0.1, 5), (0.1, 10), (0.1, 20), (0.01, 20), (0.01, 50), (0.01, 100), (0.05, 20),
                              (0.2, 5), (0.3, 3)])
    answer = 100 * (1 - (1 - momentum) ** k)
    mistakes = {"linear": 100 * min(1.0, k * momentum), "oldest_share": 100 * (1 - momentum) ** k}
    values = {"momentum": momentum, "k": k, "keep": round(1 - momentum, 4), "memory": round(1 / momentum),
              "rest": round(100 * (1 - momentum) ** k, 2)}
    return values, answer, mistakes


@generator("inverted", "excess_only")
def unbiased_factor(rng: random.Random):
    """The factor N / (N - 1) between the unbiased and the biased variance of a batch of N."""
    n = rng.choice([2, 3, 4, 5, 8, 10, 16])
    answer = n / (n - 1)
    return {"n": n, "n_minus_1": n - 1}, answer, {"inverted": (n - 1) / n, "excess_only": 1 / (n - 1)}


@generator("classic", "standard_deviation", "mask_only")
def dropout_variance(rng: random.Random):
    """The variance, over the random mask, of one unit's output under inverted dropout."""
    a = float(rng.choice([1, 2, 3, 4]))
    p = rng.choice([0.2, 0.25, 0.5, 0.75])
    survivor = a / (1 - p)
    answer = (1 - p) * survivor ** 2 - a ** 2
    mistakes = {"classic": p * (1 - p) * a * a, "standard_deviation": math.sqrt(answer), "mask_only": p * (1 - p)}
    values = {"a": a, "p": p, "keep": round(1 - p, 4), "survivor": round(survivor, 4),
              "second_moment": round((1 - p) * survivor ** 2, 4), "square": a * a}
    return values, answer, mistakes


@generator("batch_norm", "layer_norm", "instance_norm")
def group_norm_count(rng: random.Random):
    """How many values one mean of nn.GroupNorm(G, C) averages on an (N, C, H, W) input."""
    n, c = rng.choice([4, 8, 16, 32]), rng.choice([8, 12, 16, 32, 64])
    g = rng.choice([d for d in (2, 4, 8) if c % d == 0 and d < c])
    h, w = rng.choice([4, 7, 8, 14]), rng.choice([4, 7, 8, 14])
    answer = c // g * h * w
    mistakes = {"batch_norm": n * h * w, "layer_norm": c * h * w, "instance_norm": h * w}
    return {"n": n, "c": c, "g": g, "h": h, "w": w, "per_group": c // g}, answer, mistakes


@generator("over_n", "times_sqrt_n")
def batch_mean_noise(rng: random.Random):
    """The standard deviation of a mini-batch mean of N independent values of standard deviation
    sigma: sigma / sqrt(N), the noise a batch's statistics carry."""
    sigma, n = rng.choice([1.0, 2.0, 3.0, 4.0]), rng.choice([2, 4, 8, 16, 64, 256])
    answer = sigma / math.sqrt(n)
    return {"sigma": sigma, "n": n, "sqrt_n": round(math.sqrt(n), 4)}, answer, \
        {"over_n": sigma / n, "times_sqrt_n": sigma * math.sqrt(n)}


@generator("keep_probability", "not_scaled", "times_keep")
def dropout_survivor(rng: random.Random):
    """The value of a unit that survives inverted dropout."""
    a = float(rng.choice([1.5, 2, 3, 4, 6, 8, 12]))
    p = rng.choice([0.2, 0.25, 0.4, 0.6, 0.75, 0.8])
    answer = a / (1 - p)
    mistakes = {"keep_probability": a / p, "not_scaled": a, "times_keep": a * (1 - p)}
    return {"a": a, "p": p, "keep": round(1 - p, 4)}, answer, mistakes


@generator("times_keep", "survivor_value")
def dropout_expected_value(rng: random.Random):
    """The expected output of a unit under inverted dropout in training."""
    a = float(rng.choice([1.5, 2, 3, 4, 5, 6, 8, 10]))
    p = rng.choice([0.2, 0.25, 0.4, 0.5, 0.6, 0.75])
    answer = (1 - p) * (a / (1 - p)) + p * 0.0
    mistakes = {"times_keep": a * (1 - p), "survivor_value": a / (1 - p)}
    return {"a": a, "p": p, "keep": round(1 - p, 4), "survivor": round(a / (1 - p), 4)}, answer, mistakes


@generator("with_buffers", "per_position", "gamma_only")
def bn_parameter_count(rng: random.Random):
    """Learnable parameters of the BatchNorm2d that follows a convolution."""
    c_in, channels = rng.choice([1, 3, 16]), rng.choice([8, 16, 24, 32, 48, 64, 96, 128])
    size = rng.choice([7, 8, 14, 16, 28, 32])
    n = rng.choice([16, 32, 64])
    answer = 2 * channels
    mistakes = {"with_buffers": 4 * channels, "per_position": 2 * channels * size * size, "gamma_only": channels}
    values = {"c_in": c_in, "channels": channels, "n": n, "size": size}
    return values, answer, mistakes


@generator("no_affine", "variance_not_std")
def eval_output(rng: random.Random):
    """BatchNorm's output in evaluation mode, from its running statistics."""
    running_var = rng.choice([0.25, 4.0, 6.25, 9.0, 16.0])
    running_mean = rng.choice([-2.0, -1.0, 0.5, 1.0, 3.0])
    x = running_mean + rng.choice([-3.0, -2.0, -1.5, 1.0, 2.5, 4.0])
    gamma, beta = rng.choice([0.5, 2.0, 3.0]), rng.choice([-1.0, 0.5, 1.5])
    x_hat = (x - running_mean) / math.sqrt(running_var + EPS)
    answer = gamma * x_hat + beta
    mistakes = {"no_affine": x_hat, "variance_not_std": gamma * (x - running_mean) / (running_var + EPS) + beta}
    values = {"x": x, "running_mean": running_mean, "running_var": running_var, "gamma": gamma, "beta": beta,
              "std": math.sqrt(running_var), "x_hat": round(x_hat, 4)}
    return values, answer, mistakes


@generator("per_sample", "batch_only", "spatial_only")
def spatial_values_per_channel(rng: random.Random):
    """How many values one channel's mean averages in spatial BatchNorm."""
    n, c, h, w = rng.choice([2, 4, 8, 16]), rng.choice([3, 8, 16, 32]), rng.choice([4, 5, 7, 8]), rng.choice([4, 6, 8])
    answer = n * h * w
    mistakes = {"per_sample": c * h * w, "batch_only": n, "spatial_only": h * w}
    return {"n": n, "c": c, "h": h, "w": w}, answer, mistakes


@generator("lr_in_velocity", "no_momentum")
def sgd_two_steps(rng: random.Random):
    """A parameter after two steps of torch.optim.SGD with momentum and a changing rate."""
    param = rng.choice([0.5, 1.0, 1.5, 2.0])
    g1, g2 = rng.choice([0.4, 0.5, 0.8, 1.0, -0.5]), rng.choice([-0.6, -0.2, 0.2, 0.3, 0.6])
    lr1, lr2 = rng.choice([0.5, 0.4]), rng.choice([0.1, 0.2])
    mu = 0.9
    buffer = g1
    p1 = param - lr1 * buffer
    buffer = mu * buffer + g2
    answer = p1 - lr2 * buffer
    v = -lr1 * g1
    wrong_p1 = param + v
    v = mu * v - lr2 * g2
    mistakes = {"lr_in_velocity": wrong_p1 + v, "no_momentum": param - lr1 * g1 - lr2 * g2}
    values = {"param": param, "g1": g1, "g2": g2, "lr1": lr1, "lr2": lr2, "mu": mu, "p1": round(p1, 4),
              "buffer2": round(buffer, 4)}
    return values, answer, mistakes


@generator("dbeta", "mean_not_sum", "uses_x")
def dgamma_three_samples(rng: random.Random):
    """dgamma for a one-feature batch of three samples."""
    xs = _batch(rng, 3, -3, 9)
    grads = [rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0]) for _ in range(3)]
    mean, var = _mean(xs), _var(xs)
    x_hat = [(v - mean) / math.sqrt(var + EPS) for v in xs]
    answer = sum(g * h for g, h in zip(grads, x_hat))
    mistakes = {"dbeta": sum(grads), "mean_not_sum": answer / 3, "uses_x": sum(g * v for g, v in zip(grads, xs))}
    values = {"x": xs, "dout": grads, "mean": round(mean, 4), "var": round(var, 4),
              "x_hat": [round(h, 4) for h in x_hat]}
    return values, answer, mistakes


@generator("variance", "mean")
def identity_gamma(rng: random.Random):
    """The gamma with which BatchNorm gives back its input."""
    std = rng.choice([0.5, 1.5, 2.0, 2.5, 3.0, 4.0])
    mean = rng.choice([-3.0, -1.0, 2.0, 5.0, 7.0])
    answer = math.sqrt(std * std + EPS)
    return {"mean": mean, "var": std * std, "std": std}, answer, {"variance": std * std, "mean": mean}


@generator("zero", "gamma")
def output_mean(rng: random.Random):
    """The batch mean of BatchNorm's output in training: beta."""
    gamma = rng.choice([0.5, 2.0, 3.0, 4.0])
    beta = rng.choice([-2.0, -1.5, -0.5, 1.0, 2.5])
    batch = _batch(rng, 5, -4, 12)
    return {"gamma": gamma, "beta": beta, "batch": batch}, beta, {"zero": 0.0, "gamma": gamma}
