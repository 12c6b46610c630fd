#!/usr/bin/env bash
# also-asan
# Isolation and privilege, against real Pebble, BIND and Apache:
#  - `-d site1` cannot obtain, stage, solve, force, install, revoke, read or
#    delete anything for a name of site2 or of nobody — every command that
#    takes a name or acts on certificates is tried; site2's rows and files
#    stay byte for byte, and no order is placed; without -d only the server's
#    own names are accepted;
#  - with umask 000, keys are 0600 and their directories 0700 from creation,
#    and nothing is world-writable;
#  - DEBUG output never holds a private key, the account key or the TSIG
#    secret, and listings hide the secret;
#  - hooks and reload commands are run without a shell: arguments with ;,
#    $(), spaces and quotes arrive verbatim, and the source has no system(),
#    popen() or /bin/sh.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
h_init
c_servers test
c_configure
for n in a.test www.a.test b.test www.b.test; do h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"; done
c_run site:add a.test "['ip':'127.0.0.1']"
c_run site:add b.test "['ip':'127.0.0.1']"
db=$CPSSL_HOME/storage/cpssl.db
q() { sqlite3 -cmd '.timeout 5000' "$db" "$@"; }
fsroot=$H_DIR/fsroot
conf2=$fsroot/home/virtual/site2/fst/etc/httpd/conf

# --- site2 has a certificate and a staged order ------------------------------------------
c_run -d site2 letsencrypt:request '[b.test]'
[ "$RC" = 0 ] || t_bail "site2's certificate: $ERR"
c_run -d site2 letsencrypt:challenges '[www.b.test]'
[ "$RC" = 0 ] || t_bail "site2's staged order: $ERR"
c_run -d site1 letsencrypt:request '[a.test]'
[ "$RC" = 0 ] || t_bail "site1's certificate: $ERR"
# everything of site2's: its rows in every table and its files
site2_state() {
	{
		for t in certificates acme_orders ssl_status site_settings forced_mechanisms site_domains issuance_log; do
			q "SELECT * FROM $t WHERE site_id = 2 ORDER BY 1" 2>/dev/null
		done
		q "SELECT * FROM acme_challenges WHERE order_id IN (SELECT id FROM acme_orders WHERE site_id = 2) ORDER BY 1" 2>/dev/null
		find "$fsroot/home/virtual/site2" "$fsroot/etc/httpd/conf" "$CPSSL_HOME/storage/certificates" -path '*site2*' \
			-exec sh -c 'for f; do if [ -f "$f" ]; then printf "%s " "$f"; sha256sum <"$f"; else printf "%s\n" "$f"; fi; done' x {} + | sort
	} | sha256sum
}
before2=$(site2_state)
t_like "$(q 'SELECT count(*) FROM acme_orders WHERE site_id = 2')" "^[1-9]" "site2 has orders to protect"

# --- every command of site1 against site2's names and nobody's --------------------------------
b_key=$H_DIR/b.key b_crt=$H_DIR/b.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=b.test \
	-addext "subjectAltName=DNS:b.test,DNS:a.test" -keyout "$b_key" -out "$b_crt" 2>/dev/null
n_key=$H_DIR/n.key n_crt=$H_DIR/n.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=a.test \
	-addext "subjectAltName=DNS:a.test,DNS:nobody.test" -keyout "$n_key" -out "$n_crt" 2>/dev/null
