"""The shipped model soilp:fullanalysis: valid as shipped, inputs in order, exactly the output
folder of resources/output_layout.json (docs/OUTPUTS.md) on a small synthetic area with the report
finding everything, and clear failures before any work when an input is missing or the ecoregion
field does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, read_with_gdal, run_qgis_process
from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingModelAlgorithm,
    QgsProcessingParameterRasterLayer,
)

MODEL_FILE = ROOT / "resources" / "models" / "full_analysis.model3"

LAYERS = ("layer1", "layer2", "layer3")
PERIODS = ("monthly", "MAM", "JJA", "SON", "DJF", "annual")
MODEL_INPUTS = ["PRECIPITATION", "SOIL_MOISTURE_LAYER1", "SOIL_MOISTURE_LAYER2",
                "SOIL_MOISTURE_LAYER3", "EVAPOTRANSPIRATION", "AIR_TEMPERATURE",
                "LAND_SURFACE_TEMPERATURE", "GPP", "ECOREGIONS", "FIELD", "FAMILY_SET",
                "BAYES_DATA", "BAYES_MAX_CELLS", "BAYES_RANDOM_INTERCEPTS",
                "BAYES_MASS_MATRIX", "BAYES_CHAINS", "BAYES_TUNE", "BAYES_DRAWS",
                "OUTPUT_FOLDER"]


def expected_files() -> set[str]:
    """The output folder spelled out by hand (docs/OUTPUTS.md): the layout file, the model and
    the report must all agree with it. Every GeoTIFF has its .qml style beside it."""
    files = [f"inputs/precipitation_{q}_{s}.tif" for q in ("volume", "frequency")
             for s in ("monthly", "seasonal", "annual")]
    files += [f"inputs/soil_moisture_{layer}_annual.tif" for layer in LAYERS]
    files += [f"inputs/{v}_annual.tif" for v in ("evapotranspiration", "air_temperature", "lst",
                                                "gpp")]
    for layer in LAYERS:
        for scale in ("monthly", "annual"):
            files += [f"copula/{layer}_{scale}_{stem}" for stem in (
                "tau.tif", "lower_tail.tif", "upper_tail.tif", "family.tif", "status.tif",
                "significance.tif", "table.csv")]
        files += [f"lag/{layer}_{stem}.tif" for stem in ("tau_by_lag", "optimal_lag",
                                                          "tau_at_optimal_lag", "significance",
                                                          "lag_stability")]
        for period in PERIODS:
            files += [f"ridge/{layer}_{period}_{stem}" for stem in (
                "rgb.tif", "rgb_legend.png", "weights.tif", "dominant.tif", "status.tif",
                "table.csv")]
        for scale in ("monthly", "annual"):
            files += [f"bayes/{layer}_{scale}_{stem}" for stem in (
                "ecoregions.gpkg", "table.csv", "figure.png", "report.html")]
    files.append("report.html")
    return set(files) | {f[:-4] + ".qml" for f in files if f.endswith(".tif")}


@pytest.fixture(scope="module")
def small_world(soilp_provider, tmp_path_factory):
    """48 cells, 16 years: enough annual steps for the copula's 15 (a step whose every cell has
    too few values fails the run)."""
    import processing

    folder = tmp_path_factory.mktemp("model_world")
    return processing.run("soilp:syntheticworld", {
        "EXTENT": "-24,24,24,60 [EPSG:4326]", "RESOLUTION": 6.0, "START_YEAR": 2000,
        "END_YEAR": 2015, "SEED": 2, "OUTPUT_FOLDER": str(folder)})


def model_inputs(world: dict) -> dict:
    return {"PRECIPITATION": world["PRECIPITATION"],
            "SOIL_MOISTURE_LAYER1": world["SOIL_MOISTURE_0_7CM"],
            "SOIL_MOISTURE_LAYER2": world["SOIL_MOISTURE_7_28CM"],
            "SOIL_MOISTURE_LAYER3": world["SOIL_MOISTURE_28_100CM"],
            "EVAPOTRANSPIRATION": world["EVAPOTRANSPIRATION"],
            "AIR_TEMPERATURE": world["AIR_TEMPERATURE"],
            "LAND_SURFACE_TEMPERATURE": world["LAND_SURFACE_TEMPERATURE"], "GPP": world["GPP"],
            "ECOREGIONS": world["ECOREGIONS"], "FIELD": "BIOME"}


LIGHT = {"FAMILY_SET": 1, "BAYES_CHAINS": 2, "BAYES_TUNE": 100, "BAYES_DRAWS": 100,
         "BAYES_MAX_CELLS": 4}


def test_model_is_registered_and_editable(soilp_provider):
    model = QgsApplication.processingRegistry().algorithmById("soilp:fullanalysis")
    assert model is not None and model.displayName() == "Full dependence analysis"
    children = model.create().childAlgorithms()
    assert len(children) == 42
    assert all(child.algorithm() is not None for child in children.values())
    copy = model.create()
    assert copy.toVariant() == model.toVariant()   # what the Modeler edits


def test_bayesian_steps_take_the_model_inputs(soilp_provider):
    """One Bayesian step fits the three soil layers (in depth order) at both scales, each
    stack with the drivers of its scale, and reads its sampler settings from the model's BAYES_*
    inputs, whose defaults are the algorithm's: intercepts integrated out, low-rank metric, 200
    cells."""
    model = QgsApplication.processingRegistry().algorithmById("soilp:fullanalysis").create()
    bayes = {child_id: child for child_id, child in model.childAlgorithms().items()
             if child_id.startswith("bayes")}
    assert list(bayes) == ["bayes"]

    def named(source):   # a model input, or the child that prepared the annual stack
        return source.parameterName() or source.outputChildId()

    for child_id, child in bayes.items():
        given = {name: [named(s) for s in values]
                 for name, values in child.parameterSources().items()}
        assert given["SOIL_MOISTURE_LAYERS"] == [
            "SOIL_MOISTURE_LAYER1", "SOIL_MOISTURE_LAYER2", "SOIL_MOISTURE_LAYER3",
            *(f"soil_moisture_{layer}_annual" for layer in LAYERS)]
        assert given["PRECIPITATION"] == ["precipitation_volume_monthly",
                                          "precipitation_volume_annual"]
        assert given["AIR_TEMPERATURE"] == ["AIR_TEMPERATURE", "air_temperature_annual"]
        assert given["LST"] == ["LAND_SURFACE_TEMPERATURE", "lst_annual"]
        sources = {name: values[0].parameterName()
                   for name, values in child.parameterSources().items()
                   if name in ("DATA", "RANDOM_INTERCEPTS", "MASS_MATRIX", "MAX_CELLS")}
        assert sources == {"DATA": "BAYES_DATA", "RANDOM_INTERCEPTS": "BAYES_RANDOM_INTERCEPTS",
                           "MASS_MATRIX": "BAYES_MASS_MATRIX",
                           "MAX_CELLS": "BAYES_MAX_CELLS"}, child_id
    for name, expected in (("RANDOM_INTERCEPTS", "marginalised"), ("MASS_MATRIX", "low_rank"),
                           ("DATA", "cells")):
        definition = model.parameterDefinition(f"BAYES_{name}")
        values = list(definition.metadata().get("soilp_values") or definition.options())
        index = values.index(expected)   # the model stores an index, or the option (QGIS ≥ 3.24)
        assert definition.defaultValue() in (index, str(index), definition.options()[index]), name
    assert model.parameterDefinition("BAYES_MAX_CELLS").defaultValue() == 200


def test_the_shipped_file_validates_with_inputs_in_order(soilp_provider):
    """As the Modeler and the Models provider load it: valid (every child parameter has a
    value), inputs in reading order with the output folder last, stacks not pre-filled."""
    from soilp.processing_algs import compat

    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL_FILE))
    ok, errors = model.validate()
    assert ok and errors == []
    definitions = model.parameterDefinitions()
    assert [d.name() for d in definitions] == MODEL_INPUTS
    for definition in definitions:
        if isinstance(definition, QgsProcessingParameterRasterLayer):
            # optional without a default: the Run dialog shows them empty, not the project's
            # first raster (a mandatory raster combo always selects a layer)
            assert definition.flags() & compat.FLAG_OPTIONAL, definition.name()
            assert definition.defaultValue() is None, definition.name()
    advanced = [d.name() for d in definitions if d.flags() & compat.FLAG_ADVANCED]
    assert advanced == [name for name in MODEL_INPUTS if name.startswith("BAYES_")]


@pytest.fixture(scope="module")
def analysis(small_world, tmp_path_factory) -> Path:
    """One run of the model (light settings) into an empty folder."""
    import processing

    out = tmp_path_factory.mktemp("analysis")
    processing.run("soilp:fullanalysis", {**model_inputs(small_world), **LIGHT,
                                          "OUTPUT_FOLDER": str(out)})
    return out


def written_files(out: Path) -> set[str]:
    return {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}


def test_every_output_from_one_run(analysis):
    out = analysis
    written = {name for name in written_files(out) if not name.endswith(".aux.xml")}
    figures = {name for name in written if re.fullmatch(r"report_[a-z0-9_]+\.png", name)}
    assert figures, "the report wrote no figures"
    records = {name for name in written
               if re.fullmatch(r"((inputs|copula|lag|ridge|bayes)/)?provenance/[^/]+\.json", name)}
    # one per step run (the report included), one per soil layer of a Bayesian run
    assert len(records) == 47
    assert written - figures - records == expected_files()   # no more, no fewer
    # the report found every section's files (its provenance section lists the step records)
    page = (out / "report.html").read_text(encoding="utf-8")
    missing = re.findall(r'<p class="missing">(.*?)</p>', page)
    assert missing == [], missing
    assert 'class="warning"' not in page
    # the report's headline number is the share of τ < 0 in the τ raster it names
    tau = read_with_gdal(out / "copula" / "layer1_monthly_tau.tif")
    share = float((tau[np.isfinite(tau)] < 0).mean())
    shown = re.search(r'id="negative-share-layer1-monthly"[^>]*data-share="([0-9.eE+-]+)"', page)
    assert shown and float(shown.group(1)) == pytest.approx(share, abs=1e-4)
    # the ridge legends are shown from where the layout puts them
    assert 'src="ridge/layer2_JJA_rgb_legend.png"' in page


def test_no_aux_xml_in_the_output_folder(analysis):
    """QGIS's model loads every earlier step's raster output as a layer to offer it as an
    expression variable and asks its statistics; GDAL answers from the STATISTICS_* the engine
    stores per band instead of computing them and saving a .aux.xml beside each output."""
    assert sorted(name for name in written_files(analysis) if name.endswith(".aux.xml")) == []


def test_a_missing_stack_is_named_before_any_step(small_world, tmp_path):
    """The stacks are optional only for the Run dialog's sake: leaving one out stops the run
    with its name, before anything is written."""
    import processing

    out = tmp_path / "analysis"
    out.mkdir()
    inputs = model_inputs(small_world)
    del inputs["LAND_SURFACE_TEMPERATURE"]
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:fullanalysis", {**inputs, **LIGHT, "OUTPUT_FOLDER": str(out)})
    assert "LAND_SURFACE_TEMPERATURE" in str(raised.value) or \
        "Land surface temperature" in str(raised.value)
    assert list(out.iterdir()) == []


def test_ecoregion_layer_without_the_field_fails_before_any_step(small_world, tmp_path):
    import processing

    out = tmp_path / "analysis"
    out.mkdir()
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("soilp:fullanalysis", {**model_inputs(small_world), **LIGHT,
                                              "FIELD": "ECO_CODE", "OUTPUT_FOLDER": str(out)})
    assert "ECOREGIONS layer" in str(raised.value)
    assert "has no field 'ECO_CODE' (its fields: fid, BIOME, BIOME_NAME)" in str(raised.value)
    assert list(out.iterdir()) == []


def test_headless_missing_input_is_one_clear_message(small_world, tmp_path, plugin_parent):
    profile = tmp_path / "profile"
    assert run_qgis_process(["plugins", "enable", "soilp"], profile, plugin_parent).returncode == 0
    inputs = model_inputs(small_world)
    del inputs["GPP"]
    args = ["run", "soilp:fullanalysis", "--"] + [f"{k}={v}" for k, v in inputs.items()]
    args.append(f"OUTPUT_FOLDER={tmp_path}")
    completed = run_qgis_process(args, profile, plugin_parent)
    assert completed.returncode != 0
    assert "GPP (Gross primary production) is required" in completed.stdout + completed.stderr
    assert not list(Path(tmp_path).rglob("*.tif"))

