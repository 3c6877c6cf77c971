#!/bin/sh
# probe.sh <proc-dir>: the state of a harness started under supervise.sh, on one line and then its
# details. Shared by every kind of host, so that local and remote hosts judge a process alike.
#   absent                  never started here
#   running                 the supervisor (or a child of it) holds the lock, or it is just starting
#   exited <code> <ms> <started-ms> [interrupted]
#   lost                    started, but gone without an exit record
d=$1
if [ -f "$d/exit" ]; then
  read -r code finished < "$d/exit"
  started=$(cat "$d/started" 2>/dev/null || echo -)
  extra=
  [ -e "$d/interrupted" ] && extra=interrupted
  echo "exited $code $finished $started $extra"
elif [ ! -d "$d" ]; then
  echo absent
elif [ -f "$d/lock" ] && ! flock -n -s "$d/lock" true 2>/dev/null; then
  echo running
elif [ -f "$d/exit" ]; then
  # The exit record landed between our looks.
  exec "$0" "$d"
elif [ ! -f "$d/started" ] && [ $(( $(date +%s) - $(stat -c %Y "$d") )) -lt 15 ]; then
  echo running
else
  echo lost
fi
