# shellcheck shell=bash
# tests/harness/lib.sh — real-server test harness for cpssl integration tests.
#
# Source it from a test script, call h_init, start only the servers the test
# needs, print TAP with the t_* helpers and finish with t_done:
#
#   . "$(dirname "$0")/../harness/lib.sh"
#   h_init
#   h_start_bind test || t_bail "BIND did not start"
#   h_dns_add www.test A 127.0.0.2; t_ok $? "A record added"
#   t_done
#
# Rules this file keeps (and tests must keep too):
#   * every server binds 127.0.0.1 only, on a high port chosen at run time;
#   * DNS data in the test zones points only into 127.0.0.0/8 (or ::1);
#   * everything lives in one temp directory $H_DIR; servers are stopped by
#     PID from an EXIT trap (also on failure, INT, TERM) and, should the test
#     itself be SIGKILLed, by a detached watchdog (tests/harness/watchdog.sh);
#   * every wait is bounded; server output goes to log files, stdout is TAP;
#   * no eval, no pkill, nothing written to /etc or to system services.
#
# Functions (each documented where it is defined):
#   lifecycle  h_init  h_cleanup  h_free_port  h_listen_addrs PID
#   BIND       h_start_bind ZONE...  h_stop_bind  h_restart_bind
#              h_dns_add NAME TYPE VALUE [TTL]  h_dns_del NAME TYPE  h_dig NAME TYPE
#   Pebble     h_start_pebble  h_stop_pebble  h_restart_pebble  h_new_pebble
#   Apache     h_start_apache  h_apache_add_tls_vhost NAME CERT KEY [CHAIN]
#              h_apache_graceful  h_apache_stop
#   haproxy    h_start_haproxy CRTDIR  h_haproxy_reload  h_haproxy_stop
#   certs      h_tls_fingerprint PORT SNI  h_cert_fingerprint FILE
#              h_selfsigned NAME CERTOUT KEYOUT
#   TAP        t_plan_none  t_ok STATUS DESC  t_is GOT EXP DESC  t_isnt GOT UNEXP DESC
#              t_like GOT REGEX DESC  t_skip DESC REASON  t_diag MSG  t_bail MSG  t_done
# Names starting with h__ / t__ are internal.
#
# Do not run tests with `set -e` (the `cmd; t_ok $? desc` idiom needs failing
# commands to return).  Do not replace the EXIT trap; if a test needs its own
# exit work, call h_cleanup from it.
#
# Inputs a test may set (ports: after h_init, before the h_start_* call that
# uses them; h_init clears values inherited from the environment):
#   H_DNS_PORT H_PEBBLE_PORT H_PEBBLE_MGMT_PORT H_PEBBLE_TLS_PORT H_HTTP_PORT
#   H_HTTPS_PORT H_HAPROXY_PORT H_CHALLENGE_DIR H_TSIG_NAME
# Knobs read from the environment at any time:
#   H_KEEP=1                 keep $H_DIR after the test (servers are still stopped)
#   H_PIDLOG=/path           append "owner PID", "dir DIR" and "pid NAME PID" lines
#                            (servers and the watchdog; for the cleanup test)
#   H_PEBBLE_NONCEREJECT     PEBBLE_WFE_NONCEREJECT for Pebble (default 0)
#   H_PEBBLE_AUTHZREUSE      PEBBLE_AUTHZREUSE for Pebble (default 0)
#   H_START_TIMEOUT          seconds to wait for a server to come up (default 15)
#   H_PORT_MIN / H_PORT_MAX  port range (default 20000 .. start of the ephemeral range - 1)
#   H_WATCHDOG_MAX           watchdog lifetime in seconds (default 3600)

H_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
H_PORT_LOCKDIR=${H_PORT_LOCKDIR:-/tmp/cpssl-harness-ports}
H_APACHE_MODDIR=/usr/lib/apache2/modules

# ---------------------------------------------------------------------------
# small internals
# ---------------------------------------------------------------------------

# h__err MSG... — print "harness: MSG" on stderr; always returns 1.
h__err() {
    printf 'harness: %s\n' "$*" >&2
    return 1
}

# h__tail FILE [N] — show the last N (20) lines of a log on stderr, indented.
h__tail() {
    local f=$1 n=${2:-20}
    if [ -s "$f" ]; then
        printf 'harness: --- last %s lines of %s ---\n' "$n" "$f" >&2
        tail -n "$n" -- "$f" | sed 's/^/harness:   /' >&2
    else
        printf 'harness: (%s is empty or missing)\n' "$f" >&2
    fi
}

# h__need_init — fail unless h_init ran in this shell.
h__need_init() {
    if [ -z "${H_DIR:-}" ] || [ ! -d "$H_DIR" ]; then
        h__err "h_init has not been called (no \$H_DIR)"
        return 1
    fi
}

# h__safe_path PATH — refuse paths that would break a generated config file.
h__safe_path() {
    case $1 in
        /*) ;;
        *) h__err "path must be absolute: $1"; return 1 ;;
    esac
    case $1 in
        *[\"\\\'\$\`\;\{\}\<\>[:space:][:cntrl:]]*)
            h__err "path contains characters not allowed in a generated config: $1"
            return 1 ;;
    esac
}

# h__valid_dnsname NAME — letters, digits, hyphen, underscore, '*' labels.
h__valid_dnsname() {
    [[ $1 =~ ^(\*|[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$ ]] &&
        [ "${#1}" -le 253 ]
}

# h__pid_stat PID — print "STATE STARTTIME" of a process (from /proc), or fail.
h__pid_stat() {
    local s rest
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$s" ] || return 1
    rest=${s##*) }
    # shellcheck disable=SC2086
    set -- $rest
    # field 3 is the state, field 22 the start time: $1 and ${20} here
    printf '%s %s\n' "$1" "${20}"
}

# h__alive PID [STARTTIME] — true if PID runs (not a zombie) and, when given,
# started at STARTTIME (guards against a recycled PID).
h__alive() {
    local st
    [[ ${1:-} =~ ^[0-9]+$ ]] || return 1
    st=$(h__pid_stat "$1") || return 1
    case ${st%% *} in Z | X | x) return 1 ;; esac
    if [ -n "${2:-}" ] && [ "${st#* }" != "$2" ]; then
        return 1
    fi
    return 0
}

# h__record_pid NAME PID — remember a server PID for cleanup.
h__record_pid() {
    local name=$1 pid=$2 st start=
    st=$(h__pid_stat "$pid") && start=${st#* }
    printf '%s %s %s\n' "$name" "$pid" "$start" >>"$H_DIR/pids"
    if [ -n "${H_PIDLOG:-}" ]; then
        printf 'pid %s %s\n' "$name" "$pid" >>"$H_PIDLOG"
    fi
    printf '# pid %s %s\n' "$name" "$pid"
}

# h__unrecord_pid PID — forget a PID (after it was stopped).
h__unrecord_pid() {
    local f="$H_DIR/pids" name pid start
    [ -f "$f" ] || return 0
    : >"$f.new"
    while read -r name pid start; do
        [ "$pid" = "$1" ] && continue
        printf '%s %s %s\n' "$name" "$pid" "$start" >>"$f.new"
    done <"$f"
    mv -f -- "$f.new" "$f"
}

# h__recorded_start PID — the start time recorded for PID.
h__recorded_start() {
    local name pid start
    [ -f "$H_DIR/pids" ] || return 1
    while read -r name pid start; do
        if [ "$pid" = "$1" ]; then
            printf '%s\n' "$start"
            return 0
        fi
    done <"$H_DIR/pids"
    return 1
}

# h__wait_gone PID START SECONDS — poll (10/s) until PID is gone.
h__wait_gone() {
    local pid=$1 start=$2 i n=$(($3 * 10))
    for ((i = 0; i < n; i++)); do
        h__alive "$pid" "$start" || return 0
        sleep 0.1
    done
    ! h__alive "$pid" "$start"
}

# h__stop_pid PID [START] [NAME] — TERM, wait up to 10 s, then KILL; reap.
h__stop_pid() {
    local pid=$1 start=${2:-} name=${3:-process}
    if h__alive "$pid" "$start"; then
        kill -TERM "$pid" 2>/dev/null
        if ! h__wait_gone "$pid" "$start" 10; then
            printf 'harness: %s (pid %s) ignored SIGTERM for 10 s; sending SIGKILL\n' "$name" "$pid" >&2
            kill -KILL "$pid" 2>/dev/null
            h__wait_gone "$pid" "$start" 3
        fi
    fi
    # reap it if it was our child (never blocks: it is dead or a zombie now)
    if ! h__alive "$pid"; then
        wait "$pid" 2>/dev/null
    fi
    return 0
}

# h__stop_haproxy_pidfile — a reload done by the product (haproxy -sf OLD)
# leaves a new process that only haproxy.pid names: stop it too, when its
# command line shows it is this test's haproxy.
h__stop_haproxy_pidfile() {
    local f="$H_DIR/haproxy/haproxy.pid" pid
    [ -s "$f" ] || return 0
    read -r pid <"$f"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    grep -qaF "$H_DIR/haproxy/haproxy.cfg" "/proc/$pid/cmdline" 2>/dev/null || return 0
    h__stop_pid "$pid" "$(h__pid_stat "$pid" | cut -d' ' -f2)" haproxy-reloaded
}

# h__stop_stragglers [COMM] — stop every other process that inherited this
# test's H_DIR (detached children of the product, such as a delayed-reload
# waiter and whatever it started), optionally only those named COMM.
h__stop_stragglers() {
    local want=${1:-} e pid comm pids=()
    for e in /proc/[0-9]*/environ; do
        pid=${e#/proc/}; pid=${pid%/environ}
        case $pid in "$$" | "${BASHPID:-$$}" | "${H_WATCHDOG_PID:-x}") continue ;; esac
        grep -qzxF "H_DIR=$H_DIR" "$e" 2>/dev/null || continue
        if [ -n "$want" ]; then
            read -r comm <"/proc/$pid/comm" 2>/dev/null || continue
            [ "$comm" = "$want" ] || continue
        fi
        pids+=("$pid")
    done
    for pid in "${pids[@]}"; do
        h__stop_pid "$pid" "$(h__pid_stat "$pid" | cut -d' ' -f2)" straggler
    done
}

