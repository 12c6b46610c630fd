#!/usr/bin/env bash
# The ApisCP SSL documentation followed from top to bottom, its command lines
# run as written against real Pebble, BIND and Apache — with its example
# names moved under .test (mydomain.com → mydomain.test, domain.com →
# mydomain.test) and its public look-ups replaced by local ones (the address
# from dns:get-public-ip instead of curl myip4.apiscp.com; "systemctl restart
# apiscp" is a new boot and a housekeeping pass). Sections as in the
# document: Initial setup, Configuration checklist, Bootstrapping server SSL,
# Staging, Issuance process, Solver mechanisms, Mass reissuance, Importing
# certificates, Troubleshooting, Validating installed certificates.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers mydomain.test
c_configure
jq_out() { jq -r "$1" <<<"$OUT"; }
dig_s() { dig +short +time=2 +tries=2 @127.0.0.1 -p "$H_DNS_PORT" "$@" 2>/dev/null; }
export CPSSL_BOOT_ID=boot-1
# "Staging doesn't impose the same rate-limiting": the staging CA here is the
# same Pebble by another name, so that switching really changes the CA
staging=${H_PEBBLE_DIR_URL/127.0.0.1/localhost}
c_run scope:set cp.config letsencrypt staging_server "$staging"
conf=$H_DIR/fsroot/home/virtual/site1/fst/etc/httpd/conf
tls() { # NAME — what Apache serves for NAME: the leaf's fingerprint
	timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -servername "$1" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint 2>/dev/null
}

# --- Configuration checklist -------------------------------------------------------------------
c_run common:get-email
t_is "$RC:$OUT" "0:admin@test.test" "cpcmd common:get-email"
c_run common:set-email user@mydomain.test
t_is "$RC:$OUT" "0:true" "cpcmd common:set-email user@domain.com"
t_like "$ERR" "WARNING : mydomain\.test has no MX record" "  Admin email domain has resolvable MX record: not yet, and set-email says so"
t_is "$(dig_s MX mydomain.test)" "" "  dig +short MX domain.com agrees"
c_run scope:set net.hostname svr1.mydomain.test
t_is "$RC:$OUT" "0:true" "cpcmd scope:set net.hostname some.host.name"
t_is "$(dig_s svr1.mydomain.test)" "" "  dig +short \"\$(hostname)\": DNS for the hostname is pending setup"

# --- Initial setup: the server's request at install time ------------------------------------------
# ("ApisCP does not provide a method to bootstrap DNS for a server": with the
# DNS provider cpssl could answer dns-01 without an A record, so only http-01
# is offered until the record exists)
c_run scope:set cp.config letsencrypt disabled_challenges dns
c_run letsencrypt:housekeeping
t_is "$RC" 1 "the install-time request for the server fails without DNS"
c_run -o json letsencrypt:status
t_is "$(jq_out '.interim')" true "  a self-signed certificate is used in the interim"

# --- Bootstrapping server SSL with a hosted domain --------------------------------------------------
c_run site:add mydomain.test "['ip':'127.0.0.1']"
t_is "$RC:$OUT" "0:site1" "AddDomain -c siteinfo,domain=mydomain.com (site:add)"
c_run -d mydomain.test dns:get-public-ip
t_is "$RC:$OUT" "0:'127.0.0.1'" "cpcmd -d mydomain.com dns:get-public-ip (YAML quotes what a YAML 1.1 reader could take for a number)"
c_run -d mydomain.test dns:add-record mydomain.test svr1 A "$("$CPCMD" -d mydomain.test dns:get-public-ip)"
t_is "$RC:$OUT" "0:true" "cpcmd -d mydomain.com dns:add-record mydomain.com svr1 A \"\$(…public address…)\""
t_is "$(dig_s svr1.mydomain.test)" "127.0.0.1" "  the record is served"
# "Restart ApisCP to attempt another SSL authorization"
CPSSL_BOOT_ID=boot-2 c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '.[] | select(.site == "server") | .result')" renewed "systemctl restart apiscp: the next boot's pass obtains the server's certificate"
c_run -o json letsencrypt:status
t_is "$(jq_out '.interim'):$(jq_out '.server')" "false:$H_PEBBLE_DIR_URL" "  from the CA, no longer interim"
export CPSSL_BOOT_ID=boot-2
c_run scope:set cp.config letsencrypt disabled_challenges tls-alpn

