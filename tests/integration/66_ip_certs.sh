#!/usr/bin/env bash
# also-asan
# IP address certificates (RFC 8738) against Pebble 2.10, BIND and Apache: a
# site whose configured ip is 127.0.0.1 orders a.test and 127.0.0.1 (an "ip"
# identifier, validated by http-01 on the address itself, an iPAddress SAN
# and no IP in the CN) and Apache serves it to a client that checks the
# address; an address that is not the site's, or that another site shares,
# is refused before any order; dns cannot be forced on an address; the
# server's own certificate names an address of this machine from
# additional_certs, never one that is not; the deployment check refuses a
# certificate naming another address; Pebble 2.4 (bookworm's) as well.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
# zone "1": a CAA record up the tree of 127.0.0.1 read as a name, which
# would forbid Pebble — an address has no CAA records, so it must not count
c_servers test 1
c_configure
plog=$H_DIR/pebble/pebble.log
# newOrder requests Pebble has answered so far
orders() { grep -c 'POST /order-plz -> calling handler()' "$plog"; }
ip_sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -o 'IP Address:[^,]*' | sed 's/^IP Address://' | sort; }
cn_of() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'; }
for n in a.test b.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run site:add a.test "['ip':'127.0.0.1']"
c_run site:add b.test "['ip':'127.0.0.2']"
h_dns_add 1 CAA '0 issue "other.example"' || t_bail "cannot add the CAA record"
t_is "$(curl -sS --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL" | jq -r '.meta.caaIdentities | length')" 1 \
	"the CA names its caaIdentities (so cpssl checks CAA)"

# --- a site's own address ------------------------------------------------------------------
o0=$(orders)
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test,127.0.0.1]'
t_is "$RC" 0 "site1 (ip 127.0.0.1) orders a.test and 127.0.0.1" || t_diag "$ERR"
t_is "$(( $(orders) - o0 ))" 1 "  in one order"
t_ok "$(grep -qF 'Identifier:acme.Identifier{Type:"ip", Value:"127.0.0.1"}' "$plog"; echo $?)" \
	"  the order carries an ip identifier for the address"
t_ok "$(grep -qF "Attempting to validate w/ HTTP: http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/" "$plog"; echo $?)" \
	"  which Pebble validated by http-01 on the address itself"
t_like "$ERR" "DEBUG   : SSL challenge attempt: 127\.0\.0\.1 \(http\)" "  with cpssl's http-01 response"
t_unlike "$ERR" "CAA" "  no CAA check for the address (the record at 1. is not its)"
cert=$(c_site_dir site1)/cert.pem
t_is "$(ip_sans "$cert")" "127.0.0.1" "  the certificate names the address as an iPAddress SAN"
t_is "$(c_sans "$cert")" "a.test" "  and a.test as a DNS SAN"
c_verify "$(c_site_dir site1)"; t_ok $? "  it verifies against Pebble's root"
c_run -o json -d site1 letsencrypt:status
t_like "$(jq -c '.names' <<<"$OUT")" '"127\.0\.0\.1"' "  letsencrypt:status lists the address among the names"
c_run -o json letsencrypt:list
t_like "$(jq -c '.[] | select(.site == "site1") | .names' <<<"$OUT")" '"127\.0\.0\.1"' "  so does letsencrypt:list"
c_run -o json -d site1 ssl:get-certificates
t_like "$(jq -c '.[0].names' <<<"$OUT")" '"127\.0\.0\.1"' "  and ssl:get-certificates"

