"""soilp:importstack headless and in Processing, and a 0–360° global stack aligned onto the
−180…180° biome grid keeping the western hemisphere.

The NetCDF files are written by the engine's Python (netCDF4; QGIS's Python has no netCDF4) with
values planted by a formula, so the expectation at every named cell is the formula itself; GDAL's
netCDF driver (QGIS's own bindings) is the second, independent reader of the imported variable.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from conftest import SHARED_DATA, json_results, read_with_gdal, run_qgis_process
from qgis.core import QgsProcessingException

BIOMES = SHARED_DATA / "biomes" / "wwf_biome_code_0p25deg_NH.tif"

#: writes two files: a CRU-like file holding tmp and stn (0.5°, latitude ascending, 3 months),
#: and a global 1° file on 0–360° longitudes (value = 1000 × lon index + lat index + 0.5 × step)
WRITER = r"""
import sys
import netCDF4, numpy as np

def axes(ds, lat, lon, months):
    ds.createDimension("time", months)
    ds.createDimension("lat", lat.size)
    ds.createDimension("lon", lon.size)
    t = ds.createVariable("time", "f8", ("time",))
    t.units, t.calendar = "days since 1900-1-1", "gregorian"
    t[:] = [36906.0 + 30.5 * k for k in range(months)]  # mid-month 2001-01 … (CRU's stamps)
    ds.createVariable("lat", "f4", ("lat",)).setncatts({"units": "degrees_north"})
    ds["lat"][:] = lat
    ds.createVariable("lon", "f4", ("lon",)).setncatts({"units": "degrees_east"})
    ds["lon"][:] = lon

with netCDF4.Dataset(sys.argv[1], "w") as ds:
    lat, lon = np.arange(36.25, 44.0, 0.5), np.arange(-9.25, 3.5, 0.5)
    axes(ds, lat, lon, 3)
    k, i, j = np.meshgrid(np.arange(3), np.arange(lat.size), np.arange(lon.size), indexing="ij")
    tmp = ds.createVariable("tmp", "f4", ("time", "lat", "lon"), fill_value=9.96921e36)
    tmp.units = "degrees Celsius"
    tmp[:] = 10.0 * k + 0.1 * i - 0.01 * j
    ds.createVariable("stn", "i1", ("time", "lat", "lon"))[:] = 8

with netCDF4.Dataset(sys.argv[2], "w") as ds:
    lat, lon = np.arange(89.5, -90.0, -1.0), np.arange(0.5, 360.0, 1.0)
    axes(ds, lat, lon, 2)
    k, i, j = np.meshgrid(np.arange(2), np.arange(lat.size), np.arange(lon.size), indexing="ij")
    pr = ds.createVariable("precip", "f4", ("time", "lat", "lon"))
    pr.units = "mm/day"
    pr[:] = 1000.0 * j + i + 0.5 * k
