"""Ecoregion rasterizing, loading and mean series (soilp_qgis.ecoregions) on the real WWF files."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas
import numpy as np
import pandas
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS

from soilp_qgis.ecoregions import (
    biome_names,
    ecoregion_mean_series,
    ecoregion_totals,
    load_ecoregions,
    rasterize_ecoregions,
    read_ecoregion_polygons,
    series_from_totals,
    split_layer_uri,
)
from soilp_qgis.errors import InputError, StackMismatchError
from soilp_qgis.timestack import Grid

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
BIOMES = REAL / "biomes"
NH_RASTER = BIOMES / "wwf_biome_code_0p25deg_NH.tif"
NH_POLYGONS = BIOMES / "wwf_biomes_polygonized_0p25deg_NH.gpkg"
IBERIA_POLYGONS = BIOMES / "wwf_biomes_polygonized_iberia.gpkg"
TEOW = REAL / "teow_sample" / "wwf_terr_ecos.gpkg"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent")

WGS84 = CRS.from_epsg(4326)


def raster_grid(path: Path) -> tuple[np.ndarray, Grid]:
    with rasterio.open(path) as source:
        return source.read(1), Grid(source.crs, source.transform, source.width, source.height)


@needs_real
def test_nh_biome_polygons_rasterized_agree_with_the_biome_raster():
    reference, grid = raster_grid(NH_RASTER)
    codes = rasterize_ecoregions(NH_POLYGONS, grid, field="BIOME")
    assert codes.dtype == np.uint8 and codes.shape == reference.shape
    land = reference > 0
    agreement = np.mean(codes[land] == reference[land])
    assert agreement >= 0.99
    assert np.mean(codes[~land] == 0) >= 0.99
    assert set(np.unique(codes[land])) == set(biome_names())  # all 16 WWF classes


@needs_real
def test_polygons_burn_the_code_of_the_polygon_holding_each_cell_centre():
    # three genuine WWF ecoregions (layer geometry type "Unknown", BIOME stored as Real)
    grid = Grid(WGS84, Affine(0.005, 0, -71.85, 0, -0.005, 18.75), 110, 40)
    codes = rasterize_ecoregions(TEOW, grid, field="BIOME")
    frame = geopandas.read_file(TEOW)
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    x = grid.transform.c + grid.transform.a * cols
    y = grid.transform.f + grid.transform.e * rows
    expected = np.zeros(codes.shape, dtype=np.int64)
    for geometry, biome in zip(frame.geometry, frame["BIOME"]):
        expected[shapely.contains_xy(geometry, x, y)] = int(biome)
    assert set(np.unique(expected)) == {0, 1, 2, 3}
    assert np.mean(codes == expected) >= 0.999  # only cells whose centre lies on an edge may differ
    eco_ids = rasterize_ecoregions(TEOW, grid, field="ECO_ID")
    assert eco_ids.dtype == np.int32  # codes above 255
    assert set(np.unique(eco_ids)) == {0, 60127, 60215, 60305}


@needs_real
def test_polygons_in_another_crs_are_reprojected_onto_the_grid(tmp_path):
    reference, grid = raster_grid(NH_RASTER)
    rows, cols = slice(176, 216), slice(680, 740)  # Iberia: 10°W–5°E, 36°–46°N
    sub = Grid(grid.crs, grid.transform @ Affine.translation(cols.start, rows.start), 60, 40)
    expected = reference[rows, cols]
    mercator = tmp_path / "iberia_3857.gpkg"
    frame = geopandas.read_file(NH_POLYGONS)
    frame.set_geometry(frame.geometry.clip_by_rect(-11, 35, 6, 47)).to_crs(3857).to_file(
        mercator, layer="biomes")
    codes = rasterize_ecoregions(f"{mercator}|layername=biomes", sub)
    land = expected > 0
    assert land.sum() > 500
    assert np.mean(codes[land] == expected[land]) >= 0.99
    assert set(np.unique(codes[land])) == {4, 5, 12}


@needs_real
def test_load_ecoregions_takes_a_raster_on_the_grid_or_a_polygon_layer():
    reference, grid = raster_grid(NH_RASTER)
    from_raster = load_ecoregions(NH_RASTER, grid)
    np.testing.assert_array_equal(from_raster, reference)
    from_polygons = load_ecoregions(NH_POLYGONS, grid, field="BIOME")
    land = reference > 0
    assert np.mean(from_polygons[land] == reference[land]) >= 0.99
    shifted = Grid(grid.crs, grid.transform @ Affine.translation(1, 0), grid.width, grid.height)
    with pytest.raises(StackMismatchError,
                       match=r"ecoregion raster .* and the stack have different grids: origin"):
        load_ecoregions(NH_RASTER, shifted)
    smaller = Grid(grid.crs, grid.transform, 720, 180)
    with pytest.raises(StackMismatchError, match="size 1440×360 vs 720×180 cells"):
        load_ecoregions(NH_RASTER, smaller)


@needs_real
def test_non_polygon_layer_is_refused_naming_the_layer(tmp_path):
    points = tmp_path / "stations.gpkg"
    frame = geopandas.read_file(IBERIA_POLYGONS)
    frame.set_geometry(frame.representative_point()).to_file(points, layer="stations")
    with pytest.raises(InputError, match=r"layer 'stations' of .*stations.gpkg is a Point layer; "
                                         r"ecoregions must be polygons"):
        rasterize_ecoregions(points, Grid(WGS84, Affine(1, 0, -10, 0, -1, 45), 10, 10))


@needs_real
def test_missing_field_lists_the_fields_present():
    grid = Grid(WGS84, Affine(1, 0, -10, 0, -1, 45), 10, 10)
    with pytest.raises(InputError, match=r"layer 'biomes' of .* has no field 'ECO_ID'; "
                                         r"fields present: BIOME, BIOME_NAME"):
        rasterize_ecoregions(IBERIA_POLYGONS, grid, field="ECO_ID")
    with pytest.raises(InputError, match="field 'BIOME_NAME' .* holds text"):
        rasterize_ecoregions(IBERIA_POLYGONS, grid, field="BIOME_NAME")
    with pytest.raises(InputError, match="has no layer 'nope'; layers present: biomes"):
        rasterize_ecoregions(IBERIA_POLYGONS, grid, layer="nope")


def test_fractional_codes_and_empty_features(tmp_path):
    path = tmp_path / "regions.gpkg"
    squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)]
    geopandas.GeoDataFrame({"CODE": [1.0, None, 3.0], "BAD": [1.0, 2.5, 3.0]}, geometry=squares,
                           crs=4326).to_file(path)
    polygons = read_ecoregion_polygons(path, field="CODE")
    assert list(polygons.codes) == [1, 3] and polygons.left_out == 1
    grid = Grid(WGS84, Affine(0.5, 0, 0, 0, -0.5, 1), 6, 2)
    np.testing.assert_array_equal(rasterize_ecoregions(path, grid, field="CODE"),
                                  [[1, 1, 0, 0, 3, 3]] * 2)
    with pytest.raises(InputError, match="field 'BAD' .* holds 2.5, not an integer"):
        rasterize_ecoregions(path, grid, field="BAD")


def test_split_layer_uri():
    assert split_layer_uri("/d/e.gpkg|layername=biomes") == ("/d/e.gpkg", "biomes")
    assert split_layer_uri("/d/e.gpkg|layerid=0|layername=a b") == ("/d/e.gpkg", "a b")
    assert split_layer_uri("/d/e.shp") == ("/d/e.shp", None)


@needs_real
def test_biome_names_match_the_wwf_code_table():
    with open(BIOMES / "biome_codes.csv", newline="", encoding="utf-8") as handle:
        table = {int(row["WWF_BIOME"]): row["BIOME_NAME"] for row in csv.DictReader(handle)}
    assert biome_names() == table


def test_ecoregion_mean_series_matches_a_pandas_groupby():
    rng = np.random.default_rng(11)
    data = rng.normal(size=(5, 7, 9))
    data[rng.random(data.shape) < 0.2] = np.nan
    data[3, :, :] = np.nan  # a date with no valid cell at all
    codes = rng.choice([0, 4, 5, 12], size=(7, 9))
    dates = np.arange("2001-01", "2001-06", dtype="datetime64[M]").astype("datetime64[D]")
    series = ecoregion_mean_series(data, codes, dates)

    frame = pandas.DataFrame({"code": np.tile(codes.reshape(-1), 5),
                              "date": np.repeat(dates, 63), "value": data.reshape(-1)})
    frame = frame[frame.code > 0]
    grouped = frame.groupby(["code", "date"])["value"].agg(["mean", "count"]).reset_index()
    assert list(series.ecoregion) == list(grouped.code)
    assert list(series.date) == list(grouped.date.to_numpy().astype("datetime64[D]"))
    np.testing.assert_allclose(series.mean, grouped["mean"], equal_nan=True)
    np.testing.assert_array_equal(series.valid_cells, grouped["count"])
    assert np.isnan(series.mean[series.date == dates[3]]).all()

    # totals of two windows add up to the totals of the whole grid
    top, bottom = ecoregion_totals(data[:, :3], codes[:3]), ecoregion_totals(data[:, 3:], codes[3:])
    whole = ecoregion_totals(data, codes)
    assert list(top[0]) == list(bottom[0]) == list(whole[0]) == [4, 5, 12]
    np.testing.assert_allclose(top[1] + bottom[1], whole[1])
    merged = series_from_totals(whole[0], top[1] + bottom[1], top[2] + bottom[2], dates)
    np.testing.assert_allclose(merged.mean, series.mean, equal_nan=True)


def test_ecoregion_mean_series_refuses_mismatched_inputs():
    with pytest.raises(InputError, match="does not fit"):
        ecoregion_mean_series(np.zeros((2, 3, 3)), np.ones((3, 4)), ["2001-01-01", "2001-02-01"])
    with pytest.raises(InputError, match="2 time steps but 1 dates"):
        ecoregion_mean_series(np.zeros((2, 3, 3)), np.ones((3, 3)), ["2001-01-01"])
