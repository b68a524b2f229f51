# Shared helpers for scripts/bench.sh (sourced, not run). Bash only, plus awk and coreutils.

# Progress goes to stderr, one clear line per event; results go to stdout and files.
progress() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# Everything this run starts or creates, so the EXIT trap can undo it.
BENCH_REDIS_PIDS=()
BENCH_TEMP_DIRS=()

bench_cleanup() {
  local status=$? pid dir
  for pid in "${BENCH_REDIS_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  for dir in "${BENCH_TEMP_DIRS[@]}"; do rm -rf -- "$dir"; done
  if [ "$status" -ne 0 ]; then printf '[bench] FAILED (exit %s); see the messages above\n' "$status" >&2; fi
  return "$status"
}

# Makes a directory that the EXIT trap removes and stores its path in VAR (not printed: a
# command substitution would run in a subshell and the trap would never hear of the directory).
temp_dir() { # VAR PARENT NAME
  local made
  mkdir -p "$2"
  made=$(mktemp -d "$2/$3.XXXXXX")
  BENCH_TEMP_DIRS+=("$made")
  printf -v "$1" '%s' "$made"
}

# Sum of regular-file sizes under a directory (what the dataset is, without directory blocks).
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s + 0 }'; }
# Bytes a directory takes as du sees them (the repository size), 0 when missing.
dir_bytes() { if [ -e "$1" ]; then du -sb "$1" | awk '{ print $1 }'; else echo 0; fi; }

# ---------- redis-server ----------
REDIS_PORT=""
REDIS_PID=""

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts redis-server with DIR as its data directory on a free loopback port; sets REDIS_PORT and
# REDIS_PID. Extra config lines come from stdin-less arguments ("appendonly no", ...). Waits until
# the dataset is loaded (PING answers PONG, not LOADING).
redis_start() { # DIR [config lines...]
  local dir=$1; shift
  local attempt port conf log pid reply waited
  for attempt in $(seq 1 20); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    if port_in_use "$port"; then continue; fi
    conf="$dir/../redis-$port.conf"
    log="$dir/../redis-$port.log"
    {
      echo "port $port"
      echo "bind 127.0.0.1"
      echo "protected-mode yes"
      echo "daemonize no"
      echo "dir $dir"
      echo "dbfilename dump.rdb"
      echo "appenddirname appendonlydir"
      echo "save \"\""
      echo "appendfsync everysec"
      echo "auto-aof-rewrite-percentage 0"
      echo "enable-debug-command local"
      echo "logfile $log"
      local line
      for line in "$@"; do echo "$line"; done
    } > "$conf"
    redis-server "$conf" > /dev/null 2>&1 &
    pid=$!
    BENCH_REDIS_PIDS+=("$pid")
    waited=0
    while :; do
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        if grep -q "Address already in use" "$log" 2>/dev/null; then break; fi
        tail -n 20 "$log" >&2 || true
        die "redis-server failed to start in $dir (log above)"
      fi
      reply=$(redis-cli -p "$port" PING 2>/dev/null || true)
      if [ "$reply" = "PONG" ]; then REDIS_PORT=$port; REDIS_PID=$pid; return 0; fi
      sleep 0.2; waited=$(( waited + 1 ))
      if [ "$waited" -gt 9000 ]; then die "redis-server in $dir did not become ready in 30 minutes"; fi
    done
  done
  die "no free port for redis-server after 20 attempts"
}

# Stops the redis-server this script started, by pid (SIGTERM, then wait).
redis_stop() { # PID
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; fi
  local kept=() p
  for p in "${BENCH_REDIS_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  BENCH_REDIS_PIDS=("${kept[@]}")
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
# One field of INFO persistence.
persistence_field() { rcli INFO persistence | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }

# BGSAVE and wait for it through INFO persistence (LASTSAVE has one-second resolution).
redis_bgsave() {
  local before reply waited=0
  before=$(persistence_field rdb_saves)
  while :; do
    reply=$(rcli BGSAVE 2>&1 || true)
    case $reply in
      *"started"*) break ;;
      *"in progress"*|*"scheduled"*) sleep 0.5 ;;
      *) die "BGSAVE failed: $reply" ;;
    esac
  done
  while :; do
    if [ "$(persistence_field rdb_bgsave_in_progress)" = 0 ] && [ "$(persistence_field rdb_saves)" -gt "$before" ]; then break; fi
    sleep 0.2; waited=$(( waited + 1 ))
    [ "$waited" -lt 18000 ] || die "BGSAVE did not finish in an hour"
  done
  [ "$(persistence_field rdb_last_bgsave_status)" = ok ] || die "BGSAVE reported rdb_last_bgsave_status=$(persistence_field rdb_last_bgsave_status)"
}

