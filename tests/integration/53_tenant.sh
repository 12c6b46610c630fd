#!/usr/bin/env bash
# Hostile tenants: each attack a site's user can make, made by an unprivileged
# user (uid 60123, no passwd entry needed) who owns site1's tree, against
# real Pebble, BIND, Apache and haproxy. After each case: nothing outside the
# attacker's own site changed (a hash of site2's tree and files, of haproxy's
# and the server's files, and of files of root's the attacker pointed at),
# site2 still deploys and Apache serves its new certificate over TLS, and
# where site1's own operation fails, the error names site1.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
T=60123
getent passwd "$T" >/dev/null && t_bail "uid $T is in use on this machine"
as_tenant() { setpriv --reuid="$T" --regid="$T" --clear-groups -- "$@"; }
c_servers test
c_configure
for n in a.test b.test c.test c2.test c3.test s3.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run scope:set cp.config mail proxy haproxy
c_run site:add a.test "['ip':'127.0.0.1']"
c_run site:add b.test "['ip':'127.0.0.1']"
c_run site:add s3.test "['ip':'127.0.0.1']"
fsroot=$H_DIR/fsroot
virt=$fsroot/home/virtual
conf1=$virt/site1/fst/etc/httpd/conf
conf2=$virt/site2/fst/etc/httpd/conf
conf3=$virt/site3/fst/etc/httpd/conf
ssld=$fsroot/etc/haproxy/ssl.d
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
served_becomes() { # SNI FP — until Apache's handshake shows FP (bounded: 10 s)
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(h_tls_fingerprint "$H_HTTPS_PORT" "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
cases=0

# files of root's an attacker would like root to write, read or delete
rootonly=$H_DIR/rootonly
mkdir -p "$rootonly/dir"; chmod 700 "$rootonly"
printf 'precious\n' >"$rootonly/victim"; chmod 600 "$rootonly/victim"
# snapshot: everything that is not the attacker's own
snapshot() {
	{
		find "$virt/site2" "$virt/site3" "$rootonly" "$ssld" "$fsroot/etc/pki" "$fsroot/etc/httpd" \
			"$CPSSL_HOME/storage/certificates" \( -path '*/site1' -o -path '*/site1.ssl' \) -prune -o \
			-printf '%p %s %m %u %l\n' 2>/dev/null
		find "$virt/site2" "$virt/site3" "$rootonly" "$ssld" "$fsroot/etc/httpd" -type f ! -name site1 \
			! -path '*/site1.ssl/*' -exec sha256sum {} + 2>/dev/null
	} | sort | sha256sum
}

# --- the sites, served by Apache and haproxy ----------------------------------------------
mkdir -p "$ssld"
h_selfsigned boot.test "$H_DIR/boot.crt" "$H_DIR/boot.key"
cat "$H_DIR/boot.crt" "$H_DIR/boot.key" >"$ssld/boot.pem"; chmod 600 "$ssld/boot.pem"
h_start_haproxy "$ssld" >/dev/null || t_bail "haproxy did not start"
for s in site1 site2 site3; do
	c_run -d "$s" ssl:sign-certificate
	[ "$RC" = 0 ] || t_bail "first certificate of $s: $ERR"
done
h_apache_add_tls_vhost a.test "$conf1/ssl.crt/server.crt" "$conf1/ssl.key/server.key" "$conf1/ssl.crt/bundle.crt"
h_apache_add_tls_vhost b.test "$conf2/ssl.crt/server.crt" "$conf2/ssl.key/server.key" "$conf2/ssl.crt/bundle.crt"
h_apache_graceful || t_bail "Apache did not take the vhosts"
# site1's tree is its user's, as on a hosting server
for d in site1 site1/fst site1/fst/etc site1/fst/etc/httpd site1/fst/etc/httpd/conf; do
	chown "$T:$T" "$virt/$d"
done
t_is "$(as_tenant sh -c "touch '$conf1/mine' && echo yes")" yes "the tenant can write in site1's conf/"
as_tenant sh -c "touch '$conf2/x'" 2>/dev/null
t_isnt "$?" 0 "  but not in site2's"

# site2_still_served — site2 deploys and Apache serves its new certificate
site2_still_served() {
	local before=$1 new
	c_run -d site2 ssl:sign-certificate
	t_is "$RC" 0 "  site2 still deploys" || t_diag "$ERR"
	new=$(fp "$conf2/ssl.crt/server.crt")
	served_becomes b.test "$new"; t_ok $? "  and Apache serves site2's new certificate over TLS"
	[ "$new" != "$before" ]
}

# attack NAME SHELL-COMMAND — run as the tenant, then site1 deploys; the rest
# of the case is asserted by the caller
attack() {
	cases=$((cases + 1))
	snap=$(snapshot)
	before2=$(fp "$conf2/ssl.crt/server.crt")
	as_tenant sh -c "$2"
	c_run -d site1 ssl:sign-certificate
}
unharmed() { # what no attack on site1 may change
	t_is "$(snapshot)" "$snap" "  nothing outside site1 changed"
	t_is "$(cat "$rootonly/victim")" "precious" "  the file of root's is as it was"
	site2_still_served "$before2"
}

# --- symlinks, files and FIFOs in place of cpssl's own names -------------------------------
v2=$(readlink "$conf2/ssl.live")
attack "ssl.versions" "mv '$conf1/ssl.versions' '$conf1/old' && ln -s '$conf2/ssl.versions' '$conf1/ssl.versions'"
t_is "$RC" 0 "ssl.versions made a link to site2's: site1 deploys, the link replaced, not followed" || t_diag "$ERR"
t_ok "$([ -d "$conf1/ssl.versions" ] && [ ! -L "$conf1/ssl.versions" ] && echo 0 || echo 1)" "  ssl.versions is a directory again"
t_is "$(readlink "$conf2/ssl.live")" "$v2" "  site2's live version is still there"
unharmed

attack "ssl.key" "rm -rf '$conf1/ssl.key' 2>/dev/null; mv '$conf1/ssl.key' '$conf1/k.old' 2>/dev/null; ln -s '$rootonly/dir' '$conf1/ssl.key'"
t_is "$RC" 0 "ssl.key made a link to a directory of root's: the key is not written there"
t_is "$(ls -A "$rootonly/dir" | wc -l)" 0 "  that directory is still empty"
unharmed

attack "ssl.live" "ln -sfn '$conf2/$v2' '$conf1/ssl.live.tmp' && mv -T '$conf1/ssl.live.tmp' '$conf1/ssl.live'"
t_is "$RC" 0 "ssl.live pointed at site2's version: site1 deploys its own"
t_like "$(readlink "$conf1/ssl.live")" "^ssl\.versions/[^/]+$" "  ssl.live names site1's own version again"
unharmed

attack "planted files" "mv '$conf1/ssl.crt' '$conf1/c.old' && mkdir '$conf1/ssl.crt' && ln -s '$rootonly/victim' '$conf1/ssl.crt/server.crt' && mkfifo '$conf1/ssl.crt/bundle.crt'"
t_is "$RC" 0 "a link to a file of root's and a FIFO in ssl.crt: replaced, not followed, nothing blocks"
t_ok "$([ -L "$conf1/ssl.crt/server.crt" ] && [ "$(readlink "$conf1/ssl.crt/server.crt")" = ../ssl.live/server.crt ] && echo 0 || echo 1)" \
	"  server.crt is cpssl's link again"
unharmed

attack "ssl.versions as a FIFO" "mv '$conf1/ssl.versions' '$conf1/v.old' && mkfifo '$conf1/ssl.versions'"
t_is "$RC" 0 "a FIFO in place of ssl.versions is removed"
unharmed

# fs.protected_hardlinks stops a tenant linking root's files here; root makes
# the link, as on a system without that protection
cases=$((cases + 1))
snap=$(snapshot)
before2=$(fp "$conf2/ssl.crt/server.crt")
as_tenant sh -c "rm -f '$conf1/ssl.crt/server.crt'"
ln "$rootonly/victim" "$conf1/ssl.crt/server.crt"
c_run -d site1 ssl:sign-certificate
t_is "$RC" 0 "a hard link to a file of root's in place of server.crt: replaced, never written through"
t_is "$(stat -c %h "$rootonly/victim")" 1 "  the link is gone, the file of root's has one name again"
unharmed

# inspection does not follow the tenant's links either
cases=$((cases + 1))
as_tenant sh -c "mv '$conf1/ssl.key' '$conf1/k2.old' && ln -s '$conf2/ssl.key' '$conf1/ssl.key'"
c_run -d site1 -o json ssl:key-exists
t_is "$OUT" false "ssl:key-exists with ssl.key a link to site2's: false, the link not followed"
c_run -d site1 -o json ssl:cert-exists
t_is "$OUT" true "  ssl:cert-exists still sees site1's certificate"
c_run -d site1 ssl:sign-certificate
t_is "$RC" 0 "  and the next deployment puts site1's key back"
c_run -d site1 -o json ssl:key-exists
t_is "$OUT" true "  ssl:key-exists: true"

attack "conf/ swapped for a link" "mv '$conf1' '$conf1.mine' && ln -s '$conf2' '$conf1'"
t_is "$RC" 1 "conf/ itself a link to site2's: site1's deployment is refused"
t_like "$ERR" "site1/fst/etc/httpd/conf is a symbolic link or not a directory: cpssl does not follow links here" \
	"  the error names site1's path and why"
unharmed
as_tenant sh -c "rm '$conf1' && mv '$conf1.mine' '$conf1'"

attack "fst/ swapped for a link" "mv '$virt/site1/fst' '$virt/site1/fst.mine' && ln -s '$virt/site2/fst' '$virt/site1/fst'"
t_is "$RC" 1 "fst/ a link to site2's tree: refused"
t_like "$ERR" "site1/fst is a symbolic link" "  naming site1"
unharmed
as_tenant sh -c "rm '$virt/site1/fst' && mv '$virt/site1/fst.mine' '$virt/site1/fst'"

# a directory swapped while root writes: stopped between the key and the
# certificate (ASan build, fault switches), the tenant replaces ssl.versions
# with a link to site2's; the write goes on in the directory first opened
if [ -x "${CPSSL_SRC}/build/asan/cpcmd" ]; then
	cases=$((cases + 1))
	snap=$(snapshot)
	before2=$(fp "$conf2/ssl.crt/server.crt")
	CPSSL_FAULT_STOP=deploy-apache-between-key-and-cert "$CPSSL_SRC/build/asan/cpcmd" -d site1 ssl:sign-certificate \
		>"$H_DIR/race.out" 2>"$H_DIR/race.err" &
	pid=$!
	for _ in $(seq 100); do [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = T ] && break; sleep 0.1; done
	as_tenant sh -c "mv '$conf1/ssl.versions' '$conf1/moved' && ln -s '$conf2/ssl.versions' '$conf1/ssl.versions'"
	# the fault point stops cpcmd again if it writes a version a second time
	# (restoring site1 from storage after a failed configuration test)
	for _ in $(seq 300); do
		st=$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)
		[ -z "$st" ] || [ "$st" = Z ] && break
		[ "$st" = T ] && kill -CONT "$pid"
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ] && kill -KILL "$pid"
	wait "$pid"
	t_diag "$(tail -n 5 "$H_DIR/race.err")"
	t_is "$(snapshot)" "$snap" "ssl.versions swapped for a link to site2's while root writes: nothing of site2's is written or pruned"
	c_run -d site1 ssl:sign-certificate
	t_is "$RC" 0 "  the next deployment of site1 repairs its tree" || t_diag "$ERR"
	site2_still_served "$before2"
