#!/usr/bin/env bash
# Inside a QGIS root (root.sh enter): the explicit headless checks and the QGIS test suite.
#
#   in_root.sh CHECKOUT LABEL [PYTEST_ARGS...]
#
# With a throwaway profile holding the checkout as plugin soilp: `qgis_process plugins enable
# soilp`; `qgis_process list` must show every soilp algorithm (ids read from the source by
# expected_algorithms.py); `qgis_process --json run soilp:checkengine` must succeed with the
# engine at SOILP_PYTHON; then pytest tests/qgis with the root's test venv. Ends with one line
#   RESULT <LABEL> | QGIS <version> | algorithms listed n/N | checkengine ok | pytest: <summary>
# and exits non-zero when a check or a test failed.

set -uo pipefail

# (one function, read whole before it runs: editing the file cannot affect a running check)
main() {
    checkout=$1 label=$2; shift 2
    cd "$checkout"
    export QT_QPA_PLATFORM=offscreen
    : "${SOILP_PYTHON:?the engine interpreter (SOILP_PYTHON) is not set}"
    TEST_PYTHON=/opt/soilp-qgis-tests/bin/python
    # The engine's compiled pymc graphs, kept in the root between runs ($HOME is a fresh tmpfs).
    export PYTENSOR_FLAGS=${PYTENSOR_FLAGS:-base_compiledir=/var/cache/soilp-engine/pytensor}
    work=$(mktemp -d)
    export SOILP_TEST_ARTIFACTS=$work/artifacts  # the checkout is bound read-only
    mkdir -p "$HOME" "$work/profile" "$work/plugins"
    ln -s "$checkout" "$work/plugins/soilp"

    qgis_version=$(python3 -c 'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null | tail -n 1)

    # The qgis_process that runs here: Debian's /usr/bin/qgis_process wrapper fails on some
    # releases (3.22) where qgis_process.bin works.
    QGIS_PROCESS=
    for candidate in qgis_process qgis_process.bin; do
        if command -v "$candidate" >/dev/null &&
                QGIS_CUSTOM_CONFIG_PATH=$work/probe "$candidate" --version >/dev/null 2>&1; then
            QGIS_PROCESS=$(command -v "$candidate"); break
        fi
    done
    export QGIS_PROCESS

    status=0
    qp() { QGIS_CUSTOM_CONFIG_PATH=$work/profile QGIS_PLUGINPATH=$work/plugins "$QGIS_PROCESS" "$@"; }

    if [[ -z $QGIS_PROCESS ]]; then
        echo "FAIL: neither qgis_process nor qgis_process.bin runs (--version)"
        listed="no qgis_process"; checkengine=failed; status=1
    else
        echo "== $label: QGIS $qgis_version, $QGIS_PROCESS"
        qp plugins enable soilp > "$work/enable.log" 2>&1 ||
            { echo "FAIL: qgis_process plugins enable soilp:"; cat "$work/enable.log"; status=1; }

        qp list > "$work/list.txt" 2> "$work/list.err"
        python3 scripts/qgis_versions/expected_algorithms.py "$checkout" > "$work/expected.txt"
        missing=$(grep -vxFf <(grep -o 'soilp:[a-z_]*' "$work/list.txt") "$work/expected.txt" || true)
        expected=$(wc -l < "$work/expected.txt")
        listed="$((expected - $(grep -c . <<< "$missing")))/$expected"
        if [[ -n $missing ]]; then
            echo "FAIL: qgis_process list lacks $(tr '\n' ' ' <<< "$missing")"
            echo "--- its stderr (last 40 lines):"; tail -n 40 "$work/list.err"
            status=1
        else
            echo "ok: qgis_process list shows all $expected soilp algorithms"
        fi

        if qp --json run soilp:checkengine > "$work/check.json" 2> "$work/check.err" &&
                python3 -c '
import json, sys
text = open(sys.argv[1]).read()
results = json.loads(text[text.index("{"):])["results"]
print("ok: soilp:checkengine:", results["ENGINE_VERSION"], "|", results["PYTHON"])
' "$work/check.json"
        then
            checkengine=ok
        else
            checkengine=failed; status=1
            echo "FAIL: qgis_process --json run soilp:checkengine"
            tail -n 40 "$work/check.json" "$work/check.err"
        fi
    fi

    echo "== $label: pytest tests/qgis"
    start=$SECONDS
    # Install engine's test needs a package index, which the roots do not have (they take their
    # wheels from the host); it tests pip and venv, not QGIS, and runs on the host's QGIS.
    PYTHONUNBUFFERED=1 "$TEST_PYTHON" -m pytest tests/qgis -q -p no:cacheprovider -o console_output_style=classic \
        --basetemp="$work/pytest" --ignore=tests/qgis/test_install_engine.py "$@" 2>&1 | tee "$work/pytest.log"
    pytest_status=${PIPESTATUS[0]}
    ((pytest_status == 0)) || status=1
    summary=$(grep -E '^=* ?[0-9]+ (passed|failed|error|skipped|deselected)|^=* ?no tests ran' \
        "$work/pytest.log" | tail -n 1 | sed 's/^=* *//; s/ *=*$//')
    echo "RESULT $label | QGIS $qgis_version | algorithms listed $listed | checkengine $checkengine" \
        "| pytest: ${summary:-exit $pytest_status} (wall $((SECONDS - start)) s)"
    exit $status
}
main "$@"; exit
