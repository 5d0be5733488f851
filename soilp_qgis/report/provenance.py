"""The run's provenance: which inputs (paths, sizes, SHA-256 checksums, time ranges), which
parameters, which engine and library versions, and when.

Two records:

- every engine step run writes its own, ``provenance/<first output file name>.json`` in the
  folder of its first output (``provenance/<step>.json`` inside a folder output), moved into
  place with the outputs (``write_step_provenance``; ``steps/outputs.py`` calls it);
- ``provenance.json`` of a whole analysis, written by the ``provenance`` step for a set of inputs
  and parameters named by the caller (``write_provenance``; ``make demo`` uses it).

``read_step_provenances(folder)`` gathers the first kind for the report.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..ecoregions import split_layer_uri

FILE_NAME = "provenance.json"
#: folder of the per-run records, beside the outputs
STEP_FOLDER = "provenance"
#: inputs larger than this are recorded without a checksum (reading them would take minutes)
MAX_CHECKSUM_BYTES = 2 * 2**30
_CHUNK = 4 * 2**20
#: the engine's libraries (distribution names) whose versions a record keeps
def library_versions() -> dict[str, str]:
    """Installed version of each library the engine declares (``steps.check``'s list, from
    ``pyproject.toml``; ``"missing"`` when absent) and of GDAL."""
    from ..steps.check import dependency_versions

    versions = dependency_versions()
    try:
        import rasterio

        versions["GDAL"] = rasterio.__gdal_version__
    except ImportError:  # pragma: no cover - rasterio is a requirement
        versions["GDAL"] = "missing"
    return versions


def engine_versions() -> dict[str, str]:
    return {"soilp_qgis": __version__, "python": platform.python_version(),
            "platform": platform.platform()}


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 checksum of a file, as hex, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_file(source: str) -> tuple[Path, str | None]:
    """The file behind an input source: ``file.gpkg|layername=x`` → ``file.gpkg``, a NetCDF
    ``file.nc:variable`` → ``file.nc`` (the variable returned as second item)."""
    path, _ = split_layer_uri(source)
    if not os.path.exists(path):
        head, sep, variable = path.rpartition(":")
        if sep and head and os.path.isfile(head):
            return Path(head), variable
    return Path(path), None


def _time_range(source: str) -> dict[str, Any] | None:
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
    })
    if stat.st_size > MAX_CHECKSUM_BYTES:
        entry["sha256_skipped"] = (f"larger than {MAX_CHECKSUM_BYTES / 2**30:g} GiB: no checksum "
                                   f"(reading it would take minutes)")
    else:
        entry["sha256"] = sha256_of(path)
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
        "engine": engine_versions(),
        "libraries": library_versions(),
        "inputs": {str(name): describe_input(str(source)) for name, source in inputs.items()
                   if source not in (None, "")},
        "parameters": dict(parameters),
    }
    return _write_json(folder / FILE_NAME, document)


def _write_json(path: Path, document: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def provenance_path(first_output: str | os.PathLike, step: str, is_folder: bool = False) -> Path:
    """Where a step run's record goes: ``provenance/<file name>.json`` beside its first output,
    or ``<folder>/provenance/<step>.json`` when that output is a folder."""
    first = Path(first_output)
    if is_folder:
        return first / STEP_FOLDER / f"{step}.json"
    return first.parent / STEP_FOLDER / f"{first.name}.json"


def write_step_provenance(path: str | os.PathLike, step: str, parameters: Mapping[str, Any],
                          inputs: Mapping[str, str], outputs: Mapping[str, str], started: str,
                          finished: str) -> Path:
    """Write the record of one step run to ``path``: the step, its parameters (as the step read
    them), its inputs described by ``describe_input``, its outputs, the versions, the times."""
    document = {
        "step": step,
        "started": started,
        "finished": finished,
        "engine": engine_versions(),
        "libraries": library_versions(),
        "parameters": dict(parameters),
        "inputs": {str(name): describe_input(str(source)) for name, source in inputs.items()},
        "outputs": {str(name): str(Path(path).resolve()) for name, path in outputs.items()},
    }
    return _write_json(Path(path), document)


def read_step_provenances(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The step-run records in ``<folder>/provenance/`` and in its subfolders'
    (``copula/provenance/`` … of the full analysis's layout), oldest first (unreadable ones left
    out)."""
    records = []
    folder = Path(folder)
    paths = [*folder.glob(f"{STEP_FOLDER}/*.json"), *folder.glob(f"*/{STEP_FOLDER}/*.json")]
    for path in sorted(paths):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and "step" in document:
            document["record"] = path.relative_to(folder).as_posix()
            records.append(document)
    return sorted(records, key=lambda d: (str(d.get("started", "")), d["record"]))


def read_provenance(folder: str | os.PathLike) -> dict[str, Any] | None:
    """``<folder>/provenance.json`` as a dict, or None when absent."""
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
