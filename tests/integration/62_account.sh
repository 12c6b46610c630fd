#!/usr/bin/env bash
# also-asan
# The ACME account's life against Pebble 2.10 (which implements keyChange
# and deactivation): letsencrypt:account shows what the CA has; rollover-key
# moves the account to a new key (the old one is then refused by the CA,
# issuance goes on with the new one), also when the CA refuses the change
# (the new key belongs to another account: 409) and when cpcmd is killed
# before or after the CA's answer; common:set-email updates the contact at
# the CA at once, or at the next request when the CA cannot be reached;
# deactivate-account wants a confirmation, then the CA refuses the account,
# its key is kept aside, and the next request registers a new account (also
# after a kill between the CA's answer and moving the key).
. "$(dirname "$0")/../harness/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
faulty=$top/build/asan/cpcmd
[ -x "$faulty" ] || { echo "not ok 1 - the fault-injection build $faulty is missing (make VARIANT=asan unit-bins)"; exit 1; }
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
h_new_pebble || t_bail "the newer Pebble is missing (scripts/fetch-pebble)"
c_servers test
c_configure
for i in $(seq 1 12); do h_dns_add "r$i.a.test" A 127.0.0.1 || t_bail "cannot add r$i.a.test"; done
c_run site:add a.test "['ip':'127.0.0.1']"
db=$CPSSL_HOME/storage/cpssl.db
server=${H_PEBBLE_DIR_URL#https://}
adir=$CPSSL_HOME/storage/certificates/data/accounts/${server//\//.}
key=$adir/account.key
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# thumb FILE — the RFC 7638 thumbprint of a P-256 key file, computed here
thumb() {
	local hex x y
	hex=$(openssl pkey -in "$1" -pubout -outform DER | od -An -v -tx1 | tr -d ' \n')
	hex=${hex: -128}
	x=$(printf '%s' "${hex:0:64}" | xxd -r -p | b64url)
	y=$(printf '%s' "${hex:64:64}" | xxd -r -p | b64url)
	printf '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" | openssl dgst -sha256 -binary | b64url
}
# acct [HOME] — letsencrypt:account as JSON (in another CPSSL_HOME when given)
acct() { if [ -n "${1:-}" ]; then CPSSL_HOME=$1 c_run -o json letsencrypt:account; else c_run -o json letsencrypt:account; fi; }
j() { jq -r "$1" <<<"$OUT"; }
mode() { stat -c %a "$1"; }
# req — a request for a name of its own (the duplicate limit stays far)
n=0
req() { n=$((n + 1)); c_run -d site1 letsencrypt:request "[r$n.a.test]"; }
kid_db() { sqlite3 "$db" "SELECT kid FROM acme_accounts"; }
# stopped PID — the process is stopped (SIGSTOP at a fault point)
stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]; }

# --- before any account ---------------------------------------------------------
acct
t_is "$RC" 0 "letsencrypt:account before any account"
t_is "$(j .status):$(j .account):$(j .key)" "none:null:null" "  status none, no URL, no key"
t_is "$(j .directory):$(j .configured)" "$H_PEBBLE_DIR_URL:true" "  for the configured CA"
c_run letsencrypt:rollover-key
t_is "$RC" 3 "rollover-key without an account: nothing to do"
t_like "$ERR" "WARNING : there is no ACME account at $H_PEBBLE_DIR_URL yet" "  saying so"
c_run letsencrypt:deactivate-account true
t_is "$RC" 3 "deactivate-account without an account: nothing to do"
c_run -d site1 letsencrypt:account
t_is "$RC" 2 "the account commands are server-wide (-d refused)"

# --- what the CA has ----------------------------------------------------------------
req
t_is "$RC" 0 "the first request registers the account"
kid=$(kid_db)
acct
t_is "$(j .status)" valid "letsencrypt:account: status valid, from the CA"
t_is "$(j .account)" "$kid" "  the account URL"
t_is "$(j '.contact | join(",")')" "mailto:admin@test.test" "  the CA's contact"
t_is "$(j .key.type)" ec-256 "  key type"
t_is "$(j .key.thumbprint)" "$(thumb "$key")" "  the key's JWK thumbprint (RFC 7638, computed here with openssl)"
t_is "$(j .key.path)" "$key" "  its path"
t_is "$(date -ud "$(j .key.created)" +%s)" "$(stat -c %Y "$key")" "  when the key was made"
body=$(sed -n '2p' "$key")
t_is "$(grep -c -e PRIVATE -e "$body" <<<"$OUT$ERR")" 0 "  no private key material in the output"
c_run letsencrypt:account
t_like "$OUT" "^directory: $H_PEBBLE_DIR_URL" "  YAML by default"

