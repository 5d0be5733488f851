"""Kendall τ-b per cell against scipy.stats.kendalltau, brute force and closed forms."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.errors import InputError
from soilp_qgis.kendall import (
    STATUS_CONSTANT_SERIES,
    STATUS_FITTED,
    STATUS_NO_DATA,
    STATUS_TOO_FEW_VALUES,
    kendall_status,
    kendall_tau_b,
)
from soilp_qgis.tables import status_codes


def scipy_per_cell(x: np.ndarray, y: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    """scipy's τ-b and p-value cell by cell on the steps where both series are finite."""
    tau = np.full(len(x), np.nan)
    p_value = np.full(len(x), np.nan)
    for i in range(len(x)):
        both = np.isfinite(x[i]) & np.isfinite(y[i])
        if both.sum() == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.kendalltau(x[i][both], y[i][both], **options)
        tau[i], p_value[i] = result.statistic, result.pvalue
    return tau, p_value


def dry_month_block(rng: np.random.Generator, cells: int, steps: int, missing: float = 0.1):
    """Precipitation with many dry (zero) months and coarse values, soil moisture rounded."""
    precipitation = np.round(rng.gamma(0.5, 40.0, size=(cells, steps)), -1)
    precipitation[rng.random((cells, steps)) < 0.4] = 0.0
    soil_moisture = np.round(0.2 + 0.002 * precipitation + rng.normal(0, 0.05, (cells, steps)), 2)
    precipitation[rng.random((cells, steps)) < missing] = np.nan
    soil_moisture[rng.random((cells, steps)) < missing] = np.nan
    return precipitation, soil_moisture


