"""The visible part of each exercise's test cell in the exported notebooks: a few quick asserts
on a small example, run by the student in their own kernel (NumPy and the notebook's functions
only, no kit; torch for the PyTorch exercise), with messages from the catalogs (``notebook.asserts.<exercise>.<name>``,
written in the code as ``«name»``).

They only look at a few properties. The score never depends on them: it comes from the kit's
checks in the hidden block, published before these run (see `autograder.instructor.nbgrader.hidden_tests`).
"""

from __future__ import annotations

import re

from autograder.i18n import Translator

PLACEHOLDER = re.compile(r"«(\w+)»")

ASSERTS: dict[str, str] = {
    "bn_forward": """\
rng = np.random.default_rng(0)
x = rng.normal(3.0, 2.0, size=(8, 4))
gamma, beta = rng.normal(size=4), rng.normal(size=4)
out, cache = batchnorm_forward(x, gamma, beta)
assert out.shape == (8, 4), «shape»
x_hat = (out - beta) / gamma
assert np.allclose(x_hat.mean(axis=0), 0, atol=1e-6), «mean»
assert np.allclose(x_hat.var(axis=0), 1, atol=1e-3), «variance»
""",
    "bn_backward": """\
rng = np.random.default_rng(1)
x = rng.normal(3.0, 2.0, size=(8, 4))
gamma, beta = rng.normal(size=4), rng.normal(size=4)
out, cache = batchnorm_forward(x, gamma, beta)
dout = rng.normal(size=(8, 4))
dx, dgamma, dbeta = batchnorm_backward(dout, cache)
assert dx.shape == (8, 4) and dgamma.shape == (4,) and dbeta.shape == (4,), «shapes»
assert np.allclose(dbeta, dout.sum(axis=0)), «dbeta»
assert np.allclose(dx.sum(axis=0), 0, atol=1e-8), «dx_sum»
""",
    "bn_running_stats": """\
rng = np.random.default_rng(2)
x = rng.normal(2.0, 3.0, size=(16, 4))
running_mean, running_var = update_running_stats(None, None, x)
assert np.allclose(running_mean, 0.1 * x.mean(axis=0)), «mean»
assert np.allclose(running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1)), «variance»
out = batchnorm_eval(x[:1], np.ones(4), np.zeros(4), running_mean, running_var)
assert out.shape == (1, 4), «eval_shape»
""",
    "bn_sgd_step": """\
param, grad = np.array([1.0, -2.0]), np.array([0.5, 0.5])
new_param, velocity = sgd_step(param, grad, lr=0.1)
assert np.allclose(new_param, [0.95, -2.05]) and velocity is None, «plain»
new_param, velocity = sgd_step(param, grad, lr=0.1, momentum=0.9)
assert np.allclose(velocity, grad) and np.allclose(new_param, [0.95, -2.05]), «first_step»
""",
    "spatial_bn": """\
rng = np.random.default_rng(3)
x = rng.normal(1.0, 2.0, size=(2, 3, 4, 5))
gamma, beta = rng.normal(size=3), rng.normal(size=3)
out, cache = spatial_batchnorm_forward(x, gamma, beta)
assert out.shape == x.shape, «shape»
x_hat = (out - beta.reshape(1, 3, 1, 1)) / gamma.reshape(1, 3, 1, 1)
assert np.allclose(x_hat.mean(axis=(0, 2, 3)), 0, atol=1e-6), «channel_mean»
dx, dgamma, dbeta = spatial_batchnorm_backward(rng.normal(size=x.shape), cache)
assert dx.shape == x.shape and dgamma.shape == (3,) and dbeta.shape == (3,), «backward_shapes»
""",
    "dropout": """\
x = np.ones((100, 100))
out, cache = dropout_forward(x, 0.3, True, np.random.default_rng(4))
kept = out != 0
assert 0.65 < kept.mean() < 0.75, «keep_rate»
assert np.allclose(out[kept], 1 / 0.7), «scale»
assert np.array_equal(dropout_backward(np.ones_like(x), cache) != 0, kept), «mask»
assert np.array_equal(dropout_forward(x, 0.3, False, np.random.default_rng(4))[0], x), «evaluation»
""",
    "bn_layer_training": """\
w, velocity = np.array([0.0]), None
for step in range(300):
    w, velocity = sgd_step(w, 2 * (w - 3.0), lr=0.05, velocity=velocity, momentum=0.9)
assert np.allclose(w, 3.0, atol=1e-3), «converges»
""",
    "torch_model": """\
model = build_model(6, 16, 4, p=0.3)
x = torch.randn(8, 6)
model.train()
scores = evaluate(model, x)
assert tuple(scores.shape) == (8, 4), «shape»
assert model.training, «mode»
assert torch.equal(scores, evaluate(model, x)), «deterministic»
""",
}


def visible_asserts(exercise_id: str, t: Translator) -> str:
    """The exercise's visible asserts with their messages in `t`'s language ("" when none)."""
    code = ASSERTS.get(exercise_id, "")
    return PLACEHOLDER.sub(lambda m: repr(t(f"notebook.asserts.{exercise_id}.{m.group(1)}")), code)
