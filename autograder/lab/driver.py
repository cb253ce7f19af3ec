"""Training runs of the lab, inside the sandboxed worker, with the student's layers.

The worker loads this file by its path (``op: "drive"``, see `autograder.sandbox.worker`) and
calls `run(layers, data, spec)`: `layers` maps the names of the student's functions
(``batchnorm_forward``, ``dropout_forward``, ``sgd_step``...) to the functions themselves, `data`
holds the data set's arrays and `spec` describes one training run. The whole training loop runs
here, and only numbers go back. This module imports NumPy and the standard library only, so it
can be given to the worker alone.

The kit's own pieces (affine, ReLU, softmax loss, 3x3 convolution, 2x2 pooling) are here; every
normalisation, dropout and parameter update goes through the student's functions. Shapes: x
(N, 64) for the fully connected nets, (N, 1, 8, 8) for the convolutional one; y (N,) of ints.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

Layers = Mapping[str, Callable[..., Any]]
DIVERGED_LOSS = 1e3  # a training loss this large (or not finite) ends the run: it diverged


# -- the kit's own pieces -----------------------------------------------------------------------


def affine_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """dout (N, M), x (N, D), w (D, M) -> dx (N, D), dw (D, M), db (M,)."""
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of scores (N, C) for labels y (N,), and its gradient (N, C)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return float(loss), dscores / n


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def patches(x: np.ndarray) -> np.ndarray:
    """3x3 neighbourhoods with zero padding: x (N, C, H, W) -> (N*H*W, C*9)."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # N, C, H, W, 3, 3
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)