refused=0 tried=0
refuse() { # WANT-RC REGEX DESCRIPTION -- ARGS… (run with DEBUG=1; no order may be placed)
	local want=$1 rx=$2 desc=$3
	shift 4
	DEBUG=1 c_run "$@"
	tried=$((tried + 1))
	local ok=0
	[ "$RC" = "$want" ] || { t_diag "exit $RC, expected $want: $(grep -m2 -E 'ERROR|WARNING' <<<"$ERR")"; ok=1; }
	grep -qE -- "$rx" <<<"$ERR" || { t_diag "stderr does not match /$rx/: $(grep -m2 -E 'ERROR|WARNING' <<<"$ERR")"; ok=1; }
	grep -q 'order-plz\|/chalZ/\|revoke-cert' <<<"$ERR" && { t_diag "a request reached the CA"; ok=1; }
	t_ok $ok "$desc"
	[ $ok = 0 ] && refused=$((refused + 1))
}
# (site:add-domain of a name nobody owns is how a site comes to own it: an
# administrator's act, so it is not tried for nobody.test)
for n in b.test www.b.test '*.b.test' nobody.test; do
	why="site1 does not own $(sed 's/[.*]/\\&/g' <<<"$n"): (it belongs to another site|no site has this domain)"
	refuse 3 "$why" "request [$n] from site1 is refused" -- -d site1 letsencrypt:request "[$n]"
	refuse 1 "strict mode: nothing was ordered because $why" "  also in strict mode, with a name of its own beside it" -- \
		-d site1 letsencrypt:request "[a.test,$n]" true true
	refuse 3 "$why" "  append [$n]" -- -d site1 letsencrypt:append "[$n]"
	refuse 3 "$why" "  challenges [$n]" -- -d site1 letsencrypt:challenges "[$n]"
	refuse 1 "$why" "  solve [$n]" -- -d site1 letsencrypt:solve "['$n':'dns']"
	refuse 1 "$why" "  use-mechanism $n" -- -d site1 letsencrypt:use-mechanism "$n" dns
	[ "$n" = nobody.test ] && continue
	refuse 1 "(belongs to site2 \(it is that site's domain or under one\)|a wildcard is not allowed here)" \
		"  site:add-domain $n" -- -d site1 site:add-domain "$n"
	refuse 1 "(site1 has no domain|a wildcard is not allowed here)" "  site:remove-domain $n" -- -d site1 site:remove-domain "$n"
done
c_run -d site1 site:owns b.test
t_is "$RC:$OUT" "0:false" "site:owns b.test from site1 is false"
refuse 1 "the certificate names b\.test, which is not site1's: site1 does not own b\.test" \
	"ssl:install of a certificate naming site2's b.test (beside a.test) is refused" -- \
	-d site1 ssl:install "$(cat "$b_key")" "$(cat "$b_crt")"
refuse 1 "the certificate names nobody\.test, which is not site1's" \
	"ssl:install of a certificate naming nobody's name is refused" -- \
	-d site1 ssl:install "$(cat "$n_key")" "$(cat "$n_crt")"
# what site1 reads is site1's
c_run -o json -d site1 ssl:get-certificates
t_is "$(jq -r '[.[].names] | flatten | map(select(test("b\\.test"))) | length' <<<"$OUT")" 0 "ssl:get-certificates shows none of site2's certificates"
c_run -d site1 letsencrypt:storage-path
t_like "$OUT" "/site1$" "storage-path is site1's"
c_run -o json -d site1 letsencrypt:status
t_is "$(jq -r '.names | join(",")' <<<"$OUT")" "a.test" "status shows site1's certificate"
# acting on site1's own certificate never touches site2's
c_run -d site1 letsencrypt:revoke
t_is "$RC" 0 "site1 revokes its own certificate"
c_run -d site1 ssl:delete
t_is "$RC" 0 "site1 deletes its own certificate"
c_run -d site1 ssl:rollback
t_is "$RC" 1 "site1 has nothing to roll back to (never site2's)"
c_run -d site1 site:delete
t_is "$RC" 0 "site1 is deleted" || t_diag "$ERR"
t_is "$(site2_state)" "$before2" "after all of it, site2's rows and files are byte for byte the same"
c_verify "$(c_site_dir site2)"; t_ok $? "  site2's certificate still verifies"
t_is "$(q "SELECT count(*) FROM certificates WHERE site_id = 2 AND revoked_at IS NOT NULL")" 0 "  and is not revoked"

# --- without -d, only the server's names ---------------------------------------------------
c_run scope:set net.hostname srv.test
h_dns_add srv.test A 127.0.0.1
srv="the server certificate may only name the server hostname and \[letsencrypt\] additional_certs, and b\.test is neither"
refuse 3 "$srv" "without -d, a site's name is refused" -- letsencrypt:request '[b.test]'
refuse 3 "$srv" "  challenges too" -- letsencrypt:challenges '[b.test]'

