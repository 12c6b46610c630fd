#!/usr/bin/env bash
# The manual pages cpcmd(1), cpssl.ini(5), reissueAllCertificates(8) and
# cpssl-acmems(8) and the bash completion: the
# committed pages are what cpcmd writes from its tables (so a new command or
# key cannot be left out), they render with man -l without a warning, name
# every command, key and exit status; the completion offers commands,
# options, sites and their domains, config sections and keys, from cpcmd.
. "$(dirname "$0")/../harness/lib.sh"
h_init
: "${CPCMD:?CPCMD must point at the cpcmd binary}"
export CPSSL_HOME=$H_DIR/home
unset DEBUG
src=${CPSSL_SRC:?}

# --- the pages are the tables, rendered -----------------------------------
for page in cpcmd:1 cpssl.ini:5; do
	name=${page%:*} sec=${page#*:}
	"$CPCMD" --man "$name" >"$H_DIR/$name.$sec"
	t_is "$?" 0 "cpcmd --man $name"
	cmp -s "$H_DIR/$name.$sec" "$src/man/$name.$sec"
	t_ok $? "  man/$name.$sec is what cpcmd writes (regenerate: make man)"
	warn=$(MANWIDTH=100 man --warnings -l "$H_DIR/$name.$sec" 2>&1 >"$H_DIR/$name.txt")
	t_is "$warn" "" "  man -l renders it without a warning"
	t_like "$(head -n 3 "$H_DIR/$name.txt")" "$(echo "$name" | tr a-z A-Z)\($sec\)" "  with its name and section"
done
warn=$(MANWIDTH=100 man --warnings -l "$src/man/reissueAllCertificates.8" 2>&1 >"$H_DIR/r.txt")
t_is "$warn" "" "man/reissueAllCertificates.8 renders without a warning"
t_like "$(head -n 1 "$H_DIR/r.txt")" "REISSUEALLCERTIFICATES\(8\)" "  as section 8"
warn=$(MANWIDTH=100 man --warnings -l "$src/man/cpssl-acmems.8" 2>&1 >"$H_DIR/am.txt")
t_is "$warn" "" "man/cpssl-acmems.8 renders without a warning"
t_like "$(head -n 1 "$H_DIR/am.txt")" "CPSSL-ACMEMS\(8\)" "  as section 8"
for w in register serve status /etc/cpssl/acmems.ini /var/lib/cpssl/acmems; do
	grep -qF -- "$w" "$H_DIR/am.txt"; t_ok $? "  it describes $w"
done
"$CPCMD" --man bogus >/dev/null 2>"$H_DIR/err"
t_is "$?" 2 "an unknown page: exit 2"
t_like "$(cat "$H_DIR/err")" "no manual page 'bogus' \(cpcmd or cpssl.ini\)" "  naming the pages there are"

txt=$(cat "$H_DIR/cpcmd.txt")
missing=0 n=0
while read -r cmd; do
	n=$((n + 1))
	grep -qF -- "$cmd(" <<<"$txt" || { t_diag "cpcmd(1) lacks $cmd"; missing=$((missing + 1)); }
done < <("$CPCMD" -l | sed 's/(.*//')
t_is "$missing" 0 "cpcmd(1) has every one of the $n commands with its signature"
for s in 0 1 2 3; do
	awk '/^EXIT STATUS/ {on = 1; next} /^[A-Z]/ {on = 0} on' "$H_DIR/cpcmd.txt" | grep -qE "^ +$s( |$)"
	t_ok $? "  exit status $s is described"
done
for env in CPSSL_HOME DEBUG; do
	grep -qE "^ +$env" "$H_DIR/cpcmd.txt"; t_ok $? "  the environment variable $env is described"
done

ini=$("$CPCMD" --default-config)
txt=$(cat "$H_DIR/cpssl.ini.txt")
missing=0 n=0 section=
while read -r line; do
	case $line in
	\[*\]) section=$line; grep -qF -- "$section" <<<"$txt" || { t_diag "no section $section"; missing=$((missing + 1)); } ;;
	[a-z]*' ='*)
		n=$((n + 1)); key=${line%% =*}
		awk -v s="$section" -v k="$key" '$0 ~ /^   [^ ]/ {cur = $1} $1 == k && cur == s {found = 1} END {exit !found}' \
			<<<"$txt" || { t_diag "cpssl.ini(5) lacks $section $key"; missing=$((missing + 1)); }
		;;
	esac
done <<<"$ini"
t_is "$missing" 0 "cpssl.ini(5) has every one of the $n keys in its section"
t_like "$txt" "A site may override it" "  and says which a site may override"

# --- bash completion ----------------------------------------------------
"$CPCMD" site:add a.test "['ip':'127.0.0.1']" >/dev/null 2>&1
"$CPCMD" site:add b.test "['ip':'127.0.0.1']" >/dev/null 2>&1
"$CPCMD" -d site2 site:add-domain www.b.test >/dev/null 2>&1
mkdir -p "$H_DIR/bin" && ln -sf "$CPCMD" "$H_DIR/bin/cpcmd"
complete_line() { # LINE → the candidates, space-separated
	PATH=$H_DIR/bin:$PATH bash --norc --noprofile -c '
		. "$1"
		COMP_LINE=$2 COMP_POINT=${#2} COMP_WORDS=(cpcmd) COMP_CWORD=1
		_cpcmd
		echo "${COMPREPLY[*]}"
		complete -p cpcmd' _ "$src/etc/bash-completion/cpcmd" "$1"
}
out=$(complete_line "cpcmd ")
t_like "$out" "complete -F _cpcmd cpcmd" "completion: the script registers _cpcmd for cpcmd"
t_like "$out" "letsencrypt:request .*ssl:install" "  the first word offers every module:command"
t_is "$(complete_line "cpcmd letsencrypt:re" | head -n 1)" "request renew reissue-all reload-status revoke" \
	"  after 'module:' only the command part, as bash puts it back"
t_is "$(complete_line "cpcmd -d site1 letsencrypt:list" | head -n 1)" "list" "  after -d SITE"
t_is "$(complete_line "cpcmd -" | head -n 1)" "-d -o -l --default-config --version --man" "  options"
t_is "$(complete_line "cpcmd -o " | head -n 1)" "yaml json" "  -o formats"
t_is "$(complete_line "cpcmd -d " | head -n 1)" "site1 a.test site2 b.test www.b.test" "  -d: the sites and their domains"
t_is "$(complete_line "cpcmd -d b" | head -n 1)" "b.test" "  -d with a prefix"
t_is "$(complete_line "cpcmd scope:set " | head -n 1)" "$("$CPCMD" scope:list | sed -n 's/^\([a-z.]*\):$/\1/p' | tr '\n' ' ' | sed 's/ $//')" \
	"  scope:set: the scopes"
t_like "$(complete_line "cpcmd scope:get cp.config " | head -n 1)" "^cpssl letsencrypt .*dns" "  cp.config: the sections"
t_is "$(complete_line "cpcmd scope:set cp.config letsencrypt lookahead" | head -n 1)" "lookahead_days" "  a section's keys"
t_is "$(complete_line "cpcmd scope:set cp.config dns lookahead" | head -n 1)" "" "  only that section's"
out=$(complete_line "cpcmd -d site1 site:set-setting letsencrypt." | head -n 1)
t_like "$out" "letsencrypt.verify_ip" "  site:set-setting: SECTION.KEY a site may override"
t_unlike "$out" "letsencrypt.server( |$)" "  not a server-wide key"
t_is "$(complete_line "cpcmd --man " | head -n 1)" "cpcmd cpssl.ini" "  --man: the pages"

t_done
