#!/usr/bin/env bash
# Pacing at scale against Pebble and BIND: the housekeeping pass and
# reissue-all never order more than what is left of the CA's order limit
# ([letsencrypt] order_limit per order_limit_hours, counted from the orders
# made), soonest expiry first, say so, and leave the rest for a later pass.
# Pebble 2.10; its renewal windows are left out (ari false) so that the
# configured window alone decides what is due here (60_ari covers ARI).
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
c_servers test
c_configure
"$CPCMD" scope:set cp.config letsencrypt ari false >/dev/null || t_bail "cannot turn ari off"
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
jq_out() { jq -r "$1" <<<"$OUT"; }
c_run scope:set net.hostname srv.test
h_dns_add srv.test A 127.0.0.1
for i in 1 2 3 4 5 6; do
	h_dns_add "p$i.test" A 127.0.0.1 || t_bail "cannot add p$i.test"
	"$CPCMD" site:add "p$i.test" "['ip':'127.0.0.1']" >/dev/null || t_bail "site:add p$i.test"
	"$CPCMD" -d "site$i" letsencrypt:request "[p$i.test]" >/dev/null 2>&1 || t_bail "first issuance for site$i"
done
c_run letsencrypt:housekeeping
t_is "$RC" 0 "the first pass obtains the server's certificate"
made=$(q "SELECT count(*) FROM acme_orders")
t_is "$made" 7 "7 orders made so far (6 sites, the server)"

# all 6 due, soonest expiry: site6, then site5, …
now=$(date +%s)
for i in 1 2 3 4 5 6; do
	q "UPDATE certificates SET not_before = $now - 85 * 86400, not_after = $now + (10 - $i) * 86400 WHERE is_current = 1 AND site_id = $i"
done
c_run scope:set cp.config letsencrypt order_limit 9
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '[.[] | select(.result == "renewed") | .site] | sort | join(" ")')" "site5 site6" \
	"order_limit 9 with 7 made: 2 ordered, the soonest to expire"
t_is "$(jq_out '[.[] | select(.result == "skipped") | .site] | sort | join(" ")')" "site1 site2 site3 site4" \
	"  the other 4 wait"
t_like "$(jq_out '.[] | select(.site == "site1") | .detail')" "deferred: the CA's order limit \(9 in 3 hours, 7 made\) is used up; a later pass orders it" \
	"  saying why"
t_like "$ERR" "WARNING : the CA allows 9 new orders in 3 hours and 7 were made: 2 of 6 certificates are ordered now \(soonest expiry first\), 4 in a later pass" \
	"  and the pass says so"
t_is "$(q "SELECT count(*) FROM acme_orders")" 9 "  no more orders than the limit"
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '[.[] | select(.result == "renewed")] | length'):$(q "SELECT count(*) FROM acme_orders")" "0:9" \
	"the next pass within the window orders nothing"
c_run -o json letsencrypt:reissue-all
t_is "$(jq_out '[.[] | select(.result == "renewed")] | length'):$(q "SELECT count(*) FROM acme_orders")" "0:9" \
	"reissue-all keeps to the limit too"
t_like "$(jq_out '.[] | select(.site == "site2") | .detail')" "deferred" "  deferring every site"
# three hours later the window has moved past those orders
CPSSL_NOW=$((now + 3 * 3600 + 60)) c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '[.[] | select(.result == "renewed") | .site] | sort | join(" ")')" "site1 site2 site3 site4" \
	"three hours later: the rest are ordered"
c_run scope:set cp.config letsencrypt order_limit 0
for i in 1 2; do
	q "UPDATE certificates SET not_before = $now - 85 * 86400, not_after = $now + 86400 WHERE is_current = 1 AND site_id = $i"
done
c_run -o json letsencrypt:housekeeping
t_is "$(jq_out '[.[] | select(.result == "renewed")] | length')" 2 "order_limit 0: no limit"
t_done
