"""Expected values, computed by PyTorch in float64. The only module that imports torch.

torch is imported on first use, and every result is cached on disk under a key made of the
computation, its parameters, the exact input bytes (so the case and its seed), the torch
version and this file's source. A warm cache means grading never imports torch. The cache is
only a cache: deleting it changes nothing but speed, and an unreadable entry is recomputed.
When the cache is cold, a `ReferenceProcess` (`process`) may compute the values instead: torch
is then imported over there while this process grades (`autograder.grading.reference_process`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder.grading.reference_cache import ready_mark, salt
from autograder.sandbox import protocol
from autograder.state import atomic_write

Arrays = dict[str, np.ndarray]
TORCH_METHODS = ("batchnorm", "running_stats", "sgd", "masked_scale", "bn_layer_training", "notebook_model")
"""The computations that need torch (a `ReferenceProcess` runs only these)."""


def handed_over(method: Callable) -> Callable:
    """A computation that a `ReferenceProcess` can do instead: the call is noted, so that
    `_result` can send it over when the value is not cached."""

    @functools.wraps(method)
    def call(self: Reference, *args: Any, **kwargs: Any) -> Arrays:
        self._call = (method.__name__, args, kwargs)
        return method(self, *args, **kwargs)

    return call


class Reference:
    """PyTorch reference computations with a disk cache (`cache_dir`) or memory only (None)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.memory: dict[str, Arrays] = {}
        self.computed = 0  # how many results needed torch (the rest came from a cache)
        self.process = None  # a ReferenceProcess computing what is not cached, if any
        self._salt: str | None = None
        self._call: tuple = ()

    def close(self) -> None:
        """Stop the reference process, if any."""
        if self.process is not None:
            self.process.close()
            self.process = None

    # -- layers ----------------------------------------------------------------------------

    @handed_over
    def batchnorm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, *, eps: float = 1e-5,
                  dout: np.ndarray | None = None, training: bool = True, momentum: float = 0.1,
                  running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None) -> Arrays:
        """``nn.BatchNorm1d`` (x of shape (N, D)) or ``nn.BatchNorm2d`` (x of shape (N, C, H, W)).

        Returns ``out``; ``dx``, ``dgamma``, ``dbeta`` by autograd when `dout` is given; and the
        running statistics after the call (unchanged in evaluation mode).
        """
        channels = x.shape[1]
        running_mean = np.zeros(channels) if running_mean is None else running_mean
        running_var = np.ones(channels) if running_var is None else running_var
        arrays = {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean, "running_var": running_var}
        if dout is not None:
            arrays["dout"] = dout
        params = {"eps": eps, "training": training, "momentum": momentum}

        def compute(torch, t):
            layer = _batchnorm_layer(torch, t, x.ndim, channels, eps, momentum, arrays)
            layer.train(training)
            inputs = t(x).requires_grad_(dout is not None)
            out = layer(inputs)
            result = {"out": out}
            if dout is not None:
                _backward(out, t(dout))
                result.update(dx=inputs.grad, dgamma=layer.weight.grad, dbeta=layer.bias.grad)
            result.update(running_mean=layer.running_mean, running_var=layer.running_var)
            return result

        return self._result("batchnorm", params, arrays, compute)

    @handed_over
    def running_stats(self, batches: list[np.ndarray], *, momentum: float = 0.1,
                      running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None) -> Arrays:
        """``nn.BatchNorm1d`` running statistics after each training batch: ``mean`` and
        ``var`` of shape (len(batches), D)."""
        channels = batches[0].shape[1]
        arrays = {f"x{i}": b for i, b in enumerate(batches)}
        arrays["running_mean"] = np.zeros(channels) if running_mean is None else running_mean
        arrays["running_var"] = np.ones(channels) if running_var is None else running_var

        def compute(torch, t):
            affine = {"gamma": np.ones(channels), "beta": np.zeros(channels)}  # unused by the statistics
            layer = _batchnorm_layer(torch, t, 2, channels, 1e-5, momentum, {**arrays, **affine})
            means, variances = [], []
            with torch.no_grad():
                for batch in batches:
                    layer(t(batch))
                    means.append(layer.running_mean.clone())
                    variances.append(layer.running_var.clone())
            return {"mean": torch.stack(means), "var": torch.stack(variances)}

        return self._result("running_stats", {"momentum": momentum}, arrays, compute)

    @handed_over
    def sgd(self, param: np.ndarray, grads: list[np.ndarray], lrs: list[float], *,
            momentum: float = 0.0, weight_decay: float = 0.0) -> Arrays:
        """``torch.optim.SGD`` over ``len(grads)`` steps, the learning rate set to ``lrs[k]``
        before step k. Returns ``param`` and (with momentum) ``velocity``, each of shape
        (steps, *param.shape): the values after every step."""
        arrays = {"param": param, **{f"g{i}": g for i, g in enumerate(grads)}}
        params = {"lrs": [float(lr) for lr in lrs], "momentum": momentum, "weight_decay": weight_decay}

        def compute(torch, t):
            weight = torch.nn.Parameter(t(param))
            optimizer = SGD(torch, [weight], momentum=momentum, weight_decay=weight_decay)
            params_after, velocities = [], []
            for grad, lr in zip(grads, lrs):
                optimizer.step([t(grad)], lr)
                params_after.append(weight.detach().clone())
                buffer = optimizer.buffers[0]
                if buffer is not None:
                    velocities.append(buffer.clone())
            result = {"param": torch.stack(params_after)}
            if velocities:
                result["velocity"] = torch.stack(velocities)
            return result

        return self._result("sgd", params, arrays, compute)

    @handed_over
    def masked_scale(self, x: np.ndarray, mask: np.ndarray, p: float, dout: np.ndarray) -> Arrays:
        """Inverted dropout with a given keep `mask`: ``out = x * mask / (1 - p)`` and its
        gradient ``dx`` by autograd (p < 1)."""
        arrays = {"x": x, "mask": mask.astype(np.float64), "dout": dout}

        def compute(torch, t):
            inputs = t(x).requires_grad_(True)
            out = inputs * t(mask) / (1.0 - p)
            _backward(out, t(dout))
            return {"out": out, "dx": inputs.grad}

        return self._result("masked_scale", {"p": p}, arrays, compute)

    @handed_over
    def bn_layer_training(self, batches: list[np.ndarray], douts: list[np.ndarray], x_eval: np.ndarray,
                          gamma: np.ndarray, beta: np.ndarray, lrs: list[float], *, momentum: float,
                          weight_decay: float, eps: float = 1e-5, bn_momentum: float = 0.1) -> Arrays:
        """Train an ``nn.BatchNorm1d`` with ``torch.optim.SGD``: at step k, forward ``batches[k]``,
        backpropagate ``douts[k]``, step with learning rate ``lrs[k]``; then evaluate `x_eval`.

        Per-step arrays have a leading step axis: ``out``, ``dx``, ``dgamma``, ``dbeta``, ``gamma``
        and ``beta`` (after the step), ``running_mean``, ``running_var``; plus ``eval_out``.
        """
        channels = gamma.shape[0]
        arrays = {"gamma": gamma, "beta": beta, "x_eval": x_eval,
                  **{f"x{i}": b for i, b in enumerate(batches)},
                  **{f"dout{i}": d for i, d in enumerate(douts)}}
        params = {"lrs": [float(lr) for lr in lrs], "momentum": momentum, "weight_decay": weight_decay,
                  "eps": eps, "bn_momentum": bn_momentum}

        def compute(torch, t):
            layer = _batchnorm_layer(torch, t, 2, channels, eps, bn_momentum, {"gamma": gamma, "beta": beta})
            optimizer = SGD(torch, [layer.weight, layer.bias], momentum=momentum, weight_decay=weight_decay)
            steps: dict[str, list] = {k: [] for k in
                                      ("out", "dx", "dgamma", "dbeta", "gamma", "beta", "running_mean", "running_var")}
            layer.train()
            for batch, dout, lr in zip(batches, douts, lrs):
                layer.weight.grad = layer.bias.grad = None  # zero_grad()
                inputs = t(batch).requires_grad_(True)
                out = layer(inputs)
                _backward(out, t(dout))
                steps["dgamma"].append(layer.weight.grad.clone())
                steps["dbeta"].append(layer.bias.grad.clone())
                optimizer.step([layer.weight.grad, layer.bias.grad], lr)
                steps["out"].append(out.detach())
                steps["dx"].append(inputs.grad)
                steps["gamma"].append(layer.weight.detach().clone())
                steps["beta"].append(layer.bias.detach().clone())
                steps["running_mean"].append(layer.running_mean.clone())
                steps["running_var"].append(layer.running_var.clone())
            layer.eval()
            with torch.no_grad():
                eval_out = layer(t(x_eval))
            return {**{k: torch.stack(v) for k, v in steps.items()}, "eval_out": eval_out}

        return self._result("bn_layer_training", params, arrays, compute)

    @handed_over
    def notebook_model(self, x: np.ndarray, weights: Arrays, *, training: bool) -> Arrays:
        """The course notebook's network, ``nn.Linear -> nn.BatchNorm1d -> ReLU -> nn.Dropout ->
        nn.Linear``, with `weights` (w1 (H, D), b1, gamma, beta, running_mean, running_var (H,),
        w2 (C, H), b2 (C,)) on x (N, D), in one forward pass.

        Returns the activations ``fc1`` (fc1's output), ``bn`` (BatchNorm's output), ``relu``
        and the running statistics after the pass; in evaluation mode also ``out`` (N, C), the
        scores (in training Dropout's mask is random, so the scores are the checks' business)."""
        arrays = {name: np.asarray(value, dtype=np.float64) for name, value in weights.items()}
        arrays["x"] = x

        def compute(torch, t):
            fc1 = torch.nn.Linear(x.shape[1], len(arrays["gamma"]), dtype=torch.float64)
            fc2 = torch.nn.Linear(len(arrays["gamma"]), len(arrays["b2"]), dtype=torch.float64)
            bn = _batchnorm_layer(torch, t, 2, len(arrays["gamma"]), 1e-5, 0.1, arrays)
            with torch.no_grad():
                for layer, weight, bias in ((fc1, "w1", "b1"), (fc2, "w2", "b2")):
                    layer.weight.copy_(t(arrays[weight]))
                    layer.bias.copy_(t(arrays[bias]))
                bn.train(training)
                hidden = fc1(t(x))
                normalised = bn(hidden)
                activated = torch.relu(normalised)
                result = {"fc1": hidden, "bn": normalised, "relu": activated,
                          "running_mean": bn.running_mean, "running_var": bn.running_var}
                if not training:
                    result["out"] = fc2(torch.nn.functional.dropout(activated, 0.5, training=False))
            return result

        return self._result("notebook_model", {"training": training}, arrays, compute)

    def batchnorm_numerical(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dout: np.ndarray,
                            eps: float) -> Arrays:
        """Centred-difference ``dx``, ``dgamma``, ``dbeta`` of ``sum(batchnorm(x) * dout)`` in
        float64 NumPy (the gradient-check view; cached like the rest, no torch needed)."""
        from autograder.grading.gradcheck import batchnorm_numerical

        arrays = {"x": x, "gamma": gamma, "beta": beta, "dout": dout}
        return self._result("batchnorm_numerical", {"eps": eps}, arrays,
                            lambda: batchnorm_numerical(x, gamma, beta, dout, eps), torch=False)

    # -- caching ---------------------------------------------------------------------------

    def _result(self, name: str, params: dict[str, Any], arrays: Arrays, compute: Callable, *,
                torch: bool = True) -> Arrays:
        """Memory, then disk, then `compute` (given torch and a float64 converter, unless the
        computation is plain NumPy)."""
        key = self._key(name, params, arrays)
        if key in self.memory:
            return self.memory[key]
        result = self._load(key)
        if result is None:
            result = self._compute(name, compute, torch)
            self.computed += 1
            self._store(key, result)
        self.memory[key] = result
        return result

    def _compute(self, name: str, compute: Callable, torch: bool) -> Arrays:
        """NumPy here; torch over in the reference process when there is one (and the call of
        `name` was noted for it), else here."""
        if not torch:
            return {k: np.asarray(v) for k, v in compute().items()}
        call, self._call = self._call, ()
        if self.process is not None and call and call[0] == name:
            result = self.process.compute(*call)
            if result is not None:
                return result
            self.close()  # the process is gone: compute here
        module = _import_torch()
        return {k: v.detach().numpy().copy() for k, v in compute(module, _converter(module)).items()}

    def _key(self, name: str, params: dict[str, Any], arrays: Arrays) -> str:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{self.salt}|{name}|{json.dumps(params, sort_keys=True)}".encode())
        for array_name in sorted(arrays):
            array = np.ascontiguousarray(arrays[array_name])
            digest.update(f"|{array_name}|{array.dtype.str}|{array.shape}|".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    @property
    def salt(self) -> str:
        """What every key depends on besides the computation: torch's version, this code."""
        if self._salt is None:
            self._salt = salt()
        return self._salt

    def _ready_mark(self) -> Path:
        """A file saying that values for this salt were cached (see `cold`)."""
        return ready_mark(self.cache_dir, self.salt)

    def _load(self, key: str) -> Arrays | None:
        if self.cache_dir is None:
            return None
        try:
            return arrays_from_frame(*protocol.unpack((self.cache_dir / f"{key}.ref").read_bytes()))
        except (OSError, ValueError, KeyError, TypeError, protocol.ProtocolError):
            return None  # missing or corrupt: recompute

    def _store(self, key: str, result: Arrays) -> None:
        if self.cache_dir is None:
            return
        data = protocol.pack(*arrays_frame(result))
        try:
            atomic_write(self.cache_dir / f"{key}.ref", data, durable=False)  # a cache: checked when read
            if not self._ready_mark().exists():
                self._ready_mark().touch()
        except OSError:
            pass  # a read-only kit still grades, only slower


def arrays_frame(arrays: Arrays) -> tuple[dict, list[bytes]]:
    """Named arrays as a frame of `sandbox.protocol` (header, blobs): how the disk cache and
    the reference process store and send a result."""
    names = sorted(arrays)
    described = [protocol.array_to_blob(arrays[name]) for name in names]
    return {"names": names, "arrays": [meta for meta, _ in described]}, [blob for _, blob in described]


def arrays_from_frame(header: dict, blobs: list[bytes]) -> Arrays:
    """Inverse of `arrays_frame`; raises `protocol.ProtocolError` (or KeyError, TypeError) on
    anything malformed."""
    names, metas = header["names"], header["arrays"]
    if not len(names) == len(metas) == len(blobs):
        raise protocol.ProtocolError("names, descriptions and arrays do not match")
    return {name: protocol.blob_to_array(meta, blob) for name, meta, blob in zip(names, metas, blobs)}


def _backward(out, dout) -> None:
    """``out.backward(dout)``, as the gradient of the scalar ``sum(out * dout)``: the same
    numbers (the product's gradient is dout itself), without the symbolic-shapes module (and
    sympy) that ``backward`` with a gradient tensor imports on first use (0.3 s)."""
    (out * dout).sum().backward()


class SGD:
    """``torch.optim.SGD`` (dampening 0, no Nesterov) for a few parameters, each with its
    momentum buffer: on the CPU, its ``step`` runs ``torch.optim.sgd._single_tensor_sgd`` under
    ``no_grad``, and so does this, without the optimizer object, whose construction and step
    import torch's compiler (over a second on a first run). Where that function is not there
    or takes other arguments (another torch version), the optimizer itself is used.
    tests/test_first_run.py checks that both give the same numbers."""

    def __init__(self, torch, params: list, *, momentum: float, weight_decay: float) -> None:
        self.torch, self.params = torch, list(params)
        self.buffers: list = [None] * len(self.params)
        self.options = {"momentum": momentum, "weight_decay": weight_decay}
        self.optimizer = None

    def step(self, grads: list, lr: float) -> None:
        """One step with learning rate `lr`: the parameters and `buffers` change in place."""
        if self.optimizer is None:
            try:
                from torch.optim.sgd import _single_tensor_sgd

                with self.torch.no_grad():
                    _single_tensor_sgd(self.params, list(grads), self.buffers, None, None, lr=lr, dampening=0.0,
                                       nesterov=False, maximize=False, has_sparse_grad=False, **self.options)
                return
            except (ImportError, TypeError):
                self.optimizer = self.torch.optim.SGD(self.params, lr=lr, **self.options)
                for param, buffer in zip(self.params, self.buffers):
                    if buffer is not None:
                        self.optimizer.state[param]["momentum_buffer"] = buffer
        for param, grad in zip(self.params, grads):
            param.grad = grad
        self.optimizer.param_groups[0]["lr"] = lr
        self.optimizer.step()
        self.buffers = [self.optimizer.state[param].get("momentum_buffer") for param in self.params]


def _import_torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _converter(torch):
    def t(array: np.ndarray):
        return torch.from_numpy(np.array(array, dtype=np.float64))

    return t


_LAYERS: dict[tuple, Any] = {}
"""The BatchNorm module of each kind and size, reused (see `_batchnorm_layer`)."""


def _batchnorm_layer(torch, t, ndim: int, channels: int, eps: float, momentum: float, arrays: Arrays):
    """An ``nn.BatchNorm1d`` (`ndim` 2) or ``nn.BatchNorm2d`` of `channels` in float64 and in
    training mode, its weight and bias from ``arrays["gamma"]`` and ``["beta"]``, its running
    statistics from ``arrays["running_mean"]`` and ``["running_var"]`` or PyTorch's initial
    ones (0 and 1). Building a module costs about 0.1 ms, more than a computation with it: one
    module of each kind and size is kept, and everything a computation reads or changes of it
    is set again here (parameters, gradients, buffers, batch count, eps, momentum, mode), so
    each computation starts from exactly the state of a new module with those values."""
    kind = torch.nn.BatchNorm1d if ndim == 2 else torch.nn.BatchNorm2d
    layer = _LAYERS.get((kind, channels))
    if layer is None:
        layer = _LAYERS[(kind, channels)] = kind(channels, eps=eps, momentum=momentum, dtype=torch.float64)
    layer.eps, layer.momentum = eps, momentum
    layer.train()
    layer.weight.grad = layer.bias.grad = None
    with torch.no_grad():
        layer.weight.copy_(t(arrays["gamma"]))
        layer.bias.copy_(t(arrays["beta"]))
        if "running_mean" in arrays:
            layer.running_mean.copy_(t(arrays["running_mean"]))
            layer.running_var.copy_(t(arrays["running_var"]))
        else:
            layer.running_mean.zero_()
            layer.running_var.fill_(1.0)
        layer.num_batches_tracked.zero_()
    return layer