fi

# --- a dangling key breaks Apache's configuration test: one site's sabotage ----------------
cases=$((cases + 1))
snap=$(snapshot)
before2=$(fp "$conf2/ssl.crt/server.crt")
as_tenant sh -c "mv '$conf1/ssl.versions' '$conf1/gone'"
t_isnt "$(cat "$conf1/ssl.key/server.key" 2>/dev/null | head -c 5)" "-----" "site1's user makes its key dangling"
c_run -d site2 ssl:sign-certificate
t_is "$RC" 0 "site2 deploys all the same" || t_diag "$ERR"
t_like "$ERR" "failed because of site1's certificate files, which are restored from storage; reloading" \
	"  the configuration test's failure is traced to site1, whose files are restored"
new2=$(fp "$conf2/ssl.crt/server.crt")
served_becomes b.test "$new2"; t_ok $? "  and Apache reloads and serves site2's new certificate"
t_is "$(head -c 27 "$conf1/ssl.key/server.key")" "-----BEGIN PRIVATE KEY-----" "  site1's key is whole again"
c_run -o json letsencrypt:reload-status
t_is "$(jq -r '.last.apache.ok' <<<"$OUT")" true "  reload-status: the last Apache reload succeeded"

# --- names: a certificate for another site's name ------------------------------------------
mkcert() { # NAME SUBJECT SAN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "$2" \
		-addext "subjectAltName=$3" -keyout "$H_DIR/$1.key" -out "$H_DIR/$1.crt" 2>/dev/null
}
mkcert cn-only "/CN=b.test" "DNS:a.test"
mkcert ip-san "/CN=a.test" "DNS:a.test,IP:10.9.9.9"
cases=$((cases + 2))
snap=$(snapshot)
c_run -d site1 ssl:install "$H_DIR/cn-only.key" "$H_DIR/cn-only.crt"
t_is "$RC" 1 "a certificate naming site2's b.test in its subject CN only is refused for site1"
t_like "$ERR" "site1: .*the certificate names b\.test, which is not site1's" "  naming the name and the site"
c_run -d site1 ssl:install "$H_DIR/ip-san.key" "$H_DIR/ip-san.crt"
t_is "$RC" 1 "a certificate naming an IP address that is not site1's is refused"
t_like "$ERR" "the IP address 10\.9\.9\.9, which is not site1's address" "  naming it"
t_is "$(snapshot)" "$snap" "  nothing changed"
t_ok "$(openssl x509 -in "$ssld/site1" -noout -subject 2>/dev/null | grep -q b.test && echo 1 || echo 0)" \
	"  haproxy's PEM for site1 does not name b.test"

