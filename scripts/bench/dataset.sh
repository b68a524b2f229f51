# Dataset generation for scripts/bench.sh (sourced, not run): a real redis-server, a seeded
# workload, one copy of the data directory per night.
#
#   DATASET/night-N/{dump.rdb, appendonlydir/}   what a nightly backup would see
#   DATASET/nights.tsv                           night, keys, DEBUG DIGEST, bytes per file kind
#   DATASET/params.txt                           what the data was made from
#   DATASET/.complete                            the same text; present only when every night is done
#
# A dataset folder whose .complete matches the current parameters is reused as it is.

# The text that identifies a dataset: change any part and the data is generated again.
dataset_params() { # PROFILE SEED SCALE NIGHTS
  local gen_hash
  gen_hash=$(cat "$BENCH_DIR/workload.awk" "$BENCH_DIR/dataset.sh" | sha256sum | cut -c1-16)
  printf 'profile=%s\nseed=%s\nscale=%s\nnights=%s\ngenerator=%s\nawk=%s\nredis=%s\nowner=%s\n' \
    "$1" "$2" "$3" "$4" "$gen_hash" \
    "$(awk -W version 2>/dev/null | head -n 1 || awk --version 2>/dev/null | head -n 1)" \
    "$(redis-server --version | awk '{ print $3 }')" "$(dataset_owner)"
}

# Packaged Redis data directories belong to the redis user; as root, copies are given uid/gid 999
# so that restoring ownership is part of what is verified.
dataset_owner() { if [ "$(id -u)" = 0 ]; then echo 999:999; else echo "$(id -u):$(id -g)"; fi; }

# The night in which the AOF is rewritten (a new base), before that night's writes.
dataset_rewrite_night() { echo $(( $1 / 2 + 1 )); }

dataset_ensure() { # PROFILE SEED SCALE NIGHTS DATASET_DIR
  local profile=$1 seed=$2 scale=$3 nights=$4 out=$5 params
  params=$(dataset_params "$profile" "$seed" "$scale" "$nights")
  if [ -f "$out/.complete" ] && [ "$(cat "$out/.complete")" = "$params" ]; then
    progress "dataset: reusing $out (same seed and parameters)"
    return 0
  fi
  if [ -e "$out" ]; then progress "dataset: $out is incomplete or from other parameters; generating it again"; rm -rf -- "$out"; fi
  mkdir -p "$out"
  printf '%s\n' "$params" > "$out/params.txt"
  dataset_generate "$seed" "$scale" "$nights" "$out"
  printf '%s\n' "$params" > "$out/.complete"
}

dataset_generate() { # SEED SCALE NIGHTS DATASET_DIR
  local seed=$1 scale=$2 nights=$3 out=$4
  local tmp datadir night started rewrite_night digest keys owner
  started=$(date +%s)
  temp_dir tmp "$out" .redis
  datadir="$tmp/data"
  mkdir -p "$datadir"
  owner=$(dataset_owner)
  rewrite_night=$(dataset_rewrite_night "$nights")

  redis_start "$datadir" "appendonly yes" "aof-use-rdb-preamble yes"
  progress "dataset: redis-server $(redis-server --version | awk '{ print $3 }') pid $REDIS_PID on 127.0.0.1:$REDIS_PORT, loading the keyspace (seed $seed, scale $scale)"
  awk -v mode=load -v seed="$seed" -v scale="$scale" -f "$BENCH_DIR/workload.awk" | redis_pipe
  # A production server's auto-rewrite would have folded the bulk load into an AOF base by now;
  # doing it once here keeps night 1 from carrying the whole load as AOF commands.
  redis_rewrite_aof "$datadir"
  progress "dataset: loaded $(redis_keys) keys, used_memory $(rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory_human" { print $2 }')"

  printf 'night\tkeys\tdigest\tdump_rdb_bytes\taof_base_bytes\taof_incr_bytes\ttotal_bytes\n' > "$out/nights.tsv"
  for night in $(seq 1 "$nights"); do
    if [ "$night" = "$rewrite_night" ]; then
      progress "dataset: night $night: BGREWRITEAOF (a new AOF base)"
      redis_rewrite_aof "$datadir"
    fi
    awk -v mode=night -v seed="$seed" -v scale="$scale" -v night="$night" -f "$BENCH_DIR/workload.awk" | redis_pipe
    redis_bgsave
    redis_aof_flushed
    aof_dir_settled "$datadir/appendonlydir" || die "appendonlydir does not match its manifest after night $night"
    digest=$(redis_digest)
    keys=$(redis_keys)
    rm -rf -- "$out/night-$night.tmp"
    mkdir "$out/night-$night.tmp"
    cp -a "$datadir/dump.rdb" "$datadir/appendonlydir" "$out/night-$night.tmp/"
    chown -R "$owner" "$out/night-$night.tmp"
    chmod 0750 "$out/night-$night.tmp"
    mv "$out/night-$night.tmp" "$out/night-$night"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$night" "$keys" "$digest" \
      "$(stat -c %s "$out/night-$night/dump.rdb")" \
      "$(find "$out/night-$night/appendonlydir" -name '*.base.rdb' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" \
      "$(find "$out/night-$night/appendonlydir" -name '*.incr.aof' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" \
      "$(tree_bytes "$out/night-$night")" >> "$out/nights.tsv"
    progress "dataset: night $night: $keys keys, digest $digest, $(( $(tree_bytes "$out/night-$night") / 1000000 )) MB"
  done
  redis_stop "$REDIS_PID"
  rm -rf -- "$tmp"
  progress "dataset: generated in $(( $(date +%s) - started )) s"
}

# The recorded DEBUG DIGEST of a night.
dataset_digest() { # DATASET_DIR NIGHT
  awk -F'\t' -v n="$2" 'NR > 1 && $1 == n { print $3 }' "$1/nights.tsv"
}
