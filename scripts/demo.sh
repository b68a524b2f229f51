#!/usr/bin/env bash
# make demo: back up the sample Redis data directory in Fixtures/, list, restore, verify.
# Everything happens under a throwaway folder; nothing outside it is touched.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cairn=${CAIRN_BINARY:-$here/.build/release/cairn}
work=$(mktemp -d /tmp/cairn-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

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
first=$("$cairn" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])')

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
say "demo finished: repository, source and restore were in $work (removed now)"
