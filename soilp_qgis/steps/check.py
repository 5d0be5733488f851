"""``check``: the engine's version and the versions of its key dependencies."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from .. import __version__
from ..protocol import Reporter

#: distribution name → import name of the libraries the analysis stands on
KEY_DEPENDENCIES = {
    "numpy": "numpy",
    "xarray": "xarray",
    "rasterio": "rasterio",
    "pyvinecopulib": "pyvinecopulib",
    "scikit-learn": "sklearn",
    "pymc": "pymc",
    "geopandas": "geopandas",
}


def dependency_versions() -> dict[str, str]:
    """Installed version of each key dependency, or ``"missing"``."""
    versions = {}
    for distribution in KEY_DEPENDENCIES:
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = "missing"
    return versions


def check(params: dict, report: Reporter) -> dict:
    """Report the engine's version, its Python and its key dependencies' versions."""
    versions = dependency_versions()
    report.info(f"soilp engine {__version__} on Python {platform.python_version()} ({sys.executable})")
    for name, version in versions.items():
        report.info(f"{name} {version}")
    missing = [name for name, version in versions.items() if version == "missing"]
    if missing:
        report.warning("missing engine dependencies: " + ", ".join(missing)
                       + " — reinstall the engine (make env)")
    return {
        "ENGINE_VERSION": __version__,
        "PYTHON": sys.executable,
        "PYTHON_VERSION": platform.python_version(),
        "VERSIONS": versions,
        "MISSING": missing,
    }
