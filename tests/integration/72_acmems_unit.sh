#!/usr/bin/env bash
# The cpssl-acmems service unit (etc/systemd/cpssl-acmems.service):
# systemd-analyze verify passes on it; tests/harness/unit-sandbox applies
# every directive of it, in a private mount namespace in which the unit's
# real paths (/usr/local/bin/cpssl-acmems, /usr/local/cpssl/etc,
# /var/lib/cpssl) are this test's temp dirs and /etc/passwd has the
# cpssl-acmems user.  Against real Pebble and BIND: until the config exists
# the unit is skipped; the account is registered under the unit as its user;
# serve runs as that user with CAP_NET_BIND_SERVICE alone, a POST /sign of
# a real CSR (http-01 through its challenge listener) returns a chain that
# openssl verify accepts against Pebble's root, and the account directory
# (StateDirectory=) gets the store, the cache and requests.log; inside,
# writes outside the account directory fail (read-only even where the user
# owns the directory); without StateDirectory= serve fails; stopped as
# systemctl stop does (SIGTERM) it exits 0, a success, with nothing left
# running; the machine's own paths are left as they were.
. "$(dirname "$0")/../harness/lib.sh"
src=${CPSSL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
unit=$src/etc/systemd/cpssl-acmems.service
sandbox=$src/tests/harness/unit-sandbox
nl=$'\n'
h_init
AM_BUILT=${ACMEMS:-$(dirname "${CPCMD:-$src/build/plain/cpcmd}")/cpssl-acmems}
[ -x "$AM_BUILT" ] || t_bail "$AM_BUILT is missing (make)"
# one binary for the whole test, whatever happens to the build meanwhile
AM=$H_DIR/cpssl-acmems
cp "$AM_BUILT" "$AM" && chmod 0755 "$AM" || t_bail "cannot copy $AM_BUILT"

machine_paths=(/usr/local/cpssl /var/lib/cpssl /usr/local/bin/cpssl-acmems /etc/passwd /etc/group /srv /usr/lib/modules
	/run/mount/utab /run/systemd/systemd-units-load)
snapshot() { h_path_snapshot "${machine_paths[@]}"; }
before_machine=$(snapshot)

# --- systemd-analyze verify --------------------------------------------------------------
v=$H_DIR/verify
mkdir -p "$v/man/man8"
# verify insists that ExecStart's program and the man: page exist: a copy of
# the unit runs the built binary, and MANPATH has man/cpssl-acmems.8
sed "s#^ExecStart=/usr/local/bin/cpssl-acmems #ExecStart=$AM #" "$unit" >"$v/cpssl-acmems.service"
cp "$src/man/cpssl-acmems.8" "$v/man/man8/"
t_is "$(diff "$unit" "$v/cpssl-acmems.service" | grep -c '^[<>]')" 2 \
	"the unit verified differs from the shipped one in ExecStart='s path only"
out=$(h_systemd_verify "$v" ./cpssl-acmems.service)
t_is "$?:$out" "0:" "systemd-analyze verify passes on the service (and finds man cpssl-acmems(8)), without a warning"
"$sandbox" --check "$unit" 2>/dev/null
t_ok $? "unit-sandbox applies every directive of the shipped unit"
t_like "$(grep -E '^(Type|Restart|User|ProtectSystem|StateDirectory|AmbientCapabilities|CapabilityBoundingSet)=' "$unit" | tr '\n' ' ')" \
	"^Type=exec Restart=on-failure User=cpssl-acmems ProtectSystem=strict StateDirectory=cpssl/acmems AmbientCapabilities=CAP_NET_BIND_SERVICE CapabilityBoundingSet=CAP_NET_BIND_SERVICE $" \
	"  a service of its own user, restarted on failure, one capability"
sed 's/^AmbientCapabilities=.*/AmbientCapabilities=CAP_NET_ADMIN/' "$unit" >"$H_DIR/bad.service"
out=$("$sandbox" --check "$H_DIR/bad.service" 2>&1)
t_is "$?" 125 "unit-sandbox refuses an ambient capability outside the bounding set"
t_like "$out" "AmbientCapabilities=CAP_NET_ADMIN is not in CapabilityBoundingSet=" "  and names it"

# --- the machine as the unit sees it -----------------------------------------------------
h_start_bind test || t_bail "cannot start BIND"
h_start_pebble || t_bail "cannot start Pebble"
h_dns_add unit.test A 127.0.0.1 || t_bail "cannot add unit.test"
h_dns_add www.unit.test A 127.0.0.1 || t_bail "cannot add www.unit.test"
MGMT=$(h_free_port) || t_bail "no port"
# the service's user, in the view's /etc/passwd and /etc/group only
uid=''
for ((i = 64900; i < 65000; i++)); do
	getent passwd "$i" >/dev/null || getent group "$i" >/dev/null || { uid=$i; break; }
done
[ -n "$uid" ] || t_bail "no free uid in 64900-64999"
getent passwd cpssl-acmems >/dev/null && t_bail "this machine has a cpssl-acmems user already"
u=$H_DIR/unit
mkdir -p "$u/etc" "$u/varlib" "$u/srv" "$u/modules/6.1.0-test"
cp /etc/passwd "$u/passwd" && cp /etc/group "$u/group" || t_bail "cannot copy passwd, group"
echo "cpssl-acmems:x:$uid:$uid:cpssl-acmems:/var/lib/cpssl/acmems:/usr/sbin/nologin" >>"$u/passwd"
echo "cpssl-acmems:x:$uid:" >>"$u/group"
chmod 0644 "$u/passwd" "$u/group"
# a directory of the user's outside the writable paths: ProtectSystem=strict
# makes it read-only all the same
chown "$uid:$uid" "$u/srv"
# the example config with the test's CA, addresses and names; root's, 0640,
# group cpssl-acmems, as README says
KEY=unit-test-hmac-key-$RANDOM$RANDOM
sed -e "s#^acme-server = .*#acme-server = $H_PEBBLE_DIR_URL#" \
	-e "s#^;ca-bundle = .*#ca-bundle = /usr/local/cpssl/etc/pebble-ca.pem#" \
	-e "s#^mgmt = .*#mgmt = 127.0.0.1:$MGMT#" \
	-e "s#^listener = .*#listener = 127.0.0.1:$H_HTTP_PORT#" \
	-e "s#^ip = .*#ip = 127.0.0.1#" \
	-e "s#^hmac_key = .*#hmac_key = $KEY#" \
	-e "s#^domain = example\.com#domain = unit.test#" -e "s#^domain = \*\.example\.com#domain = *.unit.test#" \
	"$src/etc/acmems.ini.example" >"$u/acmems.ini"
t_is "$(diff "$src/etc/acmems.ini.example" "$u/acmems.ini" | grep -c '^>')" 8 "the test's config is the shipped example with 8 lines set"
install -m 0644 "$H_PEBBLE_TLS_CA" "$u/etc/pebble-ca.pem"
chown "root:$uid" "$u/acmems.ini" && chmod 0640 "$u/acmems.ini"
maps=(--map "/usr/local/bin/cpssl-acmems=$AM" --map "/usr/local/cpssl/etc=$u/etc"
	--map "/var/lib/cpssl=$u/varlib" --map "/etc/passwd=$u/passwd" --map "/etc/group=$u/group"
	--map "/srv/acmems-probe=$u/srv" --map "/usr/lib/modules=$u/modules")
acct=$u/varlib/acmems
# run_unit UNIT [-- CMD…] — the sandbox, bounded; stdout in $OUT, stderr in
# $ERR, the sandbox's status in $URC, the command's own in $CRC
run_unit() {
	rm -f "$u/status"
	OUT=$(timeout -k 10 120 "$sandbox" --status-file "$u/status" "${maps[@]}" "$@" 2>"$u/err")
	URC=$?
	ERR=$(cat "$u/err")
	CRC=$(cat "$u/status" 2>/dev/null)
}

# --- not configured: skipped ---------------------------------------------------------------
run_unit "$unit"
t_is "$URC:$CRC" "0:skipped" "without /usr/local/cpssl/etc/acmems.ini the unit is skipped (ConditionPathExists=), a success"
t_like "$ERR" "condition failed: ConditionPathExists=/usr/local/cpssl/etc/acmems\.ini" "  as the sandbox reports it"
t_is "$(ls -A "$u/varlib")" "" "  nothing ran: no account directory"
cp -p "$u/acmems.ini" "$u/etc/acmems.ini" || t_bail "cannot place the config"

# --- register, as the unit's user under its restrictions -----------------------------------
am=(/usr/local/bin/cpssl-acmems -c /usr/local/cpssl/etc/acmems.ini)
run_unit "$unit" -- "${am[@]}" register --email admin@unit.test --accept-terms
t_is "$URC:$CRC" "0:0" "register runs under the unit as cpssl-acmems" || t_diag "$ERR"
t_like "$OUT" "account: https://127\.0\.0\.1:$H_PEBBLE_PORT/" "  the account is made at Pebble"
t_is "$(stat -c '%u %a' "$acct")" "$uid 700" "  in /var/lib/cpssl/acmems (StateDirectory=), the user's, 0700"
t_is "$(stat -c '%u %a' "$u/varlib")" "0 755" "  below /var/lib/cpssl, root's"
t_is "$(find "$acct" ! -uid "$uid" | wc -l)" 0 "  every file in it the user's"

# --- inside: who it is, what it may write --------------------------------------------------
probe='for p in /var/lib/cpssl/acmems /tmp /var/tmp /srv/acmems-probe /var/lib/cpssl /usr/local/cpssl/etc /etc /var/lib /srv; do
	[ -d "$p" ] || { echo "missing $p"; continue; }
	if err=$( (: >"$p/.probe") 2>&1); then rm -f "$p/.probe"; echo "rw $p"
	else case $err in *"Read-only file system"*) echo "ro $p" ;; *) echo "denied $p" ;; esac; fi
