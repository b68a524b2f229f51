# One adapter per backup tool for scripts/bench.sh (sourced, not run). Each tool gets the same
# calls; the differences (flags, where a restore lands, how a snapshot is named) live here only.
#
#   tool_available TOOL                  installed?
#   tool_version TOOL                    one line
#   tool_init TOOL                       create the repository (timed); false when the tool has no
#                                        init step
#   tool_backup TOOL LABEL               back up $BENCH_SRC; sets SNAPSHOT_REF, and TOOL_ADDED when
#                                        the tool reports the bytes it stored (timed)
#   tool_restore TOOL REF TARGET         restore a snapshot into TARGET (timed)
#   tool_restored_root TOOL TARGET       where the backed-up folder is inside TARGET
#
# The caller sets TOOL_REPO, TOOL_CACHE and TOOL_LOG (a file prefix) before each call; the timed
# calls leave T_WALL T_USER T_SYS T_RSS_KB behind (see timed in lib.sh).
# Settings meant to be comparable: encryption on everywhere it exists (rdiff-backup has none),
# zstd level 3 where the tool offers it (restic's `auto` is its zstd default level), caches
# outside the repository so that the repository size is the stored data only.

tool_command() {
  case $1 in
    cairn) echo "$CAIRN_BIN" ;;
    restic|borg|rdiff-backup) command -v "$1" || true ;;
    *) die "unknown tool $1" ;;
  esac
}

tool_available() { local c; c=$(tool_command "$1"); [ -n "$c" ] && [ -x "$c" ]; }

tool_version() {
  case $1 in
    cairn) "$CAIRN_BIN" --version 2>&1 | head -n 1 | sed 's/^cairn //' ;;
    restic) restic version | awk '{ print $2 }' ;;
    borg) borg --version | awk '{ print $2 }' ;;
    rdiff-backup) rdiff-backup --version | awk '{ print $2 }' ;;
  esac
}

tool_settings() {
  case $1 in
    cairn) echo "encrypted (default), zstd level 3 (default), cache via --cache-dir" ;;
    restic) echo "repository v2, RESTIC_COMPRESSION=auto, encrypted, --cache-dir" ;;
    borg) echo "borg init -e repokey, create --compression zstd,3, BORG_BASE_DIR for cache/config" ;;
    rdiff-backup) echo "defaults (plain mirror + reverse increments; no encryption, no compression of the mirror)" ;;
  esac
}

tool_init() {
  local log="$TOOL_LOG.init"
  case $1 in
    cairn) timed "$log" "$CAIRN_BIN" init --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" ;;
    restic) timed "$log" restic --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" init --repository-version 2 ;;
    borg) timed "$log" env BORG_BASE_DIR="$TOOL_CACHE" borg init -e repokey "$TOOL_REPO" ;;
    # rdiff-backup creates its repository on the first backup: there is no init step to time.
    rdiff-backup) mkdir -p "$(dirname "$TOOL_REPO")"; return 1 ;;
  esac
}

tool_backup() { # TOOL LABEL
  local tool=$1 label=$2 log="$TOOL_LOG.$2"
  SNAPSHOT_REF=""
  TOOL_ADDED=""
  case $tool in
    cairn)
      timed "$log" "$CAIRN_BIN" backup --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" --json "$BENCH_SRC"
      SNAPSHOT_REF=$(grep -o '"snapshot_id" *: *"[0-9a-f]*"' "$log" | tail -n 1 | sed 's/.*"\([0-9a-f]*\)"$/\1/')
      TOOL_ADDED=$(grep -o '"added_stored_bytes" *: *[0-9]*' "$log" | tail -n 1 | sed 's/.*: *//')
      ;;
    restic)
      timed "$log" restic --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" backup --json --host bench "$BENCH_SRC"
      SNAPSHOT_REF=$(grep -o '"snapshot_id" *: *"[0-9a-f]*"' "$log" | tail -n 1 | sed 's/.*"\([0-9a-f]*\)"$/\1/')
      ;;
    borg)
      timed "$log" env BORG_BASE_DIR="$TOOL_CACHE" borg create --compression zstd,3 "$TOOL_REPO::$label" "$BENCH_SRC"
      SNAPSHOT_REF=$label
      ;;
    rdiff-backup)
      # rdiff-backup names increments by the second and refuses two backups in one second.
      sleep 1.1
      timed "$log" rdiff-backup backup "$BENCH_SRC" "$TOOL_REPO"
      SNAPSHOT_REF=$(date +%s)
      sleep 1.1
      ;;
  esac
  [ -n "$SNAPSHOT_REF" ] || die "$tool backup $label: no snapshot id in its output ($log)"
}

tool_restore() { # TOOL REF TARGET
  local tool=$1 ref=$2 target=$3 log="$TOOL_LOG.restore-$2"
  case $tool in
    cairn) timed "$log" "$CAIRN_BIN" restore --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" "$ref" --target "$target" ;;
    restic) timed "$log" restic --repo "$TOOL_REPO" --cache-dir "$TOOL_CACHE" restore "$ref" --target "$target" ;;
    borg) mkdir -p "$target"; timed "$log" env --chdir="$target" BORG_BASE_DIR="$TOOL_CACHE" borg extract "$TOOL_REPO::$ref" ;;
    rdiff-backup) timed "$log" rdiff-backup restore --at "$ref" "$TOOL_REPO" "$target" ;;
  esac
}

# restic and borg keep the absolute source path inside a snapshot; Cairn and rdiff-backup restore
# the backed-up folder's contents into the target itself.
tool_restored_root() { # TOOL TARGET
  case $1 in
    cairn|rdiff-backup) echo "$2" ;;
    restic|borg) echo "$2/${BENCH_SRC#/}" ;;
  esac
}
