#!/usr/bin/env bash
# also-asan
# What the ApisCP documentation promises, against real Pebble, BIND and
# Apache: the renewal window (10 days before expiry; the fraction only for
# short-lived certificates; a changed setting applies to certificates already
# issued), interim self-signed certificates of the server and of sites
# retried until the CA's replaces them (at once after a boot, then with the
# backoff, bootstrap_attempts a boot), letsencrypt:list, the daily expiry
# warning while renewals fail, scope:set cp.debug, the MX check of
# common:set-email, use-mechanism for the server, and renew after a change of
# CA.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
jq_out() { jq -r "$1" <<<"$OUT"; }
epoch() { date -d "$1" +%s; }
notices=$H_DIR/notices
printf '#!/bin/sh\ncat >> "%s"\n' "$notices" >"$H_DIR/notify"; chmod 755 "$H_DIR/notify"
c_run scope:set cp.config letsencrypt notify_command "$H_DIR/notify"
export CPSSL_BOOT_ID=boot-1
# the server's hostname has no DNS yet (the documentation's svr1.mydomain.com);
# the passes of part 1 do not try it
c_run scope:set net.hostname svr1.test
c_run scope:set cp.config letsencrypt bootstrap_attempts 0

# --- 1. the renewal window ----------------------------------------------------------------
h_dns_add w.test A 127.0.0.1
c_run site:add w.test "['ip':'127.0.0.1']"
c_run -d site1 letsencrypt:request '[w.test]'
t_is "$RC" 0 "site1 has a certificate"
nb=$(q "SELECT not_before FROM certificates WHERE site_id = 1 AND is_current = 1")
na=$(q "SELECT not_after FROM certificates WHERE site_id = 1 AND is_current = 1")
window_from() { c_run -o json -d site1 letsencrypt:status; epoch "$(jq_out '.renewal_window.from')"; }
# a 90-day certificate with the defaults (lookahead_days 10, renew_fraction 1/3)
q "UPDATE certificates SET not_before = $((na - 90 * 86400)) WHERE site_id = 1 AND is_current = 1"
t_is "$(window_from)" $((na - 10 * 86400)) "a 90-day certificate is due 10 days before expiry, as documented (not 30)"
q "UPDATE certificates SET not_before = $((na - 6 * 86400)) WHERE site_id = 1 AND is_current = 1"
t_is "$(window_from)" $((na - 2 * 86400)) "a 6-day certificate: 2 days before (a third of its lifetime)"
q "UPDATE certificates SET not_before = $((na - 5 * 365 * 86400)) WHERE site_id = 1 AND is_current = 1"
t_is "$(window_from)" $((na - 10 * 86400)) "a 5-year certificate: 10 days before"
c_run scope:set cp.config letsencrypt lookahead_days 20
t_is "$(window_from)" $((na - 20 * 86400)) "scope:set … lookahead_days 20: 20 days before, for the certificate already issued"
c_run scope:set cp.config letsencrypt lookbehind_days -1
c_run -o json -d site1 letsencrypt:status
t_is "$(epoch "$(jq_out '.renewal_window.until')")" $((na + 86400)) "lookbehind_days -1: up to a day after expiry"
q "UPDATE certificates SET not_before = $((na - 6 * 86400)) WHERE site_id = 1 AND is_current = 1"
c_run scope:set cp.config letsencrypt renew_fraction 1/2
t_is "$(window_from)" $((na - 3 * 86400)) "a changed renew_fraction applies to the certificate already issued (6 days: 3)"
# the pass agrees with status: 4 days left of 6 is not due, 2 days left is
CPSSL_NOW=$((na - 4 * 86400)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out 'map(select(.site == "site1")) | length')" 0 "  the pass leaves it alone with 4 days left"
CPSSL_NOW=$((na - 2 * 86400)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "site1") | .result')" renewed "  and renews it with 2 days left" || t_diag "$OUT $ERR"
c_run scope:set cp.config letsencrypt lookahead_days 10
c_run scope:set cp.config letsencrypt lookbehind_days 0
c_run scope:set cp.config letsencrypt renew_fraction 1/3