# --- Staging ---------------------------------------------------------------------------------------
c_run -d mydomain.test dns:add-record mydomain.test '' A 127.0.0.1
c_run -d site1 letsencrypt:challenges '[*.mydomain.test,mydomain.test]'
t_is "$RC" 0 "cpcmd -d site1 letsencrypt:challenges '[*.mydomain.com,mydomain.com]'"
CH=$OUT
t_like "$CH" "'\*\.mydomain\.test':"$'\n'"- domain: mydomain\.test"$'\n'"  status: pending"$'\n'"  type: dns-01" "  the wildcard's challenge, raw, as the document shows it"
c_run -o json -d site1 letsencrypt:challenges '[*.mydomain.test,mydomain.test]'
wpay=$(jq_out '."*.mydomain.test"[] | select(.type == "dns-01") | .payload')
htok=$(jq_out '."mydomain.test"[] | select(.type == "http-01") | .token')
hpay=$(jq_out '."mydomain.test"[] | select(.type == "http-01") | .payload')
t_like "$hpay" "^$htok\." "  (asked again: the same staged order, token and payload)"
# Staging HTTP
webroot=$H_CHALLENGE_DIR
mkdir -p "$webroot/.well-known/acme-challenge"
echo "$hpay" > "$webroot/.well-known/acme-challenge/$htok"
t_is "$(curl -s --max-time 10 -H 'Host: mydomain.test' "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/$htok")" "$hpay" \
	"Staging HTTP: the payload is reachable at /.well-known/acme-challenge/TOKEN"
# Staging DNS: the document's pipeline and its command as written, which puts
# the record at the domain itself ('' is the zone)
value=$(echo -n "$wpay" | openssl dgst -binary -sha256 | openssl base64 | tr -d '=' | tr '+/' '-_')
c_run -d mydomain.test dns:add-record mydomain.test '' TXT "$value" 30
t_is "$RC:$(dig_s TXT mydomain.test)" "0:\"$value\"" "cpcmd -d mydomain.com dns:add-record mydomain.com '' TXT '…' 30"
DEBUG=1 c_run -d mydomain.test letsencrypt:solve "['*.mydomain.test':'dns']"
t_is "$RC" 1 "  solve does not answer a dns-01 challenge whose record the CA would not find"
t_like "$ERR" "_acme-challenge\.mydomain\.test does not hold the TXT value $value \(it is at the name itself, but the CA asks _acme-challenge\); publish it \(cpcmd -d mydomain\.test dns:add-record mydomain\.test _acme-challenge TXT '$value'\), then solve again \(the authorization stays pending\)" \
	"  and says where the record must go (the text of the document: a TXT record named _acme-challenge)"
# the record the document's text names
c_run -d mydomain.test dns:add-record mydomain.test _acme-challenge TXT "$value" 30
t_is "$RC:$(dig_s TXT _acme-challenge.mydomain.test)" "0:\"$value\"" "Staging DNS: dns:add-record … TXT '…' 30"
# Finalizing staging
DEBUG=1 c_run -d mydomain.test letsencrypt:solve "['*.mydomain.test':'dns','mydomain.test':'http']"
t_is "$RC" 0 "env DEBUG=1 cpcmd -d mydomain.com letsencrypt:solve \"['*.mydomain.com':'dns','mydomain.com':'http']\""
t_like "$ERR" "DEBUG   : SUCCESS! SSL challenge response: \*\.mydomain\.test \(dns\) - VALID" "  *.mydomain.com (dns) - VALID"
t_like "$ERR" "DEBUG   : SUCCESS! SSL challenge response: mydomain\.test \(http\) - VALID" "  mydomain.com (http) - VALID"
DEBUG=1 c_run -d mydomain.test letsencrypt:request "['*.mydomain.test','mydomain.test']" false
t_is "$RC" 0 "cpcmd -d mydomain.com letsencrypt:request \"['*.mydomain.com','mydomain.com']\" false"
t_like "$ERR" "DEBUG   : \*\.mydomain\.test already resolved by dns" "  DEBUG: *.mydomain.com already resolved by dns"
t_like "$ERR" "INFO    : reminder: only 5 duplicate certificates and 50 unique certificates may be issued per week per account" "  INFO: the reminder"
t_like "$ERR" "Reporter level: OK" "  Reporter level: OK"

