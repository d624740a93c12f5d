"""Tests for vi_lib.inference.minibatch: epochs are permutations, arrays and memory maps give the same
batches, and .npy files are written in chunks and opened with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from vi_lib import ValidationError, minibatches, open_npy_memmap, write_npy_in_chunks


def _data(n: int = 103, d: int = 3) -> np.ndarray:
    return np.random.default_rng(5).normal(size=(n, d))


def _write(path, x: np.ndarray, chunk_rows: int = 17):
    rows = iter(range(0, x.shape[0], chunk_rows))

    def sample(c: int) -> np.ndarray:
        start = next(rows)
        return x[start:start + c]

    return write_npy_in_chunks(path, x.shape[0], x.shape[1], sample, chunk_rows=chunk_rows, dtype=x.dtype)


def test_each_epoch_is_a_permutation():
    x = _data()
    batches = list(minibatches(x, 10, np.random.default_rng(0), n_batches=33))  # 3 epochs of 11 batches
    assert [len(i) for i, _ in batches[:11]] == [10] * 10 + [3]
    for epoch in range(3):
        idx = np.concatenate([i for i, _ in batches[11 * epoch:11 * (epoch + 1)]])
        np.testing.assert_array_equal(np.sort(idx), np.arange(103))
    for idx, rows in batches:
        assert np.all(np.diff(idx) > 0)  # sorted within the batch
        np.testing.assert_array_equal(rows, x[idx])
    first = [i for i, _ in batches[:11]]
    second = [i for i, _ in batches[11:22]]
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))  # a fresh permutation per epoch
    assert len(list(minibatches(x, 10, np.random.default_rng(0)))) == 11  # default: one epoch


def test_seeded_and_reproducible():
    x = _data()
    a = [i for i, _ in minibatches(x, 7, np.random.default_rng(1), n_batches=20)]
    b = [i for i, _ in minibatches(x, 7, np.random.default_rng(1), n_batches=20)]
    c = [i for i, _ in minibatches(x, 7, np.random.default_rng(2), n_batches=20)]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_array_and_memmap_give_identical_batches(tmp_path, dtype):
    x = _data().astype(dtype)
    mm = open_npy_memmap(_write(tmp_path / "x.npy", x), shape=(None, 3), dtype=dtype)
    assert isinstance(mm, np.memmap)
    from_array = list(minibatches(x, 9, np.random.default_rng(3), n_batches=25))
    from_map = list(minibatches(mm, 9, np.random.default_rng(3), n_batches=25))
    for (i, r), (j, s) in zip(from_array, from_map):
        np.testing.assert_array_equal(i, j)
        np.testing.assert_array_equal(r, s)
        # an in-memory, writeable float64 copy, not a view of the (read-only) map
        assert type(s) is np.ndarray and s.dtype == np.float64 and s.flags.writeable
        assert not np.shares_memory(s, mm)


@pytest.mark.parametrize(("batch_size", "match"), [
    (0, r"`batch_size` must be an integer >= 1"), (104, r"`batch_size` must be an integer in 1..N = 103"),
    (2.5, r"`batch_size` must be an integer"), (True, r"`batch_size` must be an integer"),
])
def test_batch_size_validation(batch_size, match):
    with pytest.raises(ValidationError, match=r"^minibatches: " + match):
        minibatches(_data(), batch_size, np.random.default_rng(0))


def test_non_finite_data_is_reported(tmp_path):
    x = _data()
    x[50, 1] = np.nan
    with pytest.raises(ValidationError, match=r"^minibatches: `data` must be finite"):
        minibatches(x, 10, np.random.default_rng(0))
    np.save(tmp_path / "bad.npy", x)
    mm = open_npy_memmap(tmp_path / "bad.npy")
    with pytest.raises(ValidationError, match=r"^minibatches: `data` must be finite .*\[50\]"):
        list(minibatches(mm, 103, np.random.default_rng(0)))


def test_written_file_round_trips_and_leaves_no_temporary(tmp_path):
    x = _data(1000, 2)
    path = _write(tmp_path / "x.npy", x, chunk_rows=300)
    np.testing.assert_array_equal(np.load(path), x)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 2)))
    with pytest.raises(ValidationError, match=r"^write_npy_in_chunks: `sample_chunk\(5\)` must return"):
        write_npy_in_chunks(path, 10, 2, lambda c: np.zeros((c, 3)), chunk_rows=5)
    np.testing.assert_array_equal(np.load(path), np.zeros((2, 2)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_open_errors_name_the_path_and_what_was_expected(tmp_path):
    path = _write(tmp_path / "x.npy", _data(20, 2))
    with pytest.raises(ValidationError, match=r"^open_npy_memmap: `shape` of '.*x\.npy' must be \(None, 3\); "
                                              r"received a file of shape \(20, 2\)"):
        open_npy_memmap(path, shape=(None, 3))
    with pytest.raises(ValidationError, match=r"^open_npy_memmap: `dtype` of '.*x\.npy' must be float32; "
                                              r"received a file of dtype float64"):
        open_npy_memmap(path, dtype=np.float32)
    with pytest.raises(ValidationError, match=r"^open_npy_memmap: `path` must be an existing .npy file; "
                                              r"received '.*missing\.npy'"):
        open_npy_memmap(tmp_path / "missing.npy")
    data = path.read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-8])
    with pytest.raises(ValidationError, match=r"^open_npy_memmap: `path` must hold \d+ bytes for shape \(20, 2\) "
                                              r"and dtype float64; received '.*short\.npy' with \d+ bytes "
                                              r"\(truncated\)"):
        open_npy_memmap(tmp_path / "short.npy")
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file at all")
    with pytest.raises(ValidationError, match=r"^open_npy_memmap: `path` must be a readable .npy file"):
        open_npy_memmap(tmp_path / "junk.npy")
    assert open_npy_memmap(path, shape=(20, 2), dtype="float64").shape == (20, 2)


def test_write_validation(tmp_path):
    with pytest.raises(ValidationError, match=r"^write_npy_in_chunks: `n_rows` must be an integer >= 1"):
        write_npy_in_chunks(tmp_path / "a.npy", 0, 2, np.zeros)
    with pytest.raises(ValidationError, match=r"^write_npy_in_chunks: `path` must be in an existing directory"):
        write_npy_in_chunks(tmp_path / "no" / "a.npy", 3, 2, lambda c: np.zeros((c, 2)))
    with pytest.raises(ValidationError, match=r"^write_npy_in_chunks: `dtype` must be a floating numpy dtype"):
        write_npy_in_chunks(tmp_path / "a.npy", 3, 2, lambda c: np.zeros((c, 2)), dtype=np.int64)


# --- low_memory=True: the epoch's order from a keyed permutation, memory independent of N ---


@pytest.mark.parametrize("n", [1, 2, 3, 5, 64, 103, 1000, 4097])
@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_low_memory_epochs_are_permutations(n, batch_size):
    x = np.arange(n, dtype=float)[:, None]
    if batch_size > n:
        batch_size = n
    per_epoch = -(-n // batch_size)
    batches = list(minibatches(x, batch_size, np.random.default_rng(n), n_batches=3 * per_epoch,
                               low_memory=True))
    epochs = []
    for e in range(3):
        part = batches[e * per_epoch:(e + 1) * per_epoch]
        idx = np.concatenate([i for i, _ in part])
        np.testing.assert_array_equal(np.sort(idx), np.arange(n))  # each point exactly once per epoch
        for i, rows in part:
            assert np.all(np.diff(i) > 0)
            np.testing.assert_array_equal(rows[:, 0], i)
        epochs.append(np.concatenate([i for i, _ in part]))
    if per_epoch >= 4:
        assert not np.array_equal(epochs[0], epochs[1])  # a fresh order per epoch


def test_low_memory_rotation_makes_every_position_exactly_uniform():
    # For fixed Feistel keys, the N possible rotations put every index at every position exactly once,
    # so with a uniformly drawn rotation each position holds each index with probability exactly 1/N.
    from vi_lib.inference.minibatch import _KeyedPermutation
    for n in [3, 10, 37]:
        perm = _KeyedPermutation(n, np.random.default_rng(0))
        table = []
        for offset in range(n):
            perm.offset = offset
            table.append(perm(np.arange(n)))
        table = np.array(table)  # rows: offsets, columns: positions
        for column in table.T:
            np.testing.assert_array_equal(np.sort(column), np.arange(n))


def test_low_memory_scaled_batch_sum_is_unbiased():
    # E[(N/|B|) sum_{n in B} f(x_n)] = sum_n f(x_n) for the first batch of an epoch, measured over seeds
    n, b, reps = 50, 5, 4000
    f = np.random.default_rng(9).gamma(2.0, size=n)
    x = f[:, None]
    est = np.array([n / b * next(minibatches(x, b, np.random.default_rng(s), low_memory=True))[1].sum()
                    for s in range(reps)])
    se = est.std(ddof=1) / np.sqrt(reps)
    assert abs(est.mean() - f.sum()) < 4 * se


def test_low_memory_array_and_memmap_agree_and_are_seeded(tmp_path):
    x = _data()
    mm = open_npy_memmap(_write(tmp_path / "x.npy", x), shape=(None, 3))
    a = list(minibatches(x, 9, np.random.default_rng(3), n_batches=25, low_memory=True))
    b = list(minibatches(mm, 9, np.random.default_rng(3), n_batches=25, low_memory=True))
    c = list(minibatches(x, 9, np.random.default_rng(4), n_batches=25, low_memory=True))
    for (i, r), (j, s) in zip(a, b):
        np.testing.assert_array_equal(i, j)
        np.testing.assert_array_equal(r, s)
    assert not all(np.array_equal(i, k) for (i, _), (k, _) in zip(a, c))


def test_low_memory_peak_does_not_grow_with_n(tmp_path):
    # tracemalloc peak of one epoch's first 50 batches over a memory map: the default holds the epoch's
    # permutation (4 bytes per point); low_memory holds only the batch.
    import tracemalloc
    peaks = {}
    for n in [200_000, 2_000_000]:
        path = write_npy_in_chunks(tmp_path / f"z{n}.npy", n, 1, lambda c: np.zeros((c, 1)), chunk_rows=100_000)
        mm = open_npy_memmap(path)
        for low in [False, True]:
            tracemalloc.start()
            for _ in minibatches(mm, 1000, np.random.default_rng(0), n_batches=50, low_memory=low):
                pass
            peaks[n, low] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        del mm
    assert peaks[2_000_000, False] > 4 * 2_000_000  # the permutation is there by default ...
    assert peaks[2_000_000, True] < 1.5 * peaks[200_000, True]  # ... and gone with low_memory
    assert peaks[2_000_000, True] < 1_000_000


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_low_memory_must_be_a_bool(value):
    with pytest.raises(ValidationError, match=r"^minibatches: `low_memory` must be a bool \(True or False\); "
                                              r"received "):
        minibatches(_data(), 10, np.random.default_rng(0), low_memory=value)
