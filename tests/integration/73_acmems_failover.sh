#!/usr/bin/env bash
# also-asan
# cpssl-acmems with a fallback CA, against two real Pebbles (2.10) and
# BIND: [account] fallback-server names the second CA; register creates an
# account at each (--accept-terms accepting both), and serve refuses to run
# while a configured CA has none; with both up the primary
# signs; with the primary cut off (a TCP relay in front of it stopped) the
# same POST /sign is signed by the fallback at once (a WARNING names both
# CAs, the request line names the CA that signed), later requests go
# straight to it, and status shows the primary passed over; a client's own validation failure (a name no host
# answers for) is a 502 that does not count against the CA; after
# failover-retry-hours (the clock moved with CPSSL_NOW) the primary, back
# up, signs again. A fallback-server that is not an https:// URL is refused.
# Each Pebble makes its own issuing root: the chain says which one signed.
. "$(dirname "$0")/../harness/lib.sh"
h_init
top=$(cd "$(dirname "$0")/../.." && pwd)
AM=${ACMEMS:-$(dirname "${CPCMD:-$top/build/plain/cpcmd}")/cpssl-acmems}
[ -x "$AM" ] || t_bail "$AM is missing (make)"
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
h_start_bind test || t_bail "cannot start BIND"
h_start_pebble || t_bail "the primary Pebble did not start"
cp "$H_PEBBLE_ROOT" "$H_DIR/p1-root.pem"
# the primary is reached through a TCP relay on 127.0.0.1 that the test cuts
# and restores: the CA goes away and comes back with its accounts (a
# restarted Pebble would have forgotten them; a real CA does not)
P1_PORT=$H_PEBBLE_PORT RELAY=$(h_free_port) || t_bail "no port"
P1_URL=https://127.0.0.1:$RELAY/dir
relay_up() {
	socat "TCP-LISTEN:$RELAY,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$P1_PORT" 2>/dev/null &
	RELAY_PID=$!
	h__record_pid relay "$RELAY_PID" >/dev/null
	h__wait_listen "$RELAY" "$RELAY_PID" 15 || t_bail "the relay does not listen"
}
relay_down() { # the relay and the connections it forked
	pkill -TERM -P "$RELAY_PID" 2>/dev/null
	kill -TERM "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
	h__unrecord_pid "$RELAY_PID"
}
relay_up
# the second Pebble on its own ports (the same TLS certificate and http-01
# port; the two append to one log, so a count there while the primary is
# cut off is the fallback's)
unset H_PEBBLE_PID H_PEBBLE_PORT H_PEBBLE_MGMT_PORT H_PEBBLE_TLS_PORT
h_start_pebble || t_bail "the second Pebble did not start"
P2_URL=$H_PEBBLE_DIR_URL
cp "$H_PEBBLE_ROOT" "$H_DIR/p2-root.pem"
t_isnt "$P1_URL" "$P2_URL" "two Pebbles: $P1_URL and $P2_URL"
for n in a.fo.test b.fo.test c.fo.test d.fo.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
h_dns_add dead.fo.test A 127.0.0.2 || t_bail "cannot add dead.fo.test"
MGMT=$(h_free_port) || t_bail "no port"
W=$H_DIR/am
mkdir -p "$W" && cd "$W" || t_bail "no $W"
# conf [FALLBACK] — the service's configuration
conf() {
	cat >"$W/acmems.ini" <<EOF
[account]
acme-server = $P1_URL
fallback-server = ${1:-$P2_URL}
failover-after = 2
failover-retry-hours = 24
dir = $W/account
ca-bundle = $H_PEBBLE_TLS_CA
[mgmt]
mgmt = 127.0.0.1:$MGMT
[verification "http"]
type = http01
listener = 127.0.0.1:$H_HTTP_PORT
[storage "file"]
type = file
directory = $W/storage
[auth "fo"]
ip = 127.0.0.1
domain = *.fo.test
storage = file
EOF
}
orders() { grep -c 'POST /order-plz' "$1"; }
signed_by() { openssl verify -CAfile "$H_DIR/$2-root.pem" -untrusted "$1" "$1" >/dev/null 2>&1; }
csr() { # csr NAME — NAME.key and NAME.csr
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -out "$1.csr" 2>/dev/null
}
post() { # post NAME → CODE, NAME.pem
	CODE=$(curl -sS -o "$1.pem" -w '%{http_code}' --max-time 120 --data-binary "@$1.csr" \
		"http://127.0.0.1:$MGMT/sign" 2>&1)
}
serve() { # serve [ENV…] — start the service, its log in serve.log
	env "$@" "$AM" -c "$W/acmems.ini" serve 2>>"$W/serve.log" &
	AMPID=$!
	h__record_pid acmems "$AMPID" >/dev/null
	h__wait_listen "$MGMT" "$AMPID" 15 || t_bail "cpssl-acmems does not listen: $(cat "$W/serve.log")"
}
stop_serve() { kill -TERM "$AMPID"; wait "$AMPID"; h__unrecord_pid "$AMPID"; }
status() { "$AM" -c "$W/acmems.ini" status -o json; }
for n in a b c d dead; do csr "$n.fo.test"; done

# --- configuration --------------------------------------------------------------------------
conf "http://127.0.0.1:1/dir"
out=$("$AM" -c "$W/acmems.ini" register --email admin@fo.test --accept-terms 2>&1)
t_is "$?" 1 "a fallback-server that is not an https:// URL is refused"
t_like "$out" "fallback-server: http://127\.0\.0\.1:1/dir is not an https:// URL" "  naming the key and the value"
conf

