#!/usr/bin/env bash
# also-asan
# CAA (RFC 8659) before ordering, against Pebble 2.10 (which names its
# caaIdentities) and BIND: a name whose closest CAA records, up its tree, do
# not let the CA issue is dropped before any order (non-strict) or stops the
# request (strict); issuewild for wildcards; a critical unknown property
# forbids; a CA that names no caaIdentities is left to decide.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
H_PEBBLE_CONFIG='{"caaIdentities": ["pebble.test"]}'
c_servers test
c_configure
jq_out() { jq -r "$1" <<<"$OUT"; }
orders() { grep -c 'POST .*/order-plz ' <<<"$ERR"; }
for n in c.test www.c.test ok.test w.test crit.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
for d in c.test ok.test w.test crit.test; do
	c_run site:add "$d" "['ip':'127.0.0.1']"
done
t_is "$(curl -sS --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -r '.meta.caaIdentities | join(",")')" "pebble.test" \
	"the CA names its caaIdentities"

# no CAA anywhere up the tree: ordered
DEBUG=1 c_run -d site2 letsencrypt:request '[ok.test]'
t_is "$RC:$(orders)" "0:1" "no CAA record: ordered"

# a record at the parent forbids this CA for www.c.test and c.test
h_dns_add c.test CAA '0 issue "other.example"'
DEBUG=1 c_run -d site1 letsencrypt:request '[www.c.test]'
t_is "$RC" 3 "CAA at c.test allows only other.example: nothing to order"
t_like "$ERR" "WARNING : site1: www\.c\.test: its CAA issue records allow only other\.example, not this CA \(pebble\.test\) — set at c\.test; skipping request for it" \
	"  a WARNING naming the record, where it is set and the CA"
t_is "$(orders)" 0 "  no order reached the CA"
DEBUG=1 c_run -d site1 letsencrypt:request '[www.c.test]' true true
t_is "$RC" 1 "strict mode: the request fails"
t_like "$ERR" "ERROR   : site1: strict mode: nothing was ordered because www\.c\.test: its CAA issue records allow only other\.example" "  saying why"
t_is "$(orders)" 0 "  still no order"
# the CA allowed, with an account parameter
h_dns_add c.test CAA '0 issue "pebble.test; accounturi=https://x"'
DEBUG=1 c_run -d site1 letsencrypt:request '[www.c.test,c.test]'
t_is "$RC:$(orders)" "0:1" "a record naming the CA (among others): ordered"
t_is "$(c_sans "$(c_site_dir site1)/cert.pem" | tr '\n' ' ')" "c.test www.c.test " "  for both names"

# wildcards: issuewild decides when present
h_dns_add w.test CAA '0 issue "pebble.test"'
h_dns_add w.test CAA '0 issuewild ";"'
DEBUG=1 c_run -d site3 letsencrypt:request '[*.w.test,w.test]'
t_is "$RC" 0 "issue allows the CA, issuewild ';' allows no CA"
t_like "$ERR" "WARNING : site3: \*\.w\.test: its CAA issuewild records allow only no CA, not this CA" "  the wildcard is dropped"
t_is "$(c_sans "$(c_site_dir site3)/cert.pem" | tr '\n' ' ')" "w.test " "  the certificate names w.test alone"

# a critical property the CA does not know forbids issuance
h_dns_add crit.test CAA '128 tbs "x"'
DEBUG=1 c_run -d site4 letsencrypt:request '[crit.test]'
t_is "$RC:$(orders)" "3:0" "a critical unknown CAA property: dropped, nothing ordered"
t_like "$ERR" "crit\.test: a critical CAA property 'tbs' no CA may ignore" "  saying which"

# a CA that names no caaIdentities (bookworm's Pebble 2.4) is not second-guessed
h_stop_pebble
H_PEBBLE_CONFIG= H_PEBBLE_BIN=pebble
h_start_pebble || t_bail "Pebble 2.4 did not start"
t_is "$(curl -sS --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -r '.meta.caaIdentities // "none"')" none "Pebble 2.4 names no caaIdentities"
DEBUG=1 c_run -d site4 letsencrypt:request '[crit.test]'
t_like "$ERR" "DEBUG   : the CA names no caaIdentities: CAA is left to it" "without caaIdentities the CA decides"
t_ok "$(( $(orders) >= 1 ? 0 : 1 ))" "  and the order is made" || t_diag "$ERR"
t_done
