#!/usr/bin/env bash
# make bench-objectstore: Cairn's backup and restore throughput to OpenStack Swift and to S3, next to
# a local repository, on the same real Redis data in one run.
#
#   bash scripts/bench-objectstore.sh [MB]      (default 1024; MB=100 for a quick run)
#
# 1. Source data, about MB megabytes (10^6 bytes) of real Redis data: the last night's dump.rdb of a
#    cached `make bench` dataset (bench-results/data/medium-1 or small-1) when one is within a
#    factor 1.5 of MB, otherwise a one-night dataset generated with a real redis-server by
#    scripts/bench/dataset.sh (cached as bench-results/data/objectstore-MB-SEED).
#    OS_BENCH_FILES=night takes that night's whole data directory (dump.rdb + appendonlydir/).
# 2. Starts an OpenStack Swift All-In-One (scripts/objectstore/saio.sh: TempAuth and the s3api
#    middleware) in a temporary directory on a free loopback port; the EXIT trap stops it by pid.
# 3. For each repository, local, swift://CONTAINER/bench and s3://127.0.0.1:PORT/BUCKET/bench:
#    init, first backup, unchanged second backup, restore into an empty directory (every file
#    compared with cmp), and check --read-data with a fresh --cache-dir; wall s, MB/s, CPU s, peak
#    RSS (/usr/bin/time), and the CPU seconds the Swift server processes used in each step (they
#    share the machine's cores with Cairn). Then the Swift server alone: the local repository's
#    packs PUT and read back with curl, 4 requests in flight, as the ceiling Cairn is measured against.
# 4. Prints a markdown table and writes bench-results/objectstore-<MB>-<date>.md and .json.
#
# Environment: CAIRN_BINARY (default .build/release/cairn), BENCH_SEED (default 1),
# OS_BENCH_FILES (dump or night, default dump), OS_BENCH_REPOS (default "local swift s3"),
# OS_BENCH_CPUS (shared or split, default shared: split runs the Swift servers on the last CPU and
# every Cairn and curl command on the others, local included, as when the object store is another
# machine; needs taskset and at least 2 CPUs),
# OS_BENCH_TREE (what the binary was built from, for the report; default: this checkout's git state).
# The password reaches Cairn through CAIRN_PASSWORD_FILE (a 0600 file in the work folder).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$here/scripts/bench
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
# shellcheck source=bench/dataset.sh
. "$BENCH_DIR/dataset.sh"

# The EXIT trap stops the Swift All-In-One (by the pids saio.sh recorded) and any redis-server the
# dataset generation started, and removes the temporary folders.
saio_dir=""
stop_saio() {
  local status=$?
  set +e   # a failing step here must not cut the cleanup short
  if [ -n "$saio_dir" ] && [ -f "$saio_dir/.cairn-saio" ]; then
    bash "$SAIO" stop "$saio_dir" > /dev/null 2>&1 || printf '[bench] warning: saio.sh stop %s failed\n' "$saio_dir" >&2
  fi
  (exit "$status")
  bench_cleanup
}
trap stop_saio EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case ${1:-} in -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
megabytes=${1:-1024}
[[ $megabytes =~ ^[0-9]+$ ]] && [ "$megabytes" -ge 10 ] || die "MB must be a whole number of megabytes, at least 10 (got '$megabytes')"
seed=${BENCH_SEED:-1}
files=${OS_BENCH_FILES:-dump}
case $files in dump|night) ;; *) die "OS_BENCH_FILES must be dump or night (got '$files')" ;; esac
repos=${OS_BENCH_REPOS:-local swift s3}
cpus=${OS_BENCH_CPUS:-shared}
# With split CPUs the object store gets a core of its own, as a real one has its own machines: the
# ratios then say what the remote path costs Cairn, not what two programs on one core cost each other.
client_pin=()
server_pin=()
case $cpus in
  shared) ;;
  split)
    command -v taskset > /dev/null || die "OS_BENCH_CPUS=split needs taskset (Debian package: util-linux)"
    last_cpu=$(( $(nproc) - 1 ))
    [ "$last_cpu" -ge 1 ] || die "OS_BENCH_CPUS=split needs at least 2 CPUs ($(nproc) here)"
    client_cpus=0-$(( last_cpu - 1 ))
    [ "$last_cpu" -gt 1 ] || client_cpus=0
    client_pin=(taskset -c "$client_cpus")
    server_pin=(taskset -c "$last_cpu")
    ;;
  *) die "OS_BENCH_CPUS must be shared or split (got '$cpus')" ;;