# --- rollover ---------------------------------------------------------------------------
cp -p "$key" "$H_DIR/old.key"
tp0=$(thumb "$key")
c_run -o json letsencrypt:rollover-key
t_is "$RC" 0 "rollover-key"
t_like "$ERR" "INFO    : rolled the key of the ACME account $kid at $H_PEBBLE_DIR_URL over: thumbprint [^ ]+, before $tp0" "  INFO with both thumbprints"
tp1=$(thumb "$key")
t_isnt "$tp1" "$tp0" "  account.key is a new key"
t_is "$(j .key.thumbprint):$(j .status):$(j .account)" "$tp1:valid:$kid" "  it prints the account: new thumbprint, valid, same URL (asked with the new key)"
t_is "$(mode "$key")" 600 "  account.key is 0600"
t_is "$(ls -a "$adir" | grep -c 'account\.key\.')" 0 "  nothing left beside it"
DEBUG=1 req
t_is "$RC" 0 "a request works with the new key"
t_is "$(grep -c 'registered an ACME account' <<<"$ERR")" 0 "  with the same account"
t_is "$(kid_db)" "$kid" "  (same URL recorded)"
# the old key, put back in a copy of CPSSL_HOME, can no longer act for the account
cp -a "$CPSSL_HOME" "$H_DIR/home-old"
cp -p "$H_DIR/old.key" "$H_DIR/home-old/${key#"$CPSSL_HOME"/}"
acct "$H_DIR/home-old"
t_is "$(j .status)" error "the old key cannot act for the account: the CA refuses its JWS"
t_like "$(j .error)" "JWS verification error" "  with the CA's error"
sqlite3 "$H_DIR/home-old/storage/cpssl.db" "DELETE FROM acme_accounts"
acct "$H_DIR/home-old"
t_is "$(j .status):$(j .account)" "missing:null" "  and the CA knows no account for it (onlyReturnExisting)"

c_run -o json letsencrypt:rollover-key ec-384
t_is "$RC:$(j .key.type):$(j .status)" "0:ec-384:valid" "rollover-key ec-384: another key type"
req
t_is "$RC" 0 "  a request works with it (ES384)"
c_run letsencrypt:rollover-key dsa
t_is "$RC" 1 "an unknown key type is refused"
c_run -o json letsencrypt:rollover-key ec-256
t_is "$RC:$(j .key.type)" "0:ec-256" "and back to ec-256"

# --- a CA error during keyChange: the new key already belongs to another account -----------
cp -p "$key" "$H_DIR/before.key"
CPSSL_FAULT_STOP=account-rollover-after-newkey "$faulty" letsencrypt:rollover-key >"$H_DIR/r.out" 2>"$H_DIR/r.err" &
pid=$!
for _ in $(seq 1 300); do stopped "$pid" && break; sleep 0.1; done
stopped "$pid"; t_ok $? "rollover-key stopped after writing the new key"
t_is "$(mode "$adir/account.key.next")" 600 "  account.key.next is 0600 from the start"
cmp -s "$key" "$H_DIR/before.key"; t_ok $? "  account.key is still the old key"
# meanwhile the new key becomes another account's, so the CA must refuse the change
mkdir -p "$H_DIR/home2/etc" "$H_DIR/home2/${adir#"$CPSSL_HOME"/}"
cp "$CPSSL_HOME/etc/config.ini" "$H_DIR/home2/etc/"
cp -p "$adir/account.key.next" "$H_DIR/home2/${key#"$CPSSL_HOME"/}"
CPSSL_HOME=$H_DIR/home2 "$CPCMD" common:set-email other@test.test >/dev/null 2>&1
CPSSL_HOME=$H_DIR/home2 c_run letsencrypt:update-contact
t_like "$ERR" "registered an ACME account" "  (another machine registers that key as its own account)"
kill -CONT "$pid"; wait "$pid"; rc=$?
t_is "$rc" 1 "the rollover fails"
# RFC 8555 wants 409 here; Pebble answers 200 and keeps the old key, which
# cpssl finds out by asking for the account with the new key
t_like "$(cat "$H_DIR/r.err")" "ERROR   : the CA $H_PEBBLE_DIR_URL (refused|answered) the key rollover of the ACME account $kid.*(another account's key|409).*; the old key \(thumbprint $(thumb "$H_DIR/before.key")\) stays the account key and nothing changed" \
	"  naming the CA, the account, what the CA did and what stays"
