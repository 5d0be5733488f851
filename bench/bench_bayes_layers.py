"""Bayesian drivers of three soil layers: one engine process per layer (``bayesian_drivers``
three times: the reference) against one process for all three (``bayesian_drivers_layers``).

Run: ``.venv/bin/python -m bench bayes_layers``. Simulated monthly stacks (240 steps) on a grid
of two ecoregions × 50 cells, three soil layers with their own planted drivers; the paper's
sampler settings (4 chains × (2000 warm-up + 2000 draws), tree depth 10) and the toolbox's
defaults otherwise (DATA=cells, intercepts integrated out, low-rank metric). Each engine run as
the plugin starts it (``python -m soilp_qgis <step>``); peak MiB is the resident memory of the
engine process. "× ref" is the three separate runs' total time over this row's. The tables are
checked to be byte-identical, so both rows did the same work.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from bench.bench_bayes import simulated_ecoregion
from bench.engine_run import run_engine_step
from soilp_qgis.timestack import Grid, write_raster, write_stack

CELLS_PER_ECOREGION = 50
STEPS = 240
LAYERS = 3


def write_world(folder: Path) -> dict[str, object]:
    """The stacks (one per layer for soil moisture) and the ecoregion raster, by parameter."""
    dates = np.arange("2000-01", "2020-01", dtype="datetime64[M]").astype("datetime64[D]")
    codes = np.repeat([4, 13], CELLS_PER_ECOREGION).reshape(2, CELLS_PER_ECOREGION)
    grid = Grid.regular(0.0, 2.0, 1.0, CELLS_PER_ECOREGION, 2)
    regions = [simulated_ecoregion(CELLS_PER_ECOREGION, STEPS, seed=seed) for seed in (0, 1)]
    layers = [[simulated_ecoregion(CELLS_PER_ECOREGION, STEPS, seed=10 * layer + seed)
               for seed in (0, 1)] for layer in range(LAYERS)]

    def stack(name: str, blocks) -> str:
        values = np.stack([block.T for block in blocks], axis=1)   # (time, 2 rows, cells)
        return str(write_stack(folder / f"{name}.tif", values, grid, dates, "monthly", ""))

    paths: dict[str, object] = {
        key: stack(key, [region[key] for region in regions])
        for key in ("precipitation", "air_temperature", "gpp", "lst")}
    paths["soil_moisture"] = [stack(f"soil_moisture_{n + 1}", [r["soil_moisture"] for r in layer])
                              for n, layer in enumerate(layers)]
    paths["ecoregions_raster"] = str(write_raster(folder / "eco.tif", codes, grid, "uint8", 0))
    return paths


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="soilp-bench-layers-") as tmp:
        folder = Path(tmp)
        paths = write_world(folder)
        drivers = {key: paths[key] for key in ("precipitation", "air_temperature", "gpp", "lst")}
        separate, peak_separate = 0.0, 0.0
        for number, soil_moisture in enumerate(paths["soil_moisture"], start=1):
            seconds, peak = run_engine_step("bayesian_drivers", {
                **drivers, "soil_moisture": soil_moisture,
                "ecoregions_raster": paths["ecoregions_raster"],
                "output_table": folder / "separate" / f"layer{number}_monthly_table.csv"})
            separate += seconds
            peak_separate = max(peak_separate, peak)
        together, peak_together = run_engine_step("bayesian_drivers_layers", {
            **{key: json.dumps([value]) for key, value in drivers.items()},
            "soil_moisture_layers": json.dumps(paths["soil_moisture"]),
            "ecoregions_raster": paths["ecoregions_raster"],
            "output_folder": folder / "together"})
        same = all((folder / "separate" / f"layer{n}_monthly_table.csv").read_bytes()
                   == (folder / "together" / f"layer{n}_monthly_table.csv").read_bytes()
                   for n in range(1, LAYERS + 1))
        print(f"{'run':52s} {'seconds':>8s} {'peak MiB':>9s} {'× ref':>6s}")
        print(f"{'bayesian_drivers, one process per layer (ref)':52s} {separate:8.1f} "
              f"{peak_separate:9.0f} {1.0:6.2f}")
        print(f"{'bayesian_drivers_layers, one process for 3 layers':52s} {together:8.1f} "
              f"{peak_together:9.0f} {separate / together:6.2f}")
        print(f"tables byte-identical: {same}")
