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
from dataclasses import dataclass
from pathlib import Path

from .. import contract
from ..contract import FileOutput, StepParameters
from ..errors import InputError
from ..protocol import Reporter
from .outputs import StepOutputs, engine_step


@dataclass(frozen=True)
class Parameters(StepParameters):
    """Parameters of ``report`` (soilp:report)."""

    STEP = "report"

    input_folder: str = contract.folder()
    title: str | None = contract.text()
    ecoregions: str | None = contract.vector()
    field: str | None = contract.field_name()
    ecoregions_raster: str | None = contract.raster(required=False)
    output_html: str | None = contract.file_output()

    def html(self) -> Path:
        return Path(str(self.output_html or Path(self.input_folder) / "report.html"))

    def validate(self) -> None:
        if not Path(self.input_folder).is_dir():
            raise InputError(f"INPUT_FOLDER {self.input_folder} is not a folder")
        if self.html().suffix.lower() not in (".html", ".htm"):
            raise InputError(f"OUTPUT_HTML {self.html()} must end in .html")

    def derived_outputs(self) -> dict[str, str]:
        return {} if self.output_html else {"OUTPUT_HTML (default)": str(self.html())}


OUTPUTS = (FileOutput("output_html", "html", "the report page; report_*.png beside it"),)


@dataclass(frozen=True)
class ProvenanceParameters(StepParameters):
    """Parameters of ``provenance`` (used by ``make demo``; no toolbox algorithm)."""

    STEP = "provenance"

    output_folder: str = contract.folder_output(required=True)
    inputs: dict | None = contract.mapping()
    parameters: dict | None = contract.mapping()


@engine_step(Parameters, OUTPUTS, staged=False)
def report(p: Parameters, outputs: StepOutputs, reporter: Reporter) -> dict:
    """Write the report of ``input_folder``."""
    from ..report import make_report

    folder = Path(p.input_folder)
    output_html = p.html()
    ecoregions = p.ecoregions_raster or p.ecoregions or None
    if ecoregions and not Path(str(ecoregions).split("|")[0]).exists():
        raise InputError(f"ECOREGIONS {ecoregions} does not exist")
    reporter.info(f"report of {folder} → {output_html}")
    result = make_report(folder, output_html, title=p.title or None,
                         ecoregions=ecoregions, field=p.field or "BIOME", reporter=reporter)
    made = [name for name, state in result.sections.items() if state == "made"]
    absent = [name for name, state in result.sections.items() if state != "made"]
    reporter.info(f"{len(made)} of {len(result.sections)} sections made"
                  + (f"; not made: {', '.join(absent)}" if absent else "")
                  + f"; {len(result.figures)} figures")
    return {"OUTPUT_HTML": str(result.html), "FIGURES": [str(p) for p in result.figures],
            "SECTIONS": result.sections}


@engine_step(ProvenanceParameters, record=False)
def provenance(p: ProvenanceParameters, outputs: StepOutputs, reporter: Reporter) -> dict:
    """Write ``<output_folder>/provenance.json``."""
    from ..report import write_provenance

    inputs = p.inputs or {}
    path = write_provenance(Path(p.output_folder),
                            {str(k): str(v) for k, v in inputs.items() if v}, p.parameters or {})
    document = json.loads(path.read_text(encoding="utf-8"))
    absent = [name for name, entry in document["inputs"].items() if not entry.get("exists")]
    if absent:
        reporter.warning("inputs not found, recorded without checksum: " + ", ".join(absent))
    reporter.info(f"provenance of {len(document['inputs'])} inputs written to {path}")
    return {"OUTPUT": str(path)}
