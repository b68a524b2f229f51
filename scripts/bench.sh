#!/usr/bin/env bash
# make bench: Cairn against restic, borg and rdiff-backup on nightly Redis data directories.
#
#   bash scripts/bench.sh [small|medium]      (default small)
#
# 1. Generates (or reuses) a dataset with a real redis-server: a seeded keyspace, then night after
#    night ~2% of the keys changed, BGSAVE, one BGREWRITEAOF midway, and a copy of the data
#    directory (dump.rdb + appendonlydir/) per night, with its DEBUG DIGEST.
# 2. Measures cat / sha256sum / zstd -3 and synced writes (through the page cache and direct) on
#    the same files (the machine's physical limits).
# 3. For every installed tool, on the same files and one fixed source path: init, first backup,
#    unchanged re-backup, one backup per further night, restore of a middle and of the last night
#    (the first backup and each restore timed in several rounds, the median counted); wall time,
#    CPU, peak RSS, repository size and bytes added per step.
# 4. Verifies every restore (bytes, modes, owners, and, in the first round, DEBUG DIGEST after
#    loading the restored AOF and the restored dump.rdb in a fresh redis-server) and fails loudly
#    if one does not verify.
# 5. Writes bench-results/<profile>-<date>.md and .json and prints the markdown.
#
# Environment: CAIRN_BINARY (default .build/release/cairn), BENCH_SEED (default 1),
# BENCH_TOOLS (default "cairn restic borg rdiff-backup"), BENCH_ROUNDS (default 3),
# BENCH_KEEP=1 keeps repositories (in bench-results/kept-PROFILE-TOOL/, with the run's password in
# its file `password`).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$here/scripts/bench
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
# shellcheck source=bench/dataset.sh
. "$BENCH_DIR/dataset.sh"
# shellcheck source=bench/tools.sh
. "$BENCH_DIR/tools.sh"
# shellcheck source=bench/verify.sh
. "$BENCH_DIR/verify.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

profile=${1:-small}
case $profile in
  small) scale=1.2; nights=4 ;;    # ~100 MB dump.rdb, 4 nights
  medium) scale=12; nights=7 ;;    # ~1 GB dump.rdb, 7 nights
  -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown profile '$profile' (small or medium)" ;;
esac
seed=${BENCH_SEED:-1}
tools=${BENCH_TOOLS:-cairn restic borg rdiff-backup}
for tool in $tools; do
  case $tool in cairn|restic|borg|rdiff-backup) ;; *) die "unknown tool '$tool' in BENCH_TOOLS (cairn restic borg rdiff-backup)" ;; esac
done
CAIRN_BIN=${CAIRN_BINARY:-$here/.build/release/cairn}
rounds=${BENCH_ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]?$ ]] || die "BENCH_ROUNDS must be a whole number from 1 to 99, not '$rounds'"
results=$here/bench-results
run_started=$(date +%s)
run_date=$(date +%Y-%m-%d)
run_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

for c in redis-server redis-cli awk zstd sha256sum diff cmp du find stat; do
  command -v "$c" > /dev/null || die "$c is needed (Debian: redis-server redis-tools zstd coreutils diffutils findutils)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package: time)"
[ -x "$CAIRN_BIN" ] || die "no Cairn binary at $CAIRN_BIN (run make release, or set CAIRN_BINARY)"

# Throwaway credentials for throwaway repositories (BENCH_KEEP=1 writes them beside the kept ones).
export CAIRN_PASSWORD="bench-$RANDOM$RANDOM$RANDOM"
export RESTIC_PASSWORD=$CAIRN_PASSWORD BORG_PASSPHRASE=$CAIRN_PASSWORD
export RESTIC_COMPRESSION=auto
export BORG_DISPLAY_PASSPHRASE=no BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
# restic, borg and Cairn all use every core by default; nothing here limits them.

mkdir -p "$results"
dataset=$results/data/$profile-$seed
dataset_ensure "$profile" "$seed" "$scale" "$nights" "$dataset"

# The one fixed source path every tool backs up (as /var/lib/redis would be in production).
work=$results/work
rm -rf -- "$work"

