"""NetCDF layouts of real products read right: 0–360° longitudes (global and across the Greenwich
seam), latitude either way, packed integers with valid_range, noleap and 360_day calendars, stamps
at the middle or end of the period, CRS from grid_mapping or given, metre grids without a CRS.

Each file is written here with netCDF4; the expectation at named cells is read back with netCDF4
by the cell's own longitude/latitude, independently of soilp's reader.
"""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from soilp_qgis.errors import InputError
from soilp_qgis.timestack import Grid, read_raster, read_stack, read_stack_info

MONTHS_2001 = np.arange(np.datetime64("2001-01"), np.datetime64("2002-01")).astype("datetime64[D]")


def _write(path, lat, lon, times, values, *, units="days since 2001-01-01", calendar="standard",
           name="pr", dtype="f4", var_attrs=None, lat_attrs=None, lon_attrs=None, lat_name="lat",
           lon_name="lon", fill=None, extra=None, grid_mapping=None):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", len(times))
        ds.createDimension(lat_name, len(lat))
        ds.createDimension(lon_name, len(lon))
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = units, calendar
        t[:] = times
        y = ds.createVariable(lat_name, "f8", (lat_name,))
        y.setncatts(lat_attrs if lat_attrs is not None else {"units": "degrees_north"})
        y[:] = lat
        x = ds.createVariable(lon_name, "f8", (lon_name,))
        x.setncatts(lon_attrs if lon_attrs is not None else {"units": "degrees_east"})
        x[:] = lon
        v = ds.createVariable(name, dtype, ("time", lat_name, lon_name), fill_value=fill)
        v.set_auto_maskandscale(True)
        for key, value in (var_attrs or {}).items():
            v.setncattr(key, value)
        v[:] = values
        if grid_mapping:
            ds.createVariable("crs", "i4").setncatts(grid_mapping)
            v.grid_mapping = "crs"
        for extra_name in extra or ():
            ds.createVariable(extra_name, "f4", ("time", lat_name, lon_name))[:] = values
    return path


def _direct(path, name, lat_name="lat", lon_name="lon"):
    """netCDF4's own decoding (mask, scale, valid_range): values, lat, lon."""
    with netCDF4.Dataset(path) as ds:
        values = np.ma.filled(ds[name][:].astype(np.float64), np.nan)
        return values, np.asarray(ds[lat_name][:]), np.asarray(ds[lon_name][:])


def _cell(grid: Grid, lon: float, lat: float) -> tuple[int, int]:
    """North-up (row, col) of the cell holding (lon, lat) in −180…180°."""
    t = grid.transform
    return int(np.floor((lat - t.f) / t.e)), int(np.floor((lon - t.c) / t.a))


def _at(values, lats, lons, step, lon, lat):
    """The file's value at the cell whose centre is (lon, lat), lon in the file's convention."""
    i = int(np.flatnonzero(np.isclose(lats, lat))[0])
    j = int(np.flatnonzero(np.isclose(np.mod(lons, 360.0), np.mod(lon, 360.0)))[0])
    return values[step, i, j]


def test_global_0_360_grid_comes_out_minus_180_180(tmp_path):
    lon = np.arange(0.5, 360.0, 1.0)  # 360 columns, 0.5 … 359.5
    lat = np.arange(89.5, -90.0, -1.0)
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 2.0, size=(3, lat.size, lon.size))
    path = _write(tmp_path / "gpcp.nc", lat, lon, [0, 31, 59], values)
    info = read_stack_info(path)
    assert info.grid.transform == Affine(1.0, 0.0, -180.0, 0.0, -1.0, 90.0)
    stack = read_stack(info)
    raw, lats, lons = _direct(path, "pr")
    # West of Greenwich: Americas (−74.5° = 285.5°E), Atlantic (−0.5°), date line (−179.5°).
    for lon_w, lat_n in ((-74.5, 40.5), (-0.5, 51.5), (-179.5, -10.5), (0.5, 51.5), (179.5, 0.5)):
        row, col = _cell(info.grid, lon_w, lat_n)
        for step in range(3):
            assert stack[step, row, col] == pytest.approx(_at(raw, lats, lons, step, lon_w, lat_n),
                                                          rel=1e-6)
    # A window straddling Greenwich reads both halves of the file.
    window = Window(col_off=170, row_off=30, width=20, height=4)
    np.testing.assert_array_equal(read_stack(info, window=window), stack[:, 30:34, 170:190])
    assert stack[0, 0, 0] == pytest.approx(raw[0, 0, 180], rel=1e-6)  # −179.5° is file column 180


