"""The bayesian_drivers_layers step: several soil layers in one run give, layer by layer, what
bayesian_drivers gives for each alone (the same bytes), each layer's planted driver, files named
by layer and scale with their own records, one progress bar; a layer on another grid is refused
before any sampling."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from soilp_qgis.contract import StepParameters
from soilp_qgis.errors import InputError, SoilpError
from soilp_qgis.protocol import PREFIX, Reporter, SilentReporter
from soilp_qgis.steps import bayesian_drivers_layers as layers_step
from soilp_qgis.steps.bayesian_drivers import bayesian_drivers
from soilp_qgis.steps.bayesian_drivers_layers import bayesian_drivers_layers
from soilp_qgis.timestack import Grid, write_raster, write_stack

GRID = Grid.regular(0.0, 3.0, 1.0, 4, 3)
LIGHT = {"data": "ecoregion_mean", "chains": 2, "tune": 300, "draws": 300, "seed": 3}
FILES = ("table.csv", "ecoregions.gpkg", "figure.png", "report.html")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two ecoregions (4 and 13) and two soil layers: the top layer's SM falls with Ta, the deep
    layer's rises with LST; precipitation rises with Ta everywhere."""
    folder = tmp_path_factory.mktemp("bayes_layers")
    rng = np.random.default_rng(21)
    dates = np.arange("2000-01", "2010-01", dtype="datetime64[M]").astype("datetime64[D]")
    shape = (dates.size, 3, 4)
    ta, gpp, lst = (rng.normal(size=shape) for _ in range(3))
    codes = np.array([[4, 4, 0, 13], [4, 4, 13, 13], [4, 0, 13, 13]])
    stacks = {"precipitation": 0.8 * ta + 0.5 * rng.normal(size=shape),
              "top": -0.8 * ta + 0.5 * rng.normal(size=shape),
              "deep": 0.8 * lst + 0.5 * rng.normal(size=shape),
              "air_temperature": ta, "gpp": gpp, "lst": lst}
    paths = {name: str(write_stack(folder / f"{name}.tif", np.where(codes > 0, values, np.nan),
                                   GRID, dates, "monthly", ""))
             for name, values in stacks.items()}
    paths["ecoregions_raster"] = str(write_raster(folder / "eco.tif", codes, GRID, "uint8", 0))
    return folder, paths


def shared(paths: dict) -> dict:
    return {key: paths[key] for key in ("precipitation", "air_temperature", "gpp", "lst",
                                        "ecoregions_raster")}


@pytest.fixture(scope="module")
def run(world):
    folder, paths = world
    stream = io.StringIO()
    result = bayesian_drivers_layers({**shared(paths), **LIGHT,
                                      "soil_moisture_layers": [paths["top"], paths["deep"]],
                                      "output_folder": str(folder / "layers")},
                                     Reporter(stream, min_interval=0.0))
    messages = [json.loads(line[len(PREFIX):]) for line in stream.getvalue().splitlines()]
    return folder, paths, result, messages


def coefficients(path) -> dict:
    with open(path, newline="") as handle:
        return {(int(r["ecoregion"]), r["term"], r["response"]): float(r["mean"])
                for r in csv.DictReader(handle) if r["parameter"] == "coefficient"}


def test_each_layer_is_what_the_single_step_writes_for_it(run):
    folder, paths, _, _ = run
    for number, layer in ((1, "top"), (2, "deep")):
        alone = folder / f"alone_{layer}"
        bayesian_drivers({**shared(paths), **LIGHT, "soil_moisture": paths[layer],
                          "output_table": str(alone / "table.csv")}, SilentReporter())
        together = folder / "layers" / f"layer{number}_monthly_table.csv"
        assert together.read_bytes() == (alone / "table.csv").read_bytes(), layer


