# pids.sh — sourced by saio.sh and keystone.sh: find and stop the processes a harness started,
# by the pids it recorded under DIR/run, never by name, and the watchdog that stops them when the
# process that owns them (CAIRN_HARNESS_OWNER_PID) dies. Needs DIR, SERVICES, WATCHDOG (the name
# of the watchdog's pid and log files: DIR/run/WATCHDOG.pid, DIR/log/WATCHDOG.log), PYTHON, say()
# and die().

# A recorded pid is signalled only when that process still runs with DIR on its command line,
# so a recycled pid is never touched. A process in the middle of an exec (the launcher becoming the
# server or the watchdog) reads as an empty command line for a moment (122 of 300 exec'ing
# processes polled here did), so an empty one is read again for up to 0.2 s before it counts.
ours() {  # PID
    [[ $1 =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] || return 1
    local state line tries=0
    while :; do
        state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
        [ "$state" != Z ] || return 1
        line=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
        [ -z "$line" ] && [ $tries -lt 20 ] || break
        tries=$((tries + 1))
        sleep 0.01
    done
    [[ $line == *"$DIR"* ]]
}

# Stops the SERVICES and the watchdog (first, so it does not act while they go; stop-service
# passes WATCHDOG= to leave it running). When the watchdog itself runs this, it skips its own pid.
stop_all() {
    local name pid pids=() tries=0
    for name in ${WATCHDOG:-} $SERVICES; do
        pid=$(cat "$DIR/run/$name.pid" 2>/dev/null || true)
        [ "$pid" = "$$" ] && continue
        if ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    done
    while [ ${#pids[@]} -gt 0 ]; do
        local alive=()
        for pid in "${pids[@]}"; do ours "$pid" && alive+=("$pid"); done
        pids=("${alive[@]+"${alive[@]}"}")
        [ ${#pids[@]} -eq 0 ] && break
        tries=$((tries + 1))
        if [ $tries -gt 100 ]; then
            say "sending SIGKILL to ${pids[*]} (no exit 10 s after SIGTERM)"
            for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
            break
        fi
        sleep 0.1
    done
    for name in ${WATCHDOG:-} $SERVICES; do rm -f "$DIR/run/$name.pid"; done
}

# `saio.sh stop DIR` and `keystone.sh stop DIR`: stops that harness's processes in DIR (a DIR that
# is gone has nothing running) and exits.
stop_command() {  # DIR
    [ -d "$1" ] || exit 0
    DIR=$(cd "$1" && pwd -P)
    [ -f "$DIR/.cairn-saio" ] || die "$DIR was not made by saio.sh"
    stop_all
    say "stopped"
    exit 0
}

# Field 22 of /proc/PID/stat, the time the process started (clock ticks since boot), which with
# the pid names one process for good: a pid the kernel hands out again comes with a later start
# time. Fails when PID is gone or a zombie (dead, only not reaped yet). Fields are counted after
# the last ")", since the command name (field 2) may hold spaces and parentheses.
start_time() {  # PID
    local stat fields
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    read -r -a fields <<<"${stat##*) }"
    [ "${fields[0]}" != Z ] && [ -n "${fields[19]:-}" ] && echo "${fields[19]}"
}

# start: CAIRN_HARNESS_OWNER_PID names the process whose death stops what start starts (a test
# runner may be killed with SIGKILL, by the OOM killer or a CI timeout, and never run its stop).
# Its start time is taken now, before anything starts, so that the owner dying during start, and
# its pid going to another process meanwhile, still counts as the owner gone.
owner_pid=""
owner_start=""
read_owner() {
    owner_pid=${CAIRN_HARNESS_OWNER_PID:-}
    [ -n "$owner_pid" ] || return 0
    [[ $owner_pid =~ ^[0-9]+$ ]] || die "CAIRN_HARNESS_OWNER_PID is not a pid: $owner_pid"
    owner_start=$(start_time "$owner_pid") || die "CAIRN_HARNESS_OWNER_PID $owner_pid: no such process"
}

# start, once the servers answer: with an owner, starts the watchdog (this script's `watchdog`
# action) through saio.sh's launcher (DIR/etc/launch.py: no inherited descriptors, no blocked
# signals, a session of its own, so nothing that kills or waits for the caller's process group or
# pipes touches it), with DIR on its command line so that ours() knows it. Returns once the
# watchdog has said it watches; a start that fails after this stops it with the rest (stop_all).
start_watchdog() {
    [ -n "$owner_pid" ] || return 0
    local script pid tries=0
    script=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
    "$PYTHON" "$DIR/etc/launch.py" exec "$BASH" "$BASH" "$script" watchdog "$DIR" "$owner_pid" "$owner_start" \
        </dev/null >>"$DIR/log/$WATCHDOG.log" 2>&1 &
    pid=$!
    echo "$pid" >"$DIR/run/$WATCHDOG.pid"
    until grep -qF "watchdog $pid: watching" "$DIR/log/$WATCHDOG.log" 2>/dev/null; do
        ours "$pid" || die "the watchdog exited at once (see $DIR/log/$WATCHDOG.log)"
        tries=$((tries + 1))
        [ $tries -le 100 ] || die "the watchdog did not start within 10 s (see $DIR/log/$WATCHDOG.log)"
        sleep 0.1
    done
}

# saio.sh start, with an owner and CAIRN_HARNESS_REMOVE_DIR=1: DIR is the owner's temporary
# directory, which its own cleanup removes after `stop`. This harness's watchdog is to remove it
# too, so a killed test run leaves no servers and no data behind. The mark names that watchdog:
# keystone.sh runs in the SAIO's DIR, and its watchdog leaves DIR to the SAIO's.
mark_dir_for_removal() {
    [ -n "$owner_pid" ] && [ "${CAIRN_HARNESS_REMOVE_DIR:-}" = 1 ] || return 0
    echo "$WATCHDOG" >"$DIR/run/remove-when-owner-dies"
}

# True while a process other than this shell has DIR on its command line (keystone.sh's watchdog
# stopping its own services). One grep over every command line; the few it names are checked
# with ours(), which also drops the grep and the subshell that ran it, gone by then.
others_run_in_dir() {
    local file pid
    for file in $(grep -lsF -- "$DIR" /proc/[0-9]*/cmdline); do
        pid=${file#/proc/}
        pid=${pid%/cmdline}
        [ "$pid" != "$$" ] && ours "$pid" && return 0
    done
    return 1
}

# `saio.sh watchdog DIR OWNER-PID OWNER-START` (and keystone.sh's): started by start_watchdog, never
# by hand. Looks once a second whether the owner still runs (the same pid with the same start
# time), and when it does not, does what `stop DIR` does and exits. When start marked DIR for
# this watchdog to remove (mark_dir_for_removal), it then waits up to 30 s for everything else in
# DIR to stop and removes DIR: only a directory with saio.sh's marker and that mark, both written
# by start.
watchdog_command() {  # DIR OWNER-PID OWNER-START
    DIR=$1
    say "watchdog $$: watching owner $2 (start time $3)"
    while [ "$(start_time "$2" || true)" = "$3" ]; do sleep 1; done
    say "watchdog $$: owner $2 is gone, stopping everything in $DIR"
    stop_all
    say "watchdog $$: stopped"
    [ "$(cat "$DIR/run/remove-when-owner-dies" 2>/dev/null || true)" = "$WATCHDOG" ] && [ -f "$DIR/.cairn-saio" ] || exit 0
    local deadline=$((SECONDS + 30))
    while others_run_in_dir; do
        if [ $SECONDS -ge $deadline ]; then say "watchdog $$: processes still run in $DIR after 30 s; leaving it"; exit 0; fi
        sleep 0.2
    done
    rm -rf -- "$DIR"
    exit 0
}
