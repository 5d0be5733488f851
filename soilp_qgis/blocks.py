"""The block executor: per-cell science over a whole grid, block by block.

A *block function* is a pure function ``f(blocks) -> results`` where ``blocks`` maps each input
name to a ``(cells, time)`` array of one block of the grid and ``results`` maps each output name
to a per-cell array ``(cells,)`` or ``(cells, bands)``. The executor

- cuts the grid into windows of about ``block_cells`` cells aligned to the inputs' storage tiles
  (smaller on small grids, so that each worker gets several blocks),
- has each worker read its own block from the input files (nothing large crosses a pipe),
- skips cells with no valid value in any input (they get each output's ``fill``),
- runs blocks in a pool of worker processes (``processes``; 1 runs in this process), or on a Dask
  cluster when ``SOILP_DASK_SCHEDULER`` (or ``scheduler=``) names one,
- keeps at most two blocks per worker in flight, so memory stays bounded whatever the grid size,
- runs the block function on sub-blocks of the block's cells, each about half a second of work,
  and reports progress after each (workers send it back through a queue), so progress moves at
  least every second or two and a cancel is noticed within seconds,
- on an exception or a cancel (SIGINT, SIGTERM turned into an exception) ends its workers at once,
  and returns the outputs as ``(bands, rows, cols)`` arrays.

Results do not depend on the number of processes or the block size: each cell is computed from
its own series only, and block functions that draw random numbers seed per cell.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import active_children, get_context

import numpy as np
from rasterio.windows import Window

from .protocol import Reporter, SilentReporter
from .timestack import TILE_SIZE, StackInfo, read_stack

BlockFunction = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
DEFAULT_BLOCK_CELLS = TILE_SIZE * TILE_SIZE  # one tile of the stacks soilp writes
DASK_ENV = "SOILP_DASK_SCHEDULER"
#: seconds of work a sub-block aims at (progress is reported after each)
SUB_BLOCK_SECONDS = 0.5
#: cells of the first sub-block of a block, before its pace is known
FIRST_SUB_BLOCK = 1
#: seconds between looks at the workers' progress
POLL_SECONDS = 0.5

#: in a worker process: where partial progress goes (set by ``_start_worker``)
_PROGRESS_QUEUE = None


@dataclass(frozen=True)
class OutputSpec:
    """An output of the block function: bands per cell, dtype, and the value of skipped cells."""

    bands: int = 1
    dtype: str = "float32"
    fill: float = float("nan")


@dataclass(frozen=True)
class BlockInput:
    """An input stack and the time steps of it to use (None: all)."""

    info: StackInfo
    time_steps: np.ndarray | None = None


def default_processes() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_blocks(height: int, width: int, block_cells: int = DEFAULT_BLOCK_CELLS,
                tile: tuple[int, int] | None = None) -> list[Window]:
    """Windows of about ``block_cells`` cells covering the grid, aligned to the storage tiles
    ``tile = (rows, cols)`` of the inputs so no tile is decompressed for two blocks (default:
    row strips). Several small tiles make one block; a tile larger than a block is cut into
    strips of its rows."""
    tile_rows, tile_cols = tile or (1, width)
    tile_rows, tile_cols = max(1, min(tile_rows, height)), max(1, min(tile_cols, width))
    block_cells = max(1, block_cells)
    windows = []
    if tile_rows * tile_cols <= block_cells:
        tiles_per_block = block_cells // (tile_rows * tile_cols)
        tiles_across = -(-width // tile_cols)
        if tiles_per_block >= tiles_across:  # strips of whole tile rows, the full width
            rows = tile_rows * (tiles_per_block // tiles_across)
            return [Window(0, row, width, min(rows, height - row))
                    for row in range(0, height, rows)]
        cols = tile_cols * tiles_per_block
        for row in range(0, height, tile_rows):
            for col in range(0, width, cols):
                windows.append(Window(col, row, min(cols, width - col),
                                      min(tile_rows, height - row)))
        return windows
    rows = max(1, block_cells // tile_cols)  # a tile holds several blocks: strips of its rows
    for tile_row in range(0, height, tile_rows):
        tile_end = min(tile_row + tile_rows, height)
        for col in range(0, width, tile_cols):
            for row in range(tile_row, tile_end, rows):
                windows.append(Window(col, row, min(tile_cols, width - col),
                                      min(rows, tile_end - row)))
    return windows


def read_block(inputs: Mapping[str, BlockInput], window: Window) -> dict[str, np.ndarray]:
    """Each input's ``(cells, time)`` block for ``window`` (cells in row-major order)."""
    blocks = {}
    for name, item in inputs.items():
        data = read_stack(item.info, window=window, time=item.time_steps)  # (time, rows, cols)
        blocks[name] = data.reshape(data.shape[0], -1).T
    return blocks


