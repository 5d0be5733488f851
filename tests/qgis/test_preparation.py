"""The data-preparation algorithms through Processing: aggregate, align, rasterize, ecoregion
series, each checked against an independent numpy or QGIS computation on GDAL-written inputs."""

from __future__ import annotations

import calendar
import csv

import numpy as np
import pytest
from conftest import (
    SHARED_DATA,
    daily_dates,
    monthly_dates,
    read_with_gdal,
    write_daily_stack_with_gdal,
    write_stack_with_gdal,
)
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)

IBERIA_BIOMES = SHARED_DATA / "biomes" / "wwf_biomes_polygonized_iberia.gpkg"


def band_descriptions(path) -> list[str]:
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    return [dataset.GetRasterBand(i + 1).GetDescription() for i in range(dataset.RasterCount)]


def write_codes_with_gdal(path, codes, west: float = 0.0, north: float = 10.0, cell: float = 1.0):
    """A one-band Byte ecoregion raster, 0 = no ecoregion."""
    from osgeo import gdal, osr

    rows, cols = codes.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, 1, gdal.GDT_Byte)
    dataset.SetGeoTransform((west, cell, 0.0, north, 0.0, -cell))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).SetNoDataValue(0)
    dataset.GetRasterBand(1).WriteArray(codes.astype(np.uint8))
    dataset = None
    return path


def memory_layer(geometry_type: str, name: str, features) -> QgsVectorLayer:
    """A memory layer in EPSG:4326 with fields BIOME (Real) and NAME; ``features`` are
    ``(QgsGeometry, biome, name)``."""
    layer = QgsVectorLayer(f"{geometry_type}?crs=EPSG:4326&field=BIOME:double&field=NAME:string",
                           name, "memory")
    added = []
    for geometry, biome, label in features:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        feature.setAttributes([biome, label])
        added.append(feature)
    assert layer.dataProvider().addFeatures(added)[0]
    return layer


def rectangle(west, south, east, north) -> QgsGeometry:
    return QgsGeometry.fromRect(QgsRectangle(west, south, east, north))


# --------------------------------------------------------------------------- aggregate time
@pytest.fixture(scope="module")
def daily_precipitation(tmp_path_factory):
    """Daily precipitation 2000-12-20 … 2001-04-05 on 3×4 cells: dry days, exact-threshold days,
    two days missing in February at one cell (kept, scaled) and four in January at another (below
    90 % coverage: dropped)."""
    folder = tmp_path_factory.mktemp("aggregate")
    dates = daily_dates("2000-12-20", 107)
    rng = np.random.default_rng(11)
    values = np.where(rng.random((107, 3, 4)) < 0.5, 0.0, rng.gamma(0.8, 6.0, (107, 3, 4)))
    values[rng.random(values.shape) < 0.05] = 2.5  # exactly on the wet-day threshold
    values = values.astype(np.float32)
    day = np.array(dates, dtype="datetime64[D]")
    values[np.flatnonzero(day == np.datetime64("2001-02-10"))[0] + np.arange(2), 0, 1] = np.nan
    values[np.flatnonzero(day == np.datetime64("2001-01-05"))[0] + np.arange(4), 2, 3] = np.nan
    return write_daily_stack_with_gdal(folder / "rr.tif", values, dates), values, day, folder


def expected_monthly(values, days, statistic, threshold):
    """Per calendar month of 2001-01…03: sum / wet-day count of the valid days, scaled by
    days in month / valid days; NaN below 90 % valid days."""
    result = []
    for month in (1, 2, 3):
        in_month = (days >= np.datetime64(f"2001-{month:02d}-01")) & (
            days < np.datetime64(f"2001-{month + 1:02d}-01"))
        x = values[in_month].astype(np.float64)
        days_in_month = calendar.monthrange(2001, month)[1]
        assert x.shape[0] == days_in_month
        valid = np.isfinite(x).sum(axis=0)
        total = np.nansum(x, axis=0) if statistic == "sum" else (x >= threshold).sum(axis=0)
        value = total * days_in_month / valid
        result.append(np.where(valid >= 0.9 * days_in_month, value, np.nan))
    return np.array(result)


