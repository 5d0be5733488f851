#!/usr/bin/env bash
# Debian roots with a distribution's QGIS, for running soilp's QGIS tests against other QGIS
# versions than the host's (run as root; needs debootstrap, unshare and chroot).
#
#   root.sh make  SUITE DIR CHECKOUT   make DIR a SUITE root (debootstrap) with qgis,
#                                      python3-qgis and a pytest venv over its system Python,
#                                      or, when it is already made, refresh it when it is old
#   root.sh enter DIR CHECKOUT ENGINE_PYTHON [--network] -- COMMAND...
#                                      run COMMAND inside DIR with /proc, /dev, /sys, a fresh
#                                      /tmp, the checkout bound at its own path (read-only) and
#                                      the engine's venv and base interpreter bound read-only
#                                      at their own paths
#
# Environment:
#   DEBIAN_MIRROR            the mirror debootstrap and the roots' apt use (default: the first
#                            Debian mirror in this machine's apt sources)
#   QGIS_ROOTS_MAX_AGE_DAYS  refresh a made root (apt-get update + full-upgrade) when its last
#                            refresh is older than this many days (default 7; 0: every time)
#   QGIS_ROOTS_WHEELS        folder of the test venv's wheels, downloaded on the host with
#                            HOST_PIP_PYTHON's pip (default: DIR/../wheels)
#   QGIS_ROOT_BINDS          further host paths bound read-only: PATH (at its own path; a
#                            symlink is bound at the link's path) or SRC:DEST
#
# A root is made in DIR.partial and renamed when debootstrap has finished, so an interrupted
# build starts over; its state is in DIR/.soilp-root (the stamp), removed before each change.
# Mounts live in a private mount namespace (unshare), so nothing stays mounted on the host
# whatever happens to the command.

set -euo pipefail

PACKAGES=(qgis python3-qgis python3-venv fonts-dejavu-core)
TEST_VENV=/opt/soilp-qgis-tests
WHEELS_IN_ROOT=/opt/soilp-wheels
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "[qgis-root] $*" >&2; }
die() { echo "[qgis-root] error: $*" >&2; exit 1; }

# The Debian mirror this machine's apt uses: the first URI of a non-security Debian suite in
# /etc/apt/sources.list or /etc/apt/sources.list.d/*.{list,sources}.
host_debian_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 1
    awk '
        /^[[:space:]]*#/ { next }
        /^deb[[:space:]]/ {                       # one-line format: deb [opts] URI suite comps
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($i ~ /debian\/?$/ && $(i + 1) !~ /security/) { print $i; exit }
        }
        /^URIs:/ { uri = $2 }                     # deb822 format
        /^Suites:/ && uri ~ /debian\/?$/ && $0 !~ /security/ { print uri; exit }
        /^[[:space:]]*$/ { uri = "" }
    ' "${files[@]}"
}

mirror() {
    local m=${DEBIAN_MIRROR:-$(host_debian_mirror || true)}
    [[ -n $m ]] || die "no Debian mirror found in /etc/apt/sources.list*: set DEBIAN_MIRROR"
    echo "${m%/}"
}

stamp_get() {  # stamp_get DIR KEY
    sed -n "s/^$2=//p" "$1/.soilp-root" 2>/dev/null || true
}

