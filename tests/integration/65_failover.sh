#!/usr/bin/env bash
# also-asan
# Failover between CAs against two real Pebbles (2.10): [letsencrypt]
# server is the primary, fallback_servers the second. The primary stopped
# (unreachable): the same request goes to the fallback at once with a
# WARNING, registers an account there and stores the certificate under the
# fallback's directory; status shows the issuing CA and the failover state;
# a certificate from either CA renews. After failover_retry_hours (the
# clock moved with CPSSL_NOW) the primary is used again; a site's own
# validation failure does not count against it; a primary that answers
# errors (Pebble rejecting every nonce: PEBBLE_WFE_NONCEREJECT=100) is left
# after failover_after failures. A bad fallback URL is refused naming the key.
# Each Pebble makes its own issuing root: the chain says which one issued.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
c_servers test
c_configure
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }

# the primary's variables, then a second Pebble on its own ports (the same
# TLS certificate, the same http-01 port: this test's Apache)
P1_URL=$H_PEBBLE_DIR_URL P1_PID=$H_PEBBLE_PID
P1_PORTS=("$H_PEBBLE_PORT" "$H_PEBBLE_MGMT_PORT" "$H_PEBBLE_TLS_PORT")
cp "$H_PEBBLE_ROOT" "$H_DIR/p1-root.pem"
unset H_PEBBLE_PID H_PEBBLE_PORT H_PEBBLE_MGMT_PORT H_PEBBLE_TLS_PORT
h_start_pebble || t_bail "the second Pebble did not start"
P2_URL=$H_PEBBLE_DIR_URL P2_PID=$H_PEBBLE_PID
cp "$H_PEBBLE_ROOT" "$H_DIR/p2-root.pem"
t_isnt "$P1_URL" "$P2_URL" "two Pebbles: $P1_URL and $P2_URL"
t_isnt "$(openssl x509 -in "$H_DIR/p1-root.pem" -noout -fingerprint)" \
	"$(openssl x509 -in "$H_DIR/p2-root.pem" -noout -fingerprint)" "  each with its own issuing root"
