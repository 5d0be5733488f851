"""QGIS test fixtures: the checkout loaded as plugin ``soilp`` with its provider registered.

Run with QGIS's Python (``make test-qgis``); pytest-qgis starts a headless QgsApplication.
``SOILP_PYTHON`` points the plugin at the engine's interpreter (the Makefile sets it).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def collect_garbage_while_qgis_runs():
    """Free each test's leftovers (e.g. a caught exception's frames holding a processing context
    and its layers) while QGIS still runs: garbage collected after exitQgis() crashes Python."""
    yield
    gc.collect()


@pytest.fixture(autouse=True, scope="session")
def layer_tree_view_for_loaded_results(qgis_app, qgis_iface):
    """From QGIS 3.44 Processing loads results (``processing.runAndLoadResults``) through
    ``QgsProcessingGuiUtils.addResultLayers``, which takes ``iface.layerTreeView()`` as a
    QgsLayerTreeView; pytest-qgis's iface answers every method it lacks with a MagicMock, which
    that call refuses (TypeError). There its iface gets a real view of the project's layer tree,
    as QGIS's own iface has; older QGIS versions keep the mock they work with."""
    from qgis import gui

    if not hasattr(gui, "QgsProcessingGuiUtils"):
        yield
        return
    from qgis.core import QgsLayerTreeModel, QgsProject

    model = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot())
    view = gui.QgsLayerTreeView()
    view.setModel(model)
    qgis_iface.layerTreeView = lambda: view
    yield view
    del qgis_iface.layerTreeView
    view.deleteLater()


@pytest.fixture(scope="session")
def plugin_parent(tmp_path_factory) -> Path:
    """A folder holding this checkout as ``soilp`` (whatever the clone's folder is called)."""
    parent = tmp_path_factory.mktemp("plugins")
    (parent / "soilp").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(parent))
    return parent


@pytest.fixture(scope="session")
def soilp_provider(qgis_app, qgis_processing, plugin_parent):
    """The plugin as QGIS loads it: classFactory → initProcessing → provider registered."""
    import soilp  # noqa: F401 - the checkout, through the symlink

    plugin = soilp.classFactory(None)
    plugin.initProcessing()
    yield plugin.provider
    plugin.unload()


@pytest.fixture(scope="session")
def engine_python() -> str:
    python = os.environ.get("SOILP_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    assert Path(python).is_file(), "the engine interpreter is missing: run make env"
    return python


def qgis_process_command() -> str:
    return os.environ.get("QGIS_PROCESS") or "qgis_process.bin"


def run_qgis_process(args: list[str], profile: Path, plugins: Path, env_extra=None,
                     timeout: int = 600) -> subprocess.CompletedProcess:
    """Run qgis_process with a throwaway profile and ``plugins`` as plugin path."""
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(profile), QGIS_PLUGINPATH=str(plugins),
               QT_QPA_PLATFORM="offscreen")
    env.update(env_extra or {})
    return subprocess.run([qgis_process_command(), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def json_results(completed: subprocess.CompletedProcess) -> dict:
    """The JSON document qgis_process --json printed (after any log lines)."""
    text = completed.stdout
    return json.loads(text[text.index("{"):])


def write_stack_with_gdal(path: Path, values, dates, west: float = 0.0, north: float = 10.0,
                          cell: float = 1.0, nodata: float = -9999.0) -> Path:
    """A time stack written with QGIS's own GDAL bindings (independent of the engine's writer):
    band i = step i, band description = ISO date, time_scale metadata."""
    import numpy as np
    from osgeo import gdal, osr

    values = np.asarray(values, dtype="float32")
    steps, rows, cols = values.shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, steps, gdal.GDT_Float32)
    dataset.SetGeoTransform((west, cell, 0.0, north, 0.0, -cell))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.SetMetadataItem("time_scale", "monthly")
    for i in range(steps):
        band = dataset.GetRasterBand(i + 1)
        band.SetDescription(str(dates[i]))
        band.SetNoDataValue(nodata)
        band.WriteArray(np.where(np.isnan(values[i]), nodata, values[i]))
    dataset.FlushCache()
    dataset = None
    return path


def read_with_gdal(path, band: int = 1):
    """A band as a float array with nodata as NaN."""
    import numpy as np
    from osgeo import gdal

    dataset = gdal.Open(str(path))
    raster_band = dataset.GetRasterBand(band)
    values = raster_band.ReadAsArray().astype("float64")
    nodata = raster_band.GetNoDataValue()
    if nodata is not None:
        values[values == nodata] = np.nan
    return values


def monthly_dates(first_year: int, years: int) -> list[str]:
    return [f"{first_year + i // 12}-{i % 12 + 1:02d}-01" for i in range(12 * years)]


def daily_dates(first_day: str, days: int) -> list[str]:
    """ISO dates of ``days`` consecutive days from ``first_day``."""
    import numpy as np

    return [str(d) for d in np.datetime64(first_day, "D") + np.arange(days)]


def write_daily_stack_with_gdal(path: Path, values, dates, **grid) -> Path:
    """``write_stack_with_gdal`` with the stack's time_scale metadata set to daily."""
    from osgeo import gdal

    write_stack_with_gdal(path, values, dates, **grid)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.SetMetadataItem("time_scale", "daily")
    dataset = None
    return path
