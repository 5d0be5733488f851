"""Moving-block bootstrap of per-cell Kendall τ (soilp_qgis.bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from soilp_qgis import bootstrap
from soilp_qgis.bootstrap import (
    default_block_length,
    percentile_interval,
    replicate_shares,
    resampled_kendall,
    resampled_optimal_lags,
    resampling_counts,
)
from soilp_qgis.errors import InputError


def dry_series(rng, cells, steps):
    rain = rng.gamma(0.7, 30.0, size=(cells, steps))
    rain[rng.random((cells, steps)) < 0.3] = 0.0  # dry steps: ties
    soil = np.round(rain / 100 + rng.normal(0, 0.3, (cells, steps)), 1)  # rounded: ties
    rain[0, 5] = np.nan
    soil[1, 7] = np.nan
    return rain, soil


def test_default_block_length_is_the_cube_root_rule():
    assert [default_block_length(n) for n in (20, 27, 64, 240, 1)] == [3, 3, 4, 7, 1]


def test_counts_are_blocks_drawn_once_from_the_seed():
    counts = resampling_counts(50, 30, 5, seed=7)
    assert counts.shape == (30, 50) and (counts.sum(axis=1) == 50).all()
    np.testing.assert_array_equal(counts, resampling_counts(50, 30, 5, seed=7))
    assert not np.array_equal(counts, resampling_counts(50, 30, 5, seed=8))
    assert (resampling_counts(50, 4, 50) == 1).all()  # one block of the whole series
    with pytest.raises(InputError, match="BLOCK_LENGTH"):
        resampling_counts(50, 4, 51)


def test_counts_hold_whole_blocks():
    # blocks of 5 drawn from 0…45: every step of a drawn block is drawn as often as its start,
    # so the counts of steps 4 and 5 differ by the number of blocks starting at 5 minus ending at 4
    counts = resampling_counts(50, 200, 5, seed=1)
    rng = np.random.default_rng(1)
    starts = rng.integers(0, 46, size=(200, 10))
    expected = np.zeros((200, 50), dtype=int)
    for r in range(200):
        for s in starts[r]:
            expected[r, s:s + 5] += 1
    np.testing.assert_array_equal(counts, expected)


def test_resampled_tau_is_scipys_on_the_resampled_series_with_ties_and_gaps():
    rng = np.random.default_rng(2)
    rain, soil = dry_series(rng, 6, 40)
    counts = resampling_counts(40, 9, 4, seed=3)
    tau = resampled_kendall(rain, soil, counts)
    numerator = resampled_kendall(rain, soil, counts, numerator_only=True)
    for cell in range(6):
        for r in range(9):
            steps = np.repeat(np.arange(40), counts[r])
            x, y = rain[cell, steps], soil[cell, steps]
            keep = np.isfinite(x) & np.isfinite(y)
            assert tau[cell, r] == pytest.approx(stats.kendalltau(x[keep], y[keep]).statistic,
                                                 abs=1e-12)
            i, j = np.triu_indices(keep.sum(), 1)
            s = np.sum(np.sign(x[keep][i] - x[keep][j]) * np.sign(y[keep][i] - y[keep][j]))
            assert numerator[cell, r] == s


def test_result_does_not_depend_on_the_chunking(monkeypatch):
    rng = np.random.default_rng(4)
    rain, soil = dry_series(rng, 30, 48)
    counts = resampling_counts(48, 25, 0, seed=0)
    whole = resampled_kendall(rain, soil, counts)
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 1)  # one cell at a time
    np.testing.assert_array_equal(resampled_kendall(rain, soil, counts), whole)
    np.testing.assert_array_equal(
        np.concatenate([resampled_kendall(rain[:7], soil[:7], counts),
                        resampled_kendall(rain[7:], soil[7:], counts)]), whole)


def test_resampled_optimal_lag_matches_scipy_on_resampled_origins():
    rng = np.random.default_rng(6)
    steps, max_lag = 60, 3
    rain = rng.normal(size=(4, steps))
    soil = np.roll(rain, 2, axis=1) + rng.normal(0, 1.0, (4, steps))
    counts = resampling_counts(steps, 5, 6, seed=2)
    lags = resampled_optimal_lags(rain, soil, max_lag, counts, min_observations=10)
    for cell in range(4):
        for r in range(5):
            origins = np.repeat(np.arange(steps), counts[r])
            taus = [stats.kendalltau(rain[cell, origins[origins < steps - k]],
                                     soil[cell, origins[origins < steps - k] + k]).statistic
                    for k in range(max_lag + 1)]
            assert lags[cell, r] == int(np.argmax(np.abs(taus)))


def correlated_world(rng, cells, steps, taus):
    """Pairs with a planted Gaussian dependence per cell, AR(1) in time, and spatially
    correlated through a series shared by all cells."""
    def field():
        shared = rng.normal(size=steps)
        values = 0.6 * shared + 0.8 * rng.normal(size=(cells, steps))
        for t in range(1, steps):
            values[:, t] += 0.4 * values[:, t - 1]
        return values
    rho = np.sin(np.pi * np.asarray(taus) / 2)[:, None]
    rain, noise = field(), field()
    return rain, rho * rain + np.sqrt(1 - rho ** 2) * noise


def test_interval_covers_the_planted_share_in_most_repetitions():
    # 25 % of cells clearly negative, 35 % clearly positive, 40 % independent (τ̂ < 0 half of
    # the time): the expected share of cells with τ̂ < 0 is 0.25 + 0.40/2 = 0.45. The shared
    # series makes the independent cells' signs move together, so the share varies far more
    # than for independent cells, and the bootstrap must keep that: with the same blocks for
    # every cell 58 of 60 intervals cover 0.45; with blocks drawn per cell only 43 of 60 did
    rng = np.random.default_rng(12)
    cells, steps, repetitions = 120, 96, 60
    taus = np.concatenate([np.full(30, -0.5), np.full(42, 0.5), np.zeros(48)])
    covered, widths = 0, []
    for repetition in range(repetitions):
        rain, soil = correlated_world(rng, cells, steps, taus)
        counts = resampling_counts(steps, 200, 0, seed=repetition)
        negative = resampled_kendall(rain, soil, counts, numerator_only=True).T < 0
        low, high = percentile_interval(replicate_shares(negative, np.ones(cells, bool)))
        covered += low <= 0.45 <= high
        widths.append(high - low)
    assert covered / repetitions >= 0.9
    assert np.median(widths) < 0.3


def test_percentile_interval_and_shares():
    flags = np.array([[True, False, False, True], [False, False, False, True]])
    np.testing.assert_allclose(replicate_shares(flags, np.array([1, 1, 0, 0], bool)), [0.5, 0.0])
    assert np.isnan(replicate_shares(flags, np.zeros(4, bool))).all()
    low, high = percentile_interval(np.arange(101) / 100)
    assert (low, high) == pytest.approx((0.025, 0.975))
    assert np.isnan(percentile_interval(np.array([]))).all()
