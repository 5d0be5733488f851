"""The step contract: parameters read once (defaults, types, ranges, unknown keys, each error
naming the QGIS parameter), outputs declared once, ``describe`` printing both."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from soilp_qgis import cli, contract
from soilp_qgis.contract import FileOutput, RasterOutput
from soilp_qgis.errors import InputError
from soilp_qgis.steps.copula_dependence import Parameters as CopulaParameters
from soilp_qgis.steps.lagged_dependence import Parameters as LagParameters

STEPS_DIR = Path(contract.__file__).parent / "steps"
REQUIRED = {"precipitation": "p.tif", "soil_moisture": "s.tif"}


def test_defaults_are_filled_and_empty_means_not_given():
    p = LagParameters.from_params({**REQUIRED, "processes": "", "output_status": None})
    assert (p.max_lag, p.min_observations, p.processes) == (12, 15, 0)
    assert p.output_status is None and p.output_tau_by_lag is None


@pytest.mark.parametrize("value,expected", [("6", 6), (6.0, 6), (0, 0), (120, 120)])
def test_whole_numbers_are_read_from_text_and_floats(value, expected):
    assert LagParameters.from_params({**REQUIRED, "max_lag": value}).max_lag == expected


@pytest.mark.parametrize("value,message", [
    ("6.5", "MAX_LAG must be a whole number; got '6.5'"),
    ("six", "MAX_LAG must be a whole number; got 'six'"),
    (True, "MAX_LAG must be a whole number; got True"),
    (-1, "MAX_LAG must be at least 0; got -1"),
    (121, "MAX_LAG must be at most 120; got 121"),
    ("nan", "MAX_LAG must be a finite number; got 'nan'"),
])
def test_bad_numbers_name_the_parameter(value, message):
    with pytest.raises(InputError) as raised:
        LagParameters.from_params({**REQUIRED, "max_lag": value})
    assert str(raised.value) == message


def test_unknown_keys_are_refused_in_one_line_listing_the_known_ones():
    with pytest.raises(InputError) as raised:
        LagParameters.from_params({**REQUIRED, "max_lags": 6, "Seasons": "JJA"})
    assert str(raised.value) == (
        "unknown parameters MAX_LAGS, SEASONS for step lagged_dependence; known: PRECIPITATION, "
        "SOIL_MOISTURE, MAX_LAG, MIN_OBSERVATIONS, PROCESSES, ALPHA, BOOTSTRAP_REPLICATES, "
        "BLOCK_LENGTH, SEED, OUTPUT_TAU_BY_LAG, OUTPUT_OPTIMAL_LAG, OUTPUT_TAU_AT_OPTIMAL_LAG, "
        "OUTPUT_STATUS, OUTPUT_SIGNIFICANCE, OUTPUT_LAG_STABILITY")


def test_required_layers_and_keys_in_any_case():
    with pytest.raises(InputError, match="^SOIL_MOISTURE is required$"):
        LagParameters.from_params({"precipitation": "p.tif", "soil_moisture": "  "})
    assert LagParameters.from_params({"PRECIPITATION": "a", "Soil_Moisture": "b"}).soil_moisture \
        == "b"


def test_choices_match_without_case_and_are_stored_as_declared():
    p = CopulaParameters.from_params({**REQUIRED, "criterion": "BIC", "season": "jja",
                                      "family_set": "One_Parameter"})
    assert (p.criterion, p.season, p.family_set) == ("bic", "JJA", "one_parameter")
    with pytest.raises(InputError) as raised:
        CopulaParameters.from_params({**REQUIRED, "margins": "kernel"})
    assert str(raised.value) == "MARGINS 'kernel' is not one of empirical, parametric"


@pytest.mark.parametrize("value,expected", [(True, True), ("true", True), ("No", False),
                                            (0, False), ("1", True)])
def test_booleans(value, expected):
    assert CopulaParameters.from_params({**REQUIRED, "deseasonalize": value}).deseasonalize \
        is expected


def test_a_bad_boolean_names_the_parameter():
    with pytest.raises(InputError, match="^DESEASONALIZE must be true or false; got 'maybe'$"):
        CopulaParameters.from_params({**REQUIRED, "deseasonalize": "maybe"})


def test_parameters_are_frozen_and_listed_by_qgis_name():
    p = LagParameters.from_params({**REQUIRED, "output_status": "st.tif"})
    with pytest.raises(AttributeError):
        p.max_lag = 3  # type: ignore[misc]
    assert p.sources() == {"PRECIPITATION": "p.tif", "SOIL_MOISTURE": "s.tif"}
    assert p.destinations() == {"OUTPUT_STATUS": "st.tif"}
    assert p.as_dict()["MAX_LAG"] == 12


def test_every_step_declares_its_outputs_as_destination_parameters():
    described = cli.describe_steps([])
    assert set(described) == set(cli.STEPS)
    for name, contract_of_step in described.items():
        kinds = {row["name"]: row["type"] for row in contract_of_step["parameters"]}
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", key) for key in kinds), name
        for output in contract_of_step["outputs"]:
            assert kinds[output["name"]] in contract.OUTPUT_KINDS, (name, output["name"])
            if output["kind"] == "raster" and "dtype" in output:
                assert kinds[output["name"]] == "raster_destination"


def test_rasters_have_one_float_nodata_and_status_nodata_255():
    step = cli.load_step("copula_dependence")
    rasters = {o.key: o for o in step.outputs if isinstance(o, RasterOutput)}
    assert {o.nodata for o in rasters.values() if o.dtype == "float32"} == {
        contract.FLOAT_NODATA}
    assert (rasters["output_status"].dtype, rasters["output_status"].nodata) == ("uint8", 255)
    assert isinstance(next(o for o in step.outputs if o.key == "output_table"), FileOutput)


def test_defaults_live_only_in_the_contract():
    """No step reads ``params.get(key) or default`` any more, and no float nodata literal."""
    for path in STEPS_DIR.glob("*.py"):
        if path.name == "check.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "params.get(" not in text, path.name
        assert "-9999" not in text, path.name


def test_bayesian_choices_are_the_science_modules():
    from soilp_qgis.bayes import DATA_MODES, SAMPLERS
    from soilp_qgis.bayes.model import RANDOM_INTERCEPT_FORMS
    from soilp_qgis.bayes.sampling import MASS_MATRICES
    from soilp_qgis.steps import bayesian_drivers

    assert bayesian_drivers.DATA_MODES == tuple(DATA_MODES)
    assert bayesian_drivers.RANDOM_INTERCEPTS == tuple(RANDOM_INTERCEPT_FORMS)
    assert bayesian_drivers.MASS_MATRICES == tuple(MASS_MATRICES)
    assert set(bayesian_drivers.SAMPLERS) <= set(SAMPLERS)


def test_describe_prints_one_step_as_json():
    completed = subprocess.run([sys.executable, "-m", "soilp_qgis", "describe",
                                "lagged_dependence"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    described = json.loads(completed.stdout)
    rows = {row["name"]: row for row in described["parameters"]}
    assert rows["MAX_LAG"] == {"name": "MAX_LAG", "type": "integer", "required": False,
                               "default": 12, "minimum": 0, "maximum": 120}
    assert rows["PRECIPITATION"]["required"] is True
    outputs = {o["name"]: o for o in described["outputs"]}
    assert outputs["OUTPUT_OPTIMAL_LAG"]["dtype"] == "uint8"
    assert outputs["OUTPUT_OPTIMAL_LAG"]["nodata"] == 255
    assert outputs["OUTPUT_STATUS"]["style"] == "status"


def test_describe_of_an_unknown_step_is_one_line():
    completed = subprocess.run([sys.executable, "-m", "soilp_qgis", "describe", "nothing"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.strip().startswith("unknown engine step 'nothing'")
    assert "Traceback" not in completed.stderr
