"""Build the shipped Graphical Modeler model ``resources/models/full_analysis.model3``.

The model chains the whole analysis of the paper with soilp's algorithms (see docs/OUTPUTS.md
for the files it writes). It is generated rather than drawn so that its ~45 steps are laid out
and named consistently; the result is an ordinary .model3 that opens and edits in the Modeler.

Run with QGIS's Python after changing an algorithm's parameters:
``QT_QPA_PLATFORM=offscreen python3 scripts/build_full_analysis_model.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "resources" / "models" / "full_analysis.model3"

LAYERS = {"layer1": ("SOIL_MOISTURE_LAYER1", "0–7 cm"),
          "layer2": ("SOIL_MOISTURE_LAYER2", "7–28 cm"),
          "layer3": ("SOIL_MOISTURE_LAYER3", "28–100 cm")}
SEASONS = ["MAM", "JJA", "SON", "DJF"]
SEASON_INDEX = {"all": 0, "MAM": 1, "JJA": 2, "SON": 3, "DJF": 4}
SCALE_INDEX = {"monthly": 0, "seasonal": 1, "annual": 2}
STATISTIC_INDEX = {"mean": 0, "sum": 1, "wet_day_count": 2}


def build():
    from qgis.core import (
        QgsProcessing,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildDependency,
        QgsProcessingModelChildParameterSource as Source,
        QgsProcessingModelParameter,
        QgsProcessingParameterEnum,
        QgsProcessingParameterFeatureSource,
        QgsProcessingParameterField,
        QgsProcessingParameterFile,
        QgsProcessingParameterNumber,
        QgsProcessingParameterRasterLayer,
    )
    from qgis.PyQt.QtCore import QPointF

    model = QgsProcessingModelAlgorithm("Full dependence analysis", "Full analysis")
    model.setHelpContent({
        "ALG_DESC": (
            "The paper's whole analysis in one run: precipitation volume and frequency from daily "
            "precipitation (monthly, seasonal, annual); copula dependence (Kendall's τ, tail "
            "dependence, families) of each soil layer at monthly and annual scale; lagged "
            "dependence (monthly); ridge control of each soil layer monthly, per season and "
            "annually (ternary composites); Bayesian drivers per ecoregion (monthly and annual, "
            "surface layer); and the HTML report. Everything is written into OUTPUT_FOLDER under "
            "the names listed in the plugin's docs/OUTPUTS.md."),
        "ALG_CREATOR": "soilp developers",
    })
    def add_input(definition, x: float, y: float):
        parameter = QgsProcessingModelParameter(definition.name())
        parameter.setPosition(QPointF(x, y))
        model.addModelParameter(definition, parameter)

    stacks = [("PRECIPITATION", "Daily precipitation (mm/day)")]
    stacks += [(name, f"Soil moisture {depth} (monthly, m³/m³)") for name, depth in LAYERS.values()]
    stacks += [("EVAPOTRANSPIRATION", "Evapotranspiration (monthly, mm/month)"),
               ("AIR_TEMPERATURE", "Air temperature (monthly, °C)"),
               ("LAND_SURFACE_TEMPERATURE", "Land surface temperature (monthly)"),
               ("GPP", "Gross primary production (monthly)")]
    for i, (name, description) in enumerate(stacks):
        add_input(QgsProcessingParameterRasterLayer(name, description), 120.0, 60.0 + 70 * i)
    y = 60.0 + 70 * len(stacks)
    add_input(QgsProcessingParameterFeatureSource(
        "ECOREGIONS", "Ecoregions (polygon layer)", [QgsProcessing.TypeVectorPolygon]), 120.0, y)
    add_input(QgsProcessingParameterField("FIELD", "Ecoregion field", defaultValue="BIOME",
                                          parentLayerParameterName="ECOREGIONS", optional=True),
              120.0, y + 70)
    add_input(QgsProcessingParameterFile("OUTPUT_FOLDER", "Output folder",
                                         behavior=QgsProcessingParameterFile.Folder),
              120.0, y + 140)
    family_set = QgsProcessingParameterEnum(
        "FAMILY_SET", "Copula families", options=["All 40 VineCopula families",
                                                  "One-parameter families", "Gaussian and t"],
        defaultValue=0)
    add_input(family_set, 120.0, y + 210)
    bayes_settings = [("BAYES_CHAINS", "Bayesian model: chains", 4, 1),
                      ("BAYES_TUNE", "Bayesian model: warm-up iterations per chain", 2000, 50),
                      ("BAYES_DRAWS", "Bayesian model: draws per chain", 2000, 50),
                      ("BAYES_MAX_CELLS", "Bayesian model: cells per ecoregion", 200, 2)]
    add_input(QgsProcessingParameterEnum(
        "BAYES_DATA", "Bayesian model: data per ecoregion",
        options=["Cells (random intercepts per cell)", "Ecoregion mean series"], defaultValue=0),
        120.0, y + 560)
    for i, (name, description, default, minimum) in enumerate(bayes_settings):
        add_input(QgsProcessingParameterNumber(name, description,
                                               QgsProcessingParameterNumber.Integer,
                                               defaultValue=default, minValue=minimum),
                  120.0, y + 280 + 70 * i)

    children: list[str] = []

    def add_child(child_id: str, algorithm: str, description: str, x: float, y: float,
                  sources: dict, outputs: dict[str, str]) -> None:
        child = QgsProcessingModelChildAlgorithm(algorithm)
        child.setChildId(child_id)
        child.setDescription(description)
        child.setPosition(QPointF(x, y))
        for name, source in sources.items():
            child.addParameterSources(name, [source])
        for name, file_name in outputs.items():
            child.addParameterSources(name, [Source.fromExpression(
                f"@OUTPUT_FOLDER || '/{file_name}'")])
        model.addChildAlgorithm(child)
        children.append(child_id)

    def param(name: str):
        return Source.fromModelParameter(name)

    def static(value):
        return Source.fromStaticValue(value)

    def output_of(child_id: str, name: str = "OUTPUT"):
        return Source.fromChildOutput(child_id, name)

    ecoregions = {"ECOREGIONS": param("ECOREGIONS"), "FIELD": param("FIELD")}

    # 1. precipitation volume and frequency, and the annual stacks of the other variables
    row = 0
    for scale in ("monthly", "seasonal", "annual"):
        for quantity, statistic in (("volume", "sum"), ("frequency", "wet_day_count")):
            add_child(f"precipitation_{quantity}_{scale}", "soilp:aggregatetime",
                      f"Precipitation {quantity} ({scale})", 450.0, 60.0 + 70 * row,
                      {"INPUT": param("PRECIPITATION"), "SCALE": static(SCALE_INDEX[scale]),
                       "STATISTIC": static(STATISTIC_INDEX[statistic])},
                      {"OUTPUT": f"inputs/precipitation_{quantity}_{scale}.tif"})
            row += 1
    annual = [(f"soil_moisture_{layer}", name, "mean") for layer, (name, _) in LAYERS.items()]
    annual += [("evapotranspiration", "EVAPOTRANSPIRATION", "sum"),
               ("air_temperature", "AIR_TEMPERATURE", "mean"),
               ("lst", "LAND_SURFACE_TEMPERATURE", "mean"), ("gpp", "GPP", "mean")]
    for stem, source, statistic in annual:
        add_child(f"{stem}_annual", "soilp:aggregatetime", f"{stem.replace('_', ' ')} (annual)",
                  450.0, 60.0 + 70 * row,
                  {"INPUT": param(source), "SCALE": static(SCALE_INDEX["annual"]),
                   "STATISTIC": static(STATISTIC_INDEX[statistic])},
                  {"OUTPUT": f"inputs/{stem}_annual.tif"})
        row += 1

    # 2. copula dependence per layer and scale; 3. lags (monthly)
    copula_outputs = {"OUTPUT_TAU": "tau", "OUTPUT_LOWER_TAIL": "lower_tail",
                      "OUTPUT_UPPER_TAIL": "upper_tail", "OUTPUT_FAMILY": "family",
                      "OUTPUT_PARAMETERS": "parameters", "OUTPUT_STATUS": "status"}
    row = 0
    for layer, (name, depth) in LAYERS.items():
        for scale in ("monthly", "annual"):
            soil = param(name) if scale == "monthly" else output_of(f"soil_moisture_{layer}_annual")
            outputs = {key: f"copula_{layer}_{scale}_{stem}.tif"
                       for key, stem in copula_outputs.items()}
            outputs["OUTPUT_TABLE"] = f"copula_{layer}_{scale}_table.csv"
            add_child(f"copula_{layer}_{scale}", "soilp:copuladependence",
                      f"Copula dependence, {depth}, {scale}", 800.0, 60.0 + 70 * row,
                      {"PRECIPITATION": output_of(f"precipitation_volume_{scale}"),
                       "SOIL_MOISTURE": soil, "FAMILY_SET": param("FAMILY_SET"), **ecoregions},
                      outputs)
            row += 1
        add_child(f"lag_{layer}", "soilp:laggeddependence", f"Lagged dependence, {depth}",
                  800.0, 60.0 + 70 * row,
                  {"PRECIPITATION": output_of("precipitation_volume_monthly"),
                   "SOIL_MOISTURE": param(name), "MAX_LAG": static(12)},
                  {"OUTPUT_TAU_BY_LAG": f"lag_{layer}_tau_by_lag.tif",
                   "OUTPUT_OPTIMAL_LAG": f"lag_{layer}_optimal_lag.tif",
                   "OUTPUT_TAU_AT_OPTIMAL_LAG": f"lag_{layer}_tau_at_optimal_lag.tif"})
        row += 1

    # 4. ridge control per layer: monthly, each season (of the monthly stacks), annual
    ridge_outputs = {"OUTPUT_COEFFICIENTS": "coefficients.tif", "OUTPUT_WEIGHTS": "weights.tif",
                     "OUTPUT_RGB": "rgb.tif", "OUTPUT_DOMINANT": "dominant.tif",
                     "OUTPUT_STATUS": "status.tif", "OUTPUT_TABLE": "table.csv",
                     "OUTPUT_LEGEND": "legend.png"}
    row = 0
    for layer, (name, depth) in LAYERS.items():
        for period in ["monthly", *SEASONS, "annual"]:
            if period == "annual":
                sources = {"SOIL_MOISTURE": output_of(f"soil_moisture_{layer}_annual"),
                           "PRECIP_VOLUME": output_of("precipitation_volume_annual"),
                           "PRECIP_FREQUENCY": output_of("precipitation_frequency_annual"),
                           "EVAPOTRANSPIRATION": output_of("evapotranspiration_annual"),
                           "AIR_TEMPERATURE": output_of("air_temperature_annual")}
            else:
                sources = {"SOIL_MOISTURE": param(name),
                           "PRECIP_VOLUME": output_of("precipitation_volume_monthly"),
                           "PRECIP_FREQUENCY": output_of("precipitation_frequency_monthly"),
                           "EVAPOTRANSPIRATION": param("EVAPOTRANSPIRATION"),
                           "AIR_TEMPERATURE": param("AIR_TEMPERATURE")}
            sources["SEASON"] = static(SEASON_INDEX.get(period, 0))
            add_child(f"ridge_{layer}_{period}", "soilp:ridgecontrol",
                      f"Ridge control, {depth}, {period}", 1150.0, 60.0 + 70 * row,
                      {**sources, **ecoregions},
                      {key: f"ridge_{layer}_{period}_{stem}" for key, stem in ridge_outputs.items()})
            row += 1

    # 5. Bayesian drivers (surface layer), monthly and annual
    for i, scale in enumerate(("monthly", "annual")):
        if scale == "monthly":
            sources = {"PRECIPITATION": output_of("precipitation_volume_monthly"),
                       "SOIL_MOISTURE": param("SOIL_MOISTURE_LAYER1"),
                       "AIR_TEMPERATURE": param("AIR_TEMPERATURE"), "GPP": param("GPP"),
                       "LST": param("LAND_SURFACE_TEMPERATURE")}
        else:
            sources = {"PRECIPITATION": output_of("precipitation_volume_annual"),
                       "SOIL_MOISTURE": output_of("soil_moisture_layer1_annual"),
                       "AIR_TEMPERATURE": output_of("air_temperature_annual"),
                       "GPP": output_of("gpp_annual"), "LST": output_of("lst_annual")}
        sources.update({"DATA": param("BAYES_DATA"), "CHAINS": param("BAYES_CHAINS"), "TUNE": param("BAYES_TUNE"),
                        "DRAWS": param("BAYES_DRAWS"), "MAX_CELLS": param("BAYES_MAX_CELLS")})
        add_child(f"bayes_{scale}", "soilp:bayesiandrivers",
                  f"Bayesian drivers ({scale})", 1500.0, 60.0 + 70 * i,
                  {**sources, **ecoregions},
                  {"OUTPUT_TABLE": f"bayes_{scale}_table.csv",
                   "OUTPUT_LAYER": f"bayes_{scale}_ecoregions.gpkg",
                   "OUTPUT_FIGURE": f"bayes_{scale}_figure.png",
                   "OUTPUT_REPORT": f"bayes_{scale}_report.html"})

    # 6. the report, once everything else has run
    report = QgsProcessingModelChildAlgorithm("soilp:report")
    report.setChildId("report")
    report.setDescription("Dependence report")
    report.setPosition(QPointF(1500.0, 300.0))
    report.addParameterSources("INPUT_FOLDER", [param("OUTPUT_FOLDER")])
    report.addParameterSources("ECOREGIONS", [param("ECOREGIONS")])
    report.addParameterSources("FIELD", [param("FIELD")])
    report.addParameterSources("OUTPUT_HTML", [Source.fromExpression(
        "@OUTPUT_FOLDER || '/report.html'")])
    report.setDependencies([QgsProcessingModelChildDependency(child) for child in children])
    model.addChildAlgorithm(report)
    return model


def main() -> int:
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    with tempfile.TemporaryDirectory() as plugins:  # this checkout as plugin "soilp"
        (Path(plugins) / "soilp").symlink_to(ROOT, target_is_directory=True)
        sys.path.insert(0, plugins)
        import soilp

        plugin = soilp.classFactory(None)
        plugin.initProcessing()
        model = build()
    missing = [child.childId() for child in model.childAlgorithms().values()
               if child.algorithm() is None]
    if missing:
        print("unknown algorithms (is the plugin enabled?): " + ", ".join(missing),
              file=sys.stderr)
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    if not model.toFile(str(MODEL_PATH)):
        print(f"could not write {MODEL_PATH}", file=sys.stderr)
        return 1
    print(f"{MODEL_PATH}: {len(model.childAlgorithms())} steps, "
          f"{len(model.parameterDefinitions())} inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
