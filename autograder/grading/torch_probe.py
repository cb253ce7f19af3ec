"""What the PyTorch exercise's model does, observed inside the sandboxed worker.

The worker loads this file by its path (``op: "drive"``, `autograder.sandbox.client.Sandbox.drive`)
and calls one of its entries with ``functions``, the student's ``build_model``, ``evaluate`` and
``freeze_bn``, and a `spec` of plain values from the check. Each entry builds the student's
model, loads the check's weights and running statistics into it, runs it and answers with
plain numbers only: arrays, floats, booleans and strings. Torch objects never leave the
worker; every judgement is made by the checks, in the grader, on these numbers. This module
imports torch, NumPy and the standard library only, nothing of the kit.

The model is found by type: its two ``nn.Linear`` layers (fc1: D -> H, fc2: H -> C, told
apart by their shapes) and its ``nn.BatchNorm1d``; forward hooks on them record the
activations between the layers, whatever the model calls in between (modules or functional
ReLU and Dropout). Everything runs in float64.

`spec` keys: ``sizes`` [D, H, C], ``p``, ``weights`` {w1 (H, D), b1 (H,), gamma, beta,
running_mean, running_var (H,), w2 (C, H), b2 (C,)}, ``x`` (N, D), and per entry ``mode``
("train" or "eval"), ``passes``, ``seed``, ``upstream`` (N, C), ``lr``, ``epochs``.
An answer with ``problem`` says why the model could not be probed (`structure`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

Functions = Mapping[str, Callable[..., Any]]
NAMES = ("fc1", "bn", "fc2")


class Unprobeable(Exception):
    """The model is not the notebook's network as the exercise states it; ``answer`` says how."""

    def __init__(self, **answer: Any) -> None:
        super().__init__(str(answer))
        self.answer = answer


# -- the entries -----------------------------------------------------------------------------------


def forward(functions: Functions, spec: dict) -> dict:
    """`passes` forward passes of x in `mode`: each pass's activations (fc1's output, bn's input and
    output, fc2's input, the scores) and the running statistics after all of them."""
    return _probe(_forward, functions, spec)


def evaluate(functions: Functions, spec: dict) -> dict:
    """The student's evaluate(model, x), called `passes` times on a model left in `mode`: the
    scores, whether they carry a graph, whether gradients were on during the forward pass, the
    training flag of every module afterwards, and the running statistics; and the scores of
    the same model run in evaluation mode by the probe (``eval_scores``)."""
    return _probe(_evaluate, functions, spec)


def fine_tune(functions: Functions, spec: dict) -> dict:
    """`epochs` epochs of fine-tuning: model.train(), freeze_bn(model), one forward pass of x,
    the loss sum(scores * upstream), backward, and an SGD step of `lr` on every parameter that
    requires a gradient. Per epoch: the activations, the parameters after the step, and which
    parameters require gradients; and the activations of one training pass of the same model
    without freeze_bn (``unfrozen``)."""
    return _probe(_fine_tune, functions, spec)


def _probe(run: Callable[[Functions, dict], dict], functions: Functions, spec: dict) -> dict:
    # torch.manual_seed also queues seeding for CUDA, XPU and other devices, a list that grows at
    # every call (about 0.1-0.4 ms each); the CPU generator alone is what the model draws from.
    torch.default_generator.manual_seed(int(spec.get("seed", 0)))
    try:
        return run(functions, spec)
    except Unprobeable as problem:
        return {"problem": problem.answer}


# -- what each entry does ----------------------------------------------------------------------------


def _forward(functions: Functions, spec: dict) -> dict:
    model, layers = _model(functions, spec)
    model.train(spec.get("mode") == "train")
    x = _tensor(spec["x"])
    passes = []
    for _ in range(int(spec.get("passes", 1))):
        with _Recorder(layers) as recorder:
            scores = model(x)
        passes.append({**recorder.arrays(), "out": _array(scores)})
    return {"passes": passes, **_statistics(layers["bn"]), "biases": _biases(layers)}


def _evaluate(functions: Functions, spec: dict) -> dict:
    x = _tensor(spec["x"])
    twin, _ = _model(functions, spec)  # the same model, run in evaluation mode by the probe itself
    twin.eval()
    with torch.no_grad():
        own = _array(twin(x))
    model, layers = _model(functions, spec)
    model.train(spec.get("mode") == "train")
    calls = []
    for _ in range(int(spec.get("passes", 1))):
        with _Recorder(layers) as recorder:
            scores = functions["evaluate"](model, x)
        calls.append({**_scores(scores), "grad_enabled": recorder.grad_enabled,
                      "training_during": recorder.training,
                      "training_after": [bool(m.training) for m in model.modules()],
                      "model_training_after": bool(model.training)})
    return {"calls": calls, "eval_scores": own, **_statistics(layers["bn"]), "biases": _biases(layers)}


def _fine_tune(functions: Functions, spec: dict) -> dict:
    x, upstream, lr = _tensor(spec["x"]), _tensor(spec["upstream"]), float(spec["lr"])
    twin, twin_layers = _model(functions, spec)  # the same model, trained without freeze_bn
    twin.train()
    with _Recorder(twin_layers) as recorder:
        twin(x)
    unfrozen = recorder.arrays()
    model, layers = _model(functions, spec)
    epochs = []
    for _ in range(int(spec.get("epochs", 1))):
        model.train()
        functions["freeze_bn"](model)
        for parameter in model.parameters():
            parameter.grad = None
        with _Recorder(layers) as recorder:
            scores = model(x)
        if isinstance(scores, torch.Tensor) and scores.requires_grad:
            (scores * upstream).sum().backward()
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.requires_grad and parameter.grad is not None:
                    parameter -= lr * parameter.grad
        epochs.append({**recorder.arrays(), "out": _array(scores), **_parameters(layers),
                       **_statistics(layers["bn"]), "bn_training": bool(layers["bn"].training)})
    return {"epochs": epochs, "unfrozen": unfrozen, "biases": _biases(layers)}


