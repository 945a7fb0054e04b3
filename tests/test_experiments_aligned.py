"""Chapter 6's additions to cnnlib.experiments: aligned digits (placement="center") and trained_network.

Each result is checked against an independent path: the data placed and the networks trained here
directly with cnnlib.data and cnnlib.train, not through the function under test.
"""

import numpy as np
import pytest
import torch

from cnnlib import data, experiments, train

TINY = {"steps": 3, "min_epochs": 1, "batch_size": 32}


def _by_hand_centred(kind, n, seed, **settings):
    """Train ``kind`` on ``n`` centred training digits and test on all centred test digits, by hand."""
    small, labels, train_idx, test_idx = experiments.split_indices(0.3)
    images = data.place_on_canvas(small, 16, 4, 4)          # every digit at the centre of 16×16
    mean, std = images[train_idx].astype(np.float64).mean(), images[train_idx].astype(np.float64).std()
    x_train = ((images[train_idx] - mean) / std).astype(np.float32)
    x_test = ((images[test_idx] - mean) / std).astype(np.float32)
    subset = data.stratified_subset(labels[train_idx], n, seed=seed)
    model = train.train_network(kind, x_train[subset], labels[train_idx][subset], seed=seed, canvas_size=16,
                                **{**train.TRAINING, **settings})
    return train.accuracy(model, x_test, labels[test_idx]), train.accuracy(model, x_train[subset],
                                                                           labels[train_idx][subset])


def test_centred_sample_efficiency_matches_a_run_by_hand():
    result = experiments.sample_efficiency(sizes=(30,), seeds=(1,), kinds=("convolutional",), placement="center",
                                           progress=False, **TINY)
    assert result["placement"] == "center"
    test_acc, train_acc = _by_hand_centred("convolutional", 30, 1, **TINY)
    assert result["accuracy"]["convolutional"][0][0] == pytest.approx(test_acc)
    assert result["train_accuracy"]["convolutional"][0][0] == pytest.approx(train_acc)


def test_the_default_placement_is_unchanged_and_differs_from_the_centre(tmp_path):
    args = dict(sizes=(40,), seeds=(0,), kinds=("fully connected",), progress=False, **TINY)
    default = experiments.sample_efficiency(cache=tmp_path, **args)
    explicit = experiments.sample_efficiency(cache=tmp_path, placement="random", **args)
    centred = experiments.sample_efficiency(cache=tmp_path, placement="center", **args)
    assert default == explicit and default["placement"] == "random"
    assert len(list(tmp_path.glob("sample_efficiency-*.json"))) == 2      # random and centre: two keys
    assert centred["accuracy"] != default["accuracy"]
    with pytest.raises(ValueError, match="placement"):
        experiments.sample_efficiency(placement="left", **args)


def test_trained_network_is_the_network_that_translation_measures():
    result = experiments.translation("center", kinds=("convolutional",), test_size=20, progress=False, **TINY)
    model, stats = experiments.trained_network("center", "convolutional", **TINY)
    small, labels, _, test_idx = experiments.split_indices(0.3)
    test_idx = test_idx[data.stratified_subset(labels[test_idx], 20, seed=0)]
    for row, col in [(4, 4), (0, 4), (8, 2)]:
        x = experiments.standardize(data.place_on_canvas(small[test_idx], 16, row, col), stats)
        assert train.accuracy(model, x, labels[test_idx]) == pytest.approx(result["accuracy"]["convolutional"][row][col])
    assert result["train_accuracy"]["convolutional"] == pytest.approx(
        train.accuracy(model, experiments.standardize(
            data.place_on_canvas(small[experiments.split_indices(0.3)[2]], 16, 4, 4), stats),
            labels[experiments.split_indices(0.3)[2]]))
    assert isinstance(model, torch.nn.Module) and not model.training
