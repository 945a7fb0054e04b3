"""The one training loop of the course: small classifiers, CPU, deterministic.

``set_determinism`` fixes everything that could make two runs differ (the
seed, deterministic kernels, the number of threads); ``fit`` trains a torch
module with Adam on cross-entropy, shuffling with its own seeded generator;
``predict`` and ``accuracy`` evaluate it. Inputs may be NumPy arrays or torch
tensors: images become float32, labels int64.

``train_network`` is how every network of the experiments is trained (chapters
3 and 6, and the claims audit): it builds a network of :mod:`cnnlib.models` by
name with a seed and fits it with the settings of :data:`TRAINING` (Adam with a
one-cycle learning-rate schedule, at least ``steps`` gradient steps and at least
``min_epochs`` passes over the training set); batch normalisation, where a
network has it, gets the exact statistics of the training set afterwards
(computed in one pass over the training images).

>>> import torch
>>> from cnnlib.data import digits_on_canvas
>>> set_determinism(0)
>>> x, y = digits_on_canvas(canvas_size=8, scale=1)
>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
>>> losses = fit(model, x, y, epochs=3, progress=False)
>>> len(losses), accuracy(model, x, y) > 0.8
(3, True)

A progress bar (``tqdm.auto``: a widget in Jupyter, text in a terminal) is
shown when ``progress=True``, or with ``progress=None`` when the code runs in
a terminal or a notebook kernel; it is removed when the loop ends
(``leave=False``). Set the environment variable ``CNNLIB_PROGRESS=0`` to turn
every bar off.
"""

import copy
import hashlib
import json
import math
import os
import random
import sys

import numpy as np
import torch
from torch import nn

from cnnlib import models
from cnnlib.shapes import check_int

TRAINING = {"steps": 100, "min_epochs": 10, "batch_size": 64, "lr": 2e-2, "schedule": "onecycle"}


def set_determinism(seed=0, threads=1):
    """Make training reproducible: same seed, same thread count, same numbers.

    Seeds Python's, NumPy's legacy and torch's global generators, turns on
    ``torch.use_deterministic_algorithms(True)`` and fixes the number of
    intra-op threads (a reduction split over a different number of threads can
    round differently). Call it once before building and training models.
    """
    check_int("seed", seed, minimum=0)
    check_int("threads", threads, minimum=1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def _as_images(images):
    """``images`` as a float32 tensor (a NumPy array or a tensor; not copied if already float32)."""
    if isinstance(images, torch.Tensor):
        tensor = images
    else:
        array = np.asarray(images)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"images must hold real numbers, got dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if not (tensor.is_floating_point() or tensor.dtype in (torch.uint8, torch.int32, torch.int64)):
        raise TypeError(f"images must hold real numbers, got dtype {tensor.dtype}")
    if tensor.ndim < 2:
        raise ValueError(f"images must have a batch axis and at least one more, got shape {tuple(tensor.shape)}")
    return tensor.to(torch.float32)


def _as_labels(labels, n=None):
    """``labels`` as a 1-D int64 tensor; with ``n``, check there are ``n`` of them."""
    tensor = labels if isinstance(labels, torch.Tensor) else torch.from_numpy(np.asarray(labels))
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"labels must be integers, got dtype {tensor.dtype}")
    if tensor.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {tuple(tensor.shape)}")
    if n is not None and len(tensor) != n:
        raise ValueError(f"images and labels must have the same length, got {n} images and {len(tensor)} labels")
    return tensor.to(torch.int64)


