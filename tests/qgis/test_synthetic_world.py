"""soilp:syntheticworld from the toolbox (processing.run) and headless (qgis_process)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import json_results, read_with_gdal, run_qgis_process
from osgeo import gdal
from qgis.core import QgsVectorLayer

SMALL_WORLD = {"EXTENT": "-30,30,20,60 [EPSG:4326]", "RESOLUTION": 4.0, "START_YEAR": 2000,
               "END_YEAR": 2002, "SEED": 5}


@pytest.fixture(scope="module")
def small_world(soilp_provider, tmp_path_factory):
    import processing

    folder = tmp_path_factory.mktemp("world")
    result = processing.run("soilp:syntheticworld", dict(SMALL_WORLD, OUTPUT_FOLDER=str(folder)))
    return result, folder


def test_stacks_have_the_promised_grid_dates_and_physical_ranges(small_world):
    result, folder = small_world
    precipitation = gdal.Open(result["PRECIPITATION"])
    assert (precipitation.RasterXSize, precipitation.RasterYSize) == (15, 10)
    assert precipitation.GetGeoTransform() == (-30.0, 4.0, 0.0, 60.0, 0.0, -4.0)
    assert precipitation.RasterCount == 365 + 366 + 365          # 2000 is a leap year
    assert precipitation.GetRasterBand(1).GetDescription() == "2000-01-01"
    assert precipitation.GetMetadataItem("time_scale") == "daily"
    soil = gdal.Open(result["SOIL_MOISTURE_0_7CM"])
    assert soil.RasterCount == 36 and soil.GetRasterBand(36).GetDescription() == "2002-12-01"
    land = read_with_gdal(result["ECOREGIONS_RASTER"]) > 0
    assert 0 < land.sum() == result["LAND_CELLS"]
    for band in (1, 18, 36):
        moisture = read_with_gdal(result["SOIL_MOISTURE_0_7CM"], band)
        assert np.isfinite(moisture[land]).all() and np.isnan(moisture[~land]).all()
        assert ((moisture[land] > 0) & (moisture[land] < 0.6)).all()
    rain = np.stack([read_with_gdal(result["PRECIPITATION"], b)[land] for b in range(1, 366)])
    assert (rain >= 0).all() and 0.1 < (rain > 0.1).mean() < 0.9     # wet and dry days


def test_ecoregion_polygons_carry_biome_codes_and_open_styled(small_world):
    result, _ = small_world
    layer = QgsVectorLayer(result["ECOREGIONS"], "ecoregions", "ogr")
    assert layer.isValid()
    codes = {int(f["BIOME"]) for f in layer.getFeatures()}
    codes_raster = read_with_gdal(result["ECOREGIONS_RASTER"])  # 0 (sea) is nodata
    raster_codes = set(np.unique(codes_raster[np.isfinite(codes_raster)]).astype(int))
    assert codes == raster_codes
    message, ok = layer.loadDefaultStyle()
    assert ok, message
    assert layer.renderer().type() == "categorizedSymbol"
    assert layer.renderer().classAttribute() == "BIOME"


def test_same_seed_same_world_headless(small_world, tmp_path, plugin_parent, engine_python):
    """qgis_process gives the very same world as processing.run for the same seed."""
    result, _ = small_world
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    args = ["--json", "run", "soilp:syntheticworld", "--"]
    args += [f"{key}={value}" for key, value in SMALL_WORLD.items()]
    args.append(f"OUTPUT_FOLDER={tmp_path / 'headless'}")
    completed = run_qgis_process(args, profile, plugin_parent, {"SOILP_PYTHON": engine_python})
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    headless = json_results(completed)["results"]
    for band in (1, 200, 1000):
        np.testing.assert_array_equal(read_with_gdal(headless["PRECIPITATION"], band),
                                      read_with_gdal(result["PRECIPITATION"], band))
    np.testing.assert_array_equal(read_with_gdal(headless["GPP"], 30),
                                  read_with_gdal(result["GPP"], 30))