# --- Issuance process ------------------------------------------------------------------------------
c_run -d site1 letsencrypt:storage-path
store=$OUT
t_like "$store" "/storage/certificates/data/certs/127\.0\.0\.1:[0-9]+\.dir/site1$" "certificates are stored under …/certs/ACME-SERVER/siteXX"
t_ok "$([ -s "$store/current/cert.pem" ]; echo $?)" "  the certificate is there"
fp=$(h_cert_fingerprint "$store/current/cert.pem")
t_is "$(h_cert_fingerprint "$conf/ssl.crt/server.crt")" "$fp" "  copied into siteXX/fst/etc/httpd/conf/ssl.crt"
t_ok "$([ -s "$conf/ssl.key/server.key" ]; echo $?)" "  and ssl.key"
c_run scope:get cp.config mail proxy
t_is "$RC:$OUT" "0:''" "cpcmd scope:get cp.config mail proxy (empty, not haproxy: no ssl.d copy)"
c_run scope:set cp.config letsencrypt lookahead_days 20
t_is "$RC" 0 "cpcmd scope:set cp.config letsencrypt lookahead_days 20"
c_run scope:set cp.config letsencrypt lookbehind_days -1
t_is "$RC" 0 "cpcmd scope:set cp.config letsencrypt lookbehind_days -1"
c_run -o json -d site1 letsencrypt:status
exp=$(date -d "$(jq_out '.expires')" +%s)
t_is "$(( exp - $(date -d "$(jq_out '.renewal_window.from')" +%s) ))" $((20 * 86400)) "  renewing begins 20 days prior to expiration"
t_is "$(( $(date -d "$(jq_out '.renewal_window.until')" +%s) - exp ))" 86400 "  and up to 1 day after"

# --- Solver mechanisms -----------------------------------------------------------------------------
c_run -d mydomain.test letsencrypt:use-mechanism mydomain.test dns
t_is "$RC:$OUT" "0:true" "cpcmd -d domain.com letsencrypt:use-mechanism domain.com dns"
c_run -d mydomain.test letsencrypt:use-mechanism '*.mydomain.test' http
t_like "$ERR" "will never succeed" "cpcmd -d domain.com letsencrypt:use-mechanism '*.domain.com' http (never succeeds)"
c_run -d mydomain.test letsencrypt:use-mechanism '*.mydomain.test' null
t_is "$RC:$OUT" "0:true" "cpcmd -d domain.com letsencrypt:use-mechanism '*.domain.com' null"
c_run -o json -d mydomain.test letsencrypt:status
t_is "$(jq_out '.forced_mechanisms | to_entries | map("\(.key)=\(.value)") | join(",")')" "mydomain.test=dns" \
	"  domain.com stays forced to dns, the wildcard is automatic again"
c_run -d mydomain.test letsencrypt:use-mechanism mydomain.test null

# --- Mass reissuance ------------------------------------------------------------------------------
before=$(h_cert_fingerprint "$store/current/cert.pem")
OUT=$("$CPSSL_SRC/scripts/reissueAllCertificates" "${store%/site1}" 2>"$H_DIR/err"); RC=$?
t_is "$RC" 0 "reissueAllCertificates …/certs/ACME-SERVER"
t_like "$(cat "$H_DIR/err")" "INFO    : 2 renewed, 0 failed, 0 skipped" "  the server's and site1's certificates were reissued"
t_isnt "$(h_cert_fingerprint "$store/current/cert.pem")" "$before" "  site1 has a new certificate"

