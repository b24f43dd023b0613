#!/bin/sh
# run.sh: run Check suites and sum their results.  Usage:
#   check/run.sh UNIT... [-- INTEGRATION...]
# Each suite prints Check's "N%: Checks: ..." line; this script adds one
# closing line "check: N passed, N failed" and exits non-zero on any failure.
set -u
pass=0
fail=0
for t in "$@"; do
	[ "$t" = "--" ] && continue
	out=$("./$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^toolkata-api\[' | sed "s|^|[$t] |"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
	n=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
	bad=$(printf '%s' "$line" |
	    sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 + \2/p')
	if [ -z "$n" ]; then
		echo "[$t] no Check summary (exit $rc)"
		fail=$((fail + 1))
		continue
	fi
	bad=$(( ${bad:-1} ))
	pass=$((pass + n - bad))
	fail=$((fail + bad))
	[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && fail=$((fail + 1))
done
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