# enter DIR CHECKOUT ENGINE_PYTHON [--network] -- COMMAND...
enter() {
    local dir checkout engine network=0
    dir=$(realpath "$1"); checkout=$(realpath "$2"); engine=$3; shift 3
    if [[ ${1:-} == --network ]]; then network=1; shift; fi
    [[ ${1:-} == -- ]] && shift
    (($#)) || die "enter: no command"

    local binds=("$checkout:$checkout") path
    # The engine: its venv (the checkout's .venv may be a symlink to it) and the interpreter
    # it was made from (pyvenv.cfg's home), at the paths the venv records.
    if [[ -n $engine && -x $engine ]]; then
        local venv home
        venv=$(dirname "$(dirname "$engine")")
        path=$(realpath "$venv"); binds+=("$path:$path")
        home=$(sed -n 's/^home *= *//p' "$venv/pyvenv.cfg" 2>/dev/null || true)
        if [[ -n $home ]]; then path=$(realpath "$(dirname "$home")"); binds+=("$path:$path"); fi
    fi
    # Further binds: PATH (at its own path, a symlink bound at the link's path) or SRC:DEST.
    for path in ${QGIS_ROOT_BINDS:-}; do
        [[ $path == *:* ]] && binds+=("$path") || binds+=("$(realpath "$path"):$path")
    done

    unshare --mount --pid --fork --propagation private -- \
        bash -euo pipefail -c '
            dir=$1; network=$2; nbinds=$3; shift 3
            binds=("${@:1:nbinds}"); shift "$nbinds"
            mount -t proc proc "$dir/proc"
            mount --rbind /dev "$dir/dev"
            mount --rbind /sys "$dir/sys"
            mount -t tmpfs -o mode=1777 tmpfs "$dir/tmp"
            for b in "${binds[@]}"; do
                source=${b%%:*}; target=$dir${b#*:}
                [[ -e $source ]] || continue
                if [[ -d $source ]]; then mkdir -p "$target"
                else mkdir -p "$(dirname "$target")"; touch "$target"; fi
                mount --bind "$source" "$target"
                mount -o remount,bind,ro "$target"
            done
            if [[ $network == 1 ]]; then cp -L /etc/resolv.conf "$dir/etc/resolv.conf"; fi
            exec chroot "$dir" "$@"
        ' enter "$dir" "$network" "${#binds[@]}" "${binds[@]}" \
        /usr/bin/env -i PATH="$ROOT_PATH" HOME=/tmp/home LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        TERM="${TERM:-dumb}" PYTHONDONTWRITEBYTECODE=1 "$@"
}

# provision SUITE DIR CHECKOUT REFRESH WHEELS: install (REFRESH=1: first full-upgrade) the
# root's packages and its test venv, then write the stamp.
provision() {
    local suite=$1 dir=$2 checkout=$3 refresh=$4 wheels=$5
    local requirements=$checkout/requirements-qgis-tests.txt
    rm -f "$dir/.soilp-root"
    # No daemons start in the root; apt is quiet and never asks.
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
    chmod +x "$dir/usr/sbin/policy-rc.d"
    # Mirrors that serve a dated snapshot of the archive (as this project's machines do) give
    # sid a Release file whose Valid-Until (a week) has passed; the packages are still signed.
    printf 'Acquire::Check-Valid-Until "false";\n' > "$dir/etc/apt/apt.conf.d/99soilp-snapshot"
    local apt="DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0"
    apt+=" -o APT::Install-Recommends=false"
    say "$suite: apt-get install ${PACKAGES[*]}"
    enter "$dir" "$checkout" "" --network -- sh -c "
        set -e
        $apt update >/dev/null
        if [ $refresh = 1 ]; then $apt full-upgrade >/dev/null; fi
        $apt install ${PACKAGES[*]} >/dev/null
        $apt clean"
    say "$suite: test venv $TEST_VENV: $(tr '\n' ' ' < "$requirements")"
    QGIS_ROOT_BINDS="${QGIS_ROOT_BINDS:-} $wheels:$WHEELS_IN_ROOT" \
        enter "$dir" "$checkout" "" -- sh -c "
            set -e
            [ -x $TEST_VENV/bin/python ] || python3 -m venv --system-site-packages $TEST_VENV
            $TEST_VENV/bin/python -m pip install --quiet --disable-pip-version-check \
                --no-index --find-links $WHEELS_IN_ROOT -r $requirements"
    local qgis_version
    qgis_version=$(enter "$dir" "$checkout" "" -- python3 -c \
        'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)' 2>/dev/null | tail -n 1)
    [[ -n $qgis_version ]] || die "$suite: QGIS's Python does not start in $dir"
    {
        echo "suite=$suite"
        echo "packages=${PACKAGES[*]}"
        echo "requirements=$(sha256sum < "$requirements" | cut -c1-16)"
        echo "refreshed=$(date +%s)"
        echo "qgis=$qgis_version"
    } > "$dir/.soilp-root.new"
    mv "$dir/.soilp-root.new" "$dir/.soilp-root"
}

# make_root SUITE DIR CHECKOUT
make_root() {
    local suite=$1 dir=$2 checkout; checkout=$(realpath "$3")
    local requirements=$checkout/requirements-qgis-tests.txt
    local wheels=${QGIS_ROOTS_WHEELS:-$(dirname "$dir")/wheels}
    mkdir -p "$(dirname "$dir")"
    exec 9>"$dir.lock"
    flock 9

    # The test venv's wheels, from the host's package index (the roots need no index access).
    local want_requirements
    want_requirements=$(sha256sum < "$requirements" | cut -c1-16)
    if [[ $(cat "$wheels/.requirements" 2>/dev/null) != "$want_requirements" ]]; then
        say "downloading the test venv's wheels into $wheels"
        rm -rf "$wheels" && mkdir -p "$wheels"
        "${HOST_PIP_PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check \
            --only-binary=:all: --no-deps --dest "$wheels" -r "$requirements" \
            2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
        echo "$want_requirements" > "$wheels/.requirements"
    fi

    if [[ ! -f $dir/.soilp-base ]]; then
        if ! command -v debootstrap >/dev/null; then
            command -v apt-get >/dev/null || die "debootstrap is missing: install it"
            say "installing debootstrap (apt-get install debootstrap)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
        fi
        local m; m=$(mirror)
        say "$suite: debootstrap (variant minbase) into $dir"
        rm -rf "$dir" "$dir.partial"
        debootstrap --variant=minbase "$suite" "$dir.partial" "$m" > "$dir.debootstrap.log" 2>&1 ||
            die "debootstrap $suite failed; its log: $dir.debootstrap.log"
        echo "suite=$suite" > "$dir.partial/.soilp-base"
        mv "$dir.partial" "$dir"
        rm -f "$dir.debootstrap.log"
    fi

    local max_age=${QGIS_ROOTS_MAX_AGE_DAYS:-7} refreshed now
    refreshed=$(stamp_get "$dir" refreshed); now=$(date +%s)
    if [[ -z $refreshed ]]; then
        provision "$suite" "$dir" "$checkout" 0 "$wheels"
    elif [[ $(stamp_get "$dir" packages) != "${PACKAGES[*]}" ||
            $(stamp_get "$dir" requirements) != "$want_requirements" ]]; then
        say "$suite: packages or test requirements changed"
        provision "$suite" "$dir" "$checkout" 0 "$wheels"
    elif ((now - refreshed >= max_age * 86400)); then
        say "$suite: last refreshed $(((now - refreshed) / 3600)) hours ago: apt-get full-upgrade"
        provision "$suite" "$dir" "$checkout" 1 "$wheels"
    fi
    say "$suite: QGIS $(stamp_get "$dir" qgis) in $dir"
}

case ${1:-} in
    make) shift; (($# == 3)) || die "usage: root.sh make SUITE DIR CHECKOUT"; make_root "$@" ;;
    enter) shift; (($# >= 4)) || die "usage: root.sh enter DIR CHECKOUT ENGINE_PYTHON -- COMMAND..."
           enter "$@" ;;
    *) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac; exit