# --- Importing certificates ------------------------------------------------------------------------
ca=$H_DIR/ev
mkdir -p "$ca"
(
	cd "$ca" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.crt \
		-days 30 -subj "/CN=Test EV Root" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj "/CN=Test EV CA"
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
	openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -CAcreateserial -days 30 -extfile int.ext -out bundle.crt
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj "/CN=mydomain.test"
	printf 'subjectAltName=DNS:mydomain.test,DNS:*.mydomain.test\nextendedKeyUsage=serverAuth\n' >leaf.ext
	openssl x509 -req -in server.csr -CA bundle.crt -CAkey int.key -CAcreateserial -days 20 -extfile leaf.ext -out server.crt
) >"$H_DIR/ev.log" 2>&1 || t_bail "cannot make the EV test chain"
c_run -d mydomain.test ssl:install "$(cat "$ca/server.key")" "$(cat "$ca/server.crt")" "$(cat "$ca/bundle.crt")"
t_is "$RC" 0 "cpcmd -d domain.com ssl:install \"\$(cat server.key)\" \"\$(cat server.crt)\" \"\$(cat bundle.crt)\""
t_like "$OUT" "issuer: CN=Test EV CA" "  prints the installed certificate"
t_like "$ERR" "WARNING : the private key was given on the command line" "  with a WARNING that the key was on the command line"
t_is "$(h_cert_fingerprint "$conf/ssl.crt/server.crt")" "$(h_cert_fingerprint "$ca/server.crt")" "  installed as the site's server.crt"
t_is "$(h_cert_fingerprint "$conf/ssl.crt/bundle.crt")" "$(h_cert_fingerprint "$ca/bundle.crt")" "  with the chain in ssl.crt/bundle.crt"
# "the API method ssl:install does this automatically": the site's virtual
# host, made from the shipped example, only includes siteN.ssl/ where cpssl
# wrote the certificate, key and chain directives
sed -e "s#192\.0\.2\.10:443#127.0.0.1:$H_HTTPS_PORT#" -e "s#ServerName example\.com#ServerName mydomain.test#" \
	-e "/ServerAlias/d" -e "s#DocumentRoot .*#DocumentRoot $H_DIR/apache/htdocs#" \
	-e "s#/etc/httpd/conf/site1\.ssl/#$H_DIR/fsroot/etc/httpd/conf/site1.ssl/#" \
	"$CPSSL_SRC/etc/apache/cpssl-site-ssl.conf.example" >"$H_DIR/apache/sites/mydomain.test.conf"
h_apache_graceful || t_bail "Apache did not take the site's TLS vhost"
verify=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -servername mydomain.test \
	-CAfile "$ca/root.crt" -verify_hostname mydomain.test -verify_return_error </dev/null 2>&1)
t_like "$verify" "Verify return code: 0 \(ok\)" "  Apache serves it with its chain: verifies against the root alone"

# --- Troubleshooting ------------------------------------------------------------------------------
c_run scope:set cp.config letsencrypt debug true
t_is "$RC" 0 "cpcmd scope:set cp.config letsencrypt debug true"
c_run scope:set cp.debug true
t_is "$RC" 0 "cpcmd scope:set cp.debug true"
CPSSL_BOOT_ID=boot-3 c_run letsencrypt:housekeeping
c_run letsencrypt:request '[svr1.mydomain.test]'
t_is "$RC" 0 "cpcmd letsencrypt:request '[svr1.domain.com]' (staging)"
t_like "$ERR" "DEBUG   : SSL challenge attempt: svr1\.mydomain\.test \(http\)" "  DEBUG: SSL challenge attempt: svr1.domain.com (http)"
c_run -o json letsencrypt:status
t_is "$(jq_out '.server')" "$staging" "  issued by the staging CA"
c_run scope:set cp.config letsencrypt debug false
c_run scope:set cp.debug false
t_is "$RC" 0 "cpcmd scope:set cp.config letsencrypt debug false; cpcmd scope:set cp.debug false"
c_run letsencrypt:renew
t_is "$RC" 1 "\"SSL must be requested again as well\": renew refuses the staging certificate"
t_like "$ERR" "letsencrypt:request '\[svr1\.mydomain\.test\]'" "  and names the request to run"
DEBUG=1 c_run letsencrypt:request '[svr1.mydomain.test]'
t_is "$RC" 0 "env DEBUG=1 cpcmd letsencrypt:request '[svr1.domain.com]' (production)"
t_like "$ERR" "DEBUG   : " "  with DEBUG lines"
c_run -o json letsencrypt:status
t_is "$(jq_out '.server')" "$H_PEBBLE_DIR_URL" "  issued by the production CA again"

# --- Validating installed certificates -------------------------------------------------------------
# (Apache serves the imported certificate for mydomain.test; the server's
# name is given its own vhost with the server PEM)
pem=$H_DIR/fsroot/etc/pki/tls/certs/server.pem
h_apache_add_tls_vhost svr1.mydomain.test "$pem" "$pem"
h_apache_graceful || t_bail "Apache did not take the server's vhost"
t_isnt "$(tls mydomain.test)" "$(tls svr1.mydomain.test)" \
	"openssl s_client -servername: different fingerprints for different names"
dates=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -servername mydomain.test </dev/null 2>/dev/null |
	openssl x509 -noout -dates)
t_like "$dates" "^notBefore=.*"$'\n'"notAfter=" "openssl x509 -noout -dates: the expiration"
sans=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -servername mydomain.test </dev/null 2>/dev/null |
	openssl x509 -noout -text | grep 'DNS:')
t_like "$sans" "DNS:mydomain\.test, DNS:\*\.mydomain\.test" "grep 'DNS:': the SANs"
t_done