# --- 2. interim self-signed certificates are retried ------------------------------------------
# the server (svr1.test has no DNS yet; dns-01 through the zone's server
# would do without it, so only http-01 is offered here)
c_run scope:set cp.config letsencrypt disabled_challenges dns
c_run -o json letsencrypt:housekeeping
t_like "$(jq_out '.[] | select(.site == "server") | .detail')" "no certificate was obtained in 0 attempts since boot \(bootstrap_attempts\); fix what letsencrypt:status names, then run cpcmd letsencrypt:request '\[svr1\.test\]'" \
	"bootstrap_attempts 0: the pass does not order the server's certificate, and says how to"
c_run scope:set cp.config letsencrypt bootstrap_attempts 2
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "server") | .result')" failed "install time: the server's request fails (no DNS)"
t_is "$(q "SELECT server FROM certificates WHERE site_id = 0 AND is_current = 1")" "self-signed (interim)" \
	"  a self-signed certificate serves in the interim"
c_run -o json letsencrypt:status
t_is "$(jq_out '.interim'):$(jq_out '.bootstrap_attempts.this_boot')/$(jq_out '.bootstrap_attempts.max')" "true:1/2" \
	"  status: interim, 1 of 2 attempts this boot"
next=$(q "SELECT next_attempt FROM ssl_status WHERE site_id = 0")
t_is "$(epoch "$(jq_out '.next_renewal')")" "$next" "  next renewal: when the backoff ends (an hour)"
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out 'map(select(.site == "server")) | length')" 0 "the next pass of the same boot waits out the backoff"
CPSSL_NOW=$((next + 60)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "server") | .result')" failed "after the backoff: attempt 2 (DNS still missing)"
next=$(q "SELECT next_attempt FROM ssl_status WHERE site_id = 0")
CPSSL_NOW=$((next + 60)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "server") | .result')" skipped "bootstrap_attempts 2 reached: no third attempt this boot"
t_like "$(jq_out '.[] | select(.site == "server") | .detail')" "its interim self-signed certificate was not replaced in 2 attempts since boot \(bootstrap_attempts\); fix what letsencrypt:status names, then run cpcmd letsencrypt:renew \(or wait for the next boot\)" \
	"  saying what to do"
# the documentation: add the record, then restart to attempt another authorization
h_dns_add svr1.test A 127.0.0.1
CPSSL_BOOT_ID=boot-2 CPSSL_NOW=$((next + 120)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "server") | .result')" renewed "DNS fixed, the first pass after a restart replaces it at once"
t_like "$(q "SELECT server FROM certificates WHERE site_id = 0 AND is_current = 1")" "^https://" "  with the CA's certificate"
openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$H_DIR/fsroot/etc/pki/tls/certs/server.pem" \
	"$H_DIR/fsroot/etc/pki/tls/certs/server.pem" >/dev/null 2>&1
t_ok $? "  and the server PEM verifies against the CA's root"

# a site: its first request fails, a self-signed one stands in, a later pass replaces it
c_run site:add late.test "['ip':'127.0.0.1']"
c_run -d site2 letsencrypt:request '[late.test]' false
t_is "$RC" 1 "site2's first request fails (no DNS; IP verification off)"
t_like "$ERR" "installed a self-signed one for late\.test in the interim" "  a self-signed certificate stands in"
c_run -o json -d site2 letsencrypt:status
t_is "$(jq_out '.interim'):$(jq_out '.due')" "true:true" "  status: interim, due (no attempt yet this boot)" || t_diag "$OUT"
h_dns_add late.test A 127.0.0.1
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "site2") | .result')" renewed "the next pass replaces it with the CA's (housekeeping used to wait for expiry)"
t_like "$(q "SELECT server FROM certificates WHERE site_id = 2 AND is_current = 1")" "^https://" "  from the CA"
c_run scope:set cp.config letsencrypt disabled_challenges ""
# a certificate asked to be self-signed is not an interim one
c_run -d site2 ssl:sign-certificate
c_run -o json -d site2 letsencrypt:status
t_is "$(jq_out '.interim')" false "ssl:sign-certificate makes no interim certificate"

