"""soilp:bayesiandrivers on the plugin side: RANDOM_INTERCEPTS and MASS_MATRIX are advanced
options that headless calls may name, and the engine receives their engine values."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback


@pytest.mark.parametrize("given, engine_value", [
    ("centred", "centred"), ("non_centred", "non_centred"), ("non-centred", "non_centred"),
    ("Non-centred", "non_centred"), (1, "non_centred"), ("marginalised", "marginalised"),
    (2, "marginalised"), (None, "marginalised")])
def test_random_intercepts_by_name_reach_the_engine(soilp_provider, given, engine_value):
    from soilp.processing_algs import compat

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("soilp:bayesiandrivers")
    definition = algorithm.parameterDefinition("RANDOM_INTERCEPTS")
    assert definition.flags() & compat.FLAG_ADVANCED
    parameters = {} if given is None else {"RANDOM_INTERCEPTS": given}
    if given is not None:
        assert definition.checkValueIsAcceptable(given)
    values = algorithm.engine_parameters(parameters, QgsProcessingContext(),
                                         QgsProcessingFeedback())
    assert values["random_intercepts"] == engine_value


def test_random_intercepts_refuses_other_forms(soilp_provider):
    algorithm = QgsApplication.processingRegistry().algorithmById("soilp:bayesiandrivers")
    definition = algorithm.parameterDefinition("RANDOM_INTERCEPTS")
    for value in ("noncentral", 3, ""):
        assert not definition.checkValueIsAcceptable(value), value
    assert "non_centred" in definition.help() or "non_centred" in str(definition.metadata())


@pytest.mark.parametrize("given, engine_value", [
    (None, "low_rank"), ("low_rank", "low_rank"), ("Low-rank modified", "low_rank"),
    (1, "low_rank"), ("diagonal", "diagonal"), (0, "diagonal")])
def test_mass_matrix_by_name_reaches_the_engine(soilp_provider, given, engine_value):
    from soilp.processing_algs import compat

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("soilp:bayesiandrivers")
    assert algorithm.parameterDefinition("MASS_MATRIX").flags() & compat.FLAG_ADVANCED
    parameters = {} if given is None else {"MASS_MATRIX": given}
    values = algorithm.engine_parameters(parameters, QgsProcessingContext(),
                                         QgsProcessingFeedback())
    assert values["mass_matrix"] == engine_value


def test_several_soil_layers_reach_the_engine_in_the_order_given(soilp_provider, tmp_path):
    """SOIL_MOISTURE_LAYERS (multiple layers) becomes the engine's list of paths, in the order
    given (layer i's outputs are named layer<i>_…), a single PRECIPITATION a list of one; the
    four per-layer outputs are one folder."""
    from conftest import monthly_dates, write_stack_with_gdal

    dates = monthly_dates(2000, 1)
    deep = write_stack_with_gdal(tmp_path / "deep.tif", [[[0.3]]] * 12, dates)
    top = write_stack_with_gdal(tmp_path / "top.tif", [[[0.2]]] * 12, dates)
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(
        "soilp:bayesiandriverslayers")
    for given in ([str(deep), str(top)], [str(top), str(deep)]):
        values = algorithm.engine_parameters({"SOIL_MOISTURE_LAYERS": given,
                                              "PRECIPITATION": str(top),
                                              "OUTPUT_FOLDER": str(tmp_path / "out")},
                                             QgsProcessingContext(), QgsProcessingFeedback())
        assert values["soil_moisture_layers"] == given
        assert values["precipitation"] == [str(top)]   # one stack per time scale
        assert values["output_folder"] == str(tmp_path / "out")
    names = [d.name() for d in algorithm.destinationParameterDefinitions()]
    assert names == ["OUTPUT_FOLDER"]
