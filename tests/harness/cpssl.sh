# shellcheck shell=bash
# tests/harness/cpssl.sh — product helpers for integration tests, on top of
# lib.sh: a CPSSL_HOME inside $H_DIR wired to the harness servers, and a
# cpcmd runner.
#
#   . "$(dirname "$0")/../harness/lib.sh"
#   . "$(dirname "$0")/../harness/cpssl.sh"
#   h_init
#   c_servers            # BIND (zone test.) + Pebble + Apache
#   c_configure          # CPSSL_HOME, config.ini, admin e-mail
#   c_run -d site1 letsencrypt:request '[a.test]'; t_is "$RC" 0 "issued"

: "${CPCMD:?CPCMD must point at the cpcmd binary}"

# c_run ARGS… — run cpcmd; stdout in $OUT, stderr in $ERR, status in $RC.
c_run() {
	OUT=$("$CPCMD" "$@" 2>"$H_DIR/c_stderr")
	RC=$?
	ERR=$(cat "$H_DIR/c_stderr")
}

# c_servers [ZONE…] — BIND with the zones (default: test), Pebble, Apache.
c_servers() {
	h_start_bind "${@:-test}" || t_bail "BIND did not start"
	h_start_pebble || t_bail "Pebble did not start"
	h_start_apache || t_bail "Apache did not start"
}

# c_reload_wrappers — commands that reload (and check) this test's Apache and
# haproxy, each appending a line to $H_DIR/reloads.log; the product runs them
# as [httpd] reload_command / configtest_command and [mail]
# haproxy_reload_command.
c_reload_wrappers() {
	local b="$H_DIR/bin" a="$H_DIR/apache" env
	mkdir -p "$b"
	env="env APACHE_RUN_DIR=$a/run APACHE_LOCK_DIR=$a/run APACHE_PID_FILE=$a/run/httpd.pid"
	env+=" APACHE_LOG_DIR=$a/logs APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data"
	env+=" APACHE_CONFDIR=$a LANG=C"
	printf '#!/bin/sh\necho "apache $(date +%%s.%%N)" >>"%s/reloads.log"\nexec %s apache2 -d "%s" -f "%s" -k graceful\n' \
		"$H_DIR" "$env" "$a" "$H_APACHE_CONF" >"$b/apache-reload"
	printf '#!/bin/sh\nexec %s apache2 -d "%s" -f "%s" -t\n' "$env" "$a" "$H_APACHE_CONF" >"$b/apache-test"
	printf '#!/bin/sh\nd="%s/haproxy"\necho "haproxy $(date +%%s.%%N)" >>"%s/reloads.log"\n[ -s "$d/haproxy.pid" ] || { echo "haproxy is not running"; exit 1; }\nexec haproxy -D -f "$d/haproxy.cfg" -p "$d/haproxy.pid" -sf "$(cat "$d/haproxy.pid")"\n' \
		"$H_DIR" "$H_DIR" >"$b/haproxy-reload"
	chmod 755 "$b/apache-reload" "$b/apache-test" "$b/haproxy-reload"
}

# c_configure — CPSSL_HOME=$H_DIR/home with fs_root=$H_DIR/fsroot (so the
# default challenge dir is the one Apache serves), Pebble as the CA, BIND for
# dns-01 (rfc2136) and lookups, reloads of this test's Apache at once (never
# the machine's), and an admin e-mail.
c_configure() {
	export CPSSL_HOME=$H_DIR/home
	local set=(scope:set cp.config)
	c_reload_wrappers
	"$CPCMD" "${set[@]}" cpssl fs_root "$H_DIR/fsroot" >/dev/null &&
	"$CPCMD" "${set[@]}" letsencrypt server "$H_PEBBLE_DIR_URL" >/dev/null &&
	"$CPCMD" "${set[@]}" letsencrypt ca_bundle "$H_PEBBLE_TLS_CA" >/dev/null &&
	"$CPCMD" "${set[@]}" letsencrypt dns_validation_wait 10 >/dev/null &&
	"$CPCMD" "${set[@]}" dns provider rfc2136 >/dev/null &&
	"$CPCMD" "${set[@]}" dns rfc2136_server "127.0.0.1:$H_DNS_PORT" >/dev/null &&
	"$CPCMD" "${set[@]}" dns rfc2136_key_name "$H_TSIG_NAME" >/dev/null &&
	"$CPCMD" "${set[@]}" dns rfc2136_key_algorithm "$H_TSIG_ALG" >/dev/null &&
	"$CPCMD" "${set[@]}" dns rfc2136_key_secret - <<<"$H_TSIG_SECRET" >/dev/null &&
	"$CPCMD" "${set[@]}" dns authoritative_ns "127.0.0.1:$H_DNS_PORT" >/dev/null &&
	"$CPCMD" "${set[@]}" dns resolvers "127.0.0.1:$H_DNS_PORT" >/dev/null &&
	"$CPCMD" "${set[@]}" httpd reload_delay now >/dev/null &&
	"$CPCMD" "${set[@]}" httpd reload_command "$H_DIR/bin/apache-reload" >/dev/null &&
	"$CPCMD" "${set[@]}" httpd configtest_command "$H_DIR/bin/apache-test" >/dev/null &&
	"$CPCMD" "${set[@]}" mail haproxy_reload_command "$H_DIR/bin/haproxy-reload" >/dev/null &&
	"$CPCMD" common:set-email admin@test.test >/dev/null ||
		t_bail "cannot configure cpssl in $CPSSL_HOME"
	[ "$H_CHALLENGE_DIR" = "$H_DIR/fsroot/var/lib/cpssl/acme-challenge" ] ||
		t_bail "Apache serves $H_CHALLENGE_DIR, not the default challenge dir"
}

# c_site_dir SITE — the site's current certificate directory.
c_site_dir() {
	local server
	server=${H_PEBBLE_DIR_URL#https://}
	server=${server//\//.}
	printf '%s/storage/certificates/data/certs/%s/%s/current' "$CPSSL_HOME" "$server" "$1"
}

# c_verify DIR — the stored chain verifies against Pebble's root (exit status).
c_verify() {
	openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$1/chain.pem" "$1/cert.pem" >/dev/null 2>&1
}

# c_sans FILE — the certificate's DNS SANs, sorted, one per line.
c_sans() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		grep -o 'DNS:[^,]*' | sed 's/^DNS://' | sort
}
