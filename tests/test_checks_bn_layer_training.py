"""The integration checks: a broken component makes the checks that depend on it "blocked by"
its exercise; a composition bug that every unit check lets through fails here, saying at which
step and in which value; and the solutions pass."""

from dataclasses import dataclass, field

import pytest
from support import Mutant, check_ids, failures

from autograder.i18n import Translator

EXERCISE = "bn_layer_training"
MOMENTUM = "training_with_momentum_and_weight_decay"
PLAIN = "training_with_plain_sgd"
RUNNING = "running_statistics_during_training"
EVALUATION = "evaluation_after_training"


def blocked(*checks: str) -> dict[str, str]:
    return {check: "blocked" for check in checks}


@dataclass(frozen=True)
class Rewrite:
    """A wrong file written from scratch (not a small edit of the solution)."""

    name: str
    file: str
    text: str
    fails: dict[str, str] = field(default_factory=dict)

    def source(self) -> str:
        return self.text


GLOBAL_BUFFER = '''
_buffer = None


def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    global _buffer
    g = grad + weight_decay * param
    if not momentum:
        return param - lr * g, None
    _buffer = g.copy() if velocity is None else momentum * _buffer + g  # shared by gamma and beta
    return param - lr * _buffer, _buffer.copy()
'''

# (wrong component, the exercise whose unit checks catch it); the integration checks that use
# the component's values are blocked by that exercise, the others pass.
BLOCKING = [
    (Mutant("forward with the unbiased variance", "batchnorm.py", "x.var(axis=0)", "x.var(axis=0, ddof=1)",
            blocked(MOMENTUM, PLAIN, EVALUATION)), "bn_forward"),
    (Mutant("dx without the mean and variance paths", "batchnorm.py",
            "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))",
            "dx = inv_std * dx_hat", blocked(MOMENTUM, PLAIN, EVALUATION)), "bn_backward"),
    (Mutant("running variance biased", "batchnorm.py", "x.var(axis=0, ddof=1)", "x.var(axis=0)",
            blocked(RUNNING, EVALUATION)), "bn_running_stats"),
    (Mutant("evaluation without gamma and beta", "batchnorm.py",
            "return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
            "return (x - running_mean) / np.sqrt(running_var + eps)", blocked(EVALUATION)), "bn_running_stats"),
    (Rewrite("one momentum buffer shared by gamma and beta", "optim.py", GLOBAL_BUFFER,
             blocked(MOMENTUM, EVALUATION)), "bn_sgd_step"),
    (Mutant("evaluation with batch statistics", "batchnorm.py",
            "return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
            "return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta", blocked(EVALUATION)),
     "bn_running_stats"),
]
# Every composition bug we could find (a momentum buffer shared through a global, state kept
# between calls) is already caught by a unit check, so "blocked by" is the right outcome for
# them here. Wrong defaults (eps, momentum) block nothing: the chain passes them explicitly
# (tests/test_dependencies.py).

def blockers(report) -> dict[str, str]:
    return {check.id.split("::", 1)[1]: check.blocked_by for check in report.exercise(EXERCISE).checks
            if check.outcome == "blocked"}


@pytest.mark.parametrize("mutant, owner", BLOCKING, ids=[m.name for m, _ in BLOCKING])
def test_broken_component_blocks_the_checks_using_it(mutant, owner, kit, grade_files):
    report = grade_files({mutant.file: mutant.source()}, [EXERCISE, owner])
    assert report.exercise(owner).status == "failed"
    assert failures(report, EXERCISE) == mutant.fails
    assert blockers(report) == dict.fromkeys(mutant.fails, owner)
    points = kit.course.exercise(EXERCISE).points
    assert report.exercise(EXERCISE).waiting == {owner: points / 4 * len(mutant.fails)}  # 4 checks


def test_every_check_is_failed_by_some_mutant(solutions_report):
    caught = set().union(*(m.fails for m, _ in BLOCKING))
    assert check_ids(solutions_report, EXERCISE) <= caught


@pytest.mark.parametrize("language, prefix", [("en", "Training step 1 of 6: out returned by batchnorm_forward"),
                                              ("es", "Paso de entrenamiento 1 de 6: out")])
def test_divergence_names_the_step_and_the_value(language, prefix, grade_files):
    mutant, _ = BLOCKING[0]  # blocked, but the message behind the block still names the step
    report = grade_files({mutant.file: mutant.source()}, [EXERCISE])
    check = next(c for c in report.exercise(EXERCISE).checks if c.id.endswith(MOMENTUM))
    assert Translator(language)(check.feedback.summary).startswith(prefix)
    assert check.feedback.data["step"] == 1


def test_divergence_in_evaluation_says_so(grade_files):
    mutant, _ = BLOCKING[-1]
    report = grade_files({mutant.file: mutant.source()}, [EXERCISE])
    check = next(c for c in report.exercise(EXERCISE).checks if c.id.endswith(EVALUATION))
    assert Translator("en")(check.feedback.summary).startswith("Evaluation after training: out returned by "
                                                                "batchnorm_eval")
    assert check.feedback.data["step"] == "evaluation"


def test_solutions_pass(solutions_report):
    result = solutions_report.exercise(EXERCISE)
    assert result.status == "passed" and len(result.checks) == 4
