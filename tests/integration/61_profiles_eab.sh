#!/usr/bin/env bash
# also-asan
# Pebble 2.10: certificate profiles (newOrder's "profile", checked against the
# directory's meta.profiles), a short-lived certificate's renewal window,
# alternate chains chosen by preferred_chain, a CA without profiles, and the
# external account binding of RFC 8555 §7.3.4 — required, missing, wrong,
# right — with its HMAC key kept off the command line and out of every
# output.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
export PEBBLE_ALTERNATE_ROOTS=2
profiles='"profiles": {"classic": {"description": "90 days", "validityPeriod": 7776000},
	"shortlived": {"description": "6 days", "validityPeriod": 518400}}'
H_PEBBLE_CONFIG="{$profiles}"
c_servers test
c_configure
for n in a.test b.test c.test c0.a.test c1.a.test c2.a.test cn.a.test p.a.test e.a.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
c_run site:add a.test "['ip':'127.0.0.1']"
c_run site:add b.test "['ip':'127.0.0.1']"
c_run site:add c.test "['ip':'127.0.0.1']"
db=$CPSSL_HOME/storage/cpssl.db
outputs=$H_DIR/outputs
# every output of cpcmd, searched for the HMAC key at the end
run() { c_run "$@"; printf '%s\n%s\n' "$OUT" "$ERR" >>"$outputs"; }
epoch() { date -u -d "$1" +%s; }
lifetime() { # the certificate's validity in seconds
	echo $(($(epoch "$(openssl x509 -in "$1/cert.pem" -noout -enddate | cut -d= -f2)") -
		$(epoch "$(openssl x509 -in "$1/cert.pem" -noout -startdate | cut -d= -f2)")))
}
top_issuer() { # the issuer CN of the last certificate of a chain file
	awk -v d="$H_DIR" '/BEGIN CERT/{c++} {print > (d "/part" c)}' "$1"
	openssl x509 -in "$H_DIR/part$(ls "$H_DIR"/part* | wc -l)" -noout -issuer -nameopt multiline |
		sed -n 's/^ *commonName *= *//p'
	rm -f "$H_DIR"/part*
}
cn_of() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'; }

# --- profiles -----------------------------------------------------------------------------
run scope:set cp.config letsencrypt profile shortlived
t_is "$RC" 0 "[letsencrypt] profile shortlived"
run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "site1 orders with the profile" || t_diag "$ERR"
d1=$(c_site_dir site1)
t_is "$(lifetime "$d1")" 518399 "  the certificate lives 6 days, as the profile says"
t_is "$(sqlite3 "$db" "SELECT profile FROM certificates WHERE site_id = 1 AND is_current = 1")" shortlived \
	"  the store records its profile"
run -o json -d site1 letsencrypt:status
t_is "$(jq -r .profile <<<"$OUT")" shortlived "  letsencrypt:status shows it"
expires=$(epoch "$(jq -r .expires <<<"$OUT")")
from=$(epoch "$(jq -r .renewal_window.from <<<"$OUT")")
lead=$((expires - from))
t_ok "$((lead >= 172798 && lead <= 172800 ? 0 : 1))" "  its renewal window opens 2 days before expiry (renew_fraction 1/3), not 10 ($lead s)"
# (the configured window alone: Pebble 2.10's renewal information would
# otherwise decide, 60_ari.sh checks that)
run scope:set cp.config letsencrypt ari false
CPSSL_NOW=$((from - 60)) run -o json -d site1 letsencrypt:status
t_is "$(jq -r .due <<<"$OUT")" false "  not due a minute before"
CPSSL_NOW=$((from + 60)) run -o json -d site1 letsencrypt:status
t_is "$(jq -r .due <<<"$OUT")" true "  due a minute after"
run -o json letsencrypt:list
t_is "$(jq -r '.[] | select(.site == "site1") | .profile' <<<"$OUT")" shortlived "  letsencrypt:list shows it"

