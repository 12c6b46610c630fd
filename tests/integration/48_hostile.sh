#!/usr/bin/env bash
# also-asan
# Hostile input: every case of tests/hostile/cases (hostnames, site names,
# argument literals, PEM) and tests/hostile/config-cases (config.ini) must end
# with its expected exit status and message, within 30 s, and leave the store
# and every file as they were. Then hostile ACME directories served by a local
# stand-in (openssl s_server -WWW on 127.0.0.1): enormous, not JSON, missing
# fields, an HTML page, a server that never answers — each a clear error in
# bounded time. Nothing is written outside the test's directories.
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
h_init
export CPSSL_HOME=$H_DIR/home
F=$H_DIR/fixtures
mkdir -p "$F"
dead_port=$(h_free_port)
set_cfg() { "$CPCMD" scope:set cp.config "$@" >/dev/null || t_bail "cannot set $*"; }
set_cfg cpssl fs_root "$H_DIR/fsroot"
set_cfg letsencrypt server "https://127.0.0.1:$dead_port/dir"
set_cfg dns resolvers "127.0.0.1:$dead_port"
set_cfg dns authoritative_ns "127.0.0.1:$dead_port"
set_cfg httpd reload_command /bin/true
set_cfg httpd configtest_command /bin/true
set_cfg httpd reload_delay now
"$CPCMD" site:add a.test "['ip':'127.0.0.1']" >/dev/null || t_bail "no site1"
"$CPCMD" site:add b.test "['ip':'127.0.0.1']" >/dev/null || t_bail "no site2"

# --- fixtures --------------------------------------------------------------------
mk() { # mk NAME CN DAYS
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$3" \
		-subj "/CN=$2" -addext "subjectAltName=DNS:$2" -keyout "$F/$1.key" -out "$F/$1.crt" 2>/dev/null
}
mk a a.test 30; mk b b.test 30
openssl req -new -key "$F/a.key" -subj /CN=a.test -out "$F/a.csr" 2>/dev/null
openssl pkey -in "$F/a.key" -aes256 -passout pass:secret -out "$F/enc.key" 2>/dev/null
{ echo "-----BEGIN CERTIFICATE-----"; head -c 90000 /dev/urandom | base64 -w 64; echo "-----END CERTIFICATE-----"; } >"$F/huge.pem"
for f in a.key a.crt b.key b.crt a.csr enc.key huge.pem; do [ -s "$F/$f" ] || t_bail "fixture $f missing"; done

rep() { local s=$1 n=$2 out; printf -v out '%*s' "$n" ''; printf '%s' "${out// /$s}"; }
c() { printf "\\x$(printf %02x "$1")"; }
# state — what a case must not change: the store's content and every file's
# name, size, mode and link target under CPSSL_HOME and fs_root (logs aside,
# and the empty per-site lock files, checked by name after the table)
state() {
	{
		sqlite3 -cmd '.timeout 5000' "$CPSSL_HOME/storage/cpssl.db" .dump
		find "$CPSSL_HOME" "$H_DIR/fsroot" \( -path "$CPSSL_HOME/storage/logs" -o \
			-path "$CPSSL_HOME/storage/locks" \) -prune -o -printf '%p %s %m %l\n' 2>/dev/null | sort
	} | sha256sum
}
touch "$H_DIR/start"

# --- the table -----------------------------------------------------------------------
tried=0 passed=0
while IFS=$'\t' read -r id want rx args; do
	case $id in '' | '#'*) continue ;; esac
	eval "set -- $args"
	envs=()
	while [ "${1:-}" = --env ]; do envs+=("$2"); shift 2; done
	before=$(state)
	timeout 30 env "${envs[@]}" "$CPCMD" "$@" >/dev/null 2>"$H_DIR/err"
	rc=$?
	err=$(tr -d '\000' <"$H_DIR/err")
	tried=$((tried + 1))
	ok=0
	[ "$rc" = "$want" ] || { t_diag "$id: exit $rc, expected $want"; ok=1; }
	grep -qE -- "$rx" <<<"$err" || { t_diag "$id: stderr does not match /$rx/"; ok=1; }
	[ "$(state)" = "$before" ] || { t_diag "$id: the store or the files changed"; ok=1; }
	[ $ok = 0 ] || t_diag "$id: stderr was: $(head -c 600 <<<"$err")"
	t_ok $ok "$id: exit $want, a clear message, nothing changed"
	[ $ok = 0 ] && passed=$((passed + 1))
done <"$top/tests/hostile/cases"

