# Lines worth seeing from `go test -v` (`make test-acc-*` pipe through it; the whole output is
# in .cache/test-acc-*.log): results and test log lines, not the chatter. A test's log message
# keeps its continuation lines (an acceptance step's error is "Step 9/9 error: Error running
# apply: exit status 1" followed by the CLI's own diagnostics, more deeply indented), at most
# 60 of them, so a failure printed by CI says why.
function indent(s) { match(s, /^[ \t]*/); return RLENGTH }
{
	if (keep > 0 && ($0 ~ /^[ \t]*$/ || indent($0) > depth)) {
		keep--
		print
		fflush()
		next
	}
	keep = 0
	if ($0 ~ /^[ \t]*--- (PASS|FAIL|SKIP)/ || $0 ~ /^(ok|FAIL|PASS|panic)/) {
		print
		fflush()
	} else if ($0 ~ /^[ \t]+[^ \t]+_test\.go:[0-9]+:/) {
		print
		fflush()
		depth = indent($0)
		keep = 60
	}
}
