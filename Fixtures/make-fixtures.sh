#!/usr/bin/env bash
# Makes Fixtures/redis7-datadir: a small data directory written by a real redis-server 7
# (dump.rdb + appendonlydir/ with an RDB-preamble base, an increment and the manifest),
# and Fixtures/redis7-datadir.json with the expected key counts and DEBUG DIGEST.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --appendonly yes --aof-use-rdb-preamble yes \
  --enable-debug-command local --save '' --daemonize no --logfile "$work/redis.log" &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cli() { redis-cli -p "$port" "$@"; }
for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done
wait_idle() { while cli info persistence | grep -Eq '(rdb_bgsave_in_progress|aof_rewrite_in_progress):1'; do sleep 0.05; done; }

{
  for i in $(seq 1 200); do echo "SET string:$i value-$i-$(printf '%0*d' $((i % 40)) 7)"; done
  for i in $(seq 1 50); do echo "SET counter:$i $((i * 1000))"; done
  for i in $(seq 1 40); do echo "HSET user:$i name user$i email user$i@example.com visits $i"; done
  echo "HSET bighash $(for f in $(seq 1 600); do printf 'field%d value%d ' $f $f; done)"
  for i in $(seq 1 30); do echo "RPUSH list:$i a b c $i"; done
  echo "RPUSH biglist $(seq 1 3000 | tr '\n' ' ')"
  for i in $(seq 1 20); do echo "SADD intset:$i 1 2 3 $i"; done
  for i in $(seq 1 20); do echo "SADD set:$i alpha beta gamma m$i"; done
  echo "SADD bigset $(for m in $(seq 1 700); do printf 'member%d ' $m; done)"
  for i in $(seq 1 20); do echo "ZADD zset:$i 1 one 2 two 3.5 three $i n$i"; done
  echo "ZADD bigzset $(for m in $(seq 1 300); do printf '%d m%d ' $m $m; done)"
  for i in $(seq 1 30); do echo "XADD stream:orders * item $i qty $((i % 5))"; done
  echo "XGROUP CREATE stream:orders shipping 0"
  echo "XREADGROUP GROUP shipping worker1 COUNT 5 STREAMS stream:orders >"
  for i in $(seq 1 25); do echo "SET session:$i token$i EX 31536000"; done
  echo "SELECT 3"
  for i in $(seq 1 15); do echo "SET db3:key:$i v$i"; done
} | cli >/dev/null
cli FUNCTION LOAD "#!lua name=cairnlib
redis.register_function('cairn_echo', function(keys, args) return args[1] end)" >/dev/null

cli BGREWRITEAOF >/dev/null; sleep 0.2; wait_idle
for i in $(seq 1 20); do cli SET "after-rewrite:$i" "tail-$i" >/dev/null; done
cli INCRBY counter:1 5 >/dev/null
cli BGSAVE >/dev/null; sleep 0.2; wait_idle

digest=$(cli DEBUG DIGEST)
keys0=$(cli -n 0 DBSIZE); keys3=$(cli -n 3 DBSIZE)
expires=$(cli info keyspace | awk -F'expires=' '/db0/ {split($2,a,","); print a[1]}')
version=$(cli info server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')
kill -9 "$pid"; wait "$pid" 2>/dev/null || true

rm -rf "$here/redis7-datadir"; mkdir -p "$here/redis7-datadir"
cp -a "$work/dump.rdb" "$work/appendonlydir" "$here/redis7-datadir/"
cat > "$here/redis7-datadir.json" <<JSON
{"redis_version": "$version", "digest": "$digest", "keys": {"0": $keys0, "3": $keys3}, "expires_db0": $expires, "functions": 1}
JSON
du -sh "$here/redis7-datadir"; cat "$here/redis7-datadir.json"
