"""The bayesian_drivers_layers step: several soil layers and time scales in one run give, layer
by layer, what bayesian_drivers gives for each alone (the same bytes), each layer's planted
driver, files named by layer and scale with their own records, one progress bar; stacks that do
not pair up by time scale, or a layer on another grid, are refused before any sampling."""

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


CODES = np.array([[4, 4, 0, 13], [4, 4, 13, 13], [4, 0, 13, 13]])
SCALES = {"monthly": np.arange("2000-01", "2010-01", dtype="datetime64[M]"),
          "annual": np.arange("1980", "2020", dtype="datetime64[Y]")}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two ecoregions (4 and 13), two soil layers, monthly and annual stacks: the top layer's SM
    falls with Ta, the deep layer's rises with LST; precipitation rises with Ta everywhere.
    Paths by ``<name>_<scale>``."""
    folder = tmp_path_factory.mktemp("bayes_layers")
    rng = np.random.default_rng(21)
    paths = {"ecoregions_raster": str(write_raster(folder / "eco.tif", CODES, GRID, "uint8", 0))}
    for scale, dates in SCALES.items():
        shape = (dates.size, 3, 4)
        ta, gpp, lst = (rng.normal(size=shape) for _ in range(3))
        stacks = {"precipitation": 0.8 * ta + 0.5 * rng.normal(size=shape),
                  "top": -0.8 * ta + 0.5 * rng.normal(size=shape),
                  "deep": 0.8 * lst + 0.5 * rng.normal(size=shape),
                  "air_temperature": ta, "gpp": gpp, "lst": lst}
        for name, values in stacks.items():
            paths[f"{name}_{scale}"] = str(write_stack(
                folder / f"{name}_{scale}.tif", np.where(CODES > 0, values, np.nan), GRID,
                dates.astype("datetime64[D]"), scale, ""))
    return folder, paths


def shared(paths: dict, scales=("monthly",)) -> dict:
    """The layers step's stacks of ``scales`` (lists) and the ecoregions."""
    return {"ecoregions_raster": paths["ecoregions_raster"],
            **{key: [paths[f"{key}_{scale}"] for scale in scales]
               for key in ("precipitation", "air_temperature", "gpp", "lst")}}


def alone(paths: dict, scale: str) -> dict:
    """The single step's stacks of one scale."""
    return {key: value if key == "ecoregions_raster" else value[0]
            for key, value in shared(paths, (scale,)).items()}


@pytest.fixture(scope="module")
def run(world):
    """Both layers at both scales, in one run (the annual stacks given first for the drivers)."""
    folder, paths = world
    stream = io.StringIO()
    result = bayesian_drivers_layers({**shared(paths, ("annual", "monthly")), **LIGHT,
                                      "soil_moisture_layers": [
                                          paths["top_monthly"], paths["deep_monthly"],
                                          paths["top_annual"], paths["deep_annual"]],
                                      "output_folder": str(folder / "layers")},
                                     Reporter(stream, min_interval=0.0))
    messages = [json.loads(line[len(PREFIX):]) for line in stream.getvalue().splitlines()]
    return folder, paths, result, messages


def coefficients(path) -> dict:
    with open(path, newline="") as handle:
        return {(int(r["ecoregion"]), r["term"], r["response"]): float(r["mean"])
                for r in csv.DictReader(handle) if r["parameter"] == "coefficient"}


RUNS = ((1, "top", "monthly"), (2, "deep", "monthly"), (1, "top", "annual"),
        (2, "deep", "annual"))


def test_each_layer_is_what_the_single_step_writes_for_it(run):
    folder, paths, _, _ = run
    for number, layer, scale in RUNS:
        own = folder / f"alone_{layer}_{scale}"
        bayesian_drivers({**alone(paths, scale), **LIGHT,
                          "soil_moisture": paths[f"{layer}_{scale}"],
                          "output_table": str(own / "table.csv")}, SilentReporter())
        together = folder / "layers" / f"layer{number}_{scale}_table.csv"
        assert together.read_bytes() == (own / "table.csv").read_bytes(), (layer, scale)


def test_each_layer_shows_its_planted_driver(run):
    folder = run[0] / "layers"
    for scale in SCALES:
        top = coefficients(folder / f"layer1_{scale}_table.csv")
        deep = coefficients(folder / f"layer2_{scale}_table.csv")
        for ecoregion in (4, 13):
            assert top[(ecoregion, "Ta", "SM")] < -0.5
            assert abs(top[(ecoregion, "LST", "SM")]) < 0.3
            assert deep[(ecoregion, "LST", "SM")] > 0.5
            assert abs(deep[(ecoregion, "Ta", "SM")]) < 0.3
            assert top[(ecoregion, "Ta", "P")] == pytest.approx(deep[(ecoregion, "Ta", "P")],
                                                                abs=0.1)


