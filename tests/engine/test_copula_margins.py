"""Pseudo-observations and their tie policy, parametric margins, seasonal anomalies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.copula.margins import (calendar_months, deseasonalize, fit_margin,
                                       parametric_uniforms, pseudo_observations)


def brute_force_pobs(values):
    """rank/(n+1) by counting: rank = #smaller + (#equal + 1)/2 (average rank of ties)."""
    x = np.asarray(values, dtype=float)
    finite = x[np.isfinite(x)]
    out = np.full(x.shape, np.nan)
    for i, v in enumerate(x):
        if np.isfinite(v):
            out[i] = ((finite < v).sum() + ((finite == v).sum() + 1) / 2) / (finite.size + 1)
    return out


def test_pseudo_observations_average_ties_like_r_pobs():
    rng = np.random.default_rng(5)
    block = np.round(rng.gamma(0.6, 20.0, size=(6, 40)), 0)  # many zeros and repeated values
    block[1, ::3] = np.nan
    block[2, :] = np.nan
    block[3, :] = 7.0
    u = pseudo_observations(block)
    for row in range(block.shape[0]):
        np.testing.assert_allclose(u[row], brute_force_pobs(block[row]), rtol=0, atol=1e-15)
    assert np.isnan(u[2]).all()
    assert np.allclose(u[3], 0.5)  # one tie group: mid-rank (n+1)/2 over n+1
    np.testing.assert_allclose(pseudo_observations(block[0]), u[0])


def test_dry_months_share_the_mid_rank():
    # a desert series: k dry months and a few wet ones, k = 30 of n = 36
    wet = np.array([3.0, 12.0, 0.4, 7.5, 1.0, 25.0])
    series = np.concatenate([np.zeros(30), wet])
    n, k = series.size, 30
    u = pseudo_observations(series)
    assert np.all(u[:k] == pytest.approx((k + 1) / (2 * (n + 1))))
    expected_wet = (k + stats.rankdata(wet)) / (n + 1)
    np.testing.assert_allclose(u[k:], expected_wet)
    # the order of the dry months does not matter (no random tie-breaking)
    perm = np.random.default_rng(1).permutation(n)
    np.testing.assert_allclose(pseudo_observations(series[perm]), u[perm])


@pytest.mark.parametrize("name,sample", [
    ("gamma", lambda rng: rng.gamma(2.0, 3.0, 3000)),
    ("lognormal", lambda rng: rng.lognormal(1.0, 0.5, 3000)),
    ("weibull", lambda rng: 4.0 * rng.weibull(1.5, 3000)),
    ("gev", lambda rng: stats.genextreme.rvs(-0.3, loc=5, scale=2, size=3000, random_state=rng)),
])
def test_parametric_margin_recovers_the_planted_distribution(name, sample):
    rng = np.random.default_rng(42)
    x = sample(rng)
    fit = fit_margin(x)
    assert fit.distribution == name
    u = fit.cdf(x)
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_point_mass_at_zero_for_dry_steps():
    rng = np.random.default_rng(8)
    n = 2000
    x = rng.gamma(1.5, 10.0, n)
    dry = rng.uniform(size=n) < 0.4
    x[dry] = 0.0
    p0 = dry.mean()
    fit = fit_margin(x, point_mass_at_zero=True)
    assert fit.zero_share == pytest.approx(p0)
    assert fit.distribution == "gamma"
    assert fit.parameters[0] == pytest.approx(1.5, rel=0.1)
    u = parametric_uniforms(x, point_mass_at_zero=True)
    assert np.all(u[dry] == pytest.approx(p0 / 2))  # mid-point of the point mass
    wet_u = u[~dry]
    assert wet_u.min() > p0
    # the wet steps fill (p0, 1) uniformly
    assert stats.kstest((wet_u - p0) / (1 - p0), "uniform").pvalue > 0.01
    # ties land where the average rank puts them (pobs: (k + 1)/(2(n + 1)))
    assert abs(p0 / 2 - pseudo_observations(x)[dry][0]) <= 1 / (n + 1)