out=$(timeout 30 "$AM" -c "$W/acmems.ini" serve 2>&1)
t_is "$?" 1 "serve before register is refused (it never accepts a CA's terms itself)"
t_like "$out" "no ACME account at ${P1_URL//./\\.} yet: run cpssl-acmems -c .*acmems\.ini register --email ADDRESS --accept-terms" \
	"  naming the CA and the command to run"
t_is "$(grep -c 'POST /sign-me-up' "$H_DIR/pebble/pebble.log")" 0 "  and no account was made"

# --- register: an account at each CA ----------------------------------------------------------
out=$("$AM" -c "$W/acmems.ini" register --email admin@fo.test --accept-terms 2>&1)
t_is "$?" 0 "register --accept-terms" || t_diag "$out"
t_is "$(grep -c '^account: https://' <<<"$out")" 2 "  two accounts"
t_like "$out" "ca: $P2_URL" "  one of them at the fallback CA"
t_is "$(grep -c 'POST /sign-me-up' "$H_DIR/pebble/pebble.log")" 2 "  one new account at each Pebble"
grep -q "^fallback_servers = $P2_URL\$" "$W/account/etc/config.ini"
t_ok $? "  the account directory's config.ini has the fallback, in step with this file"
# a fallback added later has no account until register runs again
conf "$P2_URL
fallback-server = https://127.0.0.1:$RELAY/other-dir"
out=$(timeout 30 "$AM" -c "$W/acmems.ini" serve 2>&1)
t_like "$?:$out" "^1:.*no ACME account at https://127\.0\.0\.1:$RELAY/other-dir yet" \
	"serve is refused while a fallback-server has no account"
conf

# --- both up: the primary signs ---------------------------------------------------------------
serve
post a.fo.test
t_is "$CODE" 200 "both CAs up: a.fo.test is signed"
signed_by a.fo.test.pem p1
t_ok $? "  by the primary (its root)"
t_like "$(tail -n 1 "$W/account/requests.log")" "names=a\.fo\.test status=200 issued serial [0-9A-Fa-f]+ by ${P1_URL//./\\.} " \
	"  the request line names the CA that signed"
st=$(status)
t_is "$(jq -r '[.cas[] | "\(.role) \(.url) \(.failures) \(.passed_over_until)"] | join("; ")' <<<"$st")" \
	"primary $P1_URL 0 null; fallback $P2_URL 0 null" "  status: both CAs, in order, in service"

# --- the primary cut off: the fallback signs at once --------------------------------------------
relay_down
o2=$(orders "$H_DIR/pebble/pebble.log")
post b.fo.test
t_is "$CODE" 200 "the primary cut off: b.fo.test is still signed"
signed_by b.fo.test.pem p2
t_ok $? "  by the fallback (its root)"
signed_by b.fo.test.pem p1
t_isnt "$?" 0 "  not by the primary"
t_like "$(cat "$W/serve.log")" "WARNING : the CA ${P1_URL//./\\.} cannot be reached; it is passed over until [0-9T:Z-]+, and the CA ${P2_URL//./\\.} is used instead" \
	"  a WARNING names both CAs"
t_like "$(tail -n 1 "$W/account/requests.log")" "status=200 issued serial [0-9A-Fa-f]+ by ${P2_URL//./\\.} " \
	"  the request line names the fallback"
st=$(status)
t_like "$(jq -r '.cas[0] | "\(.failures) \(.passed_over_until) \(.last_error)"' <<<"$st")" \
	"^1 [0-9T:-]+Z .+" "  status: the primary passed over, with its error"
post c.fo.test
t_is "$CODE" 200 "the next request is signed"
signed_by c.fo.test.pem p2
t_ok $? "  by the fallback"
t_like "$(cat "$W/serve.log")" "using the CA ${P2_URL//./\\.}: ${P1_URL//./\\.} is passed over" "  going straight to it"
t_is "$(($(orders "$H_DIR/pebble/pebble.log") - o2))" 2 "  two orders at the fallback"
post b.fo.test
t_is "$CODE:$(tail -n 1 "$W/account/requests.log" | grep -o 'status=200 cached')" "200:status=200 cached" \
	"the fallback's certificate is cached like any other"

# --- a client's own failure does not count against the CA ----------------------------------------
post dead.fo.test
t_is "$CODE" 502 "a name no host answers for: 502"
t_like "$(cat dead.fo.test.pem)" "the CA did not sign: " "  with the CA's reason"
st=$(status)
t_is "$(jq -r '.cas[1].failures' <<<"$st")" 0 "  and the fallback's failures stay 0" || t_diag "$st"
stop_serve

# --- 25 hours later, the primary back: it signs again --------------------------------------------
relay_up
serve CPSSL_NOW=$(($(date +%s) + 25 * 3600))
post d.fo.test
t_is "$CODE" 200 "25 hours later, the primary up again: d.fo.test is signed" || t_diag "$(tail -n 3 "$W/serve.log")"
signed_by d.fo.test.pem p1
t_ok $? "  by the primary again"
st=$("$AM" -c "$W/acmems.ini" status -o json)
t_is "$(jq -r '.cas[0] | "\(.failures) \(.passed_over_until)"' <<<"$st")" "0 null" \
	"  its success clears its failures"
stop_serve
t_unlike "$(cat "$W/serve.log" "$W/account/requests.log")" "BEGIN .*PRIVATE" "no key in the logs"
t_done
