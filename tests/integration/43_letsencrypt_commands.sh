#!/usr/bin/env bash
# also-asan
# The letsencrypt module against real Pebble (authorization reuse off), BIND
# and Apache: ownership, forced mechanisms, wildcard + apex by dns, staged
# challenges solved by the operator and finished by request, append, renew,
# the duplicate limit, fallback from http to dns, status, alternative form,
# and the server's own certificate.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
H_PEBBLE_AUTHZREUSE=0
c_servers test
c_configure
for n in d.test www.d.test s.d.test fb.d.test fb2.d.test dis.d.test dup.d.test alt.d.test www.alt.d.test lone.d.test other.test srv.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
c_run site:add d.test "['ip':'127.0.0.1']"
c_run site:add other.test "['ip':'127.0.0.1']"
dir=$(c_site_dir site1)
jq_out() { jq -r "$1" <<<"$OUT"; }
new_orders() { grep -c 'POST .*/order-plz ' <<<"$ERR"; }

# --- names of another site never reach the CA ---------------------------------------
DEBUG=1 c_run -d site1 letsencrypt:request '[other.test]'
t_is "$RC" 3 "a name of another site is dropped: nothing to do"
t_like "$ERR" "WARNING : site1 does not own other\.test: it belongs to another site" "  with a WARNING"
t_is "$(new_orders)" 0 "  no order reached the CA"
DEBUG=1 c_run -d site1 letsencrypt:request '[nobody.test]'
t_like "$ERR" "site1 does not own nobody\.test: no site has this domain" "a name of nobody is dropped too"

# --- forced mechanisms: wildcard + apex both by dns -------------------------------------
c_run -d site1 letsencrypt:use-mechanism d.test dns
t_is "$RC:$OUT" "0:true" "use-mechanism d.test dns"
DEBUG=1 c_run -d site1 letsencrypt:request '[*.d.test,d.test]'
t_is "$RC" 0 "wildcard + apex with d.test forced to dns"
t_is "$(new_orders)" 1 "  one new order (the count the other checks rely on)"
t_like "$ERR" "SSL challenge attempt: d\.test \(dns\)" "  the apex went by dns"
t_like "$ERR" "SSL challenge attempt: \*\.d\.test \(dns\)" "  and the wildcard too (two TXT records at one name)"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.d.test d.test " "  SANs exactly the two names"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq_out '.forced_mechanisms["d.test"]')" "dns" "status lists the forced mechanism"
c_run -d site1 letsencrypt:use-mechanism '*.d.test' http
t_like "$ERR" "WARNING : forcing http for \*\.d\.test will never succeed" "forcing http on a wildcard is accepted with a WARNING"
c_run -d site1 letsencrypt:use-mechanism '*.d.test' null
c_run -d site1 letsencrypt:use-mechanism d.test null
c_run -o json -d site1 letsencrypt:status
t_is "$(jq_out '.forced_mechanisms | length')" 0 "null reverts to automatic"
c_run -d site1 letsencrypt:use-mechanism other.test dns
t_is "$RC" 1 "use-mechanism refuses a name the site does not own"
c_run -d site1 letsencrypt:use-mechanism d.test smtp
t_is "$RC" 1 "use-mechanism refuses an unknown mechanism"

# --- staged challenges (fresh names: Pebble reuses a valid authorization now
# and then, even with PEBBLE_AUTHZREUSE=0) ----------------------------------------------
c_run -o json -d site1 letsencrypt:challenges '[*.s.d.test,s.d.test]'
t_is "$RC" 0 "challenges stages an order"
t_is "$(jq_out '."*.s.d.test"[0].type')" "dns-01" "  the wildcard offers dns-01"
t_is "$(jq_out '."*.s.d.test"[0].domain')" "s.d.test" "  with domain s.d.test"
t_like "$(jq_out '.["s.d.test"] | map(.type) | join(" ")')" "http-01.*dns-01|dns-01.*http-01" "  the apex offers http-01 and dns-01" || t_diag "$OUT"
tok=$(jq_out '.["s.d.test"][] | select(.type=="http-01") | .token')
pay=$(jq_out '.["s.d.test"][] | select(.type=="http-01") | .payload')
t_like "$pay" "^$tok\.[A-Za-z0-9_-]{43}$" "  payload is token.thumbprint"
wval=$(jq_out '."*.s.d.test"[] | select(.type=="dns-01") | .value')
wrec=$(jq_out '."*.s.d.test"[] | select(.type=="dns-01") | .record')
t_is "$wrec" "_acme-challenge.s.d.test" "  dns-01 record name given"
t_is "$wval" "$(printf '%s' "$(jq_out '."*.s.d.test"[] | select(.type=="dns-01") | .payload')" |
	openssl dgst -binary -sha256 | openssl base64 | tr -d '=' | tr '+/' '-_')" "  value is base64url(sha256(payload))"
