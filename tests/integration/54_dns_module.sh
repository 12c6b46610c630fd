#!/usr/bin/env bash
# also-asan
# The dns module against real BIND (RFC 2136 with TSIG) and the hook
# provider: add-record for every type it manages, remove-record, get-records,
# record-exists, get-public-ip (configured, and discovered from a loopback
# URL); bad input refused with nothing written; a site refused in another
# site's zone and in a zone nobody owns; no TSIG secret in any output, in
# cpcmd's argv or in the hook's environment. Then the ApisCP documentation's
# staging walkthrough as written ("Staging", "Staging HTTP", "Staging DNS",
# "Finalizing staging") against BIND, Pebble and Apache, ending with the
# issued certificate served over TLS. Test data stays in 127.0.0.0/8 and ::1.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers mydomain.test other.test unowned.test
c_configure
c_run site:add mydomain.test "['ip':'127.0.0.1']"
t_is "$RC:$OUT" "0:site1" "site1 hosts mydomain.test"
c_run site:add other.test "['ip':'127.0.0.2']"
t_is "$RC:$OUT" "0:site2" "site2 hosts other.test"
jq_out() { jq -r "$1" <<<"$OUT"; }
dig_s() { h_dig "$1" "$2" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
no_secret() { # TEXT DESC — the TSIG secret is not in TEXT
	case $1 in *"$H_TSIG_SECRET"*) t_ok 1 "$2" ;; *) t_ok 0 "$2" ;; esac
}

# --- add-record: every type, keeping what is there ------------------------------------------
c_run -d mydomain.test dns:add-record mydomain.test svr1 A 127.0.0.1
t_is "$RC:$OUT" "0:true" "add-record mydomain.test svr1 A 127.0.0.1 (ApisCP's order)"
t_is "$(dig_s svr1.mydomain.test A)" "127.0.0.1" "  BIND answers it"
DEBUG=1 c_run -d site1 dns:add-record mydomain.test svr1 A 127.0.0.2 30
t_is "$RC" 0 "a second A at the same name, TTL 30"
t_is "$(dig_s svr1.mydomain.test A)" "127.0.0.1 127.0.0.2" "  the first one is kept"
t_like "$ERR" "DEBUG   : rfc2136: added A 127\.0\.0\.2 at svr1\.mydomain\.test in zone mydomain\.test" "  DEBUG names the update"
no_secret "$OUT$ERR" "  no TSIG secret in the output, DEBUG included"
c_run -d site1 dns:add-record mydomain.test svr1 AAAA '::1'
t_is "$(dig_s svr1.mydomain.test AAAA)" "::1" "AAAA"
c_run -d site1 dns:add-record mydomain.test svr1 TXT 'v=spf1 "quoted" -all'
t_is "$(dig_s svr1.mydomain.test TXT)" '"v=spf1 \"quoted\" -all"' "TXT, quotes kept byte for byte"
long=$(printf 'x%.0s' {1..300})
c_run -d site1 dns:add-record mydomain.test long TXT "$long"
t_is "$(dig +short @127.0.0.1 -p "$H_DNS_PORT" long.mydomain.test TXT | tr -d '" ')" "$long" "a 300-byte TXT (two strings) reads back whole"
c_run -d site1 dns:add-record mydomain.test mail A 127.0.0.3
c_run -d site1 dns:add-record mydomain.test svr1 MX '10 mail.mydomain.test'
t_is "$RC:$(dig_s svr1.mydomain.test MX)" "0:10 mail.mydomain.test." "MX"
c_run -d site1 dns:add-record mydomain.test svr1 CAA '0 issue "pebble.test; account=1"'
t_is "$RC:$(dig_s svr1.mydomain.test CAA)" '0:0 issue "pebble.test; account=1"' "CAA"
c_run -d site1 dns:add-record mydomain.test alias CNAME svr1.mydomain.test
t_is "$RC:$(dig_s alias.mydomain.test CNAME)" "0:svr1.mydomain.test." "CNAME"
c_run -d site1 dns:add-record mydomain.test _dmarc.svr1 TXT 'v=DMARC1; p=none'
t_is "$RC:$(dig_s _dmarc.svr1.mydomain.test TXT)" '0:"v=DMARC1; p=none"' "an underscore name two labels down"
c_run -d site1 dns:add-record mydomain.test '*.wild' A 127.0.0.4
t_is "$RC:$(dig_s anything.wild.mydomain.test A)" "0:127.0.0.4" "a wildcard record"

