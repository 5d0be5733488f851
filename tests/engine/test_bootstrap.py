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
    share_interval,
)
from soilp_qgis.errors import InputError
from soilp_qgis.kendall import kendall_tau_b


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


def test_resampled_counts_are_the_brute_force_ones_at_a_lag():
    # S, drawn pairs and tied pairs of (x_t, y_{t+lag}) over the drawn origins t < n − lag,
    # counted by hand on the resampled series themselves (repeated draws are tied in both)
    rng = np.random.default_rng(8)
    rain, soil = dry_series(rng, 5, 30)
    lag = 3
    counts = resampling_counts(30, 6, 4, seed=4)
    sums = bootstrap._resampled_counts(bootstrap.series_ranks(rain),
                                       bootstrap.series_ranks(soil), counts, lag)
    assert sums.shape == (4, 5, 6)
    for cell in range(5):
        for r in range(6):
            origins = np.repeat(np.arange(30 - lag), counts[r, :30 - lag])
            x, y = rain[cell, origins], soil[cell, origins + lag]
            keep = np.isfinite(x) & np.isfinite(y)
            x, y = x[keep], y[keep]
            i, j = np.triu_indices(x.size, 1)
            s = np.sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]))
            ties = [sum(m * (m - 1) // 2 for m in np.unique(v, return_counts=True)[1])
                    for v in (x, y)]
            assert list(sums[:, cell, r]) == [s, x.size, *ties]


def test_tie_pairs_count_the_tied_draws_exactly():
    # Σ_g m_g(m_g − 1)/2 over the groups of equal valid values, m_g the draws of the group's
    # steps, counted by hand; with the numerator (exact above) and the pair count the τ-b of a
    # replicate is then fixed to the last bit whatever the order of the sums
    rng = np.random.default_rng(9)
    rain, _ = dry_series(rng, 6, 36)
    counts = resampling_counts(36, 7, 4, seed=5)
    valid = np.isfinite(rain)
    ranked = bootstrap.series_ranks(rain)
    ties = bootstrap._resampled_counts(ranked, ranked, counts)[2]
    for cell in range(6):
        for r in range(7):
            draws = {}
            for t in np.flatnonzero(valid[cell]):
                draws[rain[cell, t]] = draws.get(rain[cell, t], 0) + counts[r, t]
            assert ties[cell, r] == sum(m * (m - 1) // 2 for m in draws.values())


def test_result_does_not_depend_on_the_cells_computed_together():
    rng = np.random.default_rng(4)
    rain, soil = dry_series(rng, 30, 48)
    counts = resampling_counts(48, 25, 0, seed=0)
    whole = resampled_kendall(rain, soil, counts)
    np.testing.assert_array_equal(
        np.concatenate([resampled_kendall(rain[i:i + 1], soil[i:i + 1], counts)
                        for i in range(30)]), whole)
    np.testing.assert_array_equal(
        np.concatenate([resampled_kendall(rain[:7], soil[:7], counts),
                        resampled_kendall(rain[7:], soil[7:], counts)]), whole)
    lags = resampled_optimal_lags(rain, soil, 4, counts, min_observations=10)
    np.testing.assert_array_equal(
        np.concatenate([resampled_optimal_lags(rain[:11], soil[:11], 4, counts, 10),
                        resampled_optimal_lags(rain[11:], soil[11:], 4, counts, 10)]), lags)


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


def correlated_world(rng, cells, steps, taus, shared=0.6):
    """Pairs with a planted Gaussian dependence per cell, AR(1) in time, and spatially
    correlated through a series shared by all cells (weight ``shared``; with 0 the cells are
    independent draws of the same marginal law: the shared and own noise add to unit variance)."""
    def field():
        common = rng.normal(size=steps)
        values = shared * common + np.sqrt(1 - shared ** 2) * rng.normal(size=(cells, steps))
        for t in range(1, steps):
            values[:, t] += 0.4 * values[:, t - 1]
        return values
    rho = np.sin(np.pi * np.asarray(taus) / 2)[:, None]
    rain, noise = field(), field()
    return rain, rho * rain + np.sqrt(1 - rho ** 2) * noise


def planted_share(taus, steps, draws=4000, seed=99):
    """E[share of cells with τ̂ < 0] of :func:`correlated_world`, by Monte Carlo of the
    generator: a cell's τ̂ has the same law wherever it is, so per distinct τ, ``draws``
    independent cells (shared = 0) give P(τ̂ < 0); the share's expectation is their mean."""
    rng = np.random.default_rng(seed)
    levels, which = np.unique(taus, return_inverse=True)
    negative = [np.mean(kendall_tau_b(*correlated_world(rng, draws, steps,
                                                         np.full(draws, tau), shared=0.0))[0] < 0)
                for tau in levels]
    return float(np.mean(np.asarray(negative)[which]))


def interval_record(rng, taus, steps, repetitions, replicates=200):
    """Per repetition of a fresh :func:`correlated_world`: the share of cells with τ̂ < 0 and
    its bootstrap replicates (the same blocks for every cell)."""
    shares, replicate_rows = [], []
    everywhere = np.ones(len(taus), bool)
    for repetition in range(repetitions):
        rain, soil = correlated_world(rng, len(taus), steps, taus)
        shares.append(float(np.mean(kendall_tau_b(rain, soil)[0] < 0)))
        counts = resampling_counts(steps, replicates, 0, seed=repetition)
        negative = resampled_kendall(rain, soil, counts, numerator_only=True).T < 0
        replicate_rows.append(replicate_shares(negative, everywhere))
    return np.array(shares), replicate_rows


def test_monte_carlo_share_is_the_closed_form_one():
    # clearly dependent cells are always on their side; an independent cell is negative half of
    # the time (τ̂ = 0 exactly has probability below 0.5 % at 96 steps)
    taus = np.concatenate([np.full(30, -0.5), np.full(42, 0.5), np.zeros(48)])
    assert planted_share(taus, 96) == pytest.approx(0.45, abs=0.01)


def test_interval_covers_the_planted_share_in_most_repetitions():
    # 25 % of cells clearly negative, 35 % clearly positive, 40 % independent: the expected
    # share of cells with τ̂ < 0 is 0.45. The shared series makes the independent cells' signs
    # move together, so the share varies far more than for independent cells, and the bootstrap
    # must keep that: with the same blocks for every cell 56 of 60 intervals cover it (as many
    # as the percentile intervals; with blocks drawn per cell only 43 of 60 of those did)
    rng = np.random.default_rng(12)
    taus = np.concatenate([np.full(30, -0.5), np.full(42, 0.5), np.zeros(48)])
    truth = planted_share(taus, 96)
    shares, replicates = interval_record(rng, taus, 96, 60)
    intervals = np.array([share_interval(r, s) for r, s in zip(replicates, shares)])
    covered = (intervals[:, 0] <= truth) & (truth <= intervals[:, 1])
    assert covered.mean() >= 0.9
    assert np.median(intervals[:, 1] - intervals[:, 0]) < 0.3


#: many weak cells, both signs: τ of ±0.03 … 0.12, two thirds positive
WEAK_TAUS = np.concatenate([np.repeat([0.03, 0.06, 0.09, 0.12], 10),
                            -np.repeat([0.03, 0.06, 0.09, 0.12], 5)])


def test_interval_covers_the_planted_share_of_many_weak_cells():
    # resampling pulls the weak cells' signs towards a coin toss, so the replicates' share lies
    # above the sample's; the interval still covers the expected share (57 of 60)
    rng = np.random.default_rng(5)
    truth = planted_share(WEAK_TAUS, 60)
    shares, replicates = interval_record(rng, WEAK_TAUS, 60, 60)
    intervals = np.array([share_interval(r, s) for r, s in zip(replicates, shares)])
    covered = (intervals[:, 0] <= truth) & (truth <= intervals[:, 1])
    assert covered.mean() >= 0.9
    assert np.mean([np.median(r) for r in replicates] - shares) > 0.01  # the pull is there


def test_interval_contains_the_share_where_the_percentile_interval_does_not():
    # like the demo's annual maps: 20 years, 600 cells mostly clearly positive, a weak positive
    # tail whose signs resampling flips: the replicates' share lies above the sample's, and the
    # plain percentile interval misses the share itself in 7 of 60 repetitions (and covers the
    # expected share in 44); this interval contains it always and covers in 59
    rng = np.random.default_rng(3)
    taus = np.concatenate([np.repeat([0.4, 0.6, 0.8], 180), np.repeat([0.1, 0.2, 0.3], 20)])
    truth = planted_share(taus, 20)
    shares, replicates = interval_record(rng, taus, 20, 60)
    intervals = np.array([share_interval(r, s) for r, s in zip(replicates, shares)])
    percentile = np.array([percentile_interval(r) for r in replicates])
    assert ((intervals[:, 0] <= shares) & (shares <= intervals[:, 1])).all()
    assert ((percentile[:, 0] > shares) | (shares > percentile[:, 1])).sum() >= 5
    covered = (intervals[:, 0] <= truth) & (truth <= intervals[:, 1])
    assert covered.mean() >= 0.9


def test_percentile_interval_and_shares():
    flags = np.array([[True, False, False, True], [False, False, False, True]])
    np.testing.assert_allclose(replicate_shares(flags, np.array([1, 1, 0, 0], bool)), [0.5, 0.0])
    assert np.isnan(replicate_shares(flags, np.zeros(4, bool))).all()
    low, high = percentile_interval(np.arange(101) / 100)
    assert (low, high) == pytest.approx((0.025, 0.975))
    assert np.isnan(percentile_interval(np.array([]))).all()


def test_share_interval_on_hand_made_replicates():
    # replicates 0.20, 0.201, …, 0.30: 2.5 % and 97.5 % quantiles 0.2025 and 0.2975, median 0.25
    shares = 0.2 + np.arange(101) / 1000
    # share below the median by 0.03: the lower end moves down by 0.03, the upper stays
    assert share_interval(shares, 0.22) == pytest.approx((0.1725, 0.2975))
    # above it by 0.01: the upper end moves up by 0.01
    assert share_interval(shares, 0.26) == pytest.approx((0.2025, 0.3075))
    assert share_interval(shares, 0.25) == pytest.approx((0.2025, 0.2975))  # on the median
    # clipped to [0, 1]; NaN replicates are left out
    assert share_interval(np.arange(101) / 100, 0.3) == pytest.approx((0.0, 0.975))
    assert share_interval(1 - np.arange(101) / 100, 0.7) == pytest.approx((0.025, 1.0))
    assert share_interval(np.append(shares, np.nan), 0.22) == pytest.approx((0.1725, 0.2975))
    assert np.isnan(share_interval(np.array([np.nan, np.nan]), 0.2)).all()
    assert np.isnan(share_interval(shares, float("nan"))).all()
