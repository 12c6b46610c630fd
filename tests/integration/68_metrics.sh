#!/usr/bin/env bash
# also-asan
# The housekeeping pass's metrics file for node_exporter's textfile
# collector, against real Pebble, BIND and Apache: none while the directory
# does not exist; then <metrics_dir>/cpssl.prom, 0644, replaced atomically,
# which promtool (Prometheus's own parser and linter) accepts, with each
# certificate's expiry (the stored certificate's notAfter), last renewal,
# consecutive failures and next attempt (what letsencrypt:status says), and
# the pass's duration and counts; a failing site shows its failures; label
# values are escaped; metrics = false writes nothing.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
command -v promtool >/dev/null || t_bail "promtool is missing (make deps installs prometheus)"
c_servers test
c_configure
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
mdir=$H_DIR/fsroot/var/lib/prometheus/node-exporter
prom=$mdir/cpssl.prom
# value METRIC SITE — the sample's value for site="SITE" ("" when absent)
value() { awk -v m="$1" -v s="site=\"$2\"" 'index($0, m "{") == 1 && index($0, s) {print $NF}' "$prom"; }
epoch() { date -d "$1" +%s; }

c_run scope:set net.hostname srv.test
h_dns_add srv.test A 127.0.0.1
for i in 1 2; do
	h_dns_add "m$i.test" A 127.0.0.1
	"$CPCMD" site:add "m$i.test" "['ip':'127.0.0.1']" >/dev/null || t_bail "site:add m$i.test"
	"$CPCMD" -d "site$i" letsencrypt:request "[m$i.test]" >/dev/null 2>&1 || t_bail "issuance for site$i"
done

# --- no directory, no file ------------------------------------------------------
c_run -o json letsencrypt:housekeeping
t_is "$RC" 0 "a pass while the collector's directory does not exist runs (the server's certificate)"
t_is "$(find "$H_DIR/fsroot/var/lib" -name 'cpssl.prom' | wc -l)" 0 "  and writes no metrics file"
t_unlike "$ERR" "metrics" "  nor says anything about it"

# --- the file ------------------------------------------------------------------
mkdir -p "$mdir"
c_run letsencrypt:housekeeping
t_is "$RC" 3 "a pass with nothing due (exit 3)"
t_ok "$([ -f "$prom" ])$?" "  writes $mdir/cpssl.prom"
t_is "$(stat -c '%a %U' "$prom")" "644 root" "  0644, root's"
out=$(promtool check metrics <"$prom" 2>&1)
t_is "$?:$out" "0:" "  promtool check metrics accepts it, with no lint remark"
notafter() { # SITE_ID — the stored current certificate's notAfter, Unix time
	epoch "$(openssl x509 -noout -enddate -in "$(q "SELECT path FROM certificates WHERE site_id = $1 AND is_current = 1")/cert.pem" | cut -d= -f2)"
}
id=0
for s in server site1 site2; do
	t_is "$(value cpssl_certificate_expiry_timestamp_seconds "$s")" "$(notafter $id)" \
		"  $s: expiry is the stored certificate's notAfter"
	if [ "$s" = server ]; then st=$("$CPCMD" -o json letsencrypt:status 2>/dev/null)
	else st=$("$CPCMD" -o json -d "$s" letsencrypt:status 2>/dev/null); fi
	t_is "$(value cpssl_certificate_next_attempt_timestamp_seconds "$s")" \
		"$(epoch "$(echo "$st" | jq -r .next_renewal)")" "  $s: next attempt is letsencrypt:status's next_renewal"
	t_is "$(value cpssl_certificate_failures "$s")" 0 "  $s: no failures"
	id=$((id + 1))
done
t_is "$(value cpssl_certificate_last_renewal_timestamp_seconds server)" \
	"$(q 'SELECT last_success FROM ssl_status WHERE site_id = 0')" "  the server's last renewal is its last success"
