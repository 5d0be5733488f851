"""Significance and bootstrap outputs of the copula_dependence and lagged_dependence steps."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import rasterio
from scipy import stats

from soilp_qgis.errors import InputError
from soilp_qgis.protocol import SilentReporter
from soilp_qgis.significance import SIGNIFICANCE_NODATA, benjamini_hochberg
from soilp_qgis.steps.copula_dependence import copula_dependence
from soilp_qgis.steps.lagged_dependence import lagged_dependence
from soilp_qgis.timestack import Grid, write_stack

DATES = np.arange("2001-01", "2011-01", dtype="datetime64[M]").astype("datetime64[D]")
ROWS, COLS = 4, 6


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """24 cells: row 0 strongly negative, row 1 strongly positive, rows 2–3 independent; a
    shared series makes the cells' precipitation spatially correlated; corner cell empty."""
    folder = tmp_path_factory.mktemp("significance_step")
    rng = np.random.default_rng(9)
    n = len(DATES)
    shared = rng.normal(size=(n, 1, 1))
    rain = 0.6 * shared + 0.8 * rng.normal(size=(n, ROWS, COLS))
    noise = rng.normal(size=(n, ROWS, COLS))
    rho = np.array([-0.8, 0.8, 0.0, 0.0])[None, :, None]
    soil = rho * rain + np.sqrt(1 - rho ** 2) * noise
    rain = np.exp(rain)  # positive, skewed like precipitation
    rain[:, 3, 5] = np.nan
    soil[:, 3, 5] = np.nan
    grid = Grid.regular(10.0, 50.0, 1.0, COLS, ROWS)
    write_stack(folder / "p.tif", rain.astype(np.float32), grid, DATES, "monthly", "mm")
    write_stack(folder / "sm.tif", soil.astype(np.float32), grid, DATES, "monthly", "m3 m-3")
    return folder, rain, soil


def read(path, band=1):
    """A band and its nodata; float bands with NaN for nodata."""
    with rasterio.open(path) as src:
        values = src.read(band)
        if values.dtype.kind == "f":
            values = np.where(values == src.nodata, np.nan, values)
        return values, src.nodata


def copula_run(folder, tag, **params):
    outputs = {f"output_{name}": str(folder / f"{tag}_{name}.tif")
               for name in ("tau", "family", "parameters", "empirical_tau", "p_value",
                            "significance", "lr_p_value", "status")}
    return copula_dependence({"precipitation": str(folder / "p.tif"),
                              "soil_moisture": str(folder / "sm.tif"),
                              "family_set": "gaussian_t", "bootstrap_replicates": 200,
                              "output_table": str(folder / f"{tag}_table.csv"),
                              **outputs, **params}, SilentReporter())


def table(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_significance_map_flags_planted_cells(stacks):
    folder, rain, soil = stacks
    result = copula_run(folder, "one", processes=1)
    significance, nodata = read(result["OUTPUT_SIGNIFICANCE"])
    assert nodata == SIGNIFICANCE_NODATA and significance[3, 5] == SIGNIFICANCE_NODATA
    assert (significance[0] == -1).all() and (significance[1] == 1).all()
    independent = significance[2:].ravel()[:-1]
    assert (independent == 0).mean() >= 0.9
    # the p-values behind it are scipy's on each cell
    p_value, _ = read(result["OUTPUT_P_VALUE"])
    for row, col in ((0, 0), (2, 3)):
        expected = stats.kendalltau(rain[:, row, col].astype(np.float32),
                                    soil[:, row, col].astype(np.float32)).pvalue
        assert p_value[row, col] == pytest.approx(expected, rel=1e-5, abs=1e-30)


def test_table_has_fdr_share_and_interval(stacks):
    folder, _, _ = stacks
    copula_run(folder, "two", processes=1)
    row = table(folder / "two_table.csv")[-1]
    assert row["ecoregion"] == "all" and row["valid_cells"] == "23"
    tau, _ = read(folder / "two_tau.tif")
    significance, _ = read(folder / "two_significance.tif")
    valid = significance != SIGNIFICANCE_NODATA
    assert float(row["negative_share"]) == pytest.approx((tau[valid] < 0).mean(), rel=1e-5)
    assert float(row["negative_share_fdr"]) == pytest.approx(
        (significance[valid] == -1).mean(), rel=1e-5)
    low, high = float(row["negative_share_ci_low"]), float(row["negative_share_ci_high"])
    assert 6 / 23 <= low <= float(row["negative_share"]) <= high <= 17 / 23


def test_likelihood_ratio_p_value_against_scipy_densities(stacks):
    folder, _, _ = stacks
    result = copula_run(folder, "lr", processes=1, bootstrap_replicates=0)
    rain, _ = read(folder / "p.tif")
    family, _ = read(folder / "lr_family.tif")
    lr, _ = read(result["OUTPUT_LR_P_VALUE"])
    with rasterio.open(folder / "p.tif") as p, rasterio.open(folder / "sm.tif") as s, \
            rasterio.open(folder / "lr_parameters.tif") as q:
        x, y, par = p.read(), s.read(), q.read()
    checked = 0
    for row, col in ((0, 1), (1, 2), (2, 0), (2, 4)):
        u = stats.rankdata(x[:, row, col]) / (x.shape[0] + 1)
        v = stats.rankdata(y[:, row, col]) / (x.shape[0] + 1)
        if family[row, col] == 1:  # Gaussian copula: bivariate normal over its margins
            rho = par[0, row, col]
            z = np.column_stack([stats.norm.ppf(u), stats.norm.ppf(v)])
            loglik = (stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).logpdf(z)
                      - stats.norm.logpdf(z).sum(axis=1)).sum()
            df = 1
        elif family[row, col] == 2:  # Student t copula: bivariate t over t margins
            rho, nu = par[0, row, col], par[1, row, col]
            z = np.column_stack([stats.t.ppf(u, nu), stats.t.ppf(v, nu)])
            loglik = (stats.multivariate_t([0, 0], [[1, rho], [rho, 1]], df=nu).logpdf(z)
                      - stats.t.logpdf(z, nu).sum(axis=1)).sum()
            df = 2
        else:  # independence: p = 1
            assert lr[row, col] == 1.0
            continue
        checked += 1
        expected = stats.chi2.sf(2 * max(loglik, 0.0), df)
        assert lr[row, col] == pytest.approx(expected, rel=2e-3, abs=1e-12)
    assert checked >= 2