# the operator publishes the responses by hand
h_dns_add _acme-challenge.s.d.test TXT "$wval"
mkdir -p "$H_CHALLENGE_DIR/.well-known/acme-challenge"
printf '%s' "$pay" >"$H_CHALLENGE_DIR/.well-known/acme-challenge/$tok"
chmod 644 "$H_CHALLENGE_DIR/.well-known/acme-challenge/$tok"
DEBUG=1 c_run -o json -d site1 letsencrypt:solve "['*.s.d.test':'dns','s.d.test':'http']"
t_is "$RC" 0 "solve answers both"
t_like "$ERR" "DEBUG   : SSL challenge attempt: dns \(\*\.s\.d\.test\)" "  DEBUG attempt line as ApisCP prints it"
t_like "$ERR" "DEBUG   : SUCCESS! SSL challenge response: \*\.s\.d\.test \(dns\) - VALID" "  and the success line"
t_like "$ERR" "SUCCESS! SSL challenge response: s\.d\.test \(http\) - VALID" "  for the apex by http too"
t_is "$(jq_out '.["s.d.test"].status')" "valid" "  result: valid"
h_dns_del _acme-challenge.s.d.test TXT
rm -f "$H_CHALLENGE_DIR/.well-known/acme-challenge/$tok"
DEBUG=1 c_run -d site1 letsencrypt:request "['*.s.d.test','s.d.test']" false
t_is "$RC" 0 "request finishes the staged order (authorization reuse off at the CA)"
t_like "$ERR" "\*\.s\.d\.test already resolved by dns" "  *.s.d.test already resolved by dns"
t_like "$ERR" "s\.d\.test already resolved by http" "  s.d.test already resolved by http"
t_is "$(new_orders)" 0 "  no new order was created"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.s.d.test s.d.test " "  the certificate names both"
c_run -d site1 letsencrypt:solve "['lone.d.test':'http']"
t_is "$RC" 1 "solve without a staged challenge fails"
t_like "$ERR" "lone\.d\.test: no staged http-01 challenge" "  saying so"

# --- append and renew --------------------------------------------------------------------
c_run -d site1 letsencrypt:append '[www.d.test]'
t_is "$RC" 0 "append www.d.test"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.s.d.test s.d.test www.d.test " "  keeps the old names"
serial=$(openssl x509 -in "$dir/cert.pem" -noout -serial)
c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "renew"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.s.d.test s.d.test www.d.test " "  same names"
t_isnt "$(openssl x509 -in "$dir/cert.pem" -noout -serial)" "$serial" "  a new serial"
c_run -d site2 letsencrypt:renew
t_is "$RC" 1 "renew without a certificate fails"
t_like "$ERR" "site2 has no certificate yet: order one with letsencrypt:request" "  saying what to do"
c_run -d site2 letsencrypt:exists
t_is "$OUT" "false" "exists: false for site2"
c_run -d site1 letsencrypt:exists
t_is "$OUT" "true" "exists: true for site1"
c_run -d site1 letsencrypt:storage-path
t_like "$OUT" "/storage/certificates/data/certs/127\.0\.0\.1:[0-9]+\.dir/site1$" "storage-path"

# --- the duplicate limit ----------------------------------------------------------------------
for i in 1 2 3 4 5; do c_run -d site1 letsencrypt:request '[dup.d.test]'; done
t_is "$RC" 0 "five certificates for the same name"
t_like "$ERR" "the 5th certificate for dup\.d\.test in 7 days" "  the fifth warns"
DEBUG=1 c_run -d site1 letsencrypt:request '[dup.d.test]'
t_is "$RC" 1 "the sixth is refused before ordering"
t_like "$ERR" "5 certificates for exactly these names \(dup\.d\.test\) were issued in the last 7 days" "  naming the limit"
t_is "$(new_orders)" 0 "  nothing was ordered"
c_run -d site1 letsencrypt:request '[dup.d.test]' true false true
t_is "$RC" 0 "force orders anyway"

# the weekly limit per registered domain, counted from the issuance log
db=$CPSSL_HOME/storage/cpssl.db
logged=$(sqlite3 "$db" "SELECT count(DISTINCT serial) FROM issuance_log WHERE domain = 'd.test'")
sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 45 - $logged)
	INSERT INTO issuance_log (server, site_id, serial, name_set, domain, issued_at)
	SELECT '$H_PEBBLE_DIR_URL', 1, 'FAKE' || i, 'x' || i || '.d.test', 'd.test', strftime('%s','now') FROM n"
