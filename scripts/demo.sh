#!/usr/bin/env bash
# make demo: (A) back up the sample Redis data directory in Fixtures/, restore it and verify bytes
# and ownership; (B) back up a live, throwaway redis-server twice, restore the first snapshot into a
# second server with redis-restore, and show that it holds the first dataset.
# Everything happens under a throwaway folder and on loopback; nothing outside it is touched.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cairn=${CAIRN_BINARY:-$here/.build/release/cairn}
work=$(mktemp -d /tmp/cairn-demo.XXXXXX)
cleanup() {
  for pidfile in "$work"/*.pid; do [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

export CAIRN_REPOSITORY=$work/repo
printf 'demo-password-%s\n' "$RANDOM$RANDOM" > "$work/password"
chmod 600 "$work/password"
export CAIRN_PASSWORD_FILE=$work/password

# A copy of the fixture, owned like a packaged Redis data dir would be (uid/gid 999 when root).
cp -a "$here/Fixtures/redis7-datadir" "$work/redis"
if [ "$(id -u)" = 0 ]; then chown -R 999:999 "$work/redis"; fi
chmod 750 "$work/redis"; chmod 640 "$work/redis/dump.rdb"

say "1. create an encrypted repository"
run "$cairn" init

say "2. back up the Redis data directory (dump.rdb + appendonlydir/)"
run "$cairn" backup --tag demo "$work/redis"

say "3. change the AOF tail like a day of writes would, back up again (only the change is stored)"
incr=$(ls "$work/redis/appendonlydir/"*.incr.aof | tail -n 1)
printf '*3\r\n$3\r\nSET\r\n$4\r\ndemo\r\n$5\r\nhello\r\n' >> "$incr"
run "$cairn" backup --tag demo "$work/redis"

say "4. list snapshots"
run "$cairn" snapshots
first=$("$cairn" snapshots --json | grep '"short_id"' | head -n 1 | cut -d'"' -f4)

say "5. what changed between them"
run "$cairn" diff "$first" latest

say "6. restore the latest snapshot"
run "$cairn" restore latest --target "$work/restored"

say "7. verify: bytes, modes, owners, mtimes"
run diff -r "$work/redis" "$work/restored"
meta() { (cd "$1" && find . -printf '%p %m %U:%G %T@ %s %y\n' | sort); }
if diff <(meta "$work/redis") <(meta "$work/restored") >/dev/null; then
  echo "identical: $(find "$work/restored" -type f | wc -l) files, same bytes, modes, owners and mtimes"
else
  diff <(meta "$work/redis") <(meta "$work/restored") || true
  echo "metadata differs" >&2; exit 1
fi

say "8. verify every byte in the repository"
run "$cairn" check --read-data
run "$cairn" stats

# ---------------------------------------------------------------- B. a live server
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))   # below the kernel's ephemeral ports (32768 and up)
    redis-cli -p "$port" ping >/dev/null 2>&1 || { echo "$port"; return; }
  done
}
start_server() { # name port
  mkdir -p "$work/$1"
  cat > "$work/$1.conf" <<CONF
port $2
bind 127.0.0.1
dir $work/$1
appendonly yes
save ""
enable-debug-command local
daemonize yes
pidfile $work/$1.pid
logfile $work/$1.log
CONF
  redis-server "$work/$1.conf"
  for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server $1 did not start; see $work/$1.log" >&2; exit 1
}
digest() { redis-cli -p "$1" DEBUG DIGEST; }
export CAIRN_REPOSITORY=$work/live-repo
"$cairn" init -q

say "9. start a throwaway redis-server with generated data (strings, hashes, lists, sets, sorted sets, streams, TTLs, 2 dbs)"
a=$(free_port); start_server server-a "$a"
redis-cli -p "$a" DEBUG POPULATE 50000 user: 120 >/dev/null
# DEBUG POPULATE writes no AOF: rewrite it from memory, or a restart would load 2,000 keys, not 52,000
# (the drill below would warn that the AOF does not hold the dataset).
redis-cli -p "$a" BGREWRITEAOF >/dev/null
for i in $(seq 1 200); do
  printf 'HSET profile:%d name n%d visits %d\nRPUSH events:%d login view logout\nSADD tags:%d a b c%d\nZADD board %d p%d\nXADD stream:%d * v %d\nSET session:%d s EX 86400\n' \
    "$i" "$i" "$i" "$i" "$i" "$i" "$i" "$i" "$i" "$i" "$i"
done | redis-cli -p "$a" >/dev/null
printf 'SELECT 3\nSET other-db 1\n' | redis-cli -p "$a" >/dev/null
first_digest=$(digest "$a")
echo "server A on port $a: $(redis-cli -p "$a" DBSIZE) keys in db0, DEBUG DIGEST $first_digest"

say "10. back it up live (BGSAVE, then dump.rdb + the AOF generation, validated)"
run "$cairn" backup --tag demo --redis "redis://127.0.0.1:$a"

say "11. change a day's worth of keys, back up again (only what changed is stored)"
for i in $(seq 1 1000); do printf 'SET user:%d changed-%d\n' "$i" "$i"; done | redis-cli -p "$a" >/dev/null
redis-cli -p "$a" DEL profile:1 profile:2 >/dev/null
second_digest=$(digest "$a")
run "$cairn" backup --tag demo --redis "redis://127.0.0.1:$a"
run "$cairn" snapshots
live_first=$("$cairn" snapshots --json | grep '"short_id"' | head -n 1 | cut -d'"' -f4)

say "12. restore the FIRST snapshot into a second server with redis-restore (stop, move aside, place, start, check)"
b=$(free_port); start_server server-b "$b"
redis-cli -p "$b" SET "only-in-b" 1 >/dev/null
run "$cairn" redis-restore "$live_first" --redis "redis://127.0.0.1:$b" --conf "$work/server-b.conf" \
  --start-command "redis-server $work/server-b.conf"
restored_digest=$(digest "$b")
echo "server B digest: $restored_digest"
echo "first dataset:   $first_digest"
echo "second dataset:  $second_digest"
if [ "$restored_digest" != "$first_digest" ]; then echo "server B does not hold the first dataset" >&2; exit 1; fi
echo "server B holds exactly the first dataset; its previous files were kept:"
ls -d "$work/server-b/"*.old

say "13. the nightly restore test: drill the latest snapshot in a throwaway server"
run "$cairn" drill latest

say "demo finished: repositories, servers and restores were in $work (removed now)"
