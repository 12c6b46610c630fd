#!/usr/bin/env bash
# The Debian package, in a throw-away root (tests/harness/scratch-root: an
# overlay of this machine whose changes never reach it), against real Pebble,
# BIND and Apache on loopback: make deb builds it with debhelper and lintian
# reports no error; dpkg -i installs cpcmd in /usr/bin linked to the
# system's shared OpenSSL and libcurl, config.ini in /etc/cpssl (a conffile,
# 0600), the state in /var/lib/cpssl, the Apache alias enabled, the timer
# enabled, the manual pages and completion; the demo flow issues a
# certificate through Pebble that Apache serves; an upgrade to a higher
# version keeps the config, the state and the keys and migrates an older
# database; removal keeps the state, purge removes it.  cpssl-acmems: in
# /usr/bin, linked to the system's shared libmicrohttpd12 and libssl3, its
# unit installed but neither enabled nor started, its user made, its manual
# page and example config; it runs, and serves under the packaged unit until
# stopped.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
nl=$'\n'
src=${CPSSL_SRC:?}
scratch=$src/tests/harness/scratch-root
machine_paths=(/usr/bin/cpcmd /usr/bin/cpssl-acmems /etc/passwd /etc/cpssl /var/lib/cpssl /etc/apache2/conf-enabled /etc/systemd/system/timers.target.wants
	/var/lib/dpkg/status /usr/share/man/man1)
snapshot() { h_path_snapshot "${machine_paths[@]}"; }
before_machine=$(snapshot)

# --- build ----------------------------------------------------------------------------
debs=$H_DIR/debs
mkdir -p "$debs"
out=$(DEB_OUT=$debs "$src/scripts/build-deb" 2>"$H_DIR/build.err")
t_is "$?" 0 "make deb builds the package and lintian reports no error" || t_diag "$(tail -n 20 "$H_DIR/build.err")"
deb1=$(tail -n 1 <<<"$out")
t_like "$deb1" "/cpssl_[0-9.]+_[a-z0-9]+\.deb$" "  $(basename "$deb1")"
t_unlike "$(cat "$H_DIR/build.err")" "(^|$'\n')E: " "  no lintian error line"
v1=$(dpkg-deb -f "$deb1" Version)
v2=${v1}.1
deb2=$(DEB_OUT=$debs "$src/scripts/build-deb" "$v2" 2>/dev/null | tail -n 1)
t_is "$(dpkg-deb -f "$deb2" Version)" "$v2" "a rebuilt package of a higher version ($v2)"
deps=$(dpkg-deb -f "$deb1" Depends)
t_like "$deps" "libssl3" "  it depends on the system's OpenSSL"
t_like "$deps" "libcurl4" "  and libcurl, shared"

# --- install -------------------------------------------------------------------------
c_servers test
c_reload_wrappers
root=$H_DIR/root
sr() { "$scratch" "$root" --bind "$H_DIR" -- env -u CPSSL_HOME "$@"; }
out=$(sr dpkg -i "$deb1" 2>&1)
t_is "$?" 0 "dpkg -i installs it" || t_diag "$out"
t_is "$(sr dpkg-query -W -f='${Status} ${Version}' cpssl)" "install ok installed $v1" "  dpkg knows it"
t_is "$(sr stat -c '%a %U' /usr/bin/cpcmd /etc/cpssl/config.ini /var/lib/cpssl /var/lib/cpssl/storage | tr '\n' ' ')" \
	"755 root 600 root 755 root 700 root " "  cpcmd, config.ini 0600, /var/lib/cpssl 0755 and its storage 0700"
t_like "$(sr dpkg-query -W -f='${Conffiles}' cpssl)" "/etc/cpssl/config.ini [0-9a-f]{32}" "  config.ini is a conffile"
t_like "$(sr ldd /usr/bin/cpcmd)" "libssl\.so\.3 => /lib/.*libcurl\.so\.4 =>|libcurl\.so\.4 => .*libssl\.so\.3 =>" \
	"  cpcmd loads the system's libssl and libcurl"
