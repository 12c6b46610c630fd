#!/usr/bin/env bash
# also-asan
# letsencrypt:request against real Pebble, BIND and Apache: http-01, dns-01
# through RFC 2136, wildcard + apex, three names, every key type, validation
# failures, and a CA that goes away mid-order.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
# issuance is the subject here: Apache is not restarted under the validations
c_run scope:set cp.config httpd reload_command /bin/true
c_run scope:set cp.config httpd configtest_command /bin/true
for n in a.test www.a.test x.a.test k.a.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
h_dns_add dead.a.test A 127.0.0.2   # nothing listens there
c_run site:add a.test "['ip':'127.0.0.1','email':'admin@a.test']"
t_is "$OUT" site1 "site1 created"
dir=$(c_site_dir site1)
acme=$H_CHALLENGE_DIR/.well-known/acme-challenge

# --- http-01, one name ---------------------------------------------------------
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "http-01 issuance for a.test"
t_like "$OUT" "names:"$'\n'"- a.test" "  result names the hostname"
t_like "$OUT" "expires: '20[0-9-]+T" "  and the expiry"
t_like "$OUT" "fingerprint: '?[0-9A-F:]{95}" "  and the fingerprint"
t_like "$ERR" "INFO    : reminder: only 5 duplicate certificates and 50 unique certificates may be issued per week per account" "  with the rate-limit reminder"
t_like "$ERR" "SSL challenge attempt: a.test \(http\)" "  DEBUG shows the http attempt"
req=$(grep -o 'with [0-9]* HTTP requests' <<<"$ERR" | grep -o '[0-9]*')
t_diag "first issuance (account registration included): $req HTTP requests"
c_verify "$dir"; t_ok $? "  chain verifies against Pebble's root"
t_is "$(c_sans "$dir/cert.pem")" "a.test" "  SANs exactly [a.test]"
t_is "$(stat -c %a "$(readlink -f "$dir/privkey.pem")")" 600 "  key is 0600"
t_is "$(openssl x509 -in "$dir/cert.pem" -noout -pubkey | openssl sha256)" \
	"$(openssl pkey -in "$dir/privkey.pem" -pubout | openssl sha256)" "  key matches certificate"
t_is "$(find "$acme" -type f 2>/dev/null | wc -l)" 0 "  no challenge file left"
acct=$(find "$CPSSL_HOME/storage/certificates/data/accounts" -name account.key)
t_is "$(stat -c %a "$acct")" 600 "  account key stored 0600 per ACME server"
t_like "$acct" "/accounts/127\.0\.0\.1:[0-9]+\.dir/account\.key$" "  in a directory named after the server"
t_is "$(sqlite3 "$CPSSL_HOME/storage/cpssl.db" "SELECT names FROM certificates WHERE site_id=1 AND is_current=1")" \
	"a.test" "  recorded as the site's current certificate"

# --- the second issuance reuses the account: protocol minimum (a name not
# validated before: Pebble reuses valid authorizations now and then) --------------
DEBUG=1 c_run -d site1 letsencrypt:request '[www.a.test]'
t_is "$RC" 0 "a second issuance"
req=$(grep -o 'with [0-9]* HTTP requests' <<<"$ERR" | grep -o '[0-9]*')
t_diag "single-name http-01 issuance with an existing account: $req HTTP requests"
# the protocol minimum: each step once; only the order polls depend on timing
count() { grep -c "HTTP $1 https://[^ ]*$2" <<<"$ERR"; }
t_is "$(count GET /dir) $(count HEAD /nonce-plz) $(count POST /sign-me-up) $(count POST /order-plz)" \
	"1 1 0 1" "  one directory GET, one newNonce, no account request, one new order"
t_is "$(count POST /authZ/) $(count POST /chalZ/) $(count POST /finalize-order/) $(count POST /certZ/)" \
	"1 1 1 1" "  one authorization fetch, one challenge answer, one finalize, one download"
t_diag "order polls: $(count POST /my-order/)"

# --- three names ---------------------------------------------------------------
c_run -d site1 letsencrypt:request '[a.test,www.a.test,x.a.test]'
t_is "$RC" 0 "three-name http-01 order"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "a.test www.a.test x.a.test " "  SANs exactly the three names"
c_verify "$dir"; t_ok $? "  chain verifies"

