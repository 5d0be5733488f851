"""Time stacks: GeoTIFF/NetCDF reading, atomic writing with sidecar styles, stack matching."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import netCDF4
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from soilp_qgis.errors import InputError, StackMismatchError
from soilp_qgis.timestack import (
    Grid,
    StackInfo,
    check_stacks_match,
    infer_time_scale,
    open_stack_writer,
    parse_date,
    read_raster,
    read_stack,
    read_stack_info,
    write_raster,
    write_stack,
)
from soilp_qgis.timestack import writer as timestack

MONTHS = np.arange(np.datetime64("2000-01"), np.datetime64("2000-07")).astype("datetime64[D]")


def _planted(shape=(6, 7, 9), seed=1) -> np.ndarray:
    data = np.random.default_rng(seed).gamma(2.0, 30.0, size=shape).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[3, 5, 2:6] = np.nan
    return data


def _grid(width=9, height=7, cell=0.5, west=-10.0, north=44.0, crs="EPSG:4326") -> Grid:
    return Grid.regular(west, north, cell, width, height, crs=crs)


# ---- writing and reading back a stack -----------------------------------------------------------

def test_write_stack_round_trip_values_dates_nodata_tags(tmp_path):
    data, grid = _planted(), _grid()
    out = write_stack(tmp_path / "precip.tif", data, grid, MONTHS, "monthly", "mm month-1")
    assert out == tmp_path / "precip.tif"

    # Independent view of the file through rasterio.
    with rasterio.open(out) as src:
        raw = src.read()
        assert src.dtypes == ("float32",) * 6
        assert src.nodata == -9999.0
        assert src.descriptions == tuple(str(d) for d in MONTHS)
        assert src.tags()["time_scale"] == "monthly" and src.tags()["units"] == "mm month-1"
        assert src.tags(4)["date"] == "2000-04-01"
        assert src.units == ("mm month-1",) * 6
        assert src.profile["compress"] == "deflate" and src.profile["tiled"] is True
        assert src.transform == Affine(0.5, 0, -10.0, 0, -0.5, 44.0)
        assert src.crs.to_epsg() == 4326
    np.testing.assert_array_equal(raw[np.isnan(data)], -9999.0)
    np.testing.assert_array_equal(raw[~np.isnan(data)], data[~np.isnan(data)])

    info = read_stack_info(out, name="PRECIPITATION")
    assert info.name == "PRECIPITATION" and info.time_scale == "monthly"
    assert info.units == "mm month-1" and info.nodata == -9999.0
    np.testing.assert_array_equal(info.dates, MONTHS)
    assert info.grid == grid
    back = read_stack(info)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, data)  # NaN where NaN, equal elsewhere


def test_sidecar_style_is_qgis_xml_spanning_the_values(tmp_path):
    data = _planted()
    write_stack(tmp_path / "sm.tif", data, _grid(), MONTHS, "monthly", "m3 m-3")
    qml = tmp_path / "sm.qml"  # QGIS's convention: .tif replaced by .qml
    root = ET.parse(qml).getroot()
    assert root.tag == "qgis"
    renderer = root.find("pipe/rasterrenderer")
    assert renderer.get("type") == "singlebandpseudocolor"
    low, high = np.percentile(data[~np.isnan(data)], [2, 98])
    assert float(renderer.get("classificationMin")) == pytest.approx(low, rel=1e-4)
    assert float(renderer.get("classificationMax")) == pytest.approx(high, rel=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm.qml", "sm.tif"]


def test_given_style_is_written_verbatim_and_false_writes_none(tmp_path):
    qml = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis><pipe/></qgis>\n"
    write_stack(tmp_path / "a.tif", _planted(), _grid(), MONTHS, "monthly", "mm", style_qml=qml)
    assert (tmp_path / "a.qml").read_text(encoding="utf-8") == qml
    write_stack(tmp_path / "b.tif", _planted(), _grid(), MONTHS, "monthly", "mm", style_qml=False)
    assert not (tmp_path / "b.qml").exists()


def test_window_and_time_subset_reads(tmp_path):
    data = _planted()
    info = read_stack_info(write_stack(tmp_path / "s.tif", data, _grid(), MONTHS, "monthly", "mm"))
    block = read_stack(info, window=Window(col_off=2, row_off=3, width=5, height=4))
    np.testing.assert_array_equal(block, data[:, 3:7, 2:7])
    np.testing.assert_array_equal(read_stack(info, time=slice(2, 5)), data[2:5])
    np.testing.assert_array_equal(read_stack(info, time=[5, 0]), data[[5, 0]])
    with pytest.raises(ValueError, match="outside"):
        read_stack(info, window=Window(5, 0, 5, 2))


def test_block_writer_assembles_the_same_file(tmp_path):
    data, grid = _planted(), _grid()
    with open_stack_writer(tmp_path / "blocks.tif", grid, MONTHS, "monthly", "mm") as writer:
        for row in range(0, 7, 3):
            height = min(3, 7 - row)
            writer.write(data[:, row:row + height, :], Window(0, row, 9, height))
    np.testing.assert_array_equal(read_stack(tmp_path / "blocks.tif"), data)



def test_every_band_stores_the_statistics_of_its_values(tmp_path):
    """Written block by block, each band carries GDAL's STATISTICS_* of its valid values (numpy
    over the planted array is the expectation); an all-nodata band says 0 % valid. QGIS reads
    these instead of computing and saving its own in a .aux.xml beside the output."""
    data, grid = _planted(), _grid()
    data[4] = np.nan  # a band without a value
    data[5] = 7.0     # a constant band
    with open_stack_writer(tmp_path / "blocks.tif", grid, MONTHS, "monthly", "mm") as writer:
        for row in range(0, 7, 3):
            height = min(3, 7 - row)
            writer.write(data[:, row:row + height, :], Window(0, row, 9, height))
    with rasterio.open(tmp_path / "blocks.tif") as src:
        for band in range(6):
            tags = src.tags(band + 1)
            values = data[band][np.isfinite(data[band])].astype(np.float64)
            assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(
                100.0 * values.size / data[band].size)
            if not values.size:
                assert float(tags["STATISTICS_MINIMUM"]) == float(tags["STATISTICS_MAXIMUM"]) == 0
                continue
            assert float(tags["STATISTICS_MINIMUM"]) == values.min()
            assert float(tags["STATISTICS_MAXIMUM"]) == values.max()
            assert float(tags["STATISTICS_MEAN"]) == pytest.approx(values.mean(), rel=1e-12)
            assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(values.std(), rel=1e-9,
                                                                     abs=1e-12)
    assert not (tmp_path / "blocks.tif.aux.xml").exists()


def test_integer_rasters_store_statistics_without_their_nodata(tmp_path):
    codes = np.array([[[1, 2, -1], [3, -1, 3]]], dtype=np.int16)
    grid = _grid(width=3, height=2)
    write_raster(tmp_path / "codes.tif", codes, grid, np.int16, -1, style_qml=False)
    with rasterio.open(tmp_path / "codes.tif") as src:
        tags = src.tags(1)
    assert (float(tags["STATISTICS_MINIMUM"]), float(tags["STATISTICS_MAXIMUM"])) == (1.0, 3.0)
    assert float(tags["STATISTICS_MEAN"]) == pytest.approx(9 / 4)
    assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(100 * 4 / 6)


# ---- GeoTIFFs written by other tools ------------------------------------------------------------

#: 1 m cells from (500000, 4000000), north up: the default grid of the foreign GeoTIFFs (UTM 30N)
FOREIGN_TRANSFORM = Affine(1.0, 0, 500000.0, 0, -1.0, 4000000.0)


def _foreign_tif(path, data, descriptions=None, band_tags=None, tags=None,
                 transform=FOREIGN_TRANSFORM, nodata=None,
                 crs="EPSG:32630", dtype="float32"):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
                       count=data.shape[0], dtype=dtype, crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(data.astype(dtype))
        for band in range(1, data.shape[0] + 1):
            if descriptions:
                dst.set_band_description(band, descriptions[band - 1])
            if band_tags:
                dst.update_tags(band, **band_tags[band - 1])
        if tags:
            dst.update_tags(**tags)
    return path


def test_year_month_descriptions_and_integer_nodata(tmp_path):
    data = np.arange(3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5)
    data[1, 2, 3] = -1
    path = _foreign_tif(tmp_path / "m.tif", data, ["2010-11", "2010-12", "2011-01"],
                        nodata=-1, dtype="int16")
    info = read_stack_info(path)
    assert info.time_scale == "monthly"  # inferred from the spacing
    np.testing.assert_array_equal(info.dates, np.array(["2010-11-01", "2010-12-01", "2011-01-01"],
                                                       dtype="datetime64[D]"))
    expected = data.astype(np.float32)
    expected[1, 2, 3] = np.nan
    np.testing.assert_array_equal(read_stack(info), expected)
    assert info.grid.crs.to_epsg() == 32630


def test_mask_band_scale_offset_and_relative_path(tmp_path, monkeypatch):
    """A stack whose missing cells are in a per-dataset mask (no nodata value), packed as
    uint16 × 0.5 + 10, read by a path relative to the working directory, in a window."""
    raw = np.arange(300 * 4 * 5, dtype=np.uint16).reshape(300, 4, 5) % 1000
    valid = np.ones((4, 5), dtype=bool)
    valid[1, 2] = valid[3, 0] = False
    days = np.arange(np.datetime64("2001-01-01"), np.datetime64("2001-01-01") + 300)
    path = _foreign_tif(tmp_path / "packed.tif", raw, [str(d) for d in days], dtype="uint16")
    with rasterio.open(path, "r+") as dst:
        dst.write_mask(np.where(valid, 255, 0).astype(np.uint8))
        dst.scales, dst.offsets = (0.5,) * 300, (10.0,) * 300
    expected = raw * 0.5 + 10.0  # exact in float32: halves of integers below 1010
    expected[:, ~valid] = np.nan
    monkeypatch.chdir(tmp_path)
    info = read_stack_info("packed.tif")
    assert info.time_scale == "daily"
    np.testing.assert_array_equal(read_stack(info), expected.astype(np.float32))
    np.testing.assert_array_equal(read_stack(info, window=Window(1, 1, 3, 3), time=[299, 0]),
                                  expected[[299, 0], 1:4, 1:4].astype(np.float32))


def test_dates_from_band_tags_and_time_scale_from_metadata(tmp_path):
    data = np.ones((2, 3, 3))
    path = _foreign_tif(tmp_path / "t.tif", data, band_tags=[{"date": "2001-03-01"},
                                                             {"date": "2001-06-01"}],
                        tags={"time_scale": "seasonal", "units": "mm"})
    info = read_stack_info(path)
    assert info.time_scale == "seasonal" and info.units == "mm"
    np.testing.assert_array_equal(info.dates, np.array(["2001-03-01", "2001-06-01"],
                                                       dtype="datetime64[D]"))


def test_south_up_tiff_comes_out_north_up(tmp_path):
    data = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    # Row 0 of the file is the southernmost row (positive row step).
    path = _foreign_tif(tmp_path / "s.tif", data, ["2000-01-01", "2000-01-02"],
                        transform=Affine(0.25, 0, 10.0, 0, 0.25, 40.0), crs="EPSG:4326")
    info = read_stack_info(path)
    assert info.grid.transform == Affine(0.25, 0, 10.0, 0, -0.25, 41.0)
    assert info.time_scale == "daily"
    np.testing.assert_array_equal(read_stack(info), data[:, ::-1, :])
    np.testing.assert_array_equal(read_stack(info, window=Window(1, 0, 2, 1)), data[:, 3:4, 1:3])


def test_stack_without_dates_names_file_and_band(tmp_path):
    path = _foreign_tif(tmp_path / "nodates.tif", np.zeros((3, 2, 2)), ["2000-01-01", "", "x"])
    with pytest.raises(InputError) as error:
        read_stack_info(path)
    message = str(error.value)
    assert str(path) in message and "band 2 has no date" in message and "\n" not in message


def test_corrupt_and_truncated_files_give_one_line_input_errors(tmp_path):
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00" + os.urandom(200))
    with pytest.raises(InputError) as error:
        read_stack_info(junk)
    assert str(junk) in str(error.value) and "\n" not in str(error.value)

    bad_nc = tmp_path / "junk.nc"
    bad_nc.write_bytes(b"CDF\x01" + bytes(range(7, 200)))
    with pytest.raises(InputError, match="not a readable NetCDF file") as error:
        read_stack_info(bad_nc)
    assert str(bad_nc) in str(error.value)

    with pytest.raises(InputError, match="file not found"):
        read_stack_info(tmp_path / "missing.tif")

    # A stack whose header is intact but whose data are cut off fails when read, clearly.
    data = np.random.default_rng(3).normal(size=(4, 64, 64)).astype(np.float32)
    full = write_stack(tmp_path / "full.tif", data, _grid(64, 64), MONTHS[:4], "monthly", "mm")
    info = read_stack_info(full)
    blob = full.read_bytes()
    full.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError) as error:
        read_stack(info)
    assert str(full) in str(error.value) and "\n" not in str(error.value)


# ---- atomic writes ------------------------------------------------------------------------------

def test_failure_mid_write_leaves_no_output(tmp_path):
    data, grid = _planted(), _grid()
    with pytest.raises(RuntimeError, match="disk on fire"):
        with open_stack_writer(tmp_path / "out.tif", grid, MONTHS, "monthly", "mm") as writer:
            writer.write(data[:, :3, :], Window(0, 0, 9, 3))
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


def test_failure_before_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    old = _planted(seed=5)
    target = write_stack(tmp_path / "out.tif", old, _grid(), MONTHS, "monthly", "mm")

    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(timestack.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_stack(target, _planted(seed=6), _grid(), MONTHS, "monthly", "mm", style_qml=False)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.qml", "out.tif"]
    np.testing.assert_array_equal(read_stack(target), old)


def test_failure_inside_gdal_write_leaves_no_output(tmp_path, monkeypatch):
    def broken_write(self, data, window=None):
        raise rasterio.errors.RasterioIOError("write error")

    monkeypatch.setattr(timestack.RasterWriter, "write", broken_write)
    with pytest.raises(rasterio.errors.RasterioIOError):
        write_stack(tmp_path / "out.tif", _planted(), _grid(), MONTHS, "monthly", "mm")
    assert list(tmp_path.iterdir()) == []


# ---- per-cell output rasters --------------------------------------------------------------------

def test_write_raster_integer_codes_and_rgb(tmp_path):
    grid = _grid(4, 3)
    codes = np.array([[0, 1, 2, 3], [4, 5, 0, 0], [np.nan, 1, 1, 2]])
    write_raster(tmp_path / "status.tif", codes, grid, "uint8", 255, band_names=["status"],
                 tags={"what": "fit status"})
    with rasterio.open(tmp_path / "status.tif") as src:
        raw = src.read(1)
        assert src.dtypes == ("uint8",) and src.nodata == 255
        assert src.descriptions == ("status",) and src.tags()["what"] == "fit status"
    np.testing.assert_array_equal(raw, np.nan_to_num(codes, nan=255).astype(np.uint8))
    values, read_grid = read_raster(tmp_path / "status.tif")
    assert read_grid == grid
    np.testing.assert_array_equal(values[0], codes)
    assert ET.parse(tmp_path / "status.qml").getroot().tag == "qgis"

    rgb = np.stack([np.full((3, 4), 200), np.full((3, 4), 100), np.full((3, 4), 50)])
    write_raster(tmp_path / "rgb.tif", rgb, grid, "uint8", None,
                 color_interp=["red", "green", "blue"], style_qml=False)
    with rasterio.open(tmp_path / "rgb.tif") as src:
        assert [c.name for c in src.colorinterp] == ["red", "green", "blue"]
        np.testing.assert_array_equal(src.read(), rgb)


# ---- NetCDF variants (synthetic files with a planted truth) ------------------------------------

def _netcdf(path, lat, lon, times, units, calendar, values, packed=False, extra_var=False,
            bounds=None):
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", len(times))
        ds.createDimension("lat", len(lat))
        ds.createDimension("lon", len(lon))
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = units, calendar
        t[:] = times
        if bounds is not None:
            ds.createDimension("nv", 2)
            t.bounds = "time_bnds"
            ds.createVariable("time_bnds", "f8", ("time", "nv"))[:] = bounds
        y = ds.createVariable("lat", "f4", ("lat",))
        y.units = "degrees_north"
        y[:] = lat
        x = ds.createVariable("lon", "f4", ("lon",))
        x.units = "degrees_east"
        x[:] = lon
        if packed:
            v = ds.createVariable("sm", "i2", ("time", "lat", "lon"), fill_value=-32767)
            v.scale_factor, v.add_offset = 0.001, 0.25
            v.set_auto_maskandscale(True)
        else:
            v = ds.createVariable("sm", "f4", ("time", "lat", "lon"), fill_value=-999.0)
            v.missing_value = np.float32(-888.0)
        v.units = "m3 m-3"
        v[:] = values
        if extra_var:
            ds.createVariable("other", "f4", ("time", "lat", "lon"))[:] = values
    return path


def test_netcdf_ascending_latitude_packed_values_noleap_calendar(tmp_path):
    lat = np.array([40.05, 40.15, 40.25])  # ascending: row 0 of the file is the south
    lon = np.array([10.05, 10.15, 10.25, 10.35])
    truth = np.round(np.random.default_rng(7).uniform(0.1, 0.4, size=(4, 3, 4)), 3)
    masked = np.ma.masked_array(truth, mask=np.zeros_like(truth, bool))
    masked.mask[2, 0, 1] = True  # a missing (sea) cell
    # Mid-month stamps in a 365-day calendar, days since 1990-01-01: Jan..Apr 1990.
    times = [15.5, 45.0, 74.5, 105.0]
    path = _netcdf(tmp_path / "sm.nc", lat, lon, times, "days since 1990-01-01", "noleap",
                   masked, packed=True)
    info = read_stack_info(path)  # the single data variable is picked
    assert info.variable == "sm" and info.units == "m3 m-3" and info.time_scale == "monthly"
    np.testing.assert_array_equal(info.dates, np.arange(np.datetime64("1990-01"),
                                                        np.datetime64("1990-05")).astype("datetime64[D]"))
    assert info.grid.transform == Affine(0.1, 0, 10.0, 0, -0.1, 40.3)
    assert info.grid.crs.to_epsg() == 4326
    values = read_stack(info)
    expected = truth[:, ::-1, :].astype(np.float32)
    expected[2, 2, 1] = np.nan  # file row 0 → north-up row 2
    np.testing.assert_allclose(values, expected, atol=1e-6)
    np.testing.assert_allclose(read_stack(info, window=Window(1, 0, 2, 2)), expected[:, 0:2, 1:3],
                               atol=1e-6)


def test_netcdf_fill_and_missing_value_variable_syntax_and_bounds(tmp_path):
    lat = np.array([50.75, 50.25])  # descending
    lon = np.array([0.25, 0.75, 1.25])
    data = np.full((3, 2, 3), 0.3, dtype=np.float32)
    data[0, 0, 0] = -999.0  # _FillValue
    data[1, 1, 2] = -888.0  # missing_value
    # Annual steps whose stamps are the period ends; the bounds' middle puts them in their year.
    bounds = np.array([[0, 366], [366, 731], [731, 1096]], dtype=float)
    path = _netcdf(tmp_path / "two.nc", lat, lon, bounds[:, 1], "days since 2000-01-01",
                   "standard", data, extra_var=True, bounds=bounds)
    with pytest.raises(InputError, match="several variables"):
        read_stack_info(path)
    info = read_stack_info(f"{path}:sm")
    assert info.time_scale == "annual"
    np.testing.assert_array_equal(info.dates, np.array(["2000-01-01", "2001-01-01", "2002-01-01"],
                                                       dtype="datetime64[D]"))
    values = read_stack(info)
    assert np.isnan(values[0, 0, 0]) and np.isnan(values[1, 1, 2])
    assert np.nansum(values) == pytest.approx(0.3 * 16, rel=1e-6)
    with pytest.raises(InputError, match="has no variable 'pr'"):
        read_stack_info(path, variable="pr")


# ---- dates ---------------------------------------------------------------------------------------

def test_parse_date_and_infer_time_scale():
    assert parse_date("2000-01-01") == np.datetime64("2000-01-01")
    assert parse_date("1999-7") == np.datetime64("1999-07-01")
    assert parse_date("2000-02-29T12:00:00") == np.datetime64("2000-02-29")
    assert parse_date("Band 1") is None and parse_date("2001-02-30") is None
    days = np.arange(np.datetime64("2000-01-01"), np.datetime64("2000-01-11"))
    assert infer_time_scale(days) == "daily"
    assert infer_time_scale(MONTHS) == "monthly"
    assert infer_time_scale(np.array(["2000-12-01", "2001-03-01", "2001-06-01"],
                                     dtype="datetime64[D]")) == "seasonal"
    assert infer_time_scale(np.array(["2000-01-01", "2001-01-01"],
                                     dtype="datetime64[D]")) == "annual"
    with pytest.raises(InputError, match="single time step"):
        infer_time_scale(MONTHS[:1], "P")


def test_two_bands_in_one_month_is_an_error(tmp_path):
    path = _foreign_tif(tmp_path / "dup.tif", np.zeros((3, 2, 2)),
                        ["2000-01-01", "2000-01-15", "2000-02-01"],
                        tags={"time_scale": "monthly"})
    with pytest.raises(InputError,
                       match=r"time steps 1 and 2 fall in the same monthly period \(2000-01\)"):
        read_stack_info(path)


# ---- matching stacks -----------------------------------------------------------------------------

def _info(name, dates, grid=None, scale="monthly"):
    return StackInfo(path=f"{name}.tif", variable=None, grid=grid or _grid(),
                     dates=np.asarray(dates, dtype="datetime64[D]"), time_scale=scale, units="",
                     nodata=None, name=name)


MONTHS_240 = np.arange(np.datetime64("2000-01"), np.datetime64("2020-01")).astype("datetime64[D]")


def test_matching_stacks_pass():
    check_stacks_match(_info("PRECIPITATION", MONTHS_240),
                       _info("SOIL_MOISTURE", MONTHS_240.copy()))
    # float noise in the geotransform is not a difference
    noisy = Grid("EPSG:4326", Affine(0.5 + 1e-12, 0, -10.0 + 1e-9, 0, -0.5, 44.0), 9, 7)
    check_stacks_match(_info("A", MONTHS), _info("B", MONTHS, noisy))


def test_mismatch_time_count_names_both_and_first_difference():
    sm = _info("SOIL_MOISTURE", MONTHS_240[:-1])  # ends 2019-11
    precip = _info("PRECIPITATION", MONTHS_240)
    with pytest.raises(StackMismatchError) as error:
        check_stacks_match(sm, precip)
    assert str(error.value) == ("SOIL_MOISTURE has 239 time steps, PRECIPITATION 240; "
                                "first difference at 2019-12")


def test_mismatch_dates_shifted():
    shifted = MONTHS_240 + 0
    shifted[100:] = (MONTHS_240[100:].astype("datetime64[M]") + 1).astype("datetime64[D]")
    with pytest.raises(StackMismatchError) as error:
        check_stacks_match(_info("PRECIPITATION", MONTHS_240), _info("SOIL_MOISTURE", shifted))
    assert ("PRECIPITATION and SOIL_MOISTURE have different time steps: first difference at "
            "2008-05 (PRECIPITATION 2008-05, SOIL_MOISTURE 2008-06)") == str(error.value)


def test_mismatch_time_scale():
    with pytest.raises(StackMismatchError, match="PRECIPITATION is daily, SOIL_MOISTURE monthly"):
        check_stacks_match(_info("PRECIPITATION", MONTHS, scale="daily"),
                           _info("SOIL_MOISTURE", MONTHS))


def test_mismatch_grid_cell_size_size_origin_and_crs():
    p = _info("PRECIPITATION", MONTHS, _grid(cell=0.25))
    with pytest.raises(StackMismatchError) as error:
        check_stacks_match(p, _info("SOIL_MOISTURE", MONTHS, _grid(cell=0.5)))
    assert str(error.value) == ("PRECIPITATION and SOIL_MOISTURE have different grids: "
                                "cell size 0.25° vs 0.5°")
    with pytest.raises(StackMismatchError, match="different grids: size 9×7 vs 10×7 cells"):
        check_stacks_match(p, _info("SOIL_MOISTURE", MONTHS, _grid(width=10, cell=0.25)))
    with pytest.raises(StackMismatchError,
                       match=r"different grids: origin \(west, north\) "
                             r"\(-10, 44\) vs \(-9.75, 44\)"):
        check_stacks_match(p, _info("SOIL_MOISTURE", MONTHS, _grid(west=-9.75, cell=0.25)))
    with pytest.raises(StackMismatchError) as error:
        check_stacks_match(_info("PRECIPITATION", MONTHS, _grid(cell=1000, crs="EPSG:3035")),
                           _info("SOIL_MOISTURE", MONTHS, _grid(cell=1000, crs="EPSG:32633")))
    assert str(error.value) == ("PRECIPITATION and SOIL_MOISTURE have different CRS: "
                                "EPSG:3035 vs EPSG:32633")
    # projected cell sizes are given in metres
    assert _grid(cell=1000, crs="EPSG:3035").same_as(_grid(cell=500, crs="EPSG:3035")) == \
        "different grids: cell size 1000 m vs 500 m"


def test_three_stacks_are_checked_against_the_first():
    a, b = _info("P", MONTHS), _info("SM", MONTHS)
    c = _info("TA", MONTHS[1:])
    with pytest.raises(StackMismatchError,
                       match="P has 6 time steps, TA 5; first difference at 2000-01"):
        check_stacks_match(a, b, c)
    check_stacks_match(a, c, check_time=False)


def test_stack_info_from_paths_match_after_round_trip(tmp_path):
    grid = _grid()
    a = write_stack(tmp_path / "p.tif", _planted(), grid, MONTHS, "monthly", "mm")
    b = write_stack(tmp_path / "sm.tif", _planted(seed=2), grid, MONTHS, "monthly", "m3 m-3")
    check_stacks_match(read_stack_info(a, name="PRECIPITATION"),
                       read_stack_info(b, name="SOIL_MOISTURE"))


def test_netcdf_time_last_with_a_single_level_dimension(tmp_path):
    # axes: lat, lon, depth, time
    truth = np.random.default_rng(9).normal(size=(2, 3, 1, 4)).astype(np.float32)
    path = tmp_path / "tl.nc"
    with netCDF4.Dataset(path, "w") as ds:
        for dim, size in (("lat", 2), ("lon", 3), ("depth", 1), ("time", 4)):
            ds.createDimension(dim, size)
        ds.createVariable("lat", "f8", ("lat",))[:] = [60.5, 59.5]
        ds.createVariable("lon", "f8", ("lon",))[:] = [100.5, 101.5, 102.5]
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "hours since 2010-03-01 12:00", "gregorian"
        t[:] = [0, 24, 48, 72]
        v = ds.createVariable("swc", "f4", ("lat", "lon", "depth", "time"))
        v.units = "%"
        v[:] = truth
    info = read_stack_info(path)
    assert info.time_scale == "daily"
    np.testing.assert_array_equal(info.dates, np.arange(np.datetime64("2010-03-01"),
                                                        np.datetime64("2010-03-05")))
    assert info.grid.transform == Affine(1.0, 0, 100.0, 0, -1.0, 61.0)
    np.testing.assert_array_equal(read_stack(info), np.moveaxis(truth[:, :, 0, :], -1, 0))