def unpatch(dcols: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of `patches`: (N*H*W, C*9) -> (N, C, H, W)."""
    n, c, h, w = shape
    grid = dcols.reshape(n, h, w, c, 3, 3)
    dpadded = np.zeros((n, c, h + 2, w + 2))
    for i in range(3):
        for j in range(3):
            dpadded[:, :, i:i + h, j:j + w] += grid[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dpadded[:, :, 1:-1, 1:-1]


def pool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max pooling: x (N, C, H, W) -> (N, C, H/2, W/2) and the mask of the maxima."""
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = blocks.max(axis=(3, 5))
    mask = blocks == out[:, :, :, None, :, None]
    return out, mask / mask.sum(axis=(3, 5), keepdims=True)


def pool_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n, c, h2, _, w2, _ = mask.shape
    return (mask * dout[:, :, :, None, :, None]).reshape(n, c, h2 * 2, w2 * 2)


# -- a network whose normalisation, dropout and updates are the student's --------------------


class Net:
    """affine -> [BN] -> ReLU -> [Dropout], repeated, then affine and softmax; or, with
    ``conv``, 3x3 convolution -> [spatial BN] -> ReLU -> 2x2 max pool, repeated, then affine.

    `spec` keys: hidden (list of widths), bn (bool), p (dropout probability), conv (channels of
    each convolution block, instead of hidden), weight_scale (std of the initial weights, or None for He's sqrt(2 / fan_in)).
    """

    def __init__(self, layers: Layers, spec: dict, n_in: int, n_classes: int, rng: np.random.Generator) -> None:
        self.f = layers
        self.bn = bool(spec.get("bn"))
        self.p = float(spec.get("p", 0.0))
        self.params: dict[str, np.ndarray] = {}
        self.velocity: dict[str, Any] = {}
        self.running: dict[int, list[np.ndarray]] = {}
        scale = spec.get("weight_scale")
        channels = [int(c) for c in spec.get("conv", [])]
        if channels:  # each block halves the image: the last map is flattened for the affine
            side = int(round(math.sqrt(n_in)))
            shapes = [(9 * c_in, c_out) for c_in, c_out in zip([1, *channels[:-1]], channels)]
            shapes.append((channels[-1] * (side >> len(channels)) ** 2, n_classes))
        else:
            widths = [n_in, *spec["hidden"], n_classes]
            shapes = list(zip(widths[:-1], widths[1:]))
        self.conv = bool(channels)
        self.depth = len(shapes) - 1
        for i, (fan_in, fan_out) in enumerate(shapes):
            std = math.sqrt(2.0 / fan_in) if scale is None else float(scale)
            self.params[f"W{i}"] = rng.normal(0.0, std, size=(fan_in, fan_out))
            if self.bn and i < self.depth:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)
                self.running[i] = [np.zeros(fan_out), np.ones(fan_out)]
            else:
                self.params[f"b{i}"] = np.zeros(fan_out)

    # forward and backward

    def forward(self, x: np.ndarray, mode: str, rng: np.random.Generator | None = None,
                batch_stats: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[np.ndarray, list]:
        """Scores (N, classes) and what `backward` needs. `mode`: "train" (batch statistics,
        running statistics updated, dropout on), "eval" (running statistics, no dropout),
        "batch" (each BN layer normalises with the statistics of `x` itself, no dropout),
        "masks" (running statistics, dropout on: one member of the implicit ensemble)."""
        caches = []
        h = x
        for i in range(self.depth):
            h, cache = self.hidden_forward(i, h, mode, rng)
            caches.append(cache)
        w, b = self.params[f"W{self.depth}"], self.params[f"b{self.depth}"]
        flat = h.reshape(len(h), -1)
        caches.append((flat, h.shape))
        return flat @ w + b, caches

    def hidden_forward(self, i: int, h: np.ndarray, mode: str, rng: np.random.Generator | None) -> tuple[np.ndarray, tuple]:
        w = self.params[f"W{i}"]
        if self.conv:
            n, _, height, width = h.shape
            cols = patches(h)
            a = (cols @ w).reshape(n, height, width, -1).transpose(0, 3, 1, 2)
            if not self.bn:
                a = a + self.params[f"b{i}"].reshape(1, -1, 1, 1)
        else:
            cols = h
            a = h @ w + (0.0 if self.bn else self.params[f"b{i}"])
        bn_cache = None
        if self.bn:
            a, bn_cache = self.normalise(i, a, mode)
        r = np.maximum(a, 0.0)
        drop_cache = None
        if self.p and mode in ("train", "masks"):
            r, drop_cache = self.f["dropout_forward"](r, self.p, True, rng)
        pool_mask = None
        if self.conv:
            r, pool_mask = pool_forward(r)
        return r, (cols, h.shape, bn_cache, a > 0, drop_cache, pool_mask)

    def normalise(self, i: int, a: np.ndarray, mode: str) -> tuple[np.ndarray, Any]:
        gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        spatial = a.ndim == 4
        if mode == "train":
            if spatial:
                out, cache = self.f["spatial_batchnorm_forward"](a, gamma, beta)
            else:
                out, cache = self.f["batchnorm_forward"](a, gamma, beta)
            mean, var = self.running[i]
            self.running[i] = list(self.f["update_running_stats"](mean, var, channels_last(a)))
            return out, cache
        if mode == "batch":  # the statistics of this very batch, any size (even 1)
            flat = channels_last(a)
            mean, var = flat.mean(axis=0), flat.var(axis=0)
        else:
            mean, var = self.running[i]
        out = self.f["batchnorm_eval"](channels_last(a), gamma, beta, mean, var)
        return channels_first(out, a.shape), None

    def backward(self, dscores: np.ndarray, caches: list) -> dict[str, np.ndarray]:
        grads: dict[str, np.ndarray] = {}
        flat, shape = caches[-1]
        w = self.params[f"W{self.depth}"]
        dflat, grads[f"W{self.depth}"], grads[f"b{self.depth}"] = affine_backward(dscores, flat, w)
        dh = dflat.reshape(shape)
        for i in reversed(range(self.depth)):
            cols, in_shape, bn_cache, positive, drop_cache, pool_mask = caches[i]
            if pool_mask is not None:
                dh = pool_backward(dh, pool_mask)
            if drop_cache is not None:
                dh = self.f["dropout_backward"](dh, drop_cache)
            da = dh * positive
            if self.bn:
                backward = self.f["spatial_batchnorm_backward" if self.conv else "batchnorm_backward"]
                da, grads[f"gamma{i}"], grads[f"beta{i}"] = backward(da, bn_cache)
            elif self.conv:
                grads[f"b{i}"] = da.sum(axis=(0, 2, 3))
            else:
                grads[f"b{i}"] = da.sum(axis=0)
            w = self.params[f"W{i}"]
            if self.conv:
                dcols = da.transpose(0, 2, 3, 1).reshape(-1, da.shape[1])
                grads[f"W{i}"] = cols.T @ dcols
                dh = unpatch(dcols @ w.T, in_shape) if i else None
            else:
                dh, grads[f"W{i}"], _ = affine_backward(da, cols, w)
        return grads

    def step(self, grads: dict[str, np.ndarray], lr: float, momentum: float) -> None:
        for name, grad in grads.items():
            self.params[name], self.velocity[name] = self.f["sgd_step"](
                self.params[name], grad, lr, self.velocity.get(name), momentum)

    # evaluation

    def predict(self, x: np.ndarray, mode: str = "eval", batch: int = 0,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """Class probabilities (N, classes); with `batch`, in batches of that size."""
        size = batch or len(x)
        return np.concatenate([softmax(self.forward(x[i:i + size], mode, rng)[0])
                               for i in range(0, len(x), size)])


def channels_last(a: np.ndarray) -> np.ndarray:
    """(N, D) as it is; (N, C, H, W) -> (N*H*W, C), one row per position."""
    return a if a.ndim == 2 else a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def channels_first(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) == 2:
        return flat
    n, c, h, w = shape
    return flat.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float((probs.argmax(axis=1) == y).mean())


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-300)).mean())


# -- one training run ---------------------------------------------------------------------------


