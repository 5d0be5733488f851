"""The copula_dependence step: wiring of seasons, anomalies, outputs and the table."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import rasterio

from soilp_qgis.copula.fit import PyvinecopulibFitter
from soilp_qgis.protocol import SilentReporter
from soilp_qgis.steps.copula_dependence import copula_dependence
from soilp_qgis.timestack import Grid, write_stack

DATES = np.arange("2001-01", "2021-01", dtype="datetime64[M]").astype("datetime64[D]")


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """A strong seasonal cycle in both variables plus anomalies that are negatively related."""
    folder = tmp_path_factory.mktemp("copula_step")
    rng = np.random.default_rng(4)
    n = len(DATES)
    month = np.arange(n) % 12
    cycle = np.sin(2 * np.pi * month / 12)
    anomaly = rng.normal(size=(n, 2, 2))
    precipitation = 50 + 40 * cycle[:, None, None] + 10 * anomaly
    soil_moisture = (0.25 + 0.08 * cycle[:, None, None] - 0.02 * anomaly
                     + 0.01 * rng.normal(size=(n, 2, 2)))
    grid = Grid.regular(10.0, 50.0, 1.0, 2, 2)
    write_stack(folder / "p.tif", precipitation, grid, DATES, "monthly", "mm")
    write_stack(folder / "sm.tif", soil_moisture, grid, DATES, "monthly", "m3 m-3")
    return folder, precipitation, soil_moisture


def run(folder, **params):
    outputs = {f"output_{name}": str(folder / f"{name}_{params.get('season', 'all')}"
                                     f"_{params.get('deseasonalize', False)}.tif")
               for name in ("tau", "status", "family")}
    return copula_dependence({"precipitation": str(folder / "p.tif"),
                              "soil_moisture": str(folder / "sm.tif"), "processes": 1,
                              **outputs, **params}, SilentReporter())


def read(path):
    with rasterio.open(path) as src:
        return src.read(1, masked=True).astype(np.float64).filled(np.nan)


def test_raw_values_share_the_seasonal_cycle_anomalies_do_not(stacks):
    folder, precipitation, soil_moisture = stacks
    raw = read(run(folder)["OUTPUT_TAU"])
    anomalies = read(run(folder, deseasonalize=True)["OUTPUT_TAU"])
    assert (raw > 0.3).all()           # the shared cycle dominates the raw monthly values
    assert (anomalies < -0.3).all()    # the planted negative month-to-month relation

    # independent anomalies: numpy per calendar month, then the same fitter
    def by_hand(values):
        cells = values.reshape(len(values), -1).T.astype(np.float64)
        out = np.empty_like(cells)
        for m in range(12):
            steps = np.arange(cells.shape[1]) % 12 == m
            out[:, steps] = ((cells[:, steps] - cells[:, steps].mean(axis=1, keepdims=True))
                             / cells[:, steps].std(axis=1, ddof=1, keepdims=True))
        return out
    expected = PyvinecopulibFitter().fit_block(by_hand(precipitation.astype(np.float32)),
                                               by_hand(soil_moisture.astype(np.float32)))
    np.testing.assert_allclose(anomalies.ravel(), expected.kendall_tau, rtol=1e-5)


def test_season_uses_only_that_seasons_months(stacks):
    folder, precipitation, soil_moisture = stacks
    summer = run(folder, season="JJA")
    months = DATES.astype("datetime64[M]").astype(int) % 12 + 1
    keep = np.isin(months, [6, 7, 8])
    expected = PyvinecopulibFitter().fit_block(
        precipitation[keep].astype(np.float32).reshape(keep.sum(), -1).T,
        soil_moisture[keep].astype(np.float32).reshape(keep.sum(), -1).T)
    np.testing.assert_allclose(read(summer["OUTPUT_TAU"]).ravel(), expected.kendall_tau,
                               rtol=1e-5)
    np.testing.assert_array_equal(read(summer["OUTPUT_FAMILY"]).ravel(), expected.family)


def test_table_counts_negative_cells(stacks, tmp_path):
    folder, _, _ = stacks
    result = run(folder, deseasonalize=True, output_table=str(tmp_path / "t.csv"))
    with open(result["OUTPUT_TABLE"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [dict(rows[0], ecoregion="all", valid_cells="4", negative_share="1")]
