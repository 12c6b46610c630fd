#!/bin/bash
# The servers work together the way cpssl will use them: a minimal ACME
# client written here in bash + openssl + curl gets certificates from the
# harness Pebble, which resolves through the harness BIND and validates
# http-01 against the harness Apache and dns-01 against BIND TXT records.
# (It proves the wiring: ports, DNS, challenge dir, trust files.)
# shellcheck source=../harness/lib.sh
. "$(dirname "$0")/../harness/lib.sh"
h_init
t_plan_none
command -v jq >/dev/null || t_bail "jq is needed by this test (apt-get install jq)"

h_start_bind test
t_ok $? "BIND starts" || t_bail "BIND did not start"
h_start_pebble
t_ok $? "Pebble starts" || t_bail "Pebble did not start"
h_start_apache
t_ok $? "Apache starts on Pebble's http-01 port" || t_bail "Apache did not start"
h_dns_add http.test A 127.0.0.1 && h_dns_add dns.test A 127.0.0.1
t_ok $? "A records for http.test and dns.test"

W="$H_DIR/acme"
mkdir -p "$W"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# ---- account key and JWK ---------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/account.key" 2>/dev/null
pub_hex=$(openssl pkey -in "$W/account.key" -pubout -outform DER | od -An -v -tx1 | tr -d ' \n')
pub_hex=${pub_hex: -128}                              # X || Y after the 0x04
jwk_x=$(printf '%s' "${pub_hex:0:64}" | xxd -r -p | b64url)
jwk_y=$(printf '%s' "${pub_hex:64:64}" | xxd -r -p | b64url)
jwk=$(printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$jwk_x" "$jwk_y")
thumb=$(printf '%s' "$jwk" | openssl dgst -sha256 -binary | b64url)

CURL=(curl -sS --max-time 10 --cacert "$H_PEBBLE_TLS_CA")
dir=$("${CURL[@]}" "$H_PEBBLE_DIR_URL")
NONCE=
KID=

new_nonce() {
    NONCE=$("${CURL[@]}" -I "$(jq -r .newNonce <<<"$dir")" | tr -d '\r' |
        sed -n 's/^[Rr]eplay-[Nn]once: //p')
}

# post URL PAYLOAD — signed POST; sets BODY, HDRS, STATUS.  PAYLOAD "" = POST-as-GET.
post() {
    local url=$1 payload=$2 prot sig_der r s asn try
    for ((try = 0; try < 5; try++)); do
        [ -n "$NONCE" ] || new_nonce
        if [ -n "$KID" ]; then
            prot=$(jq -cn --arg n "$NONCE" --arg u "$url" --arg k "$KID" '{alg:"ES256",kid:$k,nonce:$n,url:$u}')
        else
            prot=$(jq -cn --arg n "$NONCE" --arg u "$url" --argjson j "$jwk" '{alg:"ES256",jwk:$j,nonce:$n,url:$u}')
        fi
        local p64 pl64
        p64=$(printf '%s' "$prot" | b64url)
        pl64=$(printf '%s' "$payload" | b64url)
        printf '%s.%s' "$p64" "$pl64" | openssl dgst -sha256 -sign "$W/account.key" >"$W/sig.der"
        asn=$(openssl asn1parse -inform DER -in "$W/sig.der" | sed -n 's/.*INTEGER *:\([0-9A-F]*\).*/\1/p')
        r=$(sed -n 1p <<<"$asn")
        s=$(sed -n 2p <<<"$asn")
        # DER integers drop leading zero bytes (and add one before a high bit):
        # left-pad to 32 bytes first, then keep the last 32
        r=$(printf '%064s' "$r" | tr ' ' 0)
        s=$(printf '%064s' "$s" | tr ' ' 0)
        r=${r:${#r}-64}
        s=${s:${#s}-64}
        sig_der=$(printf '%s%s' "$r" "$s" | xxd -r -p | b64url)
        "${CURL[@]}" -D "$W/hdrs" -o "$W/body" -H 'Content-Type: application/jose+json' \
            --data-binary "$(jq -cn --arg p "$p64" --arg l "$pl64" --arg s "$sig_der" \
                '{protected:$p,payload:$l,signature:$s}')" "$url"
        HDRS=$(tr -d '\r' <"$W/hdrs")
        BODY=$(cat "$W/body")
        STATUS=$(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' <<<"$HDRS")
        NONCE=$(sed -n 's/^[Rr]eplay-[Nn]once: //p' <<<"$HDRS")
        if [ "$STATUS" = 400 ] && [ "$(jq -r .type <<<"$BODY" 2>/dev/null)" = "urn:ietf:params:acme:error:badNonce" ]; then
            continue
        fi
        return 0
    done
}

# poll URL FIELD WANT — POST-as-GET until .status is WANT (20 x 0.25 s).
poll() {
    local i
    for ((i = 0; i < 40; i++)); do
        post "$1" ""
        [ "$(jq -r .status <<<"$BODY")" = "$2" ] && return 0
        [ "$(jq -r .status <<<"$BODY")" = invalid ] && return 1
        sleep 0.25
    done
    return 1
}

post "$(jq -r .newAccount <<<"$dir")" '{"termsOfServiceAgreed":true}'
t_is "$STATUS" 201 "newAccount creates an account" || t_diag "$BODY"
KID=$(sed -n 's/^[Ll]ocation: //p' <<<"$HDRS")

# issue NAME TYPE — one order for NAME solved with TYPE; sets CERT_PEM file.
issue() {
    local name=$1 type=$2 order_url authz ch token ka finalize
    post "$(jq -r .newOrder <<<"$dir")" "$(jq -cn --arg n "$name" '{identifiers:[{type:"dns",value:$n}]}')"
    [ "$STATUS" = 201 ] || { t_diag "newOrder: $STATUS $BODY"; return 1; }
    order_url=$(sed -n 's/^[Ll]ocation: //p' <<<"$HDRS")
    finalize=$(jq -r .finalize <<<"$BODY")
    authz=$(jq -r '.authorizations[0]' <<<"$BODY")
    post "$authz" ""
    ch=$(jq -r --arg t "$type" '.challenges[] | select(.type==$t) | .url' <<<"$BODY")
    token=$(jq -r --arg t "$type" '.challenges[] | select(.type==$t) | .token' <<<"$BODY")
    [[ $token =~ ^[A-Za-z0-9_-]+$ ]] || { t_diag "bad token '$token'"; return 1; }
    ka="$token.$thumb"
    if [ "$type" = http-01 ]; then
        printf '%s' "$ka" >"$H_CHALLENGE_DIR/.well-known/acme-challenge/$token"
        chmod 0644 "$H_CHALLENGE_DIR/.well-known/acme-challenge/$token"
    else
        h_dns_add "_acme-challenge.$name" TXT "$(printf '%s' "$ka" | openssl dgst -sha256 -binary | b64url)" ||
            { t_diag "h_dns_add TXT failed"; return 1; }
    fi
    post "$ch" '{}'
    [ "$STATUS" = 200 ] || { t_diag "challenge: $STATUS $BODY"; return 1; }
    if ! poll "$authz" valid; then
        t_diag "authorization not valid: $BODY"
        return 1
    fi
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$name.key" \
        -subj "/CN=$name" -addext "subjectAltName=DNS:$name" -outform DER -out "$W/$name.csr" 2>/dev/null
    post "$finalize" "$(jq -cn --arg c "$(b64url <"$W/$name.csr")" '{csr:$c}')"
    if ! poll "$order_url" valid; then
        t_diag "order not valid: $BODY"
        return 1
    fi
    post "$(jq -r .certificate <<<"$BODY")" ""
    [ "$STATUS" = 200 ] || { t_diag "certificate: $STATUS $BODY"; return 1; }
    printf '%s\n' "$BODY" >"$W/$name.chain.pem"
    CERT_PEM="$W/$name.chain.pem"
}

FP_RE='^([0-9A-F]{2}:){31}[0-9A-F]{2}$'
for pair in "http.test http-01" "dns.test dns-01"; do
    read -r name type <<<"$pair"
    issue "$name" "$type"
    t_ok $? "$type issuance for $name through Pebble, BIND and Apache" || continue
    openssl x509 -in "$CERT_PEM" -out "$W/$name.leaf.pem"
    awk 'n>=1{print} /END CERTIFICATE/{n++}' "$CERT_PEM" >"$W/$name.rest.pem"
    t_like "$(openssl verify -CAfile "$H_PEBBLE_ROOT" -untrusted "$W/$name.rest.pem" "$W/$name.leaf.pem" 2>&1)" ': OK$' \
        "$name: the issued chain verifies against H_PEBBLE_ROOT"
    t_like "$(openssl x509 -in "$W/$name.leaf.pem" -noout -ext subjectAltName)" "DNS:$name" "$name: SAN is $name"
done
t_like "$(cat "$H_DIR/apache/logs/access.log")" 'GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200 .*host=http\.test' \
    "Apache served the token to Pebble (Host: http.test)"

# deploy the issued certificate to Apache and check what a client sees
h_apache_add_tls_vhost http.test "$W/http.test.leaf.pem" "$W/http.test.key" "$W/http.test.rest.pem"
h_apache_graceful
t_ok $? "graceful with the issued certificate"
fp=$(h_cert_fingerprint "$W/http.test.leaf.pem")
t_like "$fp" "$FP_RE" "issued certificate fingerprint"
t_is "$(h_tls_fingerprint "$H_HTTPS_PORT" http.test)" "$fp" "Apache serves the issued certificate"
cat "$H_PEBBLE_ROOT" >"$W/trust.pem"
got=$(curl -sS --max-time 5 --cacert "$W/trust.pem" --resolve "http.test:$H_HTTPS_PORT:127.0.0.1" \
    -o /dev/null -w '%{http_code}' "https://http.test:$H_HTTPS_PORT/.well-known/acme-challenge/none")
t_is "$got" 404 "curl trusting only H_PEBBLE_ROOT accepts Apache's TLS"

t_done
