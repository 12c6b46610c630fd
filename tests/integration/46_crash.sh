#!/usr/bin/env bash
# Crash safety, against real Pebble, BIND, Apache and haproxy: cpcmd (the
# fault-injection build) is killed with SIGKILL at every fault point of
# issuance and deployment. After each kill: the database passes
# PRAGMA integrity_check, Apache's and haproxy's files are each a matching
# pair (the old one or the new one), cpssl.conf names the old version or the
# new one, no temporary file is left; then the same
# command is run again and must finish the job: one order and one finalize in
# all (the order is resumed, the certificate never issued twice), no challenge
# file or TXT record left, no kept order key left, and both servers serve the
# new certificate (TLS handshakes).
. "$(dirname "$0")/../harness/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
CPCMD=$top/build/asan/cpcmd
[ -x "$CPCMD" ] || { echo "not ok 1 - the fault-injection build $CPCMD is missing (make VARIANT=asan unit-bins)"; exit 1; }
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
h_dns_add a.test A 127.0.0.1 || t_bail "cannot add a.test"
# (one A record per name: a TXT record at _acme-challenge.NAME would make NAME
# an empty non-terminal, which a wildcard A record no longer covers)
for i in $(seq 0 12) hk; do h_dns_add "p$i.a.test" A 127.0.0.1 || t_bail "cannot add p$i.a.test"; done
c_run scope:set cp.config mail proxy haproxy
c_run site:add a.test "['ip':'127.0.0.1']"
fsroot=$H_DIR/fsroot
conf=$fsroot/home/virtual/site1/fst/etc/httpd/conf
ssld=$fsroot/etc/haproxy/ssl.d
db=$CPSSL_HOME/storage/cpssl.db
pending=$CPSSL_HOME/storage/certificates/data/pending
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
pubkey() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl sha256; }
keypub() { openssl pkey -in "$1" -pubout 2>/dev/null | openssl sha256; }
apache_pair() { [ -n "$(fp "$conf/ssl.crt/server.crt")" ] && [ "$(pubkey "$conf/ssl.crt/server.crt")" = "$(keypub "$conf/ssl.key/server.key")" ]; }
# names_version DIR — site1's cpssl.conf names the stored version DIR
names_version() { grep -qxF "SSLCertificateFile \"$1/fullchain.pem\"" "$fsroot/etc/httpd/conf/site1.ssl/cpssl.conf"; }
# cpssl's temporaries: core/fs.c's NAME.tmp.XXXXXX and .NAME.cpssl-new.PID,
# core/walk.c's .NAME.cpssl-<16 hex> in a site's tree
leftovers() { find "$fsroot" "$CPSSL_HOME/storage" \( -name '*.tmp.*' -o -name '.*.cpssl-*' \) -print; }
haproxy_pair() { [ -n "$(fp "$ssld/site1")" ] && [ "$(pubkey "$ssld/site1")" = "$(keypub "$ssld/site1")" ]; }
wait_reloads() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$(q 'SELECT count(*) FROM pending_reloads')" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
served_becomes() { # PORT SNI FP (bounded: 10 s)
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(h_tls_fingerprint "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

# --- a first certificate, so Apache and haproxy can start ----------------------
mkdir -p "$ssld"
h_selfsigned boot.test "$H_DIR/boot.crt" "$H_DIR/boot.key"
cat "$H_DIR/boot.crt" "$H_DIR/boot.key" >"$ssld/boot.pem"; chmod 600 "$ssld/boot.pem"
h_start_haproxy "$ssld" >/dev/null || t_bail "haproxy did not start"
c_run -d site1 ssl:sign-certificate
[ "$RC" = 0 ] || t_bail "ssl:sign-certificate failed: $ERR"
h_apache_add_tls_vhost a.test "$conf/ssl.crt/server.crt" "$conf/ssl.key/server.key" "$conf/ssl.crt/bundle.crt"
h_apache_graceful || t_bail "Apache did not take the site's vhost"

points=(issue-after-keygen issue-after-neworder issue-after-publish issue-after-finalize
	issue-after-download deploy-after-storage deploy-apache-between-key-and-cert
	deploy-apache-after-switch deploy-after-apache deploy-after-apache-conf deploy-after-haproxy
	deploy-before-reload reload-before-command)
killed=0 survived=0
for i in "${!points[@]}"; do
	point=${points[i]} n=p$i.a.test
	names="[a.test,$n,*.$n]"
	old=$(fp "$conf/ssl.crt/server.crt") oldv=$(readlink -f "$(c_site_dir site1)")
	# 1. killed at the point
	DEBUG=1 CPSSL_FAULT=$point "$CPCMD" -d site1 letsencrypt:request "$names" >/dev/null 2>"$H_DIR/killed.err"
	rc=$?
	t_is "$rc" 137 "$point: killed by SIGKILL"
	[ "$rc" = 137 ] && killed=$((killed + 1))
	t_is "$(q 'PRAGMA integrity_check')" ok "  the database passes integrity_check"
	apache_pair; t_ok $? "  Apache's certificate and key are a matching pair"
	cur=$(fp "$conf/ssl.crt/server.crt") stored=$(fp "$(c_site_dir site1)/cert.pem")
	[ "$cur" = "$old" ] || [ "$cur" = "$stored" ]; t_ok $? "  Apache has the old set or the new one"
	haproxy_pair; t_ok $? "  haproxy's PEM is a matching pair"
	names_version "$oldv" || names_version "$(readlink -f "$(c_site_dir site1)")"
	t_ok $? "  cpssl.conf names the old version or the new one"
	t_is "$(leftovers | wc -l)" 0 "  no temporary file is left"
	# 2. the same command again finishes the job
	DEBUG=1 c_run -d site1 letsencrypt:request "$names"
	t_is "$RC" 0 "  the command run again succeeds"
	both=$(cat "$H_DIR/killed.err"; printf '%s\n' "$ERR")
	t_is "$(grep -c 'HTTP POST https://[^ ]*/order-plz' <<<"$both"):$(grep -c 'HTTP POST https://[^ ]*/finalize-order/' <<<"$both")" \
		"1:1" "  one order and one finalize in all: nothing issued twice"
	new=$(fp "$conf/ssl.crt/server.crt")
	t_isnt "$new" "$old" "  Apache has the new certificate"
	t_is "$(c_sans "$conf/ssl.crt/server.crt" | tr '\n' ' ')" "*.$n a.test $n " "  for the requested names"
	t_is "$(fp "$ssld/site1")" "$new" "  haproxy has the same one"
	names_version "$(readlink -f "$(c_site_dir site1)")"; t_ok $? "  cpssl.conf names its stored version"
	t_is "$(find "$H_CHALLENGE_DIR" -type f | wc -l)" 0 "  no challenge file is left"
	t_is "$(h_dig "_acme-challenge.$n" TXT)" "" "  no TXT record is left"
	t_is "$(find "$pending" -type f 2>/dev/null | wc -l)" 0 "  no kept order key is left"
	t_is "$(q "SELECT count(*) FROM certificates WHERE deployed = 0")" 0 "  every certificate is marked deployed"
	wait_reloads; t_ok $? "  the reloads happen"
	served_becomes "$H_HTTPS_PORT" a.test "$new"; t_ok $? "  Apache serves it"
	served_becomes "$H_HAPROXY_PORT" a.test "$new"; r=$?
	t_ok $r "  haproxy serves it"
	[ "$RC:$r" = 0:0 ] && survived=$((survived + 1))
done
t_is "$killed:$survived" "${#points[@]}:${#points[@]}" "every fault point killed and survived"
t_diag "fault points killed: $killed, survived (the re-run finished the job): $survived"

# --- a full disk: the write that fails leaves the old file; the next run finishes ---------
sha() { sha256sum <"$1" | cut -d' ' -f1; }
archive=$(dirname "$(readlink -f "$(c_site_dir site1)")")
full=0
for case in "/ssl.d/site1|haproxy|w0" "/ssl.versions/|Apache|w1" "/privkey.pem|certificate storage|w2"; do
	IFS='|' read -r what target n <<<"$case"
	h_dns_add "$n.a.test" A 127.0.0.1 >/dev/null
	old_h=$(sha "$ssld/site1") old_a=$(fp "$conf/ssl.crt/server.crt") old_s=$(fp "$(c_site_dir site1)/cert.pem")
	versions=$(ls "$conf/ssl.versions" | wc -l) kept=$(ls "$archive" | wc -l)
	DEBUG=1 CPSSL_FAULT_WRITE=$what c_run -d site1 letsencrypt:request "[a.test,$n.a.test]"
	t_is "$RC" 1 "disk full writing $what: the request fails"
	first=$ERR
	t_like "$ERR" "ERROR.*$target.*No space left on device" "  naming $target and the cause"
	t_is "$(q 'PRAGMA integrity_check')" ok "  the database passes integrity_check"
	t_is "$(leftovers | wc -l)" 0 "  no temporary file is left"
	case $target in
	haproxy)
		t_is "$(sha "$ssld/site1")" "$old_h" "  haproxy's PEM is the old one, intact" ;;
	Apache)
		t_is "$(fp "$conf/ssl.crt/server.crt")" "$old_a" "  Apache has the old certificate"
		apache_pair; t_ok $? "  a matching pair"
		t_is "$(ls "$conf/ssl.versions" | wc -l)" "$versions" "  no partial version is left in ssl.versions" ;;
	*)
		t_is "$(fp "$(c_site_dir site1)/cert.pem")" "$old_s" "  storage's current certificate is the old one"
		t_is "$(ls "$archive" | wc -l)" "$kept" "  no partial version is left in the archive"
		t_is "$(fp "$conf/ssl.crt/server.crt")" "$old_a" "  Apache has the old certificate" ;;
	esac
	DEBUG=1 c_run -d site1 letsencrypt:request "[a.test,$n.a.test]"
	t_is "$RC" 0 "  with room again, the same request succeeds"
	t_is "$(grep -c 'HTTP POST https://[^ ]*/finalize-order/' <<<"$first$ERR")" 1 "  without a second finalize"
	new=$(fp "$conf/ssl.crt/server.crt")
	t_is "$(c_sans "$conf/ssl.crt/server.crt" | tr '\n' ' ')" "a.test $n.a.test " "  Apache has the new certificate"
	t_is "$(fp "$ssld/site1")" "$new" "  so has haproxy"
	t_is "$(find "$pending" -type f 2>/dev/null | wc -l)" 0 "  no kept order key is left"
	[ "$RC" = 0 ] && [ "$(fp "$ssld/site1")" = "$new" ] && full=$((full + 1))
done
t_diag "write failures injected and recovered from: $full of 3"

# --- the boot-time pass finishes an interrupted deployment too ------------------
old=$(fp "$conf/ssl.crt/server.crt")
CPSSL_FAULT=deploy-after-storage "$CPCMD" -d site1 letsencrypt:request '[a.test,phk.a.test]' >/dev/null 2>&1
t_is "$?" 137 "killed after storage"
stored=$(fp "$(c_site_dir site1)/cert.pem")
t_is "$(fp "$conf/ssl.crt/server.crt")" "$old" "  Apache still has the old certificate"
CPCMD=$CPCMD "$top/scripts/housekeeping" >"$H_DIR/hk.out" 2>&1
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ]; t_ok $? "housekeeping runs (exit $rc)"
t_like "$(cat "$H_DIR/hk.out")" "finishing the interrupted deployment of certificate" "  saying it finishes the deployment"
t_is "$(fp "$conf/ssl.crt/server.crt")" "$stored" "  Apache has the stored certificate"
t_is "$(fp "$ssld/site1")" "$stored" "  and haproxy"
t_is "$(q "SELECT count(*) FROM certificates WHERE deployed = 0")" 0 "  marked deployed"

t_done
