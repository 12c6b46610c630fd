#!/usr/bin/env bash
# also-asan
# Deployment against real Apache, haproxy and Pebble: the fan-out (storage,
# Apache's ssl.crt/ssl.key and siteN.ssl/cpssl.conf, haproxy's ssl.d), what is served after the
# delayed reload (TLS handshakes), one reload for many deployments, a broken
# Apache config, a kill between the key and the certificate, overdue reloads,
# ssl:install and its refusals, rollback, the deploy hook, the self-signed
# fallback, ssl:delete, and file modes.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
for n in a.test www.a.test b.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
h_dns_add dead.b.test A 127.0.0.2
c_run scope:set cp.config mail proxy haproxy
c_run site:add a.test "['ip':'127.0.0.1']"
c_run -d site1 site:add-domain www.a.test
c_run site:add b.test "['ip':'127.0.0.1']"
fsroot=$H_DIR/fsroot
conf1=$fsroot/home/virtual/site1/fst/etc/httpd/conf
ssld=$fsroot/etc/haproxy/ssl.d
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
reloads() { grep -c "^$1 " "$H_DIR/reloads.log" 2>/dev/null || echo 0; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
pair_matches() {
	[ "$(openssl x509 -in "$1" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$2" -pubout | openssl sha256)" ]
}
# wait_reloads — until no reload is pending (bounded: 30 s)
wait_reloads() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$(q 'SELECT count(*) FROM pending_reloads')" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
# served PORT SNI — the fingerprint a TLS handshake returns (retries while a
# graceful restart settles; bounded)
served() {
	local i f
	for ((i = 0; i < 20; i++)); do
		f=$(h_tls_fingerprint "$1" "$2") && [ -n "$f" ] && { printf '%s\n' "$f"; return 0; }
		sleep 0.2
	done
	return 1
}
# served_becomes PORT SNI FP — wait until the handshake shows FP (bounded)
served_becomes() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(served "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# --- a first certificate, so Apache and haproxy can start ------------------------
mkdir -p "$ssld"
h_selfsigned boot.test "$H_DIR/boot.crt" "$H_DIR/boot.key"
cat "$H_DIR/boot.crt" "$H_DIR/boot.key" >"$ssld/boot.pem"; chmod 600 "$ssld/boot.pem"
h_start_haproxy "$ssld" >/dev/null || t_bail "haproxy did not start"
c_run -d site1 ssl:sign-certificate
t_is "$RC" 0 "ssl:sign-certificate installs a self-signed certificate"
t_like "$(readlink "$conf1/ssl.crt/server.crt")" "^\.\./ssl\.live/server\.crt$" "  ssl.crt/server.crt leads into ssl.live"
t_like "$(readlink "$conf1/ssl.live")" "^ssl\.versions/" "  ssl.live is one switchable link"
pair_matches "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key"; t_ok $? "  key and certificate match"
t_is "$(c_sans "$conf1/ssl.crt/server.crt" | tr '\n' ' ')" "a.test www.a.test " "  for the site's domains"
t_is "$(stat -c %a "$ssld/site1")" 600 "  haproxy PEM written, 0600"
c_run -d site1 site:info
t_like "$OUT" "ssl: true" "  the site's SSL flag is on"
h_apache_add_tls_vhost a.test "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key" "$conf1/ssl.crt/bundle.crt"
h_apache_add_tls_vhost www.a.test "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key" "$conf1/ssl.crt/bundle.crt"
h_apache_graceful || t_bail "Apache did not take the site's vhosts"
t_is "$(served "$H_HTTPS_PORT" a.test)" "$(fp "$conf1/ssl.crt/server.crt")" "Apache serves the self-signed certificate"

# --- issue; the delayed reload makes both servers serve it ----------------------------
c_run scope:set cp.config httpd reload_delay '2 seconds'
before_a=$(reloads apache) before_h=$(reloads haproxy)
c_run -d site1 letsencrypt:request '[a.test,www.a.test]'
t_is "$RC" 0 "issue [a.test, www.a.test]"
t_like "$ERR" "INFO    : reloading web server in 2 seconds, stay tuned!" "  the reload is announced"
new=$(fp "$conf1/ssl.crt/server.crt")
t_is "$(q "SELECT service FROM pending_reloads ORDER BY service" | tr '\n' ' ')" "apache haproxy " \
	"  reloads of Apache and haproxy are pending in the store"
c_run -o json letsencrypt:reload-status
t_is "$(jq -r '.pending.apache.deployments' <<<"$OUT")" 1 "  reload-status shows them"
wait_reloads; t_ok $? "the reloads happen (detached waiter)"
served_becomes "$H_HTTPS_PORT" a.test "$new"; t_ok $? "Apache serves the new certificate for a.test"
served_becomes "$H_HTTPS_PORT" www.a.test "$new"; t_ok $? "  and for www.a.test"
served_becomes "$H_HAPROXY_PORT" a.test "$new"; t_ok $? "haproxy serves it too"
t_is "$(( $(reloads apache) - before_a )):$(( $(reloads haproxy) - before_h ))" "1:1" "one reload of each"
openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$conf1/ssl.crt/bundle.crt" "$conf1/ssl.crt/server.crt" >/dev/null 2>&1
t_ok $? "  Apache's bundle.crt chains the certificate to Pebble's root"
t_is "$(grep -c 'BEGIN CERTIFICATE' "$conf1/ssl.crt/server.crt")" 2 "  ssl.crt/server.crt is the certificate followed by the chain"
cur1=$(readlink -f "$(c_site_dir site1)")
t_is "$(grep -v '^#' "$fsroot/etc/httpd/conf/site1.ssl/cpssl.conf")" \
	"SSLEngine on"$'\n'"SSLCertificateFile \"$cur1/fullchain.pem\""$'\n'"SSLCertificateKeyFile \"$cur1/privkey.pem\"" \
	"  etc/httpd/conf/site1.ssl/cpssl.conf names the stored version in service"

# --- twenty deployments in one window: one reload ---------------------------------------
c_run scope:set cp.config httpd reload_delay '4 seconds'
before_a=$(reloads apache)
for i in $(seq 1 20); do c_run -d site1 ssl:sign-certificate; done
t_is "$RC" 0 "20 deployments"
t_is "$(q "SELECT deployments FROM pending_reloads WHERE service = 'apache'")" 20 "  all inside one pending reload"
wait_reloads
t_is "$(( $(reloads apache) - before_a ))" 1 "exactly one Apache reload for them"
served_becomes "$H_HTTPS_PORT" a.test "$(fp "$conf1/ssl.crt/server.crt")"; t_ok $? "  serving the last one"
t_is "$(ls "$conf1/ssl.versions" | wc -l)" 3 "  Apache keeps the last 3 versions"

# --- a broken Apache config: no reload, the old certificate stays -------------------------
c_run scope:set cp.config httpd reload_delay '2 seconds'
old=$(served "$H_HTTPS_PORT" a.test)
printf 'ThisIsNotADirective on\n' >"$H_DIR/apache/sites/zz-broken.conf"
before_a=$(reloads apache)
c_run -d site1 ssl:sign-certificate
wait_reloads
t_is "$(( $(reloads apache) - before_a ))" 0 "a failing configtest: no reload"
c_run -o json letsencrypt:reload-status
t_is "$(jq -r '.last.apache.ok' <<<"$OUT")" "false" "  reload-status reports it failed"
t_like "$(jq -r '.last.apache.detail' <<<"$OUT")" "configuration test .*ThisIsNotADirective" "  with the test's output"
t_like "$(cat "$CPSSL_HOME/storage/logs/reload.log")" "ERROR: apache: the configuration test .* not reloading, the previous certificates stay in service" \
	"  and an ERROR in the reload log"
t_is "$(served "$H_HTTPS_PORT" a.test)" "$old" "  the old certificate is still served"
rm -f "$H_DIR/apache/sites/zz-broken.conf"
c_run scope:set cp.config httpd reload_delay now

# --- a kill between the key and the certificate -----------------------------------------------
faulty=${CPSSL_SRC:-.}/build/asan/cpcmd
if [ -x "$faulty" ]; then
	was=$(fp "$conf1/ssl.crt/server.crt")
	CPSSL_FAULT=deploy-apache-between-key-and-cert "$faulty" -d site1 ssl:sign-certificate >/dev/null 2>&1
	t_is "$?" 137 "killed (SIGKILL) after the new key was written, before its certificate"
	pair_matches "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key"; t_ok $? "  what Apache reads is still a matching pair"
	t_is "$(fp "$conf1/ssl.crt/server.crt")" "$was" "  the previous one"
	CPSSL_FAULT=deploy-apache-after-switch "$faulty" -d site1 ssl:sign-certificate >/dev/null 2>&1
	t_is "$?" 137 "killed right after the switch"
	pair_matches "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key"; t_ok $? "  a matching pair again (the new one)"
	t_isnt "$(fp "$conf1/ssl.crt/server.crt")" "$was" "  which is the new certificate"
	h_apache_graceful; t_ok $? "  and Apache reloads with it"
else
	t_ok 1 "the fault-injection build ($faulty) is missing"
fi

# --- an overdue reload is not lost ----------------------------------------------------------------
c_run scope:set cp.config httpd reload_delay '2 seconds'
before_a=$(reloads apache)
c_run -d site1 ssl:sign-certificate
waiter=$(cat "$CPSSL_HOME/storage/reload.lock" 2>/dev/null)
t_like "$waiter" "^[0-9]+$" "the waiter's PID is in the lock file"
grep -qa cpcmd "/proc/$waiter/cmdline" && kill -9 "$waiter"
sleep 3
t_is "$(q "SELECT count(*) FROM pending_reloads WHERE service = 'apache'")" 1 "with the waiter killed, the overdue reload is still recorded"
c_run site:list
wait_reloads; t_ok $? "the next cpcmd starts it"
t_is "$(( $(reloads apache) - before_a ))" 1 "  one reload"
c_run scope:set cp.config httpd reload_delay now

# --- ssl:install: refusals change nothing -------------------------------------------------------
state() { find "$fsroot" "$CPSSL_HOME/storage/certificates" -printf '%p %s %m %l\n' | sort | sha256sum; }
mk() { # mk NAME DAYS → $H_DIR/NAME.{crt,key}
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$2" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -addext "basicConstraints=CA:FALSE" \
		-keyout "$H_DIR/$1.key" -out "$H_DIR/$1.crt" 2>/dev/null
}
mk a.test 365; mk other.test 365; mk www.a.test 365
before=$(state)
c_run -d site1 ssl:install "$(cat "$H_DIR/www.a.test.key")" "$(cat "$H_DIR/a.test.crt")"
t_is "$RC" 1 "install refuses a key that does not match"
t_like "$ERR" "does not match the certificate" "  saying so"
c_run -d site1 ssl:install "$(cat "$H_DIR/a.test.key")" "not a certificate"
t_is "$RC" 1 "install refuses garbage PEM"
t_like "$ERR" "the certificate: " "  naming the part"
c_run -d site1 ssl:install "$(cat "$H_DIR/a.test.key")" "$(head -c 300 "$H_DIR/a.test.crt")"
t_is "$RC" 1 "install refuses a truncated certificate"
CPSSL_NOW=$(( $(date +%s) + 400 * 86400 )) c_run -d site1 ssl:install "$(cat "$H_DIR/a.test.key")" "$(cat "$H_DIR/a.test.crt")"
t_is "$RC" 1 "install refuses an expired certificate"
t_like "$ERR" "the certificate expired on 20" "  with the date"
c_run -d site1 ssl:install "$(cat "$H_DIR/other.test.key")" "$(cat "$H_DIR/other.test.crt")"
t_is "$RC" 1 "install refuses a certificate for another domain"
t_like "$ERR" "the certificate names other\.test, which is not site1's: site1 does not own other\.test" "  naming the name it does not own"
t_is "$(state)" "$before" "nothing changed on disk after the refusals"

c_run -d site1 ssl:install - - <"$H_DIR/a.test.key"
t_is "$RC" 1 "only one argument may come from standard input"
t_like "$ERR" "only one argument can be read from standard input" "  saying so"
c_run -d site1 ssl:install "$H_DIR/a.test.key" /nonexistent/a.crt
t_is "$RC" 1 "a certificate file that is not there"
t_like "$ERR" "cannot read the certificate: /nonexistent/a\.crt does not exist" "  is named"
t_is "$(state)" "$before" "  nothing changed on disk"
mkfifo "$H_DIR/key.fifo"
c_run -d site1 ssl:install "$H_DIR/key.fifo" "$H_DIR/a.test.crt"
t_is "$RC" 1 "a FIFO given as the key file is refused, without waiting for a writer"
t_like "$ERR" "cannot read the private key: .*key\.fifo is not a regular file" "  saying so"
ln -s "$H_DIR/a.test.key" "$H_DIR/key.link"

prev=$(fp "$conf1/ssl.crt/server.crt")
c_run -d site1 ssl:install "$H_DIR/key.link" "$H_DIR/a.test.crt"
t_is "$RC" 0 "install from files (the key never on the command line; a link, as in certbot's live/, is read)"
t_unlike "$ERR" "command line" "  without a warning"
t_is "$(fp "$conf1/ssl.crt/server.crt")" "$(fp "$H_DIR/a.test.crt")" "  Apache's file is the imported certificate"
c_run -d site1 ssl:install - "$H_DIR/a.test.crt" <"$H_DIR/a.test.key"
t_is "$RC" 0 "install with the key from standard input"
t_unlike "$ERR" "command line" "  without a warning"
c_run -o json -d site1 ssl:install "$(cat "$H_DIR/a.test.key")" "$(cat "$H_DIR/a.test.crt")"
t_is "$RC" 0 "install a valid certificate given as PEM arguments"
t_like "$ERR" "WARNING : the private key was given on the command line, which every user of this server can read" \
	"  a WARNING says the key was readable on the command line"
t_is "$(fp "$conf1/ssl.crt/server.crt")" "$(fp "$H_DIR/a.test.crt")" "  Apache's file is the imported certificate"
served_becomes "$H_HTTPS_PORT" a.test "$(fp "$H_DIR/a.test.crt")"; t_ok $? "  and Apache serves it"
c_run -o json -d site1 ssl:get-certificates
t_is "$(jq -r '.[0].origin + " " + (.[0].current|tostring)' <<<"$OUT")" "import true" "  listed as the current, imported certificate"
c_run -d site1 ssl:is-self-signed
t_is "$OUT" "true" "  ssl:is-self-signed (it is)"
for _ in 1 2 3; do # past the imports of the same certificate
	c_run -d site1 ssl:rollback
	[ "$(fp "$conf1/ssl.crt/server.crt")" = "$prev" ] && break
done
t_is "$RC" 0 "rollback"
t_is "$(fp "$conf1/ssl.crt/server.crt")" "$prev" "  the previous certificate is back"
served_becomes "$H_HTTPS_PORT" a.test "$prev"; t_ok $? "  and served"

# --- the deploy hook --------------------------------------------------------------------------
hook=$H_DIR/deploy-hook
printf '#!/bin/sh\nenv | grep ^CPSSL_ | sort > "%s/hook.env"\n' "$H_DIR" >"$hook"; chmod 755 "$hook"
c_run -d site1 site:set-setting deploy_hook "$hook"
t_is "$RC" 1 "a site cannot choose the program root runs after a deployment"
t_like "$ERR" "letsencrypt\.deploy_hook is a server-only setting" "  it is server-only"
c_run scope:set cp.config letsencrypt deploy_hook "$hook"
c_run -d site1 letsencrypt:request '[a.test]'
t_like "$(cat "$H_DIR/hook.env" 2>/dev/null)" "CPSSL_DOMAINS=a\.test" "the deploy hook ran with CPSSL_DOMAINS"
t_like "$(cat "$H_DIR/hook.env" 2>/dev/null)" "CPSSL_SITE=site1" "  CPSSL_SITE"
key=$(sed -n 's/^CPSSL_KEY=//p' "$H_DIR/hook.env")
t_is "$(stat -c %a "$key" 2>/dev/null)" 600 "  CPSSL_KEY names the stored key"
printf '#!/bin/sh\necho broken hook >&2\nexit 3\n' >"$hook"
c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "a failing hook does not fail the deployment"
t_like "$ERR" "WARNING : deploy hook .* failed \(exit status 3\): broken hook" "  it is a WARNING"
c_run scope:set cp.config letsencrypt deploy_hook "''"

# --- the self-signed fallback -------------------------------------------------------------------
c_run -d site2 letsencrypt:use-mechanism dead.b.test http
c_run -d site2 letsencrypt:request '[dead.b.test]' false
t_is "$RC" 1 "a new site's first request fails"
t_like "$ERR" "installed a self-signed one for dead\.b\.test in the interim" "  a self-signed certificate is installed instead"
c_run -d site2 ssl:is-self-signed
t_is "$OUT" "true" "  so the site has a certificate Apache can start with"
t_is "$(openssl x509 -in "$fsroot/home/virtual/site2/fst/etc/httpd/conf/ssl.crt/server.crt" -noout -ext extendedKeyUsage 2>/dev/null | tail -n 1 | tr -d ' ')" \
	"TLSWebServerAuthentication" "  with extendedKeyUsage serverAuth"
c_run -d site2 letsencrypt:request '[b.test]'
c_run -d site2 ssl:is-self-signed
t_is "$RC:$OUT" "0:false" "the next successful request replaces it"

# --- a target that cannot be written ---------------------------------------------------------
was=$(fp "$conf1/ssl.crt/server.crt")
mv "$ssld/site1" "$H_DIR/site1.pem.saved" && mkdir "$ssld/site1"
c_run -d site1 ssl:sign-certificate
t_is "$RC" 1 "a deployment whose haproxy target cannot be written fails"
t_like "$ERR" "deployment failed: haproxy \($ssld/site1\)" "  naming the target"
t_is "$(test -d "$ssld/site1" && echo dir)" "dir" "  and leaves what was there"
rmdir "$ssld/site1" && mv "$H_DIR/site1.pem.saved" "$ssld/site1"

# --- inspection and CSRs ----------------------------------------------------------------------
c_run -d site1 ssl:key-exists
t_is "$OUT" "true" "ssl:key-exists"
c_run -d site1 ssl:get-alternative-names
t_is "$OUT" $'- a.test\n- www.a.test' "ssl:get-alternative-names of the current certificate"
c_run -o json ssl:parse-certificate "$(cat "$H_DIR/other.test.crt")"
t_is "$(jq -r '.names[0] + " " + .key_type + " " + (.self_signed|tostring)' <<<"$OUT")" "other.test ec-256 true" \
	"ssl:parse-certificate of a PEM"
t_is "$(jq -r .fingerprint <<<"$OUT")" "$(fp "$H_DIR/other.test.crt")" "  its fingerprint as openssl prints it"
c_run -o json -d site1 ssl:generate-csr '[a.test,www.a.test]'
t_is "$RC" 0 "ssl:generate-csr with a new key"
jq -r .csr <<<"$OUT" >"$H_DIR/new.csr"
openssl req -in "$H_DIR/new.csr" -noout -verify >/dev/null 2>&1; t_ok $? "  the CSR verifies"
t_like "$(openssl req -in "$H_DIR/new.csr" -noout -text | grep -o 'DNS:[^,]*' | tr '\n' ' ')" "DNS:a\.test DNS:www\.a\.test" "  with both names"
csrkey=$(jq -r .key <<<"$OUT")
t_is "$(stat -c %a "$csrkey")" 600 "  its key is stored 0600, not printed"
t_is "$(openssl req -in "$H_DIR/new.csr" -noout -pubkey | openssl sha256)" "$(openssl pkey -in "$csrkey" -pubout | openssl sha256)" \
	"  and signed it"
c_run -o json -d site1 ssl:generate-csr '[a.test]' "$(cat "$H_DIR/a.test.key")"
jq -r .csr <<<"$OUT" >"$H_DIR/given.csr"
t_is "$(openssl req -in "$H_DIR/given.csr" -noout -pubkey | openssl sha256)" "$(openssl pkey -in "$H_DIR/a.test.key" -pubout | openssl sha256)" \
	"ssl:generate-csr with a given key uses it"
c_run -d site1 ssl:generate-csr '[other.test]'
t_is "$RC" 1 "ssl:generate-csr refuses a name of another site"

# --- the server's own certificate falls back too ---------------------------------------------
h_dns_add srv.test A 127.0.0.2
c_run scope:set net.hostname srv.test
c_run letsencrypt:use-mechanism srv.test http
c_run letsencrypt:request '[srv.test]'
t_is "$RC" 1 "the server certificate cannot be obtained"
t_like "$ERR" "the server has no certificate yet: installed a self-signed one for srv\.test" "  a self-signed one is installed"
t_is "$(c_sans "$fsroot/etc/pki/tls/certs/server.pem")" "srv.test" "  as /etc/pki/tls/certs/server.pem"
t_is "$(stat -c %a "$fsroot/etc/pki/tls/certs/server.pem")" 600 "  0600 (it holds the key)"

# --- ssl:delete -----------------------------------------------------------------------------
c_run -d site2 ssl:delete
t_is "$RC" 0 "ssl:delete"
c_run -d site2 ssl:cert-exists
t_is "$OUT" "false" "  no certificate file"
t_is "$(test -e "$ssld/site2" && echo there)" "" "  no haproxy PEM"
t_is "$(ls -A "$fsroot/etc/httpd/conf/site2.ssl")" "" "  no Apache configuration"
c_run -d site2 site:info
t_like "$OUT" "ssl: false" "  SSL off"
c_run -d site1 ssl:cert-exists
t_is "$OUT" "true" "site1 keeps its certificate"

# --- file modes -----------------------------------------------------------------------------
keys=$(find "$fsroot" "$CPSSL_HOME/storage" -type f \( -name '*.key' -o -name 'privkey.pem' -o -path '*/ssl.d/*' -o -name 'server.pem' \) -printf '%m\n' | sort -u | tr '\n' ' ')
t_is "$keys" "600 " "every key file is 0600"
t_is "$(find "$fsroot" "$CPSSL_HOME" -type d -perm -o+w | wc -l)" 0 "no directory is world-writable"
t_is "$(stat -c %a "$conf1/ssl.versions")" 700 "Apache's versions directory is 0700"
t_done
