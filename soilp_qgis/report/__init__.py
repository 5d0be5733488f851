"""The dependence report: the run's results section as a self-contained HTML page with its
figures (PNG, matplotlib Agg) beside it, and the run's provenance record.

``make_report(folder, output_html)`` reads an output folder laid out as docs/OUTPUTS.md (any
subset of it); ``write_provenance(folder, inputs, parameters)`` writes ``provenance.json``.
"""

from .build import ReportResult, make_report
from .provenance import read_provenance, write_provenance

__all__ = ["ReportResult", "make_report", "read_provenance", "write_provenance"]