def run(layers: Layers, data: Mapping[str, np.ndarray], spec: dict) -> dict[str, Any]:
    """Train one network as `spec` says and measure it.

    spec: seed, epochs, batch_size, lr, momentum, train_size (0: all), points (loss values
    recorded per epoch), and the network's keys (see `Net`); ``measure`` names extra
    measurements of the trained network (see `MEASUREMENTS`).
    Returns lists of floats: loss (mean training loss, `points` per epoch), train_acc, val_acc,
    train_loss and val_loss (evaluation mode, after each epoch), diverged (0 or 1: the loss
    became huge or not finite, and every later value is NaN), and the measurements' own.
    """
    rng = np.random.default_rng(int(spec["seed"]))
    x_train, y_train = data["x_train"], data["y_train"]
    x_val, y_val = data["x_val"], data["y_val"]
    if spec.get("train_size"):
        x_train, y_train = x_train[:spec["train_size"]], y_train[:spec["train_size"]]
    if spec.get("conv"):
        x_train, x_val = x_train.reshape(-1, 1, 8, 8), x_val.reshape(-1, 1, 8, 8)
    n_in = x_train[0].size
    net = Net(layers, spec, n_in, int(data["classes"]), rng)
    epochs, batch, points = int(spec["epochs"]), int(spec["batch_size"]), int(spec.get("points", 1))
    steps = len(x_train) // batch
    losses = []
    curves: dict[str, list[float]] = {"train_acc": [], "val_acc": [], "train_loss": [], "val_loss": []}
    diverged = False
    with np.errstate(all="ignore"):
        for epoch in range(epochs):
            order = rng.permutation(len(x_train))
            epoch_losses = []
            for s in range(steps):
                rows = order[s * batch:(s + 1) * batch]
                scores, caches = net.forward(x_train[rows], "train", rng)
                loss, dscores = softmax_loss(scores, y_train[rows])
                if not math.isfinite(loss) or loss > DIVERGED_LOSS:
                    diverged = True
                    break
                epoch_losses.append(loss)
                net.step(net.backward(dscores, caches), float(spec["lr"]), float(spec.get("momentum", 0.0)))
            losses += [float(np.mean(part)) if len(part) else math.nan
                       for part in np.array_split(np.array(epoch_losses), points)]
            if diverged:
                losses += [math.nan] * (points * (epochs - epoch - 1))
                for curve in curves.values():
                    curve += [math.nan] * (epochs - epoch)
                break
            for split, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
                probs = net.predict(x)
                curves[f"{split}_acc"].append(accuracy(probs, y))
                curves[f"{split}_loss"].append(cross_entropy(probs, y))
        result: dict[str, Any] = {"loss": losses, **curves, "diverged": [float(diverged)]}
        if not diverged:
            for name in spec.get("measure", []):
                result.update(MEASUREMENTS[name](net, spec, x_train, y_train, x_val, y_val, rng))
    return result


def inference(net: Net, spec: dict, x_train, y_train, x_val, y_val, rng) -> dict[str, list[float]]:
    """Validation accuracy with the running statistics, and with the statistics of each test
    batch (sizes `test_batch_sizes`); and how far the running statistics of the first BN layer
    are from the statistics of the whole training set (relative error of mean and variance)."""
    sizes = [int(s) for s in spec["test_batch_sizes"]]
    by_batch = [accuracy(net.predict(x_val, "batch", size), y_val) for size in sizes]
    first = x_train.reshape(len(x_train), -1) @ net.params["W0"]
    mean, var = net.running[0]
    drift = [float(np.linalg.norm(mean - first.mean(axis=0)) / np.linalg.norm(first.std(axis=0))),
             float(np.linalg.norm(var - first.var(axis=0, ddof=1)) / np.linalg.norm(first.var(axis=0, ddof=1)))]
    return {"running_acc": [accuracy(net.predict(x_val), y_val)], "batch_acc": by_batch, "running_drift": drift}


def ensemble(net: Net, spec: dict, x_train, y_train, x_val, y_val, rng) -> dict[str, list[float]]:
    """Validation accuracy in evaluation mode, and of the average of k dropout masks for each
    k in `masks`; and the mean of the first dropout layer's output in training mode divided by
    its mean in evaluation mode (1 with inverted dropout)."""
    counts = [int(k) for k in spec["masks"]]
    draws = [net.predict(x_val, "masks", rng=rng) for _ in range(max(counts))]
    averaged = [accuracy(np.mean(draws[:k], axis=0), y_val) for k in counts]
    h = np.maximum(x_train @ net.params["W0"] + net.params["b0"], 0.0)
    dropped, _ = net.f["dropout_forward"](h, net.p, True, rng)
    return {"eval_acc": [accuracy(net.predict(x_val), y_val)], "mask_acc": averaged,
            "train_scale": [float(dropped.mean() / h.mean())]}


def batch_statistics(net: Net, spec: dict, x_train, y_train, x_val, y_val, rng) -> dict[str, list[float]]:
    """Training-set accuracy of the trained network when each BN layer normalises with the
    statistics of shuffled batches of the training batch size (what training mode computes),
    next to the evaluation-mode accuracies already in the curves."""
    order = rng.permutation(len(x_train))
    probs = net.predict(x_train[order], "batch", int(spec["batch_size"]))
    return {"batch_mode_acc": [accuracy(probs, y_train[order])]}


MEASUREMENTS = {"inference": inference, "ensemble": ensemble, "batch_statistics": batch_statistics}