# --- what BIND refuses or ignores, said clearly ----------------------------------------------
c_run -d site1 dns:add-record mydomain.test alias CNAME mail.mydomain.test
t_is "$RC" 1 "a second CNAME at a name is refused"
t_like "$ERR" "ERROR   : site1: cannot add the CNAME record at alias\.mydomain\.test: alias\.mydomain\.test already has a CNAME to svr1\.mydomain\.test" "  naming the site, the name and the CNAME there"
t_is "$(dig_s alias.mydomain.test CNAME)" "svr1.mydomain.test." "  the first CNAME is untouched"
c_run -d site1 dns:add-record mydomain.test alias A 127.0.0.5
t_is "$RC" 1 "an A beside a CNAME (which BIND ignores silently) fails"
t_like "$ERR" "accepted the update but does not serve alias\.mydomain\.test A 127\.0\.0\.5: a CNAME cannot share its name" "  saying why"
c_run -d site1 dns:add-record mydomain.test svr1 MX '20 nohost.mydomain.test'
t_is "$RC" 1 "an MX whose host has no address (BIND refuses it) fails"
t_like "$ERR" "refused the update for zone mydomain\.test \(REFUSED\).*an MX record whose host has no address" "  with the server's answer and the likely reason"

# --- get-records, record-exists ------------------------------------------------------------
c_run -o json -d site1 dns:get-records mydomain.test svr1
t_is "$RC" 0 "get-records mydomain.test svr1 (JSON)"
t_is "$(jq_out 'map(.type) | join(" ")')" "A A AAAA TXT MX CAA" "  one entry per record, every managed type asked"
t_is "$(jq_out 'map(select(.type=="A") | .value) | sort | join(" ")')" "127.0.0.1 127.0.0.2" "  values"
t_is "$(jq_out '[.[] | select(.type=="A")][0] | "\(.name) \(.subdomain) \(.ttl)"')" "svr1.mydomain.test svr1 30" "  name, subdomain, ttl (the last add set the RRset's TTL)"
t_is "$(jq_out '.[] | select(.type=="MX") | .value')" "10 mail.mydomain.test" "  MX as PRIORITY HOST"
t_is "$(jq_out '.[] | select(.type=="CAA") | .value')" '0 issue "pebble.test; account=1"' "  CAA as FLAGS TAG \"VALUE\""
t_is "$(jq_out '.[] | select(.type=="AAAA") | .ttl')" 3600 "  the default TTL is 3600"
c_run -d site1 dns:get-records mydomain.test svr1 TXT
t_like "$OUT" "^- name: svr1\.mydomain\.test"$'\n'"  subdomain: svr1"$'\n'"  type: TXT"$'\n'"  ttl: 3600"$'\n'"  value: v=spf1 \"quoted\" -all$" "get-records with a type, YAML by default"
c_run -o json -d site1 dns:get-records mydomain.test alias
t_is "$(jq_out 'map("\(.type) \(.value)") | join(",")')" "CNAME svr1.mydomain.test" "a CNAME name: the CNAME alone, not its target's records"
c_run -o json -d site1 dns:get-records mydomain.test
t_is "$(jq_out 'map(.type) | sort | join(" ")')" "" "no subdomain: the apex (no managed record there yet)"
c_run -o json -d site1 dns:get-records mydomain.test nothing-here
t_is "$RC:$(jq_out length)" "0:0" "a name with no record: an empty list"
c_run -d site1 dns:record-exists mydomain.test svr1
t_is "$RC:$OUT" "0:true" "record-exists svr1 (any type)"
c_run -d site1 dns:record-exists mydomain.test svr1 A 127.0.0.2
t_is "$OUT" "true" "record-exists with type and value"
c_run -d site1 dns:record-exists mydomain.test svr1 A 127.0.0.9
t_is "$RC:$OUT" "0:false" "  another value: false"
c_run -d site1 dns:record-exists mydomain.test svr1 aaaa '0:0::1'
t_is "$OUT" "true" "  values compare in canonical form (AAAA 0:0::1 is ::1)"
c_run -d site1 dns:record-exists mydomain.test svr1 CNAME
t_is "$OUT" "false" "  a type that is not there: false"
c_run -d site1 dns:record-exists mydomain.test nothing-here
t_is "$OUT" "false" "  a name with nothing: false"
c_run -d site1 dns:record-exists mydomain.test svr1 null 127.0.0.1
t_is "$RC" 1 "a value without a type is refused"
t_like "$ERR" "site1: give the record type along with the value" "  saying so"