esac
for r in $repos; do case $r in local|swift|s3) ;; *) die "unknown repository kind '$r' in OS_BENCH_REPOS (local swift s3)" ;; esac; done
CAIRN_BIN=${CAIRN_BINARY:-$here/.build/release/cairn}
SAIO=$here/scripts/objectstore/saio.sh
results=$here/bench-results
run_started=$(date +%s)
run_date=$(date +%Y-%m-%d)
run_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

for c in redis-server redis-cli awk cmp find stat sha256sum; do
  command -v "$c" > /dev/null || die "$c is needed (Debian: redis-server redis-tools coreutils diffutils findutils)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package: time)"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is needed (Debian's python3, which the Swift servers run on)"
[ -x "$CAIRN_BIN" ] || die "no Cairn binary at $CAIRN_BIN (run make release, or set CAIRN_BINARY)"

# ---------- what was measured: the binary and the source tree it came from ----------
git_head=$(git -C "$here" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git_dirty=$(git -C "$here" status --porcelain -- Sources Package.swift 2>/dev/null | wc -l)
if [ "$git_dirty" -gt 0 ]; then
  git_tree="HEAD $git_head plus $git_dirty uncommitted change(s) under Sources/ ($(git -C "$here" status --porcelain -- Sources Package.swift | awk '{ print $2 }' | xargs -n 1 basename | paste -sd ' ' -); git diff HEAD sha256 $(git -C "$here" diff HEAD -- Sources Package.swift | sha256sum | cut -c1-12))"
else
  git_tree="HEAD $git_head, clean Sources/"
fi
# A binary built elsewhere (an export of one commit, say) is described by OS_BENCH_TREE instead.
git_tree=${OS_BENCH_TREE:-$git_tree}
binary_time=$(date -u -r "$CAIRN_BIN" +%Y-%m-%dT%H:%M:%SZ)

# ---------- the source data ----------
# Bytes of what a dataset's last night contributes: its dump.rdb, or its whole directory.
selected_bytes() { # NIGHT_DIR
  if [ "$files" = dump ]; then stat -c %s "$1/dump.rdb"; else tree_bytes "$1"; fi
}
want=$(( megabytes * 1000000 ))
source_night=""
for cached in "medium 12 7" "small 1.2 4"; do
  read -r profile scale nights <<< "$cached"
  dataset=$results/data/$profile-$seed
  [ -f "$dataset/.complete" ] && [ "$(cat "$dataset/.complete")" = "$(dataset_params "$profile" "$seed" "$scale" "$nights")" ] || continue
  have=$(selected_bytes "$dataset/night-$nights")
  if awk -v h="$have" -v w="$want" 'BEGIN { exit !(h <= w * 1.5 && h * 1.5 >= w) }'; then
    source_night=$dataset/night-$nights
    source_what="night $nights of the cached $profile dataset (seed $seed)"
    break
  fi
done
if [ -z "$source_night" ]; then
  # dump.rdb grows by ~88 MB per unit of workload scale (small: 1.2 -> 105 MB, medium: 12 -> 1058 MB);
  # a whole night is about twice its dump (dump.rdb + the AOF base + the increment).
  scale=$(awk -v mb="$megabytes" -v f="$files" 'BEGIN { s = mb / 88 / (f == "night" ? 2 : 1); printf "%.2f", (s < 0.1 ? 0.1 : s) }')
  dataset=$results/data/objectstore-$megabytes-$seed
  dataset_ensure "objectstore-$megabytes" "$seed" "$scale" 1 "$dataset"
  source_night=$dataset/night-1
  source_what="a one-night dataset generated for this size (seed $seed, scale $scale)"
fi

work=$results/work-objectstore
rm -rf -- "$work"
mkdir -p "$work"
BENCH_TEMP_DIRS+=("$work")
src=$work/src
mkdir -p "$src"
if [ "$files" = dump ]; then cp -p "$source_night/dump.rdb" "$src/"; else cp -a "$source_night/." "$src/"; fi
data_bytes=$(tree_bytes "$src")
data_files=$(find "$src" -type f | wc -l)
find "$src" -type f -exec cat {} + > /dev/null
progress "source: $(( data_bytes / 1000000 )) MB in $data_files file(s), from $source_what ($source_night)"

# How fast this machine is in this run: `zstd -3 -T0` over the source, as `make bench` measures
# it. The same VM has run twice as slow in some hours with no stolen time showing, and a ratio to
# local moves with Cairn's own speed, so a report says which hour it was.
zstd_wall=""
zstd_cpu=""
if command -v zstd > /dev/null; then
  read -r zstd_wall zstd_user zstd_sys < <({ /usr/bin/time -f '%e %U %S' \
    sh -c 'find "$1" -type f -exec cat {} + | zstd -q -3 -T0 -c > /dev/null' sh "$src"; } 2>&1 | tail -n 1)
  zstd_cpu=$(awk -v u="$zstd_user" -v s="$zstd_sys" 'BEGIN { printf "%.2f", u + s }')
  progress "zstd -3 -T0 over the source: $zstd_wall s wall, $zstd_cpu CPU s"
fi

# Throwaway password for throwaway repositories, in a file as production would have it.
unset CAIRN_PASSWORD CAIRN_PASSWORD_COMMAND CAIRN_REPOSITORY
(umask 077; printf 'osbench-%s%s%s\n' "$RANDOM" "$RANDOM" "$RANDOM" > "$work/password")
export CAIRN_PASSWORD_FILE=$work/password

# ---------- the Swift All-In-One ----------

free_port() { /usr/bin/python3 "$here/scripts/objectstore/unused-ports.py"; }
needs_saio=0
for r in $repos; do [ "$r" = local ] || needs_saio=1; done
if [ "$needs_saio" = 1 ]; then
  temp_dir saio_dir "${TMPDIR:-/tmp}" cairn-osbench-saio
  started=0
  for attempt in 1 2 3; do
    saio_port=$(free_port)
    # With our pid, saio.sh's watchdog stops the servers should this script die without its EXIT trap (kill -9).
    if CAIRN_HARNESS_OWNER_PID=$$ "${server_pin[@]}" bash "$SAIO" start "$saio_dir" "$saio_port" > "$work/saio.env" 2> "$work/saio.log"; then started=1; break; fi
    progress "Swift All-In-One did not start on port $saio_port (attempt $attempt): $(tail -n 1 "$work/saio.log")"
    bash "$SAIO" stop "$saio_dir" > /dev/null 2>&1 || true
  done
  [ "$started" = 1 ] || { tail -n 30 "$work/saio.log" >&2; die "the Swift All-In-One did not start (scripts/objectstore/saio.sh)"; }
  set -a
  # shellcheck disable=SC1091
  . "$work/saio.env"
  set +a
  progress "Swift All-In-One on 127.0.0.1:$saio_port ($(tail -n 1 "$work/saio.log" | sed 's/^saio: //'))"
fi

# CPU seconds (user + system) the Swift servers and memcached have used so far.
ticks=$(getconf CLK_TCK)
saio_cpu() {
  local pid total=0 f
  if [ -z "$saio_dir" ]; then echo 0; return; fi
  for f in "$saio_dir"/run/*.pid; do
    [ "$f" = "$saio_dir/run/watchdog.pid" ] && continue   # saio.sh's watchdog, not a server
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -r "/proc/$pid/stat" ] || continue
    total=$(( total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat") ))
  done
  awk -v t="$total" -v h="$ticks" 'BEGIN { printf "%.2f", t / h }'
}

# ---------- the runs ----------
steps=$work/steps.tsv
printf 'repo\tstep\tdata_bytes\twall_s\tuser_s\tsys_s\trss_kb\tserver_cpu_s\tadded_stored_bytes\n' > "$steps"
run_id=$(date +%s)-$RANDOM

step() { # REPO_KIND STEP DATA_BYTES cairn-arguments...
  local kind=$1 name=$2 bytes=$3; shift 3
  local before after server rate="" added=""
  before=$(saio_cpu)
  timed "$work/$kind/$name.log" "${client_pin[@]}" "$CAIRN_BIN" "$@"
  after=$(saio_cpu)
  if [ "$name" = backup ] || [ "$name" = rebackup ]; then
    added=$(grep -o '"added_stored_bytes" *: *[0-9]*' "$work/$kind/$name.log" | tail -n 1 | sed 's/.*: *//')
  fi
  server=$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.2f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$name" "$bytes" "$T_WALL" "$T_USER" "$T_SYS" "$T_RSS_KB" "$server" "${added:-}" >> "$steps"
  if [ "$bytes" -gt 0 ]; then rate=$(awk -v b="$bytes" -v s="$T_WALL" 'BEGIN { printf ", %.1f MB/s", (s > 0 ? b / 1e6 / s : 0) }'); fi
  progress "$kind $name: ${T_WALL}s$rate, CPU $(awk -v u="$T_USER" -v s="$T_SYS" 'BEGIN { printf "%.1f", u + s }') s, peak RSS $(( T_RSS_KB / 1024 )) MiB, Swift servers' CPU ${server} s${added:+, stored $(( added / 1000000 )) MB}"
}

# Every file of the source, byte for byte, and nothing missing or extra.
verify_restore() { # RESTORED
  local restored=$1 rel
  diff <(cd "$src" && find . -type f | LC_ALL=C sort) <(cd "$restored" && find . -type f | LC_ALL=C sort) > "$work/restore-files.diff" \
    || { head -n 20 "$work/restore-files.diff" >&2; die "the restore into $restored has missing or extra files (< source, > restored)"; }
  while IFS= read -r rel; do
    cmp -s "$src/$rel" "$restored/$rel" || die "restored $rel differs from the source"
  done < <(cd "$src" && find . -type f -printf '%P\n')
}

for kind in $repos; do
  mkdir -p "$work/$kind"
  case $kind in
    local) repo=$work/local/repo ;;
    swift) repo=swift://cairn-osbench-$run_id/bench ;;
    s3) repo=s3://$S3_ENDPOINT/cairn-osbench-$run_id-s3/bench ;;
  esac
  cache=$work/$kind/cache
  progress "$kind: $repo"
  step "$kind" init 0 init --repo "$repo" --cache-dir "$cache"
  # Read from a warm page cache, whatever came before (this VM pages out page cache that has not
  # been touched for about a minute).
  find "$src" -type f -exec cat {} + > /dev/null
  step "$kind" backup "$data_bytes" backup --repo "$repo" --cache-dir "$cache" --json "$src"
  step "$kind" rebackup "$data_bytes" backup --repo "$repo" --cache-dir "$cache" --json "$src"
  target=$work/$kind/restore
  step "$kind" restore "$data_bytes" restore --repo "$repo" --cache-dir "$cache" latest --target "$target"
  verify_restore "$target"
  progress "$kind restore: all $data_files file(s) identical to the source (cmp)"
  rm -rf -- "$target"
  # A fresh cache: the catalog is rebuilt from the store, then every pack is read and verified.
  step "$kind" check "$data_bytes" check --repo "$repo" --cache-dir "$work/$kind/fresh-cache" --read-data
  grep -q 'no errors' "$work/$kind/check.log" || { cat "$work/$kind/check.log" >&2; die "$kind: check --read-data did not report 'no errors'"; }
  rm -rf -- "$work/$kind/fresh-cache"
  [ "$kind" != local ] || local_repo_bytes=$(dir_bytes "$work/local/repo")
