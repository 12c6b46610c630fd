#!/usr/bin/env bash
# also-asan
# Pebble rejecting half of all nonces (PEBBLE_WFE_NONCEREJECT=50): twenty
# issuances in a row all succeed, and the badNonce retry path is really taken.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
H_PEBBLE_NONCEREJECT=50
c_servers test
c_configure
c_run site:add n.test "['ip':'127.0.0.1']"
for i in $(seq 1 20); do
	h_dns_add "n$i.n.test" A 127.0.0.1 || t_bail "cannot add n$i.n.test"
done
total=0 ok=0
for i in $(seq 1 20); do
	DEBUG=1 c_run -d site1 letsencrypt:request "[n$i.n.test]"
	[ "$RC" = 0 ] && ok=$((ok + 1))
	[ "$RC" = 0 ] || t_diag "issuance $i: $(grep ERROR <<<"$ERR" | head -n 2)"
	bad=$(grep -o '([0-9]* badNonce retries)' <<<"$ERR" | grep -o '[0-9]*')
	total=$((total + ${bad:-0}))
done
t_is "$ok" 20 "20 issuances with half the nonces rejected all succeed"
t_diag "badNonce answers retried: $total"
t_ok $((total > 0 ? 0 : 1)) "the badNonce retry path was taken ($total times)"
c_verify "$(c_site_dir site1)"; t_ok $? "the last certificate verifies against Pebble's root"
t_done
