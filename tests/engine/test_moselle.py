"""A real pair end to end: the mHM Moselle test domain (../shared/data/real/mhm_moselle).

E-OBS daily precipitation, ESA CCI monthly soil moisture and mHM monthly evapotranspiration on
one 9 × 6 grid of 24 km cells in EPSG:3035 that no file declares. The files are imported through
the engine step (CRS given; the grid of ``header.txt`` for the files whose coordinates are corners
or absent), precipitation is aggregated to monthly volume and frequency, and the copula, lag and
ridge steps run on the 48 common months 1990–1993. Every number checked is recomputed here
independently from the raw files (netCDF4 + numpy + scipy.stats.kendalltau + sklearn Ridge), by
array index: the README says the files share the array index with row 0 north.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio
from affine import Affine
from scipy.stats import kendalltau
from sklearn.linear_model import Ridge

from soilp_qgis.cli import load_step
from soilp_qgis.errors import InputError
from soilp_qgis.protocol import Reporter
from soilp_qgis.timestack import read_stack_info

MOSELLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "mhm_moselle"
pytestmark = pytest.mark.skipif(not MOSELLE.is_dir(), reason=f"{MOSELLE} is absent")

#: named cells (row, col): the most complete soil-moisture cell, a southern and an eastern one
CELLS = [(1, 2), (4, 2), (3, 5), (7, 4)]


def step(name: str, **params) -> dict:
    return load_step(name)({k.lower(): v for k, v in params.items()}, Reporter())


def raw(name: str) -> np.ndarray:
    with netCDF4.Dataset(MOSELLE / f"{name}.nc") as ds:
        return np.ma.filled(ds[name][:].astype(np.float64), np.nan)


def band_values(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(masked=True).astype(np.float64).filled(np.nan)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moselle")
    header = dict(line.split() for line in (MOSELLE / "header.txt").read_text().splitlines()
                  if line.strip())
    cell = float(header["cellsize"])
    rows, cols = int(header["nrows"]), int(header["ncols"])
    north = float(header["yllcorner"]) + rows * cell
    transform = Affine(cell, 0.0, float(header["xllcorner"]), 0.0, -cell, north)
    grid_tif = folder / "grid.tif"
    with rasterio.open(grid_tif, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="uint8", crs="EPSG:3035", transform=transform) as dst:
        dst.write(np.ones((1, rows, cols), dtype=np.uint8))

    paths = {name: str(folder / f"{name}.tif") for name in ("et", "sm", "pre", "tavg")}
    # et.nc's x/y are cell centres: the CRS is all it needs.
    step("import_stack", input=str(MOSELLE / "et.nc"), crs="EPSG:3035", output=paths["et"])
    # pre/tavg's xc/yc are the cells' north-west corners, sm.nc has no coordinates: the grid.
    step("import_stack", input=str(MOSELLE / "sm.nc"), grid=str(grid_tif), output=paths["sm"])
    step("import_stack", input=str(MOSELLE / "pre.nc"), grid=str(grid_tif), start="1990-01-01",
         output=paths["pre"])
    step("import_stack", input=str(MOSELLE / "tavg.nc"), crs="EPSG:3035", grid=str(grid_tif),
         start="1990-01-01", end="1990-12-31", output=paths["tavg"])
    for statistic, key in (("sum", "volume"), ("wet_day_count", "frequency")):
        paths[key] = str(folder / f"{key}.tif")
        step("aggregate_time", input=paths["pre"], scale="monthly", statistic=statistic,
             output=paths[key], processes=1)
    out = {name: str(folder / f"{name}.tif") for name in
           ("tau", "empirical_tau", "status", "lag_tau", "lag_status", "coefficients")}
    step("copula_dependence", precipitation=paths["volume"], soil_moisture=paths["sm"],
         output_tau=out["tau"], output_empirical_tau=out["empirical_tau"],
         output_status=out["status"], processes=1)
    step("lagged_dependence", precipitation=paths["volume"], soil_moisture=paths["sm"],
         max_lag=3, output_tau_by_lag=out["lag_tau"], output_status=out["lag_status"],
         processes=1)
    step("ridge_control", soil_moisture=paths["sm"], precip_frequency=paths["frequency"],
         precip_volume=paths["volume"], evapotranspiration=paths["et"], alpha=1.0,
         output_coefficients=out["coefficients"], processes=1)
    return grid_tif, paths, out, transform


def monthly_from_raw():
    """Monthly precipitation volume and wet-day count 1990–1993 straight from pre.nc."""
    with netCDF4.Dataset(MOSELLE / "pre.nc") as ds:
        t = ds["time"]
        stamps = netCDF4.num2date(t[:], t.units, t.calendar)
    months = np.array([s.year * 12 + s.month - 1 for s in stamps])
    daily = raw("pre")
    wanted = np.arange(1990 * 12, 1994 * 12)
    volume = np.stack([daily[months == m].sum(axis=0) for m in wanted])
    frequency = np.stack([(daily[months == m] >= 1.0).sum(axis=0) for m in wanted])
    # Stacks hold float32: two months of 17.4 mm are a tie there (the float64 sums differ only by
    # summation noise of 0.1 mm data), so the independent series get the same precision.
    return volume.astype(np.float32).astype(np.float64), frequency.astype(np.float64)


def test_imports_land_on_the_header_grid_with_their_dates(run):
    grid_tif, paths, _, transform = run
    et = read_stack_info(paths["et"])
    assert et.grid.transform == transform and et.grid.crs.to_epsg() == 3035
    assert et.units == "mm month-1" and et.count == 48 and str(et.dates[0]) == "1990-01-01"
    sm = read_stack_info(paths["sm"])
    assert sm.grid == et.grid and sm.units == "m3 m-3"
    assert str(sm.dates[0]) == "1990-01-01" and str(sm.dates[-1]) == "1993-12-01"
    pre = read_stack_info(paths["pre"])
    assert pre.grid == et.grid and pre.time_scale == "daily" and pre.count == 1461
    np.testing.assert_array_equal(band_values(paths["sm"]), raw("sm"))
    np.testing.assert_array_equal(band_values(paths["pre"]), raw("pre")[365:])
    np.testing.assert_array_equal(band_values(paths["tavg"]), raw("tavg")[365:730])
    # Without the CRS, the metre coordinates are refused in one line naming the CRS parameter.
    with pytest.raises(InputError, match="declares no CRS.*CRS parameter"):
        step("import_stack", input=str(MOSELLE / "pre.nc"), output=str(grid_tif) + ".x.tif")


def test_monthly_volume_and_frequency_equal_the_raw_sums(run):
    _, paths, _, _ = run
    volume, frequency = monthly_from_raw()
    np.testing.assert_allclose(band_values(paths["volume"]), volume, rtol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(band_values(paths["frequency"]), frequency)


def test_sample_kendall_tau_and_lags_against_scipy(run):
    _, _, out, _ = run
    volume, _ = monthly_from_raw()
    sm = raw("sm")
    empirical = band_values(out["empirical_tau"])[0]
    lag_tau = band_values(out["lag_tau"])
    status = band_values(out["status"])[0]
    assert int((status == 0).sum()) == 34  # every basin cell has 21–43 valid months
    for row, col in CELLS:
        ok = np.isfinite(sm[:, row, col])
        expected = kendalltau(volume[ok, row, col], sm[ok, row, col]).statistic
        assert empirical[row, col] == pytest.approx(expected, abs=1e-5), (row, col)
        for lag in range(4):
            p, s = volume[: 48 - lag, row, col], sm[lag:, row, col]
            both = np.isfinite(p) & np.isfinite(s)
            expected = kendalltau(p[both], s[both]).statistic
            assert lag_tau[lag, row, col] == pytest.approx(expected, abs=1e-5), (row, col, lag)
    assert np.isnan(empirical[0, 0]) and status[0, 0] == 1  # outside the basin: no data


def test_ridge_coefficients_against_scikit_learn(run):
    _, _, out, _ = run
    volume, frequency = monthly_from_raw()
    sm, et = raw("sm"), raw("et")
    coefficients = band_values(out["coefficients"])
    for row, col in CELLS:
        series = [sm[:, row, col], frequency[:, row, col], volume[:, row, col], et[:, row, col]]
        ok = np.logical_and.reduce([np.isfinite(s) for s in series])
        z = [(s[ok] - s[ok].mean()) / s[ok].std() for s in series]
        expected = Ridge(alpha=1.0).fit(np.column_stack(z[1:]), z[0]).coef_
        np.testing.assert_allclose(coefficients[:3, row, col], expected, rtol=1e-4, atol=1e-5)