# --- Apache serves it to a client that checks the address -------------------------------------
example=${CPSSL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/etc/apache/cpssl-site-ssl.conf.example
# the first TLS host on the port: the one a client without SNI (an address) gets
sed -e "s#192\.0\.2\.10:443#127.0.0.1:$H_HTTPS_PORT#" -e "s#ServerName example\.com#ServerName a.test#" \
	-e '/ServerAlias/d' -e "s#DocumentRoot .*#DocumentRoot \"$H_DIR/apache/htdocs\"#" \
	-e "s#/etc/httpd/conf/site1\.ssl/#$H_DIR/fsroot/etc/httpd/conf/site1.ssl/#" "$example" >"$H_DIR/apache/sites/000-a.test.conf"
h_apache_graceful || t_bail "Apache did not take the site's TLS host"
fp=$(h_cert_fingerprint "$cert")
tls=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -noservername -verify_ip 127.0.0.1 \
	-verify_return_error -CAfile "$H_PEBBLE_ROOT" </dev/null 2>&1)
t_is "$?:$(openssl x509 -noout -fingerprint -sha256 <<<"$tls" 2>/dev/null | cut -d= -f2)" "0:$fp" \
	"Apache serves it to https://127.0.0.1/, verified for the address against Pebble's root" || t_diag "$(grep -i verify <<<"$tls" | head -3)"
tls=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -noservername -verify_ip 127.0.0.3 \
	-verify_return_error -CAfile "$H_PEBBLE_ROOT" </dev/null 2>&1)
t_isnt "$?" 0 "  and a client asking for 127.0.0.3 refuses it (the check is real)"

# --- addresses that are not the site's: refused before any order -----------------------------
o0=$(orders)
c_run -d site1 letsencrypt:request '[a.test,127.0.0.99]' true true
t_is "$RC" 1 "site1 asking for 127.0.0.99 (strict): refused"
t_like "$ERR" "site1 may not name the IP address 127\.0\.0\.99: a site may name only its own address \(127\.0\.0\.1\)" \
	"  naming the address, the site and the address it may use"
c_run -d site1 letsencrypt:request '[127.0.0.2]'
t_is "$RC" 3 "site1 asking for site2's address 127.0.0.2: nothing to order"
t_like "$ERR" "WARNING : site1 may not name the IP address 127\.0\.0\.2: a site may name only its own address \(127\.0\.0\.1\); skipping request for it" \
	"  a WARNING saying why"
c_run -d site1 letsencrypt:request "['a.test','0:0:0:0:0:0:0:1']" true true
t_like "$RC:$ERR" "^1:.*site1 may not name the IP address ::1: a site may name only its own address" \
	"  ::1 (written long) is refused too, named in its canonical form"
c_run -d site1 letsencrypt:request '[a.test,::1]'
t_like "$RC:$ERR" "^2:.*malformed argument literal: .* \(quote an IPv6 address inside a list: \"\['a\.example','2001:db8::1'\]\"\)" \
	"  an unquoted IPv6 address in a list: a usage error saying to quote it"
c_run -d site1 letsencrypt:request '[a.test,127.0.0.01]' true true
t_like "$RC:$ERR" "^1:.*'127\.0\.0\.01' is not a valid hostname: nor a valid IP address \(write IPv4 as 192\.0\.2\.1, without leading zeros\)" "  a malformed address is not a name, saying how to write one"
c_run -d site1 letsencrypt:request "['::ffff:127.0.0.1']" true true
t_like "$RC:$ERR" "^1:.*'::ffff:127\.0\.0\.1' is an IPv4 address written as IPv6: write it as 127\.0\.0\.1" \
	"  an IPv4-mapped address is refused, saying how to write it"
c_run site:add c.test "['ip':'127.0.0.2']"
c_run -d site2 letsencrypt:request '[b.test,127.0.0.2]' true true
t_is "$RC" 1 "site2's address, shared with site3: refused"
t_like "$ERR" "site2 may not name the IP address 127\.0\.0\.2: site3 has the same address, and only a site with an address of its own may name it" \
	"  saying which site shares it"
t_is "$(( $(orders) - o0 ))" 0 "  none of these reached the CA"