# --- rollback after a domain moved to another site -----------------------------------------
cases=$((cases + 1))
c_run -d site1 site:add-domain c.test
c_run -d site1 ssl:sign-certificate '[a.test,c.test]'
c_run -d site1 ssl:sign-certificate '[a.test]'
cur1=$(fp "$conf1/ssl.crt/server.crt")
c_run -d site1 site:remove-domain c.test
c_run -d site2 site:add-domain c.test
c_run -d site1 ssl:rollback
t_is "$RC" 1 "rollback to a certificate naming c.test, which moved to site2, is refused"
t_like "$ERR" "c\.test, which is not site1's" "  naming the name"
t_is "$(fp "$conf1/ssl.crt/server.crt")" "$cur1" "  site1 serves what it served"

# --- remove-domain takes a certificate naming it out of service ----------------------------
cases=$((cases + 2))
c_run -d site1 site:add-domain c2.test
c_run -d site1 ssl:sign-certificate '[a.test,c2.test]'
c_run -d site1 site:remove-domain c2.test
t_is "$RC" 0 "remove-domain c2.test with a self-signed certificate naming it"
t_is "$(c_sans "$conf1/ssl.crt/server.crt" | tr '\n' ' ')" "a.test " "  the certificate served now names a.test alone"
t_unlike "$(openssl x509 -in "$ssld/site1" -noout -ext subjectAltName 2>/dev/null)" "c2\.test" "  haproxy's too"
c_run -d site1 site:add-domain c3.test
c_run -d site1 letsencrypt:request '[a.test,c3.test]'
[ "$RC" = 0 ] || t_diag "request [a.test,c3.test]: $ERR"
c_run -d site1 site:remove-domain c3.test
t_is "$RC" 0 "remove-domain c3.test with a CA's certificate naming it" || t_diag "$ERR"
t_is "$(c_sans "$conf1/ssl.crt/server.crt" | tr '\n' ' ')" "a.test " "  it is reissued without c3.test"
t_unlike "$(openssl x509 -in "$conf1/ssl.crt/server.crt" -noout -issuer)" "a\.test" "  by the CA (not self-signed)"

