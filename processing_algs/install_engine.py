"""Install or update engine: makes the engine's Python environment from inside QGIS.

Four steps, each named in its failure: find a Python ≥ 3.10 that can make virtual environments,
create the environment, pip-install the engine's pinned libraries (pip's output relayed, its
process group ended on cancel), check the engine; then store the environment's interpreter as the
provider's Engine Python setting. The same from the toolbox and from qgis_process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingUtils,
    QgsSettings,
)

from . import compat, engine
from .base import SoilpAlgorithm, described

REQUIREMENTS = engine.PLUGIN_DIR / "soilp_qgis" / "requirements.txt"
MINIMUM_PYTHON = (3, 10)
#: prints the version when this interpreter can make a virtual environment with pip in it
_CAN_MAKE_VENV = ("import sys, venv, ensurepip; version = sys.version.split()[0]; "
                  f"assert sys.version_info >= {MINIMUM_PYTHON!r}, 'Python ' + version; "
                  "print(version)")
STEPS = 4


def venv_python(folder: Path) -> Path:
    """The interpreter inside a virtual environment folder."""
    if sys.platform == "win32":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def qgis_python_candidates() -> list[Path]:
    """Where QGIS's own interpreter may be (``sys.executable`` is QGIS itself inside QGIS)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = []
    executable = Path(sys.executable)
    if executable.name.lower().startswith("python"):
        candidates.append(executable)
    for prefix in dict.fromkeys((sys.exec_prefix, sys.base_exec_prefix, sys.prefix)):
        candidates += [Path(prefix) / "python.exe", Path(prefix) / "bin" / f"python{version}",
                       Path(prefix) / "bin" / "python3"]
    return [path for path in candidates if path.is_file()]


def path_python_candidates() -> list[Path]:
    names = ["python3", "python3.13", "python3.12", "python3.11", "python3.10", "python"]
    return [Path(found) for found in (shutil.which(name) for name in names) if found]