done

# ---------- what the Swift All-In-One alone can do ----------
# The local repository's pack files, PUT into a scratch container and read back with curl, 4 requests
# in flight as Cairn has: the ceiling this server sets on this machine, to read Cairn's remote
# figures against (the same bytes Cairn uploads and downloads, without Cairn).
limits=$work/limits.tsv
printf 'command\tbytes\twall_s\tuser_s\tsys_s\tserver_cpu_s\n' > "$limits"
if [ -n "$saio_dir" ] && [ -d "$work/local/repo/data" ] && command -v curl > /dev/null; then
  curl -sf -o /dev/null -D "$work/limit-auth.txt" -H "X-Auth-User: $ST_USER" -H "X-Auth-Key: $ST_KEY" "$ST_AUTH" || die "TempAuth refused curl"
  LIMIT_TOKEN=$(tr -d '\r' < "$work/limit-auth.txt" | awk -F': ' 'tolower($1) == "x-auth-token" { print $2 }')
  LIMIT_URL=$(tr -d '\r' < "$work/limit-auth.txt" | awk -F': ' 'tolower($1) == "x-storage-url" { print $2 }')/cairn-osbench-$run_id-curl
  export LIMIT_TOKEN LIMIT_URL
  curl -sf -o /dev/null -X PUT -H "X-Auth-Token: $LIMIT_TOKEN" "$LIMIT_URL" || die "could not create the scratch container $LIMIT_URL"
  find "$work/local/repo/data" -type f > "$work/packs.txt"
  pack_bytes=$(xargs -a "$work/packs.txt" stat -c %s | awk '{ s += $1 } END { printf "%.0f\n", s }')
  # shellcheck disable=SC2016
  for direction in PUT GET; do
    before=$(saio_cpu)
    if [ "$direction" = PUT ]; then
      timed "$work/limit-put.log" "${client_pin[@]}" xargs -a "$work/packs.txt" -P 4 -n 1 bash -c \
        'curl -sf -o /dev/null -H "Expect:" -H "X-Auth-Token: $LIMIT_TOKEN" -T "$1" "$LIMIT_URL/$(basename "$1")"' _
    else
      timed "$work/limit-get.log" "${client_pin[@]}" xargs -a "$work/packs.txt" -P 4 -n 1 bash -c \
        'curl -sf -o /dev/null -H "X-Auth-Token: $LIMIT_TOKEN" "$LIMIT_URL/$(basename "$1")"' _
    fi
    after=$(saio_cpu)
    printf 'curl %s of the local repository'"'"'s packs, 4 in flight\t%s\t%s\t%s\t%s\t%s\n' "$direction" "$pack_bytes" "$T_WALL" "$T_USER" "$T_SYS" \
      "$(awk -v a="$before" -v b="$after" 'BEGIN { printf "%.2f", b - a }')" >> "$limits"
    progress "Swift alone, curl $direction of $(( pack_bytes / 1000000 )) MB of packs: ${T_WALL}s, $(awk -v b="$pack_bytes" -v s="$T_WALL" 'BEGIN { printf "%.1f", b / 1e6 / s }') MB/s of packs"
  done
