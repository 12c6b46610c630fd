#!/usr/bin/env bash
# also-asan
# ACME Renewal Information (RFC 9773) against Pebble 2.10, BIND and Apache:
# the CertID cpssl computes is the one openssl's view of the certificate
# gives; an issuance asks at once for the new certificate's window, which
# letsencrypt:status and letsencrypt:list show as Pebble suggests it; a pass
# asks again only once Pebble's Retry-After (6 hours) has passed, and then
# once; a window Pebble moves into the past (as for a mass revocation)
# renews at that pass, the new order naming the certificate it replaces,
# which Pebble accepts; a later window than the configured one wins over
# lookahead_days, and [letsencrypt] ari false goes back to the configured
# window; a refused "replaces" is ordered again without it; and with
# bookworm's Pebble 2.4, which has no renewalInfo, nothing is asked and
# lookahead_days decides.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
c_servers test
c_configure
db=$CPSSL_HOME/storage/cpssl.db
plog=$H_DIR/pebble/pebble.log
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
# renewalInfo GETs Pebble has answered so far
ari_gets() { grep -c 'GET /draft-ietf-acme-ari-03/renewalInfo/ -> calling handler()' "$plog"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
epoch() { date -u -d "$1" +%s; }
b64url() { xxd -r -p | basenc --base64url -w0 | tr -d '='; }
# certid FILE — RFC 9773 §4.1 from what openssl prints: the AKI key
# identifier, the serial's DER content octets (a leading 00 when the top bit is set)
certid() {
	local aki serial
	aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | sed -n '2p' | tr -d ' :' | sed 's/^keyid//')
	serial=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
	(( ${#serial} % 2 )) && serial=0$serial
	[[ ${serial:0:1} == [89A-Fa-f] ]] && serial=00$serial
	printf '%s.%s' "$(b64url <<<"$aki")" "$(b64url <<<"$serial")"
}
# set_window FILE START END — Pebble's management endpoint answers this
# window for the certificate from now on
set_window() {
	jq -n --rawfile pem "$1" --arg s "$(iso "$2")" --arg e "$(iso "$3")" \
		'{Certificate: $pem, ARIResponse: ({suggestedWindow: {start: $s, end: $e},
		  explanationURL: "https://ca.test/incident"} | tojson)}' |
		curl -sS -f --max-time 5 --cacert "$H_PEBBLE_TLS_CA" -o /dev/null --data-binary @- \
			"https://127.0.0.1:$H_PEBBLE_MGMT_PORT/set-renewal-info/"
}
json() { jq -r "$1" <<<"$OUT"; }

h_dns_add a.test A 127.0.0.1
c_run site:add a.test "['ip':'127.0.0.1']"
now=$(date +%s)

# --- the issuance asks at once ----------------------------------------------------------
g0=$(ari_gets)
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "issued by Pebble 2.10"
t_is "$(( $(ari_gets) - g0 ))" 1 "  and its renewal information asked for at once (one GET)"
cert=$(c_site_dir site1)/cert.pem
id=$(certid "$cert")
t_is "$(q "SELECT ari_id FROM certificates WHERE site_id = 1 AND is_current = 1")" "$id" \
	"the CertID is base64url(AKI key identifier).base64url(serial), as openssl's view gives it"
