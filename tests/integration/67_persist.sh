#!/usr/bin/env bash
# also-asan
# The persist mechanism (dns-persist-01, draft-ietf-acme-dns-persist)
# against Pebble 2.10 and BIND: letsencrypt:persist-record prints the one
# TXT record for this CA (its caaIdentities) and account; published once,
# by hand or through the DNS provider, it validates a name forced to
# persist, and the renewal that follows changes nothing in DNS (the zone's
# serial stays); a wildcard needs policy=wildcard; a record naming another
# account fails the name before any challenge is answered, printing the
# record to publish; a site cannot show the record for a name it does not
# own; bookworm's Pebble 2.4, which offers no dns-persist-01, is a clear
# error saying to use dns or http.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
H_PEBBLE_CONFIG='{"caaIdentities": ["pebble.test"]}'
c_servers test
c_configure
jq_out() { jq -r "$1" <<<"$OUT"; }
count() { grep -c "POST .*$1" <<<"$ERR"; }
serial() { h_dig test SOA | awk '{print $3}'; }
txt() { h_dig "$1" TXT | tr '\n' ' '; }
for d in p.test w.test o.test; do
	c_run site:add "$d" "['ip':'127.0.0.1']"
	t_is "$RC" 0 "site for $d" || t_diag "$ERR"
done
for n in p.test w.test o.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done

# --- the record ---------------------------------------------------------
c_run -o json -d site1 letsencrypt:persist-record p.test
t_is "$RC" 0 "persist-record p.test" || t_diag "$ERR"
acct=$(jq_out .account)
t_like "$acct" '^https://127\.0\.0\.1:[0-9]+/my-account/[0-9a-f]+$' "  the account's URL (registered on first use)"
t_is "$(jq_out '.record + " " + .type')" "_validation-persist.p.test TXT" "  record name and type"
t_is "$(jq_out .value)" "pebble.test; accounturi=$acct" "  value: the CA's issuer domain name and the account"
t_is "$(jq_out '[.wildcard,.present,.published]|map(tostring)|join(" ")')" "false false false" \
	"  no wildcard policy, not in DNS, nothing published"
c_run -d site1 letsencrypt:persist-record p.test
t_like "$OUT" "value: pebble\.test; accounturi=https://" "  YAML output by default"

# --- persist forced, record missing: fails before answering -------------
c_run -d site1 letsencrypt:use-mechanism p.test persist
t_is "$RC" 0 "use-mechanism p.test persist" || t_diag "$ERR"
c_run -d site1 letsencrypt:status
t_like "$OUT" "p\.test: persist" "  status shows the forced mechanism"
s0=$(serial)
DEBUG=1 c_run -d site1 letsencrypt:request '[p.test]'
t_is "$RC" 1 "request without the record fails"
t_like "$ERR" "p\.test: _validation-persist\.p\.test holds no dns-persist-01 record for this CA; publish the TXT record _validation-persist\.p\.test \"pebble\.test; accounturi=$acct\" once \(cpcmd -d site1 letsencrypt:persist-record p\.test shows it" \
	"  the error prints the exact record and the command"
t_is "$(count /chalZ/)" 0 "  no challenge was answered"
t_is "$(serial)" "$s0" "  nothing was published in DNS"

# --- published by hand: issued, then renewed with no DNS change ---------
h_dns_add _validation-persist.p.test TXT "pebble.test; accounturi=$acct" || t_bail "cannot add the record"
c_run -o json -d site1 letsencrypt:persist-record p.test
t_is "$(jq_out .present)" true "persist-record sees the published record"
s1=$(serial)
DEBUG=1 c_run -d site1 letsencrypt:request '[p.test]'
t_is "$RC" 0 "request with persist: issued" || t_diag "$ERR"
t_is "$(count /chalZ/)" 1 "  one challenge answered"
t_like "$ERR" "SSL challenge attempt: p\.test \(persist\)" "  with the persist mechanism"
t_is "$(c_sans "$(c_site_dir site1)/cert.pem" | tr '\n' ' ')" "p.test " "  the certificate names p.test"
t_is "$(serial)" "$s1" "  the zone's serial did not change"
first=$(h_cert_fingerprint "$(c_site_dir site1)/cert.pem")
DEBUG=1 c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "renewal with persist" || t_diag "$ERR"
t_isnt "$(h_cert_fingerprint "$(c_site_dir site1)/cert.pem")" "$first" "  a new certificate"
t_is "$(count /chalZ/)" 1 "  validated again through the record"
t_is "$(serial)" "$s1" "  still no DNS change"
t_is "$(txt _validation-persist.p.test)" "\"pebble.test; accounturi=$acct\" " "  the record is there, alone"
# a key rollover keeps the account URL, so the record stays good
c_run letsencrypt:rollover-key
t_is "$RC" 0 "account key rolled over" || t_diag "$ERR"
c_run -o json -d site1 letsencrypt:persist-record p.test
t_is "$(jq_out .account):$(jq_out .present)" "$acct:true" "  the same account URL: the record still matches"
second=$(h_cert_fingerprint "$(c_site_dir site1)/cert.pem")
DEBUG=1 c_run -d site1 letsencrypt:renew
t_is "$RC:$(count /chalZ/)" "0:1" "renewal after the rollover, validated through the same record" || t_diag "$ERR"
t_isnt "$(h_cert_fingerprint "$(c_site_dir site1)/cert.pem")" "$second" "  a new certificate"
t_is "$(serial)" "$s1" "  no DNS change"
t_is "$(sqlite3 "$CPSSL_HOME/storage/cpssl.db" "SELECT count(*) FROM acme_challenges WHERE published IS NOT NULL")" 0 \
	"  nothing recorded as published"