@pytest.mark.parametrize("statistic, threshold", [("sum", 1.0), ("wet_day_count", 2.5)])
def test_daily_stack_to_monthly_sum_and_wet_day_count(soilp_provider, daily_precipitation,
                                                      statistic, threshold):
    import processing

    stack, values, days, folder = daily_precipitation
    result = processing.run("soilp:aggregatetime", {
        "INPUT": str(stack), "SCALE": 0, "STATISTIC": 1 if statistic == "sum" else 2,
        "WET_DAY_THRESHOLD": threshold, "PROCESSES": 1,
        "OUTPUT": str(folder / f"monthly_{statistic}.tif")})
    output = result["OUTPUT"]
    expected = expected_monthly(values, days, statistic, threshold)
    actual = np.array([read_with_gdal(output, band=b) for b in (1, 2, 3)])
    np.testing.assert_allclose(actual, expected, rtol=1e-5)
    assert np.isnan(actual[0, 2, 3]) and np.isfinite(actual[1, 0, 1])
    # the partial December and April at the ends are dropped; bands are dated by month start
    assert band_descriptions(output) == ["2001-01-01", "2001-02-01", "2001-03-01"]


def test_wet_day_count_of_a_monthly_stack_is_refused(soilp_provider, tmp_path):
    import processing

    monthly = write_stack_with_gdal(tmp_path / "monthly.tif", np.ones((12, 2, 2)),
                                    monthly_dates(2000, 1))
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:aggregatetime", {
            "INPUT": str(monthly), "SCALE": 1, "STATISTIC": 2,
            "OUTPUT": str(tmp_path / "out.tif")})
    assert ("wet_day_count needs daily values but INPUT (monthly.tif) is a monthly stack"
            in str(raised.value))
    assert not (tmp_path / "out.tif").exists()


# --------------------------------------------------------------------------- align grid
def test_nearest_onto_a_finer_grid_repeats_the_parent_cells(soilp_provider, tmp_path):
    import processing

    dates = monthly_dates(2000, 1)[:3]
    parent = np.random.default_rng(5).normal(10.0, 3.0, (3, 4, 6))
    parent[1, 2, 3] = np.nan
    stack = write_stack_with_gdal(tmp_path / "coarse.tif", parent, dates, cell=1.0)
    reference = write_stack_with_gdal(tmp_path / "fine_reference.tif", np.zeros((1, 8, 12)),
                                      dates[:1], cell=0.5)
    result = processing.run("soilp:aligngrid", {
        "INPUT": str(stack), "REFERENCE": str(reference), "RESAMPLING": 2,
        "OUTPUT": str(tmp_path / "aligned.tif")})
    for band in range(3):
        expected = np.kron(parent[band], np.ones((2, 2))).astype(np.float32)
        np.testing.assert_array_equal(read_with_gdal(result["OUTPUT"], band=band + 1), expected)
    assert band_descriptions(result["OUTPUT"]) == ["2000-01-01", "2000-02-01", "2000-03-01"]


def test_average_onto_a_coarser_grid_is_the_block_mean(soilp_provider, tmp_path):
    import processing

    dates = monthly_dates(2000, 1)[:2]
    fine = np.random.default_rng(6).gamma(2.0, 30.0, (2, 8, 12))
    stack = write_stack_with_gdal(tmp_path / "fine.tif", fine, dates, cell=0.5)
    reference = write_stack_with_gdal(tmp_path / "coarse_reference.tif", np.zeros((1, 4, 6)),
                                      dates[:1], cell=1.0)
    result = processing.run("soilp:aligngrid", {
        "INPUT": str(stack), "REFERENCE": str(reference),
        "OUTPUT": str(tmp_path / "coarsened.tif")})  # RESAMPLING defaults to average
    block_mean = fine.astype(np.float32).astype(np.float64).reshape(2, 4, 2, 6, 2).mean(axis=(2, 4))
    for band in range(2):
        np.testing.assert_allclose(read_with_gdal(result["OUTPUT"], band=band + 1),
                                   block_mean[band], rtol=1e-5)