# --- remove-record ---------------------------------------------------------------------------
c_run -d site1 dns:remove-record mydomain.test svr1 A 127.0.0.2
t_is "$RC:$OUT" "0:true" "remove-record with a value"
t_is "$(dig_s svr1.mydomain.test A)" "127.0.0.1" "  only that record went"
c_run -d site1 dns:remove-record mydomain.test svr1 A 127.0.0.2
t_is "$RC:$OUT" "3:false" "removing it again: nothing to do (exit 3)"
t_like "$ERR" "INFO    : site1: svr1\.mydomain\.test has no A record 127\.0\.0\.2: nothing to remove" "  with an INFO"
c_run -d site1 dns:add-record mydomain.test svr1 A 127.0.0.2
c_run -d site1 dns:remove-record mydomain.test svr1 A
t_is "$RC:$OUT" "0:true" "remove-record without a value"
t_is "$(dig_s svr1.mydomain.test A)" "" "  every A at the name went"
t_is "$(dig_s svr1.mydomain.test AAAA)" "::1" "  the other types stay"
c_run -d site1 dns:remove-record mydomain.test svr1 TXT 'v=spf1 "quoted" -all'
t_is "$RC:$(dig_s svr1.mydomain.test TXT)" "0:" "a TXT with quotes is removed exactly"
c_run -d site1 dns:remove-record mydomain.test svr1 MX '10 MAIL.mydomain.test.'
t_is "$RC:$(dig_s svr1.mydomain.test MX)" "0:" "an MX given in another spelling is found and removed"
c_run -d site1 dns:remove-record mydomain.test svr1 CAA '0 issue "pebble.test; account=1"'
t_is "$RC:$(dig_s svr1.mydomain.test CAA)" "0:" "CAA removed"
c_run -d site1 dns:remove-record mydomain.test alias CNAME
t_is "$RC:$(dig_s alias.mydomain.test CNAME)" "0:" "CNAME removed"
c_run -d site1 dns:remove-record mydomain.test svr1 AAAA
c_run -o json -d site1 dns:get-records mydomain.test svr1
t_is "$RC:$(jq_out length)" "0:0" "get-records agrees: nothing left at svr1"

