"""Numeric questions: each student's numbers are reproducible, differ between students, and the
answer the kit computes agrees with NumPy and PyTorch run on the numbers the student is shown."""

import ast

import numpy as np
import pytest
import torch

from autograder.quiz.bank import Numeric, load_bank
from autograder.quiz.numbers import GENERATORS, MISTAKES, variant

SEEDS = [0, 1, 7, 42, 2024, 123456789, 2**31 - 1]


@pytest.fixture(scope="module")
def numeric(kit) -> dict[str, Numeric]:
    """Generator name -> a question of the shipped bank that uses it."""
    return {q.generator: q for q in load_bank(kit).questions if isinstance(q, Numeric)}


def shown(values: dict[str, str], name: str):
    """A value as the student reads it in the question ("[1, 5, 4]", "0.25")."""
    return ast.literal_eval(values[name])


def bn1d(gamma: float = 1.0, beta: float = 0.0) -> torch.nn.BatchNorm1d:
    layer = torch.nn.BatchNorm1d(1, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.fill_(gamma)
        layer.bias.fill_(beta)
    return layer


def column(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).reshape(-1, 1)


# -- independent answers, from the shown numbers ------------------------------------------------


def normalised_value(v):
    batch = np.array(shown(v, "batch"), dtype=float)
    assert len(batch) == shown(v, "n")
    k = shown(v, "position") - 1
    assert batch[k] == shown(v, "x")
    expected = shown(v, "gamma") * (batch[k] - batch.mean()) / np.sqrt(batch.var() + 1e-5) + shown(v, "beta")
    out = bn1d(shown(v, "gamma"), shown(v, "beta")).train()(column(batch))
    assert out[k, 0].item() == pytest.approx(expected, abs=1e-9)
    return expected


def bn1d_momentum(momentum: float) -> torch.nn.BatchNorm1d:
    return torch.nn.BatchNorm1d(1, momentum=momentum, dtype=torch.float64)


def running_mean_two_updates(v):
    m = shown(v, "momentum")
    layer = bn1d_momentum(m).train()
    layer(column(shown(v, "first")))
    layer(column(shown(v, "second")))
    means = [np.mean(shown(v, name)) for name in ("first", "second")]
    assert layer.running_mean.item() == pytest.approx((1 - m) * m * means[0] + m * means[1])
    return layer.running_mean.item()


def running_var_update(v):
    batch, m = shown(v, "batch"), shown(v, "momentum")
    assert len(batch) == shown(v, "n")
    layer = bn1d_momentum(m).train()
    layer(column(batch))
    assert layer.running_var.item() == pytest.approx((1 - m) + m * np.var(batch, ddof=1))
    return layer.running_var.item()


def ema_recent_share(v):
    """PyTorch's running mean after many batches, with the last k batches' means set to 1 and
    all the older ones to 0: the weight those k batches hold, in %."""
    m, k = shown(v, "momentum"), shown(v, "k")
    layer = bn1d_momentum(m).train()
    with torch.no_grad():
        layer.running_mean.fill_(0.0)
    for index in range(k):
        layer(column([1.0, 1.0 + 1e-3]) - 5e-4)  # batch mean exactly 1
    return 100 * layer.running_mean.item()


def unbiased_factor(v):
    n = shown(v, "n")
    batch = np.random.default_rng(n).normal(size=n)
    layer = bn1d_momentum(1.0).train()  # momentum 1: running_var is the last batch's
    layer(column(batch))
    return layer.running_var.item() / np.var(batch)


def dropout_variance(v):
    a, p = shown(v, "a"), shown(v, "p")
    torch.manual_seed(1)
    out = torch.nn.Dropout(p).train()(torch.full((400_000,), float(a), dtype=torch.float64))
    exact = a * a * p / (1 - p)
    assert out.var().item() == pytest.approx(exact, rel=0.03)  # Monte Carlo agrees
    return exact


def group_norm_count(v):
    n, c, g, h, w = (shown(v, name) for name in ("n", "c", "g", "h", "w"))
    x = torch.zeros(n, c, h, w, dtype=torch.float64)
    x[0, : c // g] = torch.arange(c // g * h * w, dtype=torch.float64).reshape(c // g, h, w)
    out = torch.nn.GroupNorm(g, c, affine=False, dtype=torch.float64)(x)
    group = x[0, : c // g]
    assert torch.allclose(out[0, : c // g], (group - group.mean()) / torch.sqrt(group.var(unbiased=False) + 1e-5))
    return group.numel()


def batch_mean_noise(v):
    sigma, n = shown(v, "sigma"), shown(v, "n")
    means = np.random.default_rng(0).normal(0.0, sigma, size=(20_000, n)).mean(axis=1)
    exact = sigma / np.sqrt(n)
    assert means.std() == pytest.approx(exact, rel=0.03)  # Monte Carlo agrees
    return exact


def dropout_survivor(v):
    a, p = shown(v, "a"), shown(v, "p")
    out = torch.nn.Dropout(p).train()(torch.full((4000,), float(a), dtype=torch.float64))
    survivors = out[out != 0].unique()
    assert len(survivors) == 1
    return survivors.item()


def dropout_expected_value(v):
    a, p = shown(v, "a"), shown(v, "p")
    torch.manual_seed(0)
    out = torch.nn.Dropout(p).train()(torch.full((400_000,), float(a), dtype=torch.float64))
    expected = (1 - p) * (a / (1 - p))
    assert out.mean().item() == pytest.approx(expected, rel=0.02)  # Monte Carlo agrees
    return expected


def bn_parameter_count(v):
    c_in, channels, n, size = (shown(v, name) for name in ("c_in", "channels", "n", "size"))
    conv = torch.nn.Conv2d(c_in, channels, kernel_size=3, padding=1)
    assert conv(torch.zeros(n, c_in, size, size)).shape == (n, channels, size, size)  # the shape shown is right
    return sum(p.numel() for p in torch.nn.BatchNorm2d(channels).parameters() if p.requires_grad)


def eval_output(v):
    layer = bn1d(shown(v, "gamma"), shown(v, "beta")).eval()
    with torch.no_grad():
        layer.running_mean.fill_(shown(v, "running_mean"))
        layer.running_var.fill_(shown(v, "running_var"))
    return layer(column([shown(v, "x")])).item()


def spatial_values_per_channel(v):
    x = np.zeros([shown(v, name) for name in ("n", "c", "h", "w")])
    counts = {x[:, c].size for c in range(x.shape[1])}
    assert len(counts) == 1
    return counts.pop()


def sgd_two_steps(v):
    gamma = torch.nn.Parameter(torch.tensor([float(shown(v, "param"))], dtype=torch.float64))
    optimiser = torch.optim.SGD([gamma], lr=shown(v, "lr1"), momentum=shown(v, "mu"))
    for grad, lr in ((shown(v, "g1"), shown(v, "lr1")), (shown(v, "g2"), shown(v, "lr2"))):
        optimiser.param_groups[0]["lr"] = lr
        gamma.grad = torch.tensor([float(grad)], dtype=torch.float64)
        optimiser.step()
    return gamma.item()


def dgamma_three_samples(v):
    layer = bn1d().train()
    layer(column(shown(v, "x"))).backward(column(shown(v, "dout")))
    return layer.weight.grad.item()


def identity_gamma(v):
    mean, var = shown(v, "mean"), shown(v, "var")
    x = mean + np.sqrt(var) * np.array([-1.0, 1.0, -1.0, 1.0])  # mean `mean`, biased variance `var`
    assert x.mean() == pytest.approx(mean) and x.var() == pytest.approx(var)
    gamma = float(np.sqrt(var + 1e-5))
    out = bn1d(gamma, mean).train()(column(x))
    assert out[:, 0].detach().numpy() == pytest.approx(x)
    return gamma


def output_mean(v):
    out = bn1d(shown(v, "gamma"), shown(v, "beta")).train()(column(shown(v, "batch")))
    return out.mean().item()


INDEPENDENT = {f.__name__: f for f in (
    normalised_value, running_mean_two_updates, running_var_update, ema_recent_share, unbiased_factor,
    dropout_variance, group_norm_count, batch_mean_noise, dropout_survivor, dropout_expected_value,
    bn_parameter_count, eval_output, spatial_values_per_channel, sgd_two_steps, dgamma_three_samples,
    identity_gamma, output_mean)}


def test_every_generator_is_checked_independently():
    assert set(INDEPENDENT) == set(GENERATORS)


@pytest.mark.parametrize("name", sorted(GENERATORS))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_answer_matches_numpy_and_pytorch(name, seed, numeric):
    question = numeric[name]
    drawn = variant(name, seed, question.id)
    expected = INDEPENDENT[name](drawn.values)
    assert question.tolerance.accepts(drawn.answer, expected), (drawn.answer, expected)
    assert drawn.answer == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_no_mistake_is_accepted_as_right(name, numeric):
    """Over many students, every known mistake's number falls outside the tolerance, so it
    gets its own feedback and is never marked right."""
    question = numeric[name]
    for seed in range(300):
        drawn = variant(name, seed, question.id)
        assert set(drawn.mistakes) == set(MISTAKES[name])
        for mistake, value in drawn.mistakes.items():
            assert not question.tolerance.accepts(value, drawn.answer), (seed, mistake, value, drawn.answer)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_student_same_numbers_other_students_other_numbers(name, numeric):
    question = numeric[name]
    assert variant(name, 42, question.id) == variant(name, 42, question.id)
    different = {tuple(sorted(variant(name, seed, question.id).values.items())) for seed in range(20)}
    assert len(different) >= 5


def test_questions_of_the_same_generator_differ_for_one_student():
    """The numbers depend on the question too, not only on the student."""
    assert variant("output_mean", 42, "first").values != variant("output_mean", 42, "second").values \
        or variant("output_mean", 42, "third").values != variant("output_mean", 42, "first").values


def test_the_conceptual_parameters_vary_between_students():
    """The numbers vary the idea, not only the decoration: the momentum (a memory of ~10 or
    ~100 batches) and the batch size (where N/(N - 1) matters) differ between students."""
    momenta = {variant("ema_recent_share", seed, "q").values["momentum"] for seed in range(200)}
    assert {"0.01", "0.1"} <= momenta
    sizes = {int(variant("unbiased_factor", seed, "q").values["n"]) for seed in range(200)}
    assert min(sizes) == 2 and max(sizes) >= 16
    assert len({variant("running_var_update", seed, "q").values["n"] for seed in range(200)}) >= 3
    assert len({variant("running_mean_two_updates", seed, "q").values["momentum"] for seed in range(200)}) >= 3
