"""Real product files (ERA5-Land, CRU TS, E-OBS) read as time stacks, checked against netCDF4.

The expectation is computed independently: the raw NetCDF arrays are opened with
``netCDF4.Dataset`` and indexed by the latitude/longitude of each north-up cell centre and by the
(year, month[, day]) of each date, so orientation, geotransform, dates and values are all checked.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

from soilp_qgis.errors import StackMismatchError
from soilp_qgis.timestack import check_stacks_match, read_stack, read_stack_info, write_stack

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
ERA5 = REAL / "era5land_belarus_ukraine"
SWVL1 = ERA5 / "era5-land_monthly_mean_swvl1_2001-2020.nc"
T2M = ERA5 / "era5-land_monthly_mean_t2m_2001-2020.nc"
CRU = REAL / "cru_eobs_iberia" / "cru_ts4.00_iberia_monthly_1981-2010.nc"
EOBS = REAL / "cru_eobs_iberia" / "eobs_v17_iberia_daily_2000.nc"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent")


def _raw(path: Path, variable: str, lat_name: str, lon_name: str):
    """Raw arrays straight from netCDF4: values (masked → NaN), lat, lon, and the decoded stamps."""
    with netCDF4.Dataset(path) as ds:
        values = ds[variable][:]
        values = np.ma.filled(values.astype(np.float64), np.nan)
        lat = np.asarray(ds[lat_name][:], dtype=np.float64)
        lon = np.asarray(ds[lon_name][:], dtype=np.float64)
        t = ds["time"]
        stamps = netCDF4.num2date(t[:], t.units, getattr(t, "calendar", "standard"))
    return values, lat, lon, stamps


def _expected_at(values, lat, lon, stamps, grid, row, col, date, daily=False):
    """The raw value at the north-up cell (row, col) and period starting ``date``."""
    x = grid.transform.c + grid.transform.a * (col + 0.5)
    y = grid.transform.f + grid.transform.e * (row + 0.5)
    i = int(np.argmin(np.abs(lat - y)))
    j = int(np.argmin(np.abs(lon - x)))
    assert abs(lat[i] - y) < 1e-4 and abs(lon[j] - x) < 1e-4, "cell centre not on the file's grid"
    year, month, day = (int(part) for part in str(date).split("-"))
    matches = [k for k, s in enumerate(stamps)
               if s.year == year and s.month == month and (not daily or s.day == day)]
    assert len(matches) == 1
    return values[matches[0], i, j]


def _check_cells(path, variable, lat_name, lon_name, cells, daily=False):
    info = read_stack_info(path, variable)
    stack = read_stack(info)
    values, lat, lon, stamps = _raw(path, variable, lat_name, lon_name)
    rng = np.random.default_rng(11)
    picks = list(cells) + [(int(rng.integers(info.grid.height)), int(rng.integers(info.grid.width)),
                            int(rng.integers(info.count))) for _ in range(20)]
    checked_finite = 0
    for row, col, step in picks:
        expected = _expected_at(values, lat, lon, stamps, info.grid, row, col, info.dates[step],
                                daily)
        got = stack[step, row, col]
        if np.isnan(expected):
            assert np.isnan(got), (row, col, step)
        else:
            checked_finite += 1
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-6), (row, col, step)
    assert checked_finite >= 5
    return info, stack, values


def test_era5_land_swvl1_monthly_latitude_descending():
    info = read_stack_info(SWVL1, name="SOIL_MOISTURE")
    assert info.variable == "swvl1" and info.name == "SOIL_MOISTURE"
    assert info.units == "m**3 m**-3" and info.time_scale == "monthly"
    # Cell centres 22.9…32.1°E, 53.1…50.5°N at 0.1° → edges 22.85…32.15, 50.45…53.15.
    assert info.grid.transform == Affine(0.1, 0.0, 22.85, 0.0, -0.1, 53.15)
    assert (info.grid.width, info.grid.height) == (93, 27)
    assert info.grid.crs.to_epsg() == 4326
    assert info.count == 240
    assert str(info.dates[0]) == "2001-01-01" and str(info.dates[-1]) == "2020-12-01"
    # Mid-month stamps became first days of consecutive months.
    expected = np.arange(np.datetime64("2001-01"), np.datetime64("2021-01")).astype("datetime64[D]")
    np.testing.assert_array_equal(info.dates, expected)
    corners = [(0, 0, 0), (26, 92, 239), (0, 92, 100), (26, 0, 57), (13, 46, 120)]
    _, stack, _ = _check_cells(SWVL1, "swvl1", "latitude", "longitude", corners)
    # Row 0 is the north: the first file row (latitude 53.1) without any flip.
    with netCDF4.Dataset(SWVL1) as ds:
        np.testing.assert_allclose(stack[5], ds["swvl1"][5], rtol=0, atol=0)
    assert 0.0 < np.nanmin(stack) and np.nanmax(stack) < 0.8  # volumetric water content


def test_era5_land_t2m_matches_swvl1_grid_and_times():
    info = read_stack_info(T2M, name="AIR_TEMPERATURE")
    assert info.units == "K"
    _check_cells(T2M, "t2m", "latitude", "longitude", [(3, 7, 0), (20, 80, 239)])
    check_stacks_match(read_stack_info(SWVL1, name="SOIL_MOISTURE"), info)


def test_cru_ts_pr_and_tas_latitude_ascending_sea_missing():
    info = read_stack_info(CRU, "pr", name="PRECIPITATION")
    assert info.units == "mm month-1" and info.time_scale == "monthly"
    # Centres -9.25…3.25°E, 36.25…43.75°N at 0.5° → edges -9.5…3.5, 36…44.
    assert info.grid.transform == Affine(0.5, 0.0, -9.5, 0.0, -0.5, 44.0)
    assert (info.grid.width, info.grid.height) == (26, 16)
    assert info.count == 360
    assert str(info.dates[0]) == "1981-01-01" and str(info.dates[-1]) == "2010-12-01"
    assert np.all(info.dates.astype("datetime64[M]").astype("datetime64[D]") == info.dates)
    _, stack, raw = _check_cells(CRU, "pr", "lat", "lon", [(0, 0, 0), (15, 25, 359), (8, 10, 200)])
    # Latitude ascends in the file: north-up row r is file row 15 - r, sea cells NaN in both.
    np.testing.assert_array_equal(stack[17], raw[17, ::-1, :].astype(np.float32))
    sea = np.isnan(raw[0, ::-1, :])
    assert 0 < sea.sum() < sea.size
    assert np.all(np.isnan(stack[:, sea]))

    tas = read_stack_info(f"{CRU}:tas", name="AIR_TEMPERATURE")
    assert tas.units == "degC"
    _check_cells(CRU, "tas", "lat", "lon", [(2, 3, 6), (12, 20, 300)])
    check_stacks_match(info, tas)


def test_eobs_rr_daily():
    info = read_stack_info(EOBS, "rr", name="PRECIPITATION")
    assert info.units == "mm day-1" and info.time_scale == "daily"
    assert info.grid.transform == Affine(0.25, 0.0, -10.0, 0.0, -0.25, 44.25)
    assert (info.grid.width, info.grid.height) == (61, 33)
    np.testing.assert_array_equal(
        info.dates, np.arange(np.datetime64("2000-01-01"), np.datetime64("2001-01-01")))
    _check_cells(EOBS, "rr", "lat", "lon", [(0, 0, 0), (32, 60, 365), (16, 30, 59)], daily=True)


def test_window_reads_equal_slices_of_the_full_read():
    for path, variable in ((SWVL1, None), (CRU, "pr")):
        info = read_stack_info(path, variable)
        full = read_stack(info)
        window = Window(col_off=3, row_off=2, width=11, height=7)
        np.testing.assert_array_equal(read_stack(info, window=window), full[:, 2:9, 3:14])
        np.testing.assert_array_equal(read_stack(info, time=slice(10, 14)), full[10:14])


def test_different_products_are_refused_with_the_difference_named():
    cru = read_stack_info(CRU, "pr", name="PRECIPITATION")
    era = read_stack_info(SWVL1, name="SOIL_MOISTURE")
    eobs = read_stack_info(EOBS, "rr", name="PRECIPITATION")
    with pytest.raises(StackMismatchError, match="PRECIPITATION and SOIL_MOISTURE have different "
                                                 "grids: cell size 0.5° vs 0.1°"):
        check_stacks_match(cru, era)
    with pytest.raises(StackMismatchError, match="cell size 0.5° vs 0.25°"):
        check_stacks_match(cru, eobs)


def test_real_stack_survives_a_geotiff_round_trip(tmp_path):
    info = read_stack_info(CRU, "pr", name="PRECIPITATION")
    data = read_stack(info)
    out = write_stack(tmp_path / "pr.tif", data, info.grid, info.dates, info.time_scale, info.units)
    back = read_stack_info(out, name="PRECIPITATION")
    check_stacks_match(info, back)
    assert back.units == "mm month-1"
    np.testing.assert_array_equal(read_stack(back), data)


def test_gdal_translated_netcdf_geotiff_reads_like_the_netcdf(tmp_path):
    """A GeoTIFF made by GDAL from the NetCDF (dates only in NETCDF_DIM_time band tags) gives the
    same stack as reading the NetCDF itself; GDAL's netCDF driver is an independent reader."""
    import rasterio.shutil

    tif = tmp_path / "cru_pr.tif"
    rasterio.shutil.copy(f'NETCDF:"{CRU}":pr', tif, driver="GTiff")
    from_tif = read_stack_info(tif, name="PRECIPITATION")
    from_nc = read_stack_info(CRU, "pr", name="PRECIPITATION")
    check_stacks_match(from_tif, from_nc)
    assert from_tif.units == "mm month-1"
    np.testing.assert_array_equal(read_stack(from_tif), read_stack(from_nc))
