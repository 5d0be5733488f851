"""Per-cell tests and FDR control (soilp_qgis.significance), against independent expectations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.errors import InputError
from soilp_qgis.kendall import kendall_tau_b
from soilp_qgis.significance import (
    SIGNIFICANCE_NODATA,
    benjamini_hochberg,
    copula_loglik,
    fdr_level,
    likelihood_ratio_p_value,
    parameter_count,
    significance_map,
)


def test_kendall_p_values_are_scipys_on_single_cells_with_dry_month_ties():
    rng = np.random.default_rng(11)
    for n in (20, 60, 240):
        rain = rng.gamma(0.6, 40.0, size=n)
        rain[rng.random(n) < 0.35] = 0.0  # dry months: many ties at zero
        soil = np.round(0.2 + 0.001 * rain + rng.normal(0, 0.05, n), 2)  # rounded: more ties
        result = kendall_tau_b(rain, soil)
        expected = stats.kendalltau(rain, soil)
        assert result.tau_b[0] == pytest.approx(expected.statistic, abs=1e-12)
        assert result.p_value[0] == pytest.approx(expected.pvalue, rel=1e-9)


def gaussian_copula_loglik(rho, u1, u2):
    """Closed form: Σ −½log(1−ρ²) − (ρ²(z1² + z2²) − 2ρ z1 z2) / (2(1−ρ²))."""
    z1, z2 = stats.norm.ppf(u1), stats.norm.ppf(u2)
    return float(np.sum(-0.5 * np.log1p(-rho ** 2)
                        - (rho ** 2 * (z1 ** 2 + z2 ** 2) - 2 * rho * z1 * z2)
                        / (2 * (1 - rho ** 2))))


def test_likelihood_ratio_of_a_gaussian_copula_is_chi2_with_one_degree_of_freedom():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 80))
    y = -0.3 * x + rng.normal(size=(1, 80))
    rho = -0.28
    loglik = copula_loglik(np.array([1]), np.array([rho]), np.array([0.0]), x, y)
    ranks = lambda v: stats.rankdata(v) / (v.size + 1)  # noqa: E731
    closed_form = gaussian_copula_loglik(rho, ranks(x[0]), ranks(y[0]))
    assert loglik[0] == pytest.approx(closed_form, rel=1e-9)
    p = likelihood_ratio_p_value(loglik, parameter_count(np.array([1])))
    assert p[0] == pytest.approx(stats.chi2.sf(2 * closed_form, 1), rel=1e-9)


def test_likelihood_ratio_degrees_of_freedom_follow_the_family():
    # two parameters: χ²(2) survival is exp(−x/2), so p = exp(−loglik)
    loglik = np.array([3.0, 3.0, 0.0, -0.5, np.nan])
    family = np.array([2, 3, 0, 1, -1])  # t (2 parameters), Clayton (1), independence, Gaussian
    assert parameter_count(family).tolist() == [2, 1, 0, 1, 0]
    p = likelihood_ratio_p_value(loglik, parameter_count(family))
    assert p[0] == pytest.approx(np.exp(-3.0), rel=1e-12)
    assert p[1] == pytest.approx(stats.chi2.sf(6.0, 1), rel=1e-12)
    assert p[2] == 1.0 and p[3] == 1.0 and np.isnan(p[4])


def test_benjamini_hochberg_by_hand():
    # m = 5, level 0.1: thresholds 0.02, 0.04, 0.06, 0.08, 0.10; the largest k with
    # p(k) ≤ k·0.1/5 is k = 3 (0.05 ≤ 0.06), so the three smallest are rejected
    p = np.array([0.05, 0.5, 0.001, 0.03, np.nan, 0.09])
    assert benjamini_hochberg(p, 0.1).tolist() == [True, False, True, True, False, False]
    assert not benjamini_hochberg(np.array([0.5, 0.9]), 0.1).any()
    assert not benjamini_hochberg(np.array([np.nan]), 0.1).any()


def test_benjamini_hochberg_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(5)
    for _ in range(20):
        m = int(rng.integers(5, 3000))
        p = np.concatenate([rng.random(m), rng.random(m // 5) * 1e-3])
        level = float(rng.choice([0.01, 0.05, 0.1, 0.2]))
        expected = multitest.multipletests(p, alpha=level, method="fdr_bh")[0]
        np.testing.assert_array_equal(benjamini_hochberg(p, level), expected)


def test_wilks_level_is_twice_alpha_and_alpha_is_checked():
    assert fdr_level(0.05) == pytest.approx(0.1)
    for bad in (0.0, 0.5, -0.1, 1.0):
        with pytest.raises(InputError, match="ALPHA"):
            fdr_level(bad)


def test_significance_map_signs_rejections_and_marks_uncomputed_cells():
    p = np.array([1e-6, 1e-6, 0.6, np.nan, 1e-6])
    tau = np.array([-0.4, 0.5, -0.01, np.nan, 0.3])
    computed = np.array([True, True, True, False, False])
    out = significance_map(p, tau, 0.05, computed)
    assert out.dtype == np.int8
    assert out.tolist() == [-1, 1, 0, SIGNIFICANCE_NODATA, SIGNIFICANCE_NODATA]


def null_grid(rng, cells, steps, spatial=0.7):
    """Precipitation and soil moisture unrelated to each other, each correlated across cells by
    a shared series (spatial correlation) and AR(1) in time."""
    def field():
        shared = rng.normal(size=steps)
        own = rng.normal(size=(cells, steps))
        values = spatial * shared + np.sqrt(1 - spatial ** 2) * own
        for t in range(1, steps):
            values[:, t] += 0.3 * values[:, t - 1]
        return values
    return field(), field()


def test_independent_cells_are_rarely_flagged_negative():
    rng = np.random.default_rng(21)
    alpha, shares = 0.05, []
    for _ in range(40):
        rain, soil = null_grid(rng, 300, 60, spatial=0.0)
        result = kendall_tau_b(rain, soil)
        shares.append((significance_map(result.p_value, result.tau_b, alpha) == -1).mean())
    assert np.mean(shares) <= alpha
    assert max(shares) <= alpha  # BH under the global null rejects a few cells at most


def test_false_discoveries_among_planted_negative_cells_stay_below_the_fdr_level():
    rng = np.random.default_rng(8)
    alpha, proportions, null_shares = 0.05, [], []
    for _ in range(40):
        rain, soil = null_grid(rng, 400, 60, spatial=0.0)
        dependent = np.arange(400) < 80  # 20 % truly negative
        soil[dependent] = -0.8 * rain[dependent] + 0.6 * soil[dependent]
        result = kendall_tau_b(rain, soil)
        flagged = significance_map(result.p_value, result.tau_b, alpha) == -1
        proportions.append((flagged & ~dependent).sum() / max(flagged.sum(), 1))
        null_shares.append(flagged[~dependent].mean())
    # BH at 2α controls the FDR at 2α·m0/m = 0.08 for independent tests
    assert np.mean(proportions) <= fdr_level(alpha) * 0.8 + 0.01
    assert np.mean(null_shares) <= alpha