# --- bad input: a clear error, exit 1, nothing written ---------------------------------------
bad() { # DESC REGEX ARGS… — refused with exit 1 and REGEX in the ERROR; bad.mydomain.test untouched
	local desc=$1 re=$2
	shift 2
	c_run -d site1 dns:add-record "$@"
	t_is "$RC:$OUT" "1:" "$desc"
	t_like "$ERR" "ERROR   : site1: .*$re" "  $desc: the reason"
}
bad "A 999.1.1.1" "cannot add the A record at bad\.mydomain\.test: '999\.1\.1\.1' is not an IPv4 address" mydomain.test bad A 999.1.1.1
bad "A with an IPv6 address" "is not an IPv4 address" mydomain.test bad A ::1
bad "AAAA not an address" "'nope' is not an IPv6 address" mydomain.test bad AAAA nope
bad "TXT of 2049 bytes" "the TXT value is 2049 bytes long, more than the 2048" mydomain.test bad TXT "$(printf 'y%.0s' {1..2049})"
bad "TXT with a line break" "the TXT value holds a control character" mydomain.test bad TXT $'two\nlines'
bad "empty TXT" "the TXT value cannot be empty" mydomain.test bad TXT "''"
bad "CNAME to an address" "the CNAME target '127\.0\.0\.1' is an address" mydomain.test bad CNAME 127.0.0.1
bad "MX without a priority" "is not an MX value: give PRIORITY HOST" mydomain.test bad MX mail.mydomain.test
bad "CAA without flags" "is not a CAA value" mydomain.test bad CAA 'issue "pebble.test"'
bad "an unmanaged type (NS)" "'NS' is not a record type cpssl manages: use A, AAAA, TXT, CNAME, MX or CAA" mydomain.test bad NS ns.mydomain.test
bad "a negative TTL" "the TTL must be 0 to 2147483647 seconds, not -5" mydomain.test bad A 127.0.0.1 -5
bad "a subdomain ending in a dot" "the subdomain 'bad\.other\.test\.' ends in '\.'" mydomain.test bad.other.test. A 127.0.0.1
bad "a subdomain with an empty label" "the subdomain 'a\.\.b' is not a valid name" mydomain.test a..b A 127.0.0.1
bad "a subdomain with a slash" "the subdomain 'a/b' is not a valid name" mydomain.test a/b A 127.0.0.1
bad "a zone that is no host name" "zone 127\.0\.0\.1: '127\.0\.0\.1'" 127.0.0.1 bad A 127.0.0.1
c_run -d site1 dns:add-record mydomain.test bad A 127.0.0.1 '"30"'
t_is "$RC" 2 "a TTL that is not a number: usage error (exit 2)"
t_like "$ERR" "argument 5 \(\\\$ttl\) must be int" "  naming the argument"
c_run -d site1 dns:add-record mydomain.test bad A
t_is "$RC" 2 "a missing value: usage error"
t_like "$ERR" "usage: cpcmd dns:add-record\(string \\\$zone, string \\\$subdomain, string \\\$type, string \\\$value, int \\\$ttl = 3600\)" "  with the signature"
c_run -o json -d site1 dns:get-records mydomain.test bad
t_is "$RC:$(jq_out length)" "0:0" "after every refusal, nothing was written at bad.mydomain.test"
c_run -d site1 dns:remove-record mydomain.test svr1 A 300.0.0.1
t_is "$RC" 1 "remove-record checks the value too"
t_like "$ERR" "'300\.0\.0\.1' is not an IPv4 address" "  saying why"

# --- ownership: a site touches only its own zones --------------------------------------------
c_run dns:add-record other.test keep A 127.0.0.7
t_is "$RC" 0 "the administrator (no -d) adds a record in site2's zone"
c_run dns:add-record unowned.test keep TXT kept
t_is "$RC" 0 "  and in a zone no site owns"
ls_other() { dig_s keep.other.test A; dig_s x.other.test A; dig_s x.unowned.test A; dig_s keep.unowned.test TXT; }
before=$(ls_other)
c_run -d site1 dns:add-record other.test x A 127.0.0.1
t_is "$RC:$OUT" "1:" "site1 cannot add a record in site2's zone"
t_like "$ERR" "ERROR   : site1 cannot add a record to zone other\.test: it belongs to another site, and a site changes only the zones of its own domains" "  the refusal names the site and the zone"
c_run -d mydomain.test dns:add-record sub.other.test x A 127.0.0.1
t_is "$RC" 1 "  nor below it"
c_run -d site1 dns:remove-record other.test keep A
t_is "$RC" 1 "site1 cannot remove a record in site2's zone"
t_like "$ERR" "site1 cannot remove a record from zone other\.test: it belongs to another site" "  saying so"
c_run -d site1 dns:add-record unowned.test x A 127.0.0.1
t_is "$RC" 1 "site1 cannot add a record in a zone no site owns"
t_like "$ERR" "site1 cannot add a record to zone unowned\.test: no site has this domain \(add it to site1 with site:add-domain first, or run the command without -d as the administrator\)" "  saying what to do"
c_run -d site1 dns:remove-record unowned.test keep TXT
t_is "$RC" 1 "  nor remove one there"
c_run -d site1 dns:add-record mydomain.test ../other.test A 127.0.0.1
t_is "$RC" 1 "a subdomain cannot climb out of the zone"
c_run -d site2 dns:add-record mydomain.test x A 127.0.0.1
t_is "$RC" 1 "site2 cannot add a record in site1's zone either"
t_is "$(ls_other)" "$before" "nothing changed in other.test or unowned.test"
c_run -d site1 dns:get-records other.test keep
t_is "$RC:$OUT" "1:" "site1 cannot read site2's zone through cpssl"
t_like "$ERR" "site1 cannot read the records of zone other\.test" "  saying so"
c_run -d site1 dns:record-exists unowned.test keep
t_is "$RC" 1 "  nor a zone nobody owns"
c_run -d site2 dns:get-records other.test keep A
t_is "$RC:$OUT" "0:- name: keep.other.test"$'\n'"  subdomain: keep"$'\n'"  type: A"$'\n'"  ttl: 3600"$'\n'"  value: '127.0.0.7'" "site2 reads its own zone"
c_run -d site1 site:set-setting dns.public_ip_url "'http://127.0.0.1:1/'"
t_is "$RC" 1 "a site cannot set the discovery URL (server-only)"
c_run -d site1 site:set-setting dns.hook "'$H_DIR/x'"
t_is "$RC" 1 "  nor the hook"

