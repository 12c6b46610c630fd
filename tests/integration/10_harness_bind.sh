#!/bin/bash
# Smoke test of the harness's BIND: start, query, TSIG-signed updates, refusals.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none

h_start_bind test example.
t_ok $? "BIND starts for zones test. and example." || t_bail "BIND did not start"

t_like "$H_DNS_PORT" '^[0-9]+$' "H_DNS_PORT is a number ($H_DNS_PORT)"
t_is "$H_ZONE" "test" "H_ZONE is test"
t_is "$H_ZONES" "test example" "H_ZONES lists both zones"
t_is "$H_TSIG_ALG" "hmac-sha256" "H_TSIG_ALG is hmac-sha256"
t_like "$H_TSIG_NAME" '^[A-Za-z0-9.-]+$' "H_TSIG_NAME is set"
t_like "$H_TSIG_SECRET" '^[A-Za-z0-9+/]{43}=$' "H_TSIG_SECRET is a base64 256-bit key"
grep -qF "$H_TSIG_SECRET" "$H_TSIG_FILE"
t_ok $? "H_TSIG_FILE holds the secret"

listen=$(h_listen_addrs "$H_BIND_PID")
t_is "$listen" "127.0.0.1:$H_DNS_PORT" "named listens on 127.0.0.1:$H_DNS_PORT only"

t_is "$(h_dig ns.test A)" "127.0.0.1" "ns.test A is 127.0.0.1"
t_is "$(h_dig test SOA | awk '{print $1}')" "ns.test." "SOA names ns.test."
t_is "$(h_dig test NS)" "ns.test." "NS is ns.test."
t_is "$(h_dig ns.test AAAA)" "" "ns.test has no AAAA"

h_dns_add www.test A 127.0.0.2
t_ok $? "h_dns_add www.test A 127.0.0.2"
t_is "$(h_dig www.test A)" "127.0.0.2" "dig sees www.test A 127.0.0.2"
t_is "$(h_dig www.test AAAA)" "" "www.test has no AAAA"

# a TXT added by hand with nsupdate -k "$H_TSIG_FILE" (what the product's rfc2136 code does)
printf 'server 127.0.0.1 %s\nzone test.\nupdate add _acme-challenge.www.test. 60 IN TXT "raw-nsupdate-token_1"\nsend\n' \
    "$H_DNS_PORT" | timeout 20 nsupdate -t 5 -k "$H_TSIG_FILE"
t_ok $? "nsupdate -k H_TSIG_FILE adds a TXT"
t_is "$(h_dig _acme-challenge.www.test TXT)" '"raw-nsupdate-token_1"' "dig sees the TXT"

h_dns_add _acme-challenge.www.test TXT "second-token"
t_ok $? "h_dns_add adds a second TXT"
t_is "$(h_dig _acme-challenge.www.test TXT | sort | tr '\n' ' ')" '"raw-nsupdate-token_1" "second-token" ' \
    "dig sees both TXT values"

h_dns_del _acme-challenge.www.test TXT
t_ok $? "h_dns_del removes the TXT records"
t_is "$(h_dig _acme-challenge.www.test TXT)" "" "dig sees no TXT after delete"
h_dns_del www.test A
t_ok $? "h_dns_del www.test A"
t_is "$(h_dig www.test A)" "" "www.test A is gone"

# the same key name with another secret must be refused
wrong="$H_DIR/wrong-key.conf"
tsig-keygen -a hmac-sha256 "$H_TSIG_NAME" >"$wrong"
! grep -qF "$H_TSIG_SECRET" "$wrong"
t_ok $? "the wrong key file has a different secret"
printf 'server 127.0.0.1 %s\nzone test.\nupdate add wrong.test. 60 IN A 127.0.0.9\nsend\n' \
    "$H_DNS_PORT" | timeout 20 nsupdate -t 5 -k "$wrong" >"$H_DIR/wrong.out" 2>&1
rc=$?
t_isnt "$rc" 0 "nsupdate with a wrong TSIG secret fails"
t_diag "$(cat "$H_DIR/wrong.out")"
t_is "$(h_dig wrong.test A)" "" "the badly signed record was not added"

printf 'server 127.0.0.1 %s\nzone test.\nupdate add unsigned.test. 60 IN A 127.0.0.9\nsend\n' \
    "$H_DNS_PORT" | timeout 20 nsupdate -t 5 >/dev/null 2>&1
rc=$?
t_isnt "$rc" 0 "an unsigned update fails"
t_is "$(h_dig unsigned.test A)" "" "the unsigned record was not added"

# second zone, same named, same key
t_is "$(h_dig ns.example A)" "127.0.0.1" "ns.example A is 127.0.0.1"
h_dns_add www.example A 127.0.0.3
t_ok $? "h_dns_add in the second zone"
t_is "$(h_dig www.example A)" "127.0.0.3" "dig sees www.example A 127.0.0.3"

h_dns_add evil.test A 10.0.0.1 2>"$H_DIR/evil.err"
rc=$?
t_isnt "$rc" 0 "h_dns_add refuses A 10.0.0.1"
t_like "$(cat "$H_DIR/evil.err")" '127\.0\.0\.0/8' "the refusal says why"
t_is "$(h_dig evil.test A)" "" "evil.test has no A"
h_dns_add evil.test AAAA 2001:db8::1 2>/dev/null
t_isnt "$?" 0 "h_dns_add refuses AAAA 2001:db8::1"
h_dns_add evil.test A 127.0.0.256 2>/dev/null
t_isnt "$?" 0 "h_dns_add refuses A 127.0.0.256"
h_dns_add www.example.com A 127.0.0.1 2>/dev/null
t_isnt "$?" 0 "h_dns_add refuses a name outside the test zones"
h_dns_add v6.test AAAA ::1
t_ok $? "h_dns_add allows AAAA ::1"
t_is "$(h_dig v6.test AAAA)" "::1" "dig sees v6.test AAAA ::1"

# stop / restart keep port, key and zone data (through the journal)
old_pid=$H_BIND_PID
h_stop_bind
t_ok $? "h_stop_bind"
h__alive "$old_pid"
t_isnt "$?" 0 "named is gone"
h_dig ns.test A >/dev/null 2>&1
t_isnt "$?" 0 "no DNS answer while stopped (h_dig fails)"
h_restart_bind
t_ok $? "h_restart_bind" || t_bail "BIND did not restart"
t_isnt "$H_BIND_PID" "$old_pid" "H_BIND_PID is the new process"
t_is "$(h_dig www.example A)" "127.0.0.3" "a record added by update survives the restart"
h_dns_add after.test A 127.0.0.4
t_ok $? "updates with the same key work after the restart"
t_is "$(h_dig after.test A)" "127.0.0.4" "dig sees after.test"

t_done