# --- 5. letsencrypt:list and the expiry warning -----------------------------------------------
h_dns_add gone.test A 127.0.0.1
c_run site:add gone.test "['ip':'127.0.0.1']"
c_run -d site3 letsencrypt:request '[gone.test]'
t_is "$RC" 0 "site3 has a certificate"
c_run -o json letsencrypt:list
t_is "$(jq_out 'map(.site) | join(" ")')" "server site1 site2 site3" "letsencrypt:list: the server and every site"
t_is "$(jq_out '.[] | select(.site == "site3") | .names | join(",")')" "gone.test" "  with names"
t_like "$(jq_out '.[] | select(.site == "site3") | .issuer')" "Pebble" "  issuer"
t_like "$(jq_out '.[] | select(.site == "site3") | .expires')" "^20[0-9-]+T" "  expiry"
t_like "$(jq_out '.[] | select(.site == "site3") | .next_renewal')" "^20[0-9-]+T" "  next renewal"
t_is "$(jq_out '.[] | select(.site == "site3") | .failures')" 0 "  failures"
c_run letsencrypt:list
t_like "$OUT" "site: site3" "YAML by default"
# site3's renewals start failing 5 days before expiry
na3=$(q "SELECT not_after FROM certificates WHERE site_id = 3 AND is_current = 1")
q "UPDATE certificates SET not_before = $((na3 - 90 * 86400)) WHERE site_id = 3 AND is_current = 1"
h_dns_del gone.test A
h_dns_add gone.test A 127.0.0.2
c_run -d site3 site:set-setting verify_ip false
c_run -d site3 letsencrypt:use-mechanism gone.test http
h_restart_pebble || t_bail "Pebble did not restart"
: >"$notices"
CPSSL_NOW=$((na3 - 5 * 86400)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "site3") | .result')" failed "site3's renewal fails 5 days before expiry"
t_is "$(grep -c '^Subject: cpssl: the certificate of site3 expires in 5 days' "$notices")" 1 \
	"  one expiry warning (warn_days 7) besides the failure notice" || t_diag "$(cat "$notices")"
t_like "$(cat "$notices")" "Fix what it names, then run: cpcmd -d site3 letsencrypt:renew" "  saying what to do"
t_like "$ERR" "WARNING : the certificate of site3 expires in 5 days; its renewal has failed 1 time" "  and a WARNING"
c_run -o json letsencrypt:list failures
t_is "$(jq_out '.[0].site'):$(jq_out '.[0].failures')" "site3:1" "list sorted by failures: site3 first"
t_like "$(jq_out '.[0].last_error')" "gone\.test" "  with its last error"
c_run -o json letsencrypt:list expires
t_is "$(jq_out '[.[].expires] == ([.[].expires] | sort)')" true "list sorted by expiry: the earliest first"
c_run letsencrypt:list bogus
t_is "$RC" 1 "list refuses an unknown sort key"
t_like "$ERR" "cannot sort by 'bogus': use site, expires, next_renewal or failures" "  naming the keys"
: >"$notices"
CPSSL_NOW=$((na3 - 5 * 86400 + 3600)) c_run -o json letsencrypt:housekeeping
t_is "$(grep -c 'expires in' "$notices")" 0 "an hour later: no second warning the same day"
CPSSL_NOW=$((na3 - 4 * 86400)) c_run -o json letsencrypt:housekeeping
t_is "$(grep -c '^Subject: cpssl: the certificate of site3 expires in 4 days' "$notices")" 1 "the next day: the next warning"
c_run scope:set cp.config letsencrypt warn_days 0
: >"$notices"
CPSSL_NOW=$((na3 - 2 * 86400)) c_run -o json letsencrypt:housekeeping
t_is "$(grep -c 'expires in' "$notices")" 0 "warn_days 0: no warnings"
c_run scope:set cp.config letsencrypt warn_days 7