# --- dns-01: wildcard + apex in one order ---------------------------------------
DEBUG=1 c_run -d site1 letsencrypt:request '[*.a.test,a.test]'
t_is "$RC" 0 "wildcard + apex in one order (dns-01 through RFC 2136 + http-01)"
t_like "$ERR" "SSL challenge attempt: \*\.a\.test \(dns\)" "  the wildcard went by dns"
t_like "$ERR" "Setting DNS TXT record _acme-challenge\.a\.test with value" "  TXT record published"
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.a.test a.test " "  SANs exactly *.a.test and a.test"
c_verify "$dir"; t_ok $? "  chain verifies"
t_is "$(h_dig _acme-challenge.a.test TXT)" "" "  TXT records removed afterwards"

# --- every key type ---------------------------------------------------------------
for kt in ec-384 rsa-2048 rsa-3072 rsa-4096 ec-256; do
	c_run -d site1 site:set-setting key_type "$kt"
	c_run -d site1 letsencrypt:request '[k.a.test]'
	t_is "$RC" 0 "issuance with key_type $kt"
	case $kt in
	ec-256) want="Private-Key: (256 bit" ;;
	ec-384) want="Private-Key: (384 bit" ;;
	rsa-*) want="Private-Key: (${kt#rsa-} bit" ;;
	esac
	t_like "$(openssl pkey -in "$dir/privkey.pem" -noout -text 2>/dev/null | head -n 1)" "^${want//(/\\(}" "  the key is $kt"
	c_verify "$dir"; t_ok $? "  chain verifies"
done
t_is "$(ls "$(dirname "$dir")/archive" | wc -l)" 5 "only the last 5 versions are kept"

# --- validation failure ------------------------------------------------------------
before=$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256)
c_run -d site1 letsencrypt:use-mechanism dead.a.test http
c_run -d site1 letsencrypt:request '[dead.a.test]' false
t_is "$RC" 1 "http-01 (forced) against an address where nothing listens fails"
t_is "$OUT" "false" "  the result is false"
t_like "$ERR" "dead\.a\.test: the http-01 challenge failed: .*(refused|127\.0\.0\.2)" "  naming the host and quoting the CA"
t_is "$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256)" "$before" "  the current certificate is untouched"
t_is "$(find "$acme" -type f 2>/dev/null | wc -l)" 0 "  no challenge file left"
t_is "$(sqlite3 "$CPSSL_HOME/storage/cpssl.db" "SELECT count(*) FROM acme_challenges WHERE published IS NOT NULL")" 0 \
	"  nothing is left marked as published"

# dns-01 whose TXT record never appears: a hook that publishes nothing. (Fresh
# names wherever a challenge must really happen: even with PEBBLE_AUTHZREUSE=0,
# Pebble reuses a valid authorization now and then.)
hook=$H_DIR/null-hook
printf '#!/bin/sh\nexit 0\n' >"$hook"; chmod 755 "$hook"
c_run -d site1 site:set-setting dns.provider hook
c_run -d site1 site:set-setting dns.hook "$hook"
t_is "$RC" 1 "a site cannot choose the program root runs as its DNS hook"
t_like "$ERR" "dns\.hook is a server-only setting.*scope:set cp\.config dns hook VALUE" "  it is server-only, and the error says where to set it"
c_run scope:set cp.config dns hook "$hook"
c_run scope:set cp.config letsencrypt dns_validation_wait 2
start=$SECONDS
DEBUG=1 c_run -d site1 letsencrypt:request '[*.nv.a.test]'
t_is "$RC" 1 "dns-01 whose TXT record never appears fails" || t_diag "$ERR"
t_like "$ERR" "_acme-challenge\.nv\.a\.test" "  naming the record"
t_ok $((SECONDS - start < 30 ? 0 : 1)) "  within the propagation wait (bounded)"
c_run -d site1 site:set-setting dns.provider null
c_run scope:set cp.config letsencrypt dns_validation_wait 10