def test_files_are_named_by_layer_and_scale_each_with_its_record(run):
    folder, _, result, messages = run
    written = {p.relative_to(folder / "layers").as_posix()
               for p in (folder / "layers").rglob("*") if p.is_file()}
    expected = {f"layer{n}_{scale}_{name}" for n, _, scale in RUNS for name in FILES}
    records = {f"provenance/layer{n}_{scale}_table.csv.json" for n, _, scale in RUNS}
    assert written == expected | records
    for number, layer, scale in RUNS:
        record = json.loads((folder / "layers" / f"provenance/layer{number}_{scale}_table.csv"
                                                  ".json").read_text())
        assert record["step"] == "bayesian_drivers"
        assert record["parameters"]["SOIL_MOISTURE"].endswith(f"{layer}_{scale}.tif")
        assert record["parameters"]["PRECIPITATION"].endswith(f"precipitation_{scale}.tif")
    assert result["ECOREGIONS_FITTED"] == 8 and result["OUTPUT_FOLDER"] == str(folder / "layers")
    loads = [m["load"]["path"] for m in messages if "load" in m]
    assert loads == [str(folder / "layers" / f"layer{n}_{scale}_ecoregions.gpkg")
                     for n, _, scale in RUNS]


def test_one_progress_bar_over_the_layers_and_scales(run):
    progress = [m["progress"] for m in run[3] if "progress" in m]
    assert progress == sorted(progress) and progress[-1] == 100.0
    third = next(i for i, m in enumerate(run[3]) if "info" in m
                 and m["info"].startswith("soil moisture stack 3 of 4 (layer1_annual)"))
    before = [m["progress"] for m in run[3][:third] if "progress" in m]
    assert 45.0 <= before[-1] <= 50.0   # the first two of four fill the first half


@pytest.mark.parametrize("change, message", [
    ({"precipitation": "twice"}, r"PRECIPITATION has two monthly stacks"),
    ({"gpp": "annual"}, r"no monthly stack for GPP, while PRECIPITATION, AIR_TEMPERATURE, LST"),
    ({"soil_moisture_layers": "annual"}, r"SOIL_MOISTURE_LAYERS\[2\] .* is annual, but no "
                                         r"PRECIPITATION stack is"),
])
def test_stacks_that_do_not_pair_up_by_time_scale_are_named(world, tmp_path, change, message):
    _, paths = world
    given = {**shared(paths), "soil_moisture_layers": [paths["top_monthly"],
                                                        paths["deep_monthly"]]}
    key, how = next(iter(change.items()))
    if how == "twice":
        given[key] = given[key] * 2
    elif key == "soil_moisture_layers":
        given[key] = [paths["top_monthly"], paths["top_annual"]]
    else:
        given[key] = [paths[f"{key}_annual"]]
    with pytest.raises(InputError, match=message):
        bayesian_drivers_layers({**given, **LIGHT, "output_folder": str(tmp_path / "out")},
                                SilentReporter())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_layer_on_another_grid_is_refused_before_any_sampling(world, tmp_path, monkeypatch):
    _, paths = world
    dates = SCALES["monthly"].astype("datetime64[D]")
    other = write_stack(tmp_path / "other_grid.tif", np.zeros((dates.size, 3, 5)),
                        Grid.regular(0.0, 3.0, 1.0, 5, 3), dates, "monthly", "")

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampling started")

    monkeypatch.setattr("soilp_qgis.bayes.drivers.fit_ecoregions", no_sampling)
    with pytest.raises(SoilpError, match=r"SOIL_MOISTURE_LAYERS\[2\] \(.*other_grid.tif\): "
                                         r".*different grids"):
        bayesian_drivers_layers({**shared(paths), **LIGHT,
                                 "soil_moisture_layers": [paths["top_monthly"], str(other)],
                                 "output_folder": str(tmp_path / "out")}, SilentReporter())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_layers_parameter_is_a_list_of_paths(world):
    _, paths = world
    layers = [paths["top_monthly"], paths["deep_monthly"]]
    parameters = layers_step.Parameters.from_params({
        **shared(paths), "output_folder": "out", "SOIL_MOISTURE_LAYERS": json.dumps(layers)})
    assert isinstance(parameters, StepParameters)
    assert parameters.soil_moisture_layers == layers
    assert parameters.sources()["SOIL_MOISTURE_LAYERS[2]"] == paths["deep_monthly"]
    assert parameters.sources()["PRECIPITATION[1]"] == paths["precipitation_monthly"]
    for bad in ("[]", [""], 3):
        with pytest.raises(InputError, match="SOIL_MOISTURE_LAYERS"):
            layers_step.Parameters.from_params({**shared(paths), "output_folder": "out",
                                                "soil_moisture_layers": bad})