def venv_capable(python: str) -> tuple[bool, str]:
    """(True, version) if ``python`` is ≥ 3.10 and can make a virtual environment with pip,
    else (False, why not)."""
    try:
        completed = subprocess.run([python, "-c", _CAN_MAKE_VENV], capture_output=True,
                                   text=True, timeout=60, env=engine.python_environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"cannot run it ({exc})"
    if completed.returncode == 0:
        return True, completed.stdout.strip()
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit code {completed.returncode}"
    if "ensurepip" in reason or "venv" in reason:
        reason = "it has no venv/ensurepip module (Debian/Ubuntu: apt install python3-venv)"
    elif "AssertionError" in reason:
        reason = reason.split(":", 1)[-1].strip() + " is older than 3.10"
    return False, reason


def find_base_python(chosen: Optional[str]) -> tuple[str, str]:
    """The interpreter to make the environment from and its version: ``chosen`` if given, else
    QGIS's own if it can make virtual environments, else one on PATH. Raises
    ``QgsProcessingException`` naming what was tried."""
    if chosen:
        ok, detail = venv_capable(chosen)
        if not ok:
            raise QgsProcessingException(
                f"Step 1/{STEPS} (find Python): PYTHON '{chosen}' cannot make the engine "
                f"environment: {detail}. Give a Python ≥ 3.10 with the venv module.")
        return chosen, detail
    tried = []
    for candidate in dict.fromkeys(qgis_python_candidates() + path_python_candidates()):
        ok, detail = venv_capable(str(candidate))
        if ok:
            return str(candidate), detail
        tried.append(f"{candidate}: {detail}")
    raise QgsProcessingException(
        f"Step 1/{STEPS} (find Python): no Python ≥ 3.10 that can make virtual environments was "
        f"found ({'; '.join(tried) or 'none on PATH'}). Install Python 3.10 or later (python.org; "
        f"Debian/Ubuntu: apt install python3-venv) and give its interpreter as PYTHON.")


class PipProgress:
    """Turns pip's output lines into progress: one step per requirement resolved, then the
    install; every line goes to the log."""

    def __init__(self, requirements: int, feedback, start: float, stop: float):
        self.requirements = max(requirements, 1)
        self.feedback = feedback
        self.start, self.stop = start, stop
        self.resolved = 0
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.feedback.pushConsoleInfo(line)
        text = line.strip()
        if text.startswith(("Collecting ", "Requirement already satisfied")):
            self.resolved += 1
            self._report(0.8 * min(self.resolved / self.requirements, 1.0))
        elif text.startswith("Installing collected packages"):
            self._report(0.85)
        elif text.startswith("Successfully installed"):
            self._report(1.0)

    def _report(self, fraction: float) -> None:
        self.feedback.setProgress(self.start + fraction * (self.stop - self.start))

    def reason(self) -> str:
        """pip's own last error line."""
        errors = [line.strip() for line in self.lines if line.strip().startswith("ERROR")]
        tail = [line.strip() for line in self.lines if line.strip()]
        return (errors or tail or ["no output"])[-1]


def requirement_count(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.strip().startswith(("#", "-")))


def store_engine_setting(python: str) -> None:
    """The provider's Engine Python setting (Processing › Options › Providers), saved in the
    profile so every later run, in the GUI or qgis_process, uses it."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig
        ProcessingConfig.setSettingValue(engine.SETTING_NAME, python)
    except ImportError:  # pragma: no cover - Processing plugin absent
        pass
    settings = QgsSettings()
    settings.setValue(f"Processing/Configuration/{engine.SETTING_NAME}", python)
    settings.sync()


class InstallEngineAlgorithm(SoilpAlgorithm):
    ALGORITHM_ID = "installengine"
    DISPLAY_NAME = "Install or update engine"
    GROUP_ID = "setup"
    GROUP = "Setup"
    STEP = ""  # runs pip, then the engine's check step itself (see ``check``)
    ICON = "check_engine.svg"
    TAGS = ["engine", "install", "update", "python", "pip", "venv", "setup", "environment"]
    SHORT_DESCRIPTION = "Creates the engine's Python environment and installs its libraries."
    HELP = (
        "Creates the soilp engine's Python environment (a virtual environment, by default "
        "<code>.venv</code> in the plugin folder), installs the engine's pinned libraries into it "
        "with pip, checks the engine, and stores the environment's Python as the provider's "
        "<i>Engine Python</i> setting. Run it once after installing the plugin, and again after "
        "updating it. It needs a Python 3.10 or later with the venv module (QGIS's own where it "
        "has one, else one on PATH, else give it as PYTHON) and internet access for pip (or pip's "
        "own configuration: PIP_INDEX_URL, PIP_FIND_LINKS, a proxy). Takes a few minutes; "
        "Cancel stops pip."
    )

    def define_parameters(self):
        return [
            described(QgsProcessingParameterFolderDestination(
                "FOLDER", "Engine environment folder",
                defaultValue=str(engine.PLUGIN_DIR / ".venv")),
                "Where the environment is made (a new or empty folder, or an earlier engine "
                "environment, which is updated)."),
            described(QgsProcessingParameterFile(
                "PYTHON", "Base Python (optional)",
                behavior=compat.FILE_BEHAVIOR_FILE, fileFilter=engine.INTERPRETER_FILTER,
                optional=True),
                "A Python 3.10 or later with the venv module. Empty: QGIS's own interpreter "
                "where it can make virtual environments, else python3 on PATH."),
        ]

    def define_outputs(self):
        return [
            QgsProcessingOutputString("PYTHON", "Engine Python interpreter"),
            QgsProcessingOutputString("ENGINE_VERSION", "Engine version"),
            QgsProcessingOutputString("VERSIONS", "Library versions"),
        ]

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        folder = Path(self.parameterAsString(parameters, "FOLDER", context)
                      or str(engine.PLUGIN_DIR / ".venv")).expanduser().absolute()
        chosen = self.parameterAsFile(parameters, "PYTHON", context) or None
        callbacks = engine.EngineCallbacks(
            progress=feedback.setProgress, info=feedback.pushInfo,
            console=feedback.pushConsoleInfo,
            command=getattr(feedback, "pushCommandInfo", feedback.pushInfo),
            is_cancelled=feedback.isCanceled)

        python = venv_python(folder)
        if python.is_file():
            feedback.pushInfo(f"Step 1–2/{STEPS}: updating the existing environment {folder}")
        else:
            base, version = find_base_python(chosen)
            feedback.pushInfo(f"Step 1/{STEPS}: Python {version} at {base}")
            self.create_environment(base, folder, callbacks)
        feedback.setProgress(10)

        feedback.pushInfo(f"Step 3/{STEPS}: installing the engine's libraries into {folder}")
        self.pip_install(str(python), feedback, callbacks)

        feedback.pushInfo(f"Step 4/{STEPS}: checking the engine")
        results = self.check(str(python), feedback, callbacks)
        store_engine_setting(str(python))
        feedback.pushInfo(f"The provider's Engine Python setting is now {python}")
        feedback.setProgress(100)
        return {"FOLDER": str(folder), "PYTHON": str(python),
                "ENGINE_VERSION": results.get("ENGINE_VERSION", ""),
                "VERSIONS": ", ".join(f"{name} {version}" for name, version
                                      in results.get("VERSIONS", {}).items())}

    def create_environment(self, base: str, folder: Path, callbacks) -> None:
        if folder.exists() and any(folder.iterdir()) and not (folder / "pyvenv.cfg").is_file():
            raise QgsProcessingException(
                f"Step 2/{STEPS} (create the environment): FOLDER '{folder}' exists and is not a "
                f"Python environment. Choose a new or empty folder.")
        output: list[str] = []

        def relay(line: str) -> None:
            output.append(line)
            callbacks.console(line)

        command = [base, "-m", "venv", str(folder)]
        callbacks.command(subprocess.list2cmdline(command) if sys.platform == "win32"
                          else " ".join(command))
        try:
            code = engine.run_command(command, engine.python_environment(), callbacks, relay)
        except engine.EngineCancelled:
            raise QgsProcessingException(f"{self.displayName()}: cancelled by the user") from None
        except engine.EngineError as exc:
            raise QgsProcessingException(f"Step 2/{STEPS} (create the environment) failed: "
                                         f"{exc}") from None
        if code != 0 or not venv_python(folder).is_file():
            reason = next((line for line in reversed(output) if line.strip()), f"exit code {code}")
            raise QgsProcessingException(
                f"Step 2/{STEPS} (create the environment in '{folder}') failed: {reason}. Check "
                f"that the folder is writable, or choose another FOLDER.")

    def pip_install(self, python: str, feedback, callbacks) -> None:
        command = [python, "-m", "pip", "install", "--disable-pip-version-check",
                   "--progress-bar", "off", "-r", str(REQUIREMENTS)]
        callbacks.command(" ".join(command))
        progress = PipProgress(requirement_count(REQUIREMENTS), feedback, 10, 90)
        env = engine.python_environment()
        env.pop("PIP_REQUIRE_VIRTUALENV", None)
        try:
            code = engine.run_command(command, env, callbacks, progress)
        except engine.EngineCancelled:
            raise QgsProcessingException(
                f"{self.displayName()}: cancelled by the user; pip was stopped (run it again to "
                f"finish the installation)") from None
        except engine.EngineError as exc:
            raise QgsProcessingException(f"Step 3/{STEPS} (pip install) failed: {exc}") from None
        if code != 0:
            raise QgsProcessingException(
                f"Step 3/{STEPS} (pip install of {REQUIREMENTS.name}) failed: {progress.reason()}. "
                f"Check the internet connection or pip's settings (PIP_INDEX_URL, proxy), then run "
                f"{self.displayName()} again; pip's full output is in the log.")

    def check(self, python: str, feedback, callbacks) -> dict:
        params_file = QgsProcessingUtils.generateTempFilename("soilp_check.json")
        try:
            run = engine.run_step(python, "check", {}, params_file, callbacks)
        except engine.EngineCancelled:
            raise QgsProcessingException(f"{self.displayName()}: cancelled by the user") from None
        except engine.EngineError as exc:
            raise QgsProcessingException(
                f"Step 4/{STEPS} (check the engine) failed: {exc}. The environment was made but "
                f"is incomplete; run {self.displayName()} again, or report the log.") from None
        return run.results

