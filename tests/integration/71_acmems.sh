#!/usr/bin/env bash
# also-asan
# cpssl-acmems against real Pebble and BIND: register (terms accepted
# explicitly), serve; the seed's wget --post-file /sign command lines with
# and without the openssl dgst -hmac header; http-01 answered by the
# daemon's challenge listener (on Pebble's http-01 port); dns-01 through
# BIND with TSIG; the cache (same CSR, same certificate, no new order);
# every refusal (wrong HMAC, address, names outside the globs, a wildcard
# without an explicit glob, oversize, malformed, no Content-Length, a
# spoofed X-Forwarded-For); slow clients do not stop another and are cut
# off at request-timeout (headers or body trickled a byte at a time); 50
# concurrent clients; status; one log line per request without secrets.
# Two web nodes (Apache, mod_proxy) forward /.well-known/acme-challenge/ to
# the daemon's challenge listener: node A on Pebble's http-01 port for the
# requests above; then A goes down and node B takes the address over and
# gets a certificate for its own key the same way.
. "$(dirname "$0")/../harness/lib.sh"
h_init
top=$(cd "$(dirname "$0")/../.." && pwd)
# the cpssl-acmems of the build under test (run.sh sets CPCMD per variant)
AM=${ACMEMS:-$(dirname "${CPCMD:-$top/build/plain/cpcmd}")/cpssl-acmems}
[ -x "$AM" ] || t_bail "$AM is missing (make)"
h_start_bind test || t_bail "cannot start BIND"
h_start_pebble || t_bail "cannot start Pebble"
plog=$H_DIR/pebble/pebble.log
orders() { grep -c 'POST /order-plz' "$plog"; }
for n in web.test www.web.test open.test www.open.test secure.test far.test other.test x.pat.test \
	'*.many.test'; do
	h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
done
MGMT=$(h_free_port) || t_bail "no port"
CHAL=$(h_free_port) || t_bail "no port"
W=$H_DIR/am
mkdir -p "$W"
cd "$W" || t_bail "no $W"
cat >"$W/acmems.ini" <<EOF
[account]
acme-server = $H_PEBBLE_DIR_URL
dir = $W/account
ca-bundle = $H_PEBBLE_TLS_CA

[mgmt]
mgmt = 127.0.0.1:$MGMT
max-size = 4k
request-timeout = 5
default-verification = http
default-storage = file

[verification "http"]
type = http01
listener = 127.0.0.1:$CHAL

[verification "dns"]
type = dns01-dnsUpdate
dns-server = 127.0.0.1:$H_DNS_PORT
ttl = 5
timeout = 20
tsig-key-name = $H_TSIG_NAME
tsig-key-algorithm = $H_TSIG_ALG
tsig-key-secret = $H_TSIG_SECRET

[storage "none"]
type = none

[storage "file"]
type = file
directory = $W/storage
renew-within = 14

[auth "web"]
ip = 127.0.0.0/8
hmac_type = sha256
hmac_key = \$KEY
domain = web.test
domain = *.web.test

[auth "secure"]
ip = 127.0.0.1
hmac_type = sha256
hmac_key = S3cretSeedKeyA1YP67
domain = secure.test

[auth "open"]
ip = 127.0.0.1
ip = ::1
domain = open.test
domain = www.open.test
domain = *.many.test

[auth "dns"]
verification = dns
storage = none
ip = 127.0.0.1
domain = dns.test
domain = *.dns.test

[auth "pat"]
ip = 127.0.0.1
domain = *.pat.test

[auth "far"]
ip = 192.0.2.0/24
ip = 198.51.100.21
domain = far.test
EOF

# --- register ------------------------------------------------------------------------
out=$("$AM" -c "$W/acmems.ini" register --email admin@web.test 2>&1)
t_is "$?" 1 "register refuses without --accept-terms"
t_like "$out" "terms of service.*--accept-terms" "  saying what to do"
t_is "$(grep -c 'POST /new-acct' "$plog")" 0 "  and nothing reached the CA"
out=$("$AM" -c "$W/acmems.ini" register --email admin@web.test --accept-terms 2>&1)
t_is "$?" 0 "register --accept-terms" || t_diag "$out"
t_like "$out" "account: https://127\.0\.0\.1:$H_PEBBLE_PORT/" "  prints the account URL"