run -d site2 site:set-setting letsencrypt.profile classic
t_is "$RC" 0 "site2 overrides the profile: classic"
run -o json -d site2 site:get-settings
t_is "$(jq -r '.["letsencrypt.profile"] | "\(.value) \(.source)"' <<<"$OUT")" "classic site" \
	"  site:get-settings shows the site's own value" || t_diag "$OUT"
run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "site2 orders with its own profile" || t_diag "$ERR"
t_is "$(lifetime "$(c_site_dir site2)")" 7775999 "  the certificate lives 90 days"
run -o json -d site2 letsencrypt:status
t_is "$(jq -r .profile <<<"$OUT")" classic "  status shows classic"
t_is "$(sqlite3 "$db" "SELECT count(*) FROM certificates WHERE site_id = 1")" 1 "  site1 kept its short-lived one"

run -d site2 site:set-setting letsencrypt.profile bogus
rows=$(sqlite3 "$db" "SELECT count(*) FROM certificates")
orders=$(sqlite3 "$db" "SELECT count(*) FROM acme_orders")
run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 1 "a profile the CA does not offer fails"
t_like "$ERR" "ERROR   : site2: cannot order a certificate for b\.test: the CA $H_PEBBLE_DIR_URL does not offer the certificate profile 'bogus' \(\[letsencrypt\] profile, site2's own value\); it offers classic and shortlived" \
	"  naming the site, the name, the profile and the ones offered" || t_diag "$ERR"
t_like "$ERR" "choose one with cpcmd -d site2 site:set-setting letsencrypt\.profile NAME" "  and how to choose"
t_is "$(sqlite3 "$db" "SELECT count(*) FROM acme_orders")" "$orders" "  nothing was ordered"
t_is "$(sqlite3 "$db" "SELECT count(*) FROM certificates")" "$rows" "  the certificate stays"
run -d site2 site:set-setting letsencrypt.profile null
run scope:set cp.config letsencrypt profile nosuch
run -d site3 letsencrypt:request '[c.test]'
t_is "$RC" 1 "an unknown profile in config.ini fails too"
t_like "$ERR" "\(\[letsencrypt\] profile, config\.ini\); it offers classic and shortlived: choose one with cpcmd scope:set cp\.config letsencrypt profile NAME" \
	"  saying where to change it" || t_diag "$ERR"
run scope:set cp.config letsencrypt profile "''"

# --- alternate chains (PEBBLE_ALTERNATE_ROOTS=2) --------------------------------------------
mgmt="https://127.0.0.1:$H_PEBBLE_MGMT_PORT"
for i in 1 2; do
	curl -sS --cacert "$H_PEBBLE_TLS_CA" "$mgmt/roots/$i" >"$H_DIR/root$i.pem"
	curl -sS --cacert "$H_PEBBLE_TLS_CA" "$mgmt/intermediates/$i" >"$H_DIR/int$i.pem"
done
root0=$(cn_of "$H_PEBBLE_ROOT") root1=$(cn_of "$H_DIR/root1.pem") root2=$(cn_of "$H_DIR/root2.pem")
t_like "$root1 / $root2" "^Pebble Root CA .+ / Pebble Root CA .+$" "Pebble offers two alternate roots ($root1, $root2)"
t_is "$(top_issuer "$d1/chain.pem")" "$root0" "  the default chain leads to $root0"
run scope:set cp.config letsencrypt preferred_chain "$root2"
run -d site1 letsencrypt:request '[c2.a.test]'
t_is "$RC" 0 "preferred_chain names the second alternate root" || t_diag "$ERR"
t_is "$(top_issuer "$d1/chain.pem")" "$root2" "  the stored chain leads to it"
openssl verify -CAfile "$H_DIR/root2.pem" -untrusted "$d1/chain.pem" "$d1/cert.pem" >/dev/null 2>&1
t_ok $? "  and verifies against that root alone"
openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$d1/chain.pem" "$d1/cert.pem" >/dev/null 2>&1
t_isnt $? 0 "  not against the default root"
t_is "$(cn_of "$d1/chain.pem")" "$(cn_of "$H_DIR/int2.pem")" "  through the intermediate /intermediates/2 names"
run scope:set cp.config letsencrypt preferred_chain "$root1"
run -d site1 letsencrypt:request '[c1.a.test]'
t_is "$(top_issuer "$d1/chain.pem")" "$root1" "the first alternate root when named"
openssl verify -CAfile "$H_DIR/root1.pem" -untrusted "$d1/chain.pem" "$d1/cert.pem" >/dev/null 2>&1
t_ok $? "  verifies against it"
run scope:set cp.config letsencrypt preferred_chain "No Such Root"
run -d site1 letsencrypt:request '[cn.a.test]'
t_is "$(top_issuer "$d1/chain.pem")" "$root0" "a root no chain leads to: the default chain"
t_like "$ERR" "WARNING : no chain the CA offers leads to 'No Such Root' \(\[letsencrypt\] preferred_chain; the top issuers offered: $root0, .+\); keeping the default chain" \
	"  with a WARNING naming the issuers offered"
