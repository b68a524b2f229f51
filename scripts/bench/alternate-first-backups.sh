#!/usr/bin/env bash
# Alternating first backups with several cairn binaries, to compare two builds on this noisy VM:
# for each round and each binary, a fresh repository, the source read into the page cache and a
# `sync` (outside the timing), then `cairn backup --json SRC` under /usr/bin/time.
#
#   ROUNDS=3 bash scripts/bench/alternate-first-backups.sh bench-results/data/medium-1/night-1 OLD NEW
#
# Prints one line per backup: round, binary, wall s, user s, sys s, peak RSS KiB.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 SOURCE-DIR CAIRN-BINARY..." >&2; exit 64; }
source_dir=$1; shift
[ -d "$source_dir" ] || { echo "error: $source_dir is not a directory (make bench PROFILE=medium generates the datasets)" >&2; exit 66; }
rounds=${ROUNDS:-3}
export CAIRN_PASSWORD=${CAIRN_PASSWORD:-alternate-first-backups}
work=$(mktemp -d "${TMPDIR:-/tmp}/cairn-alternate.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
for round in $(seq 1 "$rounds"); do
  for binary in "$@"; do
    rm -rf -- "$work/repo" "$work/cache"
    "$binary" init --repo "$work/repo" --cache-dir "$work/cache" > /dev/null
    find "$source_dir" -type f -exec cat {} + > /dev/null
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
      "$binary" backup --repo "$work/repo" --cache-dir "$work/cache" --json "$source_dir" > /dev/null
    echo "$round $binary $(cat "$work/time")"
  done
done