# --- get-public-ip --------------------------------------------------------------------------
c_run -d other.test dns:get-public-ip
t_is "$RC:$OUT" "0:'127.0.0.2'" "a site's public address is its configured ip"
c_run scope:get cp.config dns public_ip_url
t_is "$RC:$OUT" "0:''" "public_ip_url is empty by default: nothing is asked"
c_run dns:get-public-ip
t_is "$RC" 1 "the server, with discovery off: an error"
t_like "$ERR" "the server has no configured public address, and discovery is off: set \[dns\] public_ip_url" "  naming the key to set"
printf '127.0.0.9\n' >"$H_DIR/apache/htdocs/myip"
printf 'not an address\n' >"$H_DIR/apache/htdocs/notip"
chmod 644 "$H_DIR/apache/htdocs/myip" "$H_DIR/apache/htdocs/notip"
c_run scope:set cp.config dns public_ip_url "http://127.0.0.1:$H_HTTP_PORT/myip"
DEBUG=1 c_run dns:get-public-ip
t_is "$RC:$OUT" "0:'127.0.0.9'" "the server's address, discovered from a loopback URL"
t_like "$(grep -F '"GET /myip HTTP' "$H_DIR/apache/logs/access.log")" '" 200 ' "  Apache answered the request"
c_run scope:set cp.config dns public_ip_url "http://127.0.0.1:$H_HTTP_PORT/notip"
c_run dns:get-public-ip
t_is "$RC" 1 "a URL that answers something else fails"
t_like "$ERR" "answered 'not an address', which is not an IP address" "  quoting the answer"
c_run scope:set cp.config dns public_ip_url "http://127.0.0.1:$H_HTTP_PORT/missing"
c_run dns:get-public-ip
t_like "$RC:$ERR" "^1:.*answered HTTP 404, not 200" "a 404 fails, saying so"
c_run scope:set cp.config dns public_ip_url "ftp://127.0.0.1/x"
t_is "$RC" 1 "public_ip_url must be http or https"
c_run scope:set cp.config dns public_ip_url "''"

# --- the hook provider -----------------------------------------------------------------------
hook=$H_DIR/dns-hook
hooklog=$H_DIR/dns-hook.log
cat >"$hook" <<EOF || t_bail "cannot write the hook"
#!/bin/sh
# logs its arguments, its environment and its parent's command line, then
# publishes with nsupdate
printf '%s|' "\$@" >>'$hooklog'; echo >>'$hooklog'
env >>'$H_DIR/dns-hook.env'
tr '\0' ' ' </proc/\$PPID/cmdline >>'$H_DIR/dns-hook.parent'; echo >>'$H_DIR/dns-hook.parent'
case "\$2" in *.mydomain.test | mydomain.test) zone=mydomain.test ;; *) echo "no zone for \$2"; exit 3 ;; esac
rdata=\$4
[ "\$3" = TXT ] && rdata="\"\$4\""
case "\$1:\$#" in
add:5) op="update add \$2. \$5 IN \$3 \$rdata" ;;
delete:3) op="update delete \$2. IN \$3" ;;
delete:4) op="update delete \$2. IN \$3 \$rdata" ;;
*) echo "unknown action \$1"; exit 64 ;;
esac
printf 'server 127.0.0.1 %s\nzone %s.\n%s\nsend\n' '$H_DNS_PORT' "\$zone" "\$op" |
    timeout 20 nsupdate -t 5 -k '$H_TSIG_FILE'