run scope:set cp.config letsencrypt preferred_chain "''"
run -d site1 letsencrypt:request '[c0.a.test]'
t_is "$(top_issuer "$d1/chain.pem")" "$root0" "no preference: the default chain"
c_verify "$d1"; t_ok $? "  which verifies against the default root"

# --- a CA without profiles (bookworm's Pebble 2.4) -------------------------------------------
h_stop_pebble
H_PEBBLE_BIN=pebble H_PEBBLE_CONFIG='' h_start_pebble >/dev/null || t_bail "Pebble 2.4 did not start"
t_is "$(curl -sS --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -c '.meta.profiles')" null \
	"Pebble 2.4 offers no profiles"
run scope:set cp.config letsencrypt profile shortlived
run -d site1 letsencrypt:request '[p.a.test]'
t_is "$RC" 1 "a configured profile with a CA that offers none fails"
t_like "$ERR" "site1: cannot order a certificate for p\.a\.test: the CA $H_PEBBLE_DIR_URL offers no certificate profiles, and \[letsencrypt\] profile is 'shortlived' \(config\.ini\): order the CA's default with cpcmd scope:set cp\.config letsencrypt profile \"''\"" \
	"  saying so and what to run" || t_diag "$ERR"
run scope:set cp.config letsencrypt profile "''"

# --- external account binding -------------------------------------------------------------
key1=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
key2=b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH
h_stop_pebble
h_new_pebble
H_PEBBLE_CONFIG="{$profiles, \"externalAccountBindingRequired\": true,
	\"externalAccountMACKeys\": {\"kid-1\": \"$key1\", \"kid-2\": \"$key2\"}}"
h_start_pebble >/dev/null || t_bail "Pebble with EAB did not start"
t_is "$(curl -sS --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -r '.meta.externalAccountRequired')" true \
	"the CA requires an external account binding"
run -d site1 letsencrypt:request '[e.a.test]'
t_is "$RC" 1 "registering without one fails"
t_like "$ERR" "site1: cannot order a certificate for e\.a\.test: the CA $H_PEBBLE_DIR_URL registers ACME accounts only with an external account binding \(RFC 8555, section 7\.3\.4\), and \[letsencrypt\] eab_kid and eab_hmac_key are not set" \
	"  naming the site, the name and the two keys" || t_diag "$ERR"
t_like "$ERR" "cpcmd scope:set cp\.config letsencrypt eab_kid KID and cpcmd scope:set cp\.config letsencrypt eab_hmac_key - <FILE \(the key from standard input, or @FILE; never on the command line\)" \
	"  and how to set them without the key on the command line"

run scope:set cp.config letsencrypt eab_kid kid-1
run -d site1 letsencrypt:request '[e.a.test]'
t_like "$ERR" "\[letsencrypt\] eab_kid is set but eab_hmac_key is not; an external account binding needs both" \
	"half a binding is refused, naming the missing key"
printf 'not*base64\n' >"$H_DIR/bad.key"
run scope:set cp.config letsencrypt eab_hmac_key "@$H_DIR/bad.key"
run -d site1 letsencrypt:request '[e.a.test]'
t_like "$ERR" "\[letsencrypt\] eab_hmac_key is not base64url" "a key that is not base64url is refused"