# --- 6. smaller promises ---------------------------------------------------------------------
c_run scope:set cp.debug true
t_is "$RC:$OUT" "0:true" "scope:set cp.debug true"
c_run scope:get cp.debug
t_is "$OUT" "true" "  scope:get cp.debug"
c_run -d site1 letsencrypt:request '[w.test]'
t_like "$ERR" "DEBUG   : " "  a later command prints DEBUG lines without env DEBUG"
DEBUG=0 c_run -d site1 letsencrypt:status
t_unlike "$ERR" "DEBUG   : " "  env DEBUG=0 turns them off for one command"
c_run scope:set cp.debug false
c_run -d site1 letsencrypt:request '[w.test]'
t_unlike "$ERR" "DEBUG   : " "scope:set cp.debug false: none"
c_run scope:set cp.debug maybe
t_is "$RC" 1 "cp.debug takes true or false only"

c_run common:set-email admin@nomx.test
t_like "$ERR" "WARNING : nomx\.test has no MX record, so mail to admin@nomx\.test .* check with: dig \+short MX nomx\.test" \
	"common:set-email warns when the domain has no MX record"
c_run common:get-email
t_is "$OUT" "admin@nomx.test" "  the address is set all the same"
h_dns_add mail.mx.test A 127.0.0.1
h_dns_add mx.test MX "10 mail.mx.test." || t_diag "cannot add the MX record"
c_run common:set-email admin@mx.test
t_unlike "$ERR" "WARNING" "  no warning with an MX record"

c_run letsencrypt:use-mechanism svr1.test dns
t_is "$RC:$OUT" "0:true" "use-mechanism for the server's own name (no -d)"
t_unlike "$ERR" "ERROR|site" "  no message about a site" || t_diag "$ERR"
c_run -o json letsencrypt:status
t_is "$(jq_out '.forced_mechanisms["svr1.test"]')" dns "  the server's status lists it"
c_run letsencrypt:use-mechanism w.test dns
t_is "$RC" 1 "use-mechanism for the server refuses a site's name"
t_like "$ERR" "ERROR   : the server certificate may only name the server hostname and \[letsencrypt\] additional_certs, and w\.test is neither \(use -d SITE for a site's names\)" \
	"  saying what the server may name and how to reach the site's" || t_diag "$ERR"
c_run letsencrypt:use-mechanism svr1.test null

# a change of CA (staging and production): renew refuses, request orders from the new one
other=${H_PEBBLE_DIR_URL/127.0.0.1/localhost}
c_run scope:set cp.config letsencrypt server "$other"
c_run -d site1 letsencrypt:renew
t_is "$RC" 1 "renew after a change of CA fails"
t_like "$ERR" "site1's current certificate came from $H_PEBBLE_DIR_URL, not from the configured CA $other .*letsencrypt:request '\[w\.test\]'" \
	"  saying that a new request is needed"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq_out '.server'):$(jq_out '.from_configured_ca')" "$H_PEBBLE_DIR_URL:false" "status shows the CA that issued it"
t_like "$(jq_out '.note')" "letsencrypt:request" "  and what to do"
c_run -d site1 letsencrypt:request '[w.test]'
t_is "$RC" 0 "request orders it from the configured CA"
t_is "$(q "SELECT server FROM certificates WHERE site_id = 1 AND is_current = 1")" "$other" "  recorded as the new CA's"
c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "  renew works again"
t_done