def test_each_layer_shows_its_planted_driver(run):
    folder = run[0] / "layers"
    top = coefficients(folder / "layer1_monthly_table.csv")
    deep = coefficients(folder / "layer2_monthly_table.csv")
    for ecoregion in (4, 13):
        assert top[(ecoregion, "Ta", "SM")] < -0.5 and abs(top[(ecoregion, "LST", "SM")]) < 0.3
        assert deep[(ecoregion, "LST", "SM")] > 0.5 and abs(deep[(ecoregion, "Ta", "SM")]) < 0.3
        assert top[(ecoregion, "Ta", "P")] == pytest.approx(deep[(ecoregion, "Ta", "P")],
                                                            abs=0.1)


def test_files_are_named_by_layer_and_scale_each_with_its_record(run):
    folder, _, result, messages = run
    written = {p.relative_to(folder / "layers").as_posix()
               for p in (folder / "layers").rglob("*") if p.is_file()}
    expected = {f"layer{n}_monthly_{name}" for n in (1, 2) for name in FILES}
    records = {f"provenance/layer{n}_monthly_table.csv.json" for n in (1, 2)}
    assert written == expected | records
    for number, layer in ((1, "top"), (2, "deep")):
        record = json.loads((folder / "layers" / f"provenance/layer{number}_monthly_table.csv"
                                                  ".json").read_text())
        assert record["step"] == "bayesian_drivers"
        assert record["parameters"]["SOIL_MOISTURE"].endswith(f"{layer}.tif")
    assert result["ECOREGIONS_FITTED"] == 4 and result["OUTPUT_FOLDER"] == str(folder / "layers")
    loads = [m["load"]["path"] for m in messages if "load" in m]
    assert loads == [str(folder / "layers" / f"layer{n}_monthly_ecoregions.gpkg")
                     for n in (1, 2)]


def test_one_progress_bar_over_the_layers(run):
    progress = [m["progress"] for m in run[3] if "progress" in m]
    assert progress == sorted(progress) and progress[-1] == 100.0
    layer_two = next(i for i, m in enumerate(run[3]) if "info" in m
                     and m["info"].startswith("soil layer 2 of 2"))
    before = [m["progress"] for m in run[3][:layer_two] if "progress" in m]
    assert 40.0 <= before[-1] <= 50.0   # the first layer fills the first half


def test_a_layer_on_another_grid_is_refused_before_any_sampling(world, tmp_path, monkeypatch):
    _, paths = world
    dates = np.arange("2000-01", "2010-01", dtype="datetime64[M]").astype("datetime64[D]")
    other = write_stack(tmp_path / "other_grid.tif", np.zeros((dates.size, 3, 5)),
                        Grid.regular(0.0, 3.0, 1.0, 5, 3), dates, "monthly", "")

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started")

    monkeypatch.setattr("soilp_qgis.bayes.drivers.fit_ecoregions", no_sampling)
    with pytest.raises(SoilpError, match=r"soil layer 2 of SOIL_MOISTURE_LAYERS .*other_grid.*"
                                         r"different grids"):
        bayesian_drivers_layers({**shared(paths), **LIGHT,
                                 "soil_moisture_layers": [paths["top"], str(other)],
                                 "output_folder": str(tmp_path / "out")}, SilentReporter())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_layers_parameter_is_a_list_of_paths(world):
    _, paths = world
    parameters = layers_step.Parameters.from_params({
        **shared(paths), "output_folder": "out",
        "SOIL_MOISTURE_LAYERS": json.dumps([paths["top"], paths["deep"]])})
    assert isinstance(parameters, StepParameters)
    assert parameters.soil_moisture_layers == [paths["top"], paths["deep"]]
    assert parameters.sources()["SOIL_MOISTURE_LAYERS[2]"] == paths["deep"]
    for bad in ("[]", [""], 3):
        with pytest.raises(InputError, match="SOIL_MOISTURE_LAYERS"):
            layers_step.Parameters.from_params({**shared(paths), "output_folder": "out",
                                                "soil_moisture_layers": bad})
