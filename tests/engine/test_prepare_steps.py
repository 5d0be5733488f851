"""The preparation steps end to end through the CLI, on the real files, read back independently."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas
import netCDF4
import numpy as np
import pandas
import pytest
import rasterio
import shapely
from affine import Affine

from soilp_qgis import cli
from soilp_qgis.prepare import align_to_grid
from soilp_qgis.protocol import PREFIX, SilentReporter
from soilp_qgis.steps.align_grid import align_stack
from soilp_qgis.timestack import (
    Grid,
    open_stack_writer,
    read_stack,
    read_stack_info,
    write_raster,
    write_stack,
)

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
EOBS = REAL / "cru_eobs_iberia" / "eobs_v17_iberia_daily_2000.nc"
CRU = REAL / "cru_eobs_iberia" / "cru_ts4.00_iberia_monthly_1981-2010.nc"
NH_RASTER = REAL / "biomes" / "wwf_biome_code_0p25deg_NH.tif"
NH_POLYGONS = REAL / "biomes" / "wwf_biomes_polygonized_0p25deg_NH.gpkg"
IBERIA_POLYGONS = REAL / "biomes" / "wwf_biomes_polygonized_iberia.gpkg"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data folder {REAL} is absent")


def run(capsys, step: str, **params) -> tuple[int, list[dict]]:
    """Run a step through the CLI in this process; its exit code and protocol messages."""
    code = cli.main([step] + [f"{key}={value}" for key, value in params.items()])
    out = capsys.readouterr().out
    return code, [json.loads(line[len(PREFIX):]) for line in out.splitlines()
                  if line.startswith(PREFIX)]


def netcdf_north_up(path: Path, variable: str) -> tuple[np.ndarray, list]:
    """A variable as float64 (time, rows, cols) north-up, and its time stamps, via netCDF4."""
    with netCDF4.Dataset(path) as ds:
        values = ds[variable][:].filled(np.nan).astype(np.float64)
        times = netCDF4.num2date(ds["time"][:], ds["time"].units, ds["time"].calendar)
        if ds["lat"][0] < ds["lat"][-1]:
            values = values[:, ::-1, :]
    return np.ascontiguousarray(values), list(times)


def read_tif(path: Path) -> tuple[np.ndarray, list[str], dict]:
    with rasterio.open(path) as src:
        return (src.read(masked=True).astype(np.float64).filled(np.nan), list(src.descriptions),
                src.tags())


def qml_renderer(tif: Path) -> ET.Element:
    return ET.parse(tif.with_suffix(".qml")).getroot().find("pipe/rasterrenderer")


# --- aggregate_time -----------------------------------------------------------------------------

def test_aggregate_time_writes_monthly_volume_and_frequency_of_eobs(tmp_path, capsys):
    rr, times = netcdf_north_up(EOBS, "rr")
    month = np.array([t.month for t in times])
    volume_path, frequency_path = tmp_path / "volume.tif", tmp_path / "frequency.tif"
    code, messages = run(capsys, "aggregate_time", input=f"{EOBS}:rr", scale="monthly",
                         statistic="sum", output=volume_path, processes=1)
    assert code == 0, messages
    assert messages[-1]["result"]["DROPPED_PERIODS"] == []
    code, _ = run(capsys, "aggregate_time", input=f"{EOBS}:rr", scale="monthly",
                  statistic="wet_day_count", wet_day_threshold=1.0, output=frequency_path,
                  processes=1)
    assert code == 0
    volume, dates, tags = read_tif(volume_path)
    frequency, _, frequency_tags = read_tif(frequency_path)
    assert dates == [f"2000-{m:02d}-01" for m in range(1, 13)]
    assert tags["time_scale"] == "monthly" and tags["units"] == "mm month-1"
    assert frequency_tags["units"] == "days"
    for m in range(1, 13):
        np.testing.assert_allclose(volume[m - 1], rr[month == m].sum(axis=0), rtol=1e-5,
                                   equal_nan=True)
        wet = np.where(np.isnan(rr[0]), np.nan, (rr[month == m] >= 1.0).sum(axis=0))
        np.testing.assert_array_equal(frequency[m - 1], wet)
    assert qml_renderer(volume_path).get("type") == "singlebandpseudocolor"


def test_aggregate_time_logs_the_incomplete_seasons_it_leaves_out(tmp_path, capsys):
    output = tmp_path / "seasons.tif"
    code, messages = run(capsys, "aggregate_time", input=f"{EOBS}:rr", scale="seasonal",
                         statistic="mean", output=output, processes=1)
    assert code == 0
    assert {"info": "left out 2 incomplete seasonal period(s) at the ends: DJF 1999-12, "
                    "DJF 2000-12"} in messages
    info = read_stack_info(output)
    assert [str(d) for d in info.dates] == ["2000-03-01", "2000-06-01", "2000-09-01"]
    assert info.time_scale == "seasonal"


def test_daily_statistic_of_a_monthly_stack_fails_naming_the_stack(tmp_path, capsys):
    code, messages = run(capsys, "aggregate_time", input=f"{CRU}:pr", scale="annual",
                         statistic="wet_day_count", output=tmp_path / "x.tif")
    assert code == 1
    assert messages[-1] == {"error": "wet_day_count needs daily values but INPUT "
                                     "(cru_ts4.00_iberia_monthly_1981-2010.nc:pr) is a monthly "
                                     "stack; use sum or mean, or give the daily stack"}
    assert not (tmp_path / "x.tif").exists()


def test_stack_without_dates_fails_with_one_line(tmp_path, capsys):
    undated = tmp_path / "undated.tif"
    grid = Grid.regular(-10.0, 44.0, 0.5, 4, 3)
    write_raster(undated, np.ones((3, 3, 4), np.float32), grid, "float32", -9999.0,
                 style_qml=False)
    code, messages = run(capsys, "aggregate_time", input=undated, scale="annual",
                         statistic="mean", output=tmp_path / "y.tif")
    assert code == 1
    assert "band 1 has no date" in messages[-1]["error"]


# --- align_grid ---------------------------------------------------------------------------------

def test_align_grid_cru_to_quarter_degree_keeps_dates_and_regional_means(tmp_path, capsys):
    pr, times = netcdf_north_up(CRU, "pr")
    reference = tmp_path / "reference.tif"
    fine = Grid.regular(-9.5, 44.0, 0.25, 52, 32)  # CRU's extent (9.5°W–3.5°E, 36°–44°N) at 0.25°
    write_raster(reference, np.zeros(fine.shape, np.uint8), fine, "uint8", None, style_qml=False)
    for method in ("average", "bilinear"):
        output = tmp_path / f"pr_{method}.tif"
        code, messages = run(capsys, "align_grid", input=f"{CRU}:pr", reference=reference,
                             resampling=method, output=output)
        assert code == 0, messages
        aligned, dates, tags = read_tif(output)
        assert dates == [f"{t.year:04d}-{t.month:02d}-01" for t in times]  # 360 months kept
        assert tags["time_scale"] == "monthly" and tags["units"] == "mm month-1"
        with rasterio.open(output) as src:
            assert src.transform.almost_equals(fine.transform) and src.shape == (32, 52)
        ratio = np.nanmean(aligned, axis=(1, 2)) / np.nanmean(pr, axis=(1, 2))
        assert np.all(np.abs(ratio - 1) < 0.01), (method, np.abs(ratio - 1).max())
    exact = read_tif(tmp_path / "pr_average.tif")[0]
    np.testing.assert_allclose(exact, np.repeat(np.repeat(pr, 2, 1), 2, 2), rtol=1e-6,
                               equal_nan=True)


@pytest.mark.parametrize("crs, method", [("EPSG:4326", "bilinear"), ("EPSG:3035", "average")])
def test_align_in_strips_equals_one_whole_grid_reprojection(tmp_path, crs, method):
    eobs = read_stack_info(f"{EOBS}:rr")
    five_days = tmp_path / "five_days.tif"
    write_stack(five_days, read_stack(eobs, time=slice(0, 5)), eobs.grid, eobs.dates[:5],
                "daily", "mm", style_qml=False)
    info = read_stack_info(five_days)
    if crs == "EPSG:4326":
        target = Grid.regular(-9.9, 43.9, 0.1, 140, 75)
    else:  # ETRS89 LAEA Europe, 25 km cells over Iberia
        target = Grid(crs, Affine(25000.0, 0, 2600000.0, 0, -25000.0, 2500000.0), 48, 36)
    whole = align_to_grid(read_stack(info), info.grid, target, method)
    output = tmp_path / "strips.tif"
    with open_stack_writer(output, target, info.dates, "daily", "mm", style_qml=False) as writer:
        align_stack(info, target, method, writer, SilentReporter(),
                    block_values=5 * info.grid.width * 3)  # strips of a few rows each
    strips = read_tif(output)[0]
    assert np.isfinite(whole).sum() > 1000
    np.testing.assert_allclose(strips, whole, rtol=1e-5, atol=1e-4, equal_nan=True)


# --- rasterize_ecoregions -------------------------------------------------------------------------

def test_rasterize_ecoregions_step_matches_the_biome_raster_and_names_the_biomes(tmp_path, capsys):
    output = tmp_path / "biomes.tif"
    code, messages = run(capsys, "rasterize_ecoregions", input=NH_POLYGONS, field="BIOME",
                         reference=NH_RASTER, output=output)
    assert code == 0, messages
    with rasterio.open(NH_RASTER) as src:
        reference = src.read(1)
    with rasterio.open(output) as src:
        codes = src.read(1)
        assert src.dtypes[0] == "uint8" and src.nodata == 0
    land = reference > 0
    assert np.mean(codes[land] == reference[land]) >= 0.99
    with open(REAL / "biomes" / "biome_codes.csv", newline="", encoding="utf-8") as handle:
        names = {row["WWF_BIOME"]: row["BIOME_NAME"] for row in csv.DictReader(handle)}
    renderer = qml_renderer(output)
    assert renderer.get("type") == "paletted"
    labels = {entry.get("value"): entry.get("label") for entry in renderer.iter("paletteEntry")}
    assert labels == {code: f"{code} {name}" for code, name in names.items()}
    cells = messages[-1]["result"]["CELLS_PER_CODE"]
    assert cells == {str(c): int(n) for c, n in zip(*np.unique(codes[codes > 0],
                                                               return_counts=True))}


def test_rasterize_ecoregions_refuses_points_and_a_missing_field(tmp_path, capsys):
    points = tmp_path / "points.gpkg"
    frame = geopandas.read_file(IBERIA_POLYGONS)
    frame.set_geometry(frame.representative_point()).to_file(points, layer="sites")
    code, messages = run(capsys, "rasterize_ecoregions", input=points, reference=NH_RASTER,
                         output=tmp_path / "a.tif")
    assert code == 1
    assert messages[-1]["error"].endswith("is a Point layer; ecoregions must be polygons")
    assert "layer 'sites'" in messages[-1]["error"]
    code, messages = run(capsys, "rasterize_ecoregions", input=IBERIA_POLYGONS, field="ECO_ID",
                         reference=NH_RASTER, output=tmp_path / "b.tif")
    assert code == 1
    assert messages[-1]["error"].endswith("has no field 'ECO_ID'; fields present: BIOME, "
                                          "BIOME_NAME")


# --- ecoregion_series -----------------------------------------------------------------------------

def test_ecoregion_series_of_eobs_monthly_volume_matches_a_groupby(tmp_path, capsys):
    volume_path, table = tmp_path / "volume.tif", tmp_path / "series.csv"
    assert run(capsys, "aggregate_time", input=f"{EOBS}:rr", scale="monthly", statistic="sum",
               output=volume_path, processes=1)[0] == 0
    code, messages = run(capsys, "ecoregion_series", input=volume_path,
                         ecoregions=IBERIA_POLYGONS, field="BIOME", output=table)
    assert code == 0, messages
    # independent: monthly sums with numpy, biome of each cell centre with shapely
    rr, times = netcdf_north_up(EOBS, "rr")
    month = np.array([t.month for t in times])
    sums = np.stack([rr[month == m].sum(axis=0) for m in range(1, 13)])
    x = -10.0 + 0.25 * (np.arange(61) + 0.5)
    y = 44.25 - 0.25 * (np.arange(33) + 0.5)
    xx, yy = np.meshgrid(x, y)
    biome = np.zeros(xx.shape, dtype=int)
    polygons = geopandas.read_file(IBERIA_POLYGONS)
    for geometry, value in zip(polygons.geometry, polygons["BIOME"]):
        biome[shapely.contains_xy(geometry, xx, yy)] = int(value)
    frame = pandas.DataFrame({"ecoregion": np.tile(biome.ravel(), 12),
                              "date": np.repeat([f"2000-{m:02d}-01" for m in range(1, 13)],
                                                biome.size),
                              "value": sums.reshape(-1)})
    expected = (frame[frame.ecoregion > 0].groupby(["ecoregion", "date"])["value"]
                .agg(["mean", "count"]).reset_index())
    written = pandas.read_csv(table)
    assert list(written.columns) == ["ecoregion", "date", "mean", "valid_cells"]
    assert list(written.ecoregion) == list(expected.ecoregion)
    assert set(written.ecoregion) == {4, 12}  # no cell centre of this grid lies in biome 5
    assert list(written.date) == list(expected.date)
    np.testing.assert_allclose(written["mean"], expected["mean"], rtol=1e-5)
    np.testing.assert_array_equal(written.valid_cells, expected["count"])


def test_ecoregion_series_refuses_an_ecoregion_raster_off_the_stack_grid(tmp_path, capsys):
    code, messages = run(capsys, "ecoregion_series", input=f"{EOBS}:rr",
                         ecoregions_raster=NH_RASTER, output=tmp_path / "s.csv")
    assert code == 1
    assert messages[-1]["error"].startswith("ecoregion raster ")
    assert "different grids: size 1440×360 vs 61×33 cells" in messages[-1]["error"]