# h__stop_all — stop the product's detached children, then every recorded
# server (newest first), then anything else that inherited H_DIR.
h__stop_all() {
    local f="$H_DIR/pids" lines=() i name pid start
    # first whatever could still start or reload a server
    h__stop_stragglers cpcmd
    h__stop_haproxy_pidfile
    if [ -f "$f" ]; then
        mapfile -t lines <"$f"
        for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
            read -r name pid start <<<"${lines[i]}"
            [ -n "$pid" ] || continue
            h__stop_pid "$pid" "$start" "$name"
        done
        : >"$f"
    fi
    h__stop_stragglers
}

# h__release_ports — drop this test's port reservations.
h__release_ports() {
    local p
    [ -f "$H_DIR/ports" ] || return 0
    while read -r p; do
        [[ $p =~ ^[0-9]+$ ]] && rm -f -- "$H_PORT_LOCKDIR/$p"
    done <"$H_DIR/ports"
    : >"$H_DIR/ports"
}

# h__gc_port_locks — remove reservations whose owner died (older than 60 s).
h__gc_port_locks() {
    local f owner start
    [ -d "$H_PORT_LOCKDIR" ] || return 0
    while IFS= read -r f; do
        read -r owner start <"$f" 2>/dev/null || continue
        h__alive "$owner" "$start" || rm -f -- "$f"
    done < <(find "$H_PORT_LOCKDIR" -maxdepth 1 -type f -mmin +1 2>/dev/null)
}