# Every tool keeps its repository to the end of the run: restic and borg store about 40% of each
# night again (medium: 6.8 GB each after 7 nights), rdiff-backup its increments, and the source copy
# and a restore target come on top. About (nights + 4) times a night's bytes in all: refuse now
# rather than fail at the last night (seen 2026-12-02: borg create at night 7, no space left).
night_bytes=$(du -sb "$dataset/night-$nights" | cut -f1)
need=$(( night_bytes * (nights + 4) ))
free=$(df -P -B1 "$results" | awk 'NR == 2 { print $4 }')
[ "$free" -ge "$need" ] || die "about $(( need / 1000000000 + 1 )) GB must be free under $results for the $profile run, $(( free / 1000000000 )) GB are (remove old repositories, or run PROFILE=small)"
mkdir -p "$work"
BENCH_TEMP_DIRS+=("$work")
BENCH_SRC=$work/src
steps=$work/steps.tsv
verifies=$work/verify.tsv
limits=$work/limits.tsv
printf 'tool\tstep\tnight\tdata_bytes\twall_s\tuser_s\tsys_s\trss_kb\trepo_bytes\tadded_bytes\tcache_bytes\tsnapshot\ttool_reported_added_bytes\tsync_s\tsteal_pct\tround\n' > "$steps"
printf 'tool\tnight\tbytes\tmeta\tmtime\tdigest_aof\tdigest_rdb\tresult\n' > "$verifies"
printf 'command\tdata_bytes\twall_s\tuser_s\tsys_s\trss_kb\tsteal_pct\n' > "$limits"

night_bytes() { tree_bytes "$dataset/night-$1"; }
middle_night=$(( (nights + 1) / 2 ))

# ---------- physical limits on the last night's files, warm page cache like the tools get ----------
mapfile -t limit_files < <(find "$dataset/night-$nights" -type f | LC_ALL=C sort)
limit_bytes=$(night_bytes "$nights")
cat "${limit_files[@]}" > /dev/null
limit_commands=("cat" "sha256sum" "zstd -3 -T0 -c")
# coreutils' sha256sum does not use the CPU's SHA extensions; OpenSSL shows what they give.
if command -v openssl > /dev/null; then limit_commands+=("openssl dgst -sha256"); fi
for c in "${limit_commands[@]}"; do
  progress "limits: $c over night $nights ($(( limit_bytes / 1000000 )) MB)"
  timed "$work/limit.log" bash -c "$c \"\$@\" > /dev/null" _ "${limit_files[@]}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$limit_bytes" "$T_WALL" "$T_USER" "$T_SYS" "$T_RSS_KB" "$T_STEAL_PCT" >> "$limits"
done
# Writing the same bytes to a new file on the disk the tools restore to, synced as a restore must
# be: through the page cache, and with O_DIRECT (GNU dd writes a last partial block without it).
# The first depends on the memory's state (on a VM, newly allocated cache pages can cost more than
# the copy), so restore figures are read next to both.
limit_write=$work/limit-write.tmp
for c in "dd bs=8M conv=fsync" "dd bs=8M oflag=direct conv=fsync"; do
  progress "limits: cat, $c over night $nights"
  rm -f "$limit_write"
  timed "$work/limit.log" bash -c "cat \"\$@\" | $c iflag=fullblock status=none of=\"$limit_write\"" _ "${limit_files[@]}"
  # (no "|" in the label: it would split the markdown table's cell)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "cat, $c" "$limit_bytes" "$T_WALL" "$T_USER" "$T_SYS" "$T_RSS_KB" "$T_STEAL_PCT" >> "$limits"
  rm -f "$limit_write"
done

# What storing one whole dump.rdb costs at zstd -3: the nightly floor for a tool that cannot
# deduplicate inside a changed dump.
dump_zstd_bytes=$(zstd -3 -T0 -c "$dataset/night-$nights/dump.rdb" | wc -c)