def _die_with_parent() -> None:
    """Linux: this process gets SIGTERM when the process that started it ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        pass


def _start_worker(progress_queue=None) -> None:
    """Worker set-up: end with the engine, one BLAS/OpenMP thread (the pool already uses every
    core), SIGINT left to the engine, partial progress into ``progress_queue``."""
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = progress_queue
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def _queue_progress(index: int) -> Callable[[float], None] | None:
    if _PROGRESS_QUEUE is None:
        return None

    def send(fraction: float) -> None:
        try:
            _PROGRESS_QUEUE.put_nowait((index, fraction))
        except (queue.Full, ValueError, OSError):  # pragma: no cover - engine going away
            pass

    return send


def compute_block(block_function: BlockFunction, inputs: Mapping[str, BlockInput],
                  window: Window, outputs: Mapping[str, OutputSpec],
                  progress: Callable[[float], None] | None = None, index: int = 0
                  ) -> tuple[Window, dict[str, np.ndarray]]:
    """Read one block, run the block function on its cells with data in sub-blocks of about
    ``SUB_BLOCK_SECONDS`` each (``progress(fraction of the block)`` after each; in a worker the
    queue of ``_start_worker``), place the results."""
    progress = progress or _queue_progress(index)
    blocks = read_block(inputs, window)
    n_cells = int(window.height) * int(window.width)
    has_data = np.zeros(n_cells, dtype=bool)
    for values in blocks.values():
        has_data |= np.isfinite(values).any(axis=1)
    results = {name: np.full((n_cells, spec.bands), spec.fill, dtype=spec.dtype)
               for name, spec in outputs.items()}
    cells = np.flatnonzero(has_data)
    start, size = 0, FIRST_SUB_BLOCK
    while start < cells.size:
        chunk = cells[start:start + size]
        began = time.monotonic()
        computed = block_function({name: values[chunk] for name, values in blocks.items()})
        elapsed = time.monotonic() - began
        for name, spec in outputs.items():
            values = np.asarray(computed[name])
            results[name][chunk] = values.reshape(values.shape[0], spec.bands)
        start += chunk.size
        if progress is not None:
            progress(start / cells.size)
        pace = elapsed / chunk.size if elapsed > 0 else 0.0
        size = cells.size if pace == 0.0 else max(1, min(cells.size, int(SUB_BLOCK_SECONDS / pace)))
    return window, results


class BlockExecutor:
    """Runs a block function over a grid (see the module docstring)."""

    def __init__(self, processes: int | None = None, block_cells: int = DEFAULT_BLOCK_CELLS,
                 scheduler: str | None = None, whole_tiles: bool = False,
                 cells_per_process: int = 1):
        self.processes = max(1, int(processes or default_processes()))
        self.block_cells = int(block_cells)
        self.scheduler = scheduler if scheduler is not None else os.environ.get(DASK_ENV) or None
        self.whole_tiles = bool(whole_tiles)
        self.cells_per_process = max(1, int(cells_per_process))

    def processes_for(self, cells: int) -> int:
        """Worker processes for a grid of ``cells``: no more than give each at least
        ``cells_per_process`` cells. Starting a worker (a spawned interpreter importing the
        engine) takes a second or more, so a step whose cells are cheap sets this to run a small
        grid in this process."""
        return max(1, min(self.processes, cells // self.cells_per_process))

    def effective_block_cells(self, cells: int, tile_cells: int = 1) -> int:
        """Block size for a grid of ``cells``: at most ``block_cells``, and small enough that
        every worker gets about four blocks, so a small grid still keeps all workers busy. With
        ``whole_tiles`` (steps that read far more than they compute, such as a daily stack's
        thousands of bands aggregated), never smaller than a storage tile of ``tile_cells``
        (up to ``block_cells``): cutting a tile into blocks decompresses it once per block."""
        processes = self.processes_for(cells)
        if processes == 1 and not self.scheduler:
            return self.block_cells
        size = max(1, min(self.block_cells, -(-cells // (4 * processes))))
        if self.whole_tiles:
            size = max(size, min(tile_cells, self.block_cells))
        return size

    def plan(self, height: int, width: int, tile: tuple[int, int] | None) -> list[Window]:
        """The windows of a ``height`` × ``width`` grid whose inputs are stored in ``tile``s."""
        tile_cells = min(tile[0], height) * min(tile[1], width) if tile else 1
        return plan_blocks(height, width, self.effective_block_cells(height * width, tile_cells),
                           tile)

    def run(self, block_function: BlockFunction, inputs: Mapping[str, BlockInput],
            outputs: Mapping[str, OutputSpec], report: Reporter | None = None
            ) -> dict[str, np.ndarray]:
        report = report or SilentReporter()
        grid = next(iter(inputs.values())).info.grid
        height, width = grid.height, grid.width
        arrays = {name: np.full((spec.bands, height, width), spec.fill, dtype=spec.dtype)
                  for name, spec in outputs.items()}
        first = next(iter(inputs.values())).info
        processes = self.processes_for(height * width)
        windows = self.plan(height, width, first.block_shape)
        done = 0
        partial: dict[int, float] = {}  # block index → fraction done, of blocks under way

        def advance(index: int, fraction: float) -> None:
            partial[index] = fraction
            report.progress((done + sum(partial.values())) / len(windows))

        def place(window: Window, results: dict[str, np.ndarray], index: int = -1) -> None:
            nonlocal done
            rows = slice(int(window.row_off), int(window.row_off + window.height))
            cols = slice(int(window.col_off), int(window.col_off + window.width))
            for name, values in results.items():
                arrays[name][:, rows, cols] = values.T.reshape(
                    outputs[name].bands, int(window.height), int(window.width))
            done += 1
            partial.pop(index, None)
            report.progress((done + sum(partial.values())) / len(windows))

        if self.scheduler:
            self._run_dask(block_function, inputs, outputs, windows, place)
        elif processes == 1 or len(windows) == 1:
            for index, window in enumerate(windows):
                place(*compute_block(block_function, inputs, window, outputs,
                                     progress=lambda f, i=index: advance(i, f)), index)
        else:
            self._run_pool(block_function, inputs, outputs, windows, place, advance, processes)
        return arrays

    def _run_pool(self, block_function, inputs, outputs, windows: Sequence[Window],
                  place: Callable[..., None], advance: Callable[[int, float], None],
                  processes: int) -> None:
        max_in_flight = 2 * processes
        pending: dict = {}  # future → block index
        todo = list(enumerate(windows))
        context = get_context("spawn")
        progress_queue = context.Queue()
        others = set(active_children())
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=context,
                                   initializer=_start_worker, initargs=(progress_queue,))
        try:
            while todo or pending:
                while todo and len(pending) < max_in_flight:
                    index, window = todo.pop(0)
                    future = pool.submit(compute_block, block_function, inputs, window, outputs,
                                         None, index)
                    pending[future] = index
                finished, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                while True:
                    try:
                        index, fraction = progress_queue.get_nowait()
                    except queue.Empty:
                        break
                    if index in pending.values():
                        advance(index, fraction)
                for future in finished:
                    index = pending.pop(future)
                    place(*future.result(), index)
        except BaseException:
            for future in pending:
                future.cancel()
            for child in set(active_children()) - others:  # the pool's workers: end them now,
                child.terminate()                           # not after their current block
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        else:
            pool.shutdown(wait=True)
        finally:
            progress_queue.close()
            progress_queue.cancel_join_thread()

    def _run_dask(self, block_function, inputs, outputs, windows: Sequence[Window],
                  place: Callable[..., None]) -> None:
        from dask.distributed import Client, as_completed

        with Client(self.scheduler) as client:
            futures = [client.submit(compute_block, block_function, inputs, window, outputs,
                                     pure=False) for window in windows]
            for future in as_completed(futures):
                place(*future.result())


__all__ = ["BlockExecutor", "BlockInput", "OutputSpec", "plan_blocks", "read_block",
           "default_processes"]