def test_truncated_normal_when_the_wet_part_is_symmetric():
    rng = np.random.default_rng(3)
    wet = rng.normal(2.0, 1.0, 4000)
    wet = wet[wet > 0][:2000]
    x = np.concatenate([np.zeros(500), wet])
    fit = fit_margin(x, point_mass_at_zero=True)
    assert fit.distribution in ("normal", "gev") and fit.truncated_at_zero
    u = fit.cdf(wet)
    # the truncated wet part is uniform on (p0, 1) again: truth is N(2, 1) truncated at 0
    truth = (stats.norm.cdf(wet, 2, 1) - stats.norm.cdf(0, 2, 1)) / stats.norm.sf(0, 2, 1)
    np.testing.assert_allclose((u - 0.2) / 0.8, truth, atol=0.03)


def test_margin_fit_refuses_series_without_spread():
    with pytest.raises(ValueError):
        fit_margin(np.array([0, 0, 0, 5.0, 5.0, 5.0]), point_mass_at_zero=True)
    with pytest.raises(ValueError):
        fit_margin(np.array([1.0, 2.0]))


def test_deseasonalize_gives_standardised_anomalies_per_month():
    years, cells = 3, 2
    months = np.tile(np.arange(1, 13), years)
    level = np.arange(12) * 10.0
    spread = np.arange(1, 13) * 0.5
    offsets = np.repeat([-1.0, 0.0, 1.0], 12)  # each month: level − d, level, level + d
    block = np.vstack([np.tile(level, years) + offsets * np.tile(spread, years)] * cells)
    block[1] *= 3.0
    block[1, 5] = np.nan  # June of year 1 missing in cell 1
    block[:, 11::12] = 4.0  # December constant (e.g. always dry)
    anomalies = deseasonalize(block, months)
    # sd over {l − d, l, l + d} (ddof 1) is d: anomalies are exactly −1, 0, 1
    expected = np.vstack([offsets] * cells)
    expected[:, 11::12] = 0.0
    keep = np.isfinite(block)
    keep[1, 5::12] = False  # June of cell 1: checked below
    np.testing.assert_allclose(anomalies[keep], expected[keep], atol=1e-12)
    assert np.isnan(anomalies[1, 5])
    # June of cell 1 has two values left: ±1/√2 after standardising
    june = anomalies[1, [17, 29]]
    np.testing.assert_allclose(june, [-1 / np.sqrt(2), 1 / np.sqrt(2)], atol=1e-12)
    dates = np.arange("2000-01", "2003-01", dtype="datetime64[M]").astype("datetime64[D]")
    np.testing.assert_array_equal(calendar_months(dates), months)
    np.testing.assert_allclose(deseasonalize(block, dates), anomalies)
    with pytest.raises(ValueError):
        deseasonalize(block, months[:-1])


def test_average_ranks_are_scipys_rankdata_with_nan_omitted():
    """The pseudo-observations' ranks (numpy, so that scipy.stats is not imported for them)
    against scipy.stats.rankdata(method="average", nan_policy="omit"): ties, NaN, ±inf."""
    from soilp_qgis.copula.margins import average_ranks

    rng = np.random.default_rng(17)
    for trial in range(50):
        x = rng.integers(0, 6, size=(7, 40)).astype(float)   # many ties
        x[rng.random(x.shape) < 0.15] = np.nan
        x[0, :3] = [np.inf, -np.inf, np.inf]
        if trial % 5 == 0:
            x[1] = np.nan                                      # a series with no values
        expected = stats.rankdata(x, axis=1, method="average", nan_policy="omit")
        np.testing.assert_array_equal(average_ranks(x), expected)
    np.testing.assert_array_equal(average_ranks(np.array([3.0, 1.0, 3.0])), [2.5, 1.0, 2.5])