# --- umask 000: keys 0600, directories 0700 from creation ------------------------------------------
c_run site:add a.test "['ip':'127.0.0.1']"
site=$OUT
(umask 000 && DEBUG=1 "$CPCMD" -d "$site" letsencrypt:request '[a.test,*.a.test]' >"$H_DIR/u.out" 2>"$H_DIR/u.err")
t_is "$?" 0 "an issuance (http-01 and dns-01) under umask 000"
bad=$(find "$CPSSL_HOME" "$fsroot" -type f -exec grep -l 'PRIVATE KEY' {} + 2>/dev/null | xargs -r stat -c '%a %n' | grep -v '^600 ')
t_is "$bad" "" "every file holding a private key is 0600"
n=$(find "$CPSSL_HOME" "$fsroot" -type f -exec grep -l 'PRIVATE KEY' {} + 2>/dev/null | wc -l)
t_ok $((n >= 5 ? 0 : 1)) "  ($n such files: account key, storage, Apache, haproxy or kept keys)"
bad=$(find "$CPSSL_HOME" "$fsroot" -type f -exec grep -l 'PRIVATE KEY' {} + 2>/dev/null | xargs -r -n1 dirname | sort -u |
	xargs -r stat -c '%a %n' | grep -v '^700 ')
t_is "$bad" "" "  in 0700 directories"
t_is "$(find "$CPSSL_HOME" "$fsroot" -perm -o+w ! -type l | wc -l)" 0 "nothing is world-writable"
t_is "$(stat -c %a "$db")" 600 "the database is 0600"
t_is "$(stat -c %a "$CPSSL_HOME/storage")" 700 "storage is 0700"

# --- no secret in any output ------------------------------------------------------------------------------
acct=$(find "$CPSSL_HOME/storage" -name account.key | head -n 1)
acct_body=$(grep -v -- '-----' "$acct" | tr -d '\n' | cut -c 20-60)
out=$(cat "$H_DIR/u.out" "$H_DIR/u.err")
t_like "$out" "rfc2136: added TXT" "the DEBUG run used the TSIG key"
t_is "$(grep -c 'PRIVATE KEY' <<<"$out")" 0 "DEBUG output holds no private key"
t_is "$(grep -cF -- "$acct_body" <<<"$out")" 0 "  nor any of the account key"
t_is "$(grep -cF -- "$H_TSIG_SECRET" <<<"$out")" 0 "  nor the TSIG secret"
c_run scope:get cp.config dns
t_is "$(grep -cF -- "$H_TSIG_SECRET" <<<"$OUT")" 0 "scope:get cp.config dns hides the TSIG secret"
t_like "$OUT" "rfc2136_key_secret: \(set; ask for this key to see it\)" "  saying it is set"
c_run scope:get cp.config
t_is "$(grep -cF -- "$H_TSIG_SECRET" <<<"$OUT")" 0 "  so does the full listing"
for cmd in letsencrypt:status ssl:get-certificates site:info letsencrypt:storage-path; do
	DEBUG=1 c_run -d "$site" $cmd
	t_is "$(grep -c 'PRIVATE KEY' <<<"$OUT$ERR")" 0 "$cmd prints no private key"
done

# --- secrets never on the command line ------------------------------------------------------------------
chmod 644 "$CPSSL_HOME/etc/config.ini"
c_run scope:set cp.config dns rfc2136_key_secret - <<<"$H_TSIG_SECRET"
t_is "$RC" 0 "the TSIG secret is set from standard input"
t_unlike "$ERR" "command line" "  with no warning"
t_like "$ERR" "config\.ini now holds a secret \(\[dns\] rfc2136_key_secret\): its mode is 0600 \(it was 0644\)" \
	"  config.ini, which was 0644, is made 0600, saying so"
t_is "$(stat -c %a "$CPSSL_HOME/etc/config.ini")" 600 "  and it is"
printf '%s\n' "$H_TSIG_SECRET" >"$H_DIR/tsig.secret"; chmod 600 "$H_DIR/tsig.secret"
c_run scope:set cp.config dns rfc2136_key_secret "@$H_DIR/tsig.secret"
t_is "$RC" 0 "  or from a file (@FILE)"
c_run scope:get cp.config dns rfc2136_key_secret
t_is "$OUT" "$H_TSIG_SECRET" "  the value read, without its newline"
c_run scope:set cp.config dns rfc2136_key_secret "$H_TSIG_SECRET"
t_like "$ERR" "WARNING : the value of \[dns\] rfc2136_key_secret was given on the command line, which every user" \
	"given on the command line, it is taken with a WARNING"
