"""Outputs committed as a whole: paths checked before any work, files staged, moved together.

- :func:`check_paths` refuses, before any work, an output path that is also an input or another
  output (resolved real paths; ``file.nc:variable`` and ``file.gpkg|layername=x`` inputs by their
  file), naming both parameters.
- :class:`Staging` gives each output a path in a hidden folder beside its destination
  (``.soilp-staging-<pid>-<token>/``). The writers of ``timestack`` (temporary file + rename) and
  ``steps/common`` write there, sidecar ``.qml`` included. :meth:`Staging.commit` moves every
  staged file into place only when the whole step has succeeded: files it replaces (and a stale
  ``.aux.xml``) are set aside first and put back if a move fails. :meth:`Staging.abort` removes
  the staging folders and any folder the run created, so a failed or cancelled run leaves nothing
  new and an earlier run's files untouched.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError

STAGING_PREFIX = ".soilp-staging-"
_REPLACED = ".replaced"
#: names writers use for their own temporary files; never moved into place
_TEMPORARY_MARKS = (".part", ".partial.")


def source_file(source: str) -> str:
    """The file behind a layer source: ``file.gpkg|layername=x`` → ``file.gpkg``, a NetCDF
    ``file.nc:variable`` → ``file.nc``; anything else as given."""
    path = str(source).split("|")[0]
    if not os.path.exists(path):
        head, sep, _ = path.rpartition(":")
        if sep and head and os.path.isfile(head):
            return head
    return path


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def check_paths(inputs: Mapping[str, str], outputs: Mapping[str, str]) -> None:
    """Refuse an output (by parameter name → path) that equals another output or an input (name →
    source); one :class:`InputError` line naming both parameters."""
    seen: dict[str, str] = {}
    for name, path in outputs.items():
        real = _real(path)
        if real in seen:
            raise InputError(f"{name} and {seen[real]} are the same file ({path}): give each "
                             f"output its own path")
        seen[real] = name
    for name, source in inputs.items():
        real = _real(source_file(source))
        if real in seen:
            raise InputError(f"{seen[real]} would overwrite the input {name} ({source}): choose "
                             f"another output path")


def _is_temporary(name: str) -> bool:
    return name.endswith(".part") or any(mark in name for mark in _TEMPORARY_MARKS[1:])


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (main thread only)."""
    blockable = hasattr(signal, "pthread_sigmask") and \
        threading.current_thread() is threading.main_thread()
    held = {signal.SIGINT, signal.SIGTERM}
    if blockable:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        if blockable:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


class Staging:
    """Staged output paths of one run (see the module docstring)."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}  # destination folder → its staging folder
        self._created: list[Path] = []        # folders this run made, parents first
        self.token = f"{os.getpid()}-{secrets.token_hex(4)}"

    def _make_folder(self, folder: Path) -> None:
        missing = []
        for candidate in [folder, *folder.parents]:
            if candidate.exists():
                break
            missing.append(candidate)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{folder}: cannot create the output folder "
                             f"({exc.strerror or exc})") from None
        self._created.extend(reversed(missing))

    def folder(self, destination_folder: str | os.PathLike) -> Path:
        """The staging folder for files going into ``destination_folder``."""
        folder = Path(os.path.abspath(destination_folder))
        if folder not in self._folders:
            self._make_folder(folder)
            stage = folder / f"{STAGING_PREFIX}{self.token}"
            try:
                stage.mkdir()
            except OSError as exc:
                raise InputError(f"{folder}: cannot write into the output folder "
                                 f"({exc.strerror or exc})") from None
            self._folders[folder] = stage
        return self._folders[folder]

    def path(self, destination: str | os.PathLike) -> Path:
        """Where to write the file that goes to ``destination``."""
        destination = Path(os.path.abspath(destination))
        return self.folder(destination.parent) / destination.name

    def public(self, text: str) -> str:
        """``text`` (a message, a path) with staging folders replaced by their destination."""
        for folder, stage in self._folders.items():
            text = text.replace(str(stage), str(folder))
        return text

    def commit(self) -> None:
        """Move every staged file into place, together; on failure put back what was there."""
        with _signals_held():
            moves = []
            for folder, stage in self._folders.items():
                for name in sorted(os.listdir(stage)):
                    if name != _REPLACED and not _is_temporary(name):
                        moves.append((stage / name, folder / name, stage / _REPLACED / name))
            replaced: list[tuple[Path, Path]] = []
            moved: list[Path] = []
            try:
                for _, target, aside in moves:
                    for old, kept in ((target, aside),
                                      (target.with_name(target.name + ".aux.xml"),
                                       aside.with_name(aside.name + ".aux.xml"))):
                        if os.path.lexists(old):
                            kept.parent.mkdir(exist_ok=True)
                            os.replace(old, kept)
                            replaced.append((kept, old))
                for source, target, _ in moves:
                    os.replace(source, target)
                    moved.append(target)
            except BaseException:
                for target in moved:
                    _remove(target)
                for kept, old in reversed(replaced):
                    os.replace(kept, old)
                self.abort()
                raise
            self._remove_staging()

    def abort(self) -> None:
        """Remove the staging folders and the folders this run created (when empty)."""
        self._remove_staging()
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._created.clear()

    def _remove_staging(self) -> None:
        for stage in self._folders.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._folders.clear()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
