#!/usr/bin/env bash
# Times Cairn's Redis procedures on a generated dataset (default ~1 GB of RDB):
#   capture via files (BGSAVE + dump.rdb + AOF), capture via replication (SYNC, streamed),
#   a nightly re-capture after 2% of keys changed, and redis-restore including server stop,
#   start and load. Usage: scripts/redis-timings.sh [MEGABYTES]   (make redis-timings)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cairn=${CAIRN_BINARY:-$here/.build/release/cairn}
megabytes=${1:-1024}
work=$(mktemp -d /tmp/cairn-timings.XXXXXX)
cleanup() {
  [ -f "$work/redis.pid" ] && kill -9 "$(cat "$work/redis.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((30000 + RANDOM % 20000))
mkdir -p "$work/data"
cat > "$work/redis.conf" <<CONF
port $port
bind 127.0.0.1
dir $work/data
appendonly yes
save ""
repl-diskless-sync yes
repl-diskless-sync-delay 0
daemonize yes
pidfile $work/redis.pid
logfile $work/redis.log
CONF
redis-server "$work/redis.conf"
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Keys of 60–1400 bytes of text: average ~730 bytes, so ~1.4M keys per GB.
keys=$((megabytes * 1400))
echo "loading $keys keys (~$megabytes MB) into redis-server on port $port ..." >&2
awk -v n="$keys" -v seed=11 -f "$here/scripts/timings-keys.awk" | redis-cli -p "$port" --pipe >/dev/null
redis-cli -p "$port" BGREWRITEAOF >/dev/null
while redis-cli -p "$port" INFO persistence | grep -q 'aof_rewrite_in_progress:1'; do sleep 0.5; done

export CAIRN_REPOSITORY=$work/repo CAIRN_PASSWORD=timings
"$cairn" init -q
seconds() { local start=$1; awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
measure() { # label, command...
  local label=$1; shift
  local start; start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }
  printf '| %-44s | %8s s | %7s MB |\n' "$label" "$(seconds "$start")" "$(( $(cat "$work/rss") / 1024 ))"
}

rdb=$(redis-cli -p "$port" CONFIG GET dbfilename | tail -n 1)
echo
echo "dataset: $(redis-cli -p "$port" DBSIZE) keys, used_memory $(redis-cli -p "$port" INFO memory | grep '^used_memory_human' | cut -d: -f2 | tr -d '\r')"
echo
echo "| step                                         |     wall   |  peak RSS  |"
echo "|----------------------------------------------|------------|------------|"
measure "backup --redis (files: BGSAVE, RDB + AOF)" "$cairn" backup -q --redis "redis://127.0.0.1:$port"
echo "  (RDB $(( $(stat -c %s "$work/data/$rdb") / 1048576 )) MB; data dir $(( $(du -sb "$work/data" | cut -f1) / 1048576 )) MB)" >&2
measure "backup --redis --via replication (diskless)" "$cairn" backup -q --redis "redis://127.0.0.1:$port" --via replication
awk -v n="$keys" -v seed=12 -v every=50 -f "$here/scripts/timings-keys.awk" | redis-cli -p "$port" --pipe >/dev/null
measure "nightly backup after 2% of keys changed" "$cairn" backup -q --redis "redis://127.0.0.1:$port"
"$cairn" snapshots | tail -n 4 >&2
measure "redis-restore (stop, place, start, load, check)" "$cairn" redis-restore -q latest --redis "redis://127.0.0.1:$port" \
  --conf "$work/redis.conf" --start-command "redis-server $work/redis.conf"
echo
echo "repository: $(( $(du -sb "$work/repo" | cut -f1) / 1048576 )) MB; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