# --- site:delete takes the site off every target -----------------------------------------------
cases=$((cases + 1))
c_run -d site3 site:delete
t_is "$RC" 0 "site3 is deleted"
t_ok "$([ ! -e "$ssld/site3" ] && [ ! -e "$conf3/ssl.live" ] && [ ! -e "$conf3/ssl.key/server.key" ] &&
	[ ! -e "$fsroot/etc/httpd/conf/site3.ssl/cpssl.conf" ] && echo 0 || echo 1)" \
	"  its haproxy PEM, Apache files and Apache configuration are gone"
t_ok "$([ -d "$CPSSL_HOME/storage/certificates/data/certs" ] &&
	find "$CPSSL_HOME/storage/certificates/data/certs" -path '*/site3/current' | grep -q . && echo 0 || echo 1)" \
	"  its stored certificates stay"
c_run site:add s4.test "['ip':'127.0.0.1']"
c_run -d site4 ssl:sign-certificate
c_run -d site4 site:delete true
t_is "$RC" 0 "site:delete with purge"
t_is "$(find "$CPSSL_HOME/storage/certificates" "$CPSSL_HOME/storage/csr" -path '*site4*' 2>/dev/null | wc -l)" 0 \
	"  leaves nothing of site4's certificates and keys in the storage"

