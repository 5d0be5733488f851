"""The run's provenance: which inputs (paths, sizes, SHA-256 checksums, time ranges), which
parameters, which engine and library versions, and when — written as ``provenance.json``."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any, Mapping, Optional

from .. import __version__
from ..ecoregions import split_layer_uri
from ..steps.check import dependency_versions

FILE_NAME = "provenance.json"
_CHUNK = 4 * 2**20


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 checksum of a file, as hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_file(source: str) -> tuple[Path, Optional[str]]:
    """The file behind an input source: ``file.gpkg|layername=x`` → ``file.gpkg``, a NetCDF
    ``file.nc:variable`` → ``file.nc`` (the variable returned as second item)."""
    path, _ = split_layer_uri(source)
    if not os.path.exists(path):
        head, sep, variable = path.rpartition(":")
        if sep and head and os.path.isfile(head):
            return Path(head), variable
    return Path(path), None


def _time_range(source: str) -> Optional[dict[str, Any]]:
    """First and last date, count and time scale of a time stack; None if it is not one."""
    try:
        from ..timestack import format_date, read_stack_info

        info = read_stack_info(source)
        if info.count < 2:
            return None
        return {"first": format_date(info.dates[0]), "last": format_date(info.dates[-1]),
                "steps": int(info.count), "time_scale": info.time_scale}
    except Exception:  # noqa: BLE001 - not a time stack (a vector layer, a single raster)
        return None


def describe_input(source: str) -> dict[str, Any]:
    """Path, size, modification time, SHA-256 and (for time stacks) the dates of one input."""
    path, variable = input_file(str(source))
    entry: dict[str, Any] = {"source": str(source), "path": str(path.resolve())}
    if variable:
        entry["variable"] = variable
    if not path.is_file():
        entry["exists"] = False
        return entry
    stat = path.stat()
    entry.update({
        "exists": True,
        "size_bytes": int(stat.st_size),
        "modified": _dt.datetime.fromtimestamp(stat.st_mtime, _dt.timezone.utc)
        .isoformat(timespec="seconds"),
        "sha256": sha256_of(path),
    })
    time_range = _time_range(str(source))
    if time_range:
        entry["time_range"] = time_range
    return entry


def write_provenance(folder: str | os.PathLike, inputs: Mapping[str, str],
                     parameters: Mapping[str, Any]) -> Path:
    """Write ``<folder>/provenance.json``: each input (by name) described by ``describe_input``,
    the parameters as given, the engine's and key libraries' versions, and the time written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "engine": {"soilp_qgis": __version__, "python": platform.python_version(),
                   "platform": platform.platform()},
        "libraries": dependency_versions(),
        "inputs": {str(name): describe_input(str(source)) for name, source in inputs.items()
                   if source not in (None, "")},
        "parameters": dict(parameters),
    }
    path = folder / FILE_NAME
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_provenance(folder: str | os.PathLike) -> Optional[dict[str, Any]]:
    """``<folder>/provenance.json`` as a dict, or None when absent."""
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
