"""Provenance: the engine and library versions, the inputs with their checksums, the
parameters, and the record of every engine step run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import html as h
from ..provenance import read_provenance, read_step_provenances
from .common import Context


def _input_rows(inputs: Sequence[tuple[str, dict[str, Any]]]) -> list[list[object]]:
    rows = []
    for name, entry in inputs:
        time_range = entry.get("time_range") or {}
        dates = (f"{time_range['first']} … {time_range['last']} ({time_range['steps']} "
                 f"{time_range.get('time_scale', '')} steps)" if time_range else "")
        rows.append([name, h.tag("span", entry.get("path", ""), class_="path"),
                     f"{entry['size_bytes']:,}" if "size_bytes" in entry else "missing",
                     entry.get("modified", ""), dates,
                     h.tag("code", entry.get("sha256", "–"))])
    return rows


def _parameter_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def step_runs(runs: list[dict[str, Any]]) -> h.Html:
    """The engine's record of each step run (``provenance/*.json``): one row per run, and every
    input any run read, once, with its checksum."""
    rows = []
    inputs: dict[str, tuple[list[str], dict[str, Any]]] = {}  # path → (parameters, entry)
    for run in runs:
        parameters = {k: v for k, v in run.get("parameters", {}).items()
                      if v not in (None, "") and not k.startswith("OUTPUT")}
        rows.append([run.get("step", ""), ", ".join(Path(p).name for p in
                                                     run.get("outputs", {}).values()),
                     run.get("started", ""), run.get("finished", ""),
                     "; ".join(f"{k}={_parameter_text(v)}" for k, v in parameters.items()
                               if k not in run.get("inputs", {}))])
        for name, entry in run.get("inputs", {}).items():
            names, _ = inputs.setdefault(entry.get("path", name), ([], entry))
            if name not in names:
                names.append(name)
    parts = [h.table(["step", "outputs", "started", "finished", "parameters"], rows,
                     caption="Engine steps run (records in provenance/)", id_="provenance-runs")]
    if inputs:
        parts.append(h.table(["input", "path", "bytes", "modified", "dates", "SHA-256"],
                             _input_rows([(", ".join(names), entry)
                                          for names, entry in inputs.values()]),
                             numeric=[False, False, True], caption="Inputs of the steps",
                             id_="provenance-step-inputs"))
    return h.join(parts)


def provenance_section(ctx: Context) -> h.Html:
    document = read_provenance(ctx.folder)
    runs = read_step_provenances(ctx.folder)
    if document is None:
        message = ("No provenance.json in this folder: inputs, parameters and versions of the "
                   "run are not recorded.")
        if not runs:
            return h.missing(message)
        latest = runs[-1]
        return h.join([
            h.paragraph(message[:-1] + " as a whole; each engine step recorded its own run."),
            h.table(["component", "version"],
                    [[k, v] for k, v in {**latest.get("engine", {}),
                                         **latest.get("libraries", {})}.items()],
                    caption="Engine and libraries (latest step run)"),
            step_runs(runs)])
    parts = [h.paragraph(f"Run recorded {document.get('created', 'at an unknown time')}.")]
    engine = document.get("engine", {})
    libraries = document.get("libraries", {})
    parts.append(h.table(["component", "version"],
                         [[k, v] for k, v in {**engine, **libraries}.items()],
                         caption="Engine and libraries"))
    inputs = document.get("inputs", {})
    if inputs:
        parts.append(h.table(["input", "path", "bytes", "modified", "dates", "SHA-256"],
                             _input_rows(list(inputs.items())), numeric=[False, False, True],
                             caption="Inputs",
                             id_="provenance-inputs"))
    parameters = document.get("parameters", {})
    if parameters:
        parts.append(h.table(["parameter", "value"],
                             [[k, _parameter_text(v)] for k, v in parameters.items()],
                             caption="Parameters"))
    if runs:
        parts.append(step_runs(runs))
    return h.join(parts)