# --- secrets never on a command line another user can read ---------------------------------
cases=$((cases + 2))
c_run -d site1 ssl:sign-certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=a.test" \
	-addext "subjectAltName=DNS:a.test" -keyout "$H_DIR/imp.key" -out "$H_DIR/imp.crt" 2>/dev/null
keybody=$(sed -n 2p "$H_DIR/imp.key")
mkdir -p "$CPSSL_HOME/storage/locks"
# site1's lock held: the install waits, where anyone could look at it
flock "$CPSSL_HOME/storage/locks/site1" sleep 4 &
holder=$!
sleep 0.3
"$CPCMD" -d site1 ssl:install "$H_DIR/imp.key" "$H_DIR/imp.crt" >/dev/null 2>&1 &
waiting=$!
sleep 0.5
seen=$(as_tenant sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "')
# (this key's own text: other tests running beside this one may put theirs
# on a command line on purpose, to prove the WARNING)
case $seen in
*"$keybody"*) t_ok 1 "the key given as a file is in no command line the tenant can read" ;;
*) t_ok 0 "the key given as a file is in no command line the tenant can read" ;;
esac
as_tenant cat "/proc/$waiting/environ" >/dev/null 2>&1
t_isnt "$?" 0 "  the tenant cannot read the waiting cpcmd's environment"
t_like "$(grep 'Max core file size' "/proc/$waiting/limits" 2>/dev/null)" "Max core file size +0 +0" \
	"  and cpcmd leaves no core dump"
