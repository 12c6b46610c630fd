#!/usr/bin/env bash
# also-asan
# Concurrency: 20 cpcmd processes started at once (one start signal) on 5
# fresh sites, against real BIND, Pebble and Apache, in 3 rounds.  Per round:
#   a: request [a,www.a], request [a,api.a], renew, status
#   b: request [b,www.b], ssl:install, ssl:sign-certificate, renew
#   c: request [c], request [c,www.c,api.c], ssl:install, set-setting key_type
#   d: request [d,api.d], ssl:sign-certificate, two set-setting key_type writers
#   e: ssl:sign-certificate, ssl:install
#   server: two scope:set cp.config writers of different keys
# Proves:
#   * no SQLite error escapes (busy handling): no "database is locked",
#     SQLITE_BUSY or "database error" on any stderr; integrity_check ok;
#   * a site never has two ACME orders in flight: a second request on a site
#     waits for the per-site lock (storage/locks/siteN, up to 5 minutes) and
#     then succeeds, so every process exits 0; per site at most one order row
#     is not final, each order row starts after the previous one ended, and
#     (from DEBUG output stamped as it arrives) no new-order POST of a site
#     falls inside another process's [first new-order POST, last ACME
#     request] span of the same site;
#   * the final state is one a serial order of the operations gives: each
#     site's current certificate is one a process reported, the newest
#     recorded, the one storage's `current` names and the one Apache's
#     ssl.crt/server.crt is, with ssl.key/server.key its key; every renewal
#     renewed names an earlier certificate had, and a renewal that ends up
#     current (so came last) renewed the names of a certificate another
#     process of the round made, not those it read before waiting for the
#     lock; no site records a failure; letsencrypt:status showed a
#     certificate the site has; each setting holds one of its writers'
#     values, and both concurrent config.ini edits are kept;
#   * the deployments' reloads coalesce (fewer Apache reloads than deployments).
# CONC_ROUNDS=N changes the number of rounds (default 3).
. "$(dirname "$0")/../harness/lib.sh"
. "$(dirname "$0")/../harness/cpssl.sh"
h_init
c_servers test
c_configure
# several deployments per site per round: the delayed reload coalesces them
c_run scope:set cp.config httpd reload_delay '2 seconds'
[ "$RC" = 0 ] || t_bail "cannot set httpd reload_delay: $ERR"