# --- a wildcard: policy=wildcard, published through the provider --------
c_run -d site2 letsencrypt:use-mechanism '*.w.test' persist
t_is "$RC" 0 "use-mechanism *.w.test persist"
c_run -d site2 letsencrypt:use-mechanism w.test persist
c_run -o json -d site2 letsencrypt:persist-record w.test
t_is "$(jq_out .value)" "pebble.test; accounturi=$acct; policy=wildcard" \
	"persist-record w.test adds policy=wildcard when *.w.test is forced to persist"
c_run -o json -d site2 letsencrypt:persist-record '*.w.test'
t_is "$(jq_out '.record + " " + .value')" "_validation-persist.w.test pebble.test; accounturi=$acct; policy=wildcard" \
	"  as it does for *.w.test itself"
# a record without the policy covers w.test but not *.w.test
h_dns_add _validation-persist.w.test TXT "pebble.test; accounturi=$acct" || t_bail "cannot add"
DEBUG=1 c_run -d site2 letsencrypt:request '[*.w.test,w.test]'
t_is "$RC" 1 "a record without policy=wildcard: the wildcard fails"
t_like "$ERR" "\*\.w\.test: _validation-persist\.w\.test holds no record this CA accepts for this account; publish the TXT record _validation-persist\.w\.test \"pebble\.test; accounturi=$acct; policy=wildcard\"" \
	"  naming the record to publish"
t_like "$ERR" "lacks policy=wildcard" "  and what the one there lacks"
t_is "$(count /chalZ/)" 0 "  no challenge answered"
h_dns_del _validation-persist.w.test TXT
s2=$(serial)
c_run -o json -d site2 letsencrypt:persist-record w.test true
t_is "$RC:$(jq_out '[.present,.published]|map(tostring)|join(" ")')" "0:true true" \
	"persist-record w.test true publishes it through the provider" || t_diag "$ERR"
t_is "$(txt _validation-persist.w.test)" "\"pebble.test; accounturi=$acct; policy=wildcard\" " "  BIND answers it"
t_isnt "$(serial)" "$s2" "  (the zone changed)"
c_run -o json -d site2 letsencrypt:persist-record w.test true
t_is "$(jq_out '[.present,.published]|map(tostring)|join(" ")')" "true false" "  again: already there, not published twice"
s3=$(serial)
DEBUG=1 c_run -d site2 letsencrypt:request '[*.w.test,w.test]'
t_is "$RC" 0 "wildcard and base issued through one record" || t_diag "$ERR"
t_is "$(c_sans "$(c_site_dir site2)/cert.pem" | tr '\n' ' ')" "*.w.test w.test " "  both names"
t_is "$(count /chalZ/)" 2 "  two challenges answered"
t_is "$(serial)" "$s3" "  no DNS change"
t_is "$(txt _validation-persist.w.test)" "\"pebble.test; accounturi=$acct; policy=wildcard\" " \
	"  the record stays after the issuance"

# --- a record for another account ---------------------------------------
c_run -d site3 letsencrypt:use-mechanism o.test persist
h_dns_add _validation-persist.o.test TXT "pebble.test; accounturi=https://127.0.0.1:1/my-account/other" || t_bail "cannot add"
DEBUG=1 c_run -d site3 letsencrypt:request '[o.test]'
t_is "$RC" 1 "a record naming another account fails"
t_like "$ERR" "o\.test: _validation-persist\.o\.test holds no record this CA accepts for this account; publish the TXT record _validation-persist\.o\.test \"pebble\.test; accounturi=$acct\" once \(cpcmd -d site3 letsencrypt:persist-record o\.test" \
	"  early, with the record to publish"