fi

# ---------- the report ----------
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
run_seconds=$(( $(date +%s) - run_started ))
swift_version=$(dpkg-query -W -f '${Version}' swift-proxy 2>/dev/null || echo unknown)
md=$results/objectstore-$megabytes-$run_date.md
json=$results/objectstore-$megabytes-$run_date.json

# One row per repository kind: the figures of each step side by side, and ratios to local.
awk -F'\t' -v OFS='\t' '
  NR == 1 { next }
  { key = $1 SUBSEP $2; wall[key] = $4; cpu[key] = $5 + $6; rss[key] = $7; server[key] = $8; bytes[$1] = ($3 > 0 ? $3 : bytes[$1])
    if ($2 == "backup") stored[$1] = $9
    if (!(($1) in seen)) { seen[$1] = 1; order[++n] = $1 } }
  function rate(kind, s) { return (wall[kind, s] > 0 ? bytes[kind] / 1e6 / wall[kind, s] : 0) }
  END {
    print "repo", "backup_mb_s", "backup_pct_of_local", "restore_mb_s", "restore_pct_of_local", "backup_rss_mib", "restore_rss_mib", "check_rss_mib", \
          "backup_s", "backup_cpu_s", "backup_server_cpu_s", "rebackup_s", "restore_s", "restore_cpu_s", "restore_server_cpu_s", "check_mb_s", "check_s", "stored_bytes"
    for (i = 1; i <= n; i++) {
      k = order[i]
      b = rate(k, "backup"); r = rate(k, "restore")
      bl = ("local" in seen) ? rate("local", "backup") : 0; rl = ("local" in seen) ? rate("local", "restore") : 0
      printf "%s\t%.1f\t%s\t%.1f\t%s\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.2f\t%s\n", k, b, (bl > 0 ? sprintf("%.0f", 100 * b / bl) : "-"), \
        r, (rl > 0 ? sprintf("%.0f", 100 * r / rl) : "-"), rss[k, "backup"] / 1024, rss[k, "restore"] / 1024, rss[k, "check"] / 1024, \
        wall[k, "backup"], cpu[k, "backup"], server[k, "backup"], wall[k, "rebackup"], wall[k, "restore"], cpu[k, "restore"], server[k, "restore"], \
        rate(k, "check"), wall[k, "check"], stored[k]
    }
  }' "$steps" > "$work/summary.tsv"

