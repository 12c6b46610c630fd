#!/usr/bin/env bash
# also-asan
# cpcmd end to end on a fresh CPSSL_HOME: the dispatcher and its literals,
# output formats, reporter lines, exit statuses, sites, config.ini editing,
# per-site settings, and refusal of bad input without any change of state.
. "$(dirname "$0")/../harness/lib.sh"
h_init
: "${CPCMD:?CPCMD must point at the cpcmd binary}"
export CPSSL_HOME=$H_DIR/home
unset DEBUG

# run ARGS… — cpcmd with stdout in $OUT, stderr in $ERR, status in $RC
run() {
	OUT=$("$CPCMD" "$@" 2>"$H_DIR/stderr")
	RC=$?
	ERR=$(cat "$H_DIR/stderr")
}
state() { sqlite3 "$CPSSL_HOME/storage/cpssl.db" \
	'SELECT * FROM sites; SELECT * FROM site_domains; SELECT * FROM site_settings; SELECT * FROM server_settings;'; }

# --- the dispatcher ---------------------------------------------------------
run
t_is "$RC" 2 "no command: exit 2"
t_like "$ERR" "usage: cpcmd \[-d SITE\|DOMAIN\]" "  with usage"

run -l
t_is "$RC" 0 "-l lists commands"
t_like "$OUT" "site:add\(string \\\$domain, array \\\$options = \[\]\)" "  with signatures"

run misc:i common:set-email
t_like "$OUT" "signature: common:set-email\(string \\\$email\)" "misc:i prints the signature"

run nosuch:command
t_is "$RC" 2 "unknown command: exit 2"
t_like "$ERR" "^ERROR   : unknown command 'nosuch:command'" "  ERROR line in the reporter format"
t_like "$ERR" $'\nReporter level: ERROR\nERROR: unknown command' "  followed by the reporter summary"

run site:add
t_is "$RC" 2 "missing argument: exit 2"
t_like "$ERR" 'missing argument 1 \(\$domain\); usage: cpcmd site:add\(string \$domain, array \$options = \[\]\)' "  with the signature"

run site:add a.test "['ip':'127.0.0.1'" 
t_is "$RC" 2 "unbalanced literal: exit 2"
t_like "$ERR" "malformed argument literal: missing '\]'" "  says what is wrong"

run site:add a.test "['ip':'127.0.0.1']" extra
t_is "$RC" 2 "extra argument: exit 2"

run -o xml site:list
t_is "$RC" 2 "unknown output format: exit 2"

run site:info
t_is "$RC" 2 "a site command without -d: exit 2"
t_like "$ERR" "needs a site: cpcmd -d SITE" "  explains -d"

run -d site1 site:list
t_is "$RC" 2 "-d for a command that takes no site: exit 2"

# --- what the binary links ---------------------------------------------------
# check_link BIN curl|shared — --version tells how the libraries are linked,
# and the dynamic section agrees: the default build carries a small libcurl
# that speaks HTTP and HTTPS alone, and loads the system's OpenSSL (apt's
# security updates reach it without a rebuild) and the other libraries
check_link() {
	local bin=$1 how=$2 out libs
	out=$("$bin" --version 2>&1)
	t_is "$?" 0 "$how build: --version exits 0"
	libs=$(ldd "$bin")
	if [[ $how == curl ]]; then
		t_like "$out" "libcurl [0-9.]+ \(OpenSSL/3[^;]*; protocols: http https\): linked into cpcmd, a rebuild takes its security updates" \
			"  libcurl is inside cpcmd (OpenSSL, HTTP and HTTPS only), and says what updating it takes"
		! grep -Eq 'libcurl|gnutls|libldap|librtmp|libssh' <<<"$libs"
		t_ok "$?" "  no shared libcurl, GnuTLS, LDAP, RTMP or SSH library is loaded"
	else
		t_like "$out" "libcurl [0-9.]+ .*: shared, the system's security updates apply" \
			"  says libcurl is the system's"
		t_like "$libs" "libcurl\.so\.4 => " "  loads the system's libcurl"
	fi
	t_like "$libs" "libssl\.so\.3 => /" "  loads the system's OpenSSL (libssl)"
	t_like "$libs" "libcrypto\.so\.3 => /" "  and libcrypto"
	t_like "$libs" "libsqlite3\.so\.0 => /" "  and SQLite"
	t_like "$libs" "libldns\.so\.3 => /" "  and ldns"
	t_like "$out" $'\n  OpenSSL 3\.[0-9.]+ .*, SQLite 3\.[0-9.]+, json-c [0-9.]+, libyaml [0-9.]+, ldns [0-9.]+: shared, the system\'s security updates apply' \
		"  lists OpenSSL, SQLite, json-c, libyaml and ldns with their versions, shared"
}
case $CPCMD in
*/build/plain/cpcmd) check_link "$CPCMD" curl ;;
*) check_link "$CPCMD" shared ;;
esac
[[ -x $CPSSL_SRC/build/plain-shared/cpcmd && $CPCMD == */build/plain/cpcmd ]] &&
	check_link "$CPSSL_SRC/build/plain-shared/cpcmd" shared