# h__wait_listen PORT PID SECONDS [tcp|udp] — wait until PID itself listens
# on 127.0.0.1:PORT (not just anybody).  Fails if PID dies or time runs out.
h__wait_listen() {
    local port=$1 pid=$2 n=$(($3 * 10)) proto=${4:-tcp} i flag=-Hltnp
    [ "$proto" = udp ] && flag=-Hlunp
    for ((i = 0; i < n; i++)); do
        h__alive "$pid" || return 1
        if ss "$flag" "sport = :$port" 2>/dev/null | grep -F "127.0.0.1:$port " | grep -qF "pid=$pid,"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# lifecycle
# ---------------------------------------------------------------------------

# h_init — create $H_DIR (mktemp -d under /tmp, mode 0755 so the bind and
# www-data users can traverse it), clear H_* outputs inherited from the
# environment, install the EXIT/INT/TERM trap (h_cleanup) and start the
# watchdog that cleans up should this shell be SIGKILLed.
# Exports: H_DIR.
h_init() {
    local v
    if [ -n "${H_DIR:-}" ] && [ "${H__OWNER:-}" = "$$" ]; then
        h__err "h_init called twice"
        return 1
    fi
    # outputs of a parent harness must not leak into this one
    for v in H_DNS_PORT H_TSIG_NAME H_TSIG_ALG H_TSIG_SECRET H_TSIG_FILE H_ZONE H_ZONES \
        H_BIND_PID H_PEBBLE_PORT H_PEBBLE_MGMT_PORT H_PEBBLE_TLS_PORT H_PEBBLE_DIR_URL \
        H_PEBBLE_TLS_CA H_PEBBLE_ROOT H_PEBBLE_INTERMEDIATE H_PEBBLE_PID H_HTTP_PORT \
        H_HTTPS_PORT H_APACHE_CONF H_APACHE_PID H_CHALLENGE_DIR H_HAPROXY_PORT \
        H_HAPROXY_PID H_HAPROXY_CONF H_HAPROXY_CRTDIR H_WATCHDOG_PID; do
        unset "$v"
    done
    H_DIR=$(mktemp -d /tmp/cpssl-h.XXXXXXXX) || { h__err "mktemp failed"; return 1; }
    chmod 0755 "$H_DIR"
    : >"$H_DIR/pids"
    : >"$H_DIR/ports"
    H__OWNER=$$
    H__CLEANED=
    export H_DIR
    trap 'h_cleanup' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    T_N=0
    T_FAILED=0
    if [ -n "${H_PIDLOG:-}" ]; then
        printf 'owner %s\ndir %s\n' "$$" "$H_DIR" >>"$H_PIDLOG"
    fi
    mkdir -p "$H_PORT_LOCKDIR" 2>/dev/null && chmod 0700 "$H_PORT_LOCKDIR"
    h__gc_port_locks
    # watchdog: its own session, so a signal to our process group spares it
    setsid bash "$H_LIB_DIR/watchdog.sh" "$$" "$(h__pid_stat $$ | cut -d' ' -f2)" \
        "$H_DIR" "${H_WATCHDOG_MAX:-3600}" </dev/null >/dev/null 2>&1 &
    H_WATCHDOG_PID=$!
    if [ -n "${H_PIDLOG:-}" ]; then
        printf 'pid watchdog %s\n' "$H_WATCHDOG_PID" >>"$H_PIDLOG"
    fi
    return 0
}

# h_cleanup — stop every recorded server (newest first: TERM, bounded wait,
# KILL), release port reservations, stop the watchdog, remove $H_DIR unless
# H_KEEP=1.  Idempotent; run by the EXIT trap.
h_cleanup() {
    local rc=$?
    [ -n "${H_DIR:-}" ] || return "$rc"
    [ -z "${H__CLEANED:-}" ] || return "$rc"
    # a subshell (e.g. $(...)) inherits no EXIT trap, but be sure anyway
    [ "${BASHPID:-$$}" = "${H__OWNER:-}" ] || return "$rc"
    H__CLEANED=1
    h__stop_all
    h__release_ports
    if [ -n "${H_WATCHDOG_PID:-}" ]; then
        kill -TERM "$H_WATCHDOG_PID" 2>/dev/null
        h__wait_gone "$H_WATCHDOG_PID" "" 3 || kill -KILL "$H_WATCHDOG_PID" 2>/dev/null
    fi
    if [ "${H_KEEP:-0}" = 1 ]; then
        printf 'harness: kept %s\n' "$H_DIR" >&2
    else
        rm -rf -- "$H_DIR"
    fi
    return "$rc"
}

# h_free_port — echo a TCP+UDP port free on 127.0.0.1 (no socket of any state
# uses it), chosen at random in H_PORT_MIN..H_PORT_MAX (default 20000 up to
# the start of the kernel's ephemeral range), and reserve it for this test in
# $H_PORT_LOCKDIR so a test running at the same time cannot pick it too.
# At most 200 candidates.
h_free_port() {
    h__need_init || return 1
    local lo=${H_PORT_MIN:-20000} hi=${H_PORT_MAX:-} eph i p start
    if [ -z "$hi" ]; then
        read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph=32768
        if [ "$((eph - 1 - lo))" -ge 2000 ]; then hi=$((eph - 1)); else hi=60000; fi
    fi
    if [ ! -d "$H_PORT_LOCKDIR" ] || [ ! -w "$H_PORT_LOCKDIR" ]; then
        h__err "h_free_port: port reservation dir $H_PORT_LOCKDIR is not writable"
        return 1
    fi
    start=$(h__pid_stat "$H__OWNER" | cut -d' ' -f2)
    for ((i = 0; i < 200; i++)); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
        [ -z "$(ss -Huan "sport = :$p" 2>/dev/null)" ] || continue
        # atomic reservation (noclobber create fails if someone holds it)
        if (set -C && printf '%s %s\n' "$H__OWNER" "$start" >"$H_PORT_LOCKDIR/$p") 2>/dev/null; then
            printf '%s\n' "$p" >>"$H_DIR/ports"
            printf '%s\n' "$p"
            return 0
        fi
    done
    h__err "h_free_port: no free port found in $lo..$hi after 200 tries"
    return 1
}

# h__port VAR — set VAR to a free port unless the test preset it.
h__port() {
    local p
    if [ -n "${!1:-}" ]; then
        [[ ${!1} =~ ^[0-9]+$ ]] && [ "${!1}" -ge 1024 ] && [ "${!1}" -le 65535 ] ||
            { h__err "$1=${!1} is not a high port"; return 1; }
        export "${1?}"
        return 0
    fi
    p=$(h_free_port) || return 1
    printf -v "$1" '%s' "$p"
    export "${1?}"
}

# h_listen_addrs PID — print the local addresses (ADDR:PORT) on which PID has
# listening TCP/UDP sockets, one a line (from ss -p).  For "nothing listens
# beyond loopback" checks.
h_listen_addrs() {
    ss -Hlntup 2>/dev/null | grep -F "pid=$1," | awk '{print $5}' | sort -u
}

# ---------------------------------------------------------------------------
# BIND 9
# ---------------------------------------------------------------------------

# h_start_bind ZONE [ZONE...] — start `named -g -u bind` on
# 127.0.0.1:$H_DNS_PORT, authoritative (primary) for each ZONE, with SOA,
# NS ns.ZONE and ns.ZONE A 127.0.0.1, updatable with one TSIG key
# (hmac-sha256, update-policy grant KEY zonesub ANY).  Files in $H_DIR/bind
# (owned by bind: journals).  Waits (H_START_TIMEOUT, 15 s) for an SOA answer.
# Exports: H_DNS_PORT H_ZONE (first zone, no trailing dot) H_ZONES (all,
# space separated) H_TSIG_NAME H_TSIG_ALG H_TSIG_SECRET H_TSIG_FILE H_BIND_PID.
# See also h_stop_bind / h_restart_bind (same port, key and data).
h_start_bind() {
    h__need_init || return 1
    [ $# -ge 1 ] || { h__err "usage: h_start_bind ZONE [ZONE...]"; return 1; }
    if [ -n "${H_BIND_PID:-}" ]; then
        h__err "h_start_bind: BIND already runs (pid $H_BIND_PID)"
        return 1
    fi
    local d="$H_DIR/bind" z zones=() conf
    for z in "$@"; do
        z=${z%.}
        z=${z,,}
        if ! [[ $z =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$ ]]; then
            h__err "h_start_bind: bad zone name: $z"
            return 1
        fi
        zones+=("$z")
    done
    H_TSIG_NAME=${H_TSIG_NAME:-cpssl-test-key}
    if ! [[ $H_TSIG_NAME =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]]; then
        h__err "h_start_bind: bad H_TSIG_NAME: $H_TSIG_NAME"
        return 1
    fi
    h__port H_DNS_PORT || return 1
    mkdir -p "$d/zones" || return 1
    tsig-keygen -a hmac-sha256 "$H_TSIG_NAME" >"$d/key.conf" 2>"$d/tsig-keygen.err" ||
        { h__tail "$d/tsig-keygen.err"; h__err "h_start_bind: tsig-keygen failed"; return 1; }
    H_TSIG_ALG=hmac-sha256
    H_TSIG_SECRET=$(sed -n 's/^[[:space:]]*secret "\([A-Za-z0-9+/=]*\)";.*/\1/p' "$d/key.conf")
    [ -n "$H_TSIG_SECRET" ] || { h__err "h_start_bind: no secret in $d/key.conf"; return 1; }
    H_TSIG_FILE="$d/key.conf"
    conf="$d/named.conf"
    {
        printf 'options {\n'
        printf '    directory "%s";\n' "$d"
        printf '    pid-file "%s/named.pid";\n' "$d"
        printf '    lock-file "%s/named.lock";\n' "$d"
        printf '    session-keyfile "%s/session.key";\n' "$d"
        printf '    managed-keys-directory "%s";\n' "$d"
        printf '    dump-file "%s/named_dump.db";\n' "$d"
        printf '    statistics-file "%s/named.stats";\n' "$d"
        printf '    memstatistics-file "%s/named.memstats";\n' "$d"
        printf '    listen-on port %s { 127.0.0.1; };\n' "$H_DNS_PORT"
        printf '    listen-on-v6 { none; };\n'
        printf '    recursion no;\n'
        printf '    dnssec-validation no;\n'
        printf '    notify no;\n'
        printf '    allow-query { 127.0.0.0/8; };\n'
        printf '    allow-transfer { none; };\n'
        printf '};\n'
        printf '# no rndc control channel (the default would bind 127.0.0.1:953)\n'
        printf 'controls { };\n'
        printf 'include "%s";\n' "$H_TSIG_FILE"
        for z in "${zones[@]}"; do
            printf 'zone "%s." {\n    type primary;\n    file "zones/%s.db";\n' "$z" "$z"
            printf '    update-policy { grant "%s" zonesub ANY; };\n};\n' "$H_TSIG_NAME"
        done
    } >"$conf"
    for z in "${zones[@]}"; do
        {
            printf '$TTL 60\n'
            printf '@ IN SOA ns.%s. hostmaster.%s. ( 1 60 30 600 30 )\n' "$z" "$z"
            printf '@ IN NS ns.%s.\n' "$z"
            printf 'ns IN A 127.0.0.1\n'
        } >"$d/zones/$z.db"
    done
    chown -R bind:bind "$d"
    chmod 0750 "$d" "$d/zones"
    chmod 0640 "$d"/*.conf "$d"/zones/*.db
    if ! named-checkconf -z "$conf" >"$d/checkconf.log" 2>&1; then
        h__tail "$d/checkconf.log"
        h__err "h_start_bind: named-checkconf rejected $conf"
        return 1
    fi
    H_ZONE=${zones[0]}
    H_ZONES="${zones[*]}"
    export H_DNS_PORT H_TSIG_NAME H_TSIG_ALG H_TSIG_SECRET H_TSIG_FILE H_ZONE H_ZONES
    h__run_named
}

# h__run_named — start named on the config h_start_bind wrote and wait until
# it answers the SOA of $H_ZONE.  Sets H_BIND_PID.
h__run_named() {
    local d="$H_DIR/bind" pid i t=${H_START_TIMEOUT:-15}
    printf '=== start %s ===\n' "$(date '+%F %T')" >>"$d/named.log"
    named -g -4 -c "$d/named.conf" -u bind </dev/null >>"$d/named.log" 2>&1 &
    pid=$!
    H_BIND_PID=$pid
    export H_BIND_PID
    h__record_pid named "$pid"
    for ((i = 0; i < t * 10; i++)); do
        if ! h__alive "$pid"; then
            h__tail "$d/named.log"
            h__err "h_start_bind: named exited during startup"
            return 1
        fi
        # dig prints ";; connection timed out" on stdout: match the answer itself
        if [[ "$(dig @127.0.0.1 -p "$H_DNS_PORT" +short +time=1 +tries=1 "$H_ZONE." SOA 2>/dev/null)" == "ns.$H_ZONE. hostmaster.$H_ZONE. "* ]]; then
            return 0
        fi
        sleep 0.1
    done
    h__tail "$d/named.log"
    h__err "h_start_bind: named did not answer on 127.0.0.1:$H_DNS_PORT within ${t} s"
    return 1
}

# h_stop_bind — stop named by PID (TERM, bounded wait, KILL).  Zones, journal,
# key and port stay: h_restart_bind brings the same data back.
h_stop_bind() {
    h__need_init || return 1
    [ -n "${H_BIND_PID:-}" ] || return 0
    h__stop_pid "$H_BIND_PID" "$(h__recorded_start "$H_BIND_PID")" named
    h__unrecord_pid "$H_BIND_PID"
    unset H_BIND_PID
}

# h_restart_bind — h_stop_bind, then named again on the same port, config,
# TSIG key and zone data (dynamic updates survive through the journal).
h_restart_bind() {
    h__need_init || return 1
    [ -s "$H_DIR/bind/named.conf" ] || { h__err "h_restart_bind: h_start_bind was never called"; return 1; }
    h_stop_bind || return 1
    h__run_named
}

# h__zone_of NAME — print the configured zone NAME belongs to (longest match).
h__zone_of() {
    local n=${1%.} z best=
    n=${n,,}
    for z in ${H_ZONES:-}; do
        if [ "$n" = "$z" ] || [[ $n == *".$z" ]]; then
            [ "${#z}" -gt "${#best}" ] && best=$z
        fi
    done
    [ -n "$best" ] && printf '%s\n' "$best"
}

# h__nsupdate ZONE LINE... — send one signed update (nsupdate -k $H_TSIG_FILE).
h__nsupdate() {
    local zone=$1 out
    shift
    out=$(
        {
            printf 'server 127.0.0.1 %s\n' "$H_DNS_PORT"
            printf 'zone %s.\n' "$zone"
            printf '%s\n' "$@"
            printf 'send\n'
        } | timeout 20 nsupdate -t 5 -u 2 -k "$H_TSIG_FILE" 2>&1
    )
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" | sed 's/^/harness: nsupdate: /' >&2
        h__err "nsupdate failed (exit $rc)"
        return 1
    fi
}

# h_dns_add NAME TYPE VALUE [TTL] — add a record with a TSIG-signed update.
# Refuses an A outside 127.0.0.0/8, an AAAA other than ::1, a name outside the
# test zones, and values with newlines.  TXT VALUE is the bare text (quoted
# and split into 255-byte strings here).  TTL defaults to 60.
h_dns_add() {
    h__need_init || return 1
    [ $# -ge 3 ] || { h__err "usage: h_dns_add NAME TYPE VALUE [TTL]"; return 1; }
    [ -n "${H_BIND_PID:-}" ] || { h__err "h_dns_add: BIND is not running"; return 1; }
    local name=$1 type=${2^^} value=$3 ttl=${4:-60} zone rdata chunk rest
    h__valid_dnsname "$name" || { h__err "h_dns_add: bad name: $name"; return 1; }
    [[ $ttl =~ ^[0-9]{1,7}$ ]] || { h__err "h_dns_add: bad TTL: $ttl"; return 1; }
    [[ $type =~ ^[A-Z][A-Z0-9]{0,9}$ ]] || { h__err "h_dns_add: bad type: $type"; return 1; }
    case $value in
        *$'\n'* | *$'\r'*) h__err "h_dns_add: value contains a newline"; return 1 ;;
    esac
    zone=$(h__zone_of "$name") || { h__err "h_dns_add: $name is not in a test zone (${H_ZONES:-})"; return 1; }
    case $type in
        A)
            if ! [[ $value =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
                [ "${BASH_REMATCH[1]}" -gt 255 ] || [ "${BASH_REMATCH[2]}" -gt 255 ] ||
                [ "${BASH_REMATCH[3]}" -gt 255 ]; then
                h__err "h_dns_add: refusing A $value for $name: test data must stay in 127.0.0.0/8"
                return 1
            fi
            rdata=$value ;;
        AAAA)
            if [ "$value" != "::1" ]; then
                h__err "h_dns_add: refusing AAAA $value for $name: only ::1 is allowed"
                return 1
            fi
            rdata=$value ;;
        TXT)
            rest=$value
            rdata=
            while :; do
                chunk=${rest:0:255}
                rest=${rest:255}
                chunk=${chunk//\\/\\\\}
                chunk=${chunk//\"/\\\"}
                rdata+="${rdata:+ }\"$chunk\""
                [ -n "$rest" ] || break
            done ;;
        *)
            rdata=$value ;;
    esac
    h__nsupdate "$zone" "update add ${name%.}. $ttl IN $type $rdata"
}

# h_dns_del NAME TYPE — delete all records of TYPE at NAME (signed update).
h_dns_del() {
    h__need_init || return 1
    [ $# -eq 2 ] || { h__err "usage: h_dns_del NAME TYPE"; return 1; }
    [ -n "${H_BIND_PID:-}" ] || { h__err "h_dns_del: BIND is not running"; return 1; }
    local name=$1 type=${2^^} zone
    h__valid_dnsname "$name" || { h__err "h_dns_del: bad name: $name"; return 1; }
    [[ $type =~ ^[A-Z][A-Z0-9]{0,9}$ ]] || { h__err "h_dns_del: bad type: $type"; return 1; }
    zone=$(h__zone_of "$name") || { h__err "h_dns_del: $name is not in a test zone"; return 1; }
    h__nsupdate "$zone" "update delete ${name%.}. IN $type"
}

# h_dig NAME TYPE — dig @127.0.0.1 -p $H_DNS_PORT +short NAME TYPE (TXT comes
# back quoted, as dig prints it).  Bounded: 2 s x 2 tries.  dig's own ";;"
# messages (e.g. "connection timed out") go to stderr, not into the answer;
# the exit status is dig's (9: no reply).
h_dig() {
    [ $# -eq 2 ] || { h__err "usage: h_dig NAME TYPE"; return 1; }
    [ -n "${H_DNS_PORT:-}" ] || { h__err "h_dig: no H_DNS_PORT"; return 1; }
    local out rc
    out=$(dig @127.0.0.1 -p "$H_DNS_PORT" +short +time=2 +tries=2 "$1" "$2")
    rc=$?
    [ -n "$out" ] || return "$rc"
    grep '^;' <<<"$out" | sed 's/^/harness: dig: /' >&2
    grep -v '^;' <<<"$out"
    return "$rc"
}

# ---------------------------------------------------------------------------
# Pebble
# ---------------------------------------------------------------------------

# h__pebble_tls_certs DIR — throw-away CA + leaf (localhost, 127.0.0.1) for
# Pebble's own HTTPS listeners.  Made once per $H_DIR (a restart keeps them).
h__pebble_tls_certs() {
    local d=$1
    [ -s "$d/tls-ca.pem" ] && [ -s "$d/tls-leaf.pem" ] && [ -s "$d/tls-leaf.key" ] && return 0
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/tls-ca.key" -out "$d/tls-ca.pem" -days 7 \
            -subj "/CN=cpssl harness throw-away Pebble TLS CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout "$d/tls-leaf.key" -out "$d/tls-leaf.csr" -subj "/CN=localhost" &&
            printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
                'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
                'subjectAltName=DNS:localhost,IP:127.0.0.1' >"$d/tls-leaf.ext" &&
            openssl x509 -req -in "$d/tls-leaf.csr" -CA "$d/tls-ca.pem" -CAkey "$d/tls-ca.key" \
                -CAcreateserial -days 7 -extfile "$d/tls-leaf.ext" -out "$d/tls-leaf.pem"
    } >"$d/openssl.log" 2>&1 || { h__tail "$d/openssl.log"; h__err "making Pebble's TLS certificate failed"; return 1; }
    chmod 0600 "$d/tls-ca.key" "$d/tls-leaf.key"
}

# h_start_pebble — start Pebble on 127.0.0.1 (needs h_start_bind first: it
# resolves everything through -dnsserver 127.0.0.1:$H_DNS_PORT).  Env:
# PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=${H_PEBBLE_NONCEREJECT:-0},
# PEBBLE_AUTHZREUSE=${H_PEBBLE_AUTHZREUSE:-0} (other PEBBLE_* variables a test
# exports are inherited).  http-01 goes to $H_HTTP_PORT (allocated here if
# unset; give it to h_start_apache), tls-alpn-01 to $H_PEBBLE_TLS_PORT.
# Waits for the directory, then fetches the issuing root and intermediate
# from the management port (new ones at every start).
# Which Pebble: H_PEBBLE_BIN (default `pebble`, bookworm's 2.4; h_new_pebble
# selects the 2.10 that scripts/fetch-pebble unpacks), and H_PEBBLE_CONFIG, a
# JSON object whose members are added to the "pebble" configuration (e.g.
# '{"profiles": {...}, "externalAccountBindingRequired": true}').
# Exports: H_PEBBLE_PORT H_PEBBLE_MGMT_PORT H_PEBBLE_TLS_PORT H_HTTP_PORT
#   H_PEBBLE_DIR_URL (https://127.0.0.1:PORT/dir) H_PEBBLE_TLS_CA (trust this
#   for Pebble's HTTPS) H_PEBBLE_ROOT ($H_DIR/pebble-root.pem)
#   H_PEBBLE_INTERMEDIATE ($H_DIR/pebble-intermediate.pem) H_PEBBLE_PID.
h_start_pebble() {
    h__need_init || return 1
    local d="$H_DIR/pebble" pid i t=${H_START_TIMEOUT:-15} cfg url
    if [ -n "${H_PEBBLE_PID:-}" ]; then
        h__err "h_start_pebble: Pebble already runs (pid $H_PEBBLE_PID)"
        return 1
    fi
    if [ -z "${H_BIND_PID:-}" ] || ! h__alive "$H_BIND_PID"; then
        h__err "h_start_pebble: start BIND first (h_start_bind ZONE): Pebble resolves through it"
        return 1
    fi
    mkdir -p "$d" || return 1
    h__pebble_tls_certs "$d" || return 1
    h__port H_PEBBLE_PORT || return 1
    h__port H_PEBBLE_MGMT_PORT || return 1
    h__port H_PEBBLE_TLS_PORT || return 1
    h__port H_HTTP_PORT || return 1
    cfg="$d/pebble.json"
    cat >"$cfg.base" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$H_PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$H_PEBBLE_MGMT_PORT",
    "certificate": "$d/tls-leaf.pem",
    "privateKey": "$d/tls-leaf.key",
    "httpPort": $H_HTTP_PORT,
    "tlsPort": $H_PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
    if [ -n "${H_PEBBLE_CONFIG:-}" ]; then
        jq --argjson extra "$H_PEBBLE_CONFIG" '.pebble += $extra' "$cfg.base" >"$cfg" || {
            h__err "h_start_pebble: H_PEBBLE_CONFIG is not a JSON object: $H_PEBBLE_CONFIG"
            return 1
        }
    else
        cp "$cfg.base" "$cfg" || return 1
    fi
    printf '=== start %s ===\n' "$(date '+%F %T')" >>"$d/pebble.log"
    env PEBBLE_VA_NOSLEEP=1 \
        PEBBLE_WFE_NONCEREJECT="${H_PEBBLE_NONCEREJECT:-0}" \
        PEBBLE_AUTHZREUSE="${H_PEBBLE_AUTHZREUSE:-0}" \
        "${H_PEBBLE_BIN:-pebble}" -config "$cfg" -dnsserver "127.0.0.1:$H_DNS_PORT" \
        </dev/null >>"$d/pebble.log" 2>&1 &
    pid=$!
    H_PEBBLE_PID=$pid
    h__record_pid pebble "$pid"
    H_PEBBLE_DIR_URL="https://127.0.0.1:$H_PEBBLE_PORT/dir"
    H_PEBBLE_TLS_CA="$d/tls-ca.pem"
    H_PEBBLE_ROOT="$H_DIR/pebble-root.pem"
    H_PEBBLE_INTERMEDIATE="$H_DIR/pebble-intermediate.pem"
    export H_PEBBLE_PID H_PEBBLE_DIR_URL H_PEBBLE_TLS_CA H_PEBBLE_ROOT H_PEBBLE_INTERMEDIATE
    for ((i = 0; ; i++)); do
        if ! h__alive "$pid"; then
            h__tail "$d/pebble.log"
            h__err "h_start_pebble: pebble exited during startup"
            return 1
        fi
        if curl -sS -o /dev/null --max-time 2 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" 2>/dev/null &&
            curl -sS -o /dev/null --max-time 2 --cacert "$H_PEBBLE_TLS_CA" \
                "https://127.0.0.1:$H_PEBBLE_MGMT_PORT/roots/0" 2>/dev/null; then
            break
        fi
        if [ "$i" -ge $((t * 10)) ]; then
            h__tail "$d/pebble.log"
            h__err "h_start_pebble: $H_PEBBLE_DIR_URL did not answer within ${t} s"
            return 1
        fi
        sleep 0.1
    done
    rm -f -- "$H_PEBBLE_ROOT" "$H_PEBBLE_INTERMEDIATE"
    for url in roots/0 intermediates/0; do
        local out=$H_PEBBLE_ROOT
        [ "$url" = intermediates/0 ] && out=$H_PEBBLE_INTERMEDIATE
        if ! curl -sS -f --max-time 5 --cacert "$H_PEBBLE_TLS_CA" -o "$out" \
            "https://127.0.0.1:$H_PEBBLE_MGMT_PORT/$url" 2>>"$d/pebble.log" ||
            ! openssl x509 -noout -in "$out" 2>/dev/null; then
            h__tail "$d/pebble.log"
            h__err "h_start_pebble: could not fetch a certificate from management /$url"
            return 1
        fi
    done
    chmod 0644 "$H_PEBBLE_ROOT" "$H_PEBBLE_INTERMEDIATE"
    return 0
}

# h_new_pebble — use the newer Pebble (2.10: ARI, profiles, EAB, keyChange,
# alternate roots, IP identifiers) that scripts/fetch-pebble unpacks into
# build/deps/pebble, for the h_start_pebble that follows.  Fails when it is
# missing (make check fetches it).
h_new_pebble() {
    local bin
    bin=${CPSSL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/build/deps/pebble/bin/pebble
    [ -x "$bin" ] || { h__err "h_new_pebble: $bin is missing (scripts/fetch-pebble)"; return 1; }
    H_PEBBLE_BIN=$bin
    export H_PEBBLE_BIN
}

# h_stop_pebble — stop Pebble by PID (TERM, bounded wait, KILL).  Ports stay
# reserved so h_start_pebble/h_restart_pebble reuse them.
h_stop_pebble() {
    h__need_init || return 1
    [ -n "${H_PEBBLE_PID:-}" ] || return 0
    h__stop_pid "$H_PEBBLE_PID" "$(h__recorded_start "$H_PEBBLE_PID")" pebble
    h__unrecord_pid "$H_PEBBLE_PID"
    unset H_PEBBLE_PID
}

# h_restart_pebble — h_stop_pebble then h_start_pebble on the same ports (same
# URLs, same TLS CA; new issuing root fetched into $H_PEBBLE_ROOT).
h_restart_pebble() {
    h_stop_pebble || return 1
    h_start_pebble
}

# ---------------------------------------------------------------------------
# Apache httpd 2.4
# ---------------------------------------------------------------------------

# h__apache ARGS... — run the apache2 binary with our config, output to the
# startup log (Debian's binary reads no envvars file itself; the APACHE_*
# variables are set only so nothing falls back to /var/run, /var/log).
h__apache() {
    local d="$H_DIR/apache"
    env APACHE_RUN_DIR="$d/run" APACHE_LOCK_DIR="$d/run" APACHE_PID_FILE="$d/run/httpd.pid" \
        APACHE_LOG_DIR="$d/logs" APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data \
        APACHE_CONFDIR="$d" LANG=C \
        apache2 -d "$d" -f "$H_APACHE_CONF" "$@"
}

# h__apache_children — PIDs of the Apache parent's children.
h__apache_children() {
    [ -n "${H_APACHE_PID:-}" ] || return 0
    ps -o pid= --ppid "$H_APACHE_PID" 2>/dev/null | tr -d ' '
}

# h_start_apache — start Apache httpd with its own config in $H_DIR/apache:
# Listen 127.0.0.1:$H_HTTP_PORT (plain; Pebble's http-01 port) and
# 127.0.0.1:$H_HTTPS_PORT (TLS vhosts from h_apache_add_tls_vhost), User and
# Group www-data, Alias /.well-known/acme-challenge/ to
# "$H_CHALLENGE_DIR/.well-known/acme-challenge/" for every vhost
# (H_CHALLENGE_DIR defaults to $H_DIR/fsroot/var/lib/cpssl/acme-challenge; dirs made 0755),
# IncludeOptional $H_DIR/apache/sites/*.conf.  Waits for both ports.
# Exports: H_HTTP_PORT H_HTTPS_PORT H_APACHE_CONF H_APACHE_PID H_CHALLENGE_DIR.
h_start_apache() {
    h__need_init || return 1
    local d="$H_DIR/apache" i t=${H_START_TIMEOUT:-15} pid='' p ch
    if [ -n "${H_APACHE_PID:-}" ]; then
        h__err "h_start_apache: Apache already runs (pid $H_APACHE_PID)"
        return 1
    fi
    h__port H_HTTP_PORT || return 1
    h__port H_HTTPS_PORT || return 1
    H_CHALLENGE_DIR=${H_CHALLENGE_DIR:-$H_DIR/fsroot/var/lib/cpssl/acme-challenge}
    H_CHALLENGE_DIR=${H_CHALLENGE_DIR%/}
    h__safe_path "$H_CHALLENGE_DIR" || return 1
    export H_CHALLENGE_DIR
    ch="$H_CHALLENGE_DIR/.well-known/acme-challenge"
    mkdir -p "$ch" "$d/logs" "$d/run" "$d/sites" "$d/htdocs" || return 1
    # make every directory from $H_DIR down to the challenge dir traversable
    p=$ch
    while [ "${#p}" -ge "${#H_DIR}" ]; do
        case $p in "$H_DIR" | "$H_DIR"/*) chmod 0755 "$p" ;; esac
        p=${p%/*}
    done
    if ! runuser -u www-data -- test -r "$ch" -a -x "$ch"; then
        h__err "h_start_apache: www-data cannot read $ch (make its parents 0755)"
        return 1
    fi
    H_APACHE_CONF="$d/httpd.conf"
    export H_APACHE_CONF
    cat >"$H_APACHE_CONF" <<EOF
# generated by tests/harness/lib.sh — test Apache, loopback only
ServerRoot "$d"
DefaultRuntimeDir "$d/run"
PidFile "$d/run/httpd.pid"
Mutex file:$d/run default
ErrorLog "$d/logs/error.log"
LogLevel notice ssl:warn
ServerName localhost
ServerTokens Prod
User www-data
Group www-data

LoadModule mpm_event_module $H_APACHE_MODDIR/mod_mpm_event.so
LoadModule authz_core_module $H_APACHE_MODDIR/mod_authz_core.so
LoadModule alias_module $H_APACHE_MODDIR/mod_alias.so
LoadModule mime_module $H_APACHE_MODDIR/mod_mime.so
LoadModule socache_shmcb_module $H_APACHE_MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $H_APACHE_MODDIR/mod_ssl.so

StartServers 1
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 48
Timeout 20
KeepAlive On
KeepAliveTimeout 2

Listen 127.0.0.1:$H_HTTP_PORT http
Listen 127.0.0.1:$H_HTTPS_PORT https

TypesConfig /etc/mime.types
LogFormat "%h %t \"%r\" %>s %b host=%{Host}i sni=%{SSL_TLS_SNI}x" harness
CustomLog "$d/logs/access.log" harness

SSLSessionCache "shmcb:$d/run/ssl_scache(512000)"
SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1

DocumentRoot "$d/htdocs"
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<Directory "$d/htdocs">
    Require all granted
</Directory>

# http-01 for every vhost (vhosts inherit server-level aliases)
Alias /.well-known/acme-challenge/ "$ch/"
<Directory "$ch/">
    Options None
    AllowOverride None
    ForceType text/plain
    Require all granted
</Directory>

IncludeOptional "$d/sites/*.conf"
EOF
    if ! h__apache -t >"$d/logs/configtest.log" 2>&1; then
        h__tail "$d/logs/configtest.log"
        h__err "h_start_apache: apache2 -t rejected $H_APACHE_CONF"
        return 1
    fi
    if ! h__apache -k start </dev/null >>"$d/logs/startup.log" 2>&1; then
        h__tail "$d/logs/startup.log"
        h__tail "$d/logs/error.log"
        h__err "h_start_apache: apache2 -k start failed"
        return 1
    fi
    # -k start daemonizes before binding: wait for the pid file, then ports
    for ((i = 0; i < t * 10; i++)); do
        if [ -s "$d/run/httpd.pid" ]; then
            read -r pid <"$d/run/httpd.pid"
            [[ $pid =~ ^[0-9]+$ ]] && break
        fi
        sleep 0.1
    done
    if [ -z "$pid" ] || ! [[ $pid =~ ^[0-9]+$ ]]; then
        h__tail "$d/logs/error.log"
        h__err "h_start_apache: no pid file within ${t} s"
        return 1
    fi
    H_APACHE_PID=$pid
    export H_APACHE_PID
    h__record_pid apache2 "$pid"
    if ! h__wait_listen "$H_HTTP_PORT" "$pid" "$t" || ! h__wait_listen "$H_HTTPS_PORT" "$pid" "$t"; then
        h__tail "$d/logs/error.log"
        h__err "h_start_apache: Apache is not listening on 127.0.0.1:$H_HTTP_PORT and :$H_HTTPS_PORT within ${t} s"
        return 1
    fi
    return 0
}

# h_apache_add_tls_vhost NAME CERTFILE KEYFILE [CHAINFILE] — write
# $H_DIR/apache/sites/NAME.conf: <VirtualHost 127.0.0.1:$H_HTTPS_PORT> with
# ServerName NAME and SSLEngine on.  Does not reload: call h_apache_graceful.
h_apache_add_tls_vhost() {
    h__need_init || return 1
    [ $# -ge 3 ] && [ $# -le 4 ] ||
        { h__err "usage: h_apache_add_tls_vhost NAME CERTFILE KEYFILE [CHAINFILE]"; return 1; }
    [ -n "${H_HTTPS_PORT:-}" ] || { h__err "h_apache_add_tls_vhost: start Apache first"; return 1; }
    local name=$1 f
    h__valid_dnsname "$name" || { h__err "h_apache_add_tls_vhost: bad name: $name"; return 1; }
    for f in "${@:2}"; do
        h__safe_path "$f" || return 1
    done
    {
        printf '<VirtualHost 127.0.0.1:%s>\n' "$H_HTTPS_PORT"
        printf '    ServerName %s\n' "${name%.}"
        printf '    DocumentRoot "%s/apache/htdocs"\n' "$H_DIR"
        printf '    SSLEngine on\n'
        printf '    SSLCertificateFile "%s"\n' "$2"
        printf '    SSLCertificateKeyFile "%s"\n' "$3"
        [ -n "${4:-}" ] && printf '    SSLCertificateChainFile "%s"\n' "$4"
        printf '</VirtualHost>\n'
    } >"$H_DIR/apache/sites/${name%.}.conf"
}

# h_apache_graceful — `apache2 -k graceful` after a config test; waits (15 s)
# until the parent logged "resuming normal operations" again and (10 s) until
# the children of the previous generation are gone, so the next connection
# sees the new config and certificates.  Fails if Apache died (e.g. bad cert).
h_apache_graceful() {
    h__need_init || return 1
    [ -n "${H_APACHE_PID:-}" ] || { h__err "h_apache_graceful: Apache is not running"; return 1; }
    local d="$H_DIR/apache" err="$H_DIR/apache/logs/error.log" before now old i c t=${H_START_TIMEOUT:-15} left
    if ! h__apache -t >"$d/logs/configtest.log" 2>&1; then
        h__tail "$d/logs/configtest.log"
        h__err "h_apache_graceful: apache2 -t rejected the config; not reloading"
        return 1
    fi
    before=$(grep -c 'resuming normal operations' "$err" 2>/dev/null)
    old=$(h__apache_children)
    if ! h__apache -k graceful </dev/null >>"$d/logs/startup.log" 2>&1; then
        h__tail "$d/logs/startup.log"
        h__err "h_apache_graceful: apache2 -k graceful failed"
        return 1
    fi
    for ((i = 0; ; i++)); do
        if ! h__alive "$H_APACHE_PID"; then
            h__tail "$err"
            h__err "h_apache_graceful: Apache (pid $H_APACHE_PID) died during the graceful restart"
            return 1
        fi
        now=$(grep -c 'resuming normal operations' "$err" 2>/dev/null)
        [ "${now:-0}" -gt "${before:-0}" ] && break
        if [ "$i" -ge $((t * 10)) ]; then
            h__tail "$err"
            h__err "h_apache_graceful: no 'resuming normal operations' within ${t} s"
            return 1
        fi
        sleep 0.1
    done
    for ((i = 0; i < 100; i++)); do
        left=
        for c in $old; do
            h__alive "$c" && { left=$c; break; }
        done
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    printf 'harness: h_apache_graceful: an old child (pid %s) still runs after 10 s\n' "$left" >&2
    return 0
}

# h_apache_stop — stop Apache by its parent PID (TERM = `-k stop`; bounded
# wait, then KILL).
h_apache_stop() {
    h__need_init || return 1
    [ -n "${H_APACHE_PID:-}" ] || return 0
    h__stop_pid "$H_APACHE_PID" "$(h__recorded_start "$H_APACHE_PID")" apache2
    h__unrecord_pid "$H_APACHE_PID"
    unset H_APACHE_PID
}

# ---------------------------------------------------------------------------
# haproxy
# ---------------------------------------------------------------------------

# h__haproxy_check — haproxy -c on our config; show the output on failure.
h__haproxy_check() {
    local d="$H_DIR/haproxy"
    if ! haproxy -c -f "$H_HAPROXY_CONF" >"$d/check.log" 2>&1; then
        h__tail "$d/check.log"
        h__err "haproxy -c rejected $H_HAPROXY_CONF (crt dir $H_HAPROXY_CRTDIR)"
        return 1
    fi
}

# h__crtdir_ok DIR — DIR exists and holds at least one regular file.
h__crtdir_ok() {
    local f
    [ -d "$1" ] || { h__err "haproxy crt dir $1 does not exist"; return 1; }
    for f in "$1"/*; do
        [ -f "$f" ] && return 0
    done
    h__err "haproxy crt dir $1 holds no PEM file: haproxy will not start with an empty crt dir"
    return 1
}

# h_start_haproxy CRTDIR — haproxy on 127.0.0.1:$H_HAPROXY_PORT with
# `bind ... ssl crt CRTDIR/` (every PEM in CRTDIR: cert, chain, key) and a
# frontend that answers `200 ok`; checked with haproxy -c, started with
# haproxy -D -f CFG -p PIDFILE.  Stats socket: $H_DIR/haproxy/admin.sock.
# Exports: H_HAPROXY_PORT H_HAPROXY_PID H_HAPROXY_CONF H_HAPROXY_CRTDIR.
h_start_haproxy() {
    h__need_init || return 1
    [ $# -eq 1 ] || { h__err "usage: h_start_haproxy CRTDIR"; return 1; }
    if [ -n "${H_HAPROXY_PID:-}" ]; then
        h__err "h_start_haproxy: haproxy already runs (pid $H_HAPROXY_PID)"
        return 1
    fi
    local d="$H_DIR/haproxy" crt=${1%/} pid='' i t=${H_START_TIMEOUT:-15} user=''
    h__safe_path "$crt" || return 1
    h__crtdir_ok "$crt" || return 1
    h__port H_HAPROXY_PORT || return 1
    mkdir -p "$d" || return 1
    H_HAPROXY_CONF="$d/haproxy.cfg"
    H_HAPROXY_CRTDIR=$crt
    export H_HAPROXY_CONF H_HAPROXY_CRTDIR
    getent passwd haproxy >/dev/null && getent group haproxy >/dev/null && user=haproxy
    {
        printf '# generated by tests/harness/lib.sh — test haproxy, loopback only\n'
        printf 'global\n'
        printf '    maxconn 200\n'
        printf '    nbthread 2\n'
        printf '    hard-stop-after 5s\n'
        printf '    stats socket "%s/admin.sock" mode 600 level admin\n' "$d"
        printf '    ssl-default-bind-options ssl-min-ver TLSv1.2\n'
        printf '    tune.ssl.default-dh-param 2048\n'
        [ -n "$user" ] && printf '    user haproxy\n    group haproxy\n'
        printf 'defaults\n'
        printf '    mode http\n'
        printf '    timeout connect 5s\n'
        printf '    timeout client 10s\n'
        printf '    timeout server 10s\n'
        printf '    timeout http-request 5s\n'
        printf 'frontend fe_tls\n'
        printf '    bind 127.0.0.1:%s ssl crt "%s/"\n' "$H_HAPROXY_PORT" "$crt"
        printf '    http-request return status 200 content-type text/plain string "ok"\n'
    } >"$H_HAPROXY_CONF"
    h__haproxy_check || return 1
    rm -f -- "$d/haproxy.pid"
    if ! haproxy -D -f "$H_HAPROXY_CONF" -p "$d/haproxy.pid" </dev/null >>"$d/haproxy.log" 2>&1; then
        h__tail "$d/haproxy.log"
        h__err "h_start_haproxy: haproxy -D failed"
        return 1
    fi
    for ((i = 0; i < t * 10; i++)); do
        if [ -s "$d/haproxy.pid" ]; then
            read -r pid <"$d/haproxy.pid"
            [[ $pid =~ ^[0-9]+$ ]] && break
        fi
        sleep 0.1
    done
    if ! [[ $pid =~ ^[0-9]+$ ]]; then
        h__tail "$d/haproxy.log"
        h__err "h_start_haproxy: no pid file within ${t} s"
        return 1
    fi
    H_HAPROXY_PID=$pid
    export H_HAPROXY_PID
    h__record_pid haproxy "$pid"
    if ! h__wait_listen "$H_HAPROXY_PORT" "$pid" "$t"; then
        h__tail "$d/haproxy.log"
        h__err "h_start_haproxy: haproxy is not listening on 127.0.0.1:$H_HAPROXY_PORT within ${t} s"
        return 1
    fi
    return 0
}

# h_haproxy_reload — real reload that re-reads the config and every PEM in
# the crt dir: check the config, start a new `haproxy -D ... -sf OLDPID`
# (the new process binds, then tells the old one to finish), wait (10 s) for
# the old process to exit, and record the new PID in H_HAPROXY_PID.  If the
# check fails the old process keeps running and this returns 1.
h_haproxy_reload() {
    h__need_init || return 1
    [ -n "${H_HAPROXY_PID:-}" ] || { h__err "h_haproxy_reload: haproxy is not running"; return 1; }
    local d="$H_DIR/haproxy" old=$H_HAPROXY_PID oldstart pid='' i t=${H_START_TIMEOUT:-15}
    oldstart=$(h__recorded_start "$old")
    h__crtdir_ok "$H_HAPROXY_CRTDIR" || return 1
    h__haproxy_check || return 1
    rm -f -- "$d/haproxy.pid"
    if ! haproxy -D -f "$H_HAPROXY_CONF" -p "$d/haproxy.pid" -sf "$old" </dev/null >>"$d/haproxy.log" 2>&1; then
        h__tail "$d/haproxy.log"
        h__err "h_haproxy_reload: new haproxy -D -sf $old failed; the old one keeps running"
        return 1
    fi
    for ((i = 0; i < t * 10; i++)); do
        if [ -s "$d/haproxy.pid" ]; then
            read -r pid <"$d/haproxy.pid"
            [[ $pid =~ ^[0-9]+$ ]] && [ "$pid" != "$old" ] && break
        fi
        sleep 0.1
    done
    if ! [[ $pid =~ ^[0-9]+$ ]] || [ "$pid" = "$old" ] || ! h__alive "$pid"; then
        h__tail "$d/haproxy.log"
        h__err "h_haproxy_reload: no new haproxy process"
        return 1
    fi
    h__record_pid haproxy "$pid"
    H_HAPROXY_PID=$pid
    export H_HAPROXY_PID
    if ! h__wait_gone "$old" "$oldstart" 10; then
        printf 'harness: h_haproxy_reload: old haproxy %s still runs after 10 s; stopping it\n' "$old" >&2
        h__stop_pid "$old" "$oldstart" haproxy-old
    fi
    h__unrecord_pid "$old"
    return 0
}

# h_haproxy_stop — stop haproxy by PID (TERM, bounded wait, KILL).
h_haproxy_stop() {
    h__need_init || return 1
    [ -n "${H_HAPROXY_PID:-}" ] || return 0
    h__stop_pid "$H_HAPROXY_PID" "$(h__recorded_start "$H_HAPROXY_PID")" haproxy
    h__unrecord_pid "$H_HAPROXY_PID"
    unset H_HAPROXY_PID
}

# ---------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------

# h_path_snapshot PATH... — one line per path: a hash of its inode, mode,
# owner, size, mtime and (a directory) its entry names, or "absent".  Taken
# before and after a test that works in a private view of the machine, to
# show the machine's own paths were left as they were.
h_path_snapshot() {
    local p
    for p in "$@"; do
        if [ -e "$p" ] || [ -L "$p" ]; then
            printf '%s %s\n' "$p" "$( (stat -c '%i %a %U %s %Y' "$p"; [ -d "$p" ] && ls -A "$p") | md5sum | cut -c1-12)"
        else
            printf '%s absent\n' "$p"
        fi
    done
}

# h_systemd_verify DIR FILE... — systemd-analyze verify on unit files named
# relative to DIR, in a mount namespace of its own over a copy-on-write /run
# (it stamps /run/systemd/systemd-units-load as a manager would), with
# MANPATH=DIR/man when that exists (for Documentation=man:).  Prints what it
# says; its exit status.
h_systemd_verify() {
    local d=$1
    shift
    command -v systemd-analyze >/dev/null || { h__err "systemd-analyze is missing (make deps installs systemd)"; return 1; }
    mkdir -p "$d/.run-up" "$d/.run-work" || return 1
    unshare --mount --propagation private -- sh -c \
        'd=$1; shift
        mount -n -t overlay verify-run -o "lowerdir=/run,upperdir=$d/.run-up,workdir=$d/.run-work" /run || exit 1
        cd "$d" || exit 1
        [ -d "$d/man" ] && export MANPATH="$d/man"
        exec systemd-analyze verify "$@"' sh "$d" "$@" 2>&1
}

# h_tls_fingerprint PORT SNI — SHA-256 fingerprint (AA:BB:...) of the
# certificate served on 127.0.0.1:PORT for SNI; 10 s bound.  Prints nothing
# and fails if there was no handshake.
h_tls_fingerprint() {
    [ $# -eq 2 ] || { h__err "usage: h_tls_fingerprint PORT SNI"; return 1; }
    local out
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null)
    out=${out#*=}
    [ -n "$out" ] || return 1
    printf '%s\n' "$out"
}

# h_cert_fingerprint FILE — SHA-256 fingerprint of the first certificate in
# a PEM file, in the same format as h_tls_fingerprint.
h_cert_fingerprint() {
    [ $# -eq 1 ] || { h__err "usage: h_cert_fingerprint FILE"; return 1; }
    local out
    out=$(openssl x509 -noout -fingerprint -sha256 -in "$1" 2>/dev/null)
    out=${out#*=}
    [ -n "$out" ] || return 1
    printf '%s\n' "$out"
}

# h_selfsigned NAME CERTOUT KEYOUT — self-signed EC P-256 end-entity
# certificate for NAME (CN and subjectAltName DNS:NAME, CA:FALSE, serverAuth,
# 7 days) and its key (mode 0600).
h_selfsigned() {
    [ $# -eq 3 ] || { h__err "usage: h_selfsigned NAME CERTOUT KEYOUT"; return 1; }
    h__valid_dnsname "$1" || { h__err "h_selfsigned: bad name: $1"; return 1; }
    local out
    if ! out=$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$3" -out "$2" -days 7 -subj "/CN=${1%.}" \
        -addext "subjectAltName=DNS:${1%.}" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=serverAuth" 2>&1); then
        printf '%s\n' "$out" >&2
        h__err "h_selfsigned: openssl failed"
        return 1
    fi
    chmod 0600 "$3"
}

# ---------------------------------------------------------------------------
# TAP
# ---------------------------------------------------------------------------

T_N=${T_N:-0}
T_FAILED=${T_FAILED:-0}

# t_plan_none — no plan up front; t_done prints 1..N at the end.
t_plan_none() { :; }

# t_diag MSG... — print MSG as TAP diagnostics ("# " on every line).
t_diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

# t__result OK DESC — print one TAP line.
t__result() {
    local desc=$2
    desc=${desc//$'\n'/ }
    desc=${desc//\#/\\#}
    T_N=$((T_N + 1))
    if [ "$1" = 1 ]; then
        printf 'ok %d - %s\n' "$T_N" "$desc"
    else
        T_FAILED=$((T_FAILED + 1))
        printf 'not ok %d - %s\n' "$T_N" "$desc"
    fi
}

# t_ok STATUS DESC — pass if STATUS is 0 (usage: `cmd; t_ok $? "desc"`).
t_ok() {
    if [ "${1:-1}" = 0 ]; then
        t__result 1 "${2:-}"
    else
        t__result 0 "${2:-}"
        t_diag "exit status: ${1:-}"
    fi
    [ "${1:-1}" = 0 ]
}

# t_is GOT EXPECTED DESC — pass if GOT equals EXPECTED (strings).
t_is() {
    if [ "$1" = "$2" ]; then
        t__result 1 "${3:-}"
        return 0
    fi
    t__result 0 "${3:-}"
    t_diag "got: '$1'"
    t_diag "expected: '$2'"
    return 1
}

# t_isnt GOT UNEXPECTED DESC — pass if GOT differs from UNEXPECTED.
t_isnt() {
    if [ "$1" != "$2" ]; then
        t__result 1 "${3:-}"
        return 0
    fi
    t__result 0 "${3:-}"
    t_diag "got: '$1'"
    t_diag "expected anything else"
    return 1
}

# t_like GOT REGEX DESC — pass if GOT matches the bash ERE REGEX.
t_like() {
    if [[ $1 =~ $2 ]]; then
        t__result 1 "${3:-}"
        return 0
    fi
    t__result 0 "${3:-}"
    t_diag "got: '$1'"
    t_diag "expected to match: '$2'"
    return 1
}

# t_unlike GOT REGEX DESC — pass if GOT does not match the bash ERE REGEX.
t_unlike() {
    if ! [[ $1 =~ $2 ]]; then
        t__result 1 "${3:-}"
        return 0
    fi
    t__result 0 "${3:-}"
    t_diag "got: '$1'"
    t_diag "expected not to match: '$2'"
    return 1
}

# t_skip DESC REASON — a skipped test ("ok N - DESC # SKIP REASON").
t_skip() {
    T_N=$((T_N + 1))
    printf 'ok %d - %s # SKIP %s\n' "$T_N" "${1//\#/\\#}" "${2:-}"
}

# t_bail MSG — "Bail out! MSG" and exit 1 (the EXIT trap still cleans up).
t_bail() {
    printf 'Bail out! %s\n' "$*"
    exit 1
}

# t_done — print the plan 1..N; exit 1 if a test failed or none ran, else 0.
t_done() {
    printf '1..%d\n' "$T_N"
    if [ "$T_N" -eq 0 ]; then
        t_diag "no tests ran"
        exit 1
    fi
    if [ "$T_FAILED" -gt 0 ]; then
        t_diag "failed $T_FAILED of $T_N"
        exit 1
    fi
    exit 0
}
