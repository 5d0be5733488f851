"""The bayesian_drivers step: planted drivers come out in the table, the layer and the figure."""

from __future__ import annotations

import csv

import geopandas
import numpy as np
import pytest
from matplotlib import image

from soilp_qgis.protocol import SilentReporter
from soilp_qgis.steps.bayesian_drivers import bayesian_drivers
from soilp_qgis.timestack import Grid, write_raster, write_stack

GRID = Grid.regular(0.0, 3.0, 1.0, 4, 3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two ecoregions (codes 4 and 13). In 4, Ta raises P and lowers SM (quadrant IV); in 13,
    LST lowers P and raises SM (quadrant II). Other effects are absent."""
    folder = tmp_path_factory.mktemp("bayes_step")
    rng = np.random.default_rng(8)
    n = 120
    dates = np.arange("2000-01", "2010-01", dtype="datetime64[M]").astype("datetime64[D]")
    shape = (n, 3, 4)
    ta, gpp, lst = (rng.normal(size=shape) for _ in range(3))
    codes = np.array([[4, 4, 0, 13], [4, 4, 13, 13], [4, 0, 13, 13]])
    east = codes == 13
    precipitation = np.where(east, -0.8 * lst, 0.8 * ta) + 0.5 * rng.normal(size=shape)
    soil_moisture = np.where(east, 0.8 * lst, -0.8 * ta) + 0.5 * rng.normal(size=shape)
    paths = {}
    for name, values in (("precipitation", precipitation), ("soil_moisture", soil_moisture),
                         ("air_temperature", ta), ("gpp", gpp), ("lst", lst)):
        values = np.where(codes > 0, values, np.nan)
        paths[name] = str(write_stack(folder / f"{name}.tif", values, GRID, dates, "monthly", ""))
    paths["ecoregions_raster"] = str(write_raster(folder / "eco.tif", codes, GRID, "uint8", 0))
    outputs = {f"output_{k}": str(folder / f"drivers.{ext}") for k, ext in (
        ("table", "csv"), ("layer", "gpkg"), ("figure", "png"), ("report", "html"))}
    result = bayesian_drivers({**paths, **outputs, "data": "ecoregion_mean", "chains": 2,
                               "tune": 300, "draws": 300, "seed": 1}, SilentReporter())
    return result


def test_planted_drivers_in_the_table(run):
    with open(run["OUTPUT_TABLE"], newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["parameter"] == "coefficient"]
    mean = {(int(r["ecoregion"]), r["term"], r["response"]): float(r["mean"]) for r in rows}
    assert len(mean) == 2 * 7 * 2
    assert mean[(4, "Ta", "P")] > 0.5 and mean[(4, "Ta", "SM")] < -0.5
    assert mean[(13, "LST", "P")] < -0.5 and mean[(13, "LST", "SM")] > 0.5
    assert abs(mean[(4, "GPP", "P")]) < 0.3 and abs(mean[(13, "Ta", "SM")]) < 0.3


def test_layer_carries_the_estimates_and_quadrants(run):
    layer = geopandas.read_file(run["OUTPUT_LAYER"]).set_index("ecoregion")
    with open(run["OUTPUT_TABLE"], newline="") as handle:
        rows = {(int(r["ecoregion"]), r["term"], r["response"]): float(r["mean"])
                for r in csv.DictReader(handle) if r["parameter"] == "coefficient"}
    for code in (4, 13):
        for term in ("Ta", "LST", "Ta:GPP:LST"):
            stem = term.replace(":", "_")
            p, sm = layer.loc[code, f"{stem}_P"], layer.loc[code, f"{stem}_SM"]
            assert p == pytest.approx(rows[(code, term, "P")], rel=1e-5)  # CSV: 6 digits
            expected = {(True, True): "I", (False, True): "II", (False, False): "III",
                        (True, False): "IV"}[(p > 0, sm > 0)]
            assert layer.loc[code, f"{stem}_quadrant"] == expected
    assert layer.loc[4, "Ta_quadrant"] == "IV" and layer.loc[13, "LST_quadrant"] == "II"
    assert layer.loc[4, "ecoregion_name"] == "4 Temperate Broadleaf and Mixed Forests"


def test_figure_and_report(run):
    picture = image.imread(run["OUTPUT_FIGURE"])
    assert picture.shape[0] > 300 and len(np.unique(picture.reshape(-1, picture.shape[-1]),
                                                    axis=0)) > 20
    page = open(run["OUTPUT_REPORT"], encoding="utf-8").read()
    assert "13 Deserts and Xeric Shrublands" in page


def test_layer_is_named_after_its_file(run):
    import pyogrio

    assert [name for name, _ in pyogrio.list_layers(run["OUTPUT_LAYER"])] == ["drivers"]


@pytest.mark.parametrize("form", ["centred", "non_centred"])
def test_random_intercepts_reach_the_sampler(run, tmp_path, monkeypatch, form):
    """RANDOM_INTERCEPTS (by its engine value) is the form the sampler builds the model in."""
    from pathlib import Path

    from soilp_qgis.bayes import drivers

    class StopError(Exception):
        pass

    seen = {}

    def fit_ecoregions(blocks, *, sampler, **kwargs):
        seen["settings"] = sampler.settings
        raise StopError

    monkeypatch.setattr(drivers, "fit_ecoregions", fit_ecoregions)
    folder = Path(run["OUTPUT_TABLE"]).parent
    inputs = {name: str(folder / f"{name}.tif") for name in (
        "precipitation", "soil_moisture", "air_temperature", "gpp", "lst")}
    with pytest.raises(StopError):
        bayesian_drivers({**inputs, "ecoregions_raster": str(folder / "eco.tif"),
                          "output_table": str(tmp_path / "t.csv"), "random_intercepts": form},
                         SilentReporter())
    assert seen["settings"].random_intercepts == form