# --- serve ---------------------------------------------------------------------------
"$AM" -c "$W/acmems.ini" serve 2>"$W/serve.log" &
AMPID=$!
h__record_pid acmems "$AMPID" >/dev/null
h__wait_listen "$MGMT" "$AMPID" 15 || t_bail "cpssl-acmems does not listen on $MGMT: $(cat "$W/serve.log")"
h__wait_listen "$CHAL" "$AMPID" 15 || t_bail "no challenge listener on $CHAL"

# web_node NAME — an Apache on Pebble's http-01 port forwarding the
# challenge path to the daemon (ACMEMS's "proxy_pass" prerequisite)
web_node() {
	local d=$H_DIR/node-$1 pid='' i
	mkdir -p "$d/run" "$d/logs" "$d/htdocs" && chmod 0755 "$d" "$d/htdocs"
	cat >"$d/httpd.conf" <<NODEEOF
ServerRoot "$d"
DefaultRuntimeDir "$d/run"
PidFile "$d/run/httpd.pid"
Mutex file:$d/run default
ErrorLog "$d/logs/error.log"
ServerName $1.web.test
User www-data
Group www-data
LoadModule mpm_event_module $H_APACHE_MODDIR/mod_mpm_event.so
LoadModule authz_core_module $H_APACHE_MODDIR/mod_authz_core.so
LoadModule proxy_module $H_APACHE_MODDIR/mod_proxy.so
LoadModule proxy_http_module $H_APACHE_MODDIR/mod_proxy_http.so
Listen 127.0.0.1:$H_HTTP_PORT
LogFormat "%h \"%r\" %>s" node
CustomLog "$d/logs/access.log" node
DocumentRoot "$d/htdocs"
<Directory />
    Require all granted
</Directory>
ProxyPreserveHost On
ProxyPass /.well-known/acme-challenge/ http://127.0.0.1:$CHAL/.well-known/acme-challenge/
NODEEOF
	apache2 -f "$d/httpd.conf" -k start </dev/null >"$d/logs/startup.log" 2>&1 || return 1
	for ((i = 0; i < 150; i++)); do
		[ -s "$d/run/httpd.pid" ] && read -r pid <"$d/run/httpd.pid" && [[ $pid =~ ^[0-9]+$ ]] && break
		sleep 0.1
	done
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	h__record_pid "apache-$1" "$pid" >/dev/null
	h__wait_listen "$H_HTTP_PORT" "$pid" 15 || return 1
	printf '%s\n' "$pid"
}
NODE_A=$(web_node a) || t_bail "web node a does not start: $(cat "$H_DIR"/node-a/logs/*.log)"
t_is "$(h_listen_addrs "$AMPID" | grep -vc '^127\.0\.0\.1:')" 0 "every listener is on 127.0.0.1"
URL=http://127.0.0.1:$MGMT/sign
chain_ok() { openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$1" "$1" >/dev/null 2>&1; }
sans() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | grep -o 'DNS:[^,]*' | sed 's/^DNS://' | sort | tr '\n' ' '; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null; }
keymatch() { [ "$(openssl x509 -in "$1" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$2" -pubout | openssl sha256)" ]; }
post() { # post FILE [curl args…] → CODE and BODY
	BODY=$(curl -sS -o - -w '\n%{http_code}' --data-binary "@$1" "${@:2}" "$URL" 2>&1)
	CODE=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
}
csr() { # csr KEY FILE NAME [NAME…]
	local key=$1 file=$2 cn=$3 san="" n
	shift 3
	for n in "$cn" "$@"; do san+="${san:+,}DNS:$n"; done
	[ -f "$key" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
	openssl req -new -sha256 -key "$key" -subj "/CN=$cn" -addext "subjectAltName=$san" -out "$file" 2>/dev/null
}

# --- the seed's command lines, verbatim (the host and port aside) -------------------------
# generate domain private key (once!)
openssl genrsa 4096 > domain.key 2>/dev/null
openssl req -new -sha256 -key domain.key -subj "/CN=web.test" -reqexts SAN -config <(cat /etc/ssl/openssl.cnf <(printf "[SAN]\nsubjectAltName=DNS:web.test,DNS:www.web.test")) > domain-201512.csr
o0=$(orders)
# wget keeps the answer as ./sign, its name for the URL (the > redirect gets
# nothing): each run in a directory of its own
mkdir w1 w2 w3 && cd w1 || t_bail "no w1"
cp ../domain-201512.csr . && wget --post-file=domain-201512.csr --header="`openssl dgst -sha256 -hmac '$KEY' domain-201512.csr | sed -e 's/HMAC-\(.*\)(.*)= *\(.*\)/Authentication: hmac name=\L\1\E, hash=\2/'`" http://127.0.0.1:$MGMT/sign > domain-201512.pem 2>wget.err
cd .. && cp w1/sign domain-201512.pem
t_is "$?" 0 "the seed's wget with the openssl dgst -hmac header is signed" || t_diag "$(cat wget.err)"
chain_ok domain-201512.pem
t_ok $? "  the answer is a chain that verifies against Pebble's root"
t_is "$(sans domain-201512.pem)" "web.test www.web.test " "  for exactly the CSR's names (http-01 via the challenge listener)"
keymatch domain-201512.pem domain.key
t_ok $? "  with the client's own key"
t_is "$(grep -c BEGIN domain-201512.pem)" 2 "  leaf and intermediate"
t_is "$(($(orders) - o0))" 1 "  one order"
t_like "$(cat "$W/serve.log")" "client=127\.0\.0\.1 auth=web names=web\.test,www\.web\.test status=200 issued" \
	"  logged: client, auth block, names, outcome"
# the same CSR again: the cached certificate, no new order
o1=$(orders)
cd w2 && cp ../domain-201512.csr . && wget --post-file=domain-201512.csr --header="`openssl dgst -sha256 -hmac '$KEY' domain-201512.csr | sed -e 's/HMAC-\(.*\)(.*)= *\(.*\)/Authentication: hmac name=\L\1\E, hash=\2/'`" http://127.0.0.1:$MGMT/sign > domain-201512.pem 2>/dev/null
cd .. && cp w2/sign again.pem
chain_ok again.pem
t_ok $? "  a chain again"
t_is "$(fp again.pem)" "$(fp domain-201512.pem)" "the same CSR gets the same certificate from the cache"
t_is "$(orders)" "$o1" "  and no new order"
t_like "$(tail -1 "$W/serve.log")" "status=200 cached \(storage file\)" "  logged as cached"
ls "$W"/storage/*.pem >/dev/null 2>&1
t_is "$?" 0 "  kept under the storage directory"

# upload csr without sign (the seed's second line)
openssl genrsa 4096 > open.key 2>/dev/null
openssl req -new -sha256 -key open.key -subj "/CN=open.test" -reqexts SAN -config <(cat /etc/ssl/openssl.cnf <(printf "[SAN]\nsubjectAltName=DNS:open.test")) > open.csr
cd w3 && cp ../open.csr . && wget --post-file=open.csr http://127.0.0.1:$MGMT/sign > open.pem 2>wget.err
t_is "$?" 0 "the seed's unsigned wget is signed for a block without hmac" || t_diag "$(cat wget.err)"
cd .. && cp w3/sign open.pem
t_is "$(sans open.pem)" "open.test " "  for open.test"

# --- dns-01 through BIND (TSIG) ---------------------------------------------------------
csr d.key d.csr dns.test '*.dns.test'
post d.csr
t_is "$CODE" 200 "a wildcard + apex through the dns01-dnsUpdate block" || t_diag "$BODY"
printf '%s\n' "$BODY" >d.pem
t_is "$(sans d.pem)" "*.dns.test dns.test " "  both names"
t_is "$(h_dig _acme-challenge.dns.test TXT)" "" "  the TXT records are gone again"
t_like "$(named-journalprint "$H_DIR/bind/zones/test.db.jnl" 2>/dev/null | grep '^add _acme-challenge\.dns\.test\. ' | sort -u)" \
	"^add _acme-challenge\.dns\.test\.[[:space:]]+5[[:space:]]+IN[[:space:]]+TXT[[:space:]]" "  they were published with the block's ttl (5 s), as the zone's journal shows"
o2=$(orders)
post d.csr
t_is "$CODE:$(($(orders) - o2))" "200:1" "  storage none: the same CSR orders again"

# --- refusals ------------------------------------------------------------------------------
csr s.key s.csr secure.test
o3=$(orders)
post s.csr -H "Authentication: hmac name=sha256, hash=$(openssl dgst -sha256 -hmac WrongKey -r s.csr | cut -d' ' -f1)"
t_is "$CODE" 403 "a wrong HMAC is refused (403)"
t_like "$BODY" "auth secure: the Authentication header's HMAC does not match" "  saying why, in one line"
post s.csr
t_like "$CODE:$BODY" "^403:.*auth secure: no Authentication header" "no header where hmac is required: 403"
post s.csr -H "Authentication: hmac name=sha256, hash=$(openssl dgst -sha256 -hmac S3cretSeedKeyA1YP67 -r s.csr | cut -d' ' -f1)"
t_is "$CODE" 200 "  the right key is signed"
post s.csr -H "Authentication: hmac name=md5, hash=$(openssl dgst -md5 -hmac S3cretSeedKeyA1YP67 -r s.csr | cut -d' ' -f1)"
t_is "$CODE" 403 "  an HMAC with another digest than hmac_type is refused"
csr f.key f.csr far.test
post f.csr
t_like "$CODE:$BODY" "^403:.*auth far: the client's address is not in its ip list" "an address outside the ip list: 403"
post f.csr -H "X-Forwarded-For: 192.0.2.7" -H "X-Real-IP: 192.0.2.7"
t_like "$CODE:$BODY" "^403:.*auth far: the client's address" "  a spoofed X-Forwarded-For changes nothing"
csr o.key o.csr other.test
post o.csr
t_like "$CODE:$BODY" "^403:.*other\.test is not within its domains" "a name outside every block's globs: 403"
csr m.key m.csr open.test other.test
post m.csr
t_is "$CODE" 403 "  one name outside is enough"
csr p.key p.csr '*.x.pat.test'
post p.csr
t_like "$CODE:$BODY" "^403:.*\*\.x\.pat\.test is not within its domains \(a wildcard needs" \
	"a wildcard name with only a pattern glob (*.pat.test): 403"
csr p2.key p2.csr x.pat.test
post p2.csr
t_is "$CODE" 200 "  while the pattern allows x.pat.test"
head -c 5000 /dev/zero | tr '\0' A >big.csr
post big.csr
t_like "$CODE:$BODY" "^413:.*over max-size 4096" "a body over max-size: 413"
printf -- '-----BEGIN CERTIFICATE REQUEST-----\nnotbase64\n-----END CERTIFICATE REQUEST-----\n' >bad.csr
post bad.csr
t_like "$CODE:$BODY" "^400:bad request: .*not a PEM or DER certificate request" "a malformed CSR: 400"
post open.csr -H "Transfer-Encoding: chunked"
t_like "$CODE:$BODY" "^411:.*Content-Length header is required" "no Content-Length: refused (411)"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL")
t_is "$CODE" 405 "GET /sign: 405"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CHAL/.well-known/acme-challenge/nosuchtoken")
t_is "$CODE" 404 "the challenge listener answers 404 for a token it did not publish"
t_is "$(curl -s "http://127.0.0.1:$H_HTTP_PORT/.well-known/acme-challenge/nosuchtoken")" "no such challenge" \
	"  and so does web node a, forwarding it"
t_is "$(($(orders) - o3))" 2 "refusals reach no CA (two orders: secure.test, x.pat.test)"
t_unlike "$(cat "$W/serve.log" "$W/account/requests.log")" "S3cretSeedKeyA1YP67|KEY" "no HMAC key in the logs"

# --- slow clients: another is served meanwhile, and each is cut off at request-timeout --
# trickle FD TEXT MARK: TEXT, then a byte every 0.2 s for up to 30 s, or until a
# write fails (the server closed the connection); MARK gets how many went out
trickle() {
	local k
	trap '' PIPE
	printf '%s' "$2" >&"$1" || return
	for ((k = 0; k < 150; k++)); do
		printf a >&"$1" 2>/dev/null || break
		sleep 0.2
	done
	echo "$k" >"$3"
}
exec 7<>"/dev/tcp/127.0.0.1/$MGMT" 8<>"/dev/tcp/127.0.0.1/$MGMT"
trickle 7 $'POST /sign HTTP/1.1\r\nHost: x\r\nX-Slow: ' slow-headers.n &
slow1=$!
trickle 8 $'POST /sign HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n' slow-body.n &
slow2=$!
post open.csr
t_is "$CODE" 200 "another client is served while two slow ones trickle headers and a body"
t_ok "$([ ! -e slow-headers.n ] && [ ! -e slow-body.n ]; echo $?)" "  (both were still sending)"
wait "$slow1" "$slow2"
exec 7>&- 8>&-
t_ok "$([ "$(cat slow-headers.n)" -lt 150 ]; echo $?)" \
	"a client trickling its headers is cut off before it ends (request-timeout; the idle timeout never fires)"
t_ok "$([ "$(cat slow-body.n)" -lt 150 ]; echo $?)" "  and so is one trickling its body"
t_is "$(grep -c 'client=127\.0\.0\.1 auth=- names=- status=408 the request was not received within request-timeout 5 s' \
	"$W/serve.log")" 2 "  each logged once (408, the client, the time it had)"

# --- 50 concurrent clients (10 CSRs, 5 clients each) -------------------------------------
for i in $(seq 1 10); do csr "c$i.key" "c$i.csr" "c$i.many.test"; done
o4=$(orders)
pids=()
for j in $(seq 1 50); do
	i=$(((j - 1) % 10 + 1))
	curl -sS -o "out$j.pem" -w '%{http_code}' --max-time 300 --data-binary "@c$i.csr" "$URL" >"code$j" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
good=0
for j in $(seq 1 50); do
	i=$(((j - 1) % 10 + 1))
	[ "$(cat "code$j")" = 200 ] && chain_ok "out$j.pem" && keymatch "out$j.pem" "c$i.key" &&
		[ "$(sans "out$j.pem")" = "c$i.many.test " ] && good=$((good + 1))
done
t_is "$good" 50 "50 concurrent clients all get a valid chain for their own key and names"
t_is "$(($(orders) - o4))" 10 "  one order per distinct CSR (identical concurrent requests share it)"
t_is "$(fp out1.pem)" "$(fp out11.pem)" "  clients with the same CSR get the same certificate"

# --- web nodes: the challenges went through node a; b takes over -----------------------
t_like "$(cat "$H_DIR/node-a/logs/access.log")" '"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200' \
	"Pebble's http-01 requests went through web node a to the daemon"
h__stop_pid "$NODE_A" "$(h__recorded_start "$NODE_A")" apache-a
h__unrecord_pid "$NODE_A"
NODE_B=$(web_node b) || t_bail "web node b does not start: $(cat "$H_DIR"/node-b/logs/*.log)"
csr nb.key nb.csr www.web.test
post nb.csr -H "Authentication: hmac name=sha256, hash=$(openssl dgst -sha256 -hmac '$KEY' -r nb.csr | cut -d' ' -f1)"
t_is "$CODE" 200 "web node b, with its own key, is signed after it took the address over"
printf '%s\n' "$BODY" >nb.pem
keymatch nb.pem nb.key
t_ok $? "  for its own key"
t_like "$(cat "$H_DIR/node-b/logs/access.log")" '"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200' \
	"  validated through web node b"

# --- status ------------------------------------------------------------------------------
st=$("$AM" -c "$W/acmems.ini" status -o json)
t_is "$?" 0 "status -o json"
t_is "$(jq -r '[.listeners[].address] | join(" ")' <<<"$st")" "127.0.0.1:$MGMT 127.0.0.1:$CHAL" "  the listeners"
t_is "$(jq -r '[.auth[].name] | join(" ")' <<<"$st")" "web secure open dns pat far" "  the auth blocks"
t_unlike "$st" "S3cretSeedKeyA1YP67" "  without their keys"
jq -e '[.cached[] | select(.names == ["web.test","www.web.test"])] | length == 1' <<<"$st" >/dev/null
t_ok $? \
	"  the cached certificate for web.test"
t_like "$(jq -r '.recent_requests[-1]' <<<"$st")" "status=" "  the recent requests"
txt=$("$AM" -c "$W/acmems.ini" status)
t_like "$txt" "auth:" "status as text"
t_is "$(grep -c 'acmems: .* status=' "$W/serve.log")" "$(wc -l <"$W/account/requests.log")" \
	"one log line per request, on stderr and in requests.log"

kill -TERM "$AMPID"
wait "$AMPID"
t_is "$?" 0 "serve stops cleanly on SIGTERM"
t_done
