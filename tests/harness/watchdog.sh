#!/bin/bash
# tests/harness/watchdog.sh OWNER_PID OWNER_START H_DIR MAX_SECONDS
#
# Started by h_init (lib.sh) in its own session.  Once a second it checks the
# test shell OWNER_PID (with its /proc start time, so a recycled PID does not
# fool it).  If the owner is gone while H_DIR still exists — the test was
# SIGKILLed and its EXIT trap never ran — it stops the servers recorded in
# H_DIR/pids by PID, releases the port reservations and removes H_DIR (unless
# H_KEEP=1).  It exits when H_DIR disappears (normal cleanup) or after
# MAX_SECONDS.  It never kills anything that is not recorded in H_DIR/pids.

owner=$1
owner_start=$2
dir=$3
max=${4:-3600}

[[ $owner =~ ^[0-9]+$ ]] || exit 2
[[ $max =~ ^[0-9]+$ ]] || exit 2
case $dir in /tmp/cpssl-h.*) ;; *) exit 2 ;; esac

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for ((n = 0; n < max; n++)); do
    [ -d "$dir" ] || exit 0
    if ! h__alive "$owner" "$owner_start"; then
        # shellcheck disable=SC2034 # read by the lib.sh functions below
        H_DIR=$dir
        h__stop_all
        h__release_ports
        [ "${H_KEEP:-0}" = 1 ] || rm -rf -- "$dir"
        exit 0
    fi
    sleep 1
done
exit 0