done
echo "id: $(id -u):$(id -g) $(id -un)"
echo "config: $(grep -c "^\[auth " /usr/local/cpssl/etc/acmems.ini)"
echo "home: $(ls -A /home 2>&1 | head -n 1)"
echo "modules: $(ls /usr/lib/modules 2>&1 | head -n 1)"
grep -E "^(NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):" /proc/self/status
echo "umask: $(umask)"
echo "env: $(env | grep -E "^(HOME|USER|LOGNAME|SHELL)=" | sort | tr "\n" " ")"'
run_unit "$unit" -- /bin/sh -c "$probe"
t_is "$URC" 0 "a probe runs under the unit's restrictions" || t_diag "$ERR"
for p in /var/lib/cpssl/acmems /tmp /var/tmp; do
	t_like "$OUT" "(^|$nl)rw $p($nl|\$)" "  $p: writable"
done
t_like "$OUT" "(^|$nl)ro /srv/acmems-probe$nl" "  a directory the user owns outside it: read-only file system (ProtectSystem=strict)"
for p in /var/lib/cpssl /usr/local/cpssl/etc /etc /var/lib /srv; do
	t_like "$OUT" "(^|$nl)(ro|denied) $p($nl|\$)" "  $p: a write fails"
done
t_like "$OUT" "(^|$nl)ro /var/lib/cpssl$nl" "  /var/lib/cpssl, above the account directory, is mounted read-only"
t_like "$OUT" "id: $uid:$uid cpssl-acmems$nl" "  it runs as cpssl-acmems"
t_like "$OUT" "config: 1$nl" "  which reads the config (root's, 0640, its group)"
t_like "$OUT" "home: ls: cannot open directory '/home': Permission denied" "  /home is inaccessible (ProtectHome=yes)"
t_like "$OUT" "modules: ls: cannot open directory '/usr/lib/modules': Permission denied" \
	"  /usr/lib/modules is inaccessible (ProtectKernelModules=)"
t_like "$OUT" "NoNewPrivs:"$'\t'"1$nl" "  no new privileges"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	t_like "$OUT" "$c:"$'\t'"0000000000000400$nl" "  $c: cap_net_bind_service alone"
done
t_like "$OUT" "umask: 0077" "  umask 0077"
t_like "$OUT" "env: HOME=/var/lib/cpssl/acmems LOGNAME=cpssl-acmems SHELL=/usr/sbin/nologin USER=cpssl-acmems \$" \
	"  HOME, LOGNAME, USER and SHELL of the user, as systemd sets them"

# --- without StateDirectory=, serve fails ---------------------------------------------------
grep -v '^StateDirectory' "$unit" >"$H_DIR/no-state.service"
run_unit "$H_DIR/no-state.service"
t_is "$URC:$CRC" "1:1" "without StateDirectory= serve fails at once (the account directory is read-only)"
t_like "$ERR" "ERROR   : .*Read-only file system" "  saying why"
t_like "$ERR" "main process exited, status=1: failure" "  a failure for the sandbox too"

# --- serve: the unit's own command ----------------------------------------------------------
rm -f "$u/status" "$u/pid"
"$sandbox" --status-file "$u/status" --pid-file "$u/pid" "${maps[@]}" "$unit" >"$u/serve.out" 2>"$u/serve.err" &
SBPID=$!
h__record_pid unit-sandbox "$SBPID" >/dev/null
for ((i = 0; i < 100; i++)); do [ -s "$u/pid" ] && break; sleep 0.1; done
read -r MAIN <"$u/pid" 2>/dev/null
[[ ${MAIN:-} =~ ^[0-9]+$ ]] || t_bail "no main PID from unit-sandbox: $(cat "$u/serve.err")"
h__wait_listen "$MGMT" "$MAIN" 15 || t_bail "the unit's cpssl-acmems does not listen on $MGMT: $(cat "$u/serve.err")"
h__wait_listen "$H_HTTP_PORT" "$MAIN" 15 || t_bail "no challenge listener on $H_HTTP_PORT"
t_is "$(tr '\0' ' ' <"/proc/$MAIN/cmdline")" "${am[*]} serve " "the main process is the unit's ExecStart="
t_like "$(grep -E '^(Uid|CapEff):' "/proc/$MAIN/status" | tr '\t\n' '  ')" "^Uid: $uid $uid $uid $uid CapEff: 0000000000000400 $" \
	"  running as cpssl-acmems with cap_net_bind_service alone"
t_is "$(h_listen_addrs "$MAIN" | grep -vc '^127\.0\.0\.1:')" 0 "  every listener on 127.0.0.1"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$H_DIR/node.key" 2>/dev/null
openssl req -new -sha256 -key "$H_DIR/node.key" -subj "/CN=unit.test" \
	-addext "subjectAltName=DNS:unit.test,DNS:www.unit.test" -out "$H_DIR/node.csr" 2>/dev/null ||
	t_bail "cannot make a CSR"
hmac=$(openssl dgst -sha256 -hmac "$KEY" "$H_DIR/node.csr" | sed 's/.*= *//')
code=$(curl -sS -o "$H_DIR/chain.pem" -w '%{http_code}' --max-time 120 --data-binary "@$H_DIR/node.csr" \
	-H "Authentication: hmac name=sha256, hash=$hmac" "http://127.0.0.1:$MGMT/sign" 2>"$H_DIR/curl.err")
t_is "$code" 200 "POST /sign with the HMAC: 200" || t_diag "$(cat "$H_DIR/curl.err" "$H_DIR/chain.pem"; tail -n 5 "$u/serve.err")"
openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$H_DIR/chain.pem" "$H_DIR/chain.pem" >/dev/null 2>&1
t_ok $? "  the chain verifies against Pebble's root"
t_is "$(openssl x509 -in "$H_DIR/chain.pem" -noout -ext subjectAltName 2>/dev/null | grep -o 'DNS:[^,]*' | sort | tr '\n' ' ')" \
	"DNS:unit.test DNS:www.unit.test " "  for the CSR's names (http-01 through the unit's challenge listener)"
t_is "$(openssl x509 -in "$H_DIR/chain.pem" -noout -pubkey | openssl sha256)" \
	"$(openssl pkey -in "$H_DIR/node.key" -pubout | openssl sha256)" "  with the node's own key"
code=$(curl -sS -o /dev/null -w '%{http_code}' --data-binary "@$H_DIR/node.csr" \
	-H "Authentication: hmac name=sha256, hash=${hmac//[0-9]/0}" "http://127.0.0.1:$MGMT/sign" 2>/dev/null)
t_is "$code" 403 "  a wrong HMAC: 403"
t_like "$(cat "$acct/requests.log" 2>/dev/null)" "auth=web names=unit\.test,www\.unit\.test status=200 issued" \
	"requests.log in the account directory has the request"
t_is "$(find "$acct/certs" -name '*.pem' -uid "$uid" 2>/dev/null | wc -l)" 1 "  the chain is cached below it, the user's"
t_unlike "$(cat "$u/serve.err")" "$KEY" "  the HMAC key is in no message"

# --- systemctl stop ---------------------------------------------------------------------------
kill -TERM "$SBPID"
wait "$SBPID"
t_is "$?:$(cat "$u/status" 2>/dev/null)" "0:0" "stopped with SIGTERM (as systemctl stop), serve exits 0: a success"
t_like "$(cat "$u/serve.err")" "stopping the unit.*${nl}INFO    : cpssl-acmems stops \(signal 15\)${nl}unit-sandbox: stopped${nl}unit-sandbox: main process exited, status=0: success\$" \
	"  as the sandbox reports it"
t_unlike "$(cat "$u/serve.err")" "(outlived|ERROR)" "  with no error and no process outliving it"
t_is "$(kill -0 "$MAIN" 2>&1; echo $?)" "$(kill -0 "$MAIN" 2>&1 >/dev/null; echo 1)" "  the main process is gone"
t_is "$(h_listen_addrs "$MAIN" 2>/dev/null | wc -l)" 0 "  and so are its listeners"
out=$(curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$MGMT/sign" 2>&1)
t_like "$out" "(Connection refused|Failed to connect)" "  nothing answers on $MGMT"

t_is "$(snapshot)" "$before_machine" "the machine's own paths are as they were"
t_done
