"""Lagged Kendall τ: against scipy lag by lag, planted lags recovered, optimal lag, status codes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.errors import InputError
from soilp_qgis.lags import lagged_dependence, lagged_kendall_tau, optimal_lag
from soilp_qgis.tables import status_code


def dry_month_precipitation(rng: np.random.Generator, cells: int, steps: int) -> np.ndarray:
    precipitation = np.round(rng.gamma(0.7, 50.0, size=(cells, steps)), 0)
    precipitation[rng.random((cells, steps)) < 0.35] = 0.0  # dry months: heavy ties at zero
    return precipitation


def test_each_lag_matches_scipy_on_the_shifted_valid_pairs():
    rng = np.random.default_rng(11)
    cells, steps, max_lag, minimum = 40, 36, 8, 20
    precipitation = dry_month_precipitation(rng, cells, steps)
    soil_moisture = np.round(0.3 + 0.001 * np.roll(precipitation, 2, axis=1) + rng.normal(0, 0.03, (cells, steps)), 2)
    precipitation[rng.random((cells, steps)) < 0.1] = np.nan
    soil_moisture[rng.random((cells, steps)) < 0.1] = np.nan
    soil_moisture[0] = 0.3  # constant
    result = lagged_dependence(precipitation, soil_moisture, max_lag=max_lag, min_observations=minimum)
    expected = np.full((cells, max_lag + 1), np.nan)
    pairs = np.zeros((cells, max_lag + 1), dtype=int)
    for i in range(cells):
        for k in range(max_lag + 1):
            p, s = precipitation[i, : steps - k], soil_moisture[i, k:]  # P at t with SM at t + k
            both = np.isfinite(p) & np.isfinite(s)
            pairs[i, k] = both.sum()
            if both.sum() >= minimum:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected[i, k] = stats.kendalltau(p[both], s[both]).statistic
    np.testing.assert_array_equal(result.n_pairs_by_lag, pairs)
    np.testing.assert_array_equal(np.isnan(result.tau_by_lag), np.isnan(expected))
    np.testing.assert_allclose(result.tau_by_lag, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isfinite(expected).sum() > 150 and (pairs[1:] < minimum).sum() >= 3  # both kinds occur
    np.testing.assert_array_equal(
        lagged_kendall_tau(precipitation, soil_moisture, max_lag=max_lag, min_observations=minimum),
        result.tau_by_lag,
    )


def test_planted_lags_are_recovered_exactly():
    """Soil moisture = smoothed precipitation delayed by a known lag, plus noise (sign ±)."""
    rng = np.random.default_rng(2024)
    steps, max_lag, repeats = 240, 12, 3
    planted = np.repeat(np.arange(max_lag + 1), repeats)
    cells = planted.size
    history = dry_month_precipitation(rng, cells, steps + max_lag + 2)
    weights = np.array([1.0, 0.5, 0.25])  # response spread over the lag month and the next two
    sign = np.where(np.arange(cells) % 2 == 0, 1.0, -1.0)
    precipitation = history[:, max_lag + 2 :]
    soil_moisture = np.empty((cells, steps))
    for i, lag in enumerate(planted):
        start = max_lag + 2 - lag
        response = sum(w * history[i, start - j : start - j + steps] for j, w in enumerate(weights))
        soil_moisture[i] = 100.0 + sign[i] * response + rng.normal(0, 20.0, steps)
    precipitation[rng.random((cells, steps)) < 0.05] = np.nan
    soil_moisture[rng.random((cells, steps)) < 0.05] = np.nan
    result = lagged_dependence(precipitation, soil_moisture, max_lag=max_lag)
    np.testing.assert_array_equal(result.optimal_lag, planted.astype(float))
    np.testing.assert_array_equal(np.sign(result.tau_at_optimal_lag), sign)
    np.testing.assert_array_equal(result.tau_at_optimal_lag, result.tau_by_lag[np.arange(cells), planted])
    # the planted lag wins clearly, not by a hair
    strength = np.sort(np.abs(result.tau_by_lag), axis=1)
    assert (strength[:, -1] - strength[:, -2] > 0.1).all()
    np.testing.assert_array_equal(result.status, np.zeros(cells, dtype=np.uint8))


def test_optimal_lag_picks_largest_absolute_tau_smallest_lag_on_ties():
    nan = np.nan
    tau = np.array(
        [
            [0.1, -0.5, 0.3, 0.2],  # strongest is negative
            [0.4, 0.2, -0.4, 0.4],  # three-way tie in |τ| → lag 0
            [nan, 0.1, -0.3, 0.3],  # tie between lags 2 and 3 → 2; NaN skipped
            [nan, nan, nan, nan],  # no τ at any lag
            [nan, nan, 0.0, nan],  # only τ = 0
        ]
    )
    lag, tau_at_lag = optimal_lag(tau)
    np.testing.assert_array_equal(lag, [1.0, 0.0, 2.0, nan, 2.0])
    np.testing.assert_array_equal(tau_at_lag, [-0.5, 0.4, -0.3, nan, 0.0])


def test_status_codes_and_nan_outputs():
    rng = np.random.default_rng(7)
    cells, steps = 5, 40
    precipitation = dry_month_precipitation(rng, cells, steps)
    soil_moisture = rng.normal(0.3, 0.05, (cells, steps))
    precipitation[0] = np.nan  # no data
    soil_moisture[1, 12:] = np.nan  # at most 12 pairs: too few for 15
    soil_moisture[2] = 0.3  # constant soil moisture
    precipitation[3] = 0.0  # always dry
    soil_moisture[4, 20:] = np.nan  # 20 pairs at lag 0, fewer than 15 from lag 6 on
    result = lagged_dependence(precipitation, soil_moisture, max_lag=12, min_observations=15)
    assert result.status.dtype == np.uint8
    expected = [status_code(name) for name in ("no_data", "too_few_values", "constant_series", "constant_series", "fitted")]
    np.testing.assert_array_equal(result.status, expected)
    for values in (result.optimal_lag, result.tau_at_optimal_lag):
        assert np.isnan(values[:4]).all() and np.isfinite(values[4])
    assert np.isnan(result.tau_by_lag[:4]).all()
    # cell 4: lag k has 20 − k valid pairs; lags with fewer than 15 are NaN, the others are not
    np.testing.assert_array_equal(result.n_pairs_by_lag[4], 20 - np.arange(13))
    np.testing.assert_array_equal(np.isnan(result.tau_by_lag[4]), 20 - np.arange(13) < 15)
    assert result.optimal_lag[4] <= 5


def test_bad_parameters_raise_input_error():
    block = np.zeros((2, 10))
    with pytest.raises(InputError, match="MAX_LAG"):
        lagged_dependence(block, block, max_lag=10)
    with pytest.raises(InputError, match="MAX_LAG"):
        lagged_dependence(block, block, max_lag=-1)
    with pytest.raises(InputError, match="MIN_OBSERVATIONS"):
        lagged_dependence(block, block, max_lag=2, min_observations=0)
    with pytest.raises(InputError, match="same shape"):
        lagged_dependence(block, np.zeros((3, 10)), max_lag=2)
