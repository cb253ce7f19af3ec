"""The first run after a clone (empty caches): the expected values are still PyTorch's to the
bit, but computing them does not import torch's compiler or sympy, and torch is imported in a
process of its own while the grader starts, when the reference cache is cold. (Times are
measured by benchmarks/grade_speed.py, not here.)"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from support import ROOT, SOLUTIONS

from autograder.grading.reference import SGD, Reference, _backward
from autograder.grading.reference_process import ReferenceProcess
from autograder.grading.runner import grade
from autograder.kit import Kit


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.1), (0.9, 0.05)])
def test_the_sgd_step_is_torch_optim_sgd_to_the_bit(momentum, weight_decay):
    rng = np.random.default_rng(7)
    start = [rng.standard_normal(shape) for shape in ((5,), (3, 4))]
    ours = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in start]
    sgd = SGD(torch, ours, momentum=momentum, weight_decay=weight_decay)
    optimizer = torch.optim.SGD(theirs, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for lr in (0.1, 0.05, 0.2, 0.01):
        grads = [torch.from_numpy(rng.standard_normal(a.shape)) for a in start]
        sgd.step([g.clone() for g in grads], lr)
        for param, grad in zip(theirs, grads):
            param.grad = grad.clone()
        optimizer.param_groups[0]["lr"] = lr
        optimizer.step()
        for mine, reference in zip(ours, theirs):
            np.testing.assert_array_equal(mine.detach().numpy(), reference.detach().numpy())
        buffers = [optimizer.state[p].get("momentum_buffer") for p in theirs]
        for mine, reference in zip(sgd.buffers, buffers):
            assert (mine is None) == (reference is None)
            if mine is not None:
                np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def test_the_backward_of_a_sum_gives_the_gradient_to_the_bit():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    grads = []
    for backward in (lambda out, d: out.backward(d), _backward):
        layer = torch.nn.BatchNorm1d(4, dtype=torch.float64)
        inputs = torch.from_numpy(x.copy()).requires_grad_(True)
        backward(layer(inputs), torch.from_numpy(dout))
        grads.append([inputs.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_the_references_do_not_import_the_compiler_or_sympy():
    """Each kind of reference computed once in a fresh process (the first use is what imports
    things): torch is imported, its compiler (torch._dynamo, 1.2 s) and sympy (0.3 s) are not."""
    script = """
import sys
import numpy as np
from autograder.grading.reference import Reference
r, x, g = Reference(None), np.ones((4, 3)) + np.eye(4, 3), np.ones(3)
r.batchnorm(x, g, g, dout=x); r.batchnorm(x.reshape(2, 3, 2, 1), g, g, dout=x.reshape(2, 3, 2, 1))
r.running_stats([x, x]); r.masked_scale(x, x > 1, 0.5, x)
r.sgd(g, [g, g], [0.1, 0.2], momentum=0.9, weight_decay=0.1)
r.bn_layer_training([x, x], [x, x], x, g, g, [0.1, 0.2], momentum=0.9, weight_decay=0.1)
print(sorted(m for m in ("torch", "torch._dynamo", "sympy") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['torch']"


def test_a_reference_process_computes_the_same_values(tmp_path, solutions_report, reference):
    """The expected values computed in the reference process are the in-process ones, and
    the grader process itself never imports torch for them."""
    kit = Kit.locate(ROOT / "course.yml")
    remote = Reference(tmp_path / "cache")
    remote.process = ReferenceProcess.start()
    try:
        report = grade(kit, SOLUTIONS, reference=remote)
    finally:
        remote.process.close()
    assert report.all_passed and remote.computed > 50
    for key, arrays in remote.memory.items():
        if key in reference.memory:
            for name, array in arrays.items():
                np.testing.assert_array_equal(array, reference.memory[key][name])
    assert sum(key in reference.memory for key in remote.memory) > 50


def test_a_reference_process_that_dies_is_replaced_by_torch_here(tmp_path):
    remote = Reference(None)
    remote.process = ReferenceProcess.start()
    remote.process.process.kill()
    x = np.arange(6.0).reshape(3, 2)
    out = remote.batchnorm(x, np.ones(2), np.zeros(2))["out"]
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), atol=1e-12)
    assert remote.process is None



def test_torch_starts_loading_before_numpy_and_stops_when_not_needed(tmp_path):
    """On a cold cache `grade` starts the reference process before anything imports NumPy;
    when nothing needs it (untouched stubs) it is stopped at once, not left importing torch."""
    import psutil

    probe = ("import sys; from autograder.grading import reference_process; "
             "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    env = {**os.environ, "GRADE_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run([sys.executable, "-m", "autograder", "--submission", str(ROOT / "exercises")],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "not started" in result.stdout
    left = [p for p in psutil.process_iter(["cmdline", "environ"])
            if "reference_process import serve" in " ".join(p.info["cmdline"] or ())
            and (p.info["environ"] or {}).get("GRADE_STATE_DIR") == env["GRADE_STATE_DIR"]]
    assert not left
