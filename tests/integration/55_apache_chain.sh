#!/usr/bin/env bash
# also-asan
# The TLS configuration cpssl writes for Apache, against real Pebble, BIND,
# Apache and haproxy: /etc/httpd/conf/siteN.ssl/cpssl.conf (below fs_root)
# names the version in service in root's storage; virtual hosts made from the
# shipped example (etc/apache/cpssl-site-ssl.conf.example), which only include
# that directory, serve the whole chain, and so does haproxy: every handshake
# is checked with `openssl s_client -verify_return_error -verify_hostname`
# trusting Pebble's root alone (never its intermediate). A renewal, a
# rollback, an import and a resumed deployment each change what the file
# names and what is served; a site's user who plants links in the site's tree
# changes nothing Apache reads for the file; a broken, missing or half-written
# file is repaired when it fails Apache's configuration test; undeploying
# removes cpssl.conf alone (the administrator's `custom` stays byte for byte).
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
T=60124
getent passwd "$T" >/dev/null && t_bail "uid $T is in use on this machine"
as_tenant() { setpriv --reuid="$T" --regid="$T" --clear-groups -- "$@"; }
c_servers test
c_configure
for n in a.test www.a.test b.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run scope:set cp.config mail proxy haproxy
c_run site:add a.test "['ip':'127.0.0.1']"
c_run -d site1 site:add-domain www.a.test
c_run site:add b.test "['ip':'127.0.0.1']"
src=${CPSSL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
example=$src/etc/apache/cpssl-site-ssl.conf.example
fsroot=$H_DIR/fsroot
virt=$fsroot/home/virtual
conf1=$virt/site1/fst/etc/httpd/conf
conf2=$virt/site2/fst/etc/httpd/conf
ssl1=$fsroot/etc/httpd/conf/site1.ssl
ssl2=$fsroot/etc/httpd/conf/site2.ssl
ssld=$fsroot/etc/haproxy/ssl.d
sites=$H_DIR/apache/sites
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
stored() { readlink -f "$(c_site_dir "$1")"; } # the version in service, in storage
# the directives cpssl.conf should hold for the stored version DIR
directives() { printf 'SSLEngine on\nSSLCertificateFile "%s/fullchain.pem"\nSSLCertificateKeyFile "%s/privkey.pem"' "$1" "$1"; }
names() { grep -v '^#' "$1/cpssl.conf" 2>/dev/null; }
# tls PORT SNI CAFILE — one handshake trusting CAFILE alone, ended by a chain
# that does not verify (-verify_return_error) or a wrong name; the transcript
# in $TLS, the leaf's fingerprint in $TLS_FP, how many certificates were sent
# in $TLS_N; s_client's status
tls() {
	local rc
	TLS=$(timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" -verify_hostname "$2" \
		-verify_return_error -CAfile "$3" -showcerts </dev/null 2>&1)
	rc=$?
	TLS_FP=$(openssl x509 -noout -fingerprint -sha256 <<<"$TLS" 2>/dev/null | cut -d= -f2)
	TLS_N=$(grep -c -- '-----BEGIN CERTIFICATE-----' <<<"$TLS")
	return $rc
}
# verified PORT SNI FP [CAFILE] — until a handshake verifies against CAFILE
# (default: Pebble's root alone) and shows FP (bounded: 10 s)
verified() {
	local i
	for ((i = 0; i < 50; i++)); do
		tls "$1" "$2" "${4:-$H_PEBBLE_ROOT}" && [ "$TLS_FP" = "$3" ] && return 0
		sleep 0.2
	done
	t_diag "$(grep -iE 'verify|error' <<<"$TLS" | head -n 4)"
	return 1
}
# vhost NAME SITE — NAME's virtual host made from the shipped example: the
# site's directory included, nothing else about TLS
vhost() {
	sed -e "s#192\.0\.2\.10:443#127.0.0.1:$H_HTTPS_PORT#" -e "s#ServerName example\.com#ServerName $1#" \
		-e '/ServerAlias/d' -e "s#DocumentRoot .*#DocumentRoot \"$H_DIR/apache/htdocs\"#" \
		-e "s#/etc/httpd/conf/site1\.ssl/#$fsroot/etc/httpd/conf/$2.ssl/#" "$example" >"$sites/$1.conf"
}

# --- servers up: haproxy and Apache's first TLS host have a certificate of their own --------
mkdir -p "$ssld"
h_selfsigned boot.test "$H_DIR/boot.crt" "$H_DIR/boot.key"
cat "$H_DIR/boot.crt" "$H_DIR/boot.key" >"$ssld/boot.pem"; chmod 600 "$ssld/boot.pem"
h_start_haproxy "$ssld" >/dev/null || t_bail "haproxy did not start"
printf '<VirtualHost 127.0.0.1:%s>\n    ServerName boot.test\n    SSLEngine on\n    SSLCertificateFile "%s"\n    SSLCertificateKeyFile "%s"\n</VirtualHost>\n' \
	"$H_HTTPS_PORT" "$H_DIR/boot.crt" "$H_DIR/boot.key" >"$sites/000-boot.conf"
h_apache_graceful || t_bail "Apache did not take its first TLS host"

# --- issue through Pebble -------------------------------------------------------------------
c_run -o json -d site1 letsencrypt:request '[a.test,www.a.test]'
t_is "$RC" 0 "site1 gets [a.test, www.a.test] from Pebble" || t_bail "$ERR"
serial1=$(jq -r .serial <<<"$OUT")
c_run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "site2 gets [b.test]" || t_bail "$ERR"
v1=$(stored site1)
fp1=$(fp "$v1/cert.pem")
t_is "$(stat -c '%U %a' "$fsroot/etc/httpd/conf" "$ssl1")" "root 755"$'\n'"root 755" \
	"etc/httpd/conf/site1.ssl is made root's, 0755"
t_is "$(stat -c '%U %a' "$ssl1/cpssl.conf")" "root 644" "  cpssl.conf in it is root's, 0644"
t_is "$(names "$ssl1")" "$(directives "$v1")" \
	"  it names the version in service in storage: certificate with chain, and key"
t_like "$(head -n 1 "$ssl1/cpssl.conf")" "^# cpssl: site1's certificate in service, version ${v1##*/}\.$" \
	"  and says which version it is"
t_is "$(stat -c '%U %a' "$v1/fullchain.pem" "$v1/privkey.pem")" "root 644"$'\n'"root 600" \
	"  the files it names are root's, the key 0600"
case $v1 in "$virt"/*) t_ok 1 "  they are not in the site's tree" ;; *) t_ok 0 "  they are not in the site's tree" ;; esac
t_is "$(ls -A "$ssl1")" "cpssl.conf" "  nothing else is left there (no temporary)"

# --- virtual hosts that only include the directory serve the whole chain -------------------------
vhost a.test site1
printf '<VirtualHost 127.0.0.1:%s>\n    ServerName b.test\n    DocumentRoot "%s/apache/htdocs"\n    Include "%s/"\n</VirtualHost>\n' \
	"$H_HTTPS_PORT" "$H_DIR" "$ssl2" >"$sites/b.test.conf"
t_unlike "$(grep -hv '^ *#' "$sites/a.test.conf" "$sites/b.test.conf")" "SSLEngine|SSLCertificate" \
	"the sites' virtual hosts (from the shipped example, and an Include of the directory) name no certificate"
h_apache_graceful; t_ok $? "  Apache takes them"
verified "$H_HTTPS_PORT" a.test "$fp1"; t_ok $? "Apache serves site1's certificate, verified against Pebble's root alone"
t_is "$TLS_N" 2 "  with Pebble's intermediate: the whole chain"
t_like "$TLS" "Verify return code: 0 \(ok\)" "  s_client: Verify return code: 0 (ok)"
verified "$H_HTTPS_PORT" b.test "$(fp "$(stored site2)/cert.pem")"; t_ok $? "  and site2's, through an Include of its directory"
verified "$H_HAPROXY_PORT" a.test "$fp1"; t_ok $? "haproxy serves site1's certificate, verified against Pebble's root alone"
t_is "$TLS_N" 2 "  with the intermediate from its ssl.d PEM"
t_is "$(grep -c 'BEGIN CERTIFICATE' "$ssld/site1")" 2 "  which holds the certificate and the chain"

# the same certificate without its chain does not verify: the check above means something
printf '<VirtualHost 127.0.0.1:%s>\n    ServerName www.a.test\n    SSLEngine on\n    SSLCertificateFile "%s"\n    SSLCertificateKeyFile "%s"\n</VirtualHost>\n' \
	"$H_HTTPS_PORT" "$v1/cert.pem" "$v1/privkey.pem" >"$sites/www.a.test.conf"
h_apache_graceful
tls "$H_HTTPS_PORT" www.a.test "$H_PEBBLE_ROOT"
t_isnt "$?" 0 "the leaf alone (storage's cert.pem) fails that verification"
t_like "$TLS" "unable to get local issuer certificate" "  unable to get the issuer"
# a virtual host that names the site tree's server.crt alone gets the chain too
printf '<VirtualHost 127.0.0.1:%s>\n    ServerName www.a.test\n    SSLEngine on\n    SSLCertificateFile "%s"\n    SSLCertificateKeyFile "%s"\n</VirtualHost>\n' \
	"$H_HTTPS_PORT" "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key" >"$sites/www.a.test.conf"
h_apache_graceful
t_is "$(grep -c 'BEGIN CERTIFICATE' "$conf1/ssl.crt/server.crt")" 2 "the site's ssl.crt/server.crt is the certificate followed by its chain"
t_is "$(fp "$conf1/ssl.crt/server.crt")" "$fp1" "  the certificate first"
verified "$H_HTTPS_PORT" www.a.test "$fp1"; t_ok $? "  so a host naming it without SSLCertificateChainFile verifies"
rm -f "$sites/www.a.test.conf"
h_apache_graceful

# --- a renewal and a rollback change what it names and what is served -------------------------------
c_run -d site1 letsencrypt:renew
t_is "$RC" 0 "site1 renews" || t_diag "$ERR"
v2=$(stored site1)
fp2=$(fp "$v2/cert.pem")
t_isnt "$fp2" "$fp1" "  a new certificate"
t_is "$(names "$ssl1")" "$(directives "$v2")" "  cpssl.conf names the new version"
verified "$H_HTTPS_PORT" a.test "$fp2"; t_ok $? "  Apache serves it (after the reload), verified"
verified "$H_HAPROXY_PORT" a.test "$fp2"; t_ok $? "  haproxy too"
c_run -d site1 ssl:rollback
t_is "$RC" 0 "ssl:rollback" || t_diag "$ERR"
v3=$(stored site1)
t_is "$(fp "$v3/cert.pem")" "$fp1" "  the first certificate is current again, as a new stored version"
t_is "$(names "$ssl1")" "$(directives "$v3")" "  cpssl.conf names that version"
verified "$H_HTTPS_PORT" a.test "$fp1"; t_ok $? "  Apache serves the first certificate again, verified"
verified "$H_HAPROXY_PORT" a.test "$fp1"; t_ok $? "  haproxy too"
c_run -o json -d site1 ssl:get-certificates
t_is "$(jq -r '.[] | select(.current) | .serial' <<<"$OUT")" "$serial1" "  ssl:get-certificates shows it as current"

# --- an import with a chain of another CA -------------------------------------------------------
own=$H_DIR/own
mkdir -p "$own"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$own/$1.key" -out "$own/$1.csr" 2>/dev/null; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=own-root \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$own/root.key" -out "$own/root.crt" 2>/dev/null
ec own-int
openssl x509 -req -in "$own/own-int.csr" -CA "$own/root.crt" -CAkey "$own/root.key" -CAcreateserial -days 30 \
	-extfile <(printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n') \
	-out "$own/int.crt" 2>/dev/null
ec a.test
openssl x509 -req -in "$own/a.test.csr" -CA "$own/int.crt" -CAkey "$own/own-int.key" -CAcreateserial -days 30 \
	-extfile <(printf 'subjectAltName=DNS:a.test,DNS:www.a.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n') \
	-out "$own/a.crt" 2>/dev/null
c_run -d site1 ssl:install "$own/a.test.key" "$own/a.crt" "$own/int.crt"
t_is "$RC" 0 "ssl:install of a certificate with its chain from another CA" || t_diag "$ERR"
t_is "$(names "$ssl1")" "$(directives "$(stored site1)")" "  cpssl.conf names the imported version"
verified "$H_HTTPS_PORT" a.test "$(fp "$own/a.crt")" "$own/root.crt"; t_ok $? "  Apache serves it, verified against that CA's root alone"
t_is "$TLS_N" 2 "  with its intermediate"
verified "$H_HAPROXY_PORT" a.test "$(fp "$own/a.crt")" "$own/root.crt"; t_ok $? "  haproxy too"
c_run -d site1 ssl:rollback
t_is "$RC" 0 "  rolled back"
verified "$H_HTTPS_PORT" a.test "$fp1"; t_ok $? "  to Pebble's certificate"

# --- a deployment killed between the site's files and cpssl.conf, then resumed -----------------------
faulty=$src/build/asan/cpcmd
if [ -x "$faulty" ]; then
	before=$(cat "$ssl1/cpssl.conf")
	CPSSL_FAULT=deploy-after-apache "$faulty" -d site1 letsencrypt:request '[a.test,www.a.test]' true false true >/dev/null 2>&1
	t_is "$?" 137 "a request killed after site1's Apache files, before its configuration"
	t_is "$(cat "$ssl1/cpssl.conf")" "$before" "  cpssl.conf still names the version Apache serves"
	verified "$H_HTTPS_PORT" a.test "$fp1"; t_ok $? "  which is still served, verified"
	"$H_DIR/bin/apache-test" >/dev/null 2>&1; t_ok $? "  and Apache's configuration test passes"
	c_run -d site1 letsencrypt:request '[a.test,www.a.test]' true false true
	t_like "$ERR" "finishing the interrupted deployment of certificate" "the next request finishes the deployment"
	v4=$(stored site1)
	t_is "$(names "$ssl1")" "$(directives "$v4")" "  cpssl.conf names the new version"
	verified "$H_HTTPS_PORT" a.test "$(fp "$v4/cert.pem")"; t_ok $? "  which Apache serves, verified"
else
	t_ok 1 "the fault-injection build ($faulty) is missing"
fi

# --- broken, missing and half-written: repaired when Apache's configuration test fails ---------------
cur1=$(fp "$(stored site1)/cert.pem")
good1=$(cat "$ssl1/cpssl.conf")
printf 'SSLCertificateFile /nonexistent/cert.pem\n' >"$ssl1/cpssl.conf"
c_run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 0 "with site1's cpssl.conf broken, site2 deploys" || t_diag "$ERR"
t_like "$ERR" "failed because of site1's certificate files, which are restored from storage; reloading" \
	"  the failed configuration test is traced to site1, whose cpssl.conf is written again"
t_is "$(cat "$ssl1/cpssl.conf")" "$good1" "  as it was"
verified "$H_HTTPS_PORT" a.test "$cur1"; t_ok $? "  Apache serves site1, verified"
verified "$H_HTTPS_PORT" b.test "$(fp "$(stored site2)/cert.pem")"; t_ok $? "  and site2's new certificate"
# a host that includes the file itself (not optional) fails the test without it
sed -i "s#^\( *\)IncludeOptional .*#\1Include \"$ssl1/cpssl.conf\"#" "$sites/a.test.conf"
h_apache_graceful || t_diag "Apache did not take a.test's Include"
rm -f "$ssl1/cpssl.conf"
c_run -d site2 ssl:sign-certificate
t_like "$ERR" "failed because of site1's certificate files, which are restored from storage; reloading" \
	"a missing cpssl.conf that fails the test (a host includes it by name) is written again"
t_is "$(cat "$ssl1/cpssl.conf" 2>/dev/null)" "$good1" "  as it was"
verified "$H_HTTPS_PORT" a.test "$cur1"; t_ok $? "  Apache serves site1, verified"
vhost a.test site1
# a killed write's temporary in a directory included whole
printf 'ThisIsNotADirective\n' >"$ssl2/.cpssl.conf.cpssl-0123456789abcdef"
c_run -d site1 ssl:rollback
t_like "$ERR" "failed because of site2's certificate files, which are restored from storage; reloading" \
	"a temporary of a killed write, read by an Include of the whole directory, is removed by the repair"
t_is "$(ls -A "$ssl2")" "cpssl.conf" "  only cpssl.conf is left"
c_run -d site2 letsencrypt:request '[b.test]'
verified "$H_HTTPS_PORT" b.test "$(fp "$(stored site2)/cert.pem")"; t_ok $? "  site2 is served, verified"
c_run -d site1 letsencrypt:request '[a.test,www.a.test]' true false true
verified "$H_HTTPS_PORT" a.test "$(fp "$(stored site1)/cert.pem")"; t_ok $? "  so is site1"

# --- a site's user plants links at the served paths ----------------------------------------------
for d in site1 site1/fst site1/fst/etc site1/fst/etc/httpd site1/fst/etc/httpd/conf; do chown "$T:$T" "$virt/$d"; done
cur1=$(fp "$(stored site1)/cert.pem")
fp_2=$(fp "$(stored site2)/cert.pem")
conf_sum=$(sha256sum <"$ssl1/cpssl.conf")
v2live=$(readlink "$conf2/ssl.live")
as_tenant sh -c "cd '$conf1' && ln -sfn '$conf2/$v2live' l.tmp && mv -T l.tmp ssl.live &&
	mv ssl.crt c.old && mkdir ssl.crt && ln -s '$conf2/ssl.crt/server.crt' ssl.crt/server.crt &&
	ln -s '$conf2/ssl.crt/bundle.crt' ssl.crt/bundle.crt &&
	mv ssl.key k.old && mkdir ssl.key && ln -s '$conf2/ssl.key/server.key' ssl.key/server.key"
t_is "$(readlink "$conf1/ssl.live")" "$conf2/$v2live" "site1's user points ssl.live and the served paths at site2's"
as_tenant sh -c "printf 'SSLCertificateFile $conf1/mine\n' >'$ssl1/zz.conf'" 2>/dev/null
t_isnt "$?" 0 "  but cannot add a file to site1.ssl"
as_tenant sh -c "ln -sf '$conf1/ssl.crt/server.crt' '$ssl1/cpssl.conf'" 2>/dev/null
t_isnt "$?" 0 "  nor replace cpssl.conf"
as_tenant sh -c "mv '$ssl1' '$ssl1.old'" 2>/dev/null
t_isnt "$?" 0 "  nor move the directory"
h_apache_graceful; t_ok $? "Apache reloads"
verified "$H_HTTPS_PORT" a.test "$cur1"; t_ok $? "  and serves site1's own certificate for a.test, verified: cpssl.conf reads nothing of the site's tree"
t_isnt "$TLS_FP" "$fp_2" "  not site2's"
t_is "$(sha256sum <"$ssl1/cpssl.conf")" "$conf_sum" "  cpssl.conf is unchanged"
c_run -d site1 letsencrypt:request '[a.test,www.a.test]' true false true
t_is "$RC" 0 "site1's next deployment" || t_diag "$ERR"
t_like "$(readlink "$conf1/ssl.live")" "^ssl\.versions/[^/]+$" "  puts its own links back"
verified "$H_HTTPS_PORT" a.test "$(fp "$(stored site1)/cert.pem")"; t_ok $? "  and is served, verified"

# --- a siteN.ssl that is not root's is refused ------------------------------------------------------
chown "$T" "$ssl1"
c_run -d site1 ssl:sign-certificate
t_is "$RC" 1 "site1.ssl owned by another user: the deployment fails"
t_like "$ERR" "deployment failed: the Apache configuration \($ssl1/cpssl\.conf\): .*site1\.ssl is owned by uid $T, not by root" \
	"  naming the directory and its owner"
chown root "$ssl1"

# --- undeploying removes cpssl.conf alone -------------------------------------------------------------
printf '# the administrator'"'"'s own\nSSLCertificateChainFile %s/ssl.crt/bundle.crt\n' "$conf1" >"$ssl1/custom"
chmod 640 "$ssl1/custom"
custom=$(stat -c '%s %a %U %Y' "$ssl1/custom"; sha256sum <"$ssl1/custom")
c_run -d site1 letsencrypt:request '[a.test,www.a.test]' true false true
t_is "$(stat -c '%s %a %U %Y' "$ssl1/custom"; sha256sum <"$ssl1/custom")" "$custom" "a deployment leaves the administrator's custom file as it is"
c_run -d site1 ssl:delete
t_is "$RC" 0 "ssl:delete site1" || t_diag "$ERR"
t_is "$(ls -A "$ssl1")" "custom" "  removes cpssl.conf and nothing else"
t_is "$(stat -c '%s %a %U %Y' "$ssl1/custom"; sha256sum <"$ssl1/custom")" "$custom" "  custom is byte for byte what it was"
c_run -o json letsencrypt:reload-status
t_is "$(jq -r '.last.apache.ok' <<<"$OUT")" true "  Apache's configuration test passes and it reloads"
verified "$H_HTTPS_PORT" b.test "$(fp "$(stored site2)/cert.pem")"; t_ok $? "  site2 is still served, verified"
tls "$H_HTTPS_PORT" a.test "$H_PEBBLE_ROOT"
t_isnt "$TLS_FP" "$(fp "$(stored site1)/cert.pem")" "  site1's certificate is no longer served"
c_run -d site1 letsencrypt:request '[a.test,www.a.test]' true false true
t_is "$(names "$ssl1")" "$(directives "$(stored site1)")" "a new certificate writes cpssl.conf again"
verified "$H_HTTPS_PORT" a.test "$(fp "$(stored site1)/cert.pem")"; t_ok $? "  served, verified"
rm -f "$sites/a.test.conf" # the panel removes the site's host
c_run -d site1 site:delete
t_is "$RC" 0 "site:delete site1" || t_diag "$ERR"
t_is "$(ls -A "$ssl1")" "custom" "  cpssl.conf is gone, custom stays"
t_is "$(stat -c '%s %a %U %Y' "$ssl1/custom"; sha256sum <"$ssl1/custom")" "$custom" "  byte for byte"
t_is "$(names "$ssl2")" "$(directives "$(stored site2)")" "  site2's cpssl.conf is untouched"
# a domain removed: the certificate naming it alone is taken down
h_dns_add c.test A 127.0.0.1 >/dev/null
c_run -d site2 site:add-domain c.test
c_run -d site2 letsencrypt:request '[c.test]'
t_is "$RC:$(names "$ssl2")" "0:$(directives "$(stored site2)")" "site2 gets a certificate for c.test alone, cpssl.conf names it"
printf '# custom\n' >"$ssl2/custom"
c_run -d site2 site:remove-domain c.test
t_is "$RC" 0 "site:remove-domain c.test" || t_diag "$ERR"
t_is "$(ls -A "$ssl2")" "custom" "  takes the certificate down: cpssl.conf is removed, custom stays"
t_done