EOF
chmod 0755 "$hook"
c_run scope:set cp.config dns provider hook
c_run scope:set cp.config dns hook "$hook"
c_run -d site1 dns:add-record mydomain.test viahook A 127.0.0.6 120
t_is "$RC:$OUT" "0:true" "hook: add-record"
t_is "$(tail -n 1 "$hooklog")" "add|viahook.mydomain.test|A|127.0.0.6|120|" "  run as HOOK add NAME TYPE VALUE TTL"
t_is "$(dig_s viahook.mydomain.test A)" "127.0.0.6" "  and the record is there"
c_run -d site1 dns:add-record mydomain.test viahook TXT 'hook "txt"'
t_is "$(tail -n 1 "$hooklog")" 'add|viahook.mydomain.test|TXT|hook "txt"|3600|' "  a TXT value passes as one argument, unquoted"
c_run -d site1 dns:remove-record mydomain.test viahook A 127.0.0.6
t_is "$RC:$(tail -n 1 "$hooklog")" "0:delete|viahook.mydomain.test|A|127.0.0.6|" "hook: remove-record with a value: HOOK delete NAME TYPE VALUE"
t_is "$(dig_s viahook.mydomain.test A)" "" "  the record went"
c_run -d site1 dns:remove-record mydomain.test viahook TXT
t_is "$RC:$(tail -n 1 "$hooklog")" "0:delete|viahook.mydomain.test|TXT|" "hook: without a value: HOOK delete NAME TYPE"
t_is "$(dig_s viahook.mydomain.test TXT)" "" "  every TXT went"
lines=$(wc -l <"$hooklog")
c_run -d site1 dns:add-record other.test x A 127.0.0.1
t_is "$RC:$(wc -l <"$hooklog")" "1:$lines" "hook: site1 refused in site2's zone before the hook runs"
c_run -d site1 dns:add-record unowned.test x A 127.0.0.1
t_is "$RC:$(wc -l <"$hooklog")" "1:$lines" "  and in a zone no site owns"
c_run -d site1 dns:add-record mydomain.test x A 1.2.3
t_is "$RC:$(wc -l <"$hooklog")" "1:$lines" "  bad input never reaches the hook"
c_run dns:add-record other.test fails A 127.0.0.1
t_is "$RC" 1 "a hook that fails: an error"
t_like "$ERR" "dns hook: $hook add fails\.other\.test A failed with exit status 3: no zone for fails\.other\.test" "  with its status and output"
no_secret "$(cat "$hooklog" "$H_DIR/dns-hook.env" "$H_DIR/dns-hook.parent")" "no TSIG secret in the hook's arguments, environment or cpcmd's command line"
t_like "$(tail -n 1 "$H_DIR/dns-hook.parent")" "cpcmd dns:add-record other\.test fails A 127\.0\.0\.1" "  (the parent the hook saw was cpcmd)"
# a hook written for dns-01 only (setup|teardown)
old=$H_DIR/dns-hook-old
printf '#!/bin/sh\ncase "$1" in setup|teardown) exit 0 ;; esac\necho "unknown action $1"\nexit 2\n' >"$old"
chmod 0755 "$old"
c_run scope:set cp.config dns hook "$old"
c_run -d site1 dns:add-record mydomain.test x A 127.0.0.1
t_is "$RC" 1 "a hook that knows only setup and teardown: add-record fails"
t_like "$ERR" "failed with exit status 2: unknown action add; a hook run for dns:add-record and dns:remove-record must handle 'add NAME TYPE VALUE TTL' and 'delete NAME TYPE \[VALUE\]'" "  saying what the hook must handle"
printf '#!/bin/sh\ncase "$1" in setup|teardown) exit 0 ;; esac\necho "no $1 here"\nexit 64\n' >"$old"
c_run -d site1 dns:remove-record mydomain.test x A
t_like "$RC:$ERR" "^1:.*dns hook: $old does not handle 'delete' \(it exited with status 64: no delete here\)" "  exit 64 (EX_USAGE) reads as 'does not handle'"
c_run scope:set cp.config dns hook "''"
c_run -d site1 dns:add-record mydomain.test x A 127.0.0.1
t_is "$RC" 1 "provider hook without [dns] hook: an error"
t_like "$ERR" "\[dns\] hook is not set" "  naming the key"
c_run scope:set cp.config dns provider rfc2136