# -- finding and loading the layers --------------------------------------------------------------------


def _model(functions: Functions, spec: dict) -> tuple[nn.Module, dict[str, nn.Module]]:
    """The student's model in float64 with the check's weights, and its layers by role."""
    d, h, c = (int(n) for n in spec["sizes"])
    model = functions["build_model"](d, h, c, float(spec["p"]))
    if not isinstance(model, nn.Module):
        raise Unprobeable(kind="not_a_module", type=type(model).__name__)
    layers = structure(model, d, h, c)
    model.to(torch.float64)
    weights = spec["weights"]
    with torch.no_grad():
        _load(layers["fc1"], weights["w1"], weights["b1"])
        _load(layers["fc2"], weights["w2"], weights["b2"])
        _load(layers["bn"], weights["gamma"], weights["beta"])
        layers["bn"].running_mean.copy_(_tensor(weights["running_mean"]))
        layers["bn"].running_var.copy_(_tensor(weights["running_var"]))
    return model, layers


def structure(model: nn.Module, d: int, h: int, c: int) -> dict[str, nn.Module]:
    """fc1, bn and fc2 of `model`; raises `Unprobeable` saying what is missing or extra."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    shapes = [[int(m.out_features), int(m.in_features)] for m in linears]
    first = [m for m in linears if (m.out_features, m.in_features) == (h, d)]
    second = [m for m in linears if (m.out_features, m.in_features) == (c, h)]
    if len(linears) != 2 or len(first) != 1 or len(second) != 1:
        raise Unprobeable(kind="linear_layers", shapes=shapes)
    if len(norms) != 1 or not isinstance(norms[0], nn.BatchNorm1d):
        raise Unprobeable(kind="batchnorm_layers", types=[type(m).__name__ for m in norms])
    bn = norms[0]
    if bn.num_features != h:
        raise Unprobeable(kind="batchnorm_features", features=int(bn.num_features))
    if not bn.affine or bn.running_mean is None or bn.running_var is None:
        raise Unprobeable(kind="batchnorm_settings", affine=bool(bn.affine),
                          running=bn.running_mean is not None)
    return {"fc1": first[0], "bn": bn, "fc2": second[0]}


def _load(layer: nn.Module, weight: np.ndarray, bias: np.ndarray) -> None:
    """The check's weight, and its bias where the layer has one (a layer built without a bias
    is told apart by `_parameters`, and the checks leave its bias out)."""
    layer.weight.copy_(_tensor(weight))
    if layer.bias is not None:
        layer.bias.copy_(_tensor(bias))


# -- recording -------------------------------------------------------------------------------------------


class _Recorder:
    """Forward hooks on fc1, bn and fc2 for the passes inside the ``with`` block: the first call of
    each (fc1's output, bn's input and output, fc2's input), and whether gradients and the training
    flags were on when fc1 ran."""

    def __init__(self, layers: dict[str, nn.Module]) -> None:
        self.layers = layers
        self.seen: dict[str, torch.Tensor] = {}
        self.grad_enabled: bool | None = None
        self.training: dict[str, bool] = {}
        self.handles: list = []

    def __enter__(self) -> "_Recorder":
        def hook(name: str):
            def record(module: nn.Module, inputs: tuple, output: Any) -> None:
                if name in self.seen or not inputs:
                    return
                self.seen[name] = (_copy(inputs[0]), _copy(output))  # an in-place ReLU may change them later
                self.training[name] = bool(module.training)
                if name == "fc1":
                    self.grad_enabled = bool(torch.is_grad_enabled())
            return record

        self.handles = [layer.register_forward_hook(hook(name)) for name, layer in self.layers.items()]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self.handles:
            handle.remove()

    def arrays(self) -> dict:
        found = {}
        if "fc1" in self.seen:
            found["fc1_out"] = _array(self.seen["fc1"][1])
        if "bn" in self.seen:
            found["bn_in"], found["bn_out"] = _array(self.seen["bn"][0]), _array(self.seen["bn"][1])
        if "fc2" in self.seen:
            found["fc2_in"] = _array(self.seen["fc2"][0])
        return found


def _scores(value: Any) -> dict:
    """What evaluate returned: the scores as an array, and whether they carry a graph."""
    if not isinstance(value, torch.Tensor):
        return {"type": type(value).__name__}
    return {"type": "Tensor", "out": _array(value), "requires_grad": bool(value.requires_grad),
            "has_graph": value.grad_fn is not None}


def _parameters(layers: dict[str, nn.Module]) -> dict:
    found = {}
    for name, layer in layers.items():
        for kind in ("weight", "bias"):
            parameter = getattr(layer, kind)
            if parameter is not None:
                found[f"{name}_{kind}"] = _array(parameter)
                found[f"{name}_{kind}_requires_grad"] = bool(parameter.requires_grad)
    return found


def _biases(layers: dict[str, nn.Module]) -> dict:
    """Whether fc1 and fc2 have a bias (a layer may be built without one)."""
    return {name: layers[name].bias is not None for name in ("fc1", "fc2")}


def _statistics(bn: nn.Module) -> dict:
    return {"running_mean": _array(bn.running_mean), "running_var": _array(bn.running_var)}


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _array(value: Any) -> Any:
    """A tensor as a float64 NumPy array (float32 kept as float32); anything else by type name."""
    if not isinstance(value, torch.Tensor):
        return {"type": type(value).__name__}
    array = value.detach().cpu().numpy().copy()
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float64)
