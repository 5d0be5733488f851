"""``make_report``: the results section of a run, as one HTML page with its figures beside it."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..protocol import Reporter, SilentReporter
from . import html as h
from .layout import find_ecoregion_raster
from .sections import SECTIONS, Context


@dataclass
class ReportResult:
    """Where the page went, which figures it references, and each section's state."""

    html: Path
    figures: list[Path]
    #: section anchor → ``"made"``, ``"missing"`` (its files are not there) or ``"failed"``
    sections: dict[str, str]


def make_report(folder: str | Path, output_html: str | Path, title: str | None = None,
                ecoregions: str | Path | None = None, field: str = "BIOME",
                reporter: Reporter | None = None) -> ReportResult:
    """Write the report of the output folder ``folder`` (laid out as docs/OUTPUTS.md; any
    subset of it) to ``output_html``, with ``report_*.png`` beside it. ``ecoregions`` (a raster,
    or polygons with ``field``) gives the land outline; default: an ``ecoregions.tif`` in the
    folder, else the outline of the cells with a value. A section that cannot be made says why
    in one line; the report itself does not fail on a missing or unreadable file."""
    reporter = reporter or SilentReporter()
    folder = Path(folder)
    output_html = Path(output_html)
    output_html.parent.mkdir(parents=True, exist_ok=True)
    outline_source = ecoregions or find_ecoregion_raster(folder)
    context = Context(folder=folder, out_dir=output_html.parent, reporter=reporter,
                      ecoregions=str(outline_source) if outline_source else None,
                      field_name=field or "BIOME")
    created = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    document = h.Document(
        title=title or "Dependence of soil moisture on precipitation",
        subtitle=f"Results in {folder.resolve()} — report made {created} by soilp {__version__}.")
    states = {}
    for index, (anchor, heading, make) in enumerate(SECTIONS):
        reporter.progress(index / len(SECTIONS))
        try:
            content = make(context)
            states[anchor] = "missing" if isinstance(content, h.Missing) else "made"
        except Exception as exc:  # noqa: BLE001 - one broken file must not lose the others
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            reporter.warning(f"report section '{heading}' could not be made: {reason}")
            content = h.warning(f"This section could not be made: {reason}")
            states[anchor] = "failed"
        document.add(anchor, heading, content)
        if states[anchor] == "missing":
            reporter.info(f"{heading}: not in this folder")
    document.write(output_html)
    reporter.progress(1.0)
    return ReportResult(output_html, [p for p in context.figures if p.is_file()], states)
