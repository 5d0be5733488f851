#!/usr/bin/env bash
# The QGIS version matrix: for each Debian suite, make (or refresh) its root with root.sh, then
# run in_root.sh in it (qgis_process list / checkengine checks and tests/qgis). Prints one
# summary line per suite at the end; exits non-zero when any suite failed.
#
#   matrix.sh CHECKOUT ENGINE_PYTHON SUITE... [-- PYTEST_ARGS...]
#
# Environment: QGIS_ROOTS_DIR (default CHECKOUT/build/qgis-roots), and root.sh's variables.

set -uo pipefail

# (one function, read whole before it runs: editing the file cannot affect a running check)
main() {
    here=$(dirname "$(realpath "$0")")
    checkout=$(realpath "$1") engine=$2; shift 2
    suites=()
    while (($#)) && [[ $1 != -- ]]; do suites+=("$1"); shift; done
    [[ ${1:-} == -- ]] && shift
    ((${#suites[@]})) || { echo "matrix.sh: no suite given" >&2; exit 2; }
    [[ -x $engine ]] || { echo "matrix.sh: the engine interpreter $engine is missing (make env)" >&2; exit 2; }
    [[ $(id -u) == 0 ]] || { echo "matrix.sh: run as root (debootstrap, chroot and mounts)" >&2; exit 2; }
    roots=${QGIS_ROOTS_DIR:-$checkout/build/qgis-roots}

    # Test data the QGIS tests read beside the checkout (../shared), when there is some.
    [[ -e $checkout/../shared ]] && export QGIS_ROOT_BINDS="${QGIS_ROOT_BINDS:-} $(dirname "$checkout")/shared"

    summary=() failed=0
    for suite in "${suites[@]}"; do
        start=$SECONDS
        echo "=== $suite: root $roots/$suite"
        if ! "$here/root.sh" make "$suite" "$roots/$suite" "$checkout"; then
            summary+=("RESULT $suite | root could not be made (see above)"); failed=1; continue
        fi
        made=$((SECONDS - start))
        out=$(mktemp)
        "$here/root.sh" enter "$roots/$suite" "$checkout" "$engine" -- \
            env SOILP_PYTHON="$engine" bash "$checkout/scripts/qgis_versions/in_root.sh" \
            "$checkout" "$suite" "$@" 2>&1 | tee "$out"
        ((PIPESTATUS[0] == 0)) || failed=1
        line=$(grep '^RESULT ' "$out" | tail -n 1)
        summary+=("${line:-RESULT $suite | the checks did not finish} | root ready in $made s")
        rm -f "$out"
    done

    echo
    echo "QGIS version matrix:"
    printf '%s\n' "${summary[@]}"
    exit $failed
}
main "$@"; exit
