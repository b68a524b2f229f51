# Restore verification for scripts/bench.sh (sourced, not run). A restore passes only if
#   1. every file is byte-identical to the night's files and no file is missing or extra (diff -rq),
#   2. every path has the same type, mode, uid and gid (stat),
#   3. a fresh redis-server loads the restored AOF (appendonly yes, multi-part) and, separately,
#      the restored dump.rdb (appendonly no), and both DEBUG DIGESTs equal the night's recorded one.
# mtimes are compared too and reported (exact, whole seconds, or differ) but do not fail a restore.
# Sets VERIFY_MTIME; dies loudly on any failure.

# One line per path: relative path, type, mode, uid, gid.
tree_meta() { (cd "$1" && find . -printf '%P|%y|%m|%U|%G\n' | LC_ALL=C sort); }
tree_mtimes() { (cd "$1" && find . -type f -printf '%P|%T@\n' | LC_ALL=C sort); }
tree_mtimes_s() { (cd "$1" && find . -type f -printf '%P|%Ts\n' | LC_ALL=C sort); }

# The files of a restore against the night's: bytes, and type, mode and owner of each; dies on a
# difference. The repeated rounds of a restore (timing only) are checked this far.
verify_restored_files() { # TOOL NIGHT_DIR RESTORED_ROOT EXPECTED_DIGEST WORK
  local tool=$1 expected_dir=$2 root=$3 work=$5
  local what="$tool restore of $(basename "$expected_dir")"
  [ -d "$root" ] || { find "$(dirname "$root")" -maxdepth 4 | head -n 20 >&2; die "$what: restored folder $root does not exist"; }
  if ! diff -rq --no-dereference "$expected_dir" "$root" > "$work/diff.txt" 2>&1; then
    head -n 20 "$work/diff.txt" >&2
    die "$what: restored files differ from the night's files"
  fi
  if ! diff <(tree_meta "$expected_dir") <(tree_meta "$root") > "$work/meta.txt"; then
    head -n 20 "$work/meta.txt" >&2
    die "$what: types, modes or owners differ (path|type|mode|uid|gid; < expected, > restored)"
  fi
}

verify_restore() { # TOOL NIGHT_DIR RESTORED_ROOT EXPECTED_DIGEST WORK
  local tool=$1 expected_dir=$2 root=$3 digest=$4 work=$5
  local what="$tool restore of $(basename "$expected_dir")"
  verify_restored_files "$@"
  if diff -q <(tree_mtimes "$expected_dir") <(tree_mtimes "$root") > /dev/null; then VERIFY_MTIME=exact
  elif diff -q <(tree_mtimes_s "$expected_dir") <(tree_mtimes_s "$root") > /dev/null; then VERIFY_MTIME=seconds
  else VERIFY_MTIME=differ; fi

  local scratch got
  # The AOF path: base + incr + manifest, as a server with appendonly yes starts from them.
  scratch="$work/redis-aof"
  rm -rf -- "$scratch"; mkdir -p "$scratch"; cp -a "$root/." "$scratch/data"
  redis_start "$scratch/data" "appendonly yes" "aof-use-rdb-preamble yes"
  got=$(redis_digest)
  redis_stop "$REDIS_PID"
  rm -rf -- "$scratch"
  [ "$got" = "$digest" ] || die "$what: DEBUG DIGEST after loading the restored AOF is $got, expected $digest"

  # The RDB path: dump.rdb alone.
  scratch="$work/redis-rdb"
  rm -rf -- "$scratch"; mkdir -p "$scratch/data"; cp -a "$root/dump.rdb" "$scratch/data/"
  redis_start "$scratch/data" "appendonly no"
  got=$(redis_digest)
  redis_stop "$REDIS_PID"
  rm -rf -- "$scratch"
  [ "$got" = "$digest" ] || die "$what: DEBUG DIGEST after loading the restored dump.rdb is $got, expected $digest"
}