def _show_progress(progress=None):
    """Whether to draw a progress bar: ``progress`` if given, else only in a terminal or a notebook kernel."""
    if os.environ.get("CNNLIB_PROGRESS", "") == "0":
        return False
    if progress is not None:
        return bool(progress)
    if "ipykernel" in sys.modules:
        return True
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def progress_bar(total, desc=None, progress=None):
    """A ``tqdm.auto`` bar over ``total`` steps that disappears when done (``disable`` when not wanted)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=not _show_progress(progress))


_SCHEDULES = ("constant", "onecycle")


def fit(
    model,
    images,
    labels,
    epochs,
    batch_size=64,
    lr=1e-2,
    weight_decay=0.0,
    seed=0,
    progress=None,
    desc=None,
    schedule="constant",
):
    """Train ``model`` in place with Adam on cross-entropy; return the mean training loss of every epoch.

    ``images`` ``(N, ...)`` is what ``model`` takes (for example ``(N, 1, H, W)``),
    ``labels`` ``(N,)`` the classes, ``model`` maps a batch to _logits ``(B, classes)``.
    Each epoch visits every example once in an order drawn from a generator
    seeded with ``seed`` (batches of ``batch_size``; ``None`` for the full set,
    one step per epoch). Returns a list of ``epochs`` floats.

    ``schedule="constant"`` keeps the learning rate at ``lr``;
    ``"onecycle"`` warms it up to ``lr`` and anneals it to almost 0 over the
    whole run (``torch.optim.lr_scheduler.OneCycleLR``), which trains small
    networks in fewer steps.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _as_images(images)
    y = _as_labels(labels, n=len(x))
    epochs = check_int("epochs", epochs, minimum=0)
    if len(x) == 0:
        raise ValueError("cannot train on an empty set of images")
    batch_size = len(x) if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if schedule not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {_SCHEDULES}, got {schedule!r}")
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = -(-len(x) // batch_size)
    scheduler = None
    if schedule == "onecycle" and epochs > 0:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch)
    history = []
    model.train()
    with progress_bar(epochs * steps_per_epoch, desc=desc, progress=progress) as bar:
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            total = 0.0
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += loss.item() * len(batch)
                bar.update(1)
            history.append(total / len(x))
            bar.set_postfix(loss=f"{history[-1]:.3f}", refresh=False)
    return history


@torch.no_grad()
def _logits(model, images, batch_size=1024):
    """The model's outputs ``(N, classes)`` as a float32 tensor, in evaluation mode, without gradients."""
    x = _as_images(images)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if len(x) == 0:
        raise ValueError("no images to evaluate")
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def predict(model, images, batch_size=1024):
    """Predicted classes, int64 NumPy ``(N,)`` (the arg-max of the _logits)."""
    return _logits(model, images, batch_size).argmax(dim=1).numpy()


def accuracy(model, images, labels, batch_size=1024):
    """Fraction of ``images`` whose predicted class equals the label, a float in [0, 1]."""
    x = _as_images(images)
    y = _as_labels(labels, n=len(x)).numpy()
    if len(x) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(predict(model, x, batch_size) == y))


# ---------------------------------------------------------------- one way to train every network


def _epochs_for(n, steps, batch_size, min_epochs=1):
    """Epochs for at least about ``steps`` gradient steps and at least ``min_epochs`` passes over ``n`` examples.

    An epoch is ``ceil(n / batch_size)`` steps. Small sets are seen many times
    (``steps`` decides), large sets ``min_epochs`` times.
    """
    per_epoch = math.ceil(n / batch_size)
    return max(1, min_epochs, round(steps / per_epoch))


def _recalibrate_batch_norm(model, images):
    """Set every ``BatchNorm2d``'s running statistics to the exact statistics of ``images`` (one pass).

    During training the running mean and variance trail the changing weights
    (an exponential average over past batches); after training they can be
    far from the statistics of the final network, and evaluation suffers.
    One forward pass over ``images`` ``(N, C, H, W)`` in training mode with a
    cumulative average (``momentum=None``) replaces them. Returns ``model``, in
    evaluation mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        model(_as_images(images))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model.eval()


_TRAINED = {}  # (kind, seed, settings, data digest) -> state_dict


def _digest(*arrays):
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(str((a.dtype, a.shape)).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def train_network(kind, images, labels, seed=0, steps=TRAINING["steps"], min_epochs=TRAINING["min_epochs"],
                  batch_size=TRAINING["batch_size"], lr=TRAINING["lr"], schedule=TRAINING["schedule"], **options):
    """Build ``kind`` (a name of :func:`cnnlib.models.build`) with ``seed`` and train it on ``images`` ``(N, 1, S, S)``.

    ``images`` should already be standardised. ``options`` go to the model
    builder (``canvas_size``, ``channels``, ``hidden``...). Trains with
    :func:`fit` for :func:`_epochs_for` epochs after :func:`set_determinism`,
    then :func:`_recalibrate_batch_norm` if the network has batch
    normalisation. Returns the trained module in evaluation mode. A call
    identical to an earlier one in this process returns a copy of the earlier
    result without training again.
    """
    settings = [steps, min_epochs, batch_size, lr, schedule, options]
    key = (kind, seed, json.dumps(settings, sort_keys=True), _digest(images, labels))
    model = models.build(kind, seed=seed, **options)
    if key not in _TRAINED:
        set_determinism(seed)
        epochs = _epochs_for(len(images), steps, batch_size, min_epochs)
        fit(model, images, labels, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False, schedule=schedule)
        if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
            _recalibrate_batch_norm(model, images)
        _TRAINED[key] = copy.deepcopy(model.state_dict())
    model.load_state_dict(_TRAINED[key])
    return model.eval()