t_is "$(sr readlink /etc/apache2/conf-enabled/cpssl.conf)" "../conf-available/cpssl.conf" "  the Apache alias is enabled (a2enconf)"
t_is "$(sr readlink /etc/systemd/system/timers.target.wants/cpssl-housekeeping.timer)" \
	"/lib/systemd/system/cpssl-housekeeping.timer" "  the housekeeping timer is enabled"
t_like "$(sr grep -E '^(ExecStart|StateDirectory)=' /lib/systemd/system/cpssl-housekeeping.service | tr '\n' ' ')" \
	"^ExecStart=/usr/bin/cpcmd letsencrypt:housekeeping StateDirectory=cpssl $" "  its service runs /usr/bin/cpcmd with the state in StateDirectory="
t_unlike "$(sr cat /lib/systemd/system/cpssl-housekeeping.service)" "/usr/local" "  and names nothing under /usr/local"
out=$(sr systemd-analyze verify /lib/systemd/system/cpssl-housekeeping.service /lib/systemd/system/cpssl-housekeeping.timer 2>&1)
t_is "$?" 0 "  systemd-analyze verify accepts the service and the timer" || t_diag "$out"
sr cat /lib/systemd/system/cpssl-housekeeping.service >"$H_DIR/pkg-housekeeping.service"
"$src/tests/harness/unit-sandbox" --check "$H_DIR/pkg-housekeeping.service" >/dev/null 2>&1
t_is "$?" 0 \
	"  and the unit sandbox knows every directive of it"
t_is "$(sr man -w cpcmd cpssl.ini reissueAllCertificates | tr '\n' ' ')" \
	"/usr/share/man/man1/cpcmd.1.gz /usr/share/man/man5/cpssl.ini.5.gz /usr/share/man/man8/reissueAllCertificates.8.gz " \
	"  man cpcmd, cpssl.ini and reissueAllCertificates"
t_like "$(sr sh -c 'MANWIDTH=80 man cpcmd 2>&1' | sed -n '/^FILES/,/^[A-Z]/p')" "/etc/cpssl/config.ini.*/var/lib/cpssl/storage" \
	"  cpcmd(1) names the package's paths"
t_like "$(sr bash -c '. /usr/share/bash-completion/completions/cpcmd; complete -p cpcmd')" "complete -F _cpcmd cpcmd" \
	"  bash completion"
t_is "$(sr sh -c 'test -x /usr/sbin/reissueAllCertificates && test -x /usr/lib/cpssl/housekeeping && echo ok')" ok \
	"  reissueAllCertificates and the housekeeping script"