def test_seam_crop_is_a_regular_grid_after_rolling(tmp_path):
    lon = np.array([351.25, 353.75, 356.25, 358.75, 1.25, 3.75, 6.25])  # crosses Greenwich
    lat = np.array([41.25, 43.75, 46.25])  # ascending
    values = np.arange(2 * 3 * 7, dtype=float).reshape(2, 3, 7)
    path = _write(tmp_path / "crop.nc", lat, lon, [0, 31], values)
    info = read_stack_info(path)
    assert info.grid.transform == Affine(2.5, 0.0, -10.0, 0.0, -2.5, 47.5)
    stack = read_stack(info)
    raw, lats, lons = _direct(path, "pr")
    for lon_w, lat_n in ((-8.75, 46.25), (-1.25, 41.25), (1.25, 43.75), (6.25, 46.25)):
        row, col = _cell(info.grid, lon_w, lat_n)
        assert stack[1, row, col] == _at(raw, lats, lons, 1, lon_w, lat_n)
    # North-up row 0 is latitude 46.25 (file row 2), west to east −8.75 … 6.25.
    np.testing.assert_array_equal(stack[0, 0], raw[0, 2])
    np.testing.assert_array_equal(read_stack(info, window=Window(2, 1, 3, 2)), stack[:, 1:3, 2:5])


def test_descending_longitudes_on_0_360_and_a_pacific_crop_keep_their_cells(tmp_path):
    lon = np.arange(359.0, 0.0, -2.0)  # east to west, 180 columns
    lat = np.array([10.0, 12.0])
    values = np.random.default_rng(1).normal(size=(2, 2, lon.size))
    path = _write(tmp_path / "desc.nc", lat, lon, [0, 31], values)
    info = read_stack_info(path)
    assert info.grid.transform.c == -180.0 and info.grid.width == 180
    stack, (raw, lats, lons) = read_stack(info), _direct(path, "pr")
    for lon_w in (-179.0, -61.0, -1.0, 1.0, 179.0):
        row, col = _cell(info.grid, lon_w, 12.0)
        assert stack[1, row, col] == pytest.approx(_at(raw, lats, lons, 1, lon_w, 12.0), rel=1e-6)
    # A crop over the Pacific on 0–360° fits side by side only across 180°: kept as it is.
    pacific = _write(tmp_path / "pacific.nc", lat, np.arange(170.5, 195.0, 1.0), [0, 31],
                     np.zeros((2, 2, 25)))
    assert read_stack_info(pacific).grid.transform.c == 170.0


def test_packed_int16_with_valid_range_and_fill(tmp_path):
    lat, lon = np.array([50.5, 50.0]), np.array([10.0, 10.5, 11.0])
    truth = np.array([[[0.10, 0.25, 0.40], [0.05, 0.30, 0.35]],
                      [[0.20, 0.15, 0.45], [0.33, 0.12, 0.28]]])
    path = tmp_path / "packed.nc"
    _write(path, lat, lon, [15.5, 45.0], truth, dtype="i2", fill=-32767, name="sm",
           var_attrs={"scale_factor": 0.0001, "add_offset": 0.3, "units": "m3 m-3",
                      "valid_range": np.array([-2900, 1000], dtype="i2")})
    with netCDF4.Dataset(path, "a") as ds:  # plant one fill and one out-of-range packed value
        ds["sm"].set_auto_maskandscale(False)
        ds["sm"][0, 1, 0] = -32767
        ds["sm"][1, 0, 2] = 2000  # 0.5 m3 m-3: outside valid_range (max 0.4)
    stack = read_stack(read_stack_info(path))
    raw, _, _ = _direct(path, "sm")  # netCDF4 masks fill and valid_range itself
    assert np.isnan(raw[0, 1, 0]) and np.isnan(raw[1, 0, 2])
    np.testing.assert_allclose(stack, raw, rtol=0, atol=1e-6)  # NaN where NaN
    assert stack[1, 1, 0] == pytest.approx(0.33, abs=1e-4)


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "proleptic_gregorian", "julian"])
def test_mid_month_stamps_in_any_calendar(tmp_path, calendar):
    # The middle of each month in the file's own calendar (cftime as the independent clock).
    import cftime

    stamps = [cftime.datetime(2001, m, 15, 12, calendar=calendar) for m in range(1, 13)]
    times = cftime.date2num(stamps, "days since 2000-12-01", calendar=calendar)
    path = _write(tmp_path / "cal.nc", [1.0, 2.0], [1.0, 2.0], times, np.ones((12, 2, 2)),
                  units="days since 2000-12-01", calendar=calendar)
    info = read_stack_info(path)
    assert info.time_scale == "monthly"
    np.testing.assert_array_equal(info.dates, MONTHS_2001)


