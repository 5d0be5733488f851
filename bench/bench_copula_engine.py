"""The copula step through the block executor: 1 vs 2 processes vs a plain per-cell loop, on the
same cells in the same run; and peak memory on a grid ten times larger than one block.

Run: ``.venv/bin/python -m bench copula_engine`` (part of ``make bench``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bench_copula import plain_loop, simulated_block
from bench.engine_run import run_engine_step
from soilp_qgis.blocks import DEFAULT_BLOCK_CELLS
from soilp_qgis.protocol import SilentReporter
from soilp_qgis.steps.copula_dependence import copula_dependence
from soilp_qgis.timestack import Grid, write_stack

ROWS, COLS = 48, 20          # 960 cells: enough work to amortise starting the worker pool
STEPS = 240


def write_grid(folder: Path, rows: int, cols: int, seed: int = 0) -> dict[str, str]:
    precipitation, soil_moisture = simulated_block(seed, cells=rows * cols, steps=STEPS)
    dates = np.arange("2000-01", "2020-01", dtype="datetime64[M]").astype("datetime64[D]")
    grid = Grid.regular(0.0, float(rows), 1.0, cols, rows)
    paths = {}
    for name, values, units in (("precipitation", precipitation, "mm"),
                                ("soil_moisture", soil_moisture, "m3 m-3")):
        stack = values.T.reshape(STEPS, rows, cols)
        paths[name] = str(write_stack(folder / f"{name}.tif", stack, grid, dates, "monthly",
                                      units))
    return paths


def timed_step(paths: dict[str, str], folder: Path, processes: int, **extra) -> float:
    started = time.perf_counter()
    copula_dependence({**paths, "processes": processes, "output_tau": str(folder / "tau.tif"),
                       **extra}, SilentReporter())
    return time.perf_counter() - started


def memory_run(folder: Path, family_set: str = "one_parameter") -> None:
    """The step on a grid ten blocks large, run as the plugin runs it; peak resident memory of
    the engine and its workers together."""
    cells = 10 * DEFAULT_BLOCK_CELLS
    cols = 512
    paths = write_grid(folder, cells // cols, cols, seed=1)
    seconds, peak = run_engine_step("copula_dependence", {
        **paths, "processes": 2, "family_set": family_set,
        "output_tau": str(folder / "tau_memory.tif")})
    input_mib = 2 * cells * STEPS * 4 / 2**20
    print(f"grid of {cells} cells (10 blocks of {DEFAULT_BLOCK_CELLS}) x {STEPS} steps, "
          f"{family_set} families, 2 processes: {seconds:.1f} s; input stacks {input_mib:.0f} "
          f"MiB; peak resident memory of engine + workers {peak:.0f} MiB")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_grid(folder, ROWS, COLS)
        cells = ROWS * COLS
        timed_step(paths, folder, 1, family_set="one_parameter")  # imports and warm-up
        one = timed_step(paths, folder, 1)
        two = timed_step(paths, folder, 2)
        precipitation, soil_moisture = simulated_block(0, cells=cells, steps=STEPS)
        started = time.perf_counter()
        plain_loop(precipitation, soil_moisture)
        loop = time.perf_counter() - started
        print(f"{cells} cells x {STEPS} months, all 40 families, AIC, empirical margins")
        print(f"{'what':<52} {'wall s':>7} {'cells/s':>8}")
        for label, seconds in (("engine step, 1 process", one), ("engine step, 2 processes", two),
                               ("plain per-cell pyvinecopulib loop (no Tawn types)", loop)):
            print(f"{label:<52} {seconds:7.1f} {cells / seconds:8.1f}")
        print(f"speed-up of 2 processes over 1: {one / two:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        memory_run(Path(tmp))


if __name__ == "__main__":
    main()