# ---------- the tools ----------
# One row of steps.tsv from the last timed call, the repository and the cache.
record() { # TOOL STEP NIGHT DATA_BYTES [ROUND]
  local repo cache added
  repo=$(dir_bytes "$TOOL_REPO"); cache=$(dir_bytes "$TOOL_CACHE")
  added=$(( repo - last_repo )); last_repo=$repo
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$T_WALL" "$T_USER" "$T_SYS" "$T_RSS_KB" "$repo" "$added" "$cache" "${SNAPSHOT_REF:-}" "${TOOL_ADDED:-}" "${T_SYNC:-}" "${T_STEAL_PCT:-}" "${5:-}" >> "$steps"
  progress "$1 $2${3:+ night $3}${5:+ (round $5)}: ${T_WALL}s${T_SYNC:+ + ${T_SYNC}s sync}, $(awk -v b="$4" -v s="$T_WALL" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }') MB/s, peak RSS $(( T_RSS_KB / 1024 )) MiB, repo $(( repo / 1000000 )) MB (+$(( added / 1000000 )) MB), ${T_STEAL_PCT:-0}% of the CPUs stolen"
}

tools_run=()
tools_skipped=()
for tool in $tools; do
  if tool_available "$tool"; then
    tools_run+=("$tool")
  else
    progress "$tool: not installed, skipped"
    tools_skipped+=("$tool")
  fi
done
[ "${#tools_run[@]}" -gt 0 ] || die "no tool to benchmark"

# The tools take turns at every step (each night's backup, then each restore) rather than each
# running all its steps in a row: this machine's speed drifts by tens of percent within minutes,
# and a drift between one tool's half of the run and another's used to bias their ratios. Every
# step starts after a `sync`, outside its timing, so none pays for the writeback of another's
# (or of the source's) dirty pages. Before that, the source is read once more: this VM pages out
# page cache that has not been touched for about a minute (DAMON's pageout scheme), so without it a
# tool whose turn comes late could read a source that is partly back on the disk.
declare -A last_repos=() refs=()
use_tool() { # TOOL: points tool_* and record at TOOL's folders
  TOOL_REPO=$work/$1/repo TOOL_CACHE=$work/$1/cache TOOL_LOG=$work/$1/log
  last_repo=${last_repos[$1]:-0}
}
timed_step() { # TOOL STEP NIGHT LABEL [ROUND]: a backup of the source, recorded
  use_tool "$1"
  find "$BENCH_SRC" -type f -exec cat {} + > /dev/null
  sync
  tool_backup "$1" "$4"
  [ "$2" = rebackup ] || refs[$1,$3]=$SNAPSHOT_REF
  record "$1" "$2" "$3" "$(night_bytes "$3")" "${5:-}"
  last_repos[$1]=$last_repo
}