# --------------------------------------------------------------------------- rasterize
#: a 0.25° grid over Iberia with cell edges on the polygons' 1/12° lattice, so that every cell
#: centre lies ≥ 1/24° off the nearest polygon edge (the polygons come from a 5′ raster)
IBERIA_GRID = dict(west=-9.5, north=44.5, cell=0.25)
IBERIA_SHAPE = (36, 54)


@pytest.fixture(scope="module")
def iberia_reference(tmp_path_factory):
    if not IBERIA_BIOMES.is_file():
        pytest.skip(f"real data not found: {IBERIA_BIOMES}")
    folder = tmp_path_factory.mktemp("rasterize")
    reference = write_stack_with_gdal(folder / "reference.tif", np.zeros((1, *IBERIA_SHAPE)),
                                      ["2000-01-01"], **IBERIA_GRID)
    return reference, folder


def codes_by_point_in_polygon(layer: QgsVectorLayer) -> np.ndarray:
    """BIOME of the polygon containing each cell centre of IBERIA_GRID (0 where none), by QGIS."""
    rows, cols = IBERIA_SHAPE
    west, north, cell = IBERIA_GRID["west"], IBERIA_GRID["north"], IBERIA_GRID["cell"]
    codes = np.zeros(IBERIA_SHAPE, dtype=np.int64)
    polygons = [(feature.geometry(), int(feature["BIOME"])) for feature in layer.getFeatures()]
    for row in range(rows):
        for col in range(cols):
            centre = QgsGeometry.fromPointXY(QgsPointXY(west + (col + 0.5) * cell,
                                                        north - (row + 0.5) * cell))
            for geometry, code in polygons:
                if geometry.contains(centre):
                    codes[row, col] = code
    return codes


def test_real_biome_polygons_rasterize_to_the_polygon_under_each_cell_centre(
        soilp_provider, iberia_reference):
    import processing

    reference, folder = iberia_reference
    result = processing.run("soilp:rasterizeecoregions", {
        "INPUT": str(IBERIA_BIOMES), "REFERENCE": str(reference),
        "OUTPUT": str(folder / "biomes.tif")})
    layer = QgsVectorLayer(str(IBERIA_BIOMES), "biomes", "ogr")
    expected = codes_by_point_in_polygon(layer)
    assert set(np.unique(expected)) == {0, 4, 5, 12}
    actual = np.nan_to_num(read_with_gdal(result["OUTPUT"]), nan=0.0)
    np.testing.assert_array_equal(actual, expected)


def test_rasterized_biomes_open_with_the_biome_names(soilp_provider, iberia_reference):
    import processing

    reference, folder = iberia_reference
    project = QgsProject.instance()
    project.clear()
    output = str(folder / "loaded_biomes.tif")
    processing.runAndLoadResults("soilp:rasterizeecoregions", {
        "INPUT": str(IBERIA_BIOMES), "FIELD": "BIOME", "REFERENCE": str(reference),
        "OUTPUT": output})
    loaded = {layer.source(): layer for layer in project.mapLayers().values()}[output]
    assert loaded.renderer().type() == "paletted"
    labels = {c.value: c.label for c in loaded.renderer().classes()}
    polygons = QgsVectorLayer(str(IBERIA_BIOMES), "biomes", "ogr")
    for feature in polygons.getFeatures():
        assert feature["BIOME_NAME"] in labels[int(feature["BIOME"])]
    project.clear()


def test_missing_field_names_the_layer_and_its_fields(soilp_provider, tmp_path):
    import processing

    layer = memory_layer("Polygon", "my ecoregions", [(rectangle(0, 6, 6, 10), 4, "a")])
    reference = write_stack_with_gdal(tmp_path / "reference.tif", np.zeros((1, 4, 6)),
                                      ["2000-01-01"])
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:rasterizeecoregions", {
            "INPUT": layer, "FIELD": "ECO_CODE", "REFERENCE": str(reference),
            "OUTPUT": str(tmp_path / "codes.tif")})
    assert ("INPUT layer 'my ecoregions' has no field 'ECO_CODE' (its fields: BIOME, NAME)"
            in str(raised.value))
    assert not (tmp_path / "codes.tif").exists()