# --- cpssl-acmems ------------------------------------------------------------------------
t_is "$(sr stat -c '%a %U' /usr/bin/cpssl-acmems)" "755 root" "cpssl-acmems is installed in /usr/bin"
needed=$(sr readelf -d /usr/bin/cpssl-acmems | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
t_like "$needed" "libmicrohttpd\.so\.12 .*libssl\.so\.3 " "  linked shared to libmicrohttpd12 and libssl3 (NEEDED: $needed)"
t_is "$(sr ldd /usr/bin/cpssl-acmems | grep -cE '^\s*(libmicrohttpd\.so\.12|libssl\.so\.3) => /(usr/)?lib/')" 2 \
	"  and loads the system's"
t_like "$(dpkg-deb -f "$deb1" Depends)" "libmicrohttpd12" "  the package depends on libmicrohttpd12"
au=/lib/systemd/system/cpssl-acmems.service
t_like "$(sr grep -E '^(ConditionPathExists|ExecStart|User|StateDirectory)=' "$au" | tr '\n' ' ')" \
	"^ConditionPathExists=/etc/cpssl/acmems\.ini ExecStart=/usr/bin/cpssl-acmems -c /etc/cpssl/acmems\.ini serve User=cpssl-acmems StateDirectory=cpssl/acmems $" \
	"  its unit runs /usr/bin/cpssl-acmems with /etc/cpssl/acmems.ini as cpssl-acmems"
t_unlike "$(sr cat "$au")" "/usr/local" "  and names nothing under /usr/local"
t_is "$(sr sh -c 'ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -c acmems; test -e /etc/cpssl/acmems.ini; echo $?')" "0${nl}1" \
	"  it is not enabled (no .wants link), and there is no acmems.ini: it would be skipped"
out=$(sr systemd-analyze verify "$au" 2>&1)
t_is "$?:$out" "0:" "  systemd-analyze verify accepts it"
sr cat "$au" >"$H_DIR/pkg-acmems.service"
"$src/tests/harness/unit-sandbox" --check "$H_DIR/pkg-acmems.service" >/dev/null 2>&1
t_is "$?" 0 "  and the unit sandbox knows every directive of it"
t_like "$(sr getent passwd cpssl-acmems)" "^cpssl-acmems:x:[0-9]+:[0-9]+:[^:]*:/var/lib/cpssl/acmems:/usr/sbin/nologin$" \
	"  the system user cpssl-acmems is made, without a login shell"
t_is "$(sr man -w cpssl-acmems)" "/usr/share/man/man8/cpssl-acmems.8.gz" "  man cpssl-acmems"
out=$(sr cpssl-acmems -c /usr/share/doc/cpssl/examples/acmems.ini.example status 2>&1)
t_is "$?" 0 "  the installed cpssl-acmems reads the shipped example (status)" || t_diag "$out"
t_like "$out" "address=\"127\.0\.0\.1:1313\" serves=\"mgmt\"" "  and shows its listeners"

# --- the demo flow through the installed package ----------------------------------------
fsroot=$H_DIR/fsroot
conf=(cpcmd scope:set cp.config)
# Pebble's HTTPS CA kept beside config.ini, where the unit (PrivateTmp=) sees it too
sr install -m 0644 "$H_PEBBLE_TLS_CA" /etc/cpssl/pebble-ca.pem
sr "${conf[@]}" cpssl fs_root "$fsroot" >/dev/null 2>&1 &&
	sr "${conf[@]}" letsencrypt server "$H_PEBBLE_DIR_URL" >/dev/null 2>&1 &&
	sr "${conf[@]}" letsencrypt ca_bundle /etc/cpssl/pebble-ca.pem >/dev/null 2>&1 &&
	sr "${conf[@]}" dns resolvers "127.0.0.1:$H_DNS_PORT" >/dev/null 2>&1 &&
	sr "${conf[@]}" dns authoritative_ns "127.0.0.1:$H_DNS_PORT" >/dev/null 2>&1 &&
	sr "${conf[@]}" httpd reload_delay now >/dev/null 2>&1 &&
	sr "${conf[@]}" httpd reload_command "$H_DIR/bin/apache-reload" >/dev/null 2>&1 &&
	sr "${conf[@]}" httpd configtest_command "$H_DIR/bin/apache-test" >/dev/null 2>&1 &&
	sr cpcmd common:set-email admin@test.test >/dev/null 2>&1
t_is "$?" 0 "the installed cpcmd is configured with scope:set (no CPSSL_HOME: /etc/cpssl)"
t_like "$(sr cat /etc/cpssl/config.ini)" "server = $H_PEBBLE_DIR_URL" "  into /etc/cpssl/config.ini"
t_is "$(sr stat -c %a /etc/cpssl/config.ini)" 600 "  still 0600"
h_dns_add pkg.test A 127.0.0.1
sr cpcmd site:add pkg.test "['ip':'127.0.0.1']" >/dev/null 2>&1
out=$(sr cpcmd -d site1 letsencrypt:request '[pkg.test]' 2>&1)
t_is "$?" 0 "letsencrypt:request issues through Pebble" || t_diag "$out"
t_is "$(sr sh -c 'ls /var/lib/cpssl/storage/cpssl.db /var/lib/cpssl/storage/certificates/data/certs/*/site1/current/privkey.pem | wc -l')" 2 \
	"  the database and the key are in /var/lib/cpssl/storage"
crt=$fsroot/home/virtual/site1/fst/etc/httpd/conf/ssl.crt/server.crt
key=$fsroot/home/virtual/site1/fst/etc/httpd/conf/ssl.key/server.key
h_apache_add_tls_vhost pkg.test "$crt" "$key"
h_apache_graceful || t_bail "Apache did not take pkg.test"
fp=$(h_cert_fingerprint "$crt")
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" pkg.test)" "$fp" "Apache serves the certificate the package's cpcmd deployed"
serial=$(sr cpcmd -o json -d site1 letsencrypt:status 2>/dev/null | jq -r .serial)
keysum=$(sr sh -c 'sha256sum /var/lib/cpssl/storage/certificates/data/certs/*/site1/current/privkey.pem' | cut -d' ' -f1)
sr cpcmd letsencrypt:housekeeping >/dev/null 2>&1
t_is "$?" 3 "the packaged housekeeping pass: nothing due (exit 3)"

# the packaged unit's own command under the unit's restrictions, with the
# package's files as the scratch root has them
up=$root/upper
out=$(timeout -k 10 120 "$src/tests/harness/unit-sandbox" --status-file "$H_DIR/unit.status" \
	--map "/usr/bin/cpcmd=$up/usr/bin/cpcmd" --map "/etc/cpssl=$up/etc/cpssl" \
	--map "/var/lib/cpssl=$up/var/lib/cpssl" "$H_DIR/pkg-housekeeping.service" 2>"$H_DIR/unit.err")
t_is "$?:$(cat "$H_DIR/unit.status" 2>/dev/null)" "0:3" \
	"the packaged unit's pass runs under its restrictions: the store in StateDirectory=, nothing due (3, a success)" ||
	t_diag "$(tail -n 5 "$H_DIR/unit.err")"
t_unlike "$(cat "$H_DIR/unit.err")" "(ERROR|WARNING)" "  without an error or a warning"

# the packaged cpssl-acmems unit: serve under its restrictions as its user,
# stopped as systemctl stop does
amport=$(h_free_port) && chport=$(h_free_port) || t_bail "no port"
sed -e "s#^acme-server = .*#acme-server = $H_PEBBLE_DIR_URL#" -e "s#^;ca-bundle = .*#ca-bundle = /etc/cpssl/pebble-ca.pem#" \
	-e "s#^mgmt = .*#mgmt = 127.0.0.1:$amport#" -e "s#^listener = .*#listener = 127.0.0.1:$chport#" \
	"$src/etc/acmems.ini.example" | sr sh -c 'cat >/etc/cpssl/acmems.ini && chgrp cpssl-acmems /etc/cpssl/acmems.ini && chmod 0640 /etc/cpssl/acmems.ini'
sbm=(--map "/usr/bin/cpssl-acmems=$up/usr/bin/cpssl-acmems" --map "/etc/cpssl=$up/etc/cpssl"
	--map "/var/lib/cpssl=$up/var/lib/cpssl" --map "/etc/passwd=$up/etc/passwd" --map "/etc/group=$up/etc/group")
# serve runs only with the accounts register made: register first, as the unit's user
"$src/tests/harness/unit-sandbox" --status-file "$H_DIR/am.status" "${sbm[@]}" "$H_DIR/pkg-acmems.service" -- \
	/usr/bin/cpssl-acmems -c /etc/cpssl/acmems.ini register --email admin@pkg.test --accept-terms \
	>"$H_DIR/am.out" 2>"$H_DIR/am.err"
t_is "$?:$(cat "$H_DIR/am.status" 2>/dev/null)" "0:0" "the packaged cpssl-acmems registers under its unit" ||
	t_diag "$(cat "$H_DIR/am.err")"
t_like "$(cat "$H_DIR/am.out")" "^account: https://127\.0\.0\.1:" "  printing the account's URL"
"$src/tests/harness/unit-sandbox" --status-file "$H_DIR/am.status" --pid-file "$H_DIR/am.pid" "${sbm[@]}" \
	"$H_DIR/pkg-acmems.service" >/dev/null 2>"$H_DIR/am.err" &
sbpid=$!
h__record_pid unit-sandbox "$sbpid" >/dev/null
for ((i = 0; i < 100; i++)); do [ -s "$H_DIR/am.pid" ] && break; sleep 0.1; done
read -r ampid <"$H_DIR/am.pid" 2>/dev/null
h__wait_listen "$amport" "${ampid:-0}" 15
t_ok $? "the packaged cpssl-acmems unit serves on its mgmt listener" || t_diag "$(cat "$H_DIR/am.err")"
t_is "$(awk '/^Uid:/ {print $2}' "/proc/${ampid:-0}/status" 2>/dev/null)" "$(sr id -u cpssl-acmems)" "  as cpssl-acmems"
t_is "$(sr stat -c '%U %a' /var/lib/cpssl/acmems)" "cpssl-acmems 700" "  its account directory /var/lib/cpssl/acmems, its own, 0700"
kill -TERM "$sbpid"
wait "$sbpid"
t_is "$?:$(cat "$H_DIR/am.status" 2>/dev/null)" "0:0" "  stopped (SIGTERM), it exits 0" || t_diag "$(cat "$H_DIR/am.err")"
sr rm -f /etc/cpssl/acmems.ini

# --- upgrade --------------------------------------------------------------------------
cfgsum=$(sr sha256sum /etc/cpssl/config.ini | cut -d' ' -f1)
out=$(sr dpkg -i "$deb2" 2>&1)
t_is "$?" 0 "dpkg -i of $v2 upgrades it" || t_diag "$out"
t_is "$(sr dpkg-query -W -f='${Version}' cpssl)" "$v2" "  to $v2"
t_is "$(sr sha256sum /etc/cpssl/config.ini | cut -d' ' -f1)" "$cfgsum" "  the changed config.ini is kept"
t_is "$(sr cpcmd -o json -d site1 letsencrypt:status 2>/dev/null | jq -r .serial)" "$serial" "  the certificate is still current"
t_is "$(sr sh -c 'sha256sum /var/lib/cpssl/storage/certificates/data/certs/*/site1/current/privkey.pem' | cut -d' ' -f1)" \
	"$keysum" "  with its key"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" pkg.test)" "$fp" "  and Apache still serves it"
# an older database: the upgrade's postinst migrates it
sr sh -c 'mv /var/lib/cpssl/storage/cpssl.db /var/lib/cpssl/storage/cpssl.db.current'
sed "s|@HOME@|/var/lib/cpssl|g" "$src/tests/fixtures/cpssl-schema11.sql" | sr sqlite3 /var/lib/cpssl/storage/cpssl.db
latest=$(CPSSL_HOME=$H_DIR/fresh "$CPCMD" site:list >/dev/null 2>&1; sqlite3 "$H_DIR/fresh/storage/cpssl.db" 'PRAGMA user_version')
out=$(sr dpkg -i "$deb2" 2>&1)
t_is "$?" 0 "installing $v2 again over a schema-11 database" || t_diag "$out"
t_is "$(sr sqlite3 /var/lib/cpssl/storage/cpssl.db 'PRAGMA user_version')" "$latest" "  its postinst migrates it to $latest"
t_is "$(sr sqlite3 /var/lib/cpssl/storage/cpssl.db 'SELECT count(*) FROM sites')" 2 "  keeping its rows"
sr sh -c 'mv -f /var/lib/cpssl/storage/cpssl.db.current /var/lib/cpssl/storage/cpssl.db'

# --- remove, purge ----------------------------------------------------------------------
out=$(sr dpkg -r cpssl 2>&1)
t_is "$?" 0 "dpkg -r removes it" || t_diag "$out"
t_is "$(sr sh -c 'test -e /usr/bin/cpcmd; echo $?')" 1 "  cpcmd is gone"
t_is "$(sr sh -c 'ls /var/lib/cpssl/storage/cpssl.db /etc/cpssl/config.ini | wc -l')" 2 "  the state and config.ini stay"
t_is "$(sr sh -c 'test -e /etc/apache2/conf-enabled/cpssl.conf; echo $?')" 1 "  the Apache alias is disabled"
out=$(sr dpkg -P cpssl 2>&1)
t_is "$?" 0 "dpkg -P purges it" || t_diag "$out"
t_is "$(sr sh -c 'ls -d /var/lib/cpssl /etc/cpssl/config.ini /etc/systemd/system/timers.target.wants/cpssl-housekeeping.timer 2>/dev/null | wc -l')" 0 \
	"  /var/lib/cpssl, config.ini and the timer's link are gone"
t_is "$(sr ls -A /etc/cpssl)" "pebble-ca.pem" "  a file of the administrator's in /etc/cpssl stays"
t_is "$(sr dpkg-query -W -f='${Status}' cpssl 2>/dev/null)" "" "  dpkg has forgotten it"

t_is "$(snapshot)" "$before_machine" "the machine itself has none of it"
t_done
