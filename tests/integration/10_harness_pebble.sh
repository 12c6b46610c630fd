#!/bin/bash
# Smoke test of the harness's Pebble (behind the harness's BIND): directory,
# nonces, issuing root, environment knobs, restart with a new root.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none

h_start_bind test
t_ok $? "BIND starts" || t_bail "BIND did not start"
h_start_pebble
t_ok $? "Pebble starts" || t_bail "Pebble did not start"

t_is "$H_PEBBLE_DIR_URL" "https://127.0.0.1:$H_PEBBLE_PORT/dir" "H_PEBBLE_DIR_URL"
t_like "$H_HTTP_PORT" '^[0-9]+$' "H_HTTP_PORT allocated for http-01 ($H_HTTP_PORT)"
t_like "$H_PEBBLE_TLS_PORT" '^[0-9]+$' "H_PEBBLE_TLS_PORT allocated ($H_PEBBLE_TLS_PORT)"
ports="$H_PEBBLE_PORT $H_PEBBLE_MGMT_PORT $H_PEBBLE_TLS_PORT $H_HTTP_PORT $H_DNS_PORT"
t_is "$(tr ' ' '\n' <<<"$ports" | sort -u | wc -l)" 5 "all allocated ports differ ($ports)"

listen=$(h_listen_addrs "$H_PEBBLE_PID" | tr '\n' ' ')
want=$(printf '127.0.0.1:%s\n' "$H_PEBBLE_PORT" "$H_PEBBLE_MGMT_PORT" | sort | tr '\n' ' ')
t_is "$listen" "$want" "Pebble listens on 127.0.0.1 (ACME and management) only"

dir=$(curl -sS --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL")
t_ok $? "directory answers over HTTPS trusting H_PEBBLE_TLS_CA"
for k in newNonce newAccount newOrder; do
    t_like "$dir" "\"$k\": *\"https://127\\.0\\.0\\.1:$H_PEBBLE_PORT/[^\"]+\"" "directory has $k"
done

curl -sS -o /dev/null --max-time 5 --capath /nonexistent --cacert /etc/ssl/certs/ca-certificates.crt \
    "$H_PEBBLE_DIR_URL" 2>/dev/null
t_isnt "$?" 0 "the system trust store does not trust Pebble's TLS CA"

nonce_url=$(sed -n 's/.*"newNonce": *"\([^"]*\)".*/\1/p' <<<"$dir")
hdrs=$(curl -sS -I --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$nonce_url" | tr -d '\r')
t_like "$hdrs" $'(^|\n)[Rr]eplay-[Nn]once: [A-Za-z0-9_-]+' "HEAD newNonce returns a Replay-Nonce"

openssl x509 -noout -in "$H_PEBBLE_ROOT" 2>/dev/null
t_ok $? "H_PEBBLE_ROOT is a certificate"
t_like "$(openssl x509 -noout -ext basicConstraints -in "$H_PEBBLE_ROOT" 2>/dev/null)" 'CA:TRUE' \
    "H_PEBBLE_ROOT has basicConstraints CA:TRUE"
t_is "$(openssl x509 -noout -subject -nameopt RFC2253 -in "$H_PEBBLE_ROOT" | sed 's/^subject=//')" \
    "$(openssl x509 -noout -issuer -nameopt RFC2253 -in "$H_PEBBLE_ROOT" | sed 's/^issuer=//')" \
    "H_PEBBLE_ROOT is self-issued"
t_like "$(openssl verify -CAfile "$H_PEBBLE_ROOT" "$H_PEBBLE_INTERMEDIATE" 2>&1)" ': OK$' \
    "H_PEBBLE_INTERMEDIATE chains to H_PEBBLE_ROOT"
openssl verify -CAfile "$H_PEBBLE_TLS_CA" "$H_PEBBLE_INTERMEDIATE" >/dev/null 2>&1
t_isnt "$?" 0 "the issuing chain is not the TLS CA"

env=$(tr '\0' '\n' <"/proc/$H_PEBBLE_PID/environ")
t_like "$env" $'(^|\n)PEBBLE_VA_NOSLEEP=1(\n|$)' "Pebble runs with PEBBLE_VA_NOSLEEP=1"
t_like "$env" $'(^|\n)PEBBLE_WFE_NONCEREJECT=0(\n|$)' "Pebble runs with PEBBLE_WFE_NONCEREJECT=0"
t_like "$env" $'(^|\n)PEBBLE_AUTHZREUSE=0(\n|$)' "Pebble runs with PEBBLE_AUTHZREUSE=0"
t_like "$(tr '\0' ' ' <"/proc/$H_PEBBLE_PID/cmdline")" "-dnsserver 127\\.0\\.0\\.1:$H_DNS_PORT" \
    "Pebble resolves through the test BIND"

old_pid=$H_PEBBLE_PID
old_fp=$(h_cert_fingerprint "$H_PEBBLE_ROOT")
t_like "$old_fp" '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "root fingerprint readable"

H_PEBBLE_NONCEREJECT=50
h_restart_pebble
t_ok $? "h_restart_pebble" || t_bail "Pebble did not restart"
h__alive "$old_pid"
t_isnt "$?" 0 "the old Pebble process is gone"
t_isnt "$H_PEBBLE_PID" "$old_pid" "H_PEBBLE_PID is the new process"
t_like "$(tr '\0' '\n' <"/proc/$H_PEBBLE_PID/environ")" $'(^|\n)PEBBLE_WFE_NONCEREJECT=50(\n|$)' \
    "H_PEBBLE_NONCEREJECT set before the start reaches Pebble"
new_fp=$(h_cert_fingerprint "$H_PEBBLE_ROOT")
t_like "$new_fp" '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "new root fingerprint readable"
t_isnt "$new_fp" "$old_fp" "the root differs after the restart"
curl -sS -o /dev/null --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL"
t_ok $? "the directory answers again on the same URL"
t_like "$(openssl verify -CAfile "$H_PEBBLE_ROOT" "$H_PEBBLE_INTERMEDIATE" 2>&1)" ': OK$' \
    "the new intermediate chains to the new root"

t_done
