#!/usr/bin/env bash
# also-asan
# DNS against a real BIND: lookups (cpssl/dns/resolve.c), rfc2136 and hook
# providers and the propagation wait (cpssl/dns/provider.c), driven by the C
# program tests/integration/c/itest_dns.c, whose TAP is this test's output.
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init

[ -x "${ITESTS:-}/itest_dns" ] || t_bail "no \$ITESTS/itest_dns (make unit-bins; ITESTS=${ITESTS:-unset})"
h_start_bind test example. || t_bail "BIND did not start"

# the data the C program expects (A records stay in 127.0.0.0/8)
for rr in "www.test A 127.0.0.2" "www.test A 127.0.0.3" "v6.test AAAA ::1" \
    "host.example A 127.0.0.4"; do
    # shellcheck disable=SC2086 # NAME TYPE VALUE
    h_dns_add $rr || t_bail "could not add $rr"
done

# a port with nothing listening, reserved so no other test takes it
dead=$(h_free_port) || t_bail "no free port"
# the same key name with another secret
wrong=$(tsig-keygen -a hmac-sha256 "$H_TSIG_NAME" | sed -n 's/^[[:space:]]*secret "\([A-Za-z0-9+/=]*\)";.*/\1/p')
if [ -z "$wrong" ] || [ "$wrong" = "$H_TSIG_SECRET" ]; then
    t_bail "could not make a second TSIG secret"
fi

# The hook logs its arguments NUL-separated (so the C side can compare them
# byte for byte) and publishes plain token values with nsupdate.
hook="$H_DIR/dns-hook"
hooklog="$H_DIR/dns-hook.log"
cat >"$hook" <<EOF || t_bail "cannot write the hook"
#!/bin/sh
printf '%s\0' "\$@" >>'$hooklog'
case "\$1:\$3" in
fail:* | *:fail-*) echo "zone not managed here"; echo "second line" >&2; exit 3 ;;
esac
case "\$3" in
*[!A-Za-z0-9_-]*) exit 0 ;;  # odd values are only logged
esac
case "\$1" in
setup) op="update add \$2. 60 IN TXT \"\$3\"" ;;
teardown) op="update delete \$2. IN TXT \"\$3\"" ;;
*) echo "unknown action \$1"; exit 2 ;;
esac
printf 'server 127.0.0.1 %s\nzone test.\n%s\nsend\n' '$H_DNS_PORT' "\$op" |
    timeout 20 nsupdate -t 5 -k '$H_TSIG_FILE'
EOF
chmod 0755 "$hook" || t_bail "cannot chmod the hook"

CPS_IT_DNS="127.0.0.1:$H_DNS_PORT" \
    CPS_IT_DEAD="127.0.0.1:$dead" \
    CPS_IT_TSIG_NAME="$H_TSIG_NAME" \
    CPS_IT_TSIG_ALG="$H_TSIG_ALG" \
    CPS_IT_TSIG_SECRET="$H_TSIG_SECRET" \
    CPS_IT_WRONG_SECRET="$wrong" \
    CPS_IT_HOOK="$hook" \
    CPS_IT_HOOK_LOG="$hooklog" \
    CPS_IT_TMP="$H_DIR" \
    "$ITESTS/itest_dns" 2>"$H_DIR/itest_dns.err"
rc=$?
if [ "$rc" -ne 0 ] && [ -s "$H_DIR/itest_dns.err" ]; then
    t_diag "itest_dns stderr:"
    t_diag "$(tail -n 40 "$H_DIR/itest_dns.err")"
fi
exit "$rc"
