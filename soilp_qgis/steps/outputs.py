"""The single writer of step outputs, and the runner every step goes through.

``@engine_step(Parameters, OUTPUTS)`` turns ``body(parameters, outputs, report) -> dict`` into the
step function the CLI calls, ``step(params: dict, report) -> dict``, which

1. reads the parameters with ``Parameters.from_params`` (defaults, types, ranges, unknown keys);
2. refuses an output path equal to an input or another output (``staging.check_paths``);
3. hands the body a :class:`StepOutputs`: rasters are written from the declared table
   (``contract.RasterOutput``: array, dtype, nodata, band names, style), other files through
   :meth:`StepOutputs.path`, all into staging folders beside their destinations;
4. writes the run's provenance (``report/provenance.py``) with the outputs, and moves everything
   into place only when the body returned; on any failure or cancel nothing new is left;
5. turns an ``OSError`` (disk full, permission denied, read-only folder) into one
   :class:`SoilpError` line naming the file and the cause.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import styles
from ..contract import FileOutput, Output, RasterOutput, StepParameters
from ..errors import SoilpError
from ..protocol import Reporter
from ..tables import status_codes
from ..timestack import Grid, write_raster
from .common import write_csv
from .staging import Staging, check_paths

#: sidecar styles by the name an output table gives them
STYLE_PRESETS: dict[str, Callable[[], str]] = {
    "tau": styles.tau_style,
    "tail": styles.tail_dependence_style,
    "family": styles.family_style,
    "status": styles.status_style,
    "rgb": styles.rgb_style,
    "p_value": lambda: styles.continuous_style(0.0, 0.1, "p", ramp=styles.SEQUENTIAL_BLUES),
    "coefficient": lambda: styles.continuous_style(-1.0, 1.0, "β",
                                                   ramp=styles.DIVERGING_RED_BLUE),
    "weight": lambda: styles.continuous_style(0.0, 1.0, "W"),
}


def os_error_line(exc: OSError, staging: Staging | None = None) -> str:
    """One line for an OSError: the file (its destination, not the staging folder) and cause."""
    cause = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    where = exc.filename if exc.filename is not None else ""
    line = f"{where}: cannot write ({cause})" if where else f"cannot write an output ({cause})"
    return staging.public(line) if staging is not None else line


class StepOutputs:
    """Where and how one run writes its outputs (see the module docstring)."""

    def __init__(self, parameters: StepParameters, table: Sequence[Output],
                 staging: Staging | None):
        self.parameters = parameters
        self.table = {output.key: output for output in table}
        self.staging = staging

    def given(self, key: str) -> bool:
        """Whether output parameter ``key`` (``output_tau``) has a path."""
        return getattr(self.parameters, key, None) not in (None, "")

    def final(self, key: str) -> str:
        """The path output ``key`` ends up at, as given."""
        return str(getattr(self.parameters, key))

    def staged(self, destination: str | os.PathLike) -> Path:
        """Where to write the file that ends up at ``destination``."""
        if self.staging is None:
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            return Path(destination)
        return self.staging.path(destination)

    def path(self, key: str) -> Path:
        """Where to write output ``key`` now (its staged path)."""
        return self.staged(self.final(key))

    def folder(self, key: str) -> Path:
        """Where to write the files of folder output ``key`` now."""
        if self.staging is None:
            Path(self.final(key)).mkdir(parents=True, exist_ok=True)
            return Path(self.final(key))
        return self.staging.folder(self.final(key))

    def rasters(self, arrays: Mapping[str, np.ndarray], grid: Grid,
                context: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Write every declared raster whose parameter is given from ``arrays`` (by array name);
        returns ``{OUTPUT_KEY: path}``. ``context`` adds to the parameters what band names and
        styles need."""
        context = {**vars(self.parameters), **(context or {})}
        written = {}
        for output in self.table.values():
            if not isinstance(output, RasterOutput) or not self.given(output.key):
                continue
            if isinstance(output.style, str):
                style = STYLE_PRESETS[output.style]()
            else:
                style = None if output.style is None else output.style(context)
            write_raster(self.path(output.key), arrays[output.array], grid, output.dtype,
                         output.nodata, band_names=output.band_names(context), style_qml=style,
                         color_interp=list(output.color_interp) if output.color_interp else None)
            written[output.key.upper()] = self.final(output.key)
        return written

    def csv(self, key: str, rows: Sequence[Mapping[str, Any]],
            columns: Sequence[str] | None = None) -> dict[str, str]:
        """Write table output ``key`` (header always, even without rows) when it is given."""
        if not self.given(key):
            return {}
        write_csv(self.path(key), rows, columns=columns)
        return {key.upper(): self.final(key)}