cmp -s "$key" "$H_DIR/before.key"; t_ok $? "  account.key is the old key"
t_is "$(ls -a "$adir" | grep -c 'account\.key\.')" 0 "  the refused key is dropped"
acct
t_is "$(j .status):$(j .key.thumbprint)" "valid:$(thumb "$H_DIR/before.key")" "  the old key still works for the account"
req
t_is "$RC" 0 "  and issues"

# --- a full disk while the new key is written ---------------------------------------------
CPSSL_FAULT_WRITE=account.key.next "$faulty" letsencrypt:rollover-key >/dev/null 2>"$H_DIR/r.err"
t_is "$?" 1 "rollover-key on a full disk fails"
t_like "$(cat "$H_DIR/r.err")" "the key rollover at $H_PEBBLE_DIR_URL did not start \(the old key stays\): cannot write .*account\.key\.next: No space left on device" \
	"  saying the old key stays and why"
cmp -s "$key" "$H_DIR/before.key"; t_ok $? "  account.key is untouched"
t_is "$(ls -a "$adir" | grep -c 'account\.key\.')" 0 "  no new key, no temporary file"

# --- killed before the CA answered ------------------------------------------------------
CPSSL_FAULT=account-rollover-after-newkey "$faulty" letsencrypt:rollover-key >/dev/null 2>&1
t_is "$?" 137 "rollover-key killed after writing the new key (before keyChange)"
t_is "$(mode "$adir/account.key.next"):$(cmp -s "$key" "$H_DIR/before.key" && echo old)" "600:old" \
	"  it leaves account.key (old) and account.key.next (0600)"
acct
t_like "$ERR" "INFO    : an interrupted key rollover of the ACME account $kid at $H_PEBBLE_DIR_URL is undone: the CA still uses the old key" \
	"the next command asks the CA with the new key, which it does not know"
t_is "$(j .status):$(j .key.thumbprint)" "valid:$(thumb "$H_DIR/before.key")" "  the old key stays"
t_is "$(ls -a "$adir" | grep -c 'account\.key\.')" 0 "  the new one is dropped"

# --- killed after the CA confirmed --------------------------------------------------------
CPSSL_FAULT=account-rollover-after-keychange "$faulty" letsencrypt:rollover-key >/dev/null 2>&1
t_is "$?" 137 "rollover-key killed after the CA confirmed the new key"
cp -p "$adir/account.key.next" "$H_DIR/next.key"
cmp -s "$key" "$H_DIR/before.key"; t_ok $? "  account.key is still the old key on disk"
DEBUG=1 req
t_is "$RC" 0 "the next request works" || t_diag "$ERR"
t_like "$ERR" "INFO    : an interrupted key rollover of the ACME account $kid at $H_PEBBLE_DIR_URL is finished: the CA uses the new key" \
	"  after finishing the rollover"
cmp -s "$key" "$H_DIR/next.key"; t_ok $? "  account.key is the new key"
t_is "$(mode "$key"):$(ls -a "$adir" | grep -c 'account\.key\.')" "600:0" "  0600, nothing left beside it"
t_is "$(grep -c 'registered an ACME account' <<<"$ERR")" 0 "  same account"

# --- contact ------------------------------------------------------------------------------
c_run common:set-email ops@test.test
t_is "$RC:$OUT" "0:true" "common:set-email with an account"
t_like "$ERR" "INFO    : ACME account contact changed to ops@test.test" "  updates the contact at the CA at once"
acct
t_is "$(j '.contact | join(",")'):$(j .recorded_contact)" "mailto:ops@test.test:ops@test.test" "  letsencrypt:account shows it from the CA"
c_run scope:set cp.config letsencrypt ca_bundle "$H_PEBBLE_ROOT"
c_run common:set-email later@test.test
t_is "$RC:$OUT" "0:true" "set-email while the CA cannot be reached (TLS not trusted) still sets the e-mail"
t_like "$ERR" "WARNING : later@test.test is set, but the contact of the ACME account $kid at $H_PEBBLE_DIR_URL is not updated: .*; the next request updates it" \
	"  with a WARNING saying what happens next"
c_run common:get-email
t_is "$OUT" later@test.test "  the e-mail is set"
c_run scope:set cp.config letsencrypt ca_bundle "$H_PEBBLE_TLS_CA"
acct
t_is "$(j '.contact | join(",")')" "mailto:ops@test.test" "  the CA still has the old contact"
req
t_like "$ERR" "INFO    : ACME account contact changed to later@test.test" "the next request updates it"
acct
t_is "$(j '.contact | join(",")')" "mailto:later@test.test" "  the CA has it"
c_run common:set-email later@test.test
t_is "$(grep -c 'contact changed' <<<"$ERR")" 0 "the same e-mail again sends nothing"
c_run -o json letsencrypt:update-contact
t_is "$RC:$(j '.contact | join(",")')" "0:mailto:later@test.test" "letsencrypt:update-contact sends it anyway"
t_like "$ERR" "contact changed to later@test.test" "  once"