# --- config.ini --------------------------------------------------------------------------
while IFS=$'\t' read -r id want rx content; do
	case $id in '' | '#'*) continue ;; esac
	home=$H_DIR/cfg-$id
	mkdir -p "$home/etc"
	# shellcheck disable=SC2059
	printf "$content" >"$home/etc/config.ini"
	sum=$(sha256sum <"$home/etc/config.ini")
	CPSSL_HOME=$home timeout 30 "$CPCMD" scope:get cp.config >/dev/null 2>"$H_DIR/err"
	rc=$?
	err=$(cat "$H_DIR/err")
	tried=$((tried + 1))
	ok=0
	[ "$rc" = "$want" ] || { t_diag "$id: exit $rc, expected $want"; ok=1; }
	[ -z "$rx" ] || grep -qE -- "$rx" <<<"$err" || { t_diag "$id: stderr does not match /$rx/"; ok=1; }
	[ "$(sha256sum <"$home/etc/config.ini")" = "$sum" ] || { t_diag "$id: config.ini was changed"; ok=1; }
	[ $ok = 0 ] || t_diag "$id: stderr was: $(head -c 600 <<<"$err")"
	t_ok $ok "$id: exit $want${rx:+, a clear message}, config.ini untouched"
	[ $ok = 0 ] && passed=$((passed + 1))
done <"$top/tests/hostile/config-cases"

# --- hostile ACME directories from a stand-in HTTPS server --------------------------------
www=$H_DIR/www
mkdir -p "$www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$H_DIR/www.key" -out "$H_DIR/www.crt" 2>/dev/null
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$www/huge"
printf '{"newNonce": "https://127.0.0.1/n", "newAccount": ' >"$www/notjson"
printf '{}' >"$www/empty"
printf '<html><body>Welcome to nginx!</body></html>' >"$www/page.html"
printf '["newNonce","newAccount","newOrder"]' >"$www/array"
port=$(h_free_port)
(cd "$www" && exec openssl s_server -quiet -WWW -accept "127.0.0.1:$port" -cert "$H_DIR/www.crt" \
	-key "$H_DIR/www.key" </dev/null >"$H_DIR/s_server.log" 2>&1) &
h__record_pid s_server $!
h__wait_listen "$port" $! 10 || t_bail "the stand-in HTTPS server did not start"
# a listener that accepts and never answers
silent=$(h_free_port)
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); c=[]
t=time.time()
while time.time()-t < 300:
    s.settimeout(1)
    try: c.append(s.accept()[0])
    except socket.timeout: pass' "$silent" &
h__record_pid silent $!
h__wait_listen "$silent" $! 10 || t_bail "the silent listener did not start"
set_cfg letsencrypt ca_bundle "$H_DIR/www.crt"
"$CPCMD" common:set-email admin@a.test >/dev/null
acme_case() { # ID URL REGEX
	local id=$1 url=$2 rx=$3 before rc ok=0
	set_cfg letsencrypt server "$url"
	before=$(state)
	timeout 120 "$CPCMD" -d site1 letsencrypt:request '[a.test]' false >/dev/null 2>"$H_DIR/err"
	rc=$?
	tried=$((tried + 1))
	[ "$rc" = 1 ] || { t_diag "$id: exit $rc, expected 1"; ok=1; }
	grep -qE -- "$rx" "$H_DIR/err" || { t_diag "$id: stderr does not match /$rx/: $(head -c 600 "$H_DIR/err")"; ok=1; }
	t_ok $ok "$id: exit 1 with a clear error"
	[ $ok = 0 ] && passed=$((passed + 1))
}
acme_case acme-huge "https://127.0.0.1:$port/huge" "ERROR.*cannot read the ACME directory.*(larger than|too large|1 MiB|1048576)"
acme_case acme-notjson "https://127.0.0.1:$port/notjson" "ERROR.*127\.0\.0\.1:$port/notjson is not an ACME directory"
acme_case acme-empty "https://127.0.0.1:$port/empty" "ERROR.*is not an ACME directory"
acme_case acme-html "https://127.0.0.1:$port/page.html" "ERROR.*is not an ACME directory"
acme_case acme-array "https://127.0.0.1:$port/array" "ERROR.*is not an ACME directory"
acme_case acme-error-page "https://127.0.0.1:$port/missing" "ERROR.*127\.0\.0\.1:$port/missing is not an ACME directory"
acme_case acme-silent "https://127.0.0.1:$silent/dir" "ERROR.*cannot read the ACME directory.*(time|Timeout|timed out)"

# --- nothing was written outside ------------------------------------------------------------
t_is "$(find /tmp /root /etc /var/tmp -xdev -name '*hostilemark*' 2>/dev/null | wc -l)" 0 \
	"no case made a file outside its directories (a shell would have made /tmp/hostilemark)"
t_is "$(find "$CPSSL_HOME/storage/locks" -mindepth 1 \( ! -type f -o -size +0 -o ! -perm 600 \) 2>/dev/null | wc -l)" 0 \
	"the only lock files are empty, 0600 regular files"
t_is "$(ls "$CPSSL_HOME/storage/locks" 2>/dev/null | grep -cvxE 'site[12]|server')" 0 \
	"and lock only the real sites or the server, whatever name a case gave"
t_is "$passed" "$tried" "every hostile case handled as expected"
t_diag "hostile cases tried: $tried"
t_done