# --- the documentation's staging walkthrough (mydomain.com → mydomain.test) ------------------
# Bootstrapping: the A record the doc adds for svr1, here for the zone itself
# (Pebble's http-01 goes there; no AAAA, so it dials 127.0.0.1).
c_run -d mydomain.test dns:add-record mydomain.test '' A 127.0.0.1
t_is "$RC:$(dig_s mydomain.test A)" "0:127.0.0.1" "walkthrough: dns:add-record mydomain.test '' A 127.0.0.1"
# "Staging"
c_run -d site1 letsencrypt:challenges '[*.mydomain.test,mydomain.test]'
t_is "$RC" 0 "walkthrough: cpcmd -d site1 letsencrypt:challenges '[*.mydomain.test,mydomain.test]'"
CH=$OUT
t_like "$CH" "'\*\.mydomain\.test':"$'\n'"- domain: mydomain\.test"$'\n'"  status: pending"$'\n'"  type: dns-01"$'\n'"  url: https://127\.0\.0\.1:[0-9]+/" "  YAML: the wildcard's dns-01 challenge, raw, as the doc shows it"
# ch FIELD NAME TYPE — FIELD of NAME's TYPE challenge in the YAML above
ch() {
	awk -v f="$1" -v key="$2" -v type="$3" '
		/^[^ -]/ { k = $0; sub(/:$/, "", k); gsub(/\047/, "", k); t = ""; next }
		/^- / { t = ""; sub(/^- /, "  ") }
		{ line = $0; sub(/^  /, "", line); n = index(line, ": "); name = substr(line, 1, n - 1); v = substr(line, n + 2) }
		name == "type" { t = v }
		k == key && t == type && name == f { gsub(/^\047|\047$/, "", v); print v; exit }
	' <<<"$CH"
}
wpay=$(ch payload '*.mydomain.test' dns-01)
htok=$(ch token mydomain.test http-01)
hpay=$(ch payload mydomain.test http-01)
t_like "$wpay" '^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{43}$' "  the wildcard's payload is token.thumbprint"
t_like "$hpay" "^$htok\.[A-Za-z0-9_-]{43}$" "  so is the apex's http-01 payload"
t_like "$(ch type mydomain.test tls-alpn-01)" "tls-alpn-01" "  every challenge the CA offered is listed"

# "Staging DNS": the doc's shell pipeline, then dns:add-record as written
value=$(echo -n "$wpay" | openssl dgst -binary -sha256 | openssl base64 | tr -d '=' | tr '+/' '-_')
t_is "$value" "$(ch value '*.mydomain.test' dns-01)" "walkthrough: the doc's pipeline gives the value challenges printed"
c_run -d mydomain.test dns:add-record mydomain.test '' TXT "$value" 30
t_is "$RC:$OUT" "0:true" "walkthrough: cpcmd -d mydomain.test dns:add-record mydomain.test '' TXT VALUE 30"
t_is "$(dig_s mydomain.test TXT)" "\"$value\"" "  as written ('' is the zone itself) the TXT is at mydomain.test"
c_run -o json -d mydomain.test dns:get-records mydomain.test '' TXT
t_is "$(jq_out '.[0] | "\(.ttl) \(.value)"')" "30 $value" "  with the 30 s TTL"
t_is "$(dig_s _acme-challenge.mydomain.test TXT)" "" "  not at _acme-challenge.mydomain.test, which the CA asks"
# the doc's text: "create a DNS TXT record named _acme-challenge"
c_run -d mydomain.test dns:add-record mydomain.test _acme-challenge TXT "$value" 30
t_is "$RC:$(dig_s _acme-challenge.mydomain.test TXT)" "0:\"$value\"" "walkthrough: the record the doc names, _acme-challenge, holds the value"

# "Staging HTTP": the payload in a file under the directory Apache serves
# for /.well-known/acme-challenge/ (the doc's /var/www/html)
webroot=$H_CHALLENGE_DIR
mkdir -p "$webroot/.well-known/acme-challenge"
echo "$hpay" >"$webroot/.well-known/acme-challenge/$htok"
got=$(curl -s --max-time 10 -H 'Host: mydomain.test' "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/$htok")
t_is "$got" "$hpay" "walkthrough: the payload is reachable at http://mydomain.test/.well-known/acme-challenge/TOKEN"

