#!/bin/sh
# supervise.sh <proc-dir> <env-file> <command> [args...]
#
# Runs one harness command detached from whoever started it (an SSH session or a worker that may
# die), and keeps a record in <proc-dir> that a later worker can re-attach to:
#   lock     flock-ed for as long as this script or anything it started is alive
#   pgid     this script's pid, which is its process group (the launcher starts it with setsid)
#   pid      the command's pid (the target of SIGTERM on cancel)
#   started  epoch milliseconds when the command started
#   stdout   the command's stdout; stderr its stderr
#   exit     "<exit code> <epoch milliseconds>", written atomically when the command has ended
#
# <env-file> holds KEY=VALUE lines (secrets). They are exported to the command and the file is
# deleted before the command starts, so the secret never stays on disk.
set -u
dir=$1
envfile=$2
shift 2

exec 9>"$dir/lock"
if ! flock -n 9; then
  echo "supervise: $dir is already supervised" >&2
  exit 75
fi

if [ -f "$envfile" ]; then
  while IFS= read -r entry || [ -n "$entry" ]; do
    case $entry in
      *=*) export "${entry%%=*}=${entry#*=}" ;;
    esac
  done < "$envfile"
  rm -f "$envfile"
fi

echo $$ > "$dir/pgid"
date +%s%3N > "$dir/started"
"$@" < /dev/null > "$dir/stdout" 2> "$dir/stderr" &
child=$!
echo "$child" > "$dir/pid"
wait "$child"
code=$?
echo "$code $(date +%s%3N)" > "$dir/exit.tmp"
mv "$dir/exit.tmp" "$dir/exit"
