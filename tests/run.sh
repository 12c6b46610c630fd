#!/usr/bin/env bash
# Runs every test and ends with one summary line: "N passed, N failed".
#   lint:       tests/lint/*.sh (the include rule of the layers, file and
#               function sizes: scripts/check-structure)
#   unit tests: each binary in build/plain/tests and build/asan/tests (TAP)
#   fuzz:       each libFuzzer target for a bounded time (FUZZ_SECONDS)
#   integration: tests/integration/*.sh (TAP) with CPCMD=build/plain/cpcmd and
#               ITESTS=build/plain/itests (C programs from tests/integration/c);
#               scripts marked "# also-asan" run again with the ASan+UBSan build
# Usage: tests/run.sh [PATTERN]   (only tests whose path contains PATTERN)
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
pattern=${1:-}
logdir=$(mktemp -d /tmp/cpssl-tests.XXXXXX)
passed=0 failed=0 skipped=0 files_failed=()

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CPSSL_SRC=$top

# run_tap NAME TIMEOUT CMD… — runs one TAP producer and tallies its lines.
run_tap() {
	local name=$1 limit=$2 log rc ok notok
	shift 2
	[[ -n $pattern && $name != *"$pattern"* ]] && return 0
	log="$logdir/$(echo "$name" | tr '/ ' '__').log"
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	# a skipped test is not a pass: it is counted and shown on its own
	ok=$(grep '^ok ' "$log" | grep -vc '# SKIP')
	skip=$(grep '^ok ' "$log" | grep -c '# SKIP')
	notok=$(grep -c '^not ok ' "$log")
	skipped=$((skipped + skip))
	if ((rc != 0 && notok == 0)); then
		# a crash, a sanitizer report, a timeout or a harness failure
		notok=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if ((ok + notok + skip == 0)); then
		notok=1
		echo "not ok - $name produced no test results" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
	if ((notok > 0)); then
		files_failed+=("$name")
		printf 'FAIL %-52s %4d ok %3d not ok\n' "$name" "$ok" "$notok"
		grep -v '^ok ' "$log" | tail -n 40 | sed 's/^/     | /'
	else
		printf 'pass %-52s %4d ok\n' "$name" "$ok"
	fi
}

for t in tests/lint/*.sh; do
	[[ -x $t ]] || continue
	run_tap "lint $(basename "$t")" 120 "$t"
done

for variant in plain asan; do
	for t in build/$variant/tests/test_*; do
		[[ -x $t ]] || continue
		run_tap "unit[$variant] $(basename "$t")" 300 "$t"
	done
done

for f in build/fuzz/fuzz_*; do
	[[ -x $f ]] || continue
	run_tap "fuzz $(basename "$f")" 300 tests/fuzz/run-one "$f" "${FUZZ_SECONDS:-20}"
done

for t in tests/integration/*.sh; do
	[[ -x $t ]] || continue
	CPCMD=$top/build/plain/cpcmd ITESTS=$top/build/plain/itests run_tap "$t" 900 "$t"
	if grep -q '^# also-asan' "$t"; then
		CPCMD=$top/build/asan/cpcmd ITESTS=$top/build/asan/itests run_tap "$t [asan]" 900 "$t"
	fi
done

echo
if ((${#files_failed[@]})); then
	echo "Failed: ${files_failed[*]}"
	echo "Logs: $logdir"
else
	rm -rf "$logdir"
fi
((skipped)) && echo "$skipped skipped (not counted as passed)"
echo "$passed passed, $failed failed"
((failed == 0))
