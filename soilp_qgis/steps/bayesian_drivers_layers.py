"""``bayesian_drivers_layers``: ``bayesian_drivers`` for several soil layers in one run.

The paper fits one model per ecoregion and soil layer (figures 7 and 8, one column per layer).
Run one by one, every layer pays for starting the engine, importing pymc and compiling the model
(about half a minute); here the layers share one process and one sampler, so the model is compiled
once, and one progress bar covers them all. Layer ``i`` (1-based, in the order given) gets exactly
what ``bayesian_drivers`` would write for it alone — the same seeds, so the same draws — in
OUTPUT_FOLDER as ``layer<i>_<scale>_table.csv``, ``_ecoregions.gpkg``, ``_figure.png`` and
``_report.html`` (``<scale>`` the stacks' time scale, then ``_<season>`` for one season), each
with its own provenance record. Every layer's stacks are opened and matched before any sampling.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError, StackMismatchError
from ..protocol import Reporter
from ..timestack import read_stack_info
from . import bayesian_drivers as single
from .common import open_stacks
from .outputs import StepOutputs, engine_step, now, record_run

#: each layer's files: ``bayesian_drivers``'s output parameter → the file's name after the prefix
LAYER_FILES = {"output_table": "table.csv", "output_layer": "ecoregions.gpkg",
               "output_figure": "figure.png", "output_report": "report.html"}


def _fields():
    """``bayesian_drivers``'s parameters, declared there once: SOIL_MOISTURE becomes a list of
    layers, the four outputs one folder."""
    for field in dataclasses.fields(single.Parameters):
        if field.name == "soil_moisture":
            yield "soil_moisture_layers", list, contract.stacks()
        elif field.name not in LAYER_FILES:
            yield field.name, field.type, dataclasses.field(default=field.default,
                                                            metadata=field.metadata)
    yield "output_folder", str, contract.folder_output()


def _layer_run(p, number: int, soil_moisture: str, scale: str) -> single.Parameters:
    """The ``bayesian_drivers`` run of layer ``number`` (1-based)."""
    shared = {field.name: getattr(p, field.name) for field in dataclasses.fields(single.Parameters)
              if hasattr(p, field.name)}
    prefix = f"layer{number}_{scale}" + ("" if p.season == "all" else f"_{p.season}")
    files = {key: str(Path(p.output_folder) / f"{prefix}_{name}")
             for key, name in LAYER_FILES.items()}
    return single.Parameters(**shared, soil_moisture=soil_moisture, **files)


def _layer_runs(p) -> list[single.Parameters]:
    scale = read_stack_info(p.precipitation, name="PRECIPITATION").time_scale
    return [_layer_run(p, number, path, scale)
            for number, path in enumerate(p.soil_moisture_layers, start=1)]


def _validate(p) -> None:
    single.Parameters.validate(p)


def _derived_outputs(p) -> dict[str, str]:
    return {f"{key.upper()} of SOIL_MOISTURE_LAYERS[{number}]": getattr(run, key)
            for number, run in enumerate(_layer_runs(p), start=1) for key in LAYER_FILES}


Parameters = dataclasses.make_dataclass(
    "Parameters", list(_fields()), bases=(StepParameters,), frozen=True,
    namespace={"STEP": "bayesian_drivers_layers", "validate": _validate,
               "derived_outputs": _derived_outputs,
               "__doc__": "Parameters of ``bayesian_drivers_layers`` "
                          "(soilp:bayesiandriverslayers): those of ``bayesian_drivers`` with "
                          "SOIL_MOISTURE_LAYERS and OUTPUT_FOLDER."})
Parameters.__module__ = __name__

OUTPUTS = (FileOutput("output_folder", "folder",
                      "per soil layer i: layer<i>_<scale>_table.csv, _ecoregions.gpkg, "
                      "_figure.png, _report.html"),)


@engine_step(Parameters, OUTPUTS, record=False)
def bayesian_drivers_layers(p, outputs: StepOutputs, report: Reporter) -> dict:
    """Fit every ecoregion of every layer with one sampler; each layer's outputs and record."""
    from ..bayes.sampling import DriverSampler

    runs = _layer_runs(p)
    for number, run in enumerate(runs, start=1):   # refused before any sampling
        try:
            open_stacks(run, list(single.STACKS))
        except (InputError, StackMismatchError) as exc:
            raise type(exc)(f"soil layer {number} of SOIL_MOISTURE_LAYERS "
                             f"({run.soil_moisture}): {exc}") from None
    sampler = DriverSampler(single.sampler_settings(runs[0]))
    fitted = converged = 0
    for index, run in enumerate(runs):
        started = now()
        report.info(f"soil layer {index + 1} of {len(runs)}: {run.soil_moisture}")
        writer = StepOutputs(run, single.OUTPUTS, outputs.staging)
        part = report.sub(index / len(runs), (index + 1) / len(runs))
        results = single.fit_and_write(run, writer, part, sampler)
        record_run(writer, started)
        part.progress(1.0)
        report.load(run.output_layer, Path(run.output_layer).stem)
        fitted += results["ECOREGIONS_FITTED"]
        converged += results["ECOREGIONS_CONVERGED"]
    return {"OUTPUT_FOLDER": p.output_folder, "ECOREGIONS_FITTED": fitted,
            "ECOREGIONS_CONVERGED": converged}
