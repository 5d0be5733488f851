"""Writing rasters and time stacks: GeoTIFF, DEFLATE, tiled, atomically (a temporary file in the
same folder, renamed when complete), with a sidecar ``.qml`` style beside them."""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ..contract import FLOAT_NODATA
from ..errors import InputError
from .dates import TIME_SCALES
from .grid import Grid, check_window

#: Tile edge of the GeoTIFFs written here; blocks aligned to it decompress each tile once.
TILE_SIZE = 128


def _umask() -> int:
    """The process's file-creation mask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _block_size(n: int) -> int:
    return TILE_SIZE if n >= TILE_SIZE else max(16, int(math.ceil(n / 16.0)) * 16)


def _is_integer(dtype: np.dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.integer)


class BandStatistics:
    """Running per-band statistics of the valid values written (count, min, max, sum, sum of
    squares), stored in the file as GDAL's ``STATISTICS_*`` band metadata on commit: GDAL then
    answers a statistics request (QGIS asks one of every raster a model step writes) from them
    instead of computing its own and saving them in a ``.aux.xml`` beside the output."""

    def __init__(self, count: int) -> None:
        self.valid = np.zeros(count, dtype=np.int64)
        self.minimum = np.full(count, np.inf)
        self.maximum = np.full(count, -np.inf)
        self.total = np.zeros(count)
        self.total_of_squares = np.zeros(count)
        self.cells = 0

    def add(self, data: np.ndarray, nodata: float | int | None) -> None:
        """``data``: ``(bands, rows, cols)`` as written, nodata already substituted."""
        self.cells += int(data[0].size)
        for band, values in enumerate(data):
            values = values.ravel()
            keep = np.isfinite(values) if np.issubdtype(values.dtype, np.floating) else None
            if nodata is not None:
                unequal = values != nodata
                keep = unequal if keep is None else keep & unequal
            if keep is not None:
                values = values[keep]
            if not values.size:
                continue
            values = values.astype(np.float64, copy=False)
            self.valid[band] += values.size
            self.minimum[band] = min(self.minimum[band], float(values.min()))
            self.maximum[band] = max(self.maximum[band], float(values.max()))
            self.total[band] += float(values.sum())
            self.total_of_squares[band] += float(np.dot(values, values))

    def tags(self, band: int) -> dict[str, str]:
        """GDAL's metadata items for band ``band`` (0-based); zeros with ``VALID_PERCENT`` 0 for a
        band with no valid value."""
        valid = int(self.valid[band])
        if not valid:
            minimum = maximum = mean = stddev = 0.0
        else:
            minimum, maximum = float(self.minimum[band]), float(self.maximum[band])
            mean = float(self.total[band]) / valid
            variance = float(self.total_of_squares[band]) / valid - mean * mean
            stddev = math.sqrt(max(variance, 0.0))
            mean = min(max(mean, minimum), maximum)
        percent = 100.0 * valid / self.cells if self.cells else 0.0
        return {"STATISTICS_MINIMUM": repr(minimum), "STATISTICS_MAXIMUM": repr(maximum),
                "STATISTICS_MEAN": repr(mean), "STATISTICS_STDDEV": repr(stddev),
                "STATISTICS_VALID_PERCENT": repr(percent)}


class RasterWriter:
    """An output GeoTIFF written block by block into a temporary file beside ``path`` and renamed
    to ``path`` on :meth:`commit` (with its sidecar ``.qml``); :meth:`abort` (or an exception inside
    ``with``) removes it, so a failed run leaves no file that looks complete. Each band carries the
    statistics of the values written (:class:`BandStatistics`).

    ``style_qml``: the sidecar style; None picks a continuous style over the values written
    (2nd–98th percentile), False writes no sidecar."""

    def __init__(self, path: str | os.PathLike, grid: Grid, count: int, dtype: Any,
                 nodata: float | int | None, band_names: Sequence[str] | None = None,
                 style_qml: str | None | Literal[False] = None,
                 tags: dict[str, Any] | None = None,
                 band_tags: Sequence[dict[str, Any]] | None = None,
                 band_units: str | None = None, color_interp: Sequence[Any] | None = None,
                 style_label: str = "") -> None:
        self.path = Path(path)
        self.grid = grid
        self.count = int(count)
        self.dtype = np.dtype(dtype)
        self.nodata = nodata
        self.style_qml = style_qml
        self.style_label = style_label
        self._samples: list[np.ndarray] = []
        self._statistics = BandStatistics(self.count)
        self._done = False
        folder = self.path.parent if str(self.path.parent) else Path(".")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot create the output folder {folder} "
                             f"({exc.strerror})") from None
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".partial.tif", dir=folder)
        os.close(fd)
        self._tmp = Path(tmp)
        profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=self.count,
                       dtype=self.dtype.name, crs=grid.crs, transform=grid.transform,
                       nodata=nodata, compress="deflate", zlevel=3,
                       predictor=2 if _is_integer(self.dtype) else 3, tiled=True,
                       blockxsize=_block_size(grid.width), blockysize=_block_size(grid.height),
                       interleave="band", bigtiff="IF_SAFER")
        if self.dtype.itemsize == 1 and not _is_integer(self.dtype):
            profile.pop("predictor")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._dst = rasterio.open(self._tmp, "w", **profile)
            if tags:
                self._dst.update_tags(**{k: str(v) for k, v in tags.items()})
            for band in range(1, self.count + 1):
                if band_names is not None:
                    self._dst.set_band_description(band, str(band_names[band - 1]))
                if band_tags is not None and band_tags[band - 1]:
                    self._dst.update_tags(band, **{k: str(v)
                                                   for k, v in band_tags[band - 1].items()})
                if band_units:
                    self._dst.set_band_unit(band, band_units)
            if color_interp is not None:
                from rasterio.enums import ColorInterp

                self._dst.colorinterp = [c if isinstance(c, ColorInterp) else ColorInterp[str(c)]
                                         for c in color_interp]
        except Exception:
            self.abort()
            raise

    def write(self, data: np.ndarray, window: Window | None = None) -> None:
        """Write ``(bands, rows, cols)`` (or ``(rows, cols)`` for one band) at ``window`` of the
        north-up grid; NaN becomes nodata."""
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[np.newaxis]
        window = check_window(window, self.grid)
        expected = (self.count, int(window.height), int(window.width))
        if data.shape != expected:
            raise ValueError(f"{self.path.name}: data of shape {data.shape}, expected {expected}")
        if np.issubdtype(data.dtype, np.floating):
            missing = np.isnan(data)
            if missing.any():
                if self.nodata is None:
                    raise ValueError(f"{self.path.name}: NaN values but no nodata value")
                data = np.where(missing, self.nodata, data)
            finite = data[~missing] if missing.any() else data.ravel()
        else:
            finite = data.ravel()
        if self.nodata is not None and finite.size:
            finite = finite[finite != self.nodata]
        if self.style_qml is None and finite.size:
            stride = max(1, finite.size // 20000)
            self._samples.append(np.asarray(finite[::stride], dtype=np.float64))
        if _is_integer(self.dtype):
            data = np.rint(data) if np.issubdtype(data.dtype, np.floating) else data
        data = data.astype(self.dtype, copy=False)
        self._statistics.add(data, self.nodata)
        self._dst.write(data, window=window)

    def commit(self) -> Path:
        """Close, write the sidecar style and move the file into place; returns the path."""
        if self._done:
            return self.path
        try:
            for band in range(self.count):
                self._dst.update_tags(band + 1, **self._statistics.tags(band))
            self._dst.close()
            style = self.style_qml
            if style is None:
                from ..styles import continuous_style

                values = np.concatenate(self._samples) if self._samples else np.zeros(0)
                if values.size:
                    vmin, vmax = (float(v) for v in np.percentile(values, [2.0, 98.0]))
                else:
                    vmin, vmax = float("nan"), float("nan")
                style = continuous_style(vmin, vmax, label=self.style_label)
            aux = self.path.with_name(self.path.name + ".aux.xml")
            if aux.exists():  # a stale PAM file would override the new metadata
                aux.unlink()
            if style:
                from ..styles import write_sidecar_style

                write_sidecar_style(self.path, style)
            os.chmod(self._tmp, 0o666 & ~_umask())  # mkstemp made it private (0600)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; nothing is left at ``path``."""
        self._done = True
        dst = getattr(self, "_dst", None)
        if dst is not None and not dst.closed:
            try:
                dst.close()
            except Exception:
                pass
        for leftover in (self._tmp, self._tmp.with_name(self._tmp.name + ".aux.xml")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> RasterWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def open_stack_writer(path: str | os.PathLike, grid: Grid, dates: Sequence[Any] | np.ndarray,
                      time_scale: str, units: str, nodata: float = FLOAT_NODATA,
                      style_qml: str | None | Literal[False] = None,
                      description: str | None = None) -> RasterWriter:
    """A :class:`RasterWriter` for a float32 time stack written block by block (``write(data,
    window)`` with ``data`` ``(time, rows, cols)``); commit it (or leave its ``with`` block)."""
    if time_scale not in TIME_SCALES:
        raise ValueError(f"time_scale {time_scale!r} is not one of {', '.join(TIME_SCALES)}")
    dates = np.asarray(dates, dtype="datetime64[D]")
    labels = [str(d) for d in dates]
    tags: dict[str, Any] = {"time_scale": time_scale, "units": units or ""}
    if description:
        tags["description"] = description
    band_tags = [{"date": label} for label in labels]
    return RasterWriter(path, grid, len(labels), np.float32, nodata, band_names=labels,
                        style_qml=style_qml, tags=tags, band_tags=band_tags,
                        band_units=units or None, style_label=units or "")


def write_stack(path: str | os.PathLike, data: np.ndarray, grid: Grid,
                dates: Sequence[Any] | np.ndarray, time_scale: str, units: str,
                nodata: float = FLOAT_NODATA, style_qml: str | None | Literal[False] = None,
                description: str | None = None) -> Path:
    """Write a time stack: float32 GeoTIFF, DEFLATE, tiled, band descriptions = ISO dates, nodata,
    metadata ``time_scale`` and ``units``, atomically, with a sidecar ``.qml`` (a continuous style
    over the values when ``style_qml`` is None). ``data`` is ``(time, rows, cols)``, NaN =
    missing."""
    data = np.asarray(data)
    if data.ndim != 3 or data.shape[1:] != grid.shape:
        raise ValueError(f"{Path(path).name}: data of shape {data.shape}, expected "
                         f"(time, {grid.height}, {grid.width})")
    if data.shape[0] != len(dates):
        raise ValueError(f"{Path(path).name}: {data.shape[0]} time steps but {len(dates)} dates")
    with open_stack_writer(path, grid, dates, time_scale, units, nodata, style_qml,
                           description) as writer:
        writer.write(data.astype(np.float32, copy=False))
    return Path(path)


def write_raster(path: str | os.PathLike, data: np.ndarray, grid: Grid, dtype: Any,
                 nodata: float | int | None, band_names: Sequence[str] | None = None,
                 style_qml: str | None | Literal[False] = None,
                 tags: dict[str, Any] | None = None,
                 color_interp: Sequence[Any] | None = None) -> Path:
    """Write a per-cell output raster, ``(rows, cols)`` or ``(bands, rows, cols)``, atomically,
    DEFLATE-compressed and tiled, NaN → ``nodata``, with a sidecar ``.qml`` (continuous over the
    values when ``style_qml`` is None; False for none). ``color_interp``: e.g. ``["red", "green",
    "blue"]``."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3 or data.shape[1:] != grid.shape:
        raise ValueError(f"{Path(path).name}: data of shape {data.shape}, expected "
                         f"([bands,] {grid.height}, {grid.width})")
    with RasterWriter(path, grid, data.shape[0], dtype, nodata, band_names=band_names,
                      style_qml=style_qml, tags=tags, color_interp=color_interp) as writer:
        writer.write(data)
    return Path(path)
