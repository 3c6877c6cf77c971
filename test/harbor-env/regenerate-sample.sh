#!/usr/bin/env bash
# Regenerates a few Harbor output fixture cases with the installed Harbor into
# OUT_DIR, so a test can check that our result parser still agrees with the
# committed fixtures (test/fixtures/harbor-output). All cases run at once; about
# 5 s on 2 cores.
#
# usage: regenerate-sample.sh HARBOR_BIN OUT_DIR [CASE...]
#   CASE...  default: passed failed verifier-error harness-crash
#            (any case of make-harbor-output-fixtures.sh works)
#
# OUT_DIR/<case>/ is laid out like the committed fixture of the same name; the
# scratch dir is private to this call and removed at exit, so calls may run
# concurrently. Exit status: that of make-harbor-output-fixtures.sh (0 when
# every case ended as expected).
set -euo pipefail

if (($# < 2)); then
    echo "usage: $0 HARBOR_BIN OUT_DIR [CASE...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
harbor=$1 out=$2
shift 2
(($#)) || set -- passed failed verifier-error harness-crash

scratch=$(mktemp -d "${TMPDIR:-/tmp}/harbor-sample.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
HARBOR_FIXTURE_WORK=$scratch/work HARBOR_FIXTURE_PARALLEL=$# \
    "$here/make-harbor-output-fixtures.sh" "$harbor" "$out" "$@"
