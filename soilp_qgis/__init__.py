"""soilp engine: how soil moisture depends on precipitation, cell by cell.

QGIS-free. The plugin runs it out of process: ``python -m soilp_qgis <step> key=value ...``.
"""

__version__ = "0.1.0"