dir_of() { local s=${1#https://}; printf '%s' "${s//\//.}"; }
P1_DIR=$(dir_of "$P1_URL") P2_DIR=$(dir_of "$P2_URL")
# start_p1 [NONCEREJECT] — the primary again, on its ports (a new root)
start_p1() {
	H_PEBBLE_PORT=${P1_PORTS[0]} H_PEBBLE_MGMT_PORT=${P1_PORTS[1]} H_PEBBLE_TLS_PORT=${P1_PORTS[2]}
	unset H_PEBBLE_PID
	H_PEBBLE_NONCEREJECT=${1:-0} h_start_pebble || t_bail "the primary Pebble did not start"
	P1_PID=$H_PEBBLE_PID
	cp "$H_PEBBLE_ROOT" "$H_DIR/p1-root.pem"
}
stop_p1() { H_PEBBLE_PID=$P1_PID h_stop_pebble; }
# from CA SITE — which Pebble's root the site's stored certificate chains to
from() {
	local d=$CPSSL_HOME/storage/certificates/data/certs/$1/$2/current
	openssl verify -CAfile "$H_DIR/$3-root.pem" -untrusted "$d/chain.pem" "$d/cert.pem" >/dev/null 2>&1
}
status() { c_run -o json -d "$1" letsencrypt:status; }
for n in a.test b.test c.test dead.c.test; do
	h_dns_add "$n" A "$([ "$n" = dead.c.test ] && echo 127.0.0.2 || echo 127.0.0.1)" ||
		t_bail "cannot add $n"
done
c_run site:add a.test "['ip':'127.0.0.1']"
c_run site:add b.test "['ip':'127.0.0.1']"
c_run site:add c.test "['ip':'127.0.0.1']"

# --- configuration ---------------------------------------------------------------------------
c_run scope:set cp.config letsencrypt fallback_servers "$P2_URL,http://127.0.0.1:1/dir"
t_is "$RC" 1 "a fallback that is not an https:// URL is refused"
t_like "$ERR" "invalid value 'http://127\.0\.0\.1:1/dir' for \[letsencrypt\] fallback_servers: expected a comma-separated list of https:// URLs" \
	"  naming the key and the value"
c_run -o json scope:get cp.config letsencrypt fallback_servers
t_is "$(jq -r 'length' <<<"$OUT")" 0 "  nothing was written"
c_run scope:set cp.config letsencrypt fallback_servers "$P2_URL"
t_is "$RC" 0 "fallback_servers: the second Pebble" || t_diag "$ERR"
c_run scope:set cp.config letsencrypt failover_after 2
c_run scope:set cp.config letsencrypt failover_retry_hours 24
t_is "$RC" 0 "failover_after 2, failover_retry_hours 24"

# --- both up: the primary --------------------------------------------------------------------
c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "both CAs up: site1 is issued" || t_diag "$ERR"
from "$P1_DIR" site1 p1; t_ok $? "  by the primary (its root), stored under its directory"
status site1
t_is "$(jq -r '.server, .from_fallback_ca, .ca.in_use, .ca.failed_over_from' <<<"$OUT" | tr '\n' ' ')" \
	"$P1_URL false $P1_URL null " "  status: the primary issued it and is in use"

# --- the primary cannot be reached: the fallback at once --------------------------------------
stop_p1
c_run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "primary stopped: site2 is issued in the same request" || t_diag "$ERR"
t_like "$ERR" "WARNING : the CA ${P1_URL//./\\.} cannot be reached; it is passed over until [0-9T:-]+Z, and the CA ${P2_URL//./\\.} is used instead" \
	"  with a WARNING naming both CAs"
from "$P2_DIR" site2 p2; t_ok $? "  by the fallback (its root), stored under its directory"
t_ok "$( [ -s "$CPSSL_HOME/storage/certificates/data/accounts/$P2_DIR/account.key" ]; echo $?)" \
	"  an account key of its own in accounts/$P2_DIR"
t_like "$(q "SELECT kid FROM acme_accounts WHERE server = '$P2_URL'")" "^https://127\.0\.0\.1:[0-9]+/" \
	"  the account registered at the fallback is recorded for it"
status site2
t_is "$(jq -r '.server, .from_fallback_ca, .from_configured_ca' <<<"$OUT" | tr '\n' ' ')" "$P2_URL true true " \
	"  status: the fallback issued it"
t_is "$(jq -r '.ca.in_use, .ca.failed_over_from' <<<"$OUT" | tr '\n' ' ')" "$P2_URL $P1_URL " \
	"  status: the fallback is in use, failed over from the primary"
until_t=$(jq -r .ca.until <<<"$OUT")
c_run -o json letsencrypt:list
t_is "$(jq -r '.[] | select(.site == "site2") | "\(.server) \(.from_fallback_ca)"' <<<"$OUT")" "$P2_URL true" \
	"  letsencrypt:list shows the issuing CA"

# renewals while the primary is passed over: both through the fallback
status site2
serial=$(jq -r .serial <<<"$OUT")
c_run -d site2 letsencrypt:renew
t_is "$RC" 0 "the fallback's certificate renews" || t_diag "$ERR"
t_unlike "$ERR" "cannot be reached" "  the passed-over primary is not tried"
status site2
t_isnt "$(jq -r .serial <<<"$OUT")" "$serial" "  a new certificate"
from "$P2_DIR" site2 p2; t_ok $? "  from the fallback"
c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "the primary's certificate renews while the primary is passed over" || t_diag "$ERR"
from "$P2_DIR" site1 p2; t_ok $? "  through the fallback"
status site1
t_is "$(jq -r .server <<<"$OUT")" "$P2_URL" "  status: issued by the fallback now"

# --- after failover_retry_hours: the primary again ------------------------------------------
start_p1
export CPSSL_NOW=$(($(date +%s) + 25 * 3600))
status site3
t_is "$(jq -r '.ca.in_use, .ca.failed_over_from, .ca.primary_failures' <<<"$OUT" | tr '\n' ' ')" "$P1_URL null 1 " \
	"25 hours later the primary is in use again (one failure on record)"
# a site's own failure does not count: with failover_after 2, one more
# failure of the CA would pass it over
c_run -d site3 letsencrypt:use-mechanism dead.c.test http
c_run -d site3 letsencrypt:request '[dead.c.test]' false
t_is "$RC" 1 "http-01 to an address where nothing listens fails" || t_diag "$ERR"
t_like "$ERR" "dead\.c\.test: the http-01 challenge failed" "  a validation failure of the site's name"
t_unlike "$ERR" "passed over|is used instead" "  the CA is not blamed"
t_is "$(q "SELECT failures FROM ca_health WHERE server = '$P1_URL'")" 1 "  the primary's count is unchanged"
status site3
t_is "$(jq -r .ca.in_use <<<"$OUT")" "$P1_URL" "  and it stays in use"

c_run -d site2 letsencrypt:renew
t_is "$RC" 0 "the fallback's certificate renews through the primary now" || t_diag "$ERR"
from "$P1_DIR" site2 p1; t_ok $? "  from the primary (its new root)"
status site2
t_is "$(jq -r '.server, .from_fallback_ca, .ca.primary_failures' <<<"$OUT" | tr '\n' ' ')" "$P1_URL false 0 " \
	"  status: the primary issued it; its success cleared the count"

# --- the primary answers errors: left after failover_after ------------------------------------
stop_p1
start_p1 100
c_run -d site3 letsencrypt:request '[c.test]'
t_is "$RC" 1 "a primary rejecting every nonce: the first failure fails the request" || t_diag "$ERR"
t_like "$ERR" "badNonce" "  with the CA's error"
t_like "$ERR" "the CA ${P1_URL//./\\.} failed \(1 of 2 failures in a row before the next CA is used\)" \
	"  counted: 1 of 2"
t_is "$(q "SELECT failures FROM ca_health WHERE server = '$P1_URL'")" 1 "  recorded"
c_run -d site3 letsencrypt:request '[c.test]'
t_is "$RC" 0 "the second failure: the same request goes to the fallback" || t_diag "$ERR"
t_like "$ERR" "WARNING : the CA ${P1_URL//./\\.} keeps failing; it is passed over until [0-9T:-]+Z, and the CA ${P2_URL//./\\.} is used instead" \
	"  with a WARNING naming both"
from "$P2_DIR" site3 p2; t_ok $? "  issued by the fallback"
status site3
t_is "$(jq -r '.server, .ca.in_use, .ca.failed_over_from' <<<"$OUT" | tr '\n' ' ')" "$P2_URL $P2_URL $P1_URL " \
	"  status: the fallback issued it and is in use"
t_isnt "$(jq -r .ca.until <<<"$OUT")" "$until_t" "  passed over until a new time"

# --- the housekeeping pass: the same rule ----------------------------------------------------
c_run scope:set cp.config letsencrypt ari false
q "UPDATE certificates SET not_before = $CPSSL_NOW - 85 * 86400, not_after = $CPSSL_NOW + 5 * 86400 WHERE is_current = 1 AND site_id = 2"
c_run -o json letsencrypt:housekeeping
t_is "$(jq -r '.[] | select(.site == "site2") | .result' <<<"$OUT")" renewed \
	"housekeeping renews the primary's due certificate while the primary is passed over" || t_diag "$ERR"
from "$P2_DIR" site2 p2; t_ok $? "  through the fallback"
t_unlike "$ERR" "badNonce" "  the passed-over primary is not asked (not even for the account)"

# --- revocation: at the CA that issued it ----------------------------------------------------
c_run -d site3 letsencrypt:revoke
t_is "$RC" 0 "the fallback's certificate is revoked" || t_diag "$ERR"
status site3
t_is "$(jq -r '.revoked, .server' <<<"$OUT" | tr '\n' ' ')" "true $P2_URL " "  at the fallback, which issued it"

# --- reissue-all: the sites under every configured CA's directory ------------------------------
# site1 and site2 have directories under both CAs' storage, site3 under the fallback's only
c_run -o json letsencrypt:reissue-all
t_is "$(jq -r '[.[] | .site] | sort | join(" ")' <<<"$OUT")" "site1 site2 site3" \
	"reissue-all takes every site stored under the primary's or a fallback's directory, each once" || t_diag "$ERR"
t_is "$(jq -r '[.[] | .result] | unique | join(" ")' <<<"$OUT")" "renewed" "  and reissues them (through the fallback)"
t_done