# --- mechanisms --------------------------------------------------------------------------------
c_run -d site1 letsencrypt:use-mechanism 127.0.0.1 dns
t_is "$RC" 1 "forcing dns on an address: refused"
t_like "$ERR" "127\.0\.0\.1 is an IP address, which only http-01 can validate: dns cannot be forced for it" "  saying why"
db=$CPSSL_HOME/storage/cpssl.db
sqlite3 "$db" "INSERT INTO forced_mechanisms VALUES (1, '127.0.0.1', 'dns')"
c_run -d site1 letsencrypt:request '[a.test,127.0.0.1]' true true
t_like "$RC:$ERR" "^1:.*127\.0\.0\.1 is an IP address, which only http-01 can validate, and it is forced to dns \(undo it with letsencrypt:use-mechanism 127\.0\.0\.1 null\)" \
	"  dns forced on it by other means: the request stops, saying how to undo it"
t_is "$(( $(orders) - o0 ))" 0 "  without ordering"
c_run -d site1 letsencrypt:use-mechanism 127.0.0.1 null
t_is "$RC:$(sqlite3 "$db" "SELECT count(*) FROM forced_mechanisms")" "0:0" "  undone as it says"
c_run -d site1 letsencrypt:use-mechanism 127.0.0.1 persist
t_is "$RC" 1 "forcing persist (dns-persist-01) on an address: refused"
t_like "$ERR" "127\.0\.0\.1 is an IP address, which only http-01 can validate: persist cannot be forced for it" "  saying why"
sqlite3 "$db" "INSERT INTO forced_mechanisms VALUES (1, '127.0.0.1', 'persist')"
c_run -d site1 letsencrypt:request '[a.test,127.0.0.1]' true true
t_like "$RC:$ERR" "^1:.*127\.0\.0\.1 is an IP address, which only http-01 can validate, and it is forced to persist" \
	"  persist forced on it by other means: the request stops"
t_is "$(( $(orders) - o0 ))" 0 "  without ordering"
c_run -d site1 letsencrypt:use-mechanism 127.0.0.1 null

# --- the deployment check: a certificate naming an address must be the site's -----------------
mkcert() { # NAME SAN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=a.test" \
		-addext "subjectAltName=$2" -keyout "$H_DIR/$1.key" -out "$H_DIR/$1.crt" 2>/dev/null
}
mkcert own "DNS:a.test,IP:127.0.0.1"
mkcert foreign "DNS:a.test,IP:127.0.0.2"
c_run -d site1 ssl:install "$H_DIR/foreign.key" "$H_DIR/foreign.crt"
t_is "$RC" 1 "ssl:install of a certificate naming site2's address for site1: refused"
t_like "$ERR" "the certificate names the IP address 127\.0\.0\.2, which is not site1's address \(site1's address is 127\.0\.0\.1\)" \
	"  naming the address and the site's own"
c_run -d site1 ssl:install "$H_DIR/own.key" "$H_DIR/own.crt"
t_is "$RC" 0 "one naming site1's own address is installed" || t_diag "$ERR"

# --- the server's own certificate ----------------------------------------------------------------
c_run letsencrypt:request '[127.0.0.1]'
t_is "$RC" 3 "the server may not name 127.0.0.1 while it is not in additional_certs"
t_like "$ERR" "the server certificate may only name the server hostname and \[letsencrypt\] additional_certs, and 127\.0\.0\.1 is neither" "  saying so"
c_run scope:set cp.config letsencrypt additional_certs 127.0.0.1,127.0.0.99
t_is "$RC" 0 "additional_certs takes addresses"
o0=$(orders)
c_run letsencrypt:request '[127.0.0.1]'
t_is "$RC" 0 "the server's certificate for 127.0.0.1 (on this machine's loopback interface)" || t_diag "$ERR"
t_is "$(ip_sans "$H_DIR/fsroot/etc/pki/tls/certs/server.pem")" "127.0.0.1" "  deployed, naming the address"
t_is "$(cn_of "$H_DIR/fsroot/etc/pki/tls/certs/server.pem")" "" "  with no address in the CN"
c_run letsencrypt:request '[127.0.0.99]'
t_is "$RC" 3 "127.0.0.99 (in additional_certs, on no interface): nothing to order"
t_like "$ERR" "the server certificate may name only the server's own IP addresses, and 127\.0\.0\.99 is not one: it is on none of this machine's interfaces \(.*127\.0\.0\.1.*\) nor in \[letsencrypt\] server_addresses" \
	"  saying why and what the server's addresses are"
