#!/usr/bin/env bash
# What a pass tells as it goes and when done, against real Pebble, BIND and
# Apache: on a terminal (a pty from script(1)) reissue-all draws a progress
# line (done/total, failed, rate, time left); off a terminal nothing but the
# result; each pass logs one line per certificate and its counts to syslog
# (ident cpssl, facility daemon, the priority saying what happened),
# received here on a datagram socket standing in for /dev/log in a private
# mount namespace; no secret reaches the log; syslog = false logs nothing.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
command -v socat >/dev/null || t_bail "socat is missing (make deps installs it)"
command -v script >/dev/null || t_bail "script is missing (util-linux)"
c_servers test
c_configure
for i in 1 2 3; do
	h_dns_add "p$i.test" A 127.0.0.1
	"$CPCMD" site:add "p$i.test" "['ip':'127.0.0.1']" >/dev/null || t_bail "site:add p$i.test"
	"$CPCMD" -d "site$i" letsencrypt:request "[p$i.test]" >/dev/null 2>&1 || t_bail "issuance for site$i"
done

# --- progress --------------------------------------------------------------------
out=$(script -qefc "$CPCMD letsencrypt:reissue-all" /dev/null </dev/null 2>&1)
t_ok $? "reissue-all on a terminal succeeds"
t_like "$out" $'\r\[#{40}\] 3/3 done, 0 failed, [0-9]+\.[0-9]/s' "  and ends its progress line with 3/3 done, 0 failed and the rate"
t_like "$out" $'\r\[#{13}\.{27}\] 1/3 done, 0 failed, [0-9]+\.[0-9]/s, about [0-9]+s left' \
	"  after the first: 1/3, the rate and the time left"
c_run letsencrypt:reissue-all
t_is "$RC" 0 "reissue-all off a terminal succeeds"
t_unlike "$ERR" "done, " "  with no progress line"
t_like "$OUT" "result: renewed" "  the result alone on stdout"

# --- syslog ----------------------------------------------------------------------
dev=$H_DIR/dev log=$H_DIR/syslog
mkdir -p "$dev"
for n in null zero full random urandom tty; do : >"$dev/$n"; done
socat -u UNIX-RECV:"$dev/log",mode=0666 OPEN:"$log",creat,append &
socat_pid=$!
h__record_pid socat "$socat_pid" >/dev/null   # stopped by the harness even if the test fails
for _ in $(seq 50); do [ -S "$dev/log" ] && break; sleep 0.1; done
[ -S "$dev/log" ] || t_bail "socat did not make $dev/log"
# in_ns CMD… — CMD with this test's socket as /dev/log (a private /dev)
in_ns() {
	unshare --mount --propagation private -- sh -c '
		d=$1; shift
		for n in null zero full random urandom tty; do mount -n --bind "/dev/$n" "$d/$n" || exit 97; done
		mount -n --rbind "$d" /dev || exit 97
		exec "$@"' sh "$dev" "$@"
}
# the datagrams since byte OFFSET, one a line (each starts "<PRI>Mmm dd hh:mm:ss ")
lines_since() { tail -c +"$(($1 + 1))" "$log" | sed -E 's/<([0-9]{1,3})>([A-Z][a-z]{2} [ 0-9]{2} )/\n<\1>\2/g' | sed '/^$/d'; }
now=$(date +%s)
sqlite3 "$CPSSL_HOME/storage/cpssl.db" "UPDATE certificates SET not_before = $now - 85 * 86400, not_after = $now + 5 * 86400 WHERE is_current = 1 AND site_id IN (1, 2)"
"$CPCMD" -d site2 site:set-setting letsencrypt.profile bogus >/dev/null 2>&1
mark=$(stat -c %s "$log")
OUT=$(in_ns "$CPCMD" letsencrypt:housekeeping 2>"$H_DIR/err"); RC=$?
t_is "$RC" 1 "a pass renewing site1 while site2 fails: exit 1" || t_diag "$(cat "$H_DIR/err")"
for _ in $(seq 50); do lines_since "$mark" | grep -q 'renewed, .* failed' && break; sleep 0.1; done
got=$(lines_since "$mark")
t_like "$got" "^<30>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} cpssl\[[0-9]+\]: housekeeping: site1 \(p1\.test\): renewed" \
	"site1: one line, daemon.info, ident cpssl with its pid: renewed"
t_is "$(grep -cE "^<27>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} cpssl\[[0-9]+\]: housekeeping: site2 \(p2\.test\): failed: .*profile" <<<"$got")" 1 \
	"site2: daemon.err, failed, with the reason"
t_is "$(grep -cE "^<28>.*: housekeeping: 1 renewed, 1 failed, 0 skipped in [0-9]+\.[0-9] s$" <<<"$got")" 1 \
	"the counts: daemon.warning when something failed"
t_is "$(grep -c 'housekeeping: site3' <<<"$got")" 0 "  nothing for site3, which was not due"
t_is "$(grep -c 'housekeeping: ' <<<"$got")" 3 "  three lines in all"
key=$(sed -n 2p "$(c_site_dir site1)/privkey.pem")
[ -n "$key" ] || t_bail "no private key of site1's to look for"
grep -qF -- "$key" "$log"; t_isnt "$?" 0 "  no private key in the log"
grep -qF -- "$H_TSIG_SECRET" "$log"; t_isnt "$?" 0 "  nor the TSIG secret"

"$CPCMD" -d site2 site:set-setting letsencrypt.profile null >/dev/null 2>&1
mark=$(stat -c %s "$log")
OUT=$(in_ns "$CPCMD" letsencrypt:reissue-all 2>/dev/null); RC=$?
t_is "$RC" 0 "reissue-all"
for _ in $(seq 50); do lines_since "$mark" | grep -q 'reissue-all: 3 renewed' && break; sleep 0.1; done
got=$(lines_since "$mark")
t_is "$(grep -cE '^<30>.*cpssl\[[0-9]+\]: reissue-all: site[123] \(p[123]\.test\): renewed' <<<"$got")" 3 \
	"  logs a line for each of the three sites"
t_like "$got" "reissue-all: 3 renewed, 0 failed, 0 skipped in" "  and its counts"

# (a pass with nothing due still logs its counts)
mark=$(stat -c %s "$log")
OUT=$(in_ns "$CPCMD" letsencrypt:housekeeping 2>/dev/null); RC=$?
t_is "$RC" 3 "a pass with nothing due (exit 3)"
for _ in $(seq 50); do lines_since "$mark" | grep -q 'housekeeping: 0 renewed' && break; sleep 0.1; done
t_like "$(lines_since "$mark")" "^<30>.*housekeeping: 0 renewed, 0 failed, 0 skipped in" "  logs its counts alone"
"$CPCMD" scope:set cp.config cpssl syslog false >/dev/null 2>&1
mark=$(stat -c %s "$log")
OUT=$(in_ns "$CPCMD" letsencrypt:housekeeping 2>/dev/null); RC=$?
t_is "$RC" 3 "syslog = false: a pass"
sleep 0.5
t_is "$(stat -c %s "$log")" "$mark" "  logs nothing"
h__stop_pid "$socat_pid" "" socat && h__unrecord_pid "$socat_pid"
t_done
