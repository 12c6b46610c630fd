#!/usr/bin/env bash
# also-asan
# The ACME account and the order's life around the edges: contact update when
# the admin e-mail changes (at once, and by the next request when the CA
# does not have it yet), lookup of an existing key on a "new machine", a CA
# that forgot the account, revocation, alternate chains chosen by issuer, and
# cleanup of what an interrupted (SIGKILLed) run left published.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
export PEBBLE_ALTERNATE_ROOTS=1
c_servers test
c_configure
for n in a.test b.a.test c.a.test d.a.test; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
c_run site:add a.test "['ip':'127.0.0.1']"
db=$CPSSL_HOME/storage/cpssl.db
dir=$(c_site_dir site1)

DEBUG=1 c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "first issuance registers the account"
t_like "$ERR" "INFO    : registered an ACME account with $H_PEBBLE_DIR_URL for admin@test.test" "  INFO names the CA and contact"
kid=$(sqlite3 "$db" "SELECT kid FROM acme_accounts")
t_like "$kid" "^https://127\.0\.0\.1:$H_PEBBLE_PORT/" "  account URL stored"

# --- contact follows the admin e-mail ----------------------------------------------
c_run common:set-email ops@test.test
t_like "$ERR" "INFO    : ACME account contact changed to ops@test.test" "set-email updates the account contact at once"
t_is "$(sqlite3 "$db" "SELECT contact FROM acme_accounts")" "ops@test.test" "  and records it"
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "issuance after the admin e-mail changed"
t_is "$(grep -c 'contact changed' <<<"$ERR")" 0 "  sends the contact no more"
# a contact the CA does not have yet (an e-mail set while it could not be
# reached) is sent by the next session
sqlite3 "$db" "UPDATE acme_accounts SET contact = 'old@test.test'"
DEBUG=1 c_run -d site1 letsencrypt:request '[c.a.test]'
t_like "$ERR" "INFO    : ACME account contact changed to ops@test.test" "a recorded contact that differs is sent by the next request"
DEBUG=1 c_run -d site1 letsencrypt:request '[c.a.test]'
t_is "$(grep -c 'contact changed' <<<"$ERR")" 0 "  only once"

# --- a new machine with the existing key ----------------------------------------------
sqlite3 "$db" "DELETE FROM acme_accounts"
DEBUG=1 c_run -d site1 letsencrypt:request '[a.test]'
t_is "$RC" 0 "issuance with a key but no account record"
t_like "$ERR" "found the existing ACME account $kid" "  the account was found with onlyReturnExisting"
t_is "$(grep -c 'registered an ACME account' <<<"$ERR")" 0 "  no new registration"

# --- revocation ---------------------------------------------------------------------------
serial=$(openssl x509 -in "$dir/cert.pem" -noout -serial | cut -d= -f2 | sed 's/^0*//')
c_run -d site1 letsencrypt:revoke superseded
t_is "$RC" 0 "revoke the current certificate (superseded)"
t_like "$OUT" "revoked: '?$serial'?$" "  its serial reported"
t_like "$ERR" "INFO    : revoked site1's certificate $serial \(reason: superseded\)" "  INFO with the reason"
c_run -d site1 letsencrypt:revoke
t_is "$RC" 1 "revoking it again is refused"
t_like "$ERR" "already revoked" "  saying so"
c_run -d site1 letsencrypt:revoke 2
t_is "$RC" 1 "reason 2 (unused in RFC 5280) is refused"
t_like "$ERR" "not a revocation reason" "  clearly"

