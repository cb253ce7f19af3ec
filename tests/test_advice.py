"""The vectorisation tip: given for loop-heavy code that works, never for vectorised code,
never costing points, and only when asked for (grade EXERCISE, watch mode)."""

from support import SOLUTIONS, make_submission

from autograder.grading.runner import grade
from autograder.i18n import Translator

LOOPS = '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, d = x.shape
    if n < 2:
        raise ValueError("need two samples")
    out = np.empty_like(x)
    for j in range(d):
        column = [float(v) for v in x[:, j]]
        mean = sum(column) / n
        var = sum((v - mean) ** 2 for v in column) / n
        for i in range(n):
            out[i, j] = gamma[j] * (column[i] - mean) / (var + eps) ** 0.5 + beta[j]
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    return out, ((x - x.mean(axis=0)) * inv_std, gamma, inv_std)


def batchnorm_backward('''


def loopy_submission(tmp_path):
    source = (SOLUTIONS / "batchnorm.py").read_text()
    start, end = source.index("def batchnorm_forward"), source.index("def batchnorm_backward(")
    rest = source[end + len("def batchnorm_backward("):]
    return make_submission(tmp_path / "loops", {"batchnorm.py": source[:start] + LOOPS.lstrip() + rest})


def test_loops_get_a_tip_and_keep_their_points(kit, reference, tmp_path):
    report = grade(kit, loopy_submission(tmp_path), exercises=["bn_forward"], reference=reference, advice=True)
    result = report.exercise("bn_forward")
    assert result.status == "passed" and result.score == result.max_points
    assert len(result.notes) == 1
    assert "took" in Translator("en")(result.notes[0]) and "Python loops" in Translator("en")(result.notes[0])


def test_vectorised_code_gets_no_tip(kit, reference):
    report = grade(kit, SOLUTIONS, exercises=["bn_forward", "bn_backward"], reference=reference, advice=True)
    assert [r.notes for r in report.exercises] == [[], []]


def test_no_tip_unless_asked_or_when_the_code_is_wrong(kit, reference, tmp_path):
    folder = loopy_submission(tmp_path)
    assert grade(kit, folder, exercises=["bn_forward"], reference=reference).exercise("bn_forward").notes == []
    (folder / "batchnorm.py").write_text((folder / "batchnorm.py").read_text().replace("+ beta[j]", "- beta[j]"))
    report = grade(kit, folder, exercises=["bn_forward"], reference=reference, advice=True)
    assert report.exercise("bn_forward").status == "failed" and report.exercise("bn_forward").notes == []


def test_a_tip_that_times_out_costs_no_points_anywhere(kit, reference, tmp_path):
    """The large batch of the tip may exceed the time limit: the scored checks (of every
    exercise) run before it, so they never meet the timed-out function."""
    from support import fast_kit

    quick = fast_kit(kit, seconds=0.5)
    report = grade(quick, loopy_submission(tmp_path), exercises=["bn_forward", "bn_backward"],
                   reference=reference, advice=True)
    assert [r.status for r in report.exercises] == ["passed", "passed"]
    notes = [Translator("en")(n) for n in report.exercise("bn_forward").notes]
    assert len(notes) == 1 and "did not finish within 0.5 s on a 2048×512 batch" in notes[0]


DROPOUT_LOOPS = '''
import numpy as np

def dropout_forward(x, p, train, rng):
    if not 0 <= p <= 1:
        raise ValueError("p must be a probability")
    if not train or p == 0:
        return x.copy(), (None, p)
    keep = np.zeros(x.shape, dtype=bool)
    for index in np.ndindex(x.shape):          # one draw at a time
        keep[index] = rng.random() >= p
    if p == 1:
        return np.zeros_like(x), (keep, p)
    return x * keep / (1 - p), (keep, p)

def dropout_backward(dout, cache):
    keep, p = cache
    if keep is None:
        return dout.copy()
    return np.zeros_like(dout) if p == 1 else dout * keep / (1 - p)
'''


def test_dropout_loops_get_their_own_tip(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "dropout_loops", {"dropout.py": DROPOUT_LOOPS})
    report = grade(kit, folder, exercises=["dropout"], reference=reference, advice=True)
    notes = [Translator("en")(note) for note in report.exercise("dropout").notes]
    assert len(notes) == 1 and "draw the whole mask at once" in notes[0]
    vectorised = grade(kit, SOLUTIONS, exercises=["dropout"], reference=reference, advice=True)
    assert vectorised.exercise("dropout").notes == []
