"""Build the shipped Graphical Modeler model ``resources/models/full_analysis.model3``.

The model chains the whole analysis of the paper with soilp's algorithms. It is generated rather
than drawn so that its ~45 steps are laid out and named consistently, and so that it follows the
algorithms' definitions: every child parameter gets an explicit value (the algorithm's default
where the model has nothing to say, enum options by their engine value), which
``QgsProcessingModelAlgorithm.validate()`` requires on QGIS 3.22. The output paths come from
``resources/output_layout.json`` (the one declaration of the output folder, also read by the
report and rendered as docs/OUTPUTS.md). The result is an ordinary .model3 that opens and edits
in the Modeler.

Run with QGIS's Python after changing an algorithm's parameters or the layout:
``QT_QPA_PLATFORM=offscreen python3 scripts/build_full_analysis_model.py``
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "resources" / "models" / "full_analysis.model3"
LAYOUT_PATH = ROOT / "resources" / "output_layout.json"

#: model inputs holding each soil layer's monthly stack
LAYER_INPUTS = {"layer1": "SOIL_MOISTURE_LAYER1", "layer2": "SOIL_MOISTURE_LAYER2",
                "layer3": "SOIL_MOISTURE_LAYER3"}
#: the model's stack inputs in Run-dialog order: (name, label, time step and units)
RASTER_INPUTS = [
    ("PRECIPITATION", "Precipitation (daily)", "mm/day"),
    ("SOIL_MOISTURE_LAYER1", "Soil moisture 0–7 cm", "monthly, m³/m³"),
    ("SOIL_MOISTURE_LAYER2", "Soil moisture 7–28 cm", "monthly, m³/m³"),
    ("SOIL_MOISTURE_LAYER3", "Soil moisture 28–100 cm", "monthly, m³/m³"),
    ("EVAPOTRANSPIRATION", "Evapotranspiration", "monthly, mm/month"),
    ("AIR_TEMPERATURE", "Air temperature", "monthly, °C"),
    ("LAND_SURFACE_TEMPERATURE", "Land surface temperature", "monthly"),
    ("GPP", "Gross primary production", "monthly"),
]
#: model inputs that are an algorithm's own parameter under another name
BAYES_INPUTS = [("BAYES_DATA", "DATA", "Bayes: data per ecoregion"),
                ("BAYES_MAX_CELLS", "MAX_CELLS", "Bayes: cells per ecoregion"),
                ("BAYES_RANDOM_INTERCEPTS", "RANDOM_INTERCEPTS", "Bayes: random intercepts"),
                ("BAYES_MASS_MATRIX", "MASS_MATRIX", "Bayes: mass matrix"),
                ("BAYES_CHAINS", "CHAINS", "Bayes: chains"),
                ("BAYES_TUNE", "TUNE", "Bayes: warm-up per chain"),
                ("BAYES_DRAWS", "DRAWS", "Bayes: draws per chain")]


def load_layout() -> dict:
    with open(LAYOUT_PATH, encoding="utf-8") as handle:
        return json.load(handle)


def layout_path(layout: dict, group: str, file: str, **dimensions: str) -> str:
    """``<folder>/<name>`` of one file of the layout (as soilp_qgis.report.layout computes it)."""
    entry = layout["groups"][group]
    name = entry["name"].format(file=file, **dimensions)
    return f"{entry['folder']}/{name}" if entry["folder"] else name


def enum_value(definition, engine_value: str):
    """The value a model stores for an enum option given by its engine value (``"sum"``): the
    option itself where the parameter uses static strings (QGIS ≥ 3.24), else its index."""
    from_base = definition.metadata().get("soilp_values") or definition.options()
    index = list(from_base).index(engine_value)
    uses_strings = getattr(definition, "usesStaticStrings", None)
    if uses_strings is not None and uses_strings():
        return definition.options()[index]
    return index


def add_bayes_children(add_child, layout: dict, stack, param, ecoregions: dict) -> None:
    """One soilp:bayesiandriverslayers step (``bayes``) fitting the three soil layers at monthly
    and annual scale in one engine process; each layer and scale gets its own table, ecoregion
    layer, figure and report in bayes/ (``layer<i>_<scale>_…``, the layout's names)."""
    scales = list(layout["dimensions"]["scale"])
    add_child("bayes", "bayesiandriverslayers",
              "Bayesian drivers, every soil layer, monthly and annual", 1500.0, 60.0,
              {"PRECIPITATION": [stack("PRECIPITATION_VOLUME", scale) for scale in scales],
               "SOIL_MOISTURE_LAYERS": [stack(LAYER_INPUTS[layer], scale) for scale in scales
                                        for layer in layout["dimensions"]["layer"]],
               "AIR_TEMPERATURE": [stack("AIR_TEMPERATURE", scale) for scale in scales],
               "GPP": [stack("GPP", scale) for scale in scales],
               "LST": [stack("LAND_SURFACE_TEMPERATURE", scale) for scale in scales],
               **{name: param(model_name) for model_name, name, _ in BAYES_INPUTS},
               **ecoregions},
              {"OUTPUT_FOLDER": layout["groups"]["bayes"]["folder"]})


def build():
    from qgis.core import (
        QgsApplication,
        QgsProcessingDestinationParameter,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildDependency,
        QgsProcessingModelParameter,
        QgsProcessingParameterEnum,
        QgsProcessingParameterFile,
        QgsProcessingParameterRasterLayer,
    )
    from qgis.core import (
        QgsProcessingModelChildParameterSource as Source,
    )
    from qgis.PyQt.QtCore import QPointF
    from soilp.processing_algs import compat  # the plugin, loaded by main()

    registry = QgsApplication.processingRegistry()
    layout = load_layout()

    def algorithm(name: str):
        found = registry.algorithmById(f"soilp:{name}")
        if found is None:
            raise SystemExit(f"soilp:{name} is not registered (is the plugin loaded?)")
        return found

    model = QgsProcessingModelAlgorithm("Full dependence analysis", "soilp")
    model.setHelpContent({
        "ALG_DESC": (
            "The paper's whole analysis in one run: precipitation volume and frequency from daily "
            "precipitation (monthly, seasonal, annual); copula dependence (Kendall's τ, tail "
            "dependence, families) of each soil layer at monthly and annual scale; lagged "
            "dependence (monthly); ridge control of each soil layer monthly, per season and "
            "annually (ternary composites); Bayesian drivers per ecoregion (each soil layer, "
            "monthly and annual); and the HTML report. Everything is written into OUTPUT_FOLDER: "
            "copula/, lag/, ridge/, bayes/, inputs/ (the prepared stacks) and report.html at "
            "the top, as listed in the plugin's docs/OUTPUTS.md. Every stack input is required; "
            "they start empty so that no project layer is taken by mistake."),
        "ALG_CREATOR": "soilp developers",
    })
    order: list[str] = []

    def add_input(definition, y: float) -> None:
        parameter = QgsProcessingModelParameter(definition.name())
        parameter.setPosition(QPointF(120.0, y))
        model.addModelParameter(definition, parameter)
        order.append(definition.name())

    # Inputs. Stacks are optional in the definition only so the Run dialog does not pre-fill
    # them with the project's first raster; the steps that need them say which is missing.
    y = 60.0
    for name, description, units in RASTER_INPUTS:
        definition = QgsProcessingParameterRasterLayer(name, description, optional=True)
        definition.setMetadata({"soilp_required": True, "soilp_help": (
            f"Required: the {description[0].lower()}{description[1:]} time stack ({units}). "
            "Stacks used together must share CRS, grid and dates. (Optional in the "
            "definition only so the Run dialog starts empty instead of taking the project's "
            "first raster.)")})
        add_input(definition, y)
        y += 70.0
    copula = algorithm("copuladependence")
    for name in ("ECOREGIONS", "FIELD"):
        definition = copula.parameterDefinition(name).clone()
        if name == "ECOREGIONS":
            definition.setFlags(definition.flags() & ~compat.FLAG_OPTIONAL)
        add_input(definition, y)
        y += 70.0
    add_input(copula.parameterDefinition("FAMILY_SET").clone(), y)
    y += 70.0
    bayes = algorithm("bayesiandriverslayers")
    for model_name, name, description in BAYES_INPUTS:
        definition = bayes.parameterDefinition(name).clone()
        definition.setName(model_name)
        definition.setDescription(description)
        definition.setFlags(definition.flags() | compat.FLAG_ADVANCED)
        add_input(definition, y)
        y += 70.0
    output_folder = QgsProcessingParameterFile("OUTPUT_FOLDER", "Output folder",
                                               behavior=compat.FILE_BEHAVIOR_FOLDER)
    output_folder.setMetadata({"soilp_help": (
        "Where everything is written: copula/, lag/, ridge/, bayes/, inputs/ and report.html "
        "(docs/OUTPUTS.md).")})
    add_input(output_folder, y)
    model.setParameterOrder(order)

    children: list[str] = []

    def add_child(child_id: str, name: str, description: str, x: float, y: float,
                  sources: dict, outputs: dict[str, str]) -> None:
        """A step of soilp:<name>: ``sources`` by parameter (a Source, or an engine enum
        value / plain value for a static one), the rest at the algorithm's defaults;
        ``outputs`` by destination parameter → path inside the output folder."""
        child_algorithm = algorithm(name)
        child = QgsProcessingModelChildAlgorithm(f"soilp:{name}")
        child.setChildId(child_id)
        child.setDescription(description)
        child.setPosition(QPointF(x, y))
        for definition in child_algorithm.parameterDefinitions():
            parameter = definition.name()
            if isinstance(definition, QgsProcessingDestinationParameter):
                if parameter in outputs:
                    child.addParameterSources(parameter, [Source.fromExpression(
                        f"@OUTPUT_FOLDER || '/{outputs.pop(parameter)}'")])
                elif not definition.flags() & compat.FLAG_OPTIONAL:
                    raise SystemExit(f"{child_id}: required output {parameter} has no place "
                                     f"in {LAYOUT_PATH.name}")
                continue
            value = sources.pop(parameter, definition.defaultValue())
            if isinstance(value, list):   # several sources (a multiple-layers parameter)
                child.addParameterSources(parameter, value)
                continue
            if not isinstance(value, Source):
                if isinstance(definition, QgsProcessingParameterEnum) and isinstance(value, str):
                    value = enum_value(definition, value)
                value = Source.fromStaticValue(value)
            child.addParameterSources(parameter, [value])
        if sources or outputs:
            raise SystemExit(f"{child_id}: soilp:{name} has no parameter "
                             f"{', '.join([*sources, *outputs])}")
        model.addChildAlgorithm(child)
        children.append(child_id)

    def param(name: str):
        return Source.fromModelParameter(name)

    def output_of(child_id: str, name: str = "OUTPUT"):
        return Source.fromChildOutput(child_id, name)

    def outputs_of(group: str, **dimensions: str) -> dict[str, str]:
        files = layout["groups"][group]["files"]
        return {spec["output"]: layout_path(layout, group, file, **dimensions)
                for file, spec in files.items() if "output" in spec}

    def combinations(group: str):
        axes = layout["groups"][group]["for_each"]
        for values in itertools.product(*(layout["dimensions"][axis] for axis in axes)):
            yield dict(zip(axes, values))

    ecoregions = {"ECOREGIONS": param("ECOREGIONS"), "FIELD": param("FIELD")}

    # 1. the prepared stacks: precipitation volume and frequency, annual means and sums
    prepared: dict[tuple[str, str], str] = {}   # (input, scale[+statistic]) → child id
    for row, (file, spec) in enumerate(layout["groups"]["inputs"]["files"].items()):
        child_id = Path(file).stem
        prepared[(spec["input"], spec["scale"], spec["statistic"])] = child_id
        add_child(child_id, "aggregatetime", spec["what"][0].upper() + spec["what"][1:],
                  450.0, 60.0 + 70 * row,
                  {"INPUT": param(spec["input"]), "SCALE": spec["scale"],
                   "STATISTIC": spec["statistic"]},
                  {spec["output"]: layout_path(layout, "inputs", file)})

    def stack(name: str, scale: str, statistic: str = "mean"):
        """A model input at its monthly scale, or the prepared stack of another scale."""
        if name == "PRECIPITATION_VOLUME":
            return output_of(prepared[("PRECIPITATION", scale, "sum")])
        if name == "PRECIPITATION_FREQUENCY":
            return output_of(prepared[("PRECIPITATION", scale, "wet_day_count")])
        if scale == "monthly":
            return param(name)
        return output_of(prepared[(name, scale, statistic)])

    # 2. copula dependence per layer and scale
    for row, where in enumerate(combinations("copula")):
        layer, scale = where["layer"], where["scale"]
        add_child(f"copula_{layer}_{scale}", "copuladependence",
                  f"Copula dependence, {layout['dimensions']['layer'][layer]}, {scale}",
                  800.0, 60.0 + 70 * row,
                  {"PRECIPITATION": stack("PRECIPITATION_VOLUME", scale),
                   "SOIL_MOISTURE": stack(LAYER_INPUTS[layer], scale),
                   "FAMILY_SET": param("FAMILY_SET"), **ecoregions},
                  outputs_of("copula", **where))

    # 3. lagged dependence per layer (monthly, lags 0–12 as the paper)
    for row, where in enumerate(combinations("lag")):
        layer = where["layer"]
        add_child(f"lag_{layer}", "laggeddependence",
                  f"Lagged dependence, {layout['dimensions']['layer'][layer]}",
                  800.0, 560.0 + 70 * row,
                  {"PRECIPITATION": stack("PRECIPITATION_VOLUME", "monthly"),
                   "SOIL_MOISTURE": param(LAYER_INPUTS[layer]), "MAX_LAG": 12},
                  outputs_of("lag", **where))

    # 4. ridge control per layer: monthly, each season (of the monthly stacks), annual
    for row, where in enumerate(combinations("ridge")):
        layer, period = where["layer"], where["period"]
        scale = "annual" if period == "annual" else "monthly"
        add_child(f"ridge_{layer}_{period}", "ridgecontrol",
                  f"Ridge control, {layout['dimensions']['layer'][layer]}, {period}",
                  1150.0, 60.0 + 70 * row,
                  {"SOIL_MOISTURE": stack(LAYER_INPUTS[layer], scale),
                   "PRECIP_VOLUME": stack("PRECIPITATION_VOLUME", scale),
                   "PRECIP_FREQUENCY": stack("PRECIPITATION_FREQUENCY", scale),
                   "EVAPOTRANSPIRATION": stack("EVAPOTRANSPIRATION", scale, "sum"),
                   "AIR_TEMPERATURE": stack("AIR_TEMPERATURE", scale),
                   "SEASON": "all" if period in ("monthly", "annual") else period,
                   **ecoregions},
                  outputs_of("ridge", **where))

    # 5. Bayesian drivers per layer and scale (the paper's figures 7 and 8, three columns each),
    # all six in one run
    add_bayes_children(add_child, layout, stack, param, ecoregions)

    # 6. the report at the top of the folder, once everything else has run
    steps_before_report = list(children)
    add_child("report", "report", "Dependence report", 1850.0, 200.0,
              {"INPUT_FOLDER": param("OUTPUT_FOLDER"), **ecoregions},
              outputs_of("report"))
    report = model.childAlgorithm("report")
    report.setDependencies([QgsProcessingModelChildDependency(child)
                            for child in steps_before_report])
    return model


def start_qgis_with_plugin():
    """A headless QgsApplication with Processing and this checkout loaded as plugin ``soilp``
    (its provider registered and its algorithms resolvable). Returns the application; keep it."""
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.insert(0, "/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    plugins = Path(tempfile.mkdtemp(prefix="soilp-plugins-"))   # this checkout as "soilp"
    (plugins / "soilp").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(plugins))
    import soilp

    plugin = soilp.classFactory(None)
    plugin.initProcessing()
    QgsApplication.processingRegistry().providerById("soilp").refreshAlgorithms()
    app.soilp_plugin = plugin   # keep it alive with the application
    return app


def main() -> int:
    os.environ.setdefault("QT_HASH_SEED", "0")   # the same attribute order in every build
    app = start_qgis_with_plugin()  # noqa: F841 - QGIS must outlive the build
    model = build()
    ok, errors = model.validate()
    if not ok:
        print("the model does not validate:\n" + "\n".join(errors), file=sys.stderr)
        return 1
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    if not model.toFile(str(MODEL_PATH)):
        print(f"could not write {MODEL_PATH}", file=sys.stderr)
        return 1
    print(f"{MODEL_PATH}: {len(model.childAlgorithms())} steps, "
          f"{len(model.parameterDefinitions())} inputs, valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
