"""Assemble one ecoregion's model data: valid rows, z-scores and the seven driver terms.

Inputs are ``(cells, time)`` blocks of the five variables over the cells of one ecoregion, NaN for
missing. Two shapes of data (the DATA parameter):

- ``"cells"``: every (cell, time) row where all five variables are present, from a seeded random
  subsample of at most ``max_cells`` cells; the model gets a random intercept per cell.
- ``"ecoregion_mean"``: one series, the mean at each time step over the cells where all five
  variables are present at that step; no random effects.

All five variables are then standardised to z-scores within the ecoregion (population standard
deviation) and the seven terms built as products of the standardised predictors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Response variables, in the order of the model's ``response`` dimension.
RESPONSES: tuple[str, ...] = ("P", "SM")
#: Predictors whose products make the terms.
PREDICTORS: tuple[str, ...] = ("Ta", "GPP", "LST")
#: The seven terms of ``Ta*GPP*LST``, in brms's order; ``:`` is a product of z-scores.
TERMS: tuple[str, ...] = ("Ta", "GPP", "LST", "Ta:GPP", "Ta:LST", "GPP:LST", "Ta:GPP:LST")
#: The two shapes of model data.
DATA_MODES: tuple[str, ...] = ("cells", "ecoregion_mean")


class EcoregionSkipped(Exception):
    """An ecoregion cannot be modelled; the message is the reason, for the log and the table."""


@dataclass
class EcoregionData:
    """The standardised rows of one ecoregion, ready for the driver model.

    ``responses`` is ``(rows, 2)`` (P, SM z-scores), ``terms`` is ``(rows, 7)`` in :data:`TERMS`
    order. In DATA=cells, ``cell_index`` gives each row's position in ``cells`` (the indices of the
    sampled cells in the input block); in DATA=ecoregion_mean it is ``None`` and ``cells`` lists the
    cells that contributed to any step's mean. ``mean`` and ``std`` hold each variable's raw mean
    and population standard deviation before standardising, ``time_index`` each row's time step.
    """

    data: str
    responses: np.ndarray
    terms: np.ndarray
    time_index: np.ndarray
    cells: np.ndarray
    cell_index: np.ndarray | None
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.responses.shape[0])

    @property
    def n_cells(self) -> int:
        return int(self.cells.size)


def zscore(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Z-scores with the population standard deviation; returns (z, mean, std)."""
    mean = float(np.mean(values))
    std = float(np.std(values))
    return (values - mean) / std, mean, std


def term_matrix(ta: np.ndarray, gpp: np.ndarray, lst: np.ndarray) -> np.ndarray:
    """The ``(rows, 7)`` design columns of :data:`TERMS` from standardised Ta, GPP and LST."""
    return np.column_stack([ta, gpp, lst, ta * gpp, ta * lst, gpp * lst, ta * gpp * lst])


def _as_block(name: str, values: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    block = np.asarray(values, dtype=np.float64)
    if block.ndim == 1:
        block = block[np.newaxis, :]
    if block.ndim != 2:
        raise ValueError(f"{name}: expected a (cells, time) block, got shape {block.shape}")
    if shape is not None and block.shape != shape:
        raise ValueError(f"{name}: shape {block.shape} differs from precipitation's {shape}")
    return block


def assemble_ecoregion(precipitation: np.ndarray, soil_moisture: np.ndarray,
                       air_temperature: np.ndarray, gpp: np.ndarray, lst: np.ndarray, *,
                       data: str = "cells", max_cells: int = 200,
                       seed: int | np.random.Generator | None = 0,
                       min_values: int = 30, min_cells: int = 2) -> EcoregionData:
    """Valid, standardised model rows of one ecoregion from its five ``(cells, time)`` blocks.

    Raises :class:`EcoregionSkipped` (message = reason) when fewer than ``min_values`` rows or
    time steps remain, when DATA=cells has fewer than ``min_cells`` cells with data, or when a
    variable is constant within the ecoregion.
    """
    if data not in DATA_MODES:
        raise ValueError(f"DATA must be one of {', '.join(DATA_MODES)}, got {data!r}")
    p = _as_block("precipitation", precipitation, None)
    blocks = {"P": p}
    for key, name, values in (("SM", "soil moisture", soil_moisture),
                              ("Ta", "air temperature", air_temperature),
                              ("GPP", "GPP", gpp), ("LST", "LST", lst)):
        blocks[key] = _as_block(name, values, p.shape)
    valid = np.ones(p.shape, dtype=bool)
    for block in blocks.values():
        valid &= np.isfinite(block)
    cells_with_data = np.flatnonzero(valid.any(axis=1))
    if cells_with_data.size == 0:
        raise EcoregionSkipped("no cell has all five variables at the same time step")

    if data == "cells":
        if cells_with_data.size < min_cells:
            raise EcoregionSkipped(
                f"only {cells_with_data.size} cell(s) with data; DATA=cells needs at least "
                f"{min_cells} (use DATA=ecoregion_mean)")
        rng = np.random.default_rng(seed)
        cells = cells_with_data
        if cells.size > max_cells:
            cells = np.sort(rng.choice(cells, size=max_cells, replace=False))
        row_cell, row_time = np.nonzero(valid[cells])
        raw = {key: block[cells][row_cell, row_time] for key, block in blocks.items()}
        cell_index: np.ndarray | None = row_cell.astype(np.int64)
        time_index = row_time.astype(np.int64)
        what = "(cell, time) rows"
    else:
        counts = valid.sum(axis=0)
        steps = np.flatnonzero(counts > 0)
        raw = {key: np.where(valid, block, 0.0)[:, steps].sum(axis=0) / counts[steps]
               for key, block in blocks.items()}
        cells = cells_with_data
        cell_index = None
        time_index = steps.astype(np.int64)
        what = "time steps"

    n_rows = time_index.size
    if n_rows < min_values:
        raise EcoregionSkipped(f"only {n_rows} {what} with all five variables; "
                               f"at least {min_values} needed")
    for key, values in raw.items():
        if not np.std(values) > 1e-12 * max(1.0, abs(float(np.mean(values)))):
            raise EcoregionSkipped(f"{key} is constant within the ecoregion")
    z, means, stds = {}, {}, {}
    for key, values in raw.items():
        z[key], means[key], stds[key] = zscore(values)
    return EcoregionData(
        data=data,
        responses=np.column_stack([z["P"], z["SM"]]),
        terms=term_matrix(z["Ta"], z["GPP"], z["LST"]),
        time_index=time_index, cells=cells, cell_index=cell_index, mean=means, std=stds)