# BGREWRITEAOF and wait until the new base is in place and the old generation is deleted.
redis_rewrite_aof() { # DATADIR
  local dir=$1 before reply waited=0
  before=$(persistence_field aof_rewrites)
  reply=$(rcli BGREWRITEAOF 2>&1 || true)
  case $reply in *"started"*|*"scheduled"*) ;; *) die "BGREWRITEAOF failed: $reply" ;; esac
  while :; do
    if [ "$(persistence_field aof_rewrite_in_progress)" = 0 ] && [ "$(persistence_field aof_rewrite_scheduled)" = 0 ] \
       && [ "$(persistence_field aof_rewrites)" -gt "$before" ] && aof_dir_settled "$dir/appendonlydir"; then break; fi
    sleep 0.2; waited=$(( waited + 1 ))
    [ "$waited" -lt 18000 ] || die "BGREWRITEAOF did not finish in an hour"
  done
  [ "$(persistence_field aof_last_bgrewrite_status)" = ok ] || die "BGREWRITEAOF failed: aof_last_bgrewrite_status=$(persistence_field aof_last_bgrewrite_status)"
}

# True when appendonlydir holds exactly the manifest and the files it lists, none of them history.
aof_dir_settled() { # APPENDONLYDIR
  local dir=$1 listed present
  [ -f "$dir/appendonly.aof.manifest" ] || return 1
  if grep -q ' type h' "$dir/appendonly.aof.manifest"; then return 1; fi
  listed=$( { awk '{ for (i = 1; i < NF; i++) if ($i == "file") print $(i + 1) }' "$dir/appendonly.aof.manifest"; echo appendonly.aof.manifest; } | sort)
  present=$(ls -1 "$dir" | sort)
  [ "$listed" = "$present" ]
}

# Waits until the AOF buffer is written to the file (a copy then sees every command).
redis_aof_flushed() {
  local waited=0
  while [ "$(persistence_field aof_buffer_length)" != 0 ] || [ "$(persistence_field aof_pending_bio_fsync)" != 0 ]; do
    sleep 0.2; waited=$(( waited + 1 ))
    [ "$waited" -lt 3000 ] || die "the AOF buffer did not drain in 10 minutes"
  done
}

# Feeds RESP from stdin through redis-cli --pipe and fails on any error reply.
redis_pipe() {
  local out
  out=$(redis-cli -p "$REDIS_PORT" --pipe 2>&1) || { printf '%s\n' "$out" >&2; die "redis-cli --pipe failed"; }
  case $out in
    *"errors: 0,"*) ;;
    *) printf '%s\n' "$out" | tail -n 20 >&2; die "the workload produced error replies" ;;
  esac
}

redis_digest() { rcli DEBUG DIGEST | tr -d '\r'; }
redis_keys() { rcli INFO keyspace | tr -d '\r' | awk -F'[:=,]' '/^db[0-9]+:/ { s += $3 } END { print s + 0 }'; }

# ---------- timing ----------
# The machine's stolen CPU time so far, in clock ticks: the hypervisor's share of this VM's CPUs
# (the `steal` column of /proc/stat's `cpu` line; 0 on bare metal).
steal_ticks() { awk '$1 == "cpu" { print $9 + 0; exit }' /proc/stat; }
clock_ticks=$(getconf CLK_TCK)
cpu_count=$(nproc)