# --- deactivation ---------------------------------------------------------------------------
c_run letsencrypt:deactivate-account
t_is "$RC" 1 "deactivate-account without a confirmation is refused"
t_like "$ERR" "ERROR   : deactivating the ACME account $kid at $H_PEBBLE_DIR_URL cannot be undone: .*; to go ahead, run cpcmd letsencrypt:deactivate-account true" \
	"  saying what it does and how to confirm"
c_run letsencrypt:deactivate-account false
t_is "$RC" 1 "  so is false"
acct
t_is "$(j .status)" valid "  the account is untouched"
cp -a "$CPSSL_HOME" "$H_DIR/home-deact"
cp -p "$key" "$H_DIR/deact.key"
c_run -o json letsencrypt:deactivate-account true
t_is "$RC" 0 "deactivate-account true"
t_is "$(j .status):$(j .account)" "deactivated:$kid" "  the CA answers deactivated"
kept=$(j .key_kept)
t_like "$kept" "^$adir/account\.key\.deactivated-[0-9]{8}T[0-9]{6}Z$" "  the key is kept aside"
cmp -s "$kept" "$H_DIR/deact.key"; t_ok $? "  unchanged"
t_is "$(mode "$kept")" 600 "  0600"
t_like "$ERR" "INFO    : deactivated the ACME account $kid at $H_PEBBLE_DIR_URL; its key is kept as $kept; the next request registers a new account" \
	"  INFO says what happens next"
t_is "$([ -e "$key" ] && echo yes):$(kid_db)" ":" "  no account key, no account record"
acct "$H_DIR/home-deact"
t_is "$(j .status)" deactivated "the CA now refuses the account (its old key, in a copy of the home, is told unauthorized)"
acct
t_is "$(j .status):$(j '.deactivated_keys | join(",")')" "none:$kept" "letsencrypt:account: none, and the kept key listed"
req
t_is "$RC" 0 "the next request works"
t_like "$ERR" "registered an ACME account with $H_PEBBLE_DIR_URL for later@test.test" "  registering a new account"
kid2=$(kid_db)
t_isnt "$kid2" "$kid" "  with a new URL"
acct
t_is "$(j .status):$(j .account)" "valid:$kid2" "  valid at the CA"

# --- killed after the CA deactivated -----------------------------------------------------
cp -p "$key" "$H_DIR/deact2.key"
CPSSL_FAULT=account-deactivate-after-post "$faulty" letsencrypt:deactivate-account true >/dev/null 2>&1
t_is "$?" 137 "deactivate-account killed after the CA's answer"
t_is "$([ -e "$key" ] && echo yes):$(mode "$adir/account.key.deactivating")" ":600" \
	"  it leaves the key as account.key.deactivating (0600), no account.key"
req
t_is "$RC" 0 "the next request works" || t_diag "$ERR"
t_like "$ERR" "INFO    : an interrupted deactivation of the ACME account $kid2 at $H_PEBBLE_DIR_URL is finished: its key is kept as $adir/account\.key\.deactivated-" \
	"  after finishing the deactivation"
t_like "$ERR" "registered an ACME account" "  and registering a new account"
t_is "$(ls "$adir" | grep -c '^account\.key\.deactivated-')" 2 "  two kept keys"
t_isnt "$(kid_db)" "$kid2" "  a new URL"
c_run -o json letsencrypt:account true
t_is "$RC:$(j 'length'):$(j '.[0].status')" "0:1:valid" "letsencrypt:account true: every CA with an account (here one)"

# --- a recorded account whose key is gone -----------------------------------------------------
kid3=$(kid_db)
rm -f "$key"
c_run letsencrypt:rollover-key
t_is "$RC" 3 "without its key there is no account to roll over"
req
t_is "$RC" 0 "a request works"
t_like "$ERR" "WARNING : the key of the ACME account $kid3 at $H_PEBBLE_DIR_URL is missing; registering a new account" \
	"  registering a new account with a new key, with a WARNING"
t_isnt "$(kid_db)" "$kid3" "  a new URL"
t_is "$(mode "$key")" 600 "  the new key is 0600"
t_done