# "Finalizing staging"
DEBUG=1 c_run -d mydomain.test letsencrypt:solve "['*.mydomain.test':'dns','mydomain.test':'http']"
t_is "$RC" 0 "walkthrough: env DEBUG=1 cpcmd -d mydomain.test letsencrypt:solve \"['*.mydomain.test':'dns','mydomain.test':'http']\""
t_is "$(grep -E '^DEBUG   : (SSL challenge attempt|SUCCESS! SSL challenge response|FAILED)' <<<"$ERR")" \
"DEBUG   : SSL challenge attempt: dns (*.mydomain.test)
DEBUG   : SUCCESS! SSL challenge response: *.mydomain.test (dns) - VALID
DEBUG   : SSL challenge attempt: http (mydomain.test)
DEBUG   : SUCCESS! SSL challenge response: mydomain.test (http) - VALID" "  the four DEBUG lines of the doc, in its order"
c_run scope:set cp.config httpd reload_delay '2 minutes'
DEBUG=1 c_run -d mydomain.test letsencrypt:request "['*.mydomain.test','mydomain.test']" false
t_is "$RC" 0 "walkthrough: cpcmd -d mydomain.test letsencrypt:request \"['*.mydomain.test','mydomain.test']\" false"
t_like "$ERR" "DEBUG   : \*\.mydomain\.test already resolved by dns" "  DEBUG: *.mydomain.test already resolved by dns"
t_like "$ERR" "DEBUG   : mydomain\.test already resolved by http" "  DEBUG: mydomain.test already resolved by http"
t_is "$(grep -c 'POST .*/order-plz ' <<<"$ERR")" 0 "  the staged order was finished, no new one made"
t_like "$ERR" $'\nINFO    : reminder: only 5 duplicate certificates and 50 unique certificates may be issued per week per account\n' "  INFO: the rate-limit reminder"
t_like "$ERR" $'\nINFO    : reloading web server in 2 minutes, stay tuned!\n' "  INFO: reloading web server in 2 minutes, stay tuned!"
# (cpssl raises the two INFO lines in the other order than the doc shows)
t_is "$(sed -n '/^Reporter level:/,$p' <<<"$ERR" | sort | tr '\n' '|')" \
	"INFO: reloading web server in 2 minutes, stay tuned!|INFO: reminder: only 5 duplicate certificates and 50 unique certificates may be issued per week per account|Reporter level: OK|" \
	"  and the doc's closing summary: Reporter level: OK and the two INFO lines"
dir=$(c_site_dir site1)
t_is "$(c_sans "$dir/cert.pem" | tr '\n' ' ')" "*.mydomain.test mydomain.test " "the certificate names *.mydomain.test and mydomain.test"
c_verify "$dir"
t_ok $? "  its chain verifies against Pebble's root"
conf=$H_DIR/fsroot/home/virtual/site1/fst/etc/httpd/conf
fp=$(h_cert_fingerprint "$dir/cert.pem")
t_is "$(h_cert_fingerprint "$conf/ssl.crt/server.crt")" "$fp" "  deployed to the site's ssl.crt/server.crt"
h_apache_add_tls_vhost mydomain.test "$conf/ssl.crt/server.crt" "$conf/ssl.key/server.key" "$conf/ssl.crt/bundle.crt"
h_apache_add_tls_vhost www.mydomain.test "$conf/ssl.crt/server.crt" "$conf/ssl.key/server.key" "$conf/ssl.crt/bundle.crt"
h_apache_graceful || t_bail "Apache did not take the site's TLS vhosts"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" mydomain.test)" "$fp" "Apache serves it over TLS for mydomain.test"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" www.mydomain.test)" "$fp" "  and for www.mydomain.test, under the wildcard"
verify=$(timeout 10 openssl s_client -connect "127.0.0.1:$H_HTTPS_PORT" -servername mydomain.test \
	-CAfile "$H_PEBBLE_ROOT" -verify_hostname mydomain.test -verify_return_error </dev/null 2>&1)
t_like "$verify" "Verify return code: 0 \(ok\)" "  the handshake verifies against Pebble's root, for the name"
t_done
