#!/usr/bin/env bash
# also-asan
# The housekeeping pass over 30 sites with real Pebble, BIND and Apache:
# exactly the due certificates are renewed (by expiry and by remaining
# lifetime), the rest left alone, one reload for the pass; a site whose
# validation breaks fails alone, is notified and backs off; a deleted site's
# certificate is skipped; a pass with nothing due does nothing; and
# reissueAllCertificates over a directory of 10 sites.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
serial() { q "SELECT serial FROM certificates WHERE site_id = $1 AND is_current = 1"; }
reloads() { grep -c "^apache " "$H_DIR/reloads.log" 2>/dev/null || echo 0; }
notices=$H_DIR/notices
printf '#!/bin/sh\ncat >> "%s"\n' "$notices" >"$H_DIR/notify"; chmod 755 "$H_DIR/notify"
c_run scope:set cp.config letsencrypt notify_command "$H_DIR/notify"
c_run scope:set cp.config letsencrypt concurrency 3
c_run scope:set net.hostname srv.test
h_dns_add srv.test A 127.0.0.1

for i in $(seq 1 30); do
	h_dns_add "s$i.test" A 127.0.0.1 || t_bail "cannot add s$i.test"
	"$CPCMD" site:add "s$i.test" "['ip':'127.0.0.1']" >/dev/null || t_bail "site:add s$i.test"
	"$CPCMD" -d "site$i" letsencrypt:request "[s$i.test]" >/dev/null 2>&1 || t_bail "first issuance for site$i"
done
t_is "$(q "SELECT count(*) FROM certificates WHERE is_current = 1 AND site_id > 0")" 30 "30 sites with certificates"

# --- the first pass: the server certificate, and nothing else is due --------------------
c_run letsencrypt:housekeeping
t_is "$RC" 0 "the first pass obtains the server's own certificate"
t_is "$(q "SELECT names FROM certificates WHERE site_id = 0 AND is_current = 1")" "srv.test" "  for net.hostname"
t_like "$OUT" "site: server" "  and reports it"
c_run letsencrypt:housekeeping
t_is "$RC:$OUT" "3:[]" "a pass with nothing due: nothing to do (exit 3), an empty table"
t_unlike "$ERR" "is built into cpcmd" "  no rebuild warning while dpkg has the versions cpcmd was built with"

# a cpcmd with libcurl inside (the plain build) says when dpkg has installed
# a newer libcurl4 since the build; OpenSSL is the system's, so a newer
# libssl3 needs no rebuild; a shared build (ASan) has nothing to say
printf 'Package: libssl3\nStatus: install ok installed\nVersion: 99:1.0-1\n' >"$H_DIR/dpkg-status"
CPSSL_DPKG_STATUS=$H_DIR/dpkg-status c_run letsencrypt:housekeeping
t_unlike "$ERR" "is built into cpcmd" "a newer libssl3 installed: no rebuild warning (cpcmd loads the system's OpenSSL)"
printf 'Package: libcurl4\nStatus: install ok installed\nVersion: 99:1.0-1\n' >"$H_DIR/dpkg-status"
CPSSL_DPKG_STATUS=$H_DIR/dpkg-status c_run letsencrypt:housekeeping
if [[ $("$CPCMD" --version) == *"linked into cpcmd"* ]]; then
	t_like "$ERR" "WARNING : curl [^ ]+ is built into cpcmd, but the system now has libcurl4 99:1\.0-1: rebuild cpcmd to take its fixes \(in the source tree: make distclean && make && make install\)" \
		"libcurl inside cpcmd, newer libcurl4 installed: the pass warns and names the rebuild"
else
	t_unlike "$ERR" "is built into cpcmd" "shared build, newer libcurl4 installed: no rebuild warning (apt's update applies)"
fi
t_is "$RC:$OUT" "3:[]" "  the pass itself is unchanged"

# --- make some due ------------------------------------------------------------------------
now=$(date +%s)
# (lifetimes as the CA would issue them: the window is
# not_after - min(lookahead_days 10, 1/3 of the lifetime))
q "UPDATE certificates SET not_before = $now - 85 * 86400, not_after = $now + 5 * 86400 WHERE is_current = 1 AND site_id BETWEEN 1 AND 8"
# six-day certificates: due with a day left (a third of 6 days is 2) ...
q "UPDATE certificates SET not_before = $now - 5 * 86400, not_after = $now + 86400 WHERE is_current = 1 AND site_id IN (9, 10)"
# ... not a 6.5-day one with 3.5 days left (nor a day later), though
# lookahead_days is 10
q "UPDATE certificates SET not_before = $now - 3 * 86400, not_after = $now + 302400 WHERE is_current = 1 AND site_id = 14"
q "UPDATE certificates SET not_before = $now - 60 * 86400, not_after = $now + 30 * 86400 WHERE is_current = 1 AND site_id = 13"
# site11 is due but its validation breaks; site12 is due but the site is gone
q "UPDATE certificates SET not_before = $now - 87 * 86400, not_after = $now + 3 * 86400 WHERE is_current = 1 AND site_id IN (11, 12)"
h_dns_del s11.test A
h_dns_add s11.test A 127.0.0.2
c_run -d site11 site:set-setting verify_ip false
c_run -d site11 letsencrypt:use-mechanism s11.test http
# (site:delete takes a site's certificate out of service; a site removed
# behind cpssl's back, or by an older version, leaves it current)
q "DELETE FROM sites WHERE id = 12"
# a fresh Pebble (new roots, no account, no authorizations): it could
# otherwise take up s11.test's earlier valid authorization and spare site11
# the validation that must fail
h_restart_pebble || t_bail "Pebble did not restart"
declare -A before
for i in $(seq 1 30); do before[$i]=$(serial "$i"); done
r0=$(reloads)

