#!/usr/bin/env bash
# CA and network faults against real Pebble, BIND and Apache: validation that
# fails the first time (the CA's detail reported, a backoff recorded, a later
# attempt succeeds), a DNS provider refusing the TSIG key or stopped (a clear
# error naming provider and zone, and no order placed), and Pebble stopped in
# the middle of an order, then restarted with new roots (a clear error in
# bounded time, nothing deployed; the next request succeeds against the new
# CA). Pebble's badNonce behaviour is 41_issue_badnonce; HTTP 429 with
# Retry-After, which Pebble cannot produce, is in unit/test_acme.c and
# unit/test_store.c.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
faulty=$top/build/asan/cpcmd
h_init
c_servers test
c_configure
for n in a.test f1.a.test f2.a.test k1.a.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run site:add a.test "['ip':'127.0.0.1']"
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
orders() { q "SELECT count(*) FROM acme_orders"; }
conf=$H_DIR/fsroot/home/virtual/site1/fst/etc/httpd/conf
c_run -d site1 letsencrypt:request '[a.test]'
[ "$RC" = 0 ] || t_bail "the first certificate failed: $ERR"

# --- validation fails the first time, succeeds later ---------------------------------------
c_run -d site1 letsencrypt:use-mechanism f1.a.test http
c_run scope:set cp.config letsencrypt challenge_dir "$H_DIR/not-served"
before=$(fp "$conf/ssl.crt/server.crt")
c_run -d site1 letsencrypt:request '[a.test,f1.a.test]'
t_is "$RC" 1 "validation fails while the challenge is not served"
t_like "$ERR" "f1\.a\.test: the http-01 challenge failed: .*(404|unauthorized|Not Found)" "  the CA's detail is reported, naming the host"
t_is "$(fp "$conf/ssl.crt/server.crt")" "$before" "  nothing deployed"
t_is "$(find "$H_DIR/not-served" -type f 2>/dev/null | wc -l)" 0 "  the challenge file is removed"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq -r .failures <<<"$OUT")" 1 "  status counts the failure"
t_like "$(jq -r .last_error.detail <<<"$OUT")" "f1\.a\.test" "  with its detail"
next=$(jq -r .next_attempt <<<"$OUT")
t_ok $(( $(date -d "$next" +%s) >= $(date +%s) + 3500 ? 0 : 1 )) "  and backs off: next attempt at $next"
c_run scope:set cp.config letsencrypt challenge_dir "$H_CHALLENGE_DIR"
c_run -d site1 letsencrypt:request '[a.test,f1.a.test]'
t_is "$RC" 0 "a later attempt, the challenge served, succeeds"
t_is "$(c_sans "$conf/ssl.crt/server.crt" | tr '\n' ' ')" "a.test f1.a.test " "  and is deployed"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq -r '.failures, .next_attempt' <<<"$OUT" | tr '\n' ' ')" "0 null " "  the failure count and backoff are reset"

# --- the DNS provider refuses the key, or is down: no order placed -------------------------
c_run scope:set cp.config dns rfc2136_key_secret "$(head -c 32 /dev/urandom | base64)"
o=$(orders)
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test,*.a.test]'
t_is "$RC" 1 "a wrong TSIG key fails the request"
t_like "$ERR" "ERROR.*dns-01 validation is needed for \*\.a\.test,a\.test: rfc2136: checking that it accepts updates for _acme-challenge\.a\.test: the TSIG key was refused by 127\.0\.0\.1:$H_DNS_PORT for zone test" \
	"  naming the provider, server and zone"
t_like "$ERR" "rfc2136_key_name/rfc2136_key_secret" "  and the settings to check"
t_is "$(grep -c 'order-plz' <<<"$ERR")" 0 "  before any order is placed"
t_is "$(orders)" "$o" "  no order recorded"
c_run scope:set cp.config dns rfc2136_key_secret "$H_TSIG_SECRET"
h_stop_bind
DEBUG=1 c_run -d site1 letsencrypt:request '[*.a.test]'
t_is "$RC" 1 "a stopped DNS server fails the request"
t_like "$ERR" "ERROR.*rfc2136.*127\.0\.0\.1:$H_DNS_PORT" "  naming the provider and server"
t_is "$(grep -c 'order-plz' <<<"$ERR")" 0 "  before any order is placed"
t_is "$(orders)" "$o" "  no order recorded"
h_restart_bind || t_bail "BIND did not come back"

# --- Pebble stopped mid-order, then restarted with new roots -----------------------------------
if [ -x "$faulty" ]; then
	before=$(fp "$conf/ssl.crt/server.crt")
	CPSSL_FAULT_STOP=issue-after-publish timeout 300 "$faulty" -d site1 letsencrypt:request '[a.test,k1.a.test]' \
		>/dev/null 2>"$H_DIR/k1.err" &
	job=$!
	for ((i = 0; i < 300; i++)); do
		pid=$(pgrep -P "$job" -f 'letsencrypt:request' | head -n 1)
		[ -n "$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = T ] && break
		sleep 0.1
	done
	t_is "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" T "cpcmd stopped after publishing the challenges"
	h_stop_pebble
	kill -CONT "$pid"
	wait "$job"
	rc=$?
	t_is "$rc" 1 "with Pebble gone, the request fails (no hang: timeout 300 did not fire)"
	t_like "$(cat "$H_DIR/k1.err")" "ERROR.*(ACME server|127\.0\.0\.1:$H_PEBBLE_PORT).*(connect|refused|reach)" "  with a clear error naming the CA"
	t_is "$(fp "$conf/ssl.crt/server.crt")" "$before" "  nothing deployed"
	t_is "$(find "$H_CHALLENGE_DIR" -type f | wc -l)" 0 "  the challenge file is removed"
	h_start_pebble || t_bail "Pebble did not restart"
	c_run -d site1 letsencrypt:request '[a.test,k1.a.test]'
	t_is "$RC" 0 "the restarted CA (new roots, no memory of the account or order) issues"
	c_verify "$(c_site_dir site1)"; t_ok $? "  a certificate chaining to the new root"
	t_is "$(c_sans "$conf/ssl.crt/server.crt" | tr '\n' ' ')" "a.test k1.a.test " "  deployed"
else
	t_ok 1 "the fault-injection build ($faulty) is missing"
fi
t_done
