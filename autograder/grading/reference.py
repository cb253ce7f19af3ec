"""Expected values, computed by PyTorch in float64. The only module that imports torch.

torch is imported on first use, and every result is cached on disk under a key made of the
computation, its parameters, the exact input bytes (so the case and its seed), the torch
version and this file's source. A warm cache means grading never imports torch. The cache is
only a cache: deleting it changes nothing but speed, and an unreadable entry is recomputed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder.sandbox import protocol
from autograder.state import atomic_write

Arrays = dict[str, np.ndarray]


def torch_version() -> str:
    """The installed torch version, read without importing torch (that takes seconds)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return "missing"
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
        return re.search(r"__version__\s*=\s*['\"]([^'\"]+)", text).group(1)
    except (OSError, AttributeError):
        from importlib.metadata import version

        return version("torch")


class Reference:
    """PyTorch reference computations with a disk cache (`cache_dir`) or memory only (None)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.memory: dict[str, Arrays] = {}
        self.computed = 0  # how many results needed torch (the rest came from a cache)
        self._salt: str | None = None

    # -- layers ----------------------------------------------------------------------------

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
                out.backward(t(dout))
                result.update(dx=inputs.grad, dgamma=layer.weight.grad, dbeta=layer.bias.grad)
            result.update(running_mean=layer.running_mean, running_var=layer.running_var)
            return result

        return self._result("batchnorm", params, arrays, compute)

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

    def sgd(self, param: np.ndarray, grads: list[np.ndarray], lrs: list[float], *,
            momentum: float = 0.0, weight_decay: float = 0.0) -> Arrays:
        """``torch.optim.SGD`` over ``len(grads)`` steps, the learning rate set to ``lrs[k]``
        before step k. Returns ``param`` and (with momentum) ``velocity``, each of shape
        (steps, *param.shape): the values after every step."""
        arrays = {"param": param, **{f"g{i}": g for i, g in enumerate(grads)}}
        params = {"lrs": [float(lr) for lr in lrs], "momentum": momentum, "weight_decay": weight_decay}

        def compute(torch, t):
            weight = torch.nn.Parameter(t(param))
            optimizer = torch.optim.SGD([weight], lr=lrs[0], momentum=momentum, weight_decay=weight_decay)
            params_after, velocities = [], []
            for grad, lr in zip(grads, lrs):
                optimizer.param_groups[0]["lr"] = lr
                weight.grad = t(grad)
                optimizer.step()
                params_after.append(weight.detach().clone())
                buffer = optimizer.state[weight].get("momentum_buffer")
                if buffer is not None:
                    velocities.append(buffer.clone())
            result = {"param": torch.stack(params_after)}
            if velocities:
                result["velocity"] = torch.stack(velocities)
            return result

        return self._result("sgd", params, arrays, compute)

    def masked_scale(self, x: np.ndarray, mask: np.ndarray, p: float, dout: np.ndarray) -> Arrays:
        """Inverted dropout with a given keep `mask`: ``out = x * mask / (1 - p)`` and its
        gradient ``dx`` by autograd (p < 1)."""
        arrays = {"x": x, "mask": mask.astype(np.float64), "dout": dout}

        def compute(torch, t):
            inputs = t(x).requires_grad_(True)
            out = inputs * t(mask) / (1.0 - p)
            out.backward(t(dout))
            return {"out": out, "dx": inputs.grad}

        return self._result("masked_scale", {"p": p}, arrays, compute)

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
            optimizer = torch.optim.SGD(layer.parameters(), lr=lrs[0], momentum=momentum, weight_decay=weight_decay)
            steps: dict[str, list] = {k: [] for k in
                                      ("out", "dx", "dgamma", "dbeta", "gamma", "beta", "running_mean", "running_var")}
            layer.train()
            for batch, dout, lr in zip(batches, douts, lrs):
                optimizer.zero_grad()
                inputs = t(batch).requires_grad_(True)
                out = layer(inputs)
                out.backward(t(dout))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                steps["dgamma"].append(layer.weight.grad.clone())
                steps["dbeta"].append(layer.bias.grad.clone())
                optimizer.step()
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
            if torch:
                module = _import_torch()
                result = {k: v.detach().numpy().copy() for k, v in compute(module, _converter(module)).items()}
            else:
                result = {k: np.asarray(v) for k, v in compute().items()}
            self.computed += 1
            self._store(key, result)
        self.memory[key] = result
        return result

    def _key(self, name: str, params: dict[str, Any], arrays: Arrays) -> str:
        if self._salt is None:
            self._salt = torch_version() + hashlib.blake2b(Path(__file__).read_bytes()).hexdigest()
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"{self._salt}|{name}|{json.dumps(params, sort_keys=True)}".encode())
        for array_name in sorted(arrays):
            array = np.ascontiguousarray(arrays[array_name])
            digest.update(f"|{array_name}|{array.dtype.str}|{array.shape}|".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()

    def _load(self, key: str) -> Arrays | None:
        if self.cache_dir is None:
            return None
        try:
            header, blobs = protocol.unpack((self.cache_dir / f"{key}.ref").read_bytes())
            names, metas = header["names"], header["arrays"]
            if not len(names) == len(metas) == len(blobs):
                return None
            return {name: protocol.blob_to_array(meta, blob) for name, meta, blob in zip(names, metas, blobs)}
        except (OSError, ValueError, KeyError, TypeError, protocol.ProtocolError):
            return None  # missing or corrupt: recompute

    def _store(self, key: str, result: Arrays) -> None:
        if self.cache_dir is None:
            return
        names = sorted(result)
        metas, blobs = zip(*(protocol.array_to_blob(result[n]) for n in names))
        data = protocol.pack({"names": names, "arrays": list(metas)}, list(blobs))
        try:
            atomic_write(self.cache_dir / f"{key}.ref", data)
        except OSError:
            pass  # a read-only kit still grades, only slower


def _import_torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _converter(torch):
    def t(array: np.ndarray):
        return torch.from_numpy(np.array(array, dtype=np.float64))

    return t


def _batchnorm_layer(torch, t, ndim: int, channels: int, eps: float, momentum: float, arrays: Arrays):
    kind = torch.nn.BatchNorm1d if ndim == 2 else torch.nn.BatchNorm2d
    layer = kind(channels, eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(t(arrays["gamma"]))
        layer.bias.copy_(t(arrays["beta"]))
        if "running_mean" in arrays:
            layer.running_mean.copy_(t(arrays["running_mean"]))
            layer.running_var.copy_(t(arrays["running_var"]))
    return layer
