# Turns the benchmark's tab-separated measurements into summaries, markdown tables and JSON.
#   awk -v mode=summary  -f report.awk steps.tsv verify.tsv   > summary.tsv
#   awk -v mode=ratios   -f report.awk summary.tsv            > ratios.tsv
#   awk -v mode=md-steps   -f report.awk steps.tsv             (markdown)
#   awk -v mode=md-summary -f report.awk summary.tsv           (markdown)
#   awk -v mode=md-ratios  -f report.awk ratios.tsv            (markdown)
#   awk -v mode=md-steal   -f report.awk steps.tsv             (markdown: the steps the hypervisor slowed)
#   awk -v mode=md-limits  -f report.awk limits.tsv            (markdown)
#   awk -v mode=md-verify  -f report.awk verify.tsv            (markdown)
#   awk -v mode=md-dataset -f report.awk nights.tsv            (markdown)
#   awk -v mode=json       -f report.awk any.tsv               (a JSON array of objects)
# Units: MB = 10^6 bytes, MB/s = 10^6 bytes per wall-clock second, RSS in MiB.

BEGIN { FS = "\t"; OFS = "\t"; STEAL_LIMIT = 10 }
FNR == 1 { nf = split($0, H, "\t"); file++; next }
{ for (i = 1; i <= nf; i++) V[H[i]] = $i }

function mb(b) { return sprintf("%.1f", b / 1e6) }
function rate(bytes, secs) { return secs > 0 ? bytes / 1e6 / secs : 0 }
function mib(kb) { return sprintf("%.0f", kb / 1024) }
function cell(x) { return x == "" ? "–" : x }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); return "\"" s "\"" }
function jval(s) { return (s ~ /^-?[0-9]+(\.[0-9]+)?$/) ? s : jstr(s) }

# ---------- summary: one row per tool ----------
mode == "summary" && file == 1 {
  t = V["tool"]; if (!(t in seen)) { seen[t] = 1; order[++ntools] = t }
  s = V["step"]; wall = V["wall_s"] + 0; bytes = V["data_bytes"] + 0
  cpu = V["user_s"] + V["sys_s"]
  if (V["rss_kb"] + 0 > rss[t]) rss[t] = V["rss_kb"] + 0
  # Rounds after the first of the first backup went into repositories of their own: only their
  # times count (their median, in END), not their sizes or CPU.
  extra = (V["round"] + 0 > 1)
  if (s == "backup" && V["night"] == 1) {
    n = ++first_rounds[t]; first_walls[t, 1, n] = wall
    if (!extra) { first_bytes[t] = bytes; first_added[t] = V["added_bytes"] }
  }
  else if (s == "rebackup") rebackup[t] = wall
  else if (s == "backup") { nw[t] += wall; nb[t] += bytes; na[t] += V["added_bytes"]; nn[t]++; ncpu[t] += cpu }
  else if (s == "restore") {
    # Rounds of one night's restore: the summary counts their median (see restore_medians).
    night = V["night"]; n = ++rounds[t, night]
    rwall[t, night, n] = wall; rsynced[t, night, n] = wall + V["sync_s"]
    if (n == 1) { rnights[t] = rnights[t] " " night; rb[t] += bytes }
  }
  if ((s == "backup" || s == "rebackup") && !extra) { repo[t] = V["repo_bytes"]; cache[t] = V["cache_bytes"]; bcpu[t] += cpu }
}
mode == "summary" && file == 2 { t = V["tool"]; vt[t]++; if (V["result"] != "ok") bad[t]++ }

# ---------- ratios: Cairn against each peer ----------
mode == "ratios" { tool[++nt] = V["tool"]; for (i = 1; i <= nf; i++) S[nt, H[i]] = V[H[i]] }