# --- sites --------------------------------------------------------------------
run site:add A.Test "['ip':'127.0.0.1','email':'admin@a.test']"
t_is "$RC:$OUT" "0:site1" "site:add prints the new id"
t_is "$ERR" "" "  and raises no message"
t_is "$(stat -c %a "$CPSSL_HOME/storage/cpssl.db")" 600 "  database is 0600"
run site:add b.test "[ip:127.0.0.2]"
t_is "$OUT" "site2" "second site is site2"
run site:add c.test "['ip':'127.0.0.3','colour':'red']"
t_is "$RC" 1 "an unknown site option is refused"
t_like "$ERR" "unknown site option 'colour' \(known: ip, ip6, email\)" "  listing the known ones"

run -d a.test site:add-domain www.a.test
t_is "$RC:$OUT" "0:true" "add-domain with -d DOMAIN"
run -d site2 site:add-domain x.a.test
t_is "$RC" 1 "a name under another site's domain is refused"
t_like "$ERR" "x.a.test belongs to site1" "  naming the owner"
run -o json -d www.a.test site:info
t_is "$RC" 0 "-d with any domain of the site"
t_like "$OUT" '"domains":\[[[:space:]]*"a.test",[[:space:]]*"www.a.test"' "  -o json shows both domains"
t_is "$(printf '%s' "$OUT" | sqlite3 :memory: "SELECT json_extract(readfile('/dev/stdin'), '\$.site')" 2>/dev/null || echo "$OUT" | grep -o '"site":"[^"]*"')" '"site":"site1"' "  site1 in JSON"
run -d nosuch.test site:info
t_is "$RC" 1 "-d with an unknown domain fails"
t_like "$ERR" "no site has the domain nosuch.test" "  clearly"
run -d 'site1/../site2' site:info
t_is "$RC" 1 "-d site1/../site2 is refused"
t_like "$ERR" "not a site name" "  as not a site name"
run -d site1 site:owns '*.www.a.test'
t_is "$OUT" "true" "site1 owns *.www.a.test"
run -d site1 site:owns b.test
t_is "$OUT" "false" "site1 does not own b.test"

run site:list
t_like "$OUT" "- site: site1" "site:list shows site1"
t_like "$OUT" "- site: site2" "  and site2"

# --- bad input changes nothing ----------------------------------------------
before=$(state)
for bad in '../x' 'a/b.test' 'a..test' '*.d.test' "$(printf 'a%.0s' {1..64}).test" '127.0.0.1' \
	'ünï.test' 'a.*.test' 'localhost' "$(printf 'x\001y.test')"; do
	run site:add "$bad" "['ip':'127.0.0.9']"
	t_is "$RC" 1 "site:add refuses hostname '$(printf '%q' "$bad")'"
	t_like "$ERR" "is not a valid hostname|empty hostname" "  with a clear reason"
done
run site:add good.test "['ip':'999.0.0.1']"
t_is "$RC" 1 "site:add refuses a bad IP"
run common:set-email 'not-an-address'
t_is "$RC" 1 "set-email refuses a bad address"
run -d site1 site:set-setting verify_ip maybe
t_is "$RC" 1 "set-setting refuses a bad bool"
run -d site1 site:set-setting lookahead_days 3
t_is "$RC" 1 "set-setting refuses a global-only key"
t_like "$ERR" "per-site settings: letsencrypt.verify_ip" "  listing the per-site keys"
t_is "$(state)" "$before" "the database is unchanged after every refusal"

# --- config.ini ----------------------------------------------------------------
run scope:get cp.config letsencrypt lookahead_days
t_is "$RC:$OUT" "0:10" "built-in lookahead_days is 10"
t_is "$(test -e "$CPSSL_HOME/etc/config.ini" && echo exists)" "" "  reading does not create config.ini"
run scope:set cp.config letsencrypt lookahead_days 20
t_is "$RC:$OUT" "0:true" "scope:set lookahead_days 20"
cfg=$CPSSL_HOME/etc/config.ini
t_is "$(diff <("$CPCMD" --default-config) "$cfg" | grep -c '^[<>]')" 2 "  config.ini differs from the template in that one line"
t_is "$(grep -c '^; ' "$cfg")" "$("$CPCMD" --default-config | grep -c '^; ')" "  every comment kept"
run scope:set cp.config letsencrypt lookbehind_days -1
t_is "$RC" 0 "scope:set accepts a negative number"
run scope:get cp.config letsencrypt lookbehind_days
t_is "$OUT" "-1" "  and reads it back"
sum=$(sha256sum <"$cfg")
run scope:set cp.config letsencrypt lookahead_days soon
t_is "$RC" 1 "scope:set refuses a bad int"
t_like "$ERR" "expected a whole number from -999 to 999" "  saying what is expected"
run scope:set cp.config letsencrypt nosuch 1
t_is "$RC" 1 "scope:set refuses an unknown key"
t_like "$ERR" "valid keys: debug, server, staging_server, fallback_servers, failover_after, failover_retry_hours, ca_bundle" "  listing the valid keys"
run scope:set cp.config nosuch debug 1
t_like "$ERR" "valid sections: cpssl, letsencrypt, httpd, mail, dns" "  and for a section, the sections"
t_is "$(sha256sum <"$cfg")" "$sum" "refused edits leave config.ini byte for byte"
t_is "$(ls -A "$CPSSL_HOME/etc")" "config.ini" "  and no temporary file"
run scope:set cp.config letsencrypt additional_certs '[Mail.A.test,www.a.test]'
run scope:get cp.config letsencrypt additional_certs
t_is "$OUT" $'- mail.a.test\n- www.a.test' "a list value is stored and read back as a list"
run scope:get cp.config httpd
t_like "$OUT" "reload_delay: 2 minutes" "scope:get of a section"

# --- per-site settings -------------------------------------------------------
run scope:set cp.config letsencrypt key_type rsa-2048
run -d site1 site:set-setting letsencrypt.key_type ec-384
run -o json -d site1 site:get-settings
t_like "$OUT" '"letsencrypt.key_type":\{[[:space:]]*"value":"ec-384",[[:space:]]*"source":"site"' "site override wins"
run -o json -d site2 site:get-settings
t_like "$OUT" '"letsencrypt.key_type":\{[[:space:]]*"value":"rsa-2048",[[:space:]]*"source":"config.ini"' "other sites see config.ini"
rm "$cfg"
run -o json -d site2 site:get-settings
t_like "$OUT" '"letsencrypt.key_type":\{[[:space:]]*"value":"ec-256",[[:space:]]*"source":"built-in"' "without config.ini: built-in"
run -d site1 site:set-setting key_type null
run -o json -d site1 site:get-settings
t_like "$OUT" '"letsencrypt.key_type":\{[[:space:]]*"value":"ec-256",[[:space:]]*"source":"built-in"' "null removes the override"

# --- server scope -----------------------------------------------------------
run common:get-email
t_is "$RC:$OUT" "0:null" "no admin email yet"
run common:set-email admin@Example.COM
run common:get-email
t_is "$OUT" "admin@example.com" "admin email stored (domain lower-cased)"
run scope:set net.hostname Srv1.Example.COM.
run scope:get net.hostname
t_is "$OUT" "srv1.example.com" "net.hostname stored canonical"
run scope:set net.hostname 'bad host'
t_is "$RC" 1 "net.hostname refuses a bad name"
run scope:get no.such
t_like "$ERR" "unknown scope 'no.such'; scopes: cp.config, net.hostname" "unknown scope lists the scopes"

# --- reporter, debug, warnings -----------------------------------------------
printf '[letsencrypt]\nbogus = 1\n' >"$cfg"
run scope:get cp.config letsencrypt debug
t_is "$RC:$OUT" "0:false" "an unknown config key does not stop a command"
t_like "$ERR" "^WARNING : .*unknown key 'bogus' in section \[letsencrypt\] is ignored" "  it is a WARNING"
t_like "$ERR" $'\nReporter level: WARNING\nWARNING: ' "  and the summary level is WARNING"
printf '[letsencrypt]\nlookahead_days = x\n' >"$cfg"
run -d site1 site:get-settings
t_is "$RC" 1 "a bad value in config.ini fails commands that read it"
t_like "$ERR" "config.ini line 2: invalid value 'x' for \[letsencrypt\] lookahead_days" "  naming the file, line and key"
run scope:set cp.config letsencrypt lookahead_days 5
t_is "$RC" 0 "scope:set can still repair it"
run scope:get cp.config letsencrypt lookahead_days
t_is "$OUT" "5" "  repaired"
run site:list
t_is "$(grep -c 'DEBUG' <<<"$ERR")" 0 "no DEBUG lines without DEBUG=1"
OUT=$(DEBUG=1 "$CPCMD" site:list 2>&1 >/dev/null)
t_like "$OUT" "DEBUG   : database .*cpssl.db \(schema version [0-9]+\)" "DEBUG=1 shows debug lines"

# --- deletion -----------------------------------------------------------------
run -d site2 site:delete
t_is "$RC:$OUT" "0:true" "site:delete"
run -d b.test site:info
t_is "$RC" 1 "  the site is gone"
run site:add b.test "['ip':'127.0.0.2']"
t_is "$OUT" "site3" "  a new site never reuses site2"

# --- the README documents what cpcmd knows ---------------------------------
readme=$CPSSL_SRC/README.md
missing=""
while IFS= read -r sig; do
	name=${sig%%(*}
	grep -qF -- "$name" "$readme" || missing+=" $name"
done < <("$CPCMD" -l)
t_is "$missing" "" "README mentions every command"
missing=""
while IFS= read -r line; do
	[[ $line =~ ^\[(.*)\]$ ]] && section=${BASH_REMATCH[1]}
	[[ $line =~ ^([a-z0-9_]+)\ = ]] && { grep -qF -- "\`$section.${BASH_REMATCH[1]}\`" "$readme" || missing+=" $section.${BASH_REMATCH[1]}"; }
done < <("$CPCMD" --default-config)
t_is "$missing" "" "README documents every config key as \`section.key\`"
t_done
