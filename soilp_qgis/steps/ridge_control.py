"""``ridge_control``: which of precipitation frequency, precipitation volume and evapotranspiration
controls soil moisture, per cell (ridge regression on z-scores), as coefficients, weights, a
ternary colour composite with its legend, a dominant-control map and a class-share table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import styles
from ..blocks import BlockExecutor, OutputSpec
from ..protocol import Reporter
from ..ridge import (DOMINANT_CLASSES, DOMINANT_NODATA, dominant_class_shares, ridge_control as
                     ridge_control_of_block, ridge_control_block)
from ..tables import STATUS_NODATA, status_code
from ..ternary import RGB_NODATA, ternary_legend_png, ternary_rgb
from ..timestack import write_raster
from .common import (block_inputs, ecoregion_codes, open_stacks, processes,
                     summarise_by_ecoregion, write_csv)

#: Inputs in the order of the weights' colour channels; air temperature is the optional control.
STACKS = ["soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration"]
COEFFICIENT_BANDS = ["β_freq (precipitation frequency)", "β_vol (precipitation volume)",
                     "β_ET (evapotranspiration)", "β_Ta (air temperature)"]
WEIGHT_BANDS = ["W_freq (precipitation frequency)", "W_vol (precipitation volume)",
                "W_ET (evapotranspiration)"]
MIXED_COLOR = "#999999"


@dataclass(frozen=True)
class RidgeControlBlock:
    """Block function: per-cell standardised ridge coefficients, α, weights, dominant class, status."""

    alpha: Optional[float]
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
        styles.StyleClass(code, f"{code} {name}" + ("" if code == 0 else f" (W > {strong_control:g})"),
                          colors[code])
        for code, name in DOMINANT_CLASSES.items())


def _options(params: dict) -> tuple[Optional[float], float, int, str]:
    """ALPHA (None: automatic), STRONG_CONTROL, MIN_OBSERVATIONS and COLOR_MODEL, checked."""
    alpha = params.get("alpha")
    alpha = None if alpha in (None, "") else float(alpha)
    strong_control = float(params.get("strong_control") or 0.75)
    min_observations = int(params.get("min_observations") or 10)
    color_model = str(params.get("color_model") or "CMY").upper()
    # The science checks its own options; run it on no cells so that a bad one fails now.
    empty = np.empty((0, 1))
    ridge_control_of_block(empty, empty, empty, empty, alpha=alpha, strong_control=strong_control,
                           min_observations=min_observations)
    ternary_rgb(np.empty((0, 3)), color_model)
    return alpha, strong_control, min_observations, color_model


def legend_path(params: dict) -> Optional[Path]:
    """OUTPUT_LEGEND, or ``<composite>_legend.png`` beside OUTPUT_RGB when not given."""
    if params.get("output_legend"):
        return Path(params["output_legend"])
    if params.get("output_rgb"):
        rgb = Path(params["output_rgb"])
        return rgb.with_name(f"{rgb.stem}_legend.png")
    return None


def ridge_control(params: dict, report: Reporter) -> dict:
    alpha, strong_control, min_observations, color_model = _options(params)
    season = params.get("season") or "all"
    infos = open_stacks(params, STACKS, optional=["air_temperature"])
    grid = infos["soil_moisture"].grid
    inputs = block_inputs(infos, season)
    steps = inputs["soil_moisture"].time_steps
    n_steps = infos["soil_moisture"].count if steps is None else len(steps)
    if n_steps < min_observations:  # every cell gets status 'too few values'; the run goes on
        report.warning(f"SEASON {season} keeps {n_steps} time steps of the stacks, fewer than "
                       f"MIN_OBSERVATIONS {min_observations}: no cell can be fitted")
    codes = ecoregion_codes(params, grid)
    with_temperature = "air_temperature" in infos
    alpha_text = "chosen per cell by leave-one-out" if alpha is None else f"{alpha:g}"
    report.info(f"ridge control of soil moisture ({'with' if with_temperature else 'without'} air "
                f"temperature), α {alpha_text}, season {season}: "
                f"{grid.width}×{grid.height} cells × {n_steps} steps")

    outputs = {"coefficients": OutputSpec(bands=4), "alpha": OutputSpec(),
               "weights": OutputSpec(bands=3),
               "dominant": OutputSpec(dtype="uint8", fill=DOMINANT_NODATA),
               "status": OutputSpec(dtype="uint8", fill=status_code("no_data"))}
    arrays = BlockExecutor(processes(params)).run(
        RidgeControlBlock(alpha, strong_control, min_observations), inputs, outputs,
        report.sub(0.0, 0.9))

    coefficient_bands = list(COEFFICIENT_BANDS)
    if not with_temperature:
        coefficient_bands[3] = "β_Ta (no air temperature given)"
    coefficients = arrays["coefficients"]
    if alpha is None:
        coefficients = np.concatenate([coefficients, arrays["alpha"]])
        coefficient_bands.append("α (chosen by leave-one-out)")
    weights = arrays["weights"]
    rgb = ternary_rgb(weights.reshape(3, -1).T, color_model).reshape(3, *grid.shape)
    dominant = arrays["dominant"][0]

    results = {}
    targets = [  # (output, values, dtype, nodata, band names, style, colour interpretation)
        ("output_coefficients", coefficients, "float32", -9999.0, coefficient_bands,
         styles.continuous_style(-1.0, 1.0, "β", ramp=styles.DIVERGING_RED_BLUE), None),
        ("output_weights", weights, "float32", -9999.0, WEIGHT_BANDS,
         styles.continuous_style(0.0, 1.0, "W"), None),
        ("output_rgb", rgb, "uint8", RGB_NODATA,
         [f"{colour} ({color_model})" for colour in ("red", "green", "blue")], styles.rgb_style(),
         ["red", "green", "blue"]),
        ("output_dominant", dominant, "uint8", DOMINANT_NODATA, ["dominant control"],
         dominant_style(color_model, strong_control), None),
        ("output_status", arrays["status"], "uint8", STATUS_NODATA, ["status"],
         styles.status_style(), None),
    ]
    for key, data, dtype, nodata, names, style, color_interp in targets:
        if params.get(key):
            results[key.upper()] = str(write_raster(params[key], data, grid, dtype, nodata,
                                                    band_names=names, style_qml=style,
                                                    color_interp=color_interp))
    report.progress(0.95)

    valid = dominant != DOMINANT_NODATA
    if params.get("output_table"):
        rows = summarise_by_ecoregion(codes, valid, lambda mask: {
            f"{DOMINANT_CLASSES[code]}_share": share
            for code, share in dominant_class_shares(dominant[mask]).items()})
        results["OUTPUT_TABLE"] = str(write_csv(params["output_table"], rows))
    legend = legend_path(params)
    shares = dominant_class_shares(dominant)
    if legend is not None:
        title = "Control of soil moisture" + ("" if season == "all" else f" ({season})")
        ternary_legend_png(legend, color_model, shares, strong_control=strong_control, title=title)
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