# TSV (header + rows) to a JSON array of objects; numbers stay numbers.
tsv_json() {
  awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; printf "["; next }
    { printf "%s\n  {", (NR > 2 ? "," : "")
      for (i = 1; i <= NF; i++) { v = $i; if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) { gsub(/"/, "\\\"", v); v = "\"" v "\"" }
        printf "%s\"%s\": %s", (i > 1 ? ", " : ""), h[i], v }
      printf "}" }
    END { print "\n]" }' "$1"
}

{
  echo "## Cairn to object storage ($run_time)"
  echo
  echo "- Command: \`bash scripts/bench-objectstore.sh $megabytes\` (\`make bench-objectstore MB=$megabytes\`), OS_BENCH_FILES=$files OS_BENCH_CPUS=$cpus"
  echo "- Measured: $git_tree; binary $CAIRN_BIN built $binary_time"
  echo "- Machine: $(nproc) CPUs ($cpu_model), $mem_total RAM, $(uname -sr); load average (1/5/15 min) at the start: $load_start, at the end: $load_end; whole run ${run_seconds} s"
  if [ -n "$zstd_wall" ]; then
    echo "- Machine speed in this run: \`zstd -3 -T0\` over the source took $zstd_wall s wall and $zstd_cpu CPU s (compare runs by this before comparing their ratios)"
  else
    echo "- Machine speed in this run: not measured (zstd is not installed)"
  fi
  echo "- Data: $(awk -v b="$data_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB in $data_files file(s), $source_what; read from a warm page cache"
  echo "- Object store: OpenStack Swift $swift_version All-In-One on 127.0.0.1 (scripts/objectstore/saio.sh: one proxy with TempAuth and s3api, one account, container and object server, workers = 0, one replica), $(if [ "$cpus" = split ]; then echo "on CPU $last_cpu alone, every Cairn and curl command (local ones too) on CPU(s) $client_cpus (OS_BENCH_CPUS=split)"; else echo "on the same $(nproc) CPUs as Cairn"; fi)"
  echo "- Steps per repository: init; first backup; unchanged second backup; restore of it into an empty directory (every file compared with cmp); check --read-data with a fresh --cache-dir"
  echo "- Units: MB = 10^6 bytes; MB/s = source bytes / wall seconds; peak RSS from /usr/bin/time; Swift CPU s = user + system seconds of the Swift servers and memcached during the step"
  echo
  echo "| repository | backup MB/s | % of local | restore MB/s | % of local | peak RSS MiB (backup / restore) | first backup s | unchanged re-backup s | restore s | check --read-data MB/s | Cairn CPU s (backup / restore) | Swift CPU s (backup / restore) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { printf "| %s | %s | %s | %s | %s | %d / %d | %s | %s | %s | %s | %s / %s | %s / %s |\n", $1, $2, $3, $4, $5, $6, $7, $9, $12, $13, $16, $10, $14, $11, $15 }' "$work/summary.tsv"
  echo
  awk -F'\t' 'NR > 1 && $1 != "local" {
      ok = ($3 >= 70 && $5 >= 70) ? "met" : "missed"
      printf "- %s: backup %s%% and restore %s%% of local: the 70%% target is %s.\n", $1, $3, $5, ok }' "$work/summary.tsv"
  if [ "$(wc -l < "$limits")" -gt 1 ]; then
    echo
    echo "The Swift All-In-One alone, on the same machine in the same run (the ceiling it sets; \"as source MB/s\" = the $(awk -v b="$data_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB of source over the same seconds, to compare with the table above):"
    echo
    echo "| command | pack MB | wall s | pack MB/s | as source MB/s | Swift CPU s |"
    echo "|---|---:|---:|---:|---:|---:|"
    awk -F'\t' -v src="$data_bytes" 'NR > 1 { printf "| %s | %.1f | %s | %.1f | %.1f | %s |\n", $1, $2 / 1e6, $3, $2 / 1e6 / $3, src / 1e6 / $3, $6 }' "$limits"
  fi
} > "$md"

