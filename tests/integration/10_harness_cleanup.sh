#!/bin/bash
# The harness leaves nothing behind: after a test exits — normally, by a
# failing exit, by SIGTERM, or even by SIGKILL (the watchdog) — no process it
# started is alive, its temp dir is gone (kept with H_KEEP=1) and its port
# reservations are released.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none

here=$(cd "$(dirname "$0")" && pwd)
lib="$here/../harness/lib.sh"

# procs_mentioning STR — PIDs whose command line contains STR (not us).
procs_mentioning() {
    local f p c
    for f in /proc/[0-9]*/cmdline; do
        p=${f#/proc/}
        p=${p%/cmdline}
        [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
        c=$( { tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
        [[ $c == *"$1"* ]] && printf '%s ' "$p"
    done
}

# wait_ready PIDLOG CHILD SECONDS — wait for the child's "ready" line.
wait_ready() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -qx ready "$1" 2>/dev/null && return 0
        h__alive "$2" || return 1
        sleep 0.1
    done
    return 1
}

# check_gone LABEL PIDLOG MIN_PIDS [keep] — assertions on what a child left.
check_gone() {
    local label=$1 log=$2 min=$3 keep=${4:-} dir owner pids=() names=() alive='' name pid line left locks f
    dir=$(sed -n 's/^dir //p' "$log" | head -n1)
    owner=$(sed -n 's/^owner //p' "$log" | head -n1)
    while read -r line; do
        read -r _ name pid <<<"$line"
        names+=("$name")
        pids+=("$pid")
    done < <(grep '^pid ' "$log")
    t_like "$dir" '^/tmp/cpssl-h\.' "$label: the child reported its temp dir"
    t_ok $(( ${#pids[@]} >= min ? 0 : 1 )) "$label: the child recorded ${#pids[@]} PIDs (${names[*]}), at least $min"
    for pid in "${pids[@]}"; do
        h__alive "$pid" && alive+="$pid "
    done
    t_is "$alive" "" "$label: none of the recorded PIDs is alive"
    left=$(procs_mentioning "$dir")
    t_is "$left" "" "$label: no process mentions the temp dir"
    left=${left% }
    [ -n "$left" ] && t_diag "$(ps -o pid,user,args -p "${left// /,}" 2>&1)"
    locks=
    for f in "$H_PORT_LOCKDIR"/*; do
        [ -f "$f" ] || continue
        read -r o _ <"$f" 2>/dev/null
        [ "$o" = "$owner" ] && locks+="${f##*/} "
    done
    t_is "$locks" "" "$label: its port reservations are released"
    if [ "$keep" = keep ]; then
        [ -d "$dir" ]
        t_ok $? "$label: H_KEEP=1 kept the temp dir"
        [ -d "$dir" ] && case $dir in /tmp/cpssl-h.*) rm -rf -- "$dir" ;; esac
    else
        [ ! -e "$dir" ]
        t_ok $? "$label: the temp dir is gone"
    fi
}

# --- A: a real smoke test run as a child, exits normally --------------------
log="$H_DIR/a.pidlog"
H_PIDLOG=$log H_KEEP='' "$here/10_harness_pebble.sh" >"$H_DIR/a.out" 2>"$H_DIR/a.err"
rc=$?
t_is "$rc" 0 "A: 10_harness_pebble.sh passes as a child"
[ "$rc" = 0 ] || t_diag "$(grep -v '^ok' "$H_DIR/a.out"; cat "$H_DIR/a.err")"
check_gone A "$log" 4

# the children below start every kind of server
cat >"$H_DIR/child.sh" <<CHILD
#!/bin/bash
. "$lib"
h_init
mode=\$1
h_start_bind test || exit 20
h_start_pebble || exit 21
h_start_apache || exit 22
mkdir -p "\$H_DIR/crt"
h_selfsigned c.test "\$H_DIR/c.crt" "\$H_DIR/c.key" || exit 23
cat "\$H_DIR/c.crt" "\$H_DIR/c.key" >"\$H_DIR/crt/c.pem"
h_start_haproxy "\$H_DIR/crt" || exit 24
h_haproxy_reload || exit 25
echo ready >>"\$H_PIDLOG"
case \$mode in
    fail) exit 3 ;;
    wait) for ((i = 0; i < 300; i++)); do sleep 0.1; done; exit 4 ;;
esac
exit 0
CHILD
chmod +x "$H_DIR/child.sh"

# --- B: the test fails in the middle (exit 3) --------------------------------
log="$H_DIR/b.pidlog"
H_PIDLOG=$log H_KEEP='' "$H_DIR/child.sh" fail >"$H_DIR/b.out" 2>"$H_DIR/b.err"
rc=$?
t_is "$rc" 3 "B: a failing child keeps its exit status through the EXIT trap"
[ "$rc" = 3 ] || t_diag "$(cat "$H_DIR/b.err")"
check_gone B "$log" 6

# --- C: the test is killed with SIGTERM -----------------------------------
log="$H_DIR/c.pidlog"
H_PIDLOG=$log H_KEEP='' "$H_DIR/child.sh" wait >"$H_DIR/c.out" 2>"$H_DIR/c.err" &
child=$!
wait_ready "$log" "$child" 20
t_ok $? "C: the child started its servers" || t_diag "$(cat "$H_DIR/c.err")"
kill -TERM "$child"
wait "$child"
rc=$?
t_is "$rc" 143 "C: SIGTERM ends the child with 143"
check_gone C "$log" 6

# --- D: the test is killed with SIGKILL: the watchdog cleans up --------------
log="$H_DIR/d.pidlog"
H_PIDLOG=$log H_KEEP='' "$H_DIR/child.sh" wait >"$H_DIR/d.out" 2>"$H_DIR/d.err" &
child=$!
wait_ready "$log" "$child" 20
t_ok $? "D: the child started its servers" || t_diag "$(cat "$H_DIR/d.err")"
kill -KILL "$child"
wait "$child" 2>/dev/null
ddir=$(sed -n 's/^dir //p' "$log" | head -n1)
for ((i = 0; i < 200; i++)); do
    [ -e "$ddir" ] || break
    sleep 0.1
done
t_ok $(( i < 200 ? 0 : 1 )) "D: the watchdog removed the temp dir within 20 s ($((i / 10)).$((i % 10)) s)"
check_gone D "$log" 6

# --- E: H_KEEP=1 keeps the directory but still stops every server ----------
log="$H_DIR/e.pidlog"
H_PIDLOG=$log H_KEEP=1 "$H_DIR/child.sh" ok >"$H_DIR/e.out" 2>"$H_DIR/e.err"
t_is "$?" 0 "E: the child exits 0"
check_gone E "$log" 6 keep

t_done