# --------------------------------------------------------------------------- ecoregion series
@pytest.fixture(scope="module")
def series_stack(tmp_path_factory):
    """12 monthly steps on 4×6 cells; one cell never valid, others missing some months."""
    folder = tmp_path_factory.mktemp("series")
    rng = np.random.default_rng(8)
    values = rng.normal(0.25, 0.05, (12, 4, 6)).astype(np.float32)
    values[:, 0, 0] = np.nan
    values[rng.random(values.shape) < 0.1] = np.nan
    values[4, 2:, 3:] = np.nan  # ecoregion 12 has no valid cell in May
    return write_stack_with_gdal(folder / "sm.tif", values, monthly_dates(2000, 1)), values, folder


def expected_series(values, codes) -> dict:
    """(ecoregion, date) → (mean, valid cells), by numpy."""
    dates = monthly_dates(2000, 1)
    table = {}
    for code in np.unique(codes[codes > 0]):
        for t, date in enumerate(dates):
            inside = values[t][codes == code].astype(np.float64)
            valid = np.isfinite(inside)
            table[(int(code), date)] = (inside[valid].mean() if valid.any() else np.nan,
                                        int(valid.sum()))
    return table


def read_series(path) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["ecoregion", "date", "mean", "valid_cells"]
    return {(int(r["ecoregion"]), r["date"]): (float(r["mean"]), int(r["valid_cells"]))
            for r in rows}


def assert_same_series(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    keys = sorted(expected)
    np.testing.assert_allclose([actual[k][0] for k in keys], [expected[k][0] for k in keys],
                               rtol=1e-5)
    assert [actual[k][1] for k in keys] == [expected[k][1] for k in keys]


def test_series_from_an_ecoregion_raster_are_the_numpy_means(soilp_provider, series_stack):
    import processing

    stack, values, folder = series_stack
    codes = np.zeros((4, 6), dtype=np.int64)
    codes[:, :3], codes[:2, 3:], codes[2:, 3:] = 4, 5, 12
    codes[3, 0] = 0
    raster = write_codes_with_gdal(folder / "codes.tif", codes)
    result = processing.run("soilp:ecoregionseries", {
        "INPUT": str(stack), "ECOREGIONS_RASTER": str(raster),
        "OUTPUT": str(folder / "series_raster.csv")})
    expected = expected_series(values, codes)
    assert np.isnan(expected[(12, "2000-05-01")][0])
    assert_same_series(read_series(result["OUTPUT"]), expected)


def test_series_from_polygons_are_the_numpy_means(soilp_provider, series_stack):
    import processing

    stack, values, folder = series_stack
    layer = memory_layer("Polygon", "regions", [(rectangle(0, 6, 3, 10), 4, "west"),
                                                (rectangle(3, 8, 6, 10), 12, "north-east")])
    codes = np.zeros((4, 6), dtype=np.int64)
    codes[:, :3], codes[:2, 3:] = 4, 12
    result = processing.run("soilp:ecoregionseries", {
        "INPUT": str(stack), "ECOREGIONS": layer, "FIELD": "BIOME",
        "OUTPUT": str(folder / "series_polygons.csv")})
    assert_same_series(read_series(result["OUTPUT"]), expected_series(values, codes))


def test_a_point_layer_is_refused_as_ecoregions(soilp_provider, series_stack, tmp_path):
    import processing

    stack, _, _ = series_stack
    points = memory_layer("Point", "stations",
                          [(QgsGeometry.fromPointXY(QgsPointXY(1.5, 8.5)), 4, "a")])
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:ecoregionseries", {
            "INPUT": str(stack), "ECOREGIONS": points, "OUTPUT": str(tmp_path / "series.csv")})
    message = str(raised.value)
    # the check names the user's layer, before the engine starts
    assert "ECOREGIONS layer 'stations' has point geometries; it must be a polygon layer" \
        in message, message
    assert not (tmp_path / "series.csv").exists()


def test_series_without_ecoregions_say_which_parameters_to_give(soilp_provider, series_stack,
                                                               tmp_path):
    import processing

    stack, _, _ = series_stack
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:ecoregionseries", {
            "INPUT": str(stack), "OUTPUT": str(tmp_path / "series.csv")})
    assert "ECOREGIONS (polygon layer) or ECOREGIONS_RASTER is required" in str(raised.value)
