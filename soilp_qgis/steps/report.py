"""``report``: the dependence report of a run's output folder (soilp:report), and ``provenance``:
the run's inputs, parameters and versions as ``provenance.json`` (for the model and the demo).

``report`` parameters: ``input_folder`` (required; laid out as docs/OUTPUTS.md, any subset),
``output_html`` (default ``<input_folder>/report.html``; ``report_*.png`` go beside it),
``title``, ``ecoregions_raster`` or ``ecoregions`` (optional: an ecoregion raster, or polygons
with ``field``, for the land outline; default an ``ecoregions.tif`` in the folder, else the
outline of the cells with a value).

``provenance`` parameters: ``output_folder`` (required), ``inputs`` (name → path, a dict or its
JSON text), ``parameters`` (name → value, a dict or its JSON text).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..protocol import Reporter
from ..report import make_report, write_provenance
from .common import required


def report(params: dict, reporter: Reporter) -> dict:
    """Write the report of ``input_folder``."""
    folder = Path(str(required(params, "input_folder")))
    if not folder.is_dir():
        raise InputError(f"INPUT_FOLDER {folder} is not a folder")
    output_html = Path(str(params.get("output_html") or folder / "report.html"))
    if output_html.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"OUTPUT_HTML {output_html} must end in .html")
    ecoregions = params.get("ecoregions_raster") or params.get("ecoregions") or None
    if ecoregions and not Path(str(ecoregions).split("|")[0]).exists():
        raise InputError(f"ECOREGIONS {ecoregions} does not exist")
    reporter.info(f"report of {folder} → {output_html}")
    result = make_report(folder, output_html, title=params.get("title") or None,
                         ecoregions=ecoregions, field=params.get("field") or "BIOME",
                         reporter=reporter)
    made = [name for name, state in result.sections.items() if state == "made"]
    absent = [name for name, state in result.sections.items() if state != "made"]
    reporter.info(f"{len(made)} of {len(result.sections)} sections made"
                  + (f"; not made: {', '.join(absent)}" if absent else "")
                  + f"; {len(result.figures)} figures")
    return {"OUTPUT_HTML": str(result.html), "FIGURES": [str(p) for p in result.figures],
            "SECTIONS": result.sections}


def _mapping(params: dict, key: str) -> dict[str, Any]:
    value = params.get(key)
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InputError(f"{key.upper()} must be a JSON object; got {value!r}") from None
    if not isinstance(value, dict):
        raise InputError(f"{key.upper()} must be a mapping of names to values; got {value!r}")
    return value


def provenance(params: dict, reporter: Reporter) -> dict:
    """Write ``<output_folder>/provenance.json``."""
    folder = Path(str(required(params, "output_folder")))
    inputs = _mapping(params, "inputs")
    path = write_provenance(folder, {str(k): str(v) for k, v in inputs.items() if v},
                            _mapping(params, "parameters"))
    document = json.loads(path.read_text(encoding="utf-8"))
    absent = [name for name, entry in document["inputs"].items() if not entry.get("exists")]
    if absent:
        reporter.warning("inputs not found, recorded without checksum: " + ", ".join(absent))
    reporter.info(f"provenance of {len(document['inputs'])} inputs written to {path}")
    return {"OUTPUT": str(path)}
