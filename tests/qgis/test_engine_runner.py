"""Engine launch mechanics: progress relay and cancel ending the whole process group."""

from __future__ import annotations

import os
import stat
import time

import pytest


def fake_engine(tmp_path, body: str):
    script = tmp_path / "engine.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_progress_info_and_layers_are_relayed(plugin_parent, tmp_path):
    from soilp.processing_algs import engine

    python = fake_engine(tmp_path, "\n".join([
        "echo '@soilp {\"progress\": 12.5}'",
        "echo 'a library line'",
        "echo '@soilp {\"info\": \"reading\"}'",
        "echo '@soilp {\"debug\": \"GDAL: CPLE_AppDefined\"}'",
        "echo '@soilp {\"load\": {\"path\": \"/x.tif\", \"name\": \"X\"}}'",
        "echo '@soilp {\"result\": {\"OUTPUT\": \"/x.tif\"}}'",
    ]) + "\n")
    seen = []
    callbacks = engine.EngineCallbacks(progress=lambda p: seen.append(("p", p)),
                                       info=lambda t: seen.append(("i", t)),
                                       debug=lambda t: seen.append(("d", t)),
                                       console=lambda t: seen.append(("c", t)))
    run = engine.run_step(python, "any", {"a": 1}, str(tmp_path / "p.json"), callbacks,
                          heartbeat_seconds=None)
    assert seen == [("p", 12.5), ("c", "a library line"), ("i", "reading"),
                    ("d", "GDAL: CPLE_AppDefined")]
    assert run.layers == [{"path": "/x.tif", "name": "X"}]
    assert run.results == {"OUTPUT": "/x.tif"}
    assert (tmp_path / "p.json").read_text().strip().startswith("{")


def test_cancel_ends_the_engine_and_its_workers(plugin_parent, tmp_path):
    from soilp.processing_algs import engine

    pid_file = tmp_path / "child.pid"
    python = fake_engine(tmp_path, f"sleep 300 &\necho $! > {pid_file}\n"
                                   "echo '@soilp {\"progress\": 1}'\nwait\n")
    state = {"progress": False}
    callbacks = engine.EngineCallbacks(progress=lambda p: state.update(progress=True),
                                       is_cancelled=lambda: state["progress"])
    started = time.monotonic()
    with pytest.raises(engine.EngineCancelled):
        engine.run_step(python, "any", {}, str(tmp_path / "p.json"), callbacks)
    assert time.monotonic() - started < 30
    child = int(pid_file.read_text())
    for _ in range(50):  # the worker (a grandchild) is gone too
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the engine's worker process survived the cancel")


def test_engine_failure_reason_is_the_engines_error_line(plugin_parent, tmp_path):
    from soilp.processing_algs import engine

    python = fake_engine(tmp_path, "echo 'Traceback: …' >&2\n"
                                   "echo '@soilp {\"error\": "
                                   "\"SOIL_MOISTURE has 239 time steps\"}'\n"
                                   "exit 1\n")
    with pytest.raises(engine.EngineError) as raised:
        engine.run_step(python, "any", {}, str(tmp_path / "p.json"), engine.EngineCallbacks())
    assert str(raised.value) == "SOIL_MOISTURE has 239 time steps"
