"""Tests for vi_lib.book.repro: the reproducibility contract of setup_notebook."""


from __future__ import annotations

import random

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vi_lib import ValidationError, setup_notebook  # noqa: E402


def test_setup_notebook_is_reproducible_and_sets_threads():
    torch_threads = torch.get_num_threads()
    try:
        rng = setup_notebook(seed=3, threads=1)
        a = (rng.normal(size=3), torch.randn(3), np.random.rand())
        rng = setup_notebook(seed=3, threads=1)
        b = (rng.normal(size=3), torch.randn(3), np.random.rand())
        np.testing.assert_array_equal(a[0], b[0])
        assert torch.equal(a[1], b[1]) and a[2] == b[2]
        assert torch.get_num_threads() == 1
        assert np.get_printoptions()["precision"] == 4
        assert matplotlib.rcParams["axes.spines.top"] is False
    finally:
        torch.set_num_threads(torch_threads)
        torch.use_deterministic_algorithms(False)
        np.set_printoptions(precision=8, suppress=False)
        torch.set_printoptions(profile="default")


@pytest.mark.parametrize("kwargs, message", [({"seed": -1}, "`seed` must be an integer >= 0"),
                                             ({"threads": 0}, "`threads` must be an integer >= 1")])
def test_setup_notebook_validates(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        setup_notebook(**kwargs)


def test_setup_notebook_seeds_python_random_and_sets_deterministic_torch():
    torch_threads = torch.get_num_threads()
    try:
        setup_notebook(seed=11)
        a = [random.random() for _ in range(3)]
        assert torch.are_deterministic_algorithms_enabled()
        random.seed(999)  # disturb it
        setup_notebook(seed=11)
        assert [random.random() for _ in range(3)] == a
    finally:
        torch.set_num_threads(torch_threads)
        torch.use_deterministic_algorithms(False)
        np.set_printoptions(precision=8, suppress=False)
        torch.set_printoptions(profile="default")
