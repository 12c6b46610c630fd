#!/usr/bin/env bash
# The newer Pebble (2.10, from Debian unstable by scripts/fetch-pebble) the
# modern-ACME tests use: it starts from the harness like bookworm's 2.4,
# listens on loopback only, offers what 2.4 lacks (renewalInfo, profiles,
# keyChange), takes extra configuration through H_PEBBLE_CONFIG, and cpssl
# issues and deploys with it as it does with 2.4.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
H_PEBBLE_CONFIG='{"profiles": {"classic": {"description": "90 days", "validityPeriod": 7776000},
	"shortlived": {"description": "6 days", "validityPeriod": 518400}}}'
c_servers test
c_configure
t_like "$("$H_PEBBLE_BIN" -version 2>&1; cat "$CPSSL_SRC/build/deps/pebble/VERSION")" "2\.10\." "the fetched Pebble is 2.10"
listen=$(h_listen_addrs "$H_PEBBLE_PID" | tr '\n' ' ')
want=$(printf '127.0.0.1:%s\n' "$H_PEBBLE_PORT" "$H_PEBBLE_MGMT_PORT" | sort | tr '\n' ' ')
t_is "$listen" "$want" "it listens on 127.0.0.1 (ACME and management) only"
dir=$(curl -sS --max-time 5 --cacert "$H_PEBBLE_TLS_CA" "$H_PEBBLE_DIR_URL")
for k in renewalInfo keyChange newAccount newOrder; do
	t_like "$(jq -r ".$k" <<<"$dir")" "^https://127\.0\.0\.1:$H_PEBBLE_PORT/" "the directory has $k"
done
t_is "$(jq -r '.meta.profiles | keys | join(" ")' <<<"$dir")" "classic shortlived" \
	"H_PEBBLE_CONFIG reaches Pebble: meta.profiles lists the configured profiles"

h_dns_add n.test A 127.0.0.1
c_run site:add n.test "['ip':'127.0.0.1']"
c_run -d site1 letsencrypt:request '[n.test]'
t_is "$RC" 0 "cpssl issues from Pebble 2.10"
c_verify "$(c_site_dir site1)"
t_ok $? "  the chain verifies against its root"
t_done
