# pids.sh — sourced by saio.sh and keystone.sh: find and stop the processes a harness started,
# by the pids it recorded under DIR/run, never by name. Needs DIR, SERVICES, say() and die().

# A recorded pid is signalled only when that process still runs with DIR on its command line,
# so a recycled pid is never touched.
ours() {  # PID
    [[ $1 =~ ^[0-9]+$ ]] && [ -r "/proc/$1/cmdline" ] || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR"
}

stop_all() {
    local name pid pids=() tries=0
    for name in $SERVICES; do
        pid=$(cat "$DIR/run/$name.pid" 2>/dev/null || true)
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
    for name in $SERVICES; do rm -f "$DIR/run/$name.pid"; done
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