def test_results_do_not_depend_on_processes_or_blocks(stacks, monkeypatch):
    folder, _, _ = stacks
    copula_run(folder, "p1", processes=1, seed=3)
    # this small grid would run in one process: make it two workers, as a large grid would
    monkeypatch.setattr("soilp_qgis.steps.copula_dependence.WORK_PER_PROCESS", 1)
    copula_run(folder, "p2", processes=2, seed=3)
    assert table(folder / "p1_table.csv") == table(folder / "p2_table.csv")
    for name in ("significance", "lr_p_value"):
        np.testing.assert_array_equal(read(folder / f"p1_{name}.tif")[0],
                                      read(folder / f"p2_{name}.tif")[0])


def test_bad_settings_fail_before_work(stacks):
    folder, _, _ = stacks
    with pytest.raises(InputError, match="BLOCK_LENGTH"):
        copula_run(folder, "bad", block_length=500)
    with pytest.raises(InputError, match="ALPHA"):
        copula_run(folder, "bad", alpha=0.6)


def lag_run(folder, tag, **params):
    outputs = {f"output_{name}": str(folder / f"{tag}_{name}.tif")
               for name in ("optimal_lag", "tau_at_optimal_lag", "significance", "lag_stability",
                            "status")}
    return lagged_dependence({"precipitation": str(folder / "p.tif"),
                              "soil_moisture": str(folder / "sm.tif"), "max_lag": 3,
                              "bootstrap_replicates": 50, **outputs, **params},
                             SilentReporter())


def test_lag_significance_and_stability(stacks, monkeypatch):
    folder, rain, soil = stacks
    lag_run(folder, "lag1", processes=1)
    lag, _ = read(folder / "lag1_optimal_lag.tif")
    significance, nodata = read(folder / "lag1_significance.tif")
    stability, _ = read(folder / "lag1_lag_stability.tif")
    assert significance[3, 5] == nodata == SIGNIFICANCE_NODATA and np.isnan(stability[3, 5])
    # planted dependence at lag 0: found, significant, and the same lag in every replicate
    assert (lag[:2] == 0).all()
    assert (significance[0] == -1).all() and (significance[1] == 1).all()
    assert (stability[:2] == 1.0).all()
    # independent cells: the lag with the largest |τ| of 4 is a coin toss, rarely significant
    independent = significance[2:].ravel()[:-1]
    assert (independent == 0).mean() >= 0.9
    assert np.nanmean(stability[2:]) < 0.9
    # the map is BH (at 2α) over scipy's Kendall p-value at each cell's optimal lag, times the
    # 4 lags searched
    adjusted = np.full((ROWS, COLS), np.nan)
    tau = np.full((ROWS, COLS), np.nan)
    for row, col in zip(*np.nonzero(significance != nodata)):
        k = int(lag[row, col])
        result = stats.kendalltau(rain[:len(DATES) - k, row, col].astype(np.float32),
                                  soil[k:, row, col].astype(np.float32))
        adjusted[row, col] = min(1.0, 4 * result.pvalue)
        tau[row, col] = result.statistic
    rejected = benjamini_hochberg(adjusted.ravel(), 0.1).reshape(ROWS, COLS)
    expected = np.where(rejected, np.sign(tau), 0)
    np.testing.assert_array_equal(significance[significance != nodata],
                                  expected[significance != nodata])
    # this small grid would run in one process: make it two workers, as a large grid would
    monkeypatch.setattr("soilp_qgis.steps.lagged_dependence.LAG_CELLS_PER_PROCESS", 1)
    lag_run(folder, "lag2", processes=2)
    for name in ("significance", "lag_stability"):
        np.testing.assert_array_equal(read(folder / f"lag1_{name}.tif")[0],
                                      read(folder / f"lag2_{name}.tif")[0])
