#!/usr/bin/env bash
# also-asan
# Schema migrations: a database made by an earlier cpcmd (schema version 11,
# tests/fixtures/cpssl-schema11.sql) is upgraded when first opened, in one
# transaction, keeping every row; a migration that fails leaves it exactly
# as it was; a database newer than this cpcmd is refused with a clear
# message and left untouched.
. "$(dirname "$0")/../harness/lib.sh"
h_init
: "${CPCMD:?CPCMD must point at the cpcmd binary}"
unset DEBUG
fixture=${CPSSL_SRC:?}/tests/fixtures/cpssl-schema11.sql

run() { # HOME ARGS… — stdout in $OUT, stderr in $ERR, status in $RC
	local home=$1
	shift
	OUT=$(CPSSL_HOME=$home "$CPCMD" "$@" 2>"$H_DIR/stderr")
	RC=$?
	ERR=$(cat "$H_DIR/stderr")
}
home_from_fixture() { # HOME [EXTRA SQL] — a CPSSL_HOME holding the old database
	mkdir -p "$1/storage" "$1/etc" "$1/fs"
	printf '[cpssl]\nfs_root = %s\n' "$1/fs" >"$1/etc/config.ini"
	chmod 0600 "$1/etc/config.ini"
	{ sed "s|@HOME@|$1|g" "$fixture"; echo "${2:-}"; echo 'PRAGMA journal_mode = WAL;'; } |
		sqlite3 "$1/storage/cpssl.db" >/dev/null
}
q() { sqlite3 -cmd '.timeout 5000' "$1/storage/cpssl.db" "$2"; }
columns() { q "$1" "SELECT name FROM pragma_table_info('$2') ORDER BY name" | tr '\n' ' '; }

# a fresh database: the version and tables this cpcmd makes
fresh=$H_DIR/fresh
mkdir -p "$fresh/etc" && printf '[cpssl]\nfs_root = %s\n' "$fresh" >"$fresh/etc/config.ini" && chmod 0600 "$fresh/etc/config.ini"
run "$fresh" site:list
t_is "$RC" 0 "a fresh database is made"
latest=$(q "$fresh" 'PRAGMA user_version')
t_ok "$([ "$latest" -gt 11 ])$?" "  at schema version $latest"

# --- an old database is upgraded, keeping its rows ------------------------
old=$H_DIR/old
home_from_fixture "$old"
t_is "$(q "$old" 'PRAGMA user_version')" 11 "the fixture is at schema version 11"
before=$(q "$old" "SELECT id, site_id, server, names, serial, fingerprint, issuer, not_after FROM certificates")
run "$old" -o json site:list
t_is "$RC" 0 "the first command on it succeeds"
t_is "$(q "$old" 'PRAGMA user_version')" "$latest" "  the database is now at version $latest"
t_is "$(q "$old" 'PRAGMA integrity_check')" ok "  it passes integrity_check"
t_is "$(q "$old" "SELECT type || ' ' || name FROM sqlite_master ORDER BY 1" | tr '\n' ' ')" \
	"$(q "$fresh" "SELECT type || ' ' || name FROM sqlite_master ORDER BY 1" | tr '\n' ' ')" \
	"  it has the tables and indexes of a fresh database"
for t in $(q "$fresh" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"); do
	[ "$(columns "$old" "$t")" = "$(columns "$fresh" "$t")" ] || t_diag "table $t: $(columns "$old" "$t") vs $(columns "$fresh" "$t")"
done
bad=0
for t in $(q "$fresh" "SELECT name FROM sqlite_master WHERE type = 'table'"); do
	[ "$(columns "$old" "$t")" = "$(columns "$fresh" "$t")" ] || bad=$((bad + 1))
done
t_is "$bad" 0 "  every table has a fresh database's columns"
t_is "$(echo "$OUT" | jq -r '[.[] | .site + "=" + (.domains | join(","))] | join(" ")')" \
	"site1=a.test,www.a.test site2=b.test" "  the sites and their domains are kept"
t_is "$(echo "$OUT" | jq -r '.[1] | .ip + " " + .ip6 + " " + .email')" "127.0.0.2 ::1 owner@b.test" \
	"  with their addresses and e-mail"
run "$old" -o json -d site1 site:get-settings
t_is "$(echo "$OUT" | jq -r '.["letsencrypt.verify_ip"] | "\(.value) \(.source)"')" "false site" "  site1's own setting is kept"
run "$old" common:get-email
t_is "$OUT" "admin@a.test" "  the administrator's e-mail is kept"
t_is "$(q "$old" "SELECT name || '=' || mechanism FROM forced_mechanisms ORDER BY name" | tr '\n' ' ')" \
	"*.a.test=dns www.a.test=http " "  the forced mechanisms are kept"
t_is "$(q "$old" "SELECT id, site_id, server, names, serial, fingerprint, issuer, not_after FROM certificates")" \
	"$before" "  the certificate rows are kept"
t_is "$(q "$old" "SELECT quote(profile) || ' ' || quote(ari_check_at) FROM certificates")" "NULL NULL" \
	"  an imported certificate gets no profile and is never asked about at a CA"
run "$old" -o json letsencrypt:list
t_is "$(echo "$OUT" | jq -r '[.[] | select(.site == "site2") | .names | join(",")] | join(" ")')" "b.test" \
	"  letsencrypt:list shows site2's imported certificate"
run "$old" site:list
t_is "$RC" 0 "a second command finds nothing to upgrade"

# --- a migration that fails changes nothing ---------------------------------
# An index of that name already on another table makes schema 13's CREATE
# INDEX fail after schema 12 added its column.
broken=$H_DIR/broken
home_from_fixture "$broken" "CREATE INDEX certificates_ari_check ON sites(ip);"
sum=$(q "$broken" .dump | sha256sum)
run "$broken" site:list
t_is "$RC" 1 "a migration that fails: exit 1"
t_like "$ERR" "database error while upgrading the database schema: .*certificates_ari_check" \
	"  the error names the step and the object in the way"
t_is "$(q "$broken" 'PRAGMA user_version')" 11 "  the database is still at version 11"
t_unlike "$(columns "$broken" certificates)" " profile " "  no earlier migration of the same upgrade is left applied"
t_is "$(q "$broken" .dump | sha256sum)" "$sum" "  its contents are unchanged"
t_is "$(find "$broken/storage" -name 'cpssl.db-*' | wc -l)" 0 "  no journal is left behind"

# --- a newer database is refused ---------------------------------------------
newer=$H_DIR/newer
home_from_fixture "$newer"
q "$newer" "PRAGMA user_version = $((latest + 1))"
sum=$(q "$newer" .dump | sha256sum)
run "$newer" site:list
t_is "$RC" 1 "a database newer than this cpcmd: exit 1"
t_like "$ERR" "the database schema \(version $((latest + 1))\) is newer than this cpcmd understands \(version $latest\); use the newer cpcmd" \
	"  saying which versions and what to do"
t_is "$(q "$newer" .dump | sha256sum)" "$sum" "  its contents are unchanged"
t_is "$(q "$newer" 'PRAGMA user_version')" "$((latest + 1))" "  and so is its version"

t_done