pebble=$(curl -sS --max-time 5 --cacert "$H_PEBBLE_TLS_CA" \
	"$(jq -r .renewalInfo <<<"$(curl -sS --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL")")/$id")
p_start=$(epoch "$(jq -r .suggestedWindow.start <<<"$pebble")")
p_end=$(epoch "$(jq -r .suggestedWindow.end <<<"$pebble")")
c_run -o json -d site1 letsencrypt:status
t_is "$(json .ari.start):$(json .ari.end)" "$(iso "$p_start"):$(iso "$p_end")" \
	"letsencrypt:status shows the window Pebble suggests" || t_diag "$pebble / $OUT"
renew_at=$(epoch "$(json .ari.renew_at)")
t_ok $(( renew_at >= p_start && renew_at <= p_end ? 0 : 1 )) "  a renewal time inside it ($(json .ari.renew_at))"
t_is "$(json .next_renewal)" "$(json .ari.renew_at)" "  which is the next renewal"
t_ok $(( renew_at < $(epoch "$(json .renewal_window.from)") ? 0 : 1 )) \
	"  earlier than the configured window's start ($(json .renewal_window.from)): the CA's wins"
check=$(epoch "$(json .ari.next_check)")
t_ok $(( check >= now + 6 * 3600 && check <= $(date +%s) + 6 * 3600 ? 0 : 1 )) \
	"  asked again after Pebble's Retry-After, 6 hours ($(json .ari.next_check))"
c_run -o json letsencrypt:list
t_is "$(jq -r '.[] | select(.site == "site1") | .next_renewal' <<<"$OUT")" "$(iso "$renew_at")" \
	"letsencrypt:list's next renewal is the time inside the CA's window"

# --- passes ask only when the time has come -------------------------------------------
g0=$(ari_gets)
c_run letsencrypt:housekeeping
t_is "$RC:$(( $(ari_gets) - g0 ))" "3:0" "a pass at once: nothing due, nothing asked (Retry-After has not passed)"
t6=$(( check + 60 ))
g0=$(ari_gets)
CPSSL_NOW=$t6 DEBUG=1 c_run letsencrypt:housekeeping
t_is "$RC:$(( $(ari_gets) - g0 ))" "3:1" "6 hours later: one GET, still nothing due"
t_like "$ERR" "renewal information: asked the CA about 1 certificate \(0 failed, 0 windows moved\), 0 left" \
	"  the pass says what it asked"
g0=$(ari_gets)
CPSSL_NOW=$(( t6 + 600 )) c_run letsencrypt:housekeeping
t_is "$RC:$(( $(ari_gets) - g0 ))" "3:0" "  and the next pass asks nothing"
t_is "$(q "SELECT ari_renew_at FROM certificates WHERE site_id = 1 AND is_current = 1")" "$renew_at" \
	"  the same window keeps the time chosen inside it"

# --- a window moved into the past: renewed at the next pass, replacing the old one ------------
serial0=$(q "SELECT serial FROM certificates WHERE site_id = 1 AND is_current = 1")
set_window "$cert" $(( now - 7200 )) $(( now - 3600 )) || t_bail "Pebble's set-renewal-info failed"
t12=$(( t6 + 6 * 3600 + 60 ))
g0=$(ari_gets)
r0=$(grep -c 'is a replacement of' "$plog")
CPSSL_NOW=$t12 c_run -o json letsencrypt:housekeeping
t_is "$RC" 0 "Pebble moves the window into the past: the next pass renews"
t_is "$(jq -r '.[0].site + " " + .[0].result' <<<"$OUT")" "site1 renewed" "  site1"
t_like "$ERR" "INFO    : site1: the CA suggests renewing now \(its window: $(iso $(( now - 7200 ))) to $(iso $(( now - 3600 )))\); why: https://ca\.test/incident" \
	"  saying why, with the CA's explanation URL"
t_is "$(( $(grep -c 'is a replacement of' "$plog") - r0 ))" 1 "  the new order named the certificate it replaces, and Pebble accepted it"
t_is "$(( $(ari_gets) - g0 ))" 2 "  two GETs: the pass's, and the new certificate's at once"
serial1=$(q "SELECT serial FROM certificates WHERE site_id = 1 AND is_current = 1")
t_isnt "$serial1" "$serial0" "  a new certificate is current"
t_is "$(q "SELECT ari_check_at IS NOT NULL AND ari_renew_at > $t12 FROM certificates WHERE site_id = 1 AND is_current = 1")" 1 \
	"  with its own window, in the future"

# --- a later window than the configured one wins; ari false goes back to it -----------------
cert=$(c_site_dir site1)/cert.pem
na=$(q "SELECT not_after FROM certificates WHERE site_id = 1 AND is_current = 1")
set_window "$cert" $(( na - 2 * 86400 )) $(( na - 86400 )) || t_bail "Pebble's set-renewal-info failed"
late=$(( na - 5 * 86400 ))
g0=$(ari_gets)
CPSSL_NOW=$late c_run letsencrypt:housekeeping
t_is "$RC:$(( $(ari_gets) - g0 ))" "3:1" "5 days before expiry (inside lookahead_days 10), the CA's window 2 to 1 days before: asked, not due"
CPSSL_NOW=$late c_run -o json -d site1 letsencrypt:status
t_is "$(json .due):$(json .ari.start)" "false:$(iso $(( na - 2 * 86400 )))" "  letsencrypt:status: not due, the CA's window"
renew_at=$(epoch "$(json .ari.renew_at)")
t_ok $(( renew_at >= na - 2 * 86400 && renew_at < na - 86400 ? 0 : 1 )) "  renewing inside it ($(json .ari.renew_at))"
t_is "$(json .next_renewal)" "$(json .ari.renew_at)" "  next_renewal follows it"
c_run scope:set cp.config letsencrypt ari false
CPSSL_NOW=$late c_run -o json -d site1 letsencrypt:status
t_is "$(json .due):$(json .ari):$(json .next_renewal)" "true:null:$(json .renewal_window.from)" \
	"[letsencrypt] ari false: the configured window again (due), no ARI shown"
c_run scope:set cp.config letsencrypt ari true

# --- a refused "replaces" is ordered again without it ----------------------------------------
# (the old certificate's CertID, already replaced, in place of the current one's)
q "UPDATE certificates SET ari_id = '$id' WHERE site_id = 1 AND is_current = 1"
DEBUG=1 c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "a renewal naming a certificate Pebble has seen replaced succeeds"
t_like "$ERR" "the CA refused the order naming the certificate it replaces \(.*alreadyReplaced.*\); ordering without replaces" \
	"  after Pebble's alreadyReplaced, ordered again without replaces (DEBUG)"

# --- a CA without renewalInfo: nothing asked, lookahead_days decides --------------------------
h_stop_pebble
unset H_PEBBLE_BIN
h_start_pebble || t_bail "Pebble 2.4 did not start"
l0=$(wc -l <"$plog")
t_is "$(curl -sS --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -r '.renewalInfo')" null \
	"bookworm's Pebble 2.4 serves the same URL, without renewalInfo"
h_dns_add b.test A 127.0.0.1
c_run site:add b.test "['ip':'127.0.0.1']"
DEBUG=1 c_run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "issued by Pebble 2.4"
t_unlike "$ERR" "renewalInfo" "  nothing asked about renewal information"
c_run -o json -d site2 letsencrypt:status
t_is "$(json .ari):$(json .next_renewal)" "null:$(json .renewal_window.from)" "  no ARI window: the configured one is the next renewal"
n=$(date +%s)
q "UPDATE certificates SET not_before = $n - 85 * 86400, not_after = $n + 5 * 86400 WHERE site_id = 2 AND is_current = 1"
DEBUG=1 c_run -o json letsencrypt:housekeeping
t_is "$RC:$(jq -r 'map(select(.result == "renewed") | .site) | join(" ")' <<<"$OUT")" "0:site2" \
	"a 90-day certificate 5 days from expiry is renewed by lookahead_days"
t_like "$ERR" "renewal information: the CA offers none \(no renewalInfo in its directory\); the configured window applies" \
	"  the pass says the CA has no ARI (DEBUG)"
t_is "$(tail -n +"$l0" "$plog" | grep -c 'renewalInfo')" 0 "  and Pebble 2.4 was never asked"
# the CA's directory is looked at again a day later, not every pass (the
# next pass looks once more, for the certificate just renewed)
c_run letsencrypt:housekeeping
l1=$(wc -l <"$plog")
DEBUG=1 c_run letsencrypt:housekeeping
t_is "$RC" 3 "a later pass: nothing due"
t_is "$(tail -n +"$((l1 + 1))" "$plog" | grep -c -- '-> calling handler()')" 0 \
	"  and not a single request to the CA, which offered no renewal information an hour ago" ||
	t_diag "$(tail -n +"$((l1 + 1))" "$plog" | grep -- '-> calling handler()'; echo "$ERR" | grep -i 'http\|renewal')"
CPSSL_NOW=$(($(date +%s) + 86400 + 60)) DEBUG=1 c_run letsencrypt:housekeeping
t_like "$ERR" "renewal information: the CA offers none" "  a day later its directory is looked at again"
t_done