# --- alternate chains ---------------------------------------------------------------------
curl -s --cacert "$H_PEBBLE_TLS_CA" "https://127.0.0.1:$H_PEBBLE_MGMT_PORT/roots/1" >"$H_DIR/alt-root.pem"
alt_cn=$(openssl x509 -in "$H_DIR/alt-root.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
t_like "$alt_cn" "^Pebble Root CA" "Pebble offers an alternate root ($alt_cn)"
top_issuer() { awk '/BEGIN CERT/{c++} {print > ("'"$H_DIR"'/part" c)}' "$1/chain.pem"; n=$(ls "$H_DIR"/part* | wc -l);
	openssl x509 -in "$H_DIR/part$n" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p'; rm -f "$H_DIR"/part*; }
default_cn=$(top_issuer "$dir")
t_isnt "$default_cn" "$alt_cn" "  the default chain leads to another root"
c_run scope:set cp.config letsencrypt preferred_chain "$alt_cn"
c_run -d site1 letsencrypt:request '[b.a.test]'
t_is "$RC" 0 "issuance preferring the alternate root"
t_is "$(top_issuer "$dir")" "$alt_cn" "  the stored chain leads to $alt_cn"
openssl verify -CAfile "$H_DIR/alt-root.pem" -untrusted "$dir/chain.pem" "$dir/cert.pem" >/dev/null 2>&1
t_ok $? "  and verifies against that root"
c_run scope:set cp.config letsencrypt preferred_chain "No Such Root"
c_run -d site1 letsencrypt:request '[b.a.test]'
t_is "$(top_issuer "$dir")" "$default_cn" "an unknown preference keeps the default chain"
c_run scope:set cp.config letsencrypt preferred_chain ''

# --- cleanup after a SIGKILLed run ----------------------------------------------------------
hook=$H_DIR/slow-hook
cat >"$hook" <<HOOK
#!/bin/sh
[ "\$1" = setup ] || exit 0
printf 'server 127.0.0.1 %s\nupdate add %s. 60 TXT "%s"\nsend\n' $H_DNS_PORT "\$2" "\$3" | nsupdate -k $H_TSIG_FILE
echo \$\$ > $H_DIR/hook.pid
exec sleep 60
HOOK
chmod 755 "$hook"
c_run -d site1 site:set-setting dns.provider hook
c_run scope:set cp.config dns hook "$hook"
"$CPCMD" -d site1 letsencrypt:request '[*.k.a.test]' >/dev/null 2>&1 &
victim=$!
for _ in $(seq 1 100); do
	[ -n "$(h_dig _acme-challenge.k.a.test TXT)" ] && [ -s "$H_DIR/hook.pid" ] && break
	sleep 0.1
done
kill -9 "$victim"; wait "$victim" 2>/dev/null
kill "$(cat "$H_DIR/hook.pid")" 2>/dev/null
t_isnt "$(h_dig _acme-challenge.k.a.test TXT)" "" "a SIGKILLed run leaves its TXT record behind"
t_is "$(sqlite3 "$db" "SELECT count(*) FROM acme_challenges WHERE published LIKE 'dns:_acme-challenge.k.a.test %'")" 1 \
	"  and the store knows it was published"
c_run -d site1 site:set-setting dns.provider null
DEBUG=1 c_run -d site1 letsencrypt:request '[c.a.test]'
t_is "$RC" 0 "the next run succeeds"
t_like "$ERR" "removed a leftover challenge response for \*\.k\.a\.test" "  after removing the leftover"
t_is "$(h_dig _acme-challenge.k.a.test TXT)" "" "  the TXT record is gone"
t_is "$(sqlite3 "$db" "SELECT count(*) FROM acme_challenges WHERE published IS NOT NULL")" 0 "  nothing is marked published"

# --- a CA that forgot the account -------------------------------------------------------------
h_restart_pebble >/dev/null || t_bail "Pebble did not restart"
DEBUG=1 c_run -d site1 letsencrypt:request '[d.a.test]'
t_is "$RC" 0 "issuance after the CA lost its accounts" || t_diag "$ERR"
t_like "$ERR" "WARNING : the CA $H_PEBBLE_DIR_URL no longer knows the ACME account" "  with a WARNING"
t_like "$ERR" "registered an ACME account" "  and a new registration"
t_isnt "$(sqlite3 "$db" "SELECT kid FROM acme_accounts")" "$kid" "  the new account URL is stored"
c_verify "$dir"; t_ok $? "  the certificate verifies against the new root"
t_done
