"""The dependence report: the run's results section as a self-contained HTML page with its
figures (PNG, matplotlib Agg) beside it, and the run's provenance record.

``make_report(folder, output_html)`` reads an output folder laid out as docs/OUTPUTS.md (any
subset of it); ``write_provenance(folder, inputs, parameters)`` writes ``provenance.json``.

The names are imported on first use (PEP 562): every engine step records its provenance through
``report.provenance``, and importing the report builder with it (matplotlib, scipy.stats) cost
each step about 1.3 s of start-up.
"""

from importlib import import_module

_NAMES = {"ReportResult": ".build", "make_report": ".build",
          "read_provenance": ".provenance", "write_provenance": ".provenance"}
__all__ = list(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_NAMES[name], __name__), name)