t_is "$(( $(orders) - o0 ))" 1 "  only the first reached the CA"
c_run scope:set cp.config letsencrypt server_addresses 127.0.0.99
c_run letsencrypt:use-mechanism 127.0.0.99 http
t_is "$RC" 0 "with 127.0.0.99 in server_addresses the server may name it"
c_run scope:set cp.config letsencrypt server_addresses example.test
t_like "$RC:$ERR" "^1:.*server_addresses.*'example\.test' is not a valid IP address" "server_addresses takes addresses only"
c_run -d site1 letsencrypt:request '[127.0.0.99]'
t_is "$RC" 3 "  and a site may still not name it"

# --- IPv6: a site whose ip6 is ::1 (Apache answers http-01 on [::1] too) -------------------------
printf 'Listen [::1]:%s http\n' "$H_HTTP_PORT" >"$H_DIR/apache/sites/001-v6.conf"
h_apache_graceful || t_bail "Apache did not listen on [::1]"
c_run site:add d.test "['ip':'127.0.0.4','ip6':'0:0:0:0:0:0:0:1']"
o0=$(orders)
c_run -d site4 letsencrypt:request "['0::1']"
t_is "$RC" 0 "site4 (ip6 ::1) orders ::1, written in another form" || t_diag "$ERR"
t_ok "$(grep -qF 'Identifier:acme.Identifier{Type:"ip", Value:"::1"}' "$plog"; echo $?)" \
	"  as the ip identifier ::1 (RFC 5952)"
t_ok "$(grep -qF "Attempting to validate w/ HTTP: http://[::1]:$H_HTTP_PORT/" "$plog"; echo $?)" \
	"  validated by http-01 on [::1]"
cert4=$(c_site_dir site4)/cert.pem
openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$(c_site_dir site4)/chain.pem" -verify_ip ::1 "$cert4" >/dev/null 2>&1
t_ok $? "  the certificate verifies for the address ::1"
t_is "$(cn_of "$cert4"):$(openssl x509 -in "$cert4" -noout -ext subjectAltName | grep -c critical)" ":1" \
	"  an empty subject, so its subjectAltName is critical"

# --- Pebble 2.4 (bookworm's) issues for addresses as well ---------------------------------------
h_stop_pebble
H_PEBBLE_BIN=pebble
h_start_pebble || t_bail "Pebble 2.4 did not start"
[ "$(grep -c 'Starting Pebble' "$plog")" = 2 ] || t_bail "Pebble did not restart"
c_run -d site1 letsencrypt:request '[a.test,127.0.0.1]'
t_is "$RC" 0 "Pebble 2.4: site1 orders a.test and 127.0.0.1" || t_diag "$ERR"
t_is "$(ip_sans "$(c_site_dir site1)/cert.pem")" "127.0.0.1" "  the certificate names the address"
c_verify "$(c_site_dir site1)"; t_ok $? "  issued by Pebble 2.4's root"

# --- a name leaves the site: the replacement keeps the site's address ---------------------------
h_dns_add e.test A 127.0.0.1 || t_bail "cannot add e.test"
c_run -d site1 site:add-domain e.test
c_run -d site1 letsencrypt:request '[e.test,127.0.0.1]'
t_is "$RC" 0 "site1's certificate for e.test and 127.0.0.1" || t_diag "$ERR"
c_run -d site1 site:remove-domain e.test
t_is "$RC" 0 "e.test leaves site1" || t_diag "$ERR"
t_like "$ERR" "e\.test is no longer site1's; the new certificate leaves it out" "  the certificate naming it is replaced"
cert=$(c_site_dir site1)/cert.pem
t_is "$(c_sans "$cert"):$(ip_sans "$cert")" ":127.0.0.1" "  by one for the address site1 still has"
t_done
