"""cnnlib.train against hand-written oracles: a manual Adam loop, argmax by hand, repeated runs."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from cnnlib import data, models, train
from cnnlib.train import accuracy, _as_images, _as_labels, fit, _logits, predict, set_determinism, _show_progress


def problem(n=120, features=6, classes=3, seed=0):
    """A small, learnable classification problem: classes are separated by their mean."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, features)) * 3
    images = (centres[labels] + rng.normal(size=(n, features))).astype(np.float32)
    return images, labels.astype(np.int64)


def linear(features=6, classes=3, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(features, classes)


@pytest.fixture(autouse=True)
def _determinism():
    set_determinism(0, threads=1)


def manual_adam(model, x, y, epochs, batch_size, lr, seed):
    """The loop fit() promises, written out: seeded permutation, batches, Adam, mean losses."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            b = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[b]), y[b])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(b)
        losses.append(total / len(x))
    return losses


@pytest.mark.parametrize("batch_size", [1, 7, 32, 120])
def test_fit_equals_manual_loop(batch_size):
    x, y = problem()
    a, b = linear(), linear()
    history = fit(a, x, y, epochs=3, batch_size=batch_size, lr=0.05, seed=5, progress=False)
    expected = manual_adam(b, x, y, epochs=3, batch_size=batch_size, lr=0.05, seed=5)
    assert history == pytest.approx(expected, rel=1e-6, abs=1e-7)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_full_batch_is_one_adam_step_per_epoch():
    x, y = problem(n=50)
    a, b = linear(), linear()
    fit(a, x, y, epochs=1, batch_size=None, lr=0.1, progress=False)
    # Adam's first step, bias-corrected: m = g, v = g**2, so every weight moves by lr * g / (|g| + eps)
    loss = nn.functional.cross_entropy(b(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    for p, q in zip(a.parameters(), b.parameters()):
        expected = q.detach() - 0.1 * q.grad / (q.grad.abs() + 1e-8)
        torch.testing.assert_close(p.detach(), expected, atol=1e-6, rtol=1e-6)


def test_same_seed_same_numbers_other_seed_other_order():
    x, y = problem()
    runs = []
    for seed in (0, 0, 1):
        model = linear()
        runs.append((fit(model, x, y, epochs=4, batch_size=16, seed=seed, progress=False), model.weight.detach()))
    assert runs[0][0] == runs[1][0]  # bit for bit
    assert torch.equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_set_determinism_fixes_threads_and_initialisation():
    set_determinism(3, threads=1)
    assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    first = nn.Linear(4, 4).weight.detach().clone()
    set_determinism(3, threads=1)
    assert torch.equal(first, nn.Linear(4, 4).weight.detach())
    with pytest.raises(ValueError, match="threads"):
        set_determinism(0, threads=0)


def test_fit_learns_and_numpy_equals_torch_inputs():
    x, y = problem()
    a, b = linear(), linear()
    history = fit(a, x, y, epochs=20, batch_size=30, lr=0.05, progress=False)
    fit(b, torch.from_numpy(x), torch.from_numpy(y), epochs=20, batch_size=30, lr=0.05, progress=False)
    assert len(history) == 20 and history[-1] < history[0] / 4
    assert torch.equal(a.weight, b.weight)
    assert accuracy(a, x, y) > 0.95


def test_predict_and_accuracy_by_hand():
    x, y = problem(n=70)
    model = linear(seed=2)
    out = model(torch.from_numpy(x)).detach().numpy()
    by_hand = np.array([max(range(3), key=lambda c: row[c]) for row in out])
    np.testing.assert_array_equal(predict(model, x, batch_size=8), by_hand)
    assert predict(model, x).dtype == np.int64
    assert accuracy(model, x, y, batch_size=9) == pytest.approx(np.mean(by_hand == y))
    torch.testing.assert_close(_logits(model, x, batch_size=4), torch.from_numpy(out))


def test_evaluation_mode_is_used_and_restored():
    x, y = problem(n=40)
    model = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.9), nn.Linear(16, 3))
    first = predict(model, x)
    np.testing.assert_array_equal(first, predict(model, x))  # no dropout at evaluation
    assert model.training
    model.eval()
    accuracy(model, x, y)
    assert not model.training


def test_image_shaped_inputs_and_conversions():
    images = np.random.default_rng(0).random((10, 1, 5, 5))  # float64 becomes float32
    labels = np.arange(10) % 2
    model = nn.Sequential(nn.Conv2d(1, 2, 5), nn.Flatten())
    history = fit(model, images, labels.astype(np.int32), epochs=2, batch_size=4, progress=False)
    assert len(history) == 2 and all(np.isfinite(history))
    assert _as_images(images).dtype == torch.float32
    assert _as_labels(labels.astype(np.uint8)).dtype == torch.int64


def test_bad_arguments():
    x, y = problem(n=10)
    model = linear()
    with pytest.raises(ValueError, match="same length"):
        fit(model, x, y[:-1], epochs=1, progress=False)
    with pytest.raises(TypeError, match="labels must be integers"):
        fit(model, x, y.astype(float), epochs=1, progress=False)
    with pytest.raises(TypeError, match="nn.Module"):
        fit(lambda t: t, x, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, x, y, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="lr"):
        fit(model, x, y, epochs=1, lr=0, progress=False)
    with pytest.raises(TypeError, match="real numbers"):
        fit(model, np.array([["a"] * 6] * 10), y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="empty"):
        accuracy(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="1-D"):
        accuracy(model, x, y[:, None])


def test_progress_switch(monkeypatch, capsys):
    assert _show_progress(True) and not _show_progress(False)
    monkeypatch.setenv("CNNLIB_PROGRESS", "0")
    assert not _show_progress(True)
    monkeypatch.delenv("CNNLIB_PROGRESS")
    x, y = problem(n=20)
    fit(copy.deepcopy(linear()), x, y, epochs=2, batch_size=5, progress=True, desc="training")
    assert "training" in capsys.readouterr().err  # a text bar in a terminal, removed at the end
    fit(linear(), x, y, epochs=2, batch_size=5, progress=False, desc="silent")
    assert "silent" not in capsys.readouterr().err


def test_onecycle_schedule_equals_manual_loop():
    x, y = problem(n=48)
    a, b = linear(), linear()
    history = fit(a, x, y, epochs=3, batch_size=16, lr=0.05, seed=2, progress=False, schedule="onecycle")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(2)
    optimizer = torch.optim.Adam(b.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=9)
    expected = []
    for _ in range(3):
        order = torch.randperm(48, generator=generator)
        total = 0.0
        for start in range(0, 48, 16):
            idx = order[start : start + 16]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(b(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * 16
        expected.append(total / 48)
    assert history == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(a.weight, b.weight)
    assert history != fit(linear(), x, y, epochs=3, batch_size=16, lr=0.05, seed=2, progress=False)
    with pytest.raises(ValueError, match="schedule"):
        fit(linear(), x, y, epochs=1, schedule="cosine", progress=False)


# --- train_network: how every network of the experiments is trained -------------------------

TINY = {"steps": 3, "min_epochs": 1, "batch_size": 32}


def test_epochs_for_by_hand():
    assert train._epochs_for(50, steps=100, batch_size=64) == 100  # one step per epoch
    assert train._epochs_for(128, steps=100, batch_size=64) == 50
    assert train._epochs_for(1257, steps=100, batch_size=64, min_epochs=10) == 10  # 20 steps per epoch
    assert train._epochs_for(10_000, steps=1, batch_size=64) == 1


def test_trained_networks_are_reused_with_identical_inputs():
    x, y = data.digits_on_canvas(canvas_size=16, scale=1)
    x = x[:64]
    a = train.train_network("convolutional", x, y[:64], seed=0, **TINY)
    size = len(train._TRAINED)
    b = train.train_network("convolutional", x, y[:64], seed=0, **TINY)
    assert len(train._TRAINED) == size and a is not b
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    train.train_network("convolutional", x, y[:64], seed=1, **TINY)
    assert len(train._TRAINED) == size + 1


def test_batch_norm_gets_the_exact_statistics_of_the_training_set():
    x, y = data.digits_on_canvas(canvas_size=16, scale=1)
    model = train.train_network("max pool", x[:64], y[:64], seed=0, **TINY)
    first_norm = model[1]
    with torch.no_grad():
        pre = model[0](torch.from_numpy(x[:64]))
    torch.testing.assert_close(first_norm.running_mean, pre.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(first_norm.running_var, pre.var(dim=(0, 2, 3), unbiased=True))
    assert not model.training and first_norm.momentum == 0.1


def test_recalibrated_batch_norm_holds_the_exact_statistics():
    torch.manual_seed(0)
    model = models.small_cnn(width=2, batch_norm=True)
    x = torch.rand(50, 1, 16, 16)
    train._recalibrate_batch_norm(model, x)
    first_norm = model[1]
    with torch.no_grad():
        pre = model[0](x)
    torch.testing.assert_close(first_norm.running_mean, pre.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(first_norm.running_var, pre.var(dim=(0, 2, 3), unbiased=True))
    assert not model.training and first_norm.momentum == 0.1
