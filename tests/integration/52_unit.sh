#!/usr/bin/env bash
# The shipped systemd unit, under its own restrictions.  systemd-analyze
# verify passes on the service and the timer.  tests/harness/unit-sandbox,
# which applies every directive of the unit's [Service] section and refuses
# one it cannot, runs the unit's own ExecStart in a private mount namespace in
# which the unit's real paths (/usr/local/cpssl, /var/lib/cpssl,
# /home/virtual, /etc/pki/tls/certs, /etc/httpd/conf, /etc/haproxy/ssl.d,
# /usr/local/bin/cpcmd) are this test's temp dirs, against real Pebble, BIND
# and Apache: the pass renews a due certificate and gets the server's own,
# deploys them to the site's Apache files and configuration, haproxy's
# directory and the server PEM, reloads Apache
# through Debian's apachectl, and Apache serves the new certificate; a pass
# with nothing due exits 3, a success by SuccessExitStatus=.  Inside, writes
# outside ReadWritePaths= fail; without the storage in ReadWritePaths= the
# pass fails; a directive the emulation cannot apply is refused; the
# machine's own paths are left as they were.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
src=${CPSSL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
unit=$src/etc/systemd/cpssl-housekeeping.service
timer=$src/etc/systemd/cpssl-housekeeping.timer
sandbox=$src/tests/harness/unit-sandbox
nl=$'\n'
h_init
# one binary for the whole test, whatever happens to the build meanwhile
cp "$CPCMD" "$H_DIR/cpcmd" || t_bail "cannot copy $CPCMD"
CPCMD=$H_DIR/cpcmd

# the machine's paths the unit names, and those the test view adds: each
# must be the same after the test as before it
machine_paths=(/usr/local/cpssl /var/lib/cpssl /var/lib/prometheus /home/virtual /etc/pki /etc/httpd /etc/haproxy/ssl.d
	/usr/local/bin/cpcmd /usr/local/sbin/systemctl /etc/apache2 /run/apache2 /run/lock/apache2
	/run/mount/utab /run/systemd/systemd-units-load)
snapshot() { h_path_snapshot "${machine_paths[@]}"; }
before_machine=$(snapshot)

# --- systemd-analyze verify --------------------------------------------------------------
v=$H_DIR/verify
mkdir -p "$v"
# verify insists that ExecStart's program exists: a copy of the unit runs the
# built cpcmd instead of /usr/local/bin/cpcmd, and is otherwise the same
sed "s#^ExecStart=/usr/local/bin/cpcmd #ExecStart=$CPCMD #" "$unit" >"$v/cpssl-housekeeping.service"
cp "$timer" "$v/"
t_is "$(diff "$unit" "$v/cpssl-housekeeping.service" | grep -c '^[<>]')" 2 \
	"the unit verified differs from the shipped one in ExecStart='s path only"
out=$(h_systemd_verify "$v" ./cpssl-housekeeping.service ./cpssl-housekeeping.timer)
t_is "$?:$out" "0:" "systemd-analyze verify passes on the service and the timer, without a warning"
t_like "$(cat "$timer")" $'\nOnBootSec=[^\n]+\n(#[^\n]*\n)*OnCalendar=hourly\nRandomizedDelaySec=[^\n]+\nPersistent=true\n' \
	"the timer: at boot, hourly with a randomized delay, persistent"

# --- the emulation refuses what it cannot apply ----------------------------------------
bad=$H_DIR/bad.service
{ cat "$unit"; echo "SystemCallFilter=@system-service"; } >"$bad"
out=$("$sandbox" "$bad" -- /bin/true 2>&1)
t_is "$?" 125 "unit-sandbox refuses a unit with a directive it cannot apply"
t_like "$out" "SystemCallFilter=@system-service is not emulated" "  and names it"
sed 's/^ProtectSystem=strict$/ProtectSystem=sometimes/' "$unit" >"$bad"
"$sandbox" --check "$bad" 2>/dev/null
t_is "$?" 125 "  and a value it does not know"
"$sandbox" --check "$unit" 2>/dev/null
t_ok $? "it applies every directive of the shipped unit"

# --- a site with a certificate due, the server with none -----------------------------------
c_servers test
c_configure
for n in a.test srv.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run scope:set net.hostname srv.test
c_run site:add a.test "['ip':'127.0.0.1']"
c_run -d site1 letsencrypt:request '[a.test]'
[ "$RC" = 0 ] || t_bail "first issuance for site1: $ERR"
fs=$H_DIR/fsroot
conf=$fs/home/virtual/site1/fst/etc/httpd/conf
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
# served_becomes SNI FP — until Apache's handshake shows FP (bounded: 10 s)
served_becomes() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(h_tls_fingerprint "$H_HTTPS_PORT" "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
h_apache_add_tls_vhost a.test "$conf/ssl.crt/server.crt" "$conf/ssl.key/server.key" "$conf/ssl.crt/bundle.crt"
h_apache_graceful || t_bail "Apache did not take a.test's vhost"
old=$(fp "$conf/ssl.crt/server.crt")
served_becomes a.test "$old" || t_bail "Apache does not serve a.test's first certificate"
old_serial=$(q "SELECT serial FROM certificates WHERE site_id = 1 AND is_current = 1")
q "UPDATE certificates SET not_before = $(date +%s) - 85 * 86400, not_after = $(date +%s) + 5 * 86400 WHERE site_id = 1 AND is_current = 1"

# --- the machine as the unit sees it ---------------------------------------------------------
# config.ini as on a server: fs_root /, the default reload and notice
# commands, haproxy on; the CA bundle next to it, outside the private /tmp
u=$H_DIR/unit
mkdir -p "$u/etc" "$u/sbin" "$u/run-apache2/socks" "$u/lock-apache2" "$u/apache2/sites" \
	"$u/apache2/logs" "$u/apache2/htdocs" "$fs/etc/pki/tls/certs" "$fs/etc/httpd/conf" "$fs/etc/haproxy/ssl.d"
chmod 0700 "$fs/etc/haproxy/ssl.d"
cp "$CPSSL_HOME/etc/config.ini" "$u/etc/config.ini"
cp "$H_PEBBLE_TLS_CA" "$u/etc/pebble-ca.pem"
uset() { CPSSL_HOME=$u "$CPCMD" scope:set cp.config "$@" >/dev/null || t_bail "scope:set $* for the unit"; }
uset cpssl fs_root /
uset letsencrypt ca_bundle /usr/local/cpssl/etc/pebble-ca.pem
uset httpd reload_delay '2 minutes'
uset httpd reload_command 'apachectl graceful'
uset httpd configtest_command 'apachectl -t'
uset mail proxy haproxy
uset mail haproxy_reload_command 'systemctl reload haproxy'
# Debian's apachectl reads /etc/apache2: the harness Apache's config with the
# server's paths (/home/virtual, /var/lib/cpssl, /var/run/apache2) for its
# configtest, and the running Apache's PID in /var/run/apache2 for graceful;
# a running Debian Apache has /var/run/apache2/socks and /var/lock/apache2
chown www-data "$u/run-apache2/socks" "$u/lock-apache2"
read -r apid <"$H_DIR/apache/run/httpd.pid"
echo "$apid" >"$u/run-apache2/httpd.pid"
view() {
	sed -e "s#$H_DIR/apache/run#/var/run/apache2#g" -e "s#$H_DIR/apache#/etc/apache2#g" -e "s#$H_DIR/fsroot##g" "$1"
}
view "$H_APACHE_CONF" >"$u/apache2/apache2.conf"
for f in "$H_DIR"/apache/sites/*.conf; do view "$f" >"$u/apache2/sites/${f##*/}"; done
printf '%s\n' 'export APACHE_RUN_USER=www-data' 'export APACHE_RUN_GROUP=www-data' \
	'export APACHE_PID_FILE=/var/run/apache2/httpd.pid' 'export APACHE_RUN_DIR=/var/run/apache2' \
	'export APACHE_LOCK_DIR=/var/lock/apache2' 'export APACHE_LOG_DIR=/etc/apache2/logs' 'export LANG=C' \
	>"$u/apache2/envvars"
grep -rq "/tmp/" "$u/apache2" && t_bail "the view's Apache config still names /tmp"
# no systemd here to reload haproxy: a stand-in systemctl checks the PEMs it
# would load
cat >"$u/sbin/systemctl" <<'EOF'
#!/bin/sh
[ "$*" = "reload haproxy" ] || { echo "systemctl stand-in: unexpected: $*"; exit 1; }
for f in /etc/haproxy/ssl.d/*; do openssl x509 -noout -in "$f" || exit 1; done
echo "haproxy: reloaded"
EOF
chmod 0755 "$u/sbin/systemctl"
maps=(--map "/usr/local/cpssl=$CPSSL_HOME" --map "/usr/local/cpssl/etc=$u/etc"
	--map "/usr/local/bin/cpcmd=$CPCMD" --map "/var/lib/cpssl=$fs/var/lib/cpssl"
	--map "/home/virtual=$fs/home/virtual" --map "/etc/pki/tls/certs=$fs/etc/pki/tls/certs"
	--map "/etc/httpd/conf=$fs/etc/httpd/conf"
	--map "/etc/haproxy/ssl.d=$fs/etc/haproxy/ssl.d" --map "/etc/apache2=$u/apache2"
	--map "/var/run/apache2=$u/run-apache2" --map "/var/lock/apache2=$u/lock-apache2"
	--map "/usr/local/sbin/systemctl=$u/sbin/systemctl"
	--map "/var/lib/prometheus/node-exporter=$fs/var/lib/prometheus/node-exporter")
mkdir -p "$fs/var/lib/prometheus/node-exporter"
# run_unit UNIT [-- CMD…] — the sandbox, bounded; stdout in $OUT, stderr in
# $ERR, the sandbox's status in $URC, the command's own in $CRC
run_unit() {
	rm -f "$u/status"
	OUT=$(timeout -k 10 120 "$sandbox" --status-file "$u/status" "${maps[@]}" "$@" 2>"$u/err")
	URC=$?
	ERR=$(cat "$u/err")
	CRC=$(cat "$u/status" 2>/dev/null)
}

# --- inside, writes outside ReadWritePaths= fail ---------------------------------------------
probe='for p in /usr/local/cpssl/etc /usr/local/cpssl /usr/local/bin /etc /etc/pki/tls /var/lib /var/spool /srv /opt \
	/usr/local/cpssl/storage /var/lib/cpssl /home/virtual /etc/pki/tls/certs /etc/httpd/conf /etc/haproxy/ssl.d /tmp /var/tmp \
	/var/lib/prometheus/node-exporter; do
	[ -d "$p" ] || { echo "missing $p"; continue; }
	if (: >"$p/.probe") 2>/dev/null; then rm -f "$p/.probe"; echo "rw $p"; else echo "ro $p"; fi
done
echo "home: $(ls -A /home | tr "\n" " ")"
echo "root: $(ls -A /root | tr "\n" " ")"
echo "dev: $(ls /dev | tr "\n" " ")"
echo "hdir: $(test -e "$1" && echo visible || echo hidden)"
grep -E "^(NoNewPrivs|CapBnd):" /proc/self/status
echo "umask: $(umask)"
echo "nice: $(cut -d" " -f19 /proc/self/stat)"
echo "io: $(ionice)"
echo "env: $(env | grep -v -e ^INVOCATION_ID= -e ^SYSTEMD_EXEC_PID= -e ^PWD= -e ^SHLVL= -e ^_= | sort | tr "\n" " ")"
for m in /proc/sys /sys /sys/fs/cgroup /dev; do echo "mount $m $(findmnt -rn -o OPTIONS --mountpoint $m | tail -n 1 | cut -d, -f1)"; done'
run_unit "$unit" -- /bin/sh -c "$probe" sh "$H_DIR"
t_is "$URC" 0 "a probe runs under the unit's restrictions" || t_diag "$ERR"
for p in /usr/local/cpssl/etc /usr/local/cpssl /usr/local/bin /etc /etc/pki/tls /var/lib /var/spool /srv /opt; do
	t_like "$OUT" "(^|$nl)ro $p($nl|\$)" "  $p: a write fails (outside ReadWritePaths=)"
done
for p in /usr/local/cpssl/storage /var/lib/cpssl /home/virtual /etc/pki/tls/certs /etc/httpd/conf /etc/haproxy/ssl.d \
	/tmp /var/tmp /var/lib/prometheus/node-exporter; do
	t_like "$OUT" "(^|$nl)rw $p($nl|\$)" "  $p: writable"
done
t_like "$OUT" "home: virtual $nl" "  /home shows virtual alone (ProtectHome=tmpfs, BindPaths=)"
t_like "$OUT" "root: $nl" "  /root is empty"
t_like "$OUT" "dev: [^$nl]*null [^$nl]*urandom " "  /dev has null and urandom"
t_unlike "$OUT" "dev: [^$nl]*(sd|vd|nvme|loop|mem )" "  and no disk (PrivateDevices=)"
t_like "$OUT" "hdir: hidden" "  the harness's files in /tmp are not there (PrivateTmp=)"
t_like "$OUT" "NoNewPrivs:"$'\t'"1$nl" "  no new privileges"
t_like "$OUT" "CapBnd:"$'\t'"00000000000000ef" "  the capability bounding set of the unit"
t_like "$OUT" "umask: 0022" "  umask 0022, systemd's default"
t_like "$OUT" "nice: 10" "  nice 10"
t_like "$OUT" "io: best-effort: prio 7" "  I/O best-effort 7"
t_like "$OUT" "env: CPSSL_HOME=/usr/local/cpssl PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin STATE_DIRECTORY=/var/lib/cpssl $nl" \
	"  the environment: the unit's and systemd's, nothing of the caller's"
t_like "$OUT" "mount /proc/sys ro${nl}mount /sys ro${nl}mount /sys/fs/cgroup ro${nl}mount /dev ro" \
	"  /proc/sys, /sys, /sys/fs/cgroup and /dev are read-only"

# --- without the storage writable, the pass fails ----------------------------------------------
grep -v '^ReadWritePaths=/usr/local/cpssl/storage$' "$unit" >"$H_DIR/no-storage.service"
run_unit "$H_DIR/no-storage.service"
t_isnt "$URC" 0 "without ReadWritePaths=/usr/local/cpssl/storage the pass fails"
t_like "$ERR" "cannot open the database /usr/local/cpssl/storage/cpssl\.db: Read-only file system" "  on its store"
t_like "$ERR" "main process exited, status=1: failure" "  a failure for the sandbox too"
t_is "$(q "SELECT serial FROM certificates WHERE site_id = 1 AND is_current = 1")" "$old_serial" "  and renews nothing"

# --- the pass: the unit's own command, under the unit ------------------------------------------
graceful_before=$(grep -c 'resuming normal operations' "$H_DIR/apache/logs/error.log")
start=$(date +%s)
run_unit "$unit"
t_is "$URC:$CRC" "0:0" "the unit's pass renews and exits 0, a success" || t_diag "$ERR"
t_unlike "$ERR" "(ERROR|WARNING)" "  without an error or a warning"
t_like "$ERR" "unit-sandbox: main process exited, status=0: success" "  as the sandbox reports it"
t_unlike "$ERR" "outlived" "  and no process of it outlives the pass"
t_like "$OUT" "site: site1$nl  names:$nl  - a\.test$nl  result: renewed" "  site1 renewed"
t_like "$OUT" "site: server" "  and the server's own certificate obtained"
new_serial=$(q "SELECT serial FROM certificates WHERE site_id = 1 AND is_current = 1")
t_isnt "$new_serial" "$old_serial" "the store has site1's new certificate"
new=$(fp "$conf/ssl.crt/server.crt")
t_isnt "$new" "$old" "the site's Apache certificate is the new one"
t_is "$(fp "$(c_site_dir site1)/cert.pem")" "$new" "  the one in the store"
stored=$(readlink -f "$(c_site_dir site1)")
t_is "$(grep '^SSLCertificateFile' "$fs/etc/httpd/conf/site1.ssl/cpssl.conf")" \
	"SSLCertificateFile \"/usr/local/cpssl${stored#"$CPSSL_HOME"}/fullchain.pem\"" \
	"  etc/httpd/conf/site1.ssl/cpssl.conf names it, in the storage as the unit sees it"
t_is "$(fp "$fs/etc/haproxy/ssl.d/site1")" "$new" "haproxy's PEM for site1 is the new one"
t_like "$(openssl x509 -in "$fs/etc/pki/tls/certs/server.pem" -noout -ext subjectAltName 2>/dev/null)" "DNS:srv\.test" \
	"the server's PEM is written, for srv.test"
t_is "$(stat -c %a "$fs/etc/pki/tls/certs/server.pem")" 600 "  mode 0600"
c_run -o json letsencrypt:reload-status
t_is "$(jq -r '.last.apache.ok' <<<"$OUT")" true "the reload ran: apachectl -t and graceful, in the unit"
t_is "$(jq -r '.last.haproxy.ok' <<<"$OUT")" true "  and systemctl reload haproxy"
served_becomes a.test "$new"
t_ok $? "Apache serves the new certificate for a.test"
t_ok $(($(grep -c 'resuming normal operations' "$H_DIR/apache/logs/error.log") > graceful_before ? 0 : 1)) \
	"  after a graceful restart"

prom=$fs/var/lib/prometheus/node-exporter/cpssl.prom
out=$(promtool check metrics <"$prom" 2>&1)
t_is "$?:$out" "0:" "the pass wrote node_exporter's cpssl.prom, which promtool accepts"
t_is "$(grep -c '^cpssl_certificate_expiry_timestamp_seconds{site="site1"} [0-9]' "$prom")" 1 "  with site1's expiry"

# --- nothing due: 3, a success ------------------------------------------------------------------
run_unit "$unit"
t_is "$URC:$CRC:$OUT" "0:3:[]" "a pass with nothing due exits 3, which SuccessExitStatus=3 makes a success"
t_like "$ERR" "status=3: success \(SuccessExitStatus=3\)" "  as the sandbox reports it"
took=$(($(date +%s) - start))
t_diag "the unit's passes took ${took}s"

t_is "$(snapshot)" "$before_machine" "the machine's own paths are as they were"
t_done