"""


@pytest.fixture(scope="module")
def product_files(tmp_path_factory, engine_python):
    folder = tmp_path_factory.mktemp("products")
    cru, gpcp = folder / "cru_like.nc", folder / "gpcp_like.nc"
    subprocess.run([engine_python, "-c", WRITER, str(cru), str(gpcp)], check=True)
    return folder, cru, gpcp


def band_descriptions(path) -> list[str]:
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    return [dataset.GetRasterBand(i + 1).GetDescription() for i in range(dataset.RasterCount)]


def test_importstack_headless_one_variable_of_a_multi_variable_file(
        tmp_path, product_files, plugin_parent, engine_python):
    from osgeo import gdal

    _, cru, _ = product_files
    profile = tmp_path / "profile"
    enabled = run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    output = tmp_path / "tmp.tif"
    run = run_qgis_process(["--json", "run", "soilp:importstack", "--", f"INPUT={cru}",
                            "VARIABLE=tmp", f"OUTPUT={output}"], profile, plugin_parent,
                           {"SOILP_PYTHON": engine_python})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json_results(run)["results"]
    assert results["OUTPUT"] == str(output)
    assert band_descriptions(output) == ["2001-01-01", "2001-02-01", "2001-03-01"]
    dataset = gdal.Open(str(output))
    assert dataset.GetMetadataItem("units") == "degrees Celsius"
    assert dataset.GetGeoTransform() == pytest.approx((-9.5, 0.5, 0.0, 44.0, 0.0, -0.5))
    # GDAL's netCDF driver reads the variable in the file's (south-first) row order.
    source = gdal.Open(f'NETCDF:"{cru}":tmp')
    for band in (1, 3):
        raw = source.GetRasterBand(band).ReadAsArray().astype(float)
        if source.GetGeoTransform()[5] > 0:
            raw = raw[::-1]
        np.testing.assert_allclose(read_with_gdal(output, band), raw, rtol=1e-6)
    # Named cell: 43.75°N 9.25°W is file row 15, column 0 → 10·k + 1.5.
    assert read_with_gdal(output, 3)[0, 0] == pytest.approx(21.5, abs=1e-5)

    # Without VARIABLE the error lists the variables, in one line.
    failed = run_qgis_process(["run", "soilp:importstack", "--", f"INPUT={cru}",
                               f"OUTPUT={tmp_path / 'x.tif'}"], profile, plugin_parent,
                              {"SOILP_PYTHON": engine_python})
    assert failed.returncode != 0
    assert "holds several variables (tmp, stn); choose one with VARIABLE" in (
        failed.stdout + failed.stderr)


def test_importstack_converts_units_in_processing(soilp_provider, product_files, tmp_path):
    import processing

    _, cru, _ = product_files
    result = processing.run("soilp:importstack", {
        "INPUT": str(cru), "VARIABLE": "tmp", "UNITS": "K", "END": "2001-02",
        "OUTPUT": str(tmp_path / "tmp_k.tif")})
    assert band_descriptions(result["OUTPUT"]) == ["2001-01-01", "2001-02-01"]
    assert read_with_gdal(result["OUTPUT"], 2)[0, 0] == pytest.approx(11.5 + 273.15, abs=1e-3)
    with pytest.raises(QgsProcessingException, match="cannot convert 'degrees Celsius' to 'mm'"):
        processing.run("soilp:importstack", {
            "INPUT": str(cru), "VARIABLE": "tmp", "UNITS": "mm",
            "OUTPUT": str(tmp_path / "bad.tif")})


@pytest.mark.skipif(not BIOMES.is_file(), reason=f"{BIOMES} is absent")
def test_global_0_360_stack_aligned_onto_the_biome_grid_keeps_the_west(soilp_provider,
                                                                      product_files, tmp_path):
    import processing

    _, _, gpcp = product_files
    imported = processing.run("soilp:importstack", {
        "INPUT": str(gpcp), "OUTPUT": str(tmp_path / "precip.tif")})["OUTPUT"]
    for source, name in ((str(gpcp), "direct"), (imported, "imported")):
        aligned = processing.run("soilp:aligngrid", {
            "INPUT": source, "REFERENCE": str(BIOMES), "RESAMPLING": 2,  # nearest
            "OUTPUT": str(tmp_path / f"aligned_{name}.tif")})["OUTPUT"]
        for band, step in ((1, 0), (2, 1)):
            values = read_with_gdal(aligned, band)
            assert values.shape == (360, 1440)
            assert np.isfinite(values).all(), f"{name}: nodata cells on the biome grid"
            # Target cells (0.25°, from 180°W and 90°N): centre lon −180 + 0.25 (c + 0.5).
            for lon, lat in ((-100.125, 40.125), (-58.375, 10.125), (-0.125, 51.375),
                             (-179.875, 65.125), (0.125, 51.375), (120.125, 30.125)):
                col, row = int((lon + 180.0) / 0.25), int((90.0 - lat) / 0.25)
                j = int(np.floor(lon % 360.0))  # file column of the 1° cell (0.5°E = column 0)
                i = int(np.floor(90.0 - lat))  # file row (89.5°N = row 0)
                assert values[row, col] == pytest.approx(1000.0 * j + i + 0.5 * step), \
                    (name, lon, lat)
