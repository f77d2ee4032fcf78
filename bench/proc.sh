# bench/proc.sh — sourced by the bench scripts: stop_pid PID ends a process
# this script started, TERM first and KILL after 5 s, and reaps it (a
# zombie counts as ended).
# SPDX-License-Identifier: BSD-2-Clause

stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
        [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ] && break
        sleep 0.1
        i=$((i + 1))
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}