# a BIND key file instead of name, algorithm and secret
cp "$H_TSIG_FILE" "$H_DIR/tsig.key"; chmod 600 "$H_DIR/tsig.key"
c_run scope:set cp.config dns rfc2136_key_name "''"
c_run scope:set cp.config dns rfc2136_key_secret "''"
c_run scope:set cp.config dns rfc2136_key_file "$H_DIR/tsig.key"
c_run -d "$site" letsencrypt:request '[a.test,*.a.test]'
t_is "$RC" 0 "dns-01 with the TSIG key read from the server's key file (tsig-keygen's format)"
chmod 644 "$H_DIR/tsig.key"
c_run -d "$site" letsencrypt:request '[a.test,*.a.test]'
t_is "$RC" 1 "  a key file others can read is refused"
t_like "$ERR" "rfc2136_key_file .*tsig\.key: its mode 0644 lets others read the secret" "  saying why"
chmod 600 "$H_DIR/tsig.key"
c_run scope:set cp.config dns rfc2136_key_name "$H_TSIG_NAME"
c_run -d "$site" letsencrypt:request '[a.test,*.a.test]'
t_is "$RC" 1 "  a key file beside a key name is refused"
t_like "$ERR" "rfc2136_key_file and rfc2136_key_name or rfc2136_key_secret are all set" "  asking to keep one"
c_run scope:set cp.config dns rfc2136_key_file "''"
c_run scope:set cp.config dns rfc2136_key_secret - <<<"$H_TSIG_SECRET"

# --- no shell: hook and reload command arguments arrive verbatim -----------------------------------
dir="$H_DIR/hooks/with space;\$(touch pwned)'q\""
mkdir -p "$dir"
printf '#!/bin/sh\nprintf "%%s|%%s|%%s\\n" "$CPSSL_SITE" "$CPSSL_DOMAINS" "$#" >>"%s/hook.log"\n' "$H_DIR" >"$dir/record"
printf '#!/bin/sh\nfor a; do printf "[%%s]\\n" "$a"; done >>"%s/argv.log"\n' "$H_DIR" >"$H_DIR/hooks/reload"
chmod 755 "$dir/record" "$H_DIR/hooks/reload"
c_run scope:set cp.config letsencrypt deploy_hook "$dir/record"
t_is "$RC" 0 "a deploy hook whose path holds a space, ;, \$() and quotes is accepted"
c_run scope:set cp.config httpd reload_command "$H_DIR/hooks/reload x;id \$(touch\${IFS}pwned2) 'q' \"d\" \`id\` &&touch>pwned3"
t_is "$RC" 0 "a reload command with such arguments is accepted"
c_run scope:set cp.config httpd configtest_command /bin/true
(cd "$H_DIR" && "$CPCMD" -d "$site" ssl:sign-certificate >/dev/null 2>&1)
t_is "$?" 0 "a deployment runs both"
t_is "$(cat "$H_DIR/hook.log" 2>/dev/null)" "$site|a.test|0" "the hook ran, from its odd path, with the site and names"
t_is "$(tr '\n' ' ' <"$H_DIR/argv.log" 2>/dev/null)" "[x;id] [\$(touch\${IFS}pwned2)] ['q'] [\"d\"] [\`id\`] [&&touch>pwned3] " \
	"the reload command got its arguments verbatim (split on spaces only)"
t_is "$(find "$H_DIR" / -maxdepth 1 -name 'pwned*' 2>/dev/null | wc -l)" 0 "nothing was interpreted by a shell"
t_is "$(grep -rEn '\b(system|popen|execl|execlp|execle|execvp)\(|"/bin/sh"' "$top/cpssl" "$top/modules" "$top/cpcmd.c" |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*)' | wc -l)" 0 \
	"the source has no system(), popen(), execl*/execvp or /bin/sh"
t_diag "isolation: $refused of $tried refusals as expected"
t_done
