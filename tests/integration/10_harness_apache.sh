#!/bin/bash
# Smoke test of the harness's Apache: http-01 challenge files for any Host,
# TLS vhost by SNI, certificate swap + graceful, children run as www-data.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none

h_start_apache
t_ok $? "Apache starts" || t_bail "Apache did not start"

t_like "$H_APACHE_PID" '^[0-9]+$' "H_APACHE_PID is set ($H_APACHE_PID)"
t_is "$H_CHALLENGE_DIR" "$H_DIR/fsroot/var/lib/cpssl/acme-challenge" "H_CHALLENGE_DIR defaults to \$H_DIR/fsroot/var/lib/cpssl/acme-challenge"
listen=$(h_listen_addrs "$H_APACHE_PID" | tr '\n' ' ')
want=$(printf '127.0.0.1:%s\n' "$H_HTTP_PORT" "$H_HTTPS_PORT" | sort | tr '\n' ' ')
t_is "$listen" "$want" "Apache listens on 127.0.0.1:$H_HTTP_PORT and :$H_HTTPS_PORT only"

children=$(ps -o user= --ppid "$H_APACHE_PID" | sort -u | tr -d ' ' | tr '\n' ' ')
t_is "$children" "www-data " "Apache's children run as www-data"
t_is "$(ps -o user= -p "$H_APACHE_PID" | tr -d ' ')" "root" "the parent runs as root (binds, reads keys)"

# http-01: a token file written the way the product writes it
token="tok_$(openssl rand -hex 16)-x"
content="$token.$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')"
tdir="$H_CHALLENGE_DIR/.well-known/acme-challenge"
printf '%s' "$content" >"$tdir/$token"
chmod 0644 "$tdir/$token"
got=$(curl -sS --max-time 5 -H 'Host: anything.test' \
    "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/$token")
t_is "$got" "$content" "challenge file served with the exact content (Host: anything.test)"
got=$(curl -sS --max-time 5 -H 'Host: other.example' \
    "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/$token")
t_is "$got" "$content" "challenge file served for another Host too"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H 'Host: anything.test' \
    "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/missing-token")
t_is "$code" 404 "a missing token is 404"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H 'Host: anything.test' \
    "http://127.0.0.1:$H_HTTP_PORT/.well-known/../../etc/passwd")
t_isnt "$code" 200 "nothing outside the challenge dir is served"

# 3 concurrent fetches, like Pebble's 3 vantage points
pids=()
for i in 1 2 3; do
    curl -sS --max-time 5 -H "Host: v$i.test" -o "$H_DIR/par$i" \
        "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/$token" &
    pids+=($!)
done
okc=0
for i in 1 2 3; do
    wait "${pids[i - 1]}" && [ "$(cat "$H_DIR/par$i")" = "$content" ] && okc=$((okc + 1))
done
t_is "$okc" 3 "three concurrent requests all get the token"

# TLS vhost by SNI
mkdir -p "$H_DIR/certs"
h_selfsigned a.test "$H_DIR/certs/a.crt" "$H_DIR/certs/a.key"
t_ok $? "self-signed a.test"
h_selfsigned z.test "$H_DIR/certs/z.crt" "$H_DIR/certs/z.key"
FP_RE='^([0-9A-F]{2}:){31}[0-9A-F]{2}$'
fp1=$(h_cert_fingerprint "$H_DIR/certs/a.crt")
fpz=$(h_cert_fingerprint "$H_DIR/certs/z.crt")
t_like "$fp1" "$FP_RE" "a.test fingerprint ($fp1)"
t_like "$fpz" "$FP_RE" "z.test fingerprint"
t_isnt "$fpz" "$fp1" "two different certificates"
h_apache_add_tls_vhost z.test "$H_DIR/certs/z.crt" "$H_DIR/certs/z.key"
t_ok $? "h_apache_add_tls_vhost z.test (a second vhost)"
h_apache_add_tls_vhost a.test "$H_DIR/certs/a.crt" "$H_DIR/certs/a.key"
t_ok $? "h_apache_add_tls_vhost a.test"
h_apache_graceful
t_ok $? "h_apache_graceful"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" a.test)" "$fp1" "SNI a.test gets a.test's certificate"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" z.test)" "$fpz" "SNI z.test gets z.test's certificate"
got=$(curl -sS --max-time 5 --cacert "$H_DIR/certs/a.crt" \
    --resolve "a.test:$H_HTTPS_PORT:127.0.0.1" \
    "https://a.test:$H_HTTPS_PORT/.well-known/acme-challenge/$token")
t_is "$got" "$content" "the challenge alias works in the TLS vhost too"

# swap the certificate in place (like a deploy), graceful, new one served
h_selfsigned a.test "$H_DIR/certs/a.crt.new" "$H_DIR/certs/a.key.new"
mv -f "$H_DIR/certs/a.key.new" "$H_DIR/certs/a.key"
mv -f "$H_DIR/certs/a.crt.new" "$H_DIR/certs/a.crt"
fp2=$(h_cert_fingerprint "$H_DIR/certs/a.crt")
t_like "$fp2" "$FP_RE" "new a.test fingerprint"
t_isnt "$fp2" "$fp1" "the new certificate differs"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" a.test)" "$fp1" "before graceful the old certificate is still served"
parent=$H_APACHE_PID
h_apache_graceful
t_ok $? "h_apache_graceful after the swap"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" a.test)" "$fp2" "after graceful the new certificate is served"
t_is "$H_APACHE_PID" "$parent" "graceful keeps the parent process"
children=$(ps -o user= --ppid "$H_APACHE_PID" | sort -u | tr -d ' ' | tr '\n' ' ')
t_is "$children" "www-data " "new children run as www-data"

# a vhost pointing at a missing file: graceful refuses, Apache keeps running
h_apache_add_tls_vhost broken.test "$H_DIR/certs/missing.crt" "$H_DIR/certs/missing.key"
h_apache_graceful 2>"$H_DIR/broken.err"
t_isnt "$?" 0 "h_apache_graceful refuses a config with a missing certificate"
h__alive "$H_APACHE_PID"
t_ok $? "Apache still runs"
rm -f "$H_DIR/apache/sites/broken.test.conf"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" a.test)" "$fp2" "and still serves the new certificate"

h_apache_stop
t_ok $? "h_apache_stop"
h__alive "$parent"
t_isnt "$?" 0 "the Apache parent is gone"
curl -sS -o /dev/null --max-time 2 "http://127.0.0.1:$H_HTTP_PORT/" 2>/dev/null
t_isnt "$?" 0 "nothing answers on the HTTP port any more"

t_done
