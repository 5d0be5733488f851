"""The ``synthetic_world`` step: what it writes, read back with rasterio and pyogrio directly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio import features

from soilp_qgis.errors import InputError
from soilp_qgis.protocol import Reporter
from soilp_qgis.steps.synthetic_world import parse_extent, synthetic_world
from soilp_qgis.synthetic import make_geography, simulate

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real"
NAMES = {b["code"]: b["name"] for b in
         json.loads((ROOT / "resources" / "biomes.json").read_text(encoding="utf-8"))["biomes"]}

EXTENT = [-20.0, 20.0, 40.0, 70.0]       # xmin, ymin, xmax, ymax


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    stream = io.StringIO()
    results = synthetic_world({"output_folder": str(folder), "extent": EXTENT, "resolution": 5.0,
                               "start_year": 2001, "end_year": 2002, "seed": 4},
                              Reporter(stream, min_interval=0.0))
    lines = [json.loads(line[len("@soilp "):]) for line in stream.getvalue().splitlines()]
    return folder, results, lines


def test_stacks_hold_the_simulated_values_with_dates_units_and_nodata(written):
    folder, results, _ = written
    geography = make_geography(tuple(EXTENT), 5.0, seed=4)
    world = simulate(geography, 2001, 2002, seed=4)
    expected = {s["name"]: s for s in world.output_stacks()}
    pairs = {"PRECIPITATION": "precipitation", "SOIL_MOISTURE_0_7CM": "soil_moisture_0_7cm",
             "SOIL_MOISTURE_28_100CM": "soil_moisture_28_100cm",
             "LAND_SURFACE_TEMPERATURE": "land_surface_temperature",
             "GPP": "gross_primary_production"}
    for key, name in pairs.items():
        with rasterio.open(results[key]) as src:
            data = src.read(masked=True).astype(float).filled(np.nan)
            assert src.crs.to_epsg() == 4326
            assert src.transform.c == -20.0 and src.transform.f == 70.0 and src.transform.a == 5.0
            assert src.count == len(expected[name]["dates"])
            assert src.descriptions[0] == str(expected[name]["dates"][0])
            assert src.descriptions[-1] == str(expected[name]["dates"][-1])
            tags = src.tags()
            assert tags["time_scale"] == expected[name]["time_scale"]
            assert tags["units"] == expected[name]["units"]
        np.testing.assert_allclose(data, expected[name]["data"], rtol=1e-6, equal_nan=True)
        assert Path(results[key]).with_suffix(".qml").exists()
    with rasterio.open(results["PRECIPITATION"]) as src:
        assert src.count == 730 and src.descriptions[0] == "2001-01-01"


def test_ecoregions_raster_and_polygons_match_the_geography(written):
    folder, results, _ = written
    geography = make_geography(tuple(EXTENT), 5.0, seed=4)
    with rasterio.open(results["ECOREGIONS_RASTER"]) as src:
        codes = src.read(1)
        transform = src.transform
    assert np.array_equal(codes, geography.biome)
    assert "1 Tropical" in Path(results["ECOREGIONS_RASTER"]).with_suffix(".qml").read_text()
    frame = pyogrio.read_dataframe(results["ECOREGIONS"], layer="ecoregions")
    assert {"BIOME", "BIOME_NAME"} <= set(frame.columns)
    assert all(NAMES[int(c)] == n for c, n in zip(frame["BIOME"], frame["BIOME_NAME"]))
    burned = features.rasterize(zip(frame.geometry, frame["BIOME"].astype(int)),
                                out_shape=codes.shape, transform=transform, fill=0, dtype="uint8")
    assert np.array_equal(burned, codes)
    assert results["CELLS_PER_BIOME"] == {str(c): int((codes == c).sum())
                                          for c in np.unique(codes[codes > 0])}


def test_protocol_reports_progress_and_layers_to_load(written):
    _, results, lines = written
    progress = [m["progress"] for m in lines if "progress" in m]
    assert progress == sorted(progress) and progress[-1] == 100.0 and len(progress) > 10
    loads = [m["load"]["path"] for m in lines if "load" in m]
    assert results["PRECIPITATION"] in loads and results["ECOREGIONS"] in loads
    assert len(loads) == 10


def test_biomes_can_come_from_the_real_ecoregion_raster(tmp_path):
    path = REAL / "biomes" / "wwf_biome_code_0p25deg_NH.tif"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path}")
    extent = [-10.0, 36.0, 4.0, 44.0]         # Iberia
    results = synthetic_world({"output_folder": str(tmp_path), "extent": extent, "resolution": 1.0,
                               "start_year": 2001, "end_year": 2001, "ecoregions": str(path)},
                              Reporter(io.StringIO()))
    with rasterio.open(path) as src:
        fine = src.read(1)
    # 1° cells of the 0.25° raster: the centre of each lies at offset 2 of its 4×4 block
    row0, col0 = int((90 - 44) / 0.25), int((180 - 10) / 0.25)
    expected = fine[row0 + 2: row0 + 32: 4, col0 + 2: col0 + 56: 4]
    with rasterio.open(results["ECOREGIONS_RASTER"]) as src:
        assert np.array_equal(src.read(1), expected)
    assert {"4", "12"} <= set(results["CELLS_PER_BIOME"]) <= {"4", "5", "12"}


def test_extent_text_in_qgis_order_and_clear_errors(tmp_path):
    assert parse_extent("-10,30,35,70 [EPSG:4326]") == (-10.0, 35.0, 30.0, 70.0)
    assert parse_extent([-10, 35, 30, 70]) == (-10.0, 35.0, 30.0, 70.0)
    assert parse_extent(None) == (-180.0, 0.0, 180.0, 90.0)
    with pytest.raises(InputError, match="EPSG:4326"):
        parse_extent("0,10,0,10 [EPSG:3035]")
    with pytest.raises(InputError, match="OUTPUT_FOLDER"):
        synthetic_world({}, Reporter(io.StringIO()))
    with pytest.raises(InputError, match="GiB"):
        synthetic_world({"output_folder": str(tmp_path), "resolution": 0.1},
                        Reporter(io.StringIO()))
    with pytest.raises(InputError, match="END_YEAR"):
        synthetic_world({"output_folder": str(tmp_path), "start_year": 2005, "end_year": 2001},
                        Reporter(io.StringIO()))