{
  printf '{\n"command": "bash scripts/bench-objectstore.sh %s",\n"files": "%s",\n"cpus": "%s",\n"date": "%s",\n"run_seconds": %s,\n' "$megabytes" "$files" "$cpus" "$run_time" "$run_seconds"
  printf '"measured": {"git_head": "%s", "uncommitted_source_changes": %s, "tree": "%s", "binary": "%s", "binary_built": "%s"},\n' \
    "$git_head" "$git_dirty" "$git_tree" "$CAIRN_BIN" "$binary_time"
  printf '"machine": {"cpus": %s, "cpu_model": "%s", "mem_total": "%s", "kernel": "%s", "load_average_start": "%s", "load_average_end": "%s"},\n' \
    "$(nproc)" "$cpu_model" "$mem_total" "$(uname -sr)" "$load_start" "$load_end"
  printf '"data": {"bytes": %s, "files": %s, "source": "%s", "from": "%s"},\n' "$data_bytes" "$data_files" "$source_what" "$source_night"
  printf '"swift_version": "%s",\n"local_repo_bytes": %s,\n' "$swift_version" "${local_repo_bytes:-0}"
  printf '"zstd_3_all_cores": {"wall_s": %s, "cpu_s": %s},\n' "${zstd_wall:-null}" "${zstd_cpu:-null}"
  printf '"summary": '; tsv_json "$work/summary.tsv"; printf ',\n'
  printf '"swift_alone": '; tsv_json "$limits"; printf ',\n'
  printf '"steps": '; tsv_json "$steps"
  printf '}\n'
} > "$json"

cat "$md"
progress "wrote $md and $json (whole run ${run_seconds} s)"
