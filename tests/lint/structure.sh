#!/usr/bin/env bash
# scripts/check-structure on the tree, and on copies of it with a planted
# fault of each kind, which it must find.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
check=$top/scripts/check-structure
n=0 failed=0
t_ok() { n=$((n + 1)); if (($1)); then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
tmp=$(mktemp -d /tmp/cpssl-structure.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

out=$("$check" "$top" 2>&1)
rc=$?
t_ok $((rc == 0)) "the tree keeps the include rule and the size limits"
((rc == 0)) || printf '# %s\n' "$out"

# plant ONE fault in a fresh copy; the checker must fail and name it
plant() { # plant DESCRIPTION NEEDLE COMMAND…
	local desc=$1 needle=$2 rc
	shift 2
	rm -rf "$tmp/t" && mkdir "$tmp/t" && cp -r "$top/cpssl" "$top/modules" "$top/cpcmd.c" "$tmp/t/"
	(cd "$tmp/t" && "$@")
	out=$("$check" "$tmp/t" 2>&1)
	rc=$?
	t_ok $((rc != 0)) "$desc is found"
	t_ok "$(grep -qF -- "$needle" <<<"$out" && echo 1 || echo 0)" "  and named ($needle)"
}
plant "core including issue/ (upward)" "cpssl/core/fs.c (core, layer 1) includes cpssl/issue/issue.h" \
	sed -i '1i #include "cpssl/issue/issue.h"' cpssl/core/fs.c
plant "store including dns/ (across a layer)" "cpssl/store/db.c (store, layer 2) includes cpssl/dns/resolve.h" \
	sed -i '1i #include "cpssl/dns/resolve.h"' cpssl/store/db.c
plant "a room outside the table" "a room outside the layer table" \
	sh -c 'mkdir cpssl/extra && printf "#include \"cpssl/core/log.h\"\n" >cpssl/extra/x.c'
plant "a file of 701 lines" "cpssl/core/b64.c has 7" \
	sh -c 'for i in $(seq 701); do echo "/* padding */"; done >>cpssl/core/b64.c'
plant "a function of 101 lines" "cpssl/core/clock.c void padded(void)" \
	sh -c '{ printf "void padded(void)\n{\n"; for i in $(seq 99); do echo "	;"; done; echo "}"; } >>cpssl/core/clock.c'

rm -rf "$tmp/t" && mkdir "$tmp/t" && cp -r "$top/cpssl" "$top/modules" "$top/cpcmd.c" "$tmp/t/"
sed -i '1i #include "cpssl/core/err.h"' "$tmp/t/cpssl/names/hostname.c"
"$check" "$tmp/t" >/dev/null 2>&1
t_ok $(($? == 0)) "the error type (core/err.h) may be included from the lowest layer"

echo "1..$n"
((failed == 0))