t_like "$ERR" "the one there, \"pebble\.test; accounturi=https://127\.0\.0\.1:1/my-account/other\", names another account" \
	"  and what is wrong with the one there"
t_is "$(count /chalZ/)" 0 "  no challenge answered"

# --- staged: challenges lists the persist record, solve looks it up first --
c_run -o json -d site3 letsencrypt:challenges '[o.test]'
t_is "$RC" 0 "challenges o.test" || t_diag "$ERR"
t_is "$(jq_out '."o.test"[] | select(.type == "dns-persist-01") | .record + " " + .value')" \
	"_validation-persist.o.test pebble.test; accounturi=$acct" "  the dns-persist-01 challenge with its record and value"
DEBUG=1 c_run -o json -d site3 letsencrypt:solve "['o.test':'persist']"
t_is "$RC:$(jq_out '."o.test".status')" "1:unpublished" "solve with the wrong record: unpublished"
t_like "$ERR" "publish the TXT record _validation-persist\.o\.test \"pebble\.test; accounturi=$acct\"" "  naming the record"
t_is "$(count /chalZ/)" 0 "  no challenge answered"
h_dns_del _validation-persist.o.test TXT
h_dns_add _validation-persist.o.test TXT "pebble.test; accounturi=$acct" || t_bail "cannot add"
DEBUG=1 c_run -o json -d site3 letsencrypt:solve "['o.test':'persist']"
t_is "$RC:$(jq_out '."o.test".status'):$(count /chalZ/)" "0:valid:1" "with the record: solved" || t_diag "$ERR"
DEBUG=1 c_run -d site3 letsencrypt:request '[o.test]'
t_is "$RC:$(count /order-plz)" "0:0" "the request finishes the staged order" || t_diag "$ERR"
t_like "$ERR" "o\.test already resolved by persist" "  resolved by persist"

# --- ownership -----------------------------------------------------------
c_run -d site3 letsencrypt:persist-record p.test
t_is "$RC" 1 "a site asking for a name it does not own is refused"
t_like "$ERR" "p\.test" "  naming it" 
t_unlike "$OUT" "accounturi" "  no record printed"
c_run -d site3 letsencrypt:persist-record p.test true
t_is "$RC" 1 "  nor published"
t_is "$(txt _validation-persist.p.test)" "\"pebble.test; accounturi=$acct\" " "  the record of p.test is unchanged"
c_run -d site1 letsencrypt:use-mechanism p.test nope
t_is "$RC" 1 "use-mechanism refuses an unknown mechanism"
t_like "$ERR" "use http, dns, persist, or null" "  listing persist"

# --- disabled ------------------------------------------------------------
"$CPCMD" scope:set cp.config letsencrypt disabled_challenges persist,tls-alpn >/dev/null
DEBUG=1 c_run -d site1 letsencrypt:request '[p.test]'
t_is "$RC:$(count /order-plz)" "3:0" "persist listed in disabled_challenges: the name is dropped, nothing ordered"
t_like "$ERR" "WARNING : p\.test is forced to persist, which is listed in \[letsencrypt\] disabled_challenges; skipping request for it" "  saying so"
"$CPCMD" scope:set cp.config letsencrypt disabled_challenges tls-alpn >/dev/null

# --- a CA without dns-persist-01 ---------------------------------------
h_stop_pebble
H_PEBBLE_CONFIG= H_PEBBLE_BIN=pebble
h_start_pebble || t_bail "Pebble 2.4 did not start"
DEBUG=1 c_run -d site1 letsencrypt:request '[p.test]'
t_is "$RC" 1 "Pebble 2.4: persist fails"
t_like "$ERR" "p\.test: the CA at https://127\.0\.0\.1:$H_PEBBLE_PORT/dir offers no dns-persist-01 challenge, so p\.test cannot be validated with persist; use dns or http for it" \
	"  a clear error naming the CA and the way out"
t_is "$(count /chalZ/)" 0 "  nothing answered"
c_run -d site1 letsencrypt:persist-record p.test
t_is "$RC" 1 "persist-record with a CA naming no issuer domain name fails"
t_like "$ERR" "names no issuer domain name \(its directory has no caaIdentities\)" "  saying why"
t_done
