"""cnnlib.experiments on tiny configurations: shapes, determinism, the cache, and hand-made results."""

import numpy as np
import pytest

from cnnlib import experiments, train

TINY = {"steps": 3, "min_epochs": 1, "batch_size": 32}


def test_standardize_uses_the_given_statistics():
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    stats = experiments._pixel_stats(x)
    assert stats == pytest.approx((1.5, np.sqrt(1.25)))
    z = experiments._standardize(x, stats)
    assert z.dtype == np.float32 and z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)


def test_sample_efficiency_tiny_is_deterministic_and_cached(tmp_path):
    args = dict(sizes=(20, 40), seeds=(0, 1), kinds=("fully connected", "convolutional"), progress=False, **TINY)
    first = experiments.sample_efficiency(**args)
    assert first["sizes"] == [20, 40] and first["kinds"] == ["fully connected", "convolutional"]
    for kind in first["kinds"]:
        acc = np.asarray(first["accuracy"][kind])
        assert acc.shape == (2, 2) and np.all((0 <= acc) & (acc <= 1))
    train._TRAINED.clear()  # retrain from scratch: same numbers
    assert experiments.sample_efficiency(**args) == first
    cached = experiments.sample_efficiency(cache=tmp_path, **args)
    assert cached == first and len(list(tmp_path.glob("sample_efficiency-*.json"))) == 1
    assert experiments.sample_efficiency(cache=tmp_path, **args) == first  # read back from JSON
    path = next(tmp_path.glob("sample_efficiency-*.json"))
    path.write_text(path.read_text().replace('"sizes": [20, 40]', '"sizes": [0, 0]'))
    assert experiments.sample_efficiency(cache=tmp_path, **args)["sizes"] == [0, 0]  # the file is what is read
    assert experiments.sample_efficiency(cache=tmp_path, refresh=True, **args) == first  # recomputed, rewritten
    assert experiments.sample_efficiency(cache=tmp_path, **args) == first
    with pytest.raises(ValueError, match="sizes"):
        experiments.sample_efficiency(sizes=(5000,), seeds=(0,), progress=False, **TINY)


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    assert experiments._cached("x", {"a": 1}, lambda: {"b": 2}, cache=blocked / "sub") == {"b": 2}


def test_book_cache_is_in_the_checkout_or_a_user_folder(tmp_path, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent  # this checkout
    assert experiments.BOOK_CACHE == root / "_build" / "cache" / "experiments"
    # an installed cnnlib (no book around it) does not write into site-packages
    monkeypatch.setattr(experiments, "__file__", str(tmp_path / "site-packages" / "cnnlib" / "experiments.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert experiments._book_cache() == tmp_path / "cache" / "cnnlib" / "experiments"


def test_the_cache_key_changes_with_any_module_the_networks_may_use(tmp_path, monkeypatch):
    """A cached result is read back only while every computing module is unchanged (a change to
    shapes.py alters the networks' sizes, one to counting.py their parameter counts); the figures
    and the claims only read results."""
    import shutil
    from pathlib import Path

    copy = tmp_path / "cnnlib"
    shutil.copytree(Path(experiments.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(experiments, "__file__", str(copy / "experiments.py"))
    before = experiments._source_hash()
    for name in ("figures/live.py", "claims/registry.py"):
        (copy / name).write_text((copy / name).read_text() + "\n# an edit\n")
        assert experiments._source_hash() == before, name
    for name in ("shapes.py", "counting.py", "models/digits.py", "train.py"):
        original = (copy / name).read_text()
        (copy / name).write_text(original + "\n# an edit\n")
        assert experiments._source_hash() != before, name
        (copy / name).write_text(original)
    assert experiments._source_hash() == before


def test_translation_tiny_shapes_and_positions():
    result = experiments.translation("center", kinds=("fully connected",), test_size=20, progress=False, **TINY)
    assert result["positions"] == list(range(9)) and result["center"] == 4
    acc = np.asarray(result["accuracy"]["fully connected"])
    assert acc.shape == (9, 9) and result["test_size"] == 20
    shifts, curve = experiments.shift_curve(result, "fully connected", "vertical")
    np.testing.assert_array_equal(shifts, np.arange(-4, 5))
    np.testing.assert_array_equal(curve, acc[:, 4])


def test_translation_of_the_pooling_networks_is_exact_at_the_total_stride():
    # barely trained: the theorem does not care how well (two downsamplings by 2, circular padding, global pooling)
    result = experiments.translation("center", kinds=("max pool", "blur pool"), test_size=30, progress=False, **TINY)
    assert result["kinds"] == ["max pool", "blur pool"] and result["test_size"] == 30
    assert result["train_size"] + 540 == 1797
    for kind in result["kinds"]:
        shifts, changed = experiments.shift_curve(result, kind, "horizontal", "changed")
        assert changed[shifts == 0][0] == 0 and changed[shifts == 4][0] == 0 and changed[shifts == -4][0] == 0
        assert 0 <= result["consistency"][kind] <= 1


def hand_made_result():
    """A translation result whose curves are known: accuracy 1 at the centre, chance elsewhere, except one side."""
    acc = np.full((5, 5), 0.1)
    acc[2, :] = [0.1, 0.5, 1.0, 0.1, 0.1]  # horizontal: chance at |shift| 1 on the right only, both at 2
    acc[:, 2] = [0.9, 0.9, 1.0, 0.9, 0.9]  # vertical: never falls
    return {"kinds": ["k"], "positions": list(range(5)), "center": 2, "accuracy": {"k": acc.tolist()}}


def test_first_shift_below_by_hand():
    result = hand_made_result()
    assert experiments._first_shift_below(result, "k", 0.2, "horizontal") == 2
    assert experiments._first_shift_below(result, "k", 0.5, "horizontal") == 1
    assert experiments._first_shift_below(result, "k", 0.2, "vertical") is None
    with pytest.raises(ValueError, match="axis"):
        experiments.shift_curve(result, "k", "diagonal")


def test_mean_and_spread_by_hand():
    result = {"kinds": ["k"], "accuracy": {"k": [[0.2, 0.4], [0.5, 0.5]]}}
    mean, std, low, high = experiments.mean_and_spread(result)["k"]
    np.testing.assert_allclose(mean, [0.3, 0.5])
    np.testing.assert_allclose(std, [0.1, 0.0])
    np.testing.assert_allclose(low, [0.2, 0.5])
    np.testing.assert_allclose(high, [0.4, 0.5])