# the wrong key (kid-2's) for kid-1, from standard input
run scope:set cp.config letsencrypt eab_hmac_key - <<<"$key2"
t_is "$RC" 0 "the HMAC key is set from standard input"
run -d site1 letsencrypt:request '[e.a.test]'
t_is "$RC" 1 "a wrong HMAC key fails"
t_like "$ERR" "the CA refused the account registration with an external account binding: .*\(unauthorized\); the CA did not accept the external account binding: check that \[letsencrypt\] eab_kid \('kid-1'\) and eab_hmac_key are the key ID and HMAC key the CA gave for this account" \
	"  with the CA's error, explained" || t_diag "$ERR"

# the right key, watched on its way in: never on a command line
printf '%s\n' "$key1" >"$H_DIR/key1"
{
	for _ in $(seq 1 100); do [ -e "$H_DIR/go" ] && break; sleep 0.05; done
	cat "$H_DIR/key1"
} | "$CPCMD" scope:set cp.config letsencrypt eab_hmac_key - >>"$outputs" 2>&1 &
setter=$!
cmdline=
for _ in $(seq 1 100); do
	cmdline=$(tr '\0' ' ' <"/proc/$setter/cmdline" 2>/dev/null)
	[[ $cmdline == *eab_hmac_key* ]] && break
	sleep 0.05
done
touch "$H_DIR/go"
wait "$setter"
t_is "$?" 0 "the right key is set from standard input"
t_like "$cmdline" "scope:set cp\.config letsencrypt eab_hmac_key - $" "  the command line the setter ran with ($cmdline)"
t_ok "$([[ $cmdline == *"$key1"* ]] && echo 1 || echo 0)" "  does not hold the key"
t_is "$(stat -c %a "$CPSSL_HOME/etc/config.ini")" 600 "  config.ini is 0600"
run scope:get cp.config letsencrypt
t_like "$OUT" "eab_hmac_key: \(set; ask for this key to see it\)" "  scope:get of the section masks it"
t_like "$OUT" "eab_kid: kid-1" "  and shows the key ID"
run -d site1 site:set-setting letsencrypt.eab_hmac_key x
t_is "$RC" 1 "  a site cannot set it"
t_like "$ERR" "eab_hmac_key is a server-only setting" "    it is server-only"
run -d site1 site:set-setting letsencrypt.eab_kid x
t_like "$ERR" "eab_kid is a server-only setting" "  nor the key ID"
run -o json -d site1 site:get-settings
t_is "$(jq -r 'keys | map(select(test("eab"))) | length' <<<"$OUT")" 0 "  site:get-settings shows neither"

mark=$(($(wc -l <"$outputs") + 1))
DEBUG=1 run -d site1 letsencrypt:request '[e.a.test]'
t_is "$RC" 0 "with the right key the account is registered and a certificate issued" || t_diag "$ERR"
t_like "$ERR" "INFO    : registered an ACME account with $H_PEBBLE_DIR_URL for admin@test\.test, bound to the external account kid-1" \
	"  bound to kid-1"
t_like "$(grep 'Successful newAccount Binding' "$H_DIR/pebble/pebble.log")" 'kid "kid-1"' "  Pebble verified the binding"
c_verify "$d1"; t_ok $? "  the certificate verifies against the CA's root"
run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "the account, once bound, serves the next site" || t_diag "$ERR"
t_is "$(tail -n +"$mark" "$outputs" | grep -c '^INFO    : registered an ACME account')" 1 "  registered once"

t_is "$(grep -cF "$key1" "$outputs")" 0 "the HMAC key appears in no output of cpcmd (DEBUG included)"
t_is "$(grep -cF "$key2" "$outputs")" 0 "  nor does the wrong one"
t_is "$(grep -rlF "$key1" "$CPSSL_HOME/storage" | wc -l)" 0 "  nor anything in storage (database, logs)"
t_done
