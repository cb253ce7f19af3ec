"""What the two batch-norm backward exercises (bn_backward, spatial_bn) check the same way: the
three gradients against autograd, and the gradient-check view. Not a check module itself."""

from autograder.grading.compare import expect_array
from autograder.grading.gradcheck import gradient_rows
from autograder.grading.misconceptions import diagnosis

GRADIENTS = ("dx", "dgamma", "dbeta")
INPUTS = ("x", "gamma", "beta", "dout", "eps")


def expect_gradients(grads, expected, inputs: tuple, tol, dtype, *, function: str, exercise: str) -> None:
    """dx (shape of x), dgamma and dbeta (C,) in turn: shape, dtype and values, naming a known
    mistake of `exercise` when one explains them; `inputs` is (x, gamma, beta, dout, eps)."""
    named = dict(zip(INPUTS, inputs))
    for name, got in zip(GRADIENTS, grads):
        expect_array(got, expected[name], name=name, function=function, tol=tol, dtype=dtype,
                     diagnose=diagnosis(exercise, name, **named))


def add_gradient_view(rows: list, reference, grads, expected, inputs: tuple) -> None:
    """Append the gradient-check view (the student's gradients against autograd and a
    numerical gradient) to the `gradients` fixture's `rows`."""
    x, gamma, beta, dout, eps = inputs
    rows.extend(gradient_rows(grads, expected, reference.batchnorm_numerical(x, gamma, beta, dout, eps)))
