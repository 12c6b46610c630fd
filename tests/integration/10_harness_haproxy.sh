#!/bin/bash
# Smoke test of the harness's haproxy: crt dir, TLS by SNI, PEM swap + reload.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none

crt="$H_DIR/ssl.d"
mkdir -p "$crt" "$H_DIR/work"

h_start_haproxy "$crt" 2>"$H_DIR/empty.err"
t_isnt "$?" 0 "h_start_haproxy refuses an empty crt dir"
t_like "$(cat "$H_DIR/empty.err")" 'no PEM' "with a clear message"
t_is "${H_HAPROXY_PID:-}" "" "and starts nothing"

h_selfsigned b.test "$H_DIR/work/b.crt" "$H_DIR/work/b.key"
t_ok $? "self-signed b.test"
cat "$H_DIR/work/b.crt" "$H_DIR/work/b.key" >"$crt/b.test.pem"
chmod 0600 "$crt/b.test.pem"
fp1=$(h_cert_fingerprint "$crt/b.test.pem")
FP_RE='^([0-9A-F]{2}:){31}[0-9A-F]{2}$'
t_like "$fp1" "$FP_RE" "b.test fingerprint ($fp1)"

h_start_haproxy "$crt"
t_ok $? "haproxy starts" || t_bail "haproxy did not start"
t_like "$H_HAPROXY_PORT" '^[0-9]+$' "H_HAPROXY_PORT ($H_HAPROXY_PORT)"
t_is "$(h_listen_addrs "$H_HAPROXY_PID")" "127.0.0.1:$H_HAPROXY_PORT" "haproxy listens on 127.0.0.1:$H_HAPROXY_PORT only"

t_is "$(h_tls_fingerprint "$H_HAPROXY_PORT" b.test)" "$fp1" "handshake for b.test serves the PEM's certificate"
got=$(curl -sS --max-time 5 --cacert "$H_DIR/work/b.crt" \
    --resolve "b.test:$H_HAPROXY_PORT:127.0.0.1" "https://b.test:$H_HAPROXY_PORT/")
t_is "$got" "ok" "an HTTPS request through haproxy answers ok"

# replace the PEM atomically (like a deploy), reload
h_selfsigned b.test "$H_DIR/work/b2.crt" "$H_DIR/work/b2.key"
cat "$H_DIR/work/b2.crt" "$H_DIR/work/b2.key" >"$crt/.b.test.pem.tmp"
chmod 0600 "$crt/.b.test.pem.tmp"
mv -f "$crt/.b.test.pem.tmp" "$crt/b.test.pem"
fp2=$(h_cert_fingerprint "$crt/b.test.pem")
t_like "$fp2" "$FP_RE" "new b.test fingerprint"
t_isnt "$fp2" "$fp1" "the new certificate differs"
t_is "$(h_tls_fingerprint "$H_HAPROXY_PORT" b.test)" "$fp1" "before the reload the old certificate is still served"

old=$H_HAPROXY_PID
h_haproxy_reload
t_ok $? "h_haproxy_reload"
t_isnt "$H_HAPROXY_PID" "$old" "H_HAPROXY_PID is the new process"
h__alive "$old"
t_isnt "$?" 0 "the old haproxy process is gone"
h__alive "$H_HAPROXY_PID"
t_ok $? "the new haproxy process runs"
t_is "$(h_tls_fingerprint "$H_HAPROXY_PORT" b.test)" "$fp2" "after the reload the new certificate is served"
t_is "$(h_listen_addrs "$H_HAPROXY_PID")" "127.0.0.1:$H_HAPROXY_PORT" "the new process listens on loopback only"

# a second reload keeps working (PID bookkeeping)
h_haproxy_reload
t_ok $? "a second h_haproxy_reload"
t_is "$(h_tls_fingerprint "$H_HAPROXY_PORT" b.test)" "$fp2" "still the new certificate"
t_is "$(grep -c '^haproxy ' "$H_DIR/pids")" 1 "exactly one haproxy PID recorded"

# a broken PEM: reload refuses, the running process keeps serving
printf 'not a pem\n' >"$crt/broken.pem"
cur=$H_HAPROXY_PID
h_haproxy_reload 2>"$H_DIR/broken.err"
t_isnt "$?" 0 "h_haproxy_reload refuses a crt dir with a broken PEM"
t_is "$H_HAPROXY_PID" "$cur" "the running haproxy is kept"
t_is "$(h_tls_fingerprint "$H_HAPROXY_PORT" b.test)" "$fp2" "and still serves"
rm -f "$crt/broken.pem"

h_haproxy_stop
t_ok $? "h_haproxy_stop"
h__alive "$cur"
t_isnt "$?" 0 "haproxy is gone"
h_tls_fingerprint "$H_HAPROXY_PORT" b.test >/dev/null
t_isnt "$?" 0 "nothing answers on the port any more"

t_done