# The tools in the order of round N: the list turned by N - 1, so that no tool goes first in every
# round. The first restore after the backups runs in a state of memory none of the later ones
# meets: in the five medium runs of 2026-12-04, Cairn's (first in the list) spent 1.2–3.0 system
# seconds, its later restores 0.7–1.2, with the same user time.
round_order() { # ROUND
  local count=${#tools_run[@]} i
  for (( i = 0; i < count; i++ )); do echo "${tools_run[(i + $1 - 1) % count]}"; done
}

# A further round of the first backup: night 1 (the source as it is) into a new repository of the
# tool's own, initialised outside the timing and removed after. Nothing else reads it.
first_backup_round() { # TOOL ROUND
  local folder=$work/$1/first-$2
  use_tool "$1"
  TOOL_REPO=$folder/repo TOOL_CACHE=$folder/cache TOOL_LOG=$folder/log
  mkdir -p "$folder"
  tool_init "$1" || true
  last_repo=$(dir_bytes "$TOOL_REPO")
  find "$BENCH_SRC" -type f -exec cat {} + > /dev/null
  sync
  tool_backup "$1" night-1
  record "$1" backup 1 "$(night_bytes 1)" "$2"
  rm -rf -- "$folder"
}

rm -rf -- "$BENCH_SRC"
for tool in "${tools_run[@]}"; do
  rm -rf -- "${work:?}/$tool"
  mkdir -p "$work/$tool"
  use_tool "$tool"
  progress "$tool $(tool_version "$tool"): $(tool_settings "$tool")"
  SNAPSHOT_REF="" TOOL_ADDED=""
  if tool_init "$tool"; then record "$tool" init "" 0; fi
  last_repos[$tool]=$last_repo
done
# The first backup and the restores can be repeated as they were, and are, in BENCH_ROUNDS rounds
# (the tools taking turns within a round); the summary counts each one's median round. One run of
# a step is one sample of a VM whose speed swings by tens of percent within minutes (Cairn's
# restore of one night took 4.92 s in one run and 3.70 s in the next; restic's 6.2 and 9.1 s
# within an hour), so a single round could decide a ratio by itself. Every round is listed.
for night in $(seq 1 "$nights"); do
  sync_tree "$dataset/night-$night" "$BENCH_SRC"
  for tool in "${tools_run[@]}"; do
    if [ "$night" = 1 ]; then timed_step "$tool" backup 1 night-1 1; else timed_step "$tool" backup "$night" "night-$night"; fi
  done
  if [ "$night" = 1 ]; then
    for round in $(seq 2 "$rounds"); do
      for tool in $(round_order "$round"); do first_backup_round "$tool" "$round"; done
    done
    for tool in "${tools_run[@]}"; do timed_step "$tool" rebackup 1 "night-1-again"; done
  fi
done

# Restores in rounds (see above). The first round is verified in full; later rounds' files are
# compared too.
for round in $(seq 1 "$rounds"); do
  for night in $(printf '%s\n' "$middle_night" "$nights" | awk '!seen[$0]++'); do
    for tool in $(round_order "$round"); do
      use_tool "$tool"
      target=$work/$tool/restore-$night
      rm -rf -- "$target"
      SNAPSHOT_REF=${refs[$tool,$night]} TOOL_ADDED=""
      drop_from_page_cache "$TOOL_REPO" "$TOOL_CACHE"
      tool_restore "$tool" "${refs[$tool,$night]}" "$target"
      # Until the restored files are on the disk: Cairn syncs each file before renaming it into
      # place, restic, borg and rdiff-backup leave them in the page cache, dirty. The `sync` after
      # each restore (the only writes pending, since every step starts after one) makes the two
      # comparable; both figures are reported.
      restore_wall=$T_WALL restore_user=$T_USER restore_sys=$T_SYS restore_rss=$T_RSS_KB restore_steal=$T_STEAL_PCT
      timed "$TOOL_LOG.sync-$night" sync
      T_SYNC=$T_WALL T_WALL=$restore_wall T_USER=$restore_user T_SYS=$restore_sys T_RSS_KB=$restore_rss T_STEAL_PCT=$restore_steal
      record "$tool" restore "$night" "$(night_bytes "$night")" "$round"
      T_SYNC=""
      last_repos[$tool]=$last_repo
      root=$(tool_restored_root "$tool" "$target")
      if [ "$round" = 1 ]; then
        progress "$tool restore night $night: verifying bytes, modes, owners and DEBUG DIGEST"
        verify_restore "$tool" "$dataset/night-$night" "$root" "$(dataset_digest "$dataset" "$night")" "$work/$tool"
        printf '%s\t%s\tidentical\tidentical\t%s\tmatches\tmatches\tok\n' "$tool" "$night" "$VERIFY_MTIME" >> "$verifies"
      else
        verify_restored_files "$tool" "$dataset/night-$night" "$root" "" "$work/$tool"
      fi
      rm -rf -- "$target"
    done
  done
done
for tool in "${tools_run[@]}"; do
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    rm -rf -- "$results/kept-$profile-$tool"
    cp -a "$work/$tool" "$results/kept-$profile-$tool"
    # A kept repository is of no use without its password (restic and borg take the same one).
    (umask 077 && printf '%s\n' "$CAIRN_PASSWORD" > "$results/kept-$profile-$tool/password")
  fi
  rm -rf -- "${work:?}/$tool"
done
rm -rf -- "$BENCH_SRC"

# The tables list each tool's rows together, in the tools' order.
group_by_tool() { # FILE (tab-separated, a header, the tool in the first column)
  awk -F'\t' -v order="${tools_run[*]}" 'NR == 1 { print; next } { rows[$1] = rows[$1] $0 "\n" }
    END { n = split(order, o, " "); for (i = 1; i <= n; i++) printf "%s", rows[o[i]] }' "$1" > "$1.grouped"
  mv -f -- "$1.grouped" "$1"
}
group_by_tool "$steps"
group_by_tool "$verifies"

# ---------- the report ----------
report() { awk -v mode="$1" -f "$BENCH_DIR/report.awk" "${@:2}"; }
report summary "$steps" "$verifies" > "$work/summary.tsv"
report ratios "$work/summary.tsv" > "$work/ratios.tsv"

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
run_seconds=$(( $(date +%s) - run_started ))
versions=""
for tool in "${tools_run[@]}"; do versions="$versions$tool $(tool_version "$tool"); "; done
versions=${versions%; }

md=$results/$profile-$run_date.md
json=$results/$profile-$run_date.json
{
  echo "## Cairn benchmark: $profile profile ($run_time)"
  echo
  echo "- Command: \`bash scripts/bench.sh $profile\` (seed $seed; \`make bench PROFILE=$profile\`)"
  echo "- Machine: $(nproc) CPUs ($cpu_model), $mem_total RAM, $(uname -sr); load average (1/5/15 min) at the start: $load_start, at the end: $load_end; whole run ${run_seconds} s"
  echo "- Tools: $versions; redis-server $(redis-server --version | awk '{ print $3 }')"
  if [ "${#tools_skipped[@]}" -gt 0 ]; then echo "- Skipped (not installed): ${tools_skipped[*]}"; fi
  for tool in "${tools_run[@]}"; do echo "- $tool settings: $(tool_settings "$tool")"; done
  echo "- Dataset: $nights nights of a Redis 7 data directory (dump.rdb + multi-part AOF), ~2% of keys changed per night, AOF rewritten before night $(dataset_rewrite_night "$nights"); restores of nights $middle_night and $nights"
  echo "- Units: MB = 10^6 bytes; MB/s = the night's dataset bytes / wall seconds; backups read their source from a warm page cache; each restore reads the tool's repository and cache from the disk (dropped from the page cache first); the first backup and each night's restore count their median of $rounds rounds"
  echo
  echo "### Dataset"
  echo
  report md-dataset "$dataset/nights.tsv"
  echo
  echo "### Physical limits (night $nights, $(( limit_bytes / 1000000 )) MB)"
  echo
  report md-limits "$limits"
  echo
  echo "Night $nights's dump.rdb alone is $(awk -v b="$(stat -c %s "$dataset/night-$nights/dump.rdb")" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $(awk -v b="$dump_zstd_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB after \`zstd -3\`: what a night costs a tool that stores a changed dump whole."
  echo
  echo "### Summary"
  echo
  report md-summary "$work/summary.tsv"
  echo
  if [ "$(wc -l < "$work/ratios.tsv")" -gt 1 ]; then
    echo "### Cairn relative to each peer (throughput: >1 means Cairn is faster; sizes and RSS: <1 means Cairn is smaller)"
    echo
    report md-ratios "$work/ratios.tsv"
    echo
  fi
  echo "### Every step"
  echo
  report md-steps "$steps"
  echo
  report md-steal "$steps"
  echo
  echo "### Restore verification"
  echo
  report md-verify "$verifies"
} > "$md"

{
  printf '{\n"profile": "%s",\n"seed": %s,\n"date": "%s",\n"run_seconds": %s,\n' "$profile" "$seed" "$run_time" "$run_seconds"
  printf '"machine": {"cpus": %s, "cpu_model": "%s", "mem_total": "%s", "kernel": "%s", "load_average_start": "%s", "load_average_end": "%s"},\n' \
    "$(nproc)" "$cpu_model" "$mem_total" "$(uname -sr)" "$load_start" "$load_end"
  printf '"tools": "%s",\n"skipped": "%s",\n"redis": "%s",\n' "$versions" "${tools_skipped[*]:-}" "$(redis-server --version | awk '{ print $3 }')"
  printf '"dump_rdb_zstd3_bytes_last_night": %s,\n' "$dump_zstd_bytes"
  printf '"dataset": '; report json "$dataset/nights.tsv"; printf ',\n'
  printf '"limits": '; report json "$limits"; printf ',\n'
  printf '"summary": '; report json "$work/summary.tsv"; printf ',\n'
  printf '"ratios": '; report json "$work/ratios.tsv"; printf ',\n'
  printf '"steps": '; report json "$steps"; printf ',\n'
  printf '"verify": '; report json "$verifies"
  printf '}\n'
} > "$json"

cat "$md"
progress "wrote $md and $json (whole run ${run_seconds} s)"