# --- ownership -------------------------------------------------------------------
c_run -d site1 letsencrypt:request '[b.test]' true true
t_is "$RC" 1 "strict: a name the site does not own fails the request"
t_like "$ERR" "site1 does not own b\.test" "  saying so"
c_run -d site1 letsencrypt:request '[b.test]'
t_is "$RC" 3 "non-strict: every name pruned → nothing to do (exit 3)"
t_like "$ERR" "WARNING : site1 does not own b\.test" "  with a WARNING per name"
t_is "$OUT" "null" "  result null"

# --- IP verification --------------------------------------------------------------
h_dns_add ipx.a.test A 127.0.0.3
c_run -d site1 letsencrypt:request '[ipx.a.test,a.test]'
t_is "$RC" 0 "non-strict: a name resolving elsewhere is dropped, the rest issued"
t_like "$ERR" "WARNING : ipx\.a\.test resolves to 127\.0\.0\.3, which doesn't match hosting IP 127\.0\.0\.1" \
	"  WARNING names the name, its IPs and the site IP"
t_is "$(c_sans "$dir/cert.pem")" "a.test" "  the certificate names only a.test"
c_run -d site1 letsencrypt:request '[ipx.a.test,a.test]' true true
t_is "$RC" 1 "strict: the mismatch fails the whole request"
t_like "$ERR" "strict mode: nothing was ordered because ipx\.a\.test resolves to 127\.0\.0\.3" "  saying why"
c_run -d site1 site:set-setting strict_mode true
c_run -d site1 letsencrypt:request '[ipx.a.test,a.test]'
t_is "$RC" 1 "strict_mode set for the site has the same effect"
c_run -d site1 site:set-setting strict_mode null
c_run -d site1 letsencrypt:request '[nx.a.test]'
t_like "$ERR" "nx\.a\.test does not resolve to any address" "a name without records fails verification"
DEBUG=1 c_run -d site1 letsencrypt:request '[*.a.test]'
t_is "$RC" 0 "wildcards are exempt from IP verification"
c_run -d site1 site:set-setting verify_ip false
DEBUG=1 c_run -d site1 letsencrypt:request '[ipx.a.test]'
t_is "$RC" 0 "verify_ip off for the site: no check; the name points elsewhere, so dns-01 is used"
t_like "$ERR" "SSL challenge attempt: ipx\.a\.test \(dns\)" "  the attempt went by dns"
c_run -d site1 site:set-setting verify_ip null
c_run scope:set cp.config dns resolvers 127.0.0.1:1
c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 1 "an unreachable resolver fails the request"
t_like "$ERR" "cannot verify the IP address of a\.test" "  with a clear error"
t_is "$(grep -c WARNING <<<"$ERR")" 0 "  instead of dropping the name"
c_run scope:set cp.config dns resolvers "127.0.0.1:$H_DNS_PORT"

# --- the CA goes away mid-order ----------------------------------------------------
# a dns hook that stops Pebble, then publishes the record for real: the wait
# for propagation passes and the next ACME request finds no CA
killer=$H_DIR/kill-ca
cat >"$killer" <<HOOK
#!/bin/sh
kill $H_PEBBLE_PID
[ "\$1" = setup ] || exit 0
printf 'server 127.0.0.1 %s\nupdate add %s. 60 TXT "%s"\nsend\n' $H_DNS_PORT "\$2" "\$3" | nsupdate -k $H_TSIG_FILE
HOOK
chmod 755 "$killer"
c_run -d site1 site:set-setting dns.provider hook
c_run scope:set cp.config dns hook "$killer"
before=$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256)
start=$SECONDS
c_run -d site1 letsencrypt:request '[*.kill.a.test]'
t_is "$RC" 1 "Pebble stopped during the order: the command fails"
t_ok $((SECONDS - start < 60 ? 0 : 1)) "  in bounded time ($((SECONDS - start)) s)"
c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 1 "with Pebble gone, a new request fails"
t_like "$ERR" "Couldn't connect|Connection refused|connect" "  with a clear transport error"
t_is "$(openssl x509 -in "$dir/cert.pem" -noout -fingerprint -sha256)" "$before" "  nothing was deployed"
t_done
