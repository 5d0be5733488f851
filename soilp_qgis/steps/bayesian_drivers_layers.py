"""``bayesian_drivers_layers``: ``bayesian_drivers`` for several soil layers and time scales in
one run.

The paper fits one model per ecoregion, soil layer and time scale (figures 7 and 8: monthly and
annual, a column per layer). Run one by one, every fit pays for starting the engine, importing
pymc and compiling the model (about half a minute); here they share one process and one sampler,
so the model is compiled once, and one progress bar covers them all.

PRECIPITATION, AIR_TEMPERATURE, GPP and LST are given once per time scale, SOIL_MOISTURE_LAYERS
once per layer and scale; each soil moisture stack is fitted with the stacks of its own time
scale, and is layer ``i`` of that scale in the order given (the first monthly stack layer 1, the
second layer 2 …). Each gets exactly what ``bayesian_drivers`` would write for it alone — the same
seeds, so the same draws — in OUTPUT_FOLDER as ``layer<i>_<scale>_table.csv``,
``_ecoregions.gpkg``, ``_figure.png`` and ``_report.html`` (then ``_<season>`` for one season),
each with its own provenance record. Every stack is opened and matched before any sampling.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
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


#: the stacks given once per time scale
SCALE_STACKS = ("precipitation", "air_temperature", "gpp", "lst")


def _fields():
    """``bayesian_drivers``'s parameters, declared there once: the stacks become lists (one per
    time scale; SOIL_MOISTURE one per layer and scale), the four outputs one folder."""
    for field in dataclasses.fields(single.Parameters):
        if field.name == "soil_moisture":
            yield "soil_moisture_layers", list, contract.stacks()
        elif field.name in SCALE_STACKS:
            yield field.name, list, contract.stacks()
        elif field.name not in LAYER_FILES:
            yield field.name, field.type, dataclasses.field(default=field.default,
                                                            metadata=field.metadata)
    yield "output_folder", str, contract.folder_output()


def _stacks_by_scale(p) -> dict[str, dict[str, str]]:
    """``{time scale: {"precipitation": path, …}}``: one stack of each of SCALE_STACKS per
    time scale, or an :class:`InputError` saying which is doubled or missing."""
    scales: dict[str, dict[str, str]] = {}
    for key in SCALE_STACKS:
        for number, path in enumerate(getattr(p, key), start=1):
            scale = read_stack_info(path, name=f"{key.upper()}[{number}]").time_scale
            given = scales.setdefault(scale, {})
            if key in given:
                raise InputError(f"{key.upper()} has two {scale} stacks ({given[key]} and "
                                 f"{path}): give one per time scale")
            given[key] = path
    for scale, given in scales.items():
        missing = [key.upper() for key in SCALE_STACKS if key not in given]
        if missing:
            raise InputError(f"no {scale} stack for {' and '.join(missing)}, while "
                             f"{', '.join(key.upper() for key in given)} "
                             f"{'has' if len(given) == 1 else 'have'} one: give PRECIPITATION, "
                             "AIR_TEMPERATURE, GPP and LST once per time scale")
    return scales


def _layer_run(p, number: int, soil_moisture: str, scale: str, stacks: dict[str, str]
               ) -> single.Parameters:
    """The ``bayesian_drivers`` run of layer ``number`` (1-based) at ``scale``."""
    shared = {field.name: getattr(p, field.name) for field in dataclasses.fields(single.Parameters)
              if hasattr(p, field.name) and field.name not in SCALE_STACKS}
    prefix = f"layer{number}_{scale}" + ("" if p.season == "all" else f"_{p.season}")
    files = {key: str(Path(p.output_folder) / f"{prefix}_{name}")
             for key, name in LAYER_FILES.items()}
    return single.Parameters(**shared, **stacks, soil_moisture=soil_moisture, **files)


def _layer_runs(p) -> list[single.Parameters]:
    """One run per soil moisture stack, with the stacks of its time scale, numbered by layer
    within its scale."""
    scales = _stacks_by_scale(p)
    runs, layers = [], Counter()
    for position, path in enumerate(p.soil_moisture_layers, start=1):
        scale = read_stack_info(path, name=f"SOIL_MOISTURE_LAYERS[{position}]").time_scale
        if scale not in scales:
            raise InputError(f"SOIL_MOISTURE_LAYERS[{position}] ({path}) is {scale}, but no "
                             f"PRECIPITATION stack is (given: {', '.join(scales)})")
        layers[scale] += 1
        runs.append(_layer_run(p, layers[scale], path, scale, scales[scale]))
    unused = [scale for scale in scales if not layers[scale]]
    if unused:
        raise InputError(f"no soil moisture stack is {' or '.join(unused)}, the time scale of "
                         f"the PRECIPITATION stack {scales[unused[0]]['precipitation']}")
    return runs


def _validate(p) -> None:
    single.Parameters.validate(p)


def _derived_outputs(p) -> dict[str, str]:
    return {f"{key.upper()} of SOIL_MOISTURE_LAYERS[{position}]": getattr(run, key)
            for position, run in enumerate(_layer_runs(p), start=1) for key in LAYER_FILES}


Parameters = dataclasses.make_dataclass(
    "Parameters", list(_fields()), bases=(StepParameters,), frozen=True,
    namespace={"STEP": "bayesian_drivers_layers", "validate": _validate,
               "derived_outputs": _derived_outputs,
               "__doc__": "Parameters of ``bayesian_drivers_layers`` "
                          "(soilp:bayesiandriverslayers): those of ``bayesian_drivers`` with "
                          "lists of stacks and OUTPUT_FOLDER."})
Parameters.__module__ = __name__

OUTPUTS = (FileOutput("output_folder", "folder",
                      "per soil layer i and time scale: layer<i>_<scale>_table.csv, "
                      "_ecoregions.gpkg, _figure.png, _report.html"),)


@engine_step(Parameters, OUTPUTS, record=False)
def bayesian_drivers_layers(p, outputs: StepOutputs, report: Reporter) -> dict:
    """Fit every ecoregion of every layer with one sampler; each layer's outputs and record."""
    from ..bayes.sampling import DriverSampler

    runs = _layer_runs(p)
    for position, run in enumerate(runs, start=1):   # refused before any sampling
        try:
            open_stacks(run, list(single.STACKS))
        except (InputError, StackMismatchError) as exc:
            raise type(exc)(f"SOIL_MOISTURE_LAYERS[{position}] ({run.soil_moisture}): "
                            f"{exc}") from None
    sampler = DriverSampler(single.sampler_settings(runs[0]))
    fitted = converged = 0
    for index, run in enumerate(runs):
        started = now()
        report.info(f"soil moisture stack {index + 1} of {len(runs)} "
                    f"({Path(run.output_table).name.rsplit('_', 1)[0]}): {run.soil_moisture}")
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