def status_counts(status: np.ndarray) -> str:
    """``"8,100 no data, 0 too few values, …"``: cells per non-fitted status code."""
    return ", ".join(f"{int((status == entry['code']).sum()):,} "
                     f"{entry['name'].replace('_', ' ')}"
                     for entry in status_codes() if entry["code"])


def require_computed(status: np.ndarray) -> int:
    """The number of cells with status 0; none is an error counted by status (raised before
    anything is written). A series too short for any cell is refused earlier, by
    ``common.block_inputs``."""
    fitted = int((status == 0).sum())
    if not fitted:
        raise SoilpError(f"no cell could be computed: {status_counts(status)}")
    return fitted


def record_run(writer: StepOutputs, started: str) -> None:
    """Write the provenance record of the run ``writer`` holds the outputs of (its parameters,
    inputs, outputs, versions; from ``started`` to now) beside its first output, staged with
    them. A run without outputs leaves no record."""
    values = writer.parameters
    destinations = values.destinations()
    if not destinations:
        return
    from ..report.provenance import provenance_path, write_step_provenance

    first_key, first = next(iter(destinations.items()))
    folder_output = any(isinstance(o, FileOutput) and o.kind == "folder"
                        and o.key.upper() == first_key for o in writer.table.values())
    record_path = provenance_path(first, values.STEP, folder_output)
    write_step_provenance(writer.staged(record_path), values.STEP, values.as_dict(),
                          values.sources(), destinations, started, now())


def now() -> str:
    """The time now (UTC, ISO 8601 to the second), as provenance records it."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def engine_step(parameters: type[StepParameters], outputs: Sequence[Output] = (),
                staged: bool = True, record: bool = True):
    """Decorator making a step function from ``body(parameters, outputs, report) -> dict`` (see
    the module docstring). ``staged=False``: files are written in place (the report, whose page
    links files beside it); ``record=False``: no provenance record (the ``provenance`` step)."""

    def decorate(body: Callable[[Any, StepOutputs, Reporter], dict]
                 ) -> Callable[[dict, Reporter], dict]:
        @functools.wraps(body)
        def step(params: dict, report: Reporter) -> dict:
            started = now()
            values = parameters.from_params(params)
            destinations = values.destinations()
            check_paths(values.sources(), destinations)
            staging = Staging() if staged else None
            writer = StepOutputs(values, outputs, staging)
            try:
                results = body(values, writer, report)
                if record:
                    record_run(writer, started)
                if staging is not None:
                    staging.commit()
            except OSError as exc:
                line = os_error_line(exc, staging)
                if staging is not None:
                    staging.abort()
                raise SoilpError(line) from exc
            except BaseException:
                if staging is not None:
                    staging.abort()
                raise
            return results

        step.parameters = parameters  # type: ignore[attr-defined]
        step.outputs = tuple(outputs)  # type: ignore[attr-defined]
        return step

    return decorate


__all__ = ["STYLE_PRESETS", "StepOutputs", "engine_step", "now", "os_error_line", "record_run",
           "require_computed", "status_counts"]