def test_end_of_period_stamps_and_bounds(tmp_path):
    # GLEAM-like: monthly stamps on each month's last day.
    ends = (MONTHS_2001.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    days = (ends - np.datetime64("2001-01-01")).astype(float)
    info = read_stack_info(_write(tmp_path / "end.nc", [1.0, 2.0], [1.0, 2.0], days,
                                  np.ones((12, 2, 2))))
    np.testing.assert_array_equal(info.dates, MONTHS_2001)
    # Daily values stamped at 24:00 (the next day's first instant) with bounds: the bounds decide.
    path = tmp_path / "daily_end.nc"
    _write(path, [1.0, 2.0], [1.0, 2.0], np.arange(1.0, 11.0), np.ones((10, 2, 2)))
    with netCDF4.Dataset(path, "a") as ds:
        ds.createDimension("nv", 2)
        ds["time"].bounds = "time_bnds"
        ds.createVariable("time_bnds", "f8", ("time", "nv"))[:] = np.c_[np.arange(10.0),
                                                                         np.arange(1.0, 11.0)]
    info = read_stack_info(path)
    np.testing.assert_array_equal(info.dates, np.arange(np.datetime64("2001-01-01"),
                                                        np.datetime64("2001-01-11")))


def test_metre_grid_without_crs_is_one_line_naming_crs_parameter(tmp_path):
    x = 3973369.0 + 12000 + 24000 * np.arange(6)
    y = 2951847.0 - 12000 - 24000 * np.arange(4)
    path = _write(tmp_path / "eobs_3035.nc", y, x, [0, 1], np.ones((2, 4, 6)), lat_name="y",
                  lon_name="x", lat_attrs={"units": "m", "axis": "Y"},
                  lon_attrs={"units": "m", "axis": "X"})
    with pytest.raises(InputError) as error:
        read_stack_info(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    assert "in 'm', not degrees" in message and "declares no CRS" in message
    assert "CRS parameter" in message
    # Same without units: the ranges say it.
    bare = _write(tmp_path / "bare.nc", y, x, [0, 1], np.ones((2, 4, 6)), lat_name="yc",
                  lon_name="xc", lat_attrs={"axis": "Y"}, lon_attrs={"axis": "X"})
    with pytest.raises(InputError, match=r"beyond ±360°.*CRS parameter"):
        read_stack_info(bare)
    # With the CRS given, the cells land where the coordinates say.
    info = read_stack_info(path, crs="EPSG:3035")
    assert info.grid.crs.to_epsg() == 3035
    assert info.grid.transform == Affine(24000.0, 0.0, 3973369.0, 0.0, -24000.0, 2951847.0)


def test_crs_from_grid_mapping_wkt_and_cf_parameters(tmp_path):
    x = 500.0 + 1000.0 * np.arange(4)
    y = 4500.0 - 1000.0 * np.arange(3)
    wkt = rasterio.crs.CRS.from_epsg(32631).to_wkt()
    path = _write(tmp_path / "utm.nc", y, x, [0, 1], np.ones((2, 3, 4)), lat_name="y",
                  lon_name="x", lat_attrs={"units": "m"}, lon_attrs={"units": "m"},
                  grid_mapping={"crs_wkt": wkt})
    assert read_stack_info(path).grid.crs.to_epsg() == 32631
    cf = {"grid_mapping_name": "lambert_azimuthal_equal_area",
          "longitude_of_projection_origin": 10.0, "latitude_of_projection_origin": 52.0,
          "false_easting": 4321000.0, "false_northing": 3210000.0,
          "semi_major_axis": 6378137.0, "inverse_flattening": 298.257222101}
    path = _write(tmp_path / "laea.nc", y, x, [0, 1], np.ones((2, 3, 4)), lat_name="y",
                  lon_name="x", lat_attrs={"units": "m"}, lon_attrs={"units": "m"},
                  grid_mapping=cf)
    crs = read_stack_info(path).grid.crs
    assert "Lambert" in crs.to_wkt() and crs.is_projected
    # The override wins over what the file declares.
    assert read_stack_info(path, crs="EPSG:3035").grid.crs.to_epsg() == 3035


def test_multi_variable_file_lists_the_variables(tmp_path):
    path = _write(tmp_path / "cru.nc", [1.0, 2.0], [1.0, 2.0], [0, 31], np.ones((2, 2, 2)),
                  name="tmp", extra=["stn"])
    with pytest.raises(InputError, match=r"several variables \(tmp, stn\)"):
        read_stack_info(path)
    assert read_stack_info(path, "stn").variable == "stn"


def test_unit_attribute_spelled_unit_and_grid_given_for_a_file_without_coordinates(tmp_path):
    path = tmp_path / "et.nc"
    values = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    with netCDF4.Dataset(path, "w") as ds:
        for dim, size in (("time", 2), ("y", 3), ("x", 2)):
            ds.createDimension(dim, size)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "hours since 1990-1-1 00:00:00"
        t[:] = [743.0, 1415.0]
        v = ds.createVariable("et", "f8", ("time", "y", "x"))
        v.unit = "mm month-1"
        v[:] = values
    with pytest.raises(InputError, match="has no coordinate values; give a raster on the same"):
        read_stack_info(path)
    grid = Grid.regular(3973369.0, 2807847.0, 24000.0, 2, 3, crs="EPSG:3035")
    info = read_stack_info(path, grid=grid)
    assert info.units == "mm month-1" and info.grid == grid
    np.testing.assert_array_equal(read_stack(info), values)  # row 0 as stored: north
    with pytest.raises(InputError, match=r"has 2×3 cells .* but the grid given for it 3×3"):
        read_stack_info(path, grid=Grid.regular(0, 3, 1, 3, 3))


def test_geotiff_on_0_360_is_rolled_like_the_netcdf(tmp_path):
    data = np.random.default_rng(4).normal(size=(2, 3, 8)).astype(np.float32)
    path = tmp_path / "g.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=3, count=2, dtype="float32",
                       crs="EPSG:4326", transform=Affine(45.0, 0, 0.0, 0, -45.0, 67.5)) as dst:
        dst.write(data)
        dst.set_band_description(1, "2001-01-01")
        dst.set_band_description(2, "2001-02-01")
    info = read_stack_info(path)
    assert info.grid.transform == Affine(45.0, 0, -180.0, 0, -45.0, 67.5)
    stack = read_stack(info)
    np.testing.assert_array_equal(stack[:, :, :4], data[:, :, 4:])  # 180…360 → −180…0
    np.testing.assert_array_equal(stack[:, :, 4:], data[:, :, :4])
    values, grid = read_raster(path)
    assert grid == info.grid
    np.testing.assert_array_equal(values, stack.astype(np.float64))


def test_grib_messages_dated_by_their_valid_time(tmp_path):
    """A GRIB2 file of two messages written by GDAL, one per month: band dates come from each
    message's valid time, the values from the message."""
    import rasterio.shutil

    data = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    parts = []
    for k, ref_time in enumerate(("2001-03-01T00:00:00Z", "2001-04-01T00:00:00Z")):
        tif = tmp_path / f"m{k}.tif"
        with rasterio.open(tif, "w", driver="GTiff", width=4, height=3, count=1, dtype="float32",
                           crs="EPSG:4326", transform=Affine(1.0, 0, 10.0, 0, -1.0, 50.0)) as dst:
            dst.write(data[k:k + 1])
        rasterio.shutil.copy(tif, tmp_path / f"m{k}.grib2", driver="GRIB",
                             IDS=f"REF_TIME={ref_time}")
        parts.append((tmp_path / f"m{k}.grib2").read_bytes())
    grib = tmp_path / "two_months.grib2"
    grib.write_bytes(b"".join(parts))  # GRIB files are concatenated messages
    info = read_stack_info(grib)
    assert info.time_scale == "monthly"
    np.testing.assert_array_equal(info.dates, np.array(["2001-03-01", "2001-04-01"],
                                                       dtype="datetime64[D]"))
    assert info.grid.transform == Affine(1.0, 0, 10.0, 0, -1.0, 50.0)
    np.testing.assert_allclose(read_stack(info), data, rtol=1e-6)