ROUNDS=${CONC_ROUNDS:-3}
LETTERS=(a b c d e)
db=$CPSSL_HOME/storage/cpssl.db
fsroot=$H_DIR/fsroot
q() { sqlite3 -cmd '.timeout 15000' "$db" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2; }
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null | openssl sha256; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null | openssl sha256; }
reloads() { grep -c "^apache " "$H_DIR/reloads.log" 2>/dev/null || echo 0; }
# stamp — prefix each line read with the wall-clock time it arrived
# (cpcmd's stderr is unbuffered: a message is stamped as it is raised)
stamp() {
	local l
	while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done
}
# wait_reloads — until no web-server reload is pending (bounded: 30 s)
wait_reloads() {
	local i
	for ((i = 0; i < 150; i++)); do
		[ "$(q 'SELECT count(*) FROM pending_reloads')" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# job N ARGS… — one of the concurrent processes: wait for the start signal
# (bounded), then run `DEBUG=1 cpcmd -o json ARGS…` under `timeout 300`;
# p<N>.out is stdout, p<N>.err stamped stderr, p<N>.rc the exit status,
# p<N>.t the start and end times.
job() {
	local n=$1 f i
	shift
	f=$RD/p$n
	for ((i = 0; i < 1000; i++)); do
		[ -e "$RD/go" ] && break
		sleep 0.01
	done
	printf '%s' "$EPOCHREALTIME" >"$f.t"
	DEBUG=1 timeout 300 "$CPCMD" -o json "$@" 2>&1 >"$f.out" | stamp >"$f.err"
	printf '%s' "${PIPESTATUS[0]}" >"$f.rc"
	printf ' %s\n' "$EPOCHREALTIME" >>"$f.t"
}
# launch SITE_LETTER KIND ARGS… — record what job N is and start it
launch() {
	local l=$1 kind=$2
	shift 2
	N=$((N + 1))
	printf '%s %s\n' "$l" "$kind" >"$RD/p$N.meta"
	if [ "$l" = - ]; then
		job "$N" "$@" &
	else
		job "$N" -d "${SITE[$l]}" "$@" &
	fi
	PIDS+=($!)
}
# meta N → "LETTER KIND"
meta() { cat "$RD/p$1.meta"; }
# made_by FINGERPRINT — which process of the round reported the certificate
made_by() {
	local i
	for ((i = 1; i <= N; i++)); do
		if [ -n "$1" ] && [ "$(jq -r '.fingerprint // empty' "$RD/p$i.out" 2>/dev/null)" = "$1" ]; then
			printf 'p%s %s' "$i" "$(meta "$i")"
			return
		fi
	done
	printf '%s' "${1:-none}"
}

# kt LETTER — the site's effective key_type
kt() { "$CPCMD" -o json -d "${SITE[$1]}" site:get-settings 2>/dev/null | jq -r '.["letsencrypt.key_type"].value'; }

total_procs=0
t_start=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
	round_t0=$SECONDS
	RD=$H_DIR/round$r
	mkdir -p "$RD"
	declare -A SITE=() DOM=() SID=()
	# --- fresh sites (fresh names: Pebble validates every one), each with a
	# first certificate so that renew has something to renew --------------------
	for l in "${LETTERS[@]}"; do
		d=$l$r.test
		DOM[$l]=$d
		for n in "$d" "www.$d" "api.$d"; do
			h_dns_add "$n" A 127.0.0.1 || t_bail "cannot add $n"
		done
		c_run site:add "$d" "['ip':'127.0.0.1']"
		[ "$RC" = 0 ] || t_bail "site:add $d: $ERR"
		SITE[$l]=$OUT
		SID[$l]=${OUT#site}
		c_run -d "${SITE[$l]}" letsencrypt:request "[$d]"
		[ "$RC" = 0 ] || t_bail "first certificate for $d: $ERR"
	done
	for l in b c e; do   # certificates from elsewhere, for ssl:install
		case $l in c) n=www.${DOM[$l]} ;; *) n=${DOM[$l]} ;; esac
		h_selfsigned "$n" "$RD/import-$l.crt" "$RD/import-$l.key" || t_bail "cannot make a certificate for $n"
	done
	wait_reloads || t_bail "reloads still pending before round $r"
	reloads0=$(reloads)
	declare -A ROWS0=()
	for l in "${LETTERS[@]}"; do ROWS0[$l]=$(q "SELECT count(*) FROM acme_orders WHERE site_id = ${SID[$l]}"); done
	deploys0=$(q "SELECT count(*) FROM certificates")

	# --- the 20 processes ----------------------------------------------------
	N=0 PIDS=()
	a=${DOM[a]} b=${DOM[b]} c=${DOM[c]} d=${DOM[d]} e=${DOM[e]}
	launch a request letsencrypt:request "[$a,www.$a]"
	launch a request letsencrypt:request "[$a,api.$a]"
	launch a renew letsencrypt:renew
	launch a status letsencrypt:status
	launch b request letsencrypt:request "[$b,www.$b]"
	launch b install ssl:install "$(cat "$RD/import-b.key")" "$(cat "$RD/import-b.crt")"
	launch b sign ssl:sign-certificate
	launch b renew letsencrypt:renew
	launch c request letsencrypt:request "[$c]"
	launch c request letsencrypt:request "[$c,www.$c,api.$c]"
	launch c install ssl:install "$(cat "$RD/import-c.key")" "$(cat "$RD/import-c.crt")"
	launch c setting site:set-setting key_type ec-384
	launch d request letsencrypt:request "[$d,api.$d]"
	launch d sign ssl:sign-certificate "[$d,www.$d]"
	launch d setting site:set-setting key_type ec-384
	launch d setting site:set-setting key_type rsa-2048
	launch e sign ssl:sign-certificate "[$e,api.$e]"
	launch e install ssl:install "$(cat "$RD/import-e.key")" "$(cat "$RD/import-e.crt")"
	launch - scope scope:set cp.config letsencrypt lookahead_days $((10 + r))
	launch - scope scope:set cp.config letsencrypt renew_fraction "0.$((r + 1))"
	touch "$RD/go"
	wait "${PIDS[@]}"
	burst=$((SECONDS - round_t0))
	total_procs=$((total_procs + N))

	# --- every process: exit 0, no database error -------------------------------
	bad_rc="" db_err="" errors="" missing=""
	for ((i = 1; i <= N; i++)); do
		[ -s "$RD/p$i.rc" ] || { missing+="p$i "; continue; }
		rc=$(cat "$RD/p$i.rc")
		[ "$rc" = 0 ] || bad_rc+="p$i($(meta "$i"))=$rc "
		grep -qiE 'database is locked|SQLITE_BUSY|database error|another cpcmd held the database' "$RD/p$i.err" &&
			db_err+="p$i($(meta "$i")) "
		grep -q ' ERROR   : ' "$RD/p$i.err" && errors+="p$i($(meta "$i")) "
	done
	t_is "$missing" "" "round $r: all $N processes finished within their bound"
	t_is "$bad_rc" "" "round $r: every process exited 0 (a second request on a locked site waits, it does not fail)" ||
		for ((i = 1; i <= N; i++)); do
			[ "$(cat "$RD/p$i.rc" 2>/dev/null)" = 0 ] || t_diag "p$i ($(meta "$i")): $(grep -E 'ERROR|WARNING' "$RD/p$i.err" | tail -n 3)"
		done
	t_is "$db_err" "" "round $r: no stderr mentions a locked or busy database"
	t_is "$errors" "" "round $r: no process raised an ERROR"
	t_is "$(q 'PRAGMA integrity_check')" ok "round $r: PRAGMA integrity_check"

	# --- one order in flight per site ----------------------------------------------
	# Per site at most one order is not final, orders follow one another in the
	# store, and every new-order POST is recorded.
	open="" overlap_db="" count_mismatch=""
	for l in "${LETTERS[@]}"; do
		s=${SID[$l]}
		o=$(q "SELECT count(*) FROM acme_orders WHERE site_id = $s AND status NOT IN ('invalid','done','abandoned')")
		[ "$o" -le 1 ] || open+="$l:$o "
		# each order (by id) created no earlier than the previous one was last updated
		ov=$(q "SELECT count(*) FROM acme_orders x JOIN acme_orders y ON y.site_id = x.site_id AND y.id > x.id
			WHERE x.site_id = $s AND y.created_at < x.updated_at")
		[ "$ov" = 0 ] || overlap_db+="$l:$ov "
	done
	t_is "$open" "" "round $r: per site at most one ACME order is not in a final state"
	t_is "$overlap_db" "" "round $r: per site, each order was created after the previous one was finished (acme_orders times)"

	# From the stamped DEBUG output: each ACME-ordering process's order span is
	# [its first new-order POST, its last ACME request]; the site lock is held
	# throughout it, so no other new-order POST of the same site may fall inside.
	declare -A posts=()
	: >"$RD/spans"
	for ((i = 1; i <= N; i++)); do
		read -r l kind <"$RD/p$i.meta"
		case $kind in request | renew) ;; *) continue ;; esac
		first=$(grep -m1 -E ' HTTP POST https://[^ ]*/order-plz -> ' "$RD/p$i.err" | cut -d' ' -f1)
		last=$(grep -E ' HTTP (GET|POST|HEAD) https://127\.0\.0\.1:'"$H_PEBBLE_PORT"'/' "$RD/p$i.err" | tail -n 1 | cut -d' ' -f1)
		np=$(grep -cE ' HTTP POST https://[^ ]*/order-plz -> 201' "$RD/p$i.err")
		posts[$l]=$((${posts[$l]:-0} + np))
		read -r t0 t1 <"$RD/p$i.t"
		[ -n "$first" ] && printf '%s %s %s %s %s %s\n' "$l" "$i" "$first" "$last" "$t0" "$t1" >>"$RD/spans"
	done
	for l in "${LETTERS[@]}"; do
		rows=$(( $(q "SELECT count(*) FROM acme_orders WHERE site_id = ${SID[$l]}") - ROWS0[$l] ))
		[ "$rows" = "${posts[$l]:-0}" ] || count_mismatch+="$l:rows=$rows,posts=${posts[$l]:-0} "
	done
	t_is "$count_mismatch" "" "round $r: every new-order POST is one acme_orders row"
	# all new-order POSTs of a site inside another process's order span
	inside=$(awk '
		{ l[NR] = $1; p[NR] = $2; f[NR] = $3; z[NR] = $4 }
		END {
			for (i = 1; i <= NR; i++) for (j = 1; j <= NR; j++)
				if (i != j && l[i] == l[j] && f[j] >= f[i] && f[j] <= z[i])
					printf "%s: p%s ordered at %s inside p%s [%s, %s]; ", l[j], p[j], f[j], p[i], f[i], z[i]
		}' "$RD/spans")
	t_is "$inside" "" "round $r: no new-order POST of a site while another request of that site held its lock (DEBUG times)"
	# the test has teeth: same-site ordering processes ran at the same time and
	# some waited for the lock (its order began after the other's had ended)
	waits=$(awk '
		{ l[NR] = $1; f[NR] = $3; z[NR] = $4; s[NR] = $5; e[NR] = $6 }
		END {
			n = 0; w = 0
			for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++)
				if (l[i] == l[j] && s[i] < e[j] && s[j] < e[i]) n++
			for (j = 1; j <= NR; j++) for (i = 1; i <= NR; i++)
				if (i != j && l[i] == l[j] && s[j] < z[i] && f[j] > z[i]) { w++; break }
			m = 0
			for (j = 1; j <= NR; j++) if (f[j] - s[j] > m) m = f[j] - s[j]
			printf "%d %d %.1f\n", n, w, m
		}' "$RD/spans")
	read -r concurrent waited maxwait <<<"$waits"
	retries=$(cat "$RD"/p*.err | grep -c 'DEBUG   : retrying')
	t_ok $((concurrent > 0 ? 0 : 1)) "round $r: same-site requests really ran at once ($concurrent overlapping pairs, $waited waited for the site lock)"

	# --- the final state is one a serial order gives ---------------------------------
	notreported="" notnewest="" storage="" apache="" pair="" renew_names="" last_renew="" flag=""
	for l in "${LETTERS[@]}"; do
		s=${SID[$l]}
		cur=$(q "SELECT fingerprint FROM certificates WHERE site_id = $s AND is_current = 1")
		# every certificate a process of this site reported producing
		produced=$(for ((i = 1; i <= N; i++)); do
			read -r ll kind <"$RD/p$i.meta"
			[ "$ll" = "$l" ] || continue
			case $kind in request | renew | install | sign) jq -r '.fingerprint // empty' "$RD/p$i.out" 2>/dev/null ;; esac
		done)
		grep -qxF -- "$cur" <<<"$produced" || notreported+="$l "
		[ "$(q "SELECT is_current FROM certificates WHERE site_id = $s ORDER BY id DESC LIMIT 1")" = 1 ] || notnewest+="$l "
		sf=$(fp "$(c_site_dir "${SITE[$l]}")/cert.pem")
		[ "$sf" = "$cur" ] || storage+="$l(store: $(made_by "$cur"), storage: $(made_by "$sf")) "
		conf=$fsroot/home/virtual/${SITE[$l]}/fst/etc/httpd/conf
		af=$(fp "$conf/ssl.crt/server.crt")
		[ "$af" = "$cur" ] || apache+="$l(store: $(made_by "$cur"), Apache: $(made_by "$af")) "
		k=$(pubkey_of_key "$conf/ssl.key/server.key")
		[ -n "$k" ] && [ "$(pubkey_of_cert "$conf/ssl.crt/server.crt")" = "$k" ] || pair+="$l "
		# a renewal renews the names some earlier certificate of the site had
		for ((i = 1; i <= N; i++)); do
			read -r ll kind <"$RD/p$i.meta"
			[ "$ll:$kind" = "$l:renew" ] || continue
			rn=$(jq -r '.names | join(",")' "$RD/p$i.out" 2>/dev/null)
			rf=$(jq -r '.fingerprint' "$RD/p$i.out" 2>/dev/null)
			[ "$(q "SELECT count(*) FROM certificates a JOIN certificates b ON b.site_id = a.site_id AND b.id < a.id
				WHERE a.site_id = $s AND a.fingerprint = '$rf' AND b.names = a.names")" -ge 1 ] ||
				renew_names+="$l(p$i: $rn) "
		done
		# a renewal renews the names it finds current: when the site's final
		# certificate is a renewal's, that renewal came last in any serial
		# order, after another process's certificate with the same names
		for ((i = 1; i <= N; i++)); do
			read -r ll kind <"$RD/p$i.meta"
			[ "$ll:$kind" = "$l:renew" ] || continue
			[ "$(jq -r .fingerprint "$RD/p$i.out" 2>/dev/null)" = "$cur" ] || continue
			rn=$(jq -r '.names | sort | join(",")' "$RD/p$i.out")
			others=$(for ((j = 1; j <= N; j++)); do
				read -r lj kj <"$RD/p$j.meta"
				case $kj in request | renew | install | sign) ;; *) continue ;; esac
				[ "$lj" = "$l" ] && [ "$j" != "$i" ] && jq -r '.names // empty | sort | join(",")' "$RD/p$j.out" 2>/dev/null
			done)
			[ -z "$others" ] || grep -qxF -- "$rn" <<<"$others" ||
				last_renew+="$l(p$i renewed [$rn], the names it read before waiting, though the others made [$(tr '\n' ';' <<<"$others" | sed 's/;$//; s/;/] [/g')]) "
		done
		[ "$(q "SELECT ssl_enabled FROM sites WHERE id = $s")" = 1 ] || flag+="$l "
	done
	t_is "$notreported" "" "round $r: each site's current certificate is one a process reported producing"
	t_is "$notnewest" "" "round $r: and the last one recorded for the site"
	t_is "$storage" "" "round $r: storage's current version is that certificate"
	t_is "$apache" "" "round $r: Apache's ssl.crt/server.crt is that certificate"
	t_is "$pair" "" "round $r: and ssl.key/server.key is its key"
	t_is "$renew_names" "" "round $r: every renewal renewed the names of an earlier certificate of its site"
	t_is "$last_renew" "" "round $r: a site whose final certificate is a renewal's had another certificate with those names to renew"
	t_is "$flag" "" "round $r: every site's SSL flag is on"
	fails=$(q "SELECT group_concat(site_id) FROM ssl_status WHERE failures > 0 AND site_id IN (${SID[a]},${SID[b]},${SID[c]},${SID[d]},${SID[e]})")
	t_is "$fails" "" "round $r: no site has a recorded failure"
	# letsencrypt:status read a consistent snapshot: a certificate the site has
	snap=""
	for ((i = 1; i <= N; i++)); do
		read -r l kind <"$RD/p$i.meta"
		[ "$kind" = status ] || continue
		serial=$(jq -r 'select(.certificate == true) | .serial' "$RD/p$i.out" 2>/dev/null)
		[ -n "$serial" ] && [ "$(q "SELECT count(*) FROM certificates WHERE site_id = ${SID[$l]} AND serial = '$serial'")" = 1 ] ||
			snap+="p$i "
	done
	t_is "$snap" "" "round $r: letsencrypt:status showed a certificate the site really has"

	# settings: each holds the value of one of its writers
	t_is "$(kt c)" ec-384 "round $r: ${SITE[c]} key_type is its writer's value"
	t_like "$(kt d)" '^(ec-384|rsa-2048)$' "round $r: ${SITE[d]} key_type is one of its two writers' values"
	la=$("$CPCMD" -o json scope:get cp.config letsencrypt lookahead_days 2>/dev/null | jq -r .)
	rf=$("$CPCMD" -o json scope:get cp.config letsencrypt renew_fraction 2>/dev/null | jq -r .)
	t_is "$la|$rf" "$((10 + r))|0.$((r + 1))" "round $r: both concurrent scope:set writes of config.ini are kept (lookahead_days|renew_fraction)"

	# the deployments' reloads coalesced and happened
	wait_reloads; t_ok $? "round $r: the pending reloads happen"
	deploys=$(( $(q "SELECT count(*) FROM certificates") - deploys0 ))
	rl=$(( $(reloads) - reloads0 ))
	t_ok $((rl >= 1 && rl < deploys ? 0 : 1)) "round $r: $deploys deployments, $rl Apache reloads (coalesced)"
	t_diag "round $r: $N processes, burst ${burst}s, round $((SECONDS - round_t0))s; $concurrent same-site request pairs overlapped, $waited waited for the lock (longest start-to-order ${maxwait}s), $retries ACME retries"
	unset SITE DOM SID posts ROWS0
done
t_diag "$total_procs processes in $ROUNDS rounds, $((SECONDS - t_start)) s"
t_done
