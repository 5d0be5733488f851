"""Run an engine step as the plugin does (``python -m soilp_qgis <step>``) and measure it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time


def run_engine_step(step: str, params: dict[str, object]) -> tuple[float, float]:
    """(seconds, peak MiB of the resident memory of the engine and its workers together,
    sampled every 50 ms). Sampled, because the ``ru_maxrss`` of a child started from a large
    benchmark process counts the parent's memory too."""
    import psutil

    command = [sys.executable, "-m", "soilp_qgis", step,
               *(f"{k}={v}" for k, v in params.items())]
    peak = 0
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        engine = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [engine, *engine.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:  # a process ended while sampled
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode:
            errors.seek(0)
            raise RuntimeError(f"{step} step failed: {errors.read().decode()[-2000:]}")
    return seconds, peak / 2**20
