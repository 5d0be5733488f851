"""``ridge_control``: which of precipitation frequency, precipitation volume and evapotranspiration
controls soil moisture, per cell (ridge regression on z-scores), as coefficients, weights, a
ternary colour composite with its legend, a dominant-control map and a class-share table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import contract, styles
from ..blocks import BlockExecutor, OutputSpec
from ..contract import FileOutput, RasterOutput, StepParameters
from ..protocol import Reporter
from ..ridge import DOMINANT_CLASSES, DOMINANT_NODATA, dominant_class_shares, ridge_control_block
from ..ridge import ridge_control as ridge_control_of_block
from ..tables import STATUS_NODATA, status_code
from ..ternary import COLOR_MODELS, RGB_NODATA, ternary_legend_png, ternary_rgb
from .common import (
    block_inputs,
    ecoregion_codes,
    min_observations_parameter,
    open_stacks,
    processes,
    processes_parameter,
    season_parameter,
    summarise_by_ecoregion,
)
from .outputs import StepOutputs, engine_step, require_computed

#: Inputs in the order of the weights' colour channels; air temperature is the optional control.
STACKS = ["soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration"]
COEFFICIENT_BANDS = ["β_freq (precipitation frequency)", "β_vol (precipitation volume)",
                     "β_ET (evapotranspiration)", "β_Ta (air temperature)"]
WEIGHT_BANDS = ["W_freq (precipitation frequency)", "W_vol (precipitation volume)",
                "W_ET (evapotranspiration)"]
MIXED_COLOR = "#999999"


@dataclass(frozen=True)
class RidgeControlBlock:
    """Block function: per-cell standardised ridge coefficients, α, weights, dominant class,
    status."""

    alpha: float | None
    strong_control: float
    min_observations: int

    def __call__(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return ridge_control_block(blocks, alpha=self.alpha, strong_control=self.strong_control,
                                   min_observations=self.min_observations)


def dominant_style(color_model: str, strong_control: float) -> str:
    """Paletted style of the dominant-control raster, each class in its composite corner colour."""
    corners = ternary_rgb(np.eye(3), color_model)  # (R, G, B) x (frequency, volume, ET)
    hex_of_weight = ["#" + "".join(f"{int(v):02x}" for v in corners[:, j]) for j in range(3)]
    colors = {0: MIXED_COLOR, 1: hex_of_weight[1], 2: hex_of_weight[0], 3: hex_of_weight[2]}
    return styles.paletted_style(
        styles.StyleClass(code, f"{code} {name}"
                          + ("" if code == 0 else f" (W > {strong_control:g})"),
                          colors[code])
        for code, name in DOMINANT_CLASSES.items())


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``ridge_control`` (soilp:ridgecontrol)."""

    STEP = "ridge_control"

    soil_moisture: str = contract.stack()
    precip_volume: str = contract.stack()
    precip_frequency: str = contract.stack()
    evapotranspiration: str = contract.stack()
    air_temperature: str | None = contract.stack(required=False)
    season: str = season_parameter()
    alpha: float | None = contract.number(None, minimum=0.0)
    strong_control: float = contract.number(0.75, minimum=0.01, maximum=1.0)
    color_model: str = contract.choice(COLOR_MODELS, "CMY")
    min_observations: int = min_observations_parameter(10)
    ecoregions: str | None = contract.vector()
    field: str | None = contract.field_name()
    ecoregions_raster: str | None = contract.raster(required=False)
    processes: int = processes_parameter()
    output_coefficients: str | None = contract.raster_output()
    output_weights: str | None = contract.raster_output()
    output_rgb: str | None = contract.raster_output()
    output_dominant: str | None = contract.raster_output()
    output_status: str | None = contract.raster_output()
    output_table: str | None = contract.file_output()
    output_legend: str | None = contract.file_output()

    def validate(self) -> None:
        # The science checks its own options; run it on no cells so that a bad one fails now.
        empty = np.empty((0, 1))
        ridge_control_of_block(empty, empty, empty, empty, alpha=self.alpha,
                               strong_control=self.strong_control,
                               min_observations=self.min_observations)

    def legend(self) -> Path | None:
        """OUTPUT_LEGEND, or ``<composite>_legend.png`` beside OUTPUT_RGB when not given."""
        if self.output_legend:
            return Path(self.output_legend)
        if self.output_rgb:
            rgb = Path(self.output_rgb)
            return rgb.with_name(f"{rgb.stem}_legend.png")
        return None

    def derived_outputs(self) -> dict[str, str]:
        legend = self.legend()
        if legend is None or self.output_legend:
            return {}
        return {"OUTPUT_LEGEND (beside OUTPUT_RGB)": str(legend)}


def coefficient_bands(context: Mapping[str, Any]) -> list[str]:
    """β_freq, β_vol, β_ET, β_Ta (and α when automatic)"""
    names = list(COEFFICIENT_BANDS)
    if not context["air_temperature"]:
        names[3] = "β_Ta (no air temperature given)"
    if context["alpha"] is None:
        names.append("α (chosen by leave-one-out)")
    return names


