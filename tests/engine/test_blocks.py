"""The block executor: same answer as a whole-grid computation, whatever the blocks/processes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import stats

from soilp_qgis.blocks import BlockExecutor, BlockInput, OutputSpec, plan_blocks
from soilp_qgis.timestack import Grid, read_stack_info, write_stack


def per_cell_statistics(blocks):
    """Per-cell mean of x, Spearman correlation of x and y (pairwise valid), count of valid x."""
    x, y = blocks["x"], blocks["y"]
    mean = np.nanmean(x, axis=1)
    rho = np.array([stats.spearmanr(a[np.isfinite(a) & np.isfinite(b)],
                                    b[np.isfinite(a) & np.isfinite(b)]).statistic
                    for a, b in zip(x, y)])
    count = np.isfinite(x).sum(axis=1)
    return {"mean": mean, "rho_and_count": np.column_stack([rho, count])}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stacks")
    rng = np.random.default_rng(7)
    grid = Grid.regular(-10.0, 50.0, 0.5, width=23, height=11)
    dates = np.arange("2000-01", "2004-01", dtype="datetime64[M]").astype("datetime64[D]")
    x = rng.gamma(2.0, 30.0, size=(len(dates), 11, 23)).astype(np.float32)
    y = (0.6 * x + rng.normal(0, 20, size=x.shape)).astype(np.float32)
    x[:, 3, 4] = np.nan            # a cell with no data at all
    x[::3, 5, 6] = np.nan          # a cell with gaps
    y[:, 3, 4] = np.nan
    write_stack(folder / "x.tif", x, grid, dates, "monthly", "mm")
    write_stack(folder / "y.tif", y, grid, dates, "monthly", "m3 m-3")
    return read_stack_info(folder / "x.tif"), read_stack_info(folder / "y.tif"), x, y


OUTPUTS = {"mean": OutputSpec(), "rho_and_count": OutputSpec(bands=2)}


def test_plan_covers_every_row_once():
    windows = plan_blocks(height=11, width=23, block_cells=50)
    rows = [r for w in windows for r in range(int(w.row_off), int(w.row_off + w.height))]
    assert rows == list(range(11))
    assert all(int(w.width) == 23 and int(w.height) == 2 for w in windows[:-1])


@pytest.mark.parametrize("processes,block_cells", [(1, 50), (1, 10_000), (2, 70)])
def test_results_equal_a_whole_grid_computation(stacks, processes, block_cells):
    x_info, y_info, x, y = stacks
    inputs = {"x": BlockInput(x_info), "y": BlockInput(y_info)}
    arrays = BlockExecutor(processes, block_cells).run(per_cell_statistics, inputs, OUTPUTS)
    expected = per_cell_statistics({"x": x.reshape(len(x), -1).T, "y": y.reshape(len(y), -1).T})
    mean = expected["mean"].reshape(11, 23)
    np.testing.assert_allclose(arrays["mean"][0], mean, rtol=1e-6)
    np.testing.assert_allclose(arrays["rho_and_count"][0],
                               expected["rho_and_count"][:, 0].reshape(11, 23), rtol=1e-6)
    assert arrays["rho_and_count"][1, 5, 6] == 32        # 48 steps, every third missing
    assert np.isnan(arrays["mean"][0, 3, 4])              # no data: the output's fill


def test_time_steps_select_a_subset(stacks):
    x_info, y_info, x, y = stacks
    summer = np.array([i for i in range(48) if i % 12 in (5, 6, 7)])
    inputs = {"x": BlockInput(x_info, summer), "y": BlockInput(y_info, summer)}
    arrays = BlockExecutor(1, 100).run(per_cell_statistics, inputs, OUTPUTS)
    np.testing.assert_allclose(arrays["mean"][0, 0, 0], x[summer, 0, 0].mean(), rtol=1e-6)


def test_skipped_cells_take_the_fill_value(stacks):
    x_info, y_info, _, _ = stacks
    outputs = {"status": OutputSpec(dtype="uint8", fill=1)}
    arrays = BlockExecutor(1, 100).run(
        lambda blocks: {"status": np.zeros(len(blocks["x"]), dtype="uint8")},
        {"x": BlockInput(x_info), "y": BlockInput(y_info)}, outputs)
    assert arrays["status"][0, 3, 4] == 1 and (arrays["status"] == 0).sum() == 11 * 23 - 1


@pytest.mark.parametrize("tile,block_cells", [((1, 23), 50), ((4, 8), 70), ((4, 8), 10),
                                               ((16, 16), 100), ((3, 30), 1000)])
def test_tile_aligned_plans_cover_every_cell_once(tile, block_cells):
    windows = plan_blocks(height=11, width=23, block_cells=block_cells, tile=tile)
    covered = np.zeros((11, 23), dtype=int)
    for w in windows:
        covered[int(w.row_off):int(w.row_off + w.height),
                int(w.col_off):int(w.col_off + w.width)] += 1
        # no window straddles a tile boundary unless it spans whole tiles
        th = min(tile[0], 11)
        if int(w.height) < th:
            assert int(w.row_off) // th == (int(w.row_off + w.height) - 1) // th
    assert (covered == 1).all()


def test_results_equal_on_tile_aligned_windows(stacks, tmp_path):
    """A stack stored in small tiles gives rectangular windows; results are placed right."""
    import rasterio

    x_info, _, x, y = stacks
    dates = x_info.dates
    paths = {}
    for name, values in (("x", x), ("y", y)):
        profile = dict(driver="GTiff", width=23, height=11, count=len(dates), dtype="float32",
                       crs=x_info.grid.crs, transform=x_info.grid.transform, nodata=-9999.0,
                       tiled=True, blockxsize=16, blockysize=16)
        with rasterio.open(tmp_path / f"{name}.tif", "w", **profile) as dst:
            dst.write(np.where(np.isnan(values), -9999.0, values))
            for band, date in enumerate(dates, start=1):
                dst.set_band_description(band, str(date))
            dst.update_tags(time_scale="monthly")
        paths[name] = read_stack_info(tmp_path / f"{name}.tif")
    assert paths["x"].block_shape == (16, 16)
    inputs = {"x": BlockInput(paths["x"]), "y": BlockInput(paths["y"])}
    arrays = BlockExecutor(1, 60).run(per_cell_statistics, inputs, OUTPUTS)
    expected = per_cell_statistics({"x": x.reshape(len(x), -1).T, "y": y.reshape(len(y), -1).T})
    np.testing.assert_allclose(arrays["mean"][0], expected["mean"].reshape(11, 23), rtol=1e-6)


def test_whole_tiles_plans_read_no_tile_for_two_blocks():
    """The demo's daily stack: 45 × 180 cells in 48 × 128 tiles. Four blocks per worker would cut
    each tile into strips, each strip decompressing the whole tile's 7,305 bands again; with
    ``whole_tiles`` each tile is one block, still one per worker."""
    tile = (48, 128)
    split = BlockExecutor(2).plan(45, 180, tile)
    whole = BlockExecutor(2, whole_tiles=True).plan(45, 180, tile)

    def tiles_read(windows):
        return sum(len({(r // tile[0], c // tile[1])
                        for r in range(int(w.row_off), int(w.row_off + w.height))
                        for c in range(int(w.col_off), int(w.col_off + w.width))})
                   for w in windows)

    assert tiles_read(split) > 2
    assert tiles_read(whole) == 2 and len(whole) == 2
    # a tile larger than block_cells is still cut, so memory stays bounded
    assert len(BlockExecutor(2, block_cells=1000, whole_tiles=True).plan(45, 180, tile)) > 2


def process_ids(blocks):
    """Each cell's computing process id (module level: picklable for spawned workers)."""
    return {"pid": np.full(blocks["x"].shape[0], os.getpid(), dtype=np.float64)}


@pytest.mark.parametrize("cells_per_process,expected_workers", [(1, 2), (200, 1), (10_000, 1)])
def test_cells_per_process_keeps_a_small_grid_in_this_process(stacks, cells_per_process,
                                                              expected_workers):
    """253 cells: two workers unless each would get fewer than ``cells_per_process`` cells, then
    every block runs in this process (a worker's start would cost more than its work)."""
    x_info, y_info, _, _ = stacks
    executor = BlockExecutor(2, 50, cells_per_process=cells_per_process)
    assert executor.processes_for(253) == expected_workers
    pids = executor.run(process_ids, {"x": BlockInput(x_info), "y": BlockInput(y_info)},
                        {"pid": OutputSpec(dtype="float64")})["pid"][0]
    pids = pids[np.isfinite(pids)]   # the cell without data is skipped (the fill, NaN)
    assert pids.size == 252
    ran_here = bool((pids == os.getpid()).all())
    assert ran_here == (expected_workers == 1)
    if not ran_here:
        assert os.getpid() not in pids