# Runs a command under /usr/bin/time; sets T_WALL T_USER T_SYS T_RSS_KB, and T_STEAL_PCT: the
# share of the machine's CPU time (wall seconds x CPUs) the hypervisor took for other guests
# meanwhile. A step with a high share ran on a slower machine than the steps around it. Its stdout
# goes to LOG, its stderr to LOG.err. Fails loudly (printing both tails) when the command fails.
timed() { # LOG cmd...
  local log=$1; shift
  local tf rc=0 steal0
  tf=$(mktemp "${TMPDIR:-/tmp}/bench-time.XXXXXX")
  steal0=$(steal_ticks)
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" > "$log" 2> "$log.err" || rc=$?
  T_STEAL_PCT=$(awk -v d="$(( $(steal_ticks) - steal0 ))" -v hz="$clock_ticks" -v n="$cpu_count" -v w="$(tail -n 1 "$tf" | cut -d' ' -f1)" \
    'BEGIN { printf "%.1f", (w > 0 ? 100 * d / hz / (w * n) : 0) }')
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$log" >&2 || true
    tail -n 30 "$log.err" >&2 || true
    rm -f "$tf"
    die "command failed with exit $rc: $*"
  fi
  read -r T_WALL T_USER T_SYS T_RSS_KB < <(tail -n 1 "$tf")
  rm -f "$tf"
}

# ---------- the fixed source path ----------
# Makes DST an exact copy of SRC the way a live data directory changes between nights: unchanged
# files keep their inode and metadata (so tools' change detection sees them unchanged), changed
# *.rdb files are replaced by rename (as Redis does), other changed files are rewritten in place
# (as an appended AOF is), files gone from SRC are deleted; modes, owners and mtimes follow SRC.
sync_tree() { # SRC DST
  local src=$1 dst=$2 rel
  mkdir -p "$dst"
  while IFS= read -r rel; do
    [ -e "$src/$rel" ] || rm -f -- "$dst/$rel"
  done < <(cd "$dst" && find . -type f -printf '%P\n')
  while IFS= read -r rel; do
    [ -d "$src/$rel" ] || rm -rf -- "${dst:?}/$rel"
  done < <(cd "$dst" && find . -mindepth 1 -depth -type d -printf '%P\n')
  while IFS= read -r rel; do mkdir -p "$dst/$rel"; done < <(cd "$src" && find . -mindepth 1 -type d -printf '%P\n')
  while IFS= read -r rel; do
    if [ -f "$dst/$rel" ] && [ "$(stat -c '%s %Y' "$src/$rel")" = "$(stat -c '%s %Y' "$dst/$rel")" ] && cmp -s "$src/$rel" "$dst/$rel"; then
      same_attributes "$src/$rel" "$dst/$rel"
      continue
    fi
    case $rel in
      *.rdb) cp -p "$src/$rel" "$dst/$rel.sync-tmp"; mv -f "$dst/$rel.sync-tmp" "$dst/$rel" ;;
      *) cp -p "$src/$rel" "$dst/$rel" ;;
    esac
  done < <(cd "$src" && find . -type f -printf '%P\n')
  while IFS= read -r rel; do
    same_attributes "$src/$rel" "$dst/$rel"
    [ "$(stat -c %Y "$src/$rel")" = "$(stat -c %Y "$dst/$rel")" ] || touch -m -r "$src/$rel" "$dst/$rel"
  done < <(cd "$src" && find . -depth -type d -printf '%P\n' | sed 's|^$|.|')
}

# Drops every file under the given folders from the page cache (after a sync, so none is dirty):
# a restore then reads the repository from the disk, as one days after the backup would, whatever
# each tool's way of writing left in the cache.
drop_from_page_cache() { # DIR... (folders that do not exist are skipped: not every tool has a cache)
  local dir
  sync
  for dir in "$@"; do
    [ -d "$dir" ] && find "$dir" -type f -exec dd if={} iflag=nocache count=0 status=none \;
  done
  return 0
}

# Gives DST the owner and mode of SRC, touching nothing that already matches (chown and chmod
# change ctime even when they change nothing else, and ctime tells backup tools a file changed).
same_attributes() { # SRC DST
  [ "$(stat -c '%u:%g' "$1")" = "$(stat -c '%u:%g' "$2")" ] || chown --reference="$1" "$2"
  [ "$(stat -c '%a' "$1")" = "$(stat -c '%a' "$2")" ] || chmod --reference="$1" "$2"
}