# ---------- markdown renderers ----------
mode == "md-steps" {
  if (!hdr++) { print "| tool | step | night | wall s | then `sync` s | MB/s | CPU s (user+sys) | peak RSS MiB | repo MB after | added MB | cache MB | CPU stolen % |"; print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" }
  printf "| %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s | %s | %s | %s |\n", V["tool"], V["step"] (V["round"] == "" ? "" : ", round " V["round"]), cell(V["night"]), V["wall_s"], (V["sync_s"] == "" ? "–" : sprintf("%.2f", V["sync_s"])), (V["data_bytes"] > 0 ? sprintf("%.1f", rate(V["data_bytes"], V["wall_s"])) : "–"), V["user_s"] + V["sys_s"], mib(V["rss_kb"]), mb(V["repo_bytes"]), (V["step"] ~ /backup|init/ ? mb(V["added_bytes"]) : "–"), mb(V["cache_bytes"]), cell(V["steal_pct"])
}
# The steps during which the hypervisor took more than STEAL_LIMIT% of the machine's CPU time:
# their figures were measured on a slower machine than the others, and ratios built on them lean.
mode == "md-steal" && V["step"] != "init" {
  n_steps++; if (V["steal_pct"] + 0 > max_steal) max_steal = V["steal_pct"] + 0
  if (V["steal_pct"] + 0 > STEAL_LIMIT) slowed = slowed (slowed == "" ? "" : ", ") V["tool"] " " V["step"] (V["night"] == "" ? "" : " night " V["night"]) (V["round"] == "" ? "" : " round " V["round"]) " (" V["steal_pct"] "%)"
}
mode == "md-summary" {
  if (!hdr++) { print "| tool | first backup MB/s | unchanged re-backup s | nightly backup MB/s | added per night MB | repo MB after last night | restore MB/s | restore, on disk, MB/s | CPU s, all backups | max peak RSS MiB | restores verified |"; print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|" }
  printf "| %s | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", V["tool"], V["first_backup_mbps"], V["rebackup_s"], V["nightly_backup_mbps"], V["added_per_night_bytes"] / 1e6, V["repo_bytes_final"] / 1e6, V["restore_mbps"], V["restore_synced_mbps"], V["backup_cpu_s"], mib(V["max_rss_kb"]), V["verified"]
}
mode == "md-ratios" {
  if (!hdr++) { print "| Cairn vs | nightly backup throughput | first backup throughput | restore throughput | restore throughput, on disk | repo size after last night | added per night | max peak RSS |"; print "|---|---:|---:|---:|---:|---:|---:|---:|" }
  printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", V["peer"], x(V["nightly_throughput"]), x(V["first_throughput"]), x(V["restore_throughput"]), x(V["restore_synced_throughput"]), x(V["repo_size"]), x(V["added_per_night"]), x(V["peak_rss"])
}
function x(v) { return v == "" ? "–" : sprintf("%.2f×", v) }
mode == "md-limits" {
  if (!hdr++) { print "| command | wall s | MB/s | CPU s (user+sys) | CPU stolen % |"; print "|---|---:|---:|---:|---:|" }
  printf "| `%s` | %.2f | %.1f | %.2f | %s |\n", V["command"], V["wall_s"], rate(V["data_bytes"], V["wall_s"]), V["user_s"] + V["sys_s"], cell(V["steal_pct"])
}
mode == "md-verify" {
  if (!hdr++) { print "| tool | night | bytes (diff -rq) | type/mode/uid/gid | mtimes | DEBUG DIGEST via AOF | DEBUG DIGEST via dump.rdb |"; print "|---|---:|---|---|---|---|---|" }
  printf "| %s | %s | %s | %s | %s | %s | %s |\n", V["tool"], V["night"], V["bytes"], V["meta"], V["mtime"], V["digest_aof"], V["digest_rdb"]
}
mode == "md-dataset" {
  if (!hdr++) { print "| night | keys | dump.rdb MB | AOF base MB | AOF incr MB | all files MB | DEBUG DIGEST |"; print "|---:|---:|---:|---:|---:|---:|---|" }
  printf "| %s | %s | %s | %s | %s | %s | `%s` |\n", V["night"], V["keys"], mb(V["dump_rdb_bytes"]), mb(V["aof_base_bytes"]), mb(V["aof_incr_bytes"]), mb(V["total_bytes"]), V["digest"]
}
mode == "json" {
  row = ""
  for (i = 1; i <= nf; i++) row = row (i > 1 ? ", " : "") jstr(H[i]) ": " (H[i] ~ /^(snapshot|digest|tool|peer|command|step|verified)$/ ? jstr(V[H[i]]) : jval(V[H[i]]))
  rows[++nrows] = "{" row "}"
}

END {
  if (mode == "summary") {
    print "tool", "first_backup_s", "first_backup_mbps", "first_backup_added_bytes", "rebackup_s", "nightly_backups", "nightly_backup_mbps", "added_per_night_bytes", "repo_bytes_final", "cache_bytes_final", "restore_mbps", "restore_synced_mbps", "backup_cpu_s", "max_rss_kb", "verified"
    for (k = 1; k <= ntools; k++) {
      t = order[k]
      restore_medians(t)
      first_wall[t] = median(first_walls, t, 1, first_rounds[t])
      ver = (vt[t] == 0) ? "none" : (bad[t] ? "FAILED" : "yes (" vt[t] ")")
      print t, sprintf("%.2f", first_wall[t]), sprintf("%.2f", rate(first_bytes[t], first_wall[t])), first_added[t] + 0, sprintf("%.2f", rebackup[t]), nn[t] + 0,
        sprintf("%.2f", rate(nb[t], nw[t])), (nn[t] ? sprintf("%.0f", na[t] / nn[t]) : ""), repo[t] + 0, cache[t] + 0,
        sprintf("%.2f", rate(rb[t], rw[t])), sprintf("%.2f", rate(rb[t], rsw[t])), sprintf("%.2f", bcpu[t]), rss[t] + 0, ver
    }
  }
  if (mode == "ratios") {
    print "peer", "nightly_throughput", "first_throughput", "restore_throughput", "restore_synced_throughput", "repo_size", "added_per_night", "peak_rss"
    for (c = 1; c <= nt; c++) if (tool[c] == "cairn") break
    if (c > nt) exit 0
    for (p = 1; p <= nt; p++) {
      if (p == c) continue
      print tool[p], q(S[c, "nightly_backup_mbps"], S[p, "nightly_backup_mbps"]), q(S[c, "first_backup_mbps"], S[p, "first_backup_mbps"]),
        q(S[c, "restore_mbps"], S[p, "restore_mbps"]), q(S[c, "restore_synced_mbps"], S[p, "restore_synced_mbps"]),
        q(S[c, "repo_bytes_final"], S[p, "repo_bytes_final"]),
        q(S[c, "added_per_night_bytes"], S[p, "added_per_night_bytes"]), q(S[c, "max_rss_kb"], S[p, "max_rss_kb"])
    }
  }
  if (mode == "md-steal") {
    if (slowed == "") printf "CPU stolen by the hypervisor: at most %.1f%% of the machine's CPU time during any of the %d steps.\n", max_steal, n_steps
    else printf "**Steps slowed by the hypervisor** (more than %d%% of the machine's CPU time stolen while they ran; their figures, and the ratios built on them, understate that tool): %s.\n", STEAL_LIMIT, slowed
  }
  if (mode == "json") {
    printf "["
    for (k = 1; k <= nrows; k++) printf "%s\n  %s", (k > 1 ? "," : ""), rows[k]
    print (nrows ? "\n]" : "]")
  }
}
# The median of A[t, night, 1..n].
function median(A, t, night, n,    i, j, v, sorted) {
  for (i = 1; i <= n; i++) {
    v = A[t, night, i] + 0
    for (j = i - 1; j >= 1 && sorted[j] > v; j--) sorted[j + 1] = sorted[j]
    sorted[j + 1] = v
  }
  return (n % 2) ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}
# rw[t] and rsw[t]: the sums over the nights restored of each night's median round, without and
# with the `sync` after it.
function restore_medians(t,    k, count, nights) {
  count = split(rnights[t], nights, " ")
  for (k = 1; k <= count; k++) {
    rw[t] += median(rwall, t, nights[k], rounds[t, nights[k]])
    rsw[t] += median(rsynced, t, nights[k], rounds[t, nights[k]])
  }
}
function q(a, b) { return (b + 0 > 0) ? sprintf("%.3f", a / b) : "" }