t_like "$(grep '^cpssl_certificate_info{site="site1"' "$prom")" \
	'domain="m1.test",names="m1.test",issuer="CN=Pebble Intermediate CA [0-9a-f]+",ca="https://127.0.0.1:[0-9]+/dir",profile=""} 1' \
	"  site1's info: domain, names, issuer, CA"
t_is "$(grep '^cpssl_housekeeping_certificates{' "$prom" | tr '\n' ' ')" \
	'cpssl_housekeeping_certificates{result="renewed"} 0 cpssl_housekeeping_certificates{result="failed"} 0 cpssl_housekeeping_certificates{result="skipped"} 0 ' \
	"  the pass: nothing renewed, failed or skipped"
t_like "$(grep '^cpssl_housekeeping_duration_seconds ' "$prom")" '^cpssl_housekeeping_duration_seconds [0-9]+\.[0-9]{3}$' \
	"  its duration in seconds"
last=$(grep '^cpssl_housekeeping_last_run_timestamp_seconds ' "$prom" | cut -d' ' -f2)
[ $(($(date +%s) - last)) -lt 120 ]; t_ok $? "  and when it started"

# --- a renewal and a failure ------------------------------------------------------
now=$(date +%s)
q "UPDATE certificates SET not_before = $now - 85 * 86400, not_after = $now + 5 * 86400 WHERE is_current = 1 AND site_id IN (1, 2)"
# site2's renewal fails before any order: a profile the CA does not offer
c_run -d site2 site:set-setting letsencrypt.profile bogus
ino=$(stat -c %i "$prom")
c_run letsencrypt:housekeeping
t_is "$RC" 1 "a pass renewing site1 while site2's validation fails: exit 1"
t_isnt "$(stat -c %i "$prom")" "$ino" "  the file is replaced (a new inode: renamed into place)"
t_is "$(find "$mdir" -mindepth 1 | wc -l)" 1 "  and nothing else is left in the directory"
out=$(promtool check metrics <"$prom" 2>&1)
t_is "$?:$out" "0:" "  promtool accepts it"
t_is "$(grep '^cpssl_housekeeping_certificates{' "$prom" | tr '\n' ' ')" \
	'cpssl_housekeeping_certificates{result="renewed"} 1 cpssl_housekeeping_certificates{result="failed"} 1 cpssl_housekeeping_certificates{result="skipped"} 0 ' \
	"  one renewed, one failed"
t_is "$(value cpssl_certificate_failures site2)" 1 "  site2: one failure"
t_is "$(value cpssl_certificate_next_attempt_timestamp_seconds site2)" \
	"$(q 'SELECT next_attempt FROM ssl_status WHERE site_id = 2')" "  site2: next attempt after its backoff"
t_is "$(value cpssl_certificate_expiry_timestamp_seconds site1)" "$(notafter 1)" \
	"  site1: the renewed certificate's expiry"
t_is "$(value cpssl_certificate_last_renewal_timestamp_seconds site1)" \
	"$(q 'SELECT last_success FROM ssl_status WHERE site_id = 1')" "  site1: its last renewal"
[ "$(value cpssl_certificate_last_renewal_timestamp_seconds site1)" -ge "$now" ]; t_ok $? "  which is this pass"

# --- label values are escaped ---------------------------------------------------
q "UPDATE certificates SET issuer = 'CN=a \"quoted\" \\ name' WHERE is_current = 1 AND site_id = 1"
c_run letsencrypt:housekeeping
out=$(promtool check metrics <"$prom" 2>&1)
t_is "$?:$out" "0:" "an issuer with quotes and a backslash: promtool accepts the file"
t_like "$(grep '^cpssl_certificate_info{site="site1"' "$prom")" 'issuer="CN=a \\"quoted\\" \\\\ name"' \
	"  the label value is escaped"

# --- off ---------------------------------------------------------------------
rm -f "$prom"
c_run scope:set cp.config cpssl metrics false
c_run letsencrypt:housekeeping
t_ok "$([ ! -e "$prom" ])$?" "metrics = false: no file"

t_done