def rgb_bands(context: Mapping[str, Any]) -> list[str]:
    """red, green, blue (COLOR_MODEL)"""
    return [f"{colour} ({context['color_model']})" for colour in ("red", "green", "blue")]


def dominant_class_style(context: Mapping[str, Any]) -> str:
    """dominant control (paletted, in the composite's corner colours)"""
    return dominant_style(context["color_model"], context["strong_control"])


OUTPUTS = (
    RasterOutput("output_coefficients", "coefficients", bands=coefficient_bands,
                 style="coefficient"),
    RasterOutput("output_weights", "weights", bands=WEIGHT_BANDS, style="weight"),
    RasterOutput("output_rgb", "rgb", "uint8", RGB_NODATA, bands=rgb_bands, style="rgb",
                 color_interp=("red", "green", "blue")),
    RasterOutput("output_dominant", "dominant", "uint8", DOMINANT_NODATA, ["dominant control"],
                 style=dominant_class_style),
    RasterOutput("output_status", "status", "uint8", STATUS_NODATA, ["status"], style="status"),
    FileOutput("output_table", "csv", "share of the fitted cells per dominant class: row 'all' "
                                      "and one per ecoregion"),
    FileOutput("output_legend", "png", "the ternary legend triangle with the class shares"),
)
#: a worker process only for this many cells or more: ridge fits are cheap, and starting a worker
#: takes about 1.5 s. Measured through the engine CLI with PROCESSES=2, 240 monthly steps: the
#: demo's 8,100 cells 4.2 s with two workers, 2.7 s in this process; 20,000 cells 5.4 s and
#: 309 MiB with two workers, 4.7 s and 170 MiB in this process
RIDGE_CELLS_PER_PROCESS = 50_000
#: columns of the table
TABLE_COLUMNS = ("ecoregion", "valid_cells",
                 *(f"{name}_share" for name in DOMINANT_CLASSES.values()))


@engine_step(Parameters, OUTPUTS)
def ridge_control(p: Parameters, outputs: StepOutputs, report: Reporter) -> dict:
    infos = open_stacks(p, STACKS, optional=["air_temperature"])
    grid = infos["soil_moisture"].grid
    inputs = block_inputs(infos, p.season, p.min_observations)
    steps = inputs["soil_moisture"].time_steps
    n_steps = infos["soil_moisture"].count if steps is None else len(steps)
    codes = ecoregion_codes(p, grid, report)
    with_temperature = "air_temperature" in infos
    alpha_text = "chosen per cell by leave-one-out" if p.alpha is None else f"{p.alpha:g}"
    report.info(f"ridge control of soil moisture ({'with' if with_temperature else 'without'} air "
                f"temperature), α {alpha_text}, season {p.season}: "
                f"{grid.width}×{grid.height} cells × {n_steps} steps")

    specs = {"coefficients": OutputSpec(bands=4), "alpha": OutputSpec(),
             "weights": OutputSpec(bands=3),
             "dominant": OutputSpec(dtype="uint8", fill=DOMINANT_NODATA),
             "status": OutputSpec(dtype="uint8", fill=status_code("no_data"))}
    arrays = BlockExecutor(processes(p), cells_per_process=RIDGE_CELLS_PER_PROCESS).run(
        RidgeControlBlock(p.alpha, p.strong_control, p.min_observations), inputs, specs,
        report.sub(0.0, 0.9))
    require_computed(arrays["status"][0])

    if p.alpha is None:
        arrays["coefficients"] = np.concatenate([arrays["coefficients"], arrays["alpha"]])
    weights = arrays["weights"]
    arrays["rgb"] = ternary_rgb(weights.reshape(3, -1).T, p.color_model).reshape(3, *grid.shape)
    dominant = arrays["dominant"][0]
    results = outputs.rasters(arrays, grid)
    report.progress(0.95)

    valid = dominant != DOMINANT_NODATA
    rows = summarise_by_ecoregion(codes, valid, lambda mask: {
        f"{DOMINANT_CLASSES[code]}_share": share
        for code, share in dominant_class_shares(dominant[mask]).items()})
    results.update(outputs.csv("output_table", rows, TABLE_COLUMNS))
    legend = p.legend()
    shares = dominant_class_shares(dominant)
    if legend is not None:
        title = "Control of soil moisture" + ("" if p.season == "all" else f" ({p.season})")
        ternary_legend_png(outputs.staged(legend), p.color_model, shares,
                           strong_control=p.strong_control, title=title)
        results["OUTPUT_LEGEND"] = str(legend)

    fitted = int(valid.sum())
    if fitted:
        report.info(f"{fitted} cells fitted; " + ", ".join(
            f"{name} {shares[code]:.0%}" for code, name in DOMINANT_CLASSES.items()))
    else:
        report.warning("no cell could be fitted: see OUTPUT_STATUS for why")
    results["FITTED_CELLS"] = fitted
    report.progress(1.0)
    return results
