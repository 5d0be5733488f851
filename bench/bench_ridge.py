"""Benchmark of the ridge-control engine: cells/s and peak memory on a 100k-cell x 240-step block,
and of the whole ``ridge_control`` step (stacks on disk -> block executor -> every output) run
through the engine's CLI as the plugin runs it, with 1 and 2 worker processes, on 100k cells by
default (the step's time is mostly reading the stacks; see ``bench_step``; below 2 × 50,000 cells
the step runs in one process whatever PROCESSES says, ``RIDGE_CELLS_PER_PROCESS``).

Run: ``.venv/bin/python bench/bench_ridge.py [--cells N] [--steps T] [--step-cells N]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bench.engine_run import run_engine_step
from soilp_qgis.ridge import ridge_control
from soilp_qgis.timestack import Grid, write_stack

STEP_GRID_WIDTH = 400
STACK_NAMES = ("soil_moisture", "precip_frequency", "precip_volume", "evapotranspiration",
               "air_temperature")


def _block(cells: int, steps: int, seed: int = 0) -> list[np.ndarray]:
    """Five float32 (cells, steps) stacks (SM, frequency, volume, ET, Ta), 3 % missing values."""
    rng = np.random.default_rng(seed)
    freq, vol, et, temp = (rng.standard_normal((cells, steps), dtype=np.float32) for _ in range(4))
    sm = (0.6 * vol + 0.3 * freq - 0.4 * et + 0.2 * temp
          + rng.standard_normal((cells, steps), dtype=np.float32))
    sm[rng.random((cells, steps)) < 0.03] = np.nan
    return [sm, freq, vol, et, temp]


def _measure(block, **kwargs) -> tuple[float, float]:
    """(seconds, peak MiB allocated during the call, inputs excluded)."""
    start = time.perf_counter()
    ridge_control(*block, **kwargs)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    ridge_control(*block, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def _sklearn_loop_rate(block, cells: int) -> float:
    """Cells/s of a plain per-cell loop with scikit-learn's Ridge, for comparison."""
    from sklearn.linear_model import Ridge

    start = time.perf_counter()
    for c in range(cells):
        rows = np.all([np.isfinite(v[c]) for v in block], axis=0)
        z = [(v[c][rows] - v[c][rows].mean()) / v[c][rows].std() for v in block]
        Ridge(alpha=1.0).fit(np.column_stack(z[1:]), z[0])
    return cells / (time.perf_counter() - start)


def _write_stacks(block: list[np.ndarray], folder: Path) -> tuple[dict[str, str], Grid]:
    """The block as monthly GeoTIFF stacks on a grid STEP_GRID_WIDTH cells wide."""
    cells, steps = block[0].shape
    height = cells // STEP_GRID_WIDTH
    grid = Grid.regular(-10.0, 60.0, 0.05, STEP_GRID_WIDTH, height)
    dates = np.arange(np.datetime64("2000-01"),
                      np.datetime64("2000-01") + steps).astype("datetime64[D]")
    paths = {}
    for name, values in zip(STACK_NAMES, block):
        data = values[: height * STEP_GRID_WIDTH].T.reshape(steps, height, STEP_GRID_WIDTH)
        paths[name] = str(write_stack(folder / f"{name}.tif", data, grid, dates, "monthly", "",
                                      style_qml=False))
    return paths, grid


def bench_step(block: list[np.ndarray]) -> None:
    """The whole step on stacks written to disk, automatic alpha, every output, 1 and 2 workers.

    Most of its time is reading: the executor's strips (~2048 cells, a few rows) are thinner than
    the stacks' tiles, so every strip decompresses whole tiles of all 240 bands again."""
    with tempfile.TemporaryDirectory(prefix="bench_ridge_") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        paths, grid = _write_stacks(block, folder)
        cells = grid.width * grid.height
        print(f"\nridge_control step: {grid.width}x{grid.height} = {cells} cells x "
              f"{block[0].shape[1]} steps, "
              f"5 stacks written in {time.perf_counter() - start:.1f} s; automatic alpha, "
              "all outputs; peak = resident memory of the engine and its workers together")
        print(f"{'workers':<32}{'seconds':>10}{'cells/s':>12}{'peak MiB':>10}")
        for processes in (1, 2):
            outputs = {f"output_{name}": str(folder / f"p{processes}_{name}.{ext}")
                       for name, ext in (("coefficients", "tif"), ("weights", "tif"),
                                         ("rgb", "tif"), ("dominant", "tif"), ("status", "tif"),
                                         ("table", "csv"), ("legend", "png"))}
            seconds, peak = run_engine_step("ridge_control",
                                            {**paths, **outputs, "processes": processes})
            print(f"{f'{processes} (engine CLI, incl. start-up)':<32}{seconds:>10.2f}"
                  f"{cells / seconds:>12.0f}{peak:>10.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--step-cells", type=int, default=100_000,
                        help="cells of the whole-step benchmark (0: skip it)")
    args = parser.parse_args([] if argv is None else argv)  # `python -m bench ridge` passes none
    block = _block(args.cells, args.steps)
    input_mib = sum(a.nbytes for a in block) / 2**20
    print(f"ridge control: {args.cells} cells x {args.steps} steps, 4 predictors (with Ta), "
          f"float32 input {input_mib:.0f} MiB")
    print(f"{'case':<32}{'seconds':>10}{'cells/s':>12}{'peak MiB':>10}")
    for label, kwargs in (("fixed alpha = 1", {"alpha": 1.0}),
                          ("automatic alpha (LOO, 25 values)", {})):
        seconds, peak = _measure(block, **kwargs)
        print(f"{label:<32}{seconds:>10.2f}{args.cells / seconds:>12.0f}{peak:>10.0f}")
    loop_cells = min(args.cells, 300)
    print(f"{'sklearn per-cell loop, fixed':<32}{'':>10}"
          f"{_sklearn_loop_rate(block, loop_cells):>12.0f}{'':>10}")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.step_cells:
        bench_step([values[: args.step_cells] for values in block])


if __name__ == "__main__":
    main(sys.argv[1:])
