"""A stand-in engine for lifeline and Ctrl+C tests: any step becomes a "sleepy" one that starts
two spawned workers sleeping for minutes after one progress line, and records the pids of the
engine and its workers in ``$SLEEPY_PID_DIR``. Standard library only (used by the engine tests and
by the QGIS tests, which load it by path)."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

SLEEPY_STEP = '''
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing import get_context


def _sleep(folder):
    open(os.path.join(folder, f"worker-{os.getpid()}"), "w").close()
    time.sleep(300)


def sleepy(params, report):
    folder = os.environ["SLEEPY_PID_DIR"]
    open(os.path.join(folder, f"engine-{os.getpid()}"), "w").close()
    report.progress(0.01)
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        wait([pool.submit(_sleep, folder) for _ in range(2)])
    return {}
'''


def write_sleepy_engine(folder: Path, python: str = sys.executable) -> str:
    """An 'interpreter' the runner can be pointed at: it runs the real engine CLI with whatever
    step it is asked for replaced by the sleepy step. Returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sleepy_step.py").write_text(SLEEPY_STEP)
    script = folder / "sleepy_python"
    script.write_text(textwrap.dedent(f"""\
        #!{python}
        import sys
        sys.path.insert(0, {str(folder)!r})
        if __name__ == "__main__":
            from soilp_qgis import cli
            cli.STEPS[sys.argv[3]] = "sleepy_step:sleepy"
            sys.exit(cli.main(sys.argv[3:]))
        """))
    script.chmod(0o755)
    return str(script)


def engine_processes(pid_dir: Path, expected: int = 3, timeout: float = 60.0) -> list[int]:
    """The pids the sleepy engine and its workers wrote, once all ``expected`` are there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [int(name.split("-")[1]) for name in os.listdir(pid_dir)]
        if len(pids) >= expected:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"the sleepy engine did not start its workers: {os.listdir(pid_dir)}")


def alive(pid: int) -> bool:
    """Running, by the process table (``/proc``); a zombie waiting for a reaper that does not
    come counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def survivors(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return [pid for pid in pids if alive(pid)]


def describe(pid: int, pid_dir: Path) -> str:
    """What a surviving process is (engine or worker, by its pid file), its state and signal
    masks from ``/proc``: for the failure message of a lifeline test."""
    role = next((name.split("-")[0] for name in os.listdir(pid_dir)
                 if name.endswith(f"-{pid}")), "?")
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"{role} {pid} (gone)"
    fields = [line for line in status if line.split(":")[0] in
              ("State", "PPid", "SigBlk", "SigIgn", "SigCgt")]
    return f"{role} {pid}: {'; '.join(fields)}; {cmdline[:200]}"
