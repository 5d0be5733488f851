"""soilp:importstack's engine step and the units it converts, on small files written here and on
the real products in ../shared/data/real (ERA5-Land, CRU TS, E-OBS), checked at named cells
against netCDF4's own read of the file."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio
from affine import Affine

from soilp_qgis.cli import load_step
from soilp_qgis.errors import InputError
from soilp_qgis.protocol import Reporter
from soilp_qgis.timestack import read_stack, read_stack_info
from soilp_qgis.units import parse_units, unit_converter

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
T2M = REAL / "era5land_belarus_ukraine" / "era5-land_monthly_mean_t2m_2001-2020.nc"
SWVL1 = REAL / "era5land_belarus_ukraine" / "era5-land_monthly_mean_swvl1_2001-2020.nc"
CRU = REAL / "cru_eobs_iberia" / "cru_ts4.00_iberia_monthly_1981-2010.nc"
EOBS = REAL / "cru_eobs_iberia" / "eobs_v17_iberia_daily_2000.nc"
real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent")

MONTHS = np.array(["2001-01-01", "2001-02-01", "2004-02-01"], dtype="datetime64[D]")


def run_import(**params) -> dict:
    return load_step("import_stack")({k.lower(): v for k, v in params.items()}, Reporter())


# ---- units ---------------------------------------------------------------------------------------

def test_unit_conversions_the_user_means():
    def conv(a, b, values, dates=MONTHS, scale="monthly"):
        return unit_converter(a, b, dates, scale)(np.asarray(values, dtype=float))

    np.testing.assert_allclose(conv("K", "degC", [273.15, 300.0, 250.0]), [0.0, 26.85, -23.15])
    np.testing.assert_allclose(conv("m", "mm", [0.001, 0.0254, 0.0]), [1.0, 25.4, 0.0])
    np.testing.assert_allclose(conv("%", "m3 m-3", [25.0, 40.0, 5.0]), [0.25, 0.40, 0.05])
    np.testing.assert_allclose(conv("m**3 m**-3", "m3 m-3", [0.3, 0.2, 0.1]), [0.3, 0.2, 0.1])
    # 1 kg m-2 of water is 1 mm; a rate per second over January (31 d), February 2001 (28 d) and
    # the leap February 2004 (29 d).
    rate = 1.0 / 86400.0
    np.testing.assert_allclose(conv("kg m-2 s-1", "mm month-1", [rate] * 3), [31.0, 28.0, 29.0])
    np.testing.assert_allclose(conv("kg m-2 s-1", "mm day-1", [rate] * 3), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(conv("mm month-1", "mm day-1", [31.0, 56.0, 29.0]), [1.0, 2.0, 1.0])
    np.testing.assert_allclose(conv("mm month-1", "cm month-1", [31.0, 56.0, 29.0]),
                               [3.1, 5.6, 2.9])
    np.testing.assert_allclose(conv("mm d-1", "mm/day", [2.0], MONTHS[:1], "daily"), [2.0])
    for spelling in ("degrees_Celsius", "degrees Celsius", "degree C", "°C", "degC"):
        assert str(parse_units(spelling)) == "degree_Celsius", spelling
    np.testing.assert_allclose(conv("degrees Celsius", "K", [0.0, 11.5, -40.0]),
                               [273.15, 284.65, 233.15])


def test_conversions_between_different_quantities_are_refused():
    with pytest.raises(InputError, match=r"cannot convert 'K' to 'mm'"):
        unit_converter("K", "mm", MONTHS, "monthly")
    with pytest.raises(InputError, match="needs the length of each month, but this is a daily"):
        unit_converter("kg m-2 s-1", "mm month-1", MONTHS, "daily")
    with pytest.raises(InputError, match="UNITS 'furlongs per' are not units"):
        unit_converter("mm", "furlongs per", MONTHS, "monthly")


# ---- the step on files written here --------------------------------------------------------------

def _global_0_360(path: Path, units="K") -> Path:
    lon, lat = np.arange(1.25, 360.0, 2.5), np.arange(88.75, -90.0, -2.5)
    values = 250.0 + 40.0 * np.random.default_rng(5).random((4, lat.size, lon.size))
    with netCDF4.Dataset(path, "w") as ds:
        for name, size in (("time", 4), ("lat", lat.size), ("lon", lon.size)):
            ds.createDimension(name, size)
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 1979-01-01", "360_day"
        t[:] = 15.0 + 30.0 * np.arange(4)  # mid-month in a 360-day calendar
        ds.createVariable("lat", "f4", ("lat",)).setncatts({"units": "degrees_north"})
        ds["lat"][:] = lat
        ds.createVariable("lon", "f4", ("lon",)).setncatts({"units": "degrees_east"})
        ds["lon"][:] = lon
        v = ds.createVariable("tas", "i2", ("time", "lat", "lon"), fill_value=-32767)
        v.setncatts({"scale_factor": 0.01, "add_offset": 270.0, "units": units})
        v[:] = values
        ds.createVariable("stn", "i1", ("time", "lat", "lon"))[:] = 1
    return path


def test_import_global_packed_360_day_file_to_celsius(tmp_path):
    source = _global_0_360(tmp_path / "tas.nc")
    with pytest.raises(InputError, match=r"several variables \(tas, stn\); choose one with "
                                         "VARIABLE"):
        run_import(input=str(source), output=str(tmp_path / "x.tif"))
    result = run_import(input=str(source), variable="tas", units="degC",
                        output=str(tmp_path / "tas.tif"))
    assert result["UNITS"] == "degC" and result["BANDS"] == 4 and result["CRS"] == "EPSG:4326"
    assert (result["FIRST_DATE"], result["LAST_DATE"]) == ("1979-01-01", "1979-04-01")
    with rasterio.open(tmp_path / "tas.tif") as src:
        assert src.transform == Affine(2.5, 0.0, -180.0, 0.0, -2.5, 90.0)
        assert src.descriptions[1] == "1979-02-01" and src.tags()["units"] == "degC"
        out = src.read(masked=True)
    with netCDF4.Dataset(source) as ds:
        raw = ds["tas"][:].astype(float)  # netCDF4 unpacks
        lon = np.asarray(ds["lon"][:], dtype=float)
    # Named cells: 101.25°W (258.75°E) and 1.25°W (358.75°E) at 41.25°N, 178.75°E at 88.75°N.
    for lon_w, row in ((-101.25, 19), (-1.25, 19), (178.75, 0)):
        col = int((lon_w + 180.0) // 2.5)
        j = int(np.flatnonzero(np.isclose(lon, lon_w % 360.0))[0])
        for step in range(4):
            assert out[step, row, col] == pytest.approx(raw[step, row, j] - 273.15, abs=1e-4)


def test_import_cuts_to_start_and_end(tmp_path):
    source = _global_0_360(tmp_path / "tas.nc")
    result = run_import(input=f"{source}:tas", start="1979-02", end="1979-03-01",
                        output=str(tmp_path / "cut.tif"))
    assert (result["FIRST_DATE"], result["LAST_DATE"], result["BANDS"]) == \
        ("1979-02-01", "1979-03-01", 2)
    full = read_stack(read_stack_info(source, "tas"))
    np.testing.assert_array_equal(read_stack(tmp_path / "cut.tif"), full[1:3])
    with pytest.raises(InputError, match="no time step .* between START 1990-01"):
        run_import(input=str(source), variable="tas", start="1990-01",
                   output=str(tmp_path / "none.tif"))


# ---- the real products ---------------------------------------------------------------------------

@real
def test_import_era5_land_t2m_kelvin_to_celsius_named_cells(tmp_path):
    out = tmp_path / "t2m.tif"
    result = run_import(input=str(T2M), units="degC", output=str(out))
    assert result["VARIABLE"] == "t2m" and result["BANDS"] == 240
    with netCDF4.Dataset(T2M) as ds:
        raw = np.ma.filled(ds["t2m"][:].astype(float), np.nan)
        lat = np.asarray(ds["latitude"][:], dtype=float)
        lon = np.asarray(ds["longitude"][:], dtype=float)
    stack = read_stack(out)
    info = read_stack_info(out)
    assert info.units == "degC" and info.time_scale == "monthly"
    # Minsk (53.9°N is off the crop; take 53.1°N 27.5°E), Kyiv's north (50.5°N 30.5°E), July 2010.
    for lat_n, lon_e in ((53.1, 27.5), (50.5, 30.5), (51.8, 23.0)):
        i = int(np.argmin(np.abs(lat - lat_n)))
        j = int(np.argmin(np.abs(lon - lon_e)))
        row = int((info.grid.transform.f - lat[i]) / 0.1)
        col = int((lon[j] - info.grid.transform.c) / 0.1)
        step = int(np.flatnonzero(info.dates == np.datetime64("2010-07-01"))[0])
        assert stack[step, row, col] == pytest.approx(raw[step, i, j] - 273.15, abs=1e-3)


@real
def test_import_cru_multi_variable_and_eobs_daily(tmp_path):
    run_import(input=str(CRU), variable="pr", output=str(tmp_path / "pr.tif"))
    pr = read_stack_info(tmp_path / "pr.tif")
    assert pr.units == "mm month-1" and pr.count == 360
    with netCDF4.Dataset(CRU) as ds:
        raw = np.ma.filled(ds["pr"][:].astype(float), np.nan)
    # Latitude ascends in the file: north-up row 0 is file row 15. Madrid-ish cell (40.25N, 3.75W).
    stack = read_stack(pr)
    col, row = int((-3.75 + 9.5) / 0.5), int((44.0 - 40.25) / 0.5)
    np.testing.assert_allclose(stack[:, row, col], raw[:, 15 - row, col], rtol=1e-6)

    run_import(input=str(EOBS), variable="rr", output=str(tmp_path / "rr.tif"))
    rr = read_stack_info(tmp_path / "rr.tif")
    assert rr.time_scale == "daily" and rr.count == 366 and rr.units == "mm day-1"
    with netCDF4.Dataset(EOBS) as ds:
        lat = np.asarray(ds["lat"][:], dtype=float)
        eobs = np.ma.filled(ds["rr"][:].astype(float), np.nan)
    i = int(np.argmin(np.abs(lat - 42.0)))
    row = int(round((44.25 - lat[i]) / 0.25 - 0.5))
    np.testing.assert_allclose(read_stack(rr)[:, row, 20], eobs[:, i, 20], rtol=1e-6)


@real
def test_import_era5_land_soil_moisture_keeps_its_units(tmp_path):
    result = run_import(input=str(SWVL1), units="m3 m-3", output=str(tmp_path / "sm.tif"))
    assert result["UNITS"] == "m3 m-3"
    np.testing.assert_allclose(read_stack(tmp_path / "sm.tif"), read_stack(read_stack_info(SWVL1)),
                               rtol=1e-6)


def test_grid_given_for_a_file_with_corner_coordinates_is_used_and_the_offset_said(tmp_path,
                                                                                   capsys):
    # x/y at the cells' north-west corners, as the mHM precipitation input has them.
    path = tmp_path / "corners.nc"
    values = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    with netCDF4.Dataset(path, "w") as ds:
        for dim, size in (("time", 2), ("yc", 3), ("xc", 4)):
            ds.createDimension(dim, size)
        ds.createVariable("time", "i4", ("time",)).units = "days since 1990-01-01"
        ds["time"][:] = [0, 1]
        ds.createVariable("xc", "f4", ("xc",)).axis = "X"
        ds["xc"][:] = 1000.0 + 100.0 * np.arange(4)
        ds.createVariable("yc", "f4", ("yc",)).axis = "Y"
        ds["yc"][:] = 5000.0 - 100.0 * np.arange(3)
        ds.createVariable("pre", "f8", ("time", "yc", "xc"))[:] = values
    grid_tif = tmp_path / "grid.tif"
    transform = Affine(100.0, 0, 1000.0, 0, -100.0, 5000.0)
    with rasterio.open(grid_tif, "w", driver="GTiff", width=4, height=3, count=1, dtype="uint8",
                       crs="EPSG:3035", transform=transform) as dst:
        dst.write(np.ones((1, 3, 4), dtype=np.uint8))
    capsys.readouterr()
    run_import(input=str(path), grid=str(grid_tif), output=str(tmp_path / "pre.tif"))
    printed = capsys.readouterr().out
    assert "lie -0.5 (x), +0.5 (y) cells from GRID's cell centre" in printed
    info = read_stack_info(tmp_path / "pre.tif")
    assert info.grid.transform == Affine(100.0, 0, 1000.0, 0, -100.0, 5000.0)
    assert info.grid.crs.to_epsg() == 3035
    np.testing.assert_array_equal(read_stack(info), values)