def assert_matches_scipy(x, y, result, **options):
    tau, p_value = scipy_per_cell(x, y, **options)
    np.testing.assert_array_equal(np.isnan(result.tau_b), np.isnan(tau))
    np.testing.assert_allclose(result.tau_b, tau, rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(result.p_value, p_value, rtol=1e-9, atol=1e-300, equal_nan=True)


@pytest.mark.parametrize("steps", [3, 8, 20, 33, 34, 61, 240])
def test_heavy_ties_and_missing_match_scipy(steps):
    rng = np.random.default_rng(steps)
    x, y = dry_month_block(rng, 150, steps)
    result = kendall_tau_b(x, y, chunk_cells=64)
    assert_matches_scipy(x, y, result)
    np.testing.assert_array_equal(result.n_pairs, (np.isfinite(x) & np.isfinite(y)).sum(axis=1))
    assert np.isfinite(result.tau_b).sum() > 40  # the comparison is not all NaN


@pytest.mark.parametrize("steps", [4, 12, 25, 33])
def test_small_samples_without_ties_use_the_exact_distribution(steps):
    rng = np.random.default_rng(100 + steps)
    x = rng.normal(size=(120, steps))
    y = 0.5 * x + rng.normal(size=(120, steps))
    result = kendall_tau_b(x, y)
    assert_matches_scipy(x, y, result, method="exact")


def test_exact_p_value_equals_enumeration_of_all_permutations():
    """Two-sided exact p-value: share of the 6! orderings with |S| ≥ the observed |S|."""
    n = 6
    scores = np.array([sum(np.sign(b - a) for a, b in itertools.combinations(perm, 2))
                       for perm in itertools.permutations(range(n))])
    rng = np.random.default_rng(5)
    x = np.tile(np.arange(n, dtype=float), (40, 1))
    y = np.array([rng.permutation(n) for _ in range(40)], dtype=float)
    result = kendall_tau_b(x, y)
    for i in range(40):
        s = sum(np.sign(y[i, b] - y[i, a]) for a, b in itertools.combinations(range(n), 2))
        assert result.tau_b[i] == pytest.approx(s / 15, abs=1e-15)
        assert result.p_value[i] == pytest.approx(np.mean(np.abs(scores) >= abs(s)), rel=1e-12)


def test_long_monotone_series_use_the_closed_form_tail():
    """No ties and at most one discordant pair: p = 2/n! (none) or 2/(n−1)! (one), any n."""
    n = 60
    x = np.arange(n, dtype=float)
    one_swap = x.copy()
    one_swap[[10, 11]] = one_swap[[11, 10]]
    result = kendall_tau_b(np.vstack([x, x, x]), np.vstack([x, one_swap, -x]))
    total = n * (n - 1) / 2
    np.testing.assert_allclose(result.tau_b, [1.0, (total - 2) / total, -1.0], atol=1e-15)
    np.testing.assert_allclose(result.p_value,
                               [2 / math.factorial(n), 2 / math.factorial(n - 1),
                                2 / math.factorial(n)], rtol=1e-12)


def test_long_series_beyond_one_merge_block():
    rng = np.random.default_rng(9)
    x, y = dry_month_block(rng, 12, 500, missing=0.05)
    assert_matches_scipy(x, y, kendall_tau_b(x, y))


def test_hand_computed_example():
    """[12, 2, 1, 12, 2] vs [1, 4, 7, 1, 0]: 2 concordant, 6 discordant pairs; x ties 12–12 and
    2–2, y tie 1–1."""
    result = kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    # τ-b = (C − D) / √((n0 − n1)(n0 − n2)) with n0 = 10, n1 = 2, n2 = 1
    assert result.tau_b[0] == pytest.approx((2 - 6) / math.sqrt(8 * 9), abs=1e-15)
    assert result.n_pairs[0] == 5


def test_float32_input_gives_the_float64_answer():
    rng = np.random.default_rng(3)
    x, y = dry_month_block(rng, 50, 48)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    result = kendall_tau_b(x32, y32)
    assert_matches_scipy(x32.astype(np.float64), y32.astype(np.float64), result)


def test_undefined_cells_are_nan_and_get_their_status():
    steps = 30
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, steps))
    y = rng.normal(size=(6, steps))
    x[0] = np.nan  # no data
    y[1, 10:] = np.nan  # 10 pairs: too few for 15
    y[2, :] = 0.25  # constant soil moisture
    x[3, :] = 0.0  # always dry
    x[4, 1:] = np.nan  # a single pair
    result = kendall_tau_b(x, y)
    assert (np.isnan(result.tau_b[[0, 2, 3, 4]]).all()
            and np.isnan(result.p_value[[0, 2, 3, 4]]).all())
    assert np.isfinite(result.tau_b[[1, 5]]).all()
    np.testing.assert_array_equal(result.n_pairs, [0, 10, 30, 30, 1, 30])
    status = kendall_status(result.tau_b, result.n_pairs, min_observations=15)
    assert status.dtype == np.uint8
    expected = [STATUS_NO_DATA, STATUS_TOO_FEW_VALUES, STATUS_CONSTANT_SERIES,
                STATUS_CONSTANT_SERIES, STATUS_TOO_FEW_VALUES, STATUS_FITTED]
    np.testing.assert_array_equal(status, expected)
    names = {entry["code"]: entry["name"] for entry in status_codes()}
    assert [names[c] for c in (0, 1, 2, 3)] == ["fitted", "no_data", "too_few_values",
                                                "constant_series"]
    assert (STATUS_FITTED, STATUS_NO_DATA, STATUS_TOO_FEW_VALUES,
            STATUS_CONSTANT_SERIES) == (0, 1, 2, 3)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="same shape"):
        kendall_tau_b(np.zeros((3, 10)), np.zeros((3, 11)))
    with pytest.raises(InputError, match="MIN_OBSERVATIONS"):
        kendall_status(np.zeros(2), np.array([5, 5]), min_observations=1)
    with pytest.raises(InputError, match="MIN_OBSERVATIONS"):
        kendall_status(np.zeros(2), np.array([5, 5]), min_observations=2.5)