c_run -o json letsencrypt:housekeeping
t_is "$RC" 1 "the pass reports that a renewal failed"
renewed=$(jq -r '[.[] | select(.result == "renewed") | .site] | sort | join(" ")' <<<"$OUT")
t_is "$renewed" "site1 site10 site2 site3 site4 site5 site6 site7 site8 site9" \
	"exactly the due certificates were renewed (8 90-day ones with 5 days left, 2 6-day ones with 1 left)"
t_is "$(jq -r '.[] | select(.site == "site11") | .result' <<<"$OUT")" "failed" "site11 failed"
t_like "$(jq -r '.[] | select(.site == "site11") | .detail' <<<"$OUT")" "s11\.test: the http-01 challenge failed" "  with the CA's detail"
t_is "$(jq -r '.[] | select(.site == "site12") | .detail' <<<"$OUT")" "the site no longer exists" "site12's orphaned certificate is skipped"
t_like "$ERR" "WARNING : site12: the site no longer exists; skipping it" "  with a WARNING"
t_like "$(jq -r '.[] | select(.site == "site1") | .expires' <<<"$OUT")" "^20[0-9-]+T" "the table shows the new expiry"
changed="" unchanged_ok=1
for i in $(seq 1 30); do
	[ "$(serial "$i")" != "${before[$i]}" ] && changed+="site$i "
done
t_is "$changed" "site1 site2 site3 site4 site5 site6 site7 site8 site9 site10 " "  and only their serials changed (site13, 30 days out, and site14, a 6.5-day one 3.5 days out, were not due)"
t_is "$(( $(reloads) - r0 ))" 1 "one Apache reload for the whole pass"
t_like "$(cat "$notices" 2>/dev/null)" "To: admin@test\.test" "a failure notice went to the administrator"
t_like "$(cat "$notices" 2>/dev/null)" "Subject: cpssl: certificate renewal failed for site11" "  naming the site"
next=$(q "SELECT next_attempt FROM ssl_status WHERE site_id = 11")
t_ok $(( next >= now + 86400 ? 0 : 1 )) "site11 backs off a day: the CA could not validate it, retrying sooner will not help"

# --- the next pass leaves the backing-off site alone --------------------------------------------
c_run -o json letsencrypt:housekeeping
t_is "$RC" 3 "the next pass finds nothing to do"
t_is "$(jq -r 'map(select(.result != "skipped") | .site) | join(" ")' <<<"$OUT")" "" \
	"  site11 waits out its backoff (the orphan is only reported)"
CPSSL_NOW=$(( next + 60 )) c_run -o json letsencrypt:housekeeping
t_is "$(jq -r 'map(select(.result != "skipped") | .site) | join(" ")' <<<"$OUT")" "site11" "after the backoff it is tried again" ||
	t_diag "$OUT"
t_is "$(q "SELECT failures FROM ssl_status WHERE site_id = 11")" 2 "  and fails again (2 failures)"
t_ok $(( $(q "SELECT next_attempt FROM ssl_status WHERE site_id = 11") - next >= 86400 ? 0 : 1 )) "  and backs off another day"

# --- reissueAllCertificates over a directory of 10 sites --------------------------------------
dir=$H_DIR/reissue
mkdir -p "$dir"
for i in 14 15 16 17 18 19 20 21 22 23; do mkdir "$dir/site$i"; done
mkdir "$dir/site99" "$dir/not-a-site"
for i in $(seq 14 23); do before[$i]=$(serial "$i"); done
OUT=$(CPCMD=$CPCMD "$CPSSL_SRC/scripts/reissueAllCertificates" "$dir" 2>"$H_DIR/err"); RC=$?
ERR=$(cat "$H_DIR/err")
t_is "$RC" 0 "reissueAllCertificates DIR"
t_like "$ERR" "INFO    : 10 renewed, 0 failed, 1 skipped" "  10 reissued, 1 skipped"
t_like "$OUT" "site: site99" "  the site that does not exist is listed"
t_like "$ERR" "site99: the site no longer exists" "  with the reason"
same=0
for i in $(seq 14 23); do [ "$(serial "$i")" = "${before[$i]}" ] && same=$((same + 1)); done
t_is "$same" 0 "  every one of the 10 has a new certificate, whatever its window"
t_done