c_run -d site1 letsencrypt:request '[dup.d.test]' true false true
t_like "$ERR" "WARNING : 4[5-9] certificates naming d\.test were issued in the last 7 days: near Let's Encrypt's limit of 50" \
	"45 certificates for a registered domain in a week: a WARNING"
sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
	INSERT INTO issuance_log (server, site_id, serial, name_set, domain, issued_at)
	SELECT '$H_PEBBLE_DIR_URL', 1, 'MORE' || i, 'y' || i || '.d.test', 'd.test', strftime('%s','now') FROM n"
DEBUG=1 c_run -d site1 letsencrypt:request '[fb.d.test]'
t_is "$RC" 1 "50 or more: refused before ordering"
t_like "$ERR" "certificates naming d\.test were issued in the last 7 days; Let's Encrypt allows 50 per registered domain a week" "  naming the limit"
t_is "$(new_orders)" 0 "  nothing was ordered"
sqlite3 "$db" "DELETE FROM issuance_log WHERE serial LIKE 'FAKE%' OR serial LIKE 'MORE%'"

# --- fallback from http to dns; status after a failure ----------------------------------------------
c_run scope:set cp.config letsencrypt challenge_dir "$H_DIR/not-served"
DEBUG=1 c_run -d site1 letsencrypt:request '[fb.d.test]'
t_is "$RC" 0 "http broken: the request falls back to dns and succeeds"
t_like "$ERR" "SSL challenge attempt: fb\.d\.test \(http\)" "  first attempt by http"
t_like "$ERR" "http challenge failed: fb\.d\.test" "  which failed"
t_like "$ERR" "SSL challenge attempt: fb\.d\.test \(dns\)" "  then by dns"
c_run -d site1 letsencrypt:use-mechanism fb2.d.test http
c_run -d site1 letsencrypt:request '[fb2.d.test]'
t_is "$RC" 1 "forced http with http broken: no fallback, it fails"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq_out '.failures')" 1 "status counts the failure"
t_like "$(jq_out '.last_error.detail')" "fb2\.d\.test: the http-01 challenge failed" "  with the CA's detail"
t_is "$(jq_out '.last_error.problem')" "ca" "  and the problem"
c_run scope:set cp.config letsencrypt challenge_dir ''
c_run -d site1 letsencrypt:request '[fb.d.test]'
c_run -o json -d site1 letsencrypt:status
t_is "$(jq_out '.failures')" 0 "a success resets the failure count"
t_is "$(jq_out '.names | join(",")')" "fb.d.test" "status: names"
t_like "$(jq_out '.days_left')" "^[0-9]+$" "status: days left"
t_is "$(jq_out '.due')" "false" "status: not due"
t_like "$(jq_out '.renewal_window.from')" "^20[0-9-]+T" "status: renewal window"

# --- disabled challenges ---------------------------------------------------------------------
c_run scope:set cp.config letsencrypt disabled_challenges tls-alpn,http
DEBUG=1 c_run -d site1 letsencrypt:request '[dis.d.test]'
t_is "$RC" 0 "http disabled: a plain name is validated by dns"
t_like "$ERR" "SSL challenge attempt: dis\.d\.test \(dns\)" "  the attempt went by dns"
c_run scope:set cp.config letsencrypt disabled_challenges tls-alpn,dns
c_run -d site1 letsencrypt:request '[*.d.test]'
t_is "$RC" 3 "dns disabled: a wildcard cannot be validated, nothing to do"
t_like "$ERR" "\*\.d\.test is a wildcard, which only dns-01 can validate, and dns is not available" "  saying why"
c_run scope:set cp.config letsencrypt disabled_challenges tls-alpn

# --- alternative form ------------------------------------------------------------------------
c_run -d site1 site:set-setting alternative_form true
c_run -d site1 letsencrypt:request '[alt.d.test]'
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "alt.d.test www.alt.d.test " "alternative_form adds www."
c_run -d site1 letsencrypt:request '[lone.d.test]'
t_is "$RC" 0 "a name whose alternative does not verify is still issued"
t_like "$ERR" "INFO    : not adding the alternative form www\.lone\.d\.test" "  the alternative dropped with INFO"
t_is "$(c_sans "$dir/cert.pem")" "lone.d.test" "  alone"
c_run -d site1 site:set-setting alternative_form null

# --- the server's own certificate -------------------------------------------------------------
c_run scope:set net.hostname srv.test
c_run letsencrypt:request '[srv.test,d.test]'
t_is "$RC" 0 "without -d: the server certificate"
t_like "$ERR" "the server certificate may only name the server hostname" "  d.test (a site's name) is dropped"
t_is "$(c_sans "$(c_site_dir server)/cert.pem")" "srv.test" "  stored under server/ with its hostname"
c_run letsencrypt:status
t_like "$OUT" "site: server" "status without -d"
t_done