wait "$holder" "$waiting"
secret=$H_TSIG_SECRET
flock "$CPSSL_HOME/etc" sleep 3 &
holder=$!
sleep 0.3
"$CPCMD" scope:set cp.config dns rfc2136_key_secret - <<<"$secret" >/dev/null 2>&1 &
waiting=$!
sleep 0.5
seen=$(as_tenant sh -c 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\0" " "')
t_unlike "$seen" "$secret" "the TSIG secret set through standard input is in no command line"
wait "$holder" "$waiting"
c_run -d site1 -o json site:get-settings
t_is "$RC" 0 "site:get-settings for site1"
t_unlike "$OUT$ERR" "${secret:0:12}" "  shows no part of the TSIG secret"
t_is "$(jq -r 'keys[] | select(startswith("dns.rfc2136") or endswith("hook"))' <<<"$OUT")" "" \
	"  and none of the server-only keys"

# --- a site cannot name programs, servers or secrets root uses ------------------------------
for key in letsencrypt.deploy_hook dns.hook dns.rfc2136_server dns.authoritative_ns dns.rfc2136_key_secret \
	dns.rfc2136_key_name dns.rfc2136_key_file; do
	cases=$((cases + 1))
	c_run -d site1 site:set-setting "$key" /tmp/x
	t_is "$RC" 1 "site:set-setting $key is refused"
	t_like "$ERR" "is a server-only setting" "  it is server-only"
done
cases=$((cases + 1))
as_tenant sh -c "printf '#!/bin/sh\ntouch $conf1/hook-ran\n' >'$conf1/hook' && chmod 755 '$conf1/hook'"
c_run scope:set cp.config letsencrypt deploy_hook "$conf1/hook"
c_run -d site2 ssl:sign-certificate
t_is "$RC" 0 "a deploy hook in a tenant's tree (set by mistake) does not stop the deployment"
t_like "$ERR" "refusing to run .*site1/fst/etc/httpd/conf/hook: .* is owned by uid $T, not by root" "  it is not run, and the WARNING says why"
t_ok "$([ ! -e "$conf1/hook-ran" ] && echo 0 || echo 1)" "  it did not run"
c_run scope:set cp.config letsencrypt deploy_hook "''"

# --- a challenge directory anyone could have made first ---------------------------------------
cases=$((cases + 1))
mkdir -p "$H_DIR/pub"; chmod 1777 "$H_DIR/pub"
as_tenant sh -c "mkdir -p '$H_DIR/pub/acme/.well-known' && ln -s '$rootonly' '$H_DIR/pub/acme/.well-known/acme-challenge'"
c_run scope:set cp.config letsencrypt challenge_dir "$H_DIR/pub/acme"
c_run -d site2 letsencrypt:use-mechanism b.test http
c_run -d site2 letsencrypt:request '[b.test]'
t_is "$RC" 1 "a challenge directory a tenant created first is refused"
t_like "$ERR" "pub/acme is owned by uid $T, not by root" "  naming it and its owner"
t_is "$(ls -A "$rootonly/dir" | wc -l):$(cat "$rootonly/victim")" "0:precious" "  nothing was written where its link points"
c_run scope:set cp.config letsencrypt challenge_dir "''"
c_run -d site2 letsencrypt:use-mechanism b.test null
t_is "$(stat -c '%U %a' "$fsroot/var/lib/cpssl/acme-challenge" 2>/dev/null)" "root 755" \
	"the default challenge directory is root's, 0755"

# --- one pass: site1 sabotaged, site2 renewed and served ---------------------------------------
cases=$((cases + 1))
c_run -d site1 letsencrypt:request '[a.test]'
c_run -d site2 letsencrypt:request '[b.test]'
now=$(date +%s)
q "UPDATE certificates SET not_before = $now - 87 * 86400, not_after = $now + 3 * 86400 WHERE is_current = 1 AND site_id IN (1, 2)"
before2=$(fp "$conf2/ssl.crt/server.crt")
as_tenant sh -c "mv '$conf1/ssl.versions' '$conf1/gone2' && ln -s '$conf2/ssl.versions' '$conf1/ssl.versions'"
c_run -o json letsencrypt:housekeeping
t_like "$(jq -r '.[] | select(.site == "site2") | .result' <<<"$OUT")" renewed \
	"a pass with site1 sabotaged renews site2" || t_diag "$ERR"
new2=$(fp "$conf2/ssl.crt/server.crt")
t_isnt "$new2" "$before2" "  with a new certificate"
served_becomes b.test "$new2"; t_ok $? "  served over TLS after the pass's one reload"
t_is "$(jq -r '.[] | select(.site == "site1") | .result' <<<"$OUT")" renewed "  and site1's tree is repaired as it renews"

# --- site:delete with ssl.versions moved away: the links still go ------------------------------
cases=$((cases + 1))
as_tenant sh -c "mv '$conf1/ssl.versions' '$conf1/hidden'"
rm -f "$H_DIR/apache/sites/a.test.conf" # the panel removes the site's vhost
c_run -d site1 site:delete
t_is "$RC" 0 "site1 deleted after its user moved ssl.versions away" || t_diag "$ERR"
t_ok "$([ ! -e "$conf1/ssl.live" ] && [ ! -L "$conf1/ssl.live" ] && [ ! -L "$conf1/ssl.key/server.key" ] &&
	[ ! -L "$conf1/ssl.crt/server.crt" ] && [ ! -e "$ssld/site1" ] &&
	[ ! -e "$fsroot/etc/httpd/conf/site1.ssl/cpssl.conf" ] && echo 0 || echo 1)" \
	"  ssl.live, the fixed links, cpssl.conf and haproxy's PEM are gone, so moving it back serves nothing"

t_diag "hostile-tenant cases: $cases"
t_done
