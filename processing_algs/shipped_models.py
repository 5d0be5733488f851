"""The shipped models where QGIS users look for models: the Processing Toolbox's *Models*.

QGIS offers *Edit Model…* (and *Delete Model…*) only for algorithms of its own ``model`` and
``project`` providers (``processing/modeler/EditModelAction.py``), which list the ``.model3`` files
of the Processing models folders (Processing › Options › Providers › Models). So, as the QGIS
Resource Sharing plugin does for model collections, the plugin copies each shipped model into
``<first models folder>/soilp/`` and refreshes the ``model`` provider; the model then shows under
*Models*, opens with *Edit Model…*, and a user's edits stay theirs: a copy that differs from the
one last installed is never overwritten (a new version of an untouched copy replaces it). The
provider keeps offering the same models as ``soilp:<name>`` for headless runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable, Optional

from . import engine

SHIPPED_MODELS_DIR = engine.PLUGIN_DIR / "resources" / "models"
#: subfolder of the user's models folder holding the copies
SUBFOLDER = "soilp"
#: file in that subfolder recording the checksum of each copy as installed
RECORD_NAME = ".soilp-installed.json"


def user_models_folder() -> Optional[Path]:
    """The first Processing models folder (where *Models* looks, and where the Modeler saves),
    or None where the Processing plugin is not available."""
    try:
        from processing.modeler.ModelerUtils import ModelerUtils
    except ImportError:  # pragma: no cover - Processing plugin absent
        return None
    folders = [folder for folder in ModelerUtils.modelsFolders() if folder]
    return Path(folders[0]) if folders else None


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_shipped_models(target: Optional[Path] = None,
                           source: Path = SHIPPED_MODELS_DIR,
                           log: Callable[[str], None] = lambda message: None) -> list[Path]:
    """Copy every shipped ``.model3`` into ``target`` (default: ``<user models folder>/soilp``)
    where it is missing or an untouched older copy, then refresh the ``model`` provider.
    Returns the copies written; a copy the user changed is left alone (``log`` says so)."""
    if target is None:
        folder = user_models_folder()
        if folder is None:
            return []
        target = folder / SUBFOLDER
    target = Path(target)
    record_path = target / RECORD_NAME
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    written = []
    for model in sorted(Path(source).glob("*.model3")):
        copy = target / model.name
        shipped = _checksum(model)
        if copy.is_file():
            current = _checksum(copy)
            if current == shipped:
                record[model.name] = shipped
                continue
            if record.get(model.name) != current:
                log(f"{copy} differs from the model soilp installed there (edited?); left as it "
                    f"is. Delete it to get the shipped version.")
                continue
        try:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model, copy)
        except OSError as exc:
            log(f"Could not install the model {model.name} into {target}: {exc}")
            continue
        record[model.name] = shipped
        written.append(copy)
    if record:
        try:
            record_path.write_text(json.dumps(record, indent=1, sort_keys=True),
                                   encoding="utf-8")
        except OSError as exc:
            log(f"Could not write {record_path}: {exc}")
    refresh_models_provider()
    return written


def refresh_models_provider() -> None:
    """Have the Toolbox's *Models* list the models folders again."""
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("model")
    if provider is not None:
        provider.refreshAlgorithms()
