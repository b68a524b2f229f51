# Deterministic Redis workload for the Cairn benchmark, printed as RESP for `redis-cli --pipe`.
#
#   awk -v mode=load  -v seed=S -v scale=K -f workload.awk          # the initial keyspace
#   awk -v mode=night -v seed=S -v scale=K -v night=N -f workload.awk   # night N's mutations (~2% of keys)
#
# The same awk implementation, seed and scale print the same bytes every time (srand(seed) drives
# every choice; stream ids are explicit; TTLs are years long so nothing expires during a run).
# Values: random-looking base64 text (what zstd and LZF can barely shrink), plus some JSON-like
# compressible text, integers, hashes, lists, sets, sorted sets, streams with a consumer group,
# keys with TTLs, and a second database.

BEGIN {
  if (mode == "" || seed == "" || scale == "") { print "workload.awk: set mode, seed and scale" > "/dev/stderr"; exit 2 }
  ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for (i = 0; i < 64; i++) for (j = 0; j < 64; j++) PAIR[i * 64 + j] = substr(ALPHA, i + 1, 1) substr(ALPHA, j + 1, 1)
  nwords = split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu red green blue black white orange purple yellow silver gold berlin paris london tokyo madrid rome vienna oslo order cart item price user session token account invoice payment shipped pending active premium basic trial", WORDS, " ")
  ncountries = split("DE FR GB US JP ES IT AT NO NL SE PL BR IN CA", COUNTRY, " ")
  nplans = split("free basic premium enterprise trial", PLAN, " ")

  K = scale + 0
  NSTR = int(20000 * K); NCNT = int(20000 * K); NHASH = int(5000 * K); NBIG = int(20 * K)
  NLIST = int(500 * K); NSET = int(1000 * K); NZSET = int(500 * K); NSTREAM = int(200 * K); NDB1 = int(1000 * K)

  if (mode == "load") { srand(seed + 0); load() }
  else if (mode == "night") { srand((seed + 0) * 1000 + night); mutate(night + 0) }
  else { print "workload.awk: mode must be load or night" > "/dev/stderr"; exit 2 }
}

# ---------- random helpers ----------
function rint(lo, hi) { return lo + int(rand() * (hi - lo + 1)) }
function logsize(lo, hi) { return int(exp(log(lo) + rand() * (log(hi) - log(lo)))) }
function word() { return WORDS[rint(1, nwords)] }
# n random base64 characters as a string (for short values)
function rs(n,   s, x) {
  s = ""
  while (length(s) < n) { x = int(rand() * 16777216); s = s PAIR[int(x / 4096)] PAIR[x % 4096] }
  return substr(s, 1, n)
}
# print n random base64 characters without building one big string
function prnd(n,   s, k, x) {
  while (n >= 64) {
    s = ""
    for (k = 0; k < 16; k++) { x = int(rand() * 16777216); s = s PAIR[int(x / 4096)] PAIR[x % 4096] }
    printf "%s", s; n -= 64
  }
  if (n > 0) printf "%s", rs(n)
}
# JSON-like, compressible text of about n bytes (at least one record)
function json(n,   s, rec) {
  s = "["
  do {
    rec = sprintf("{\"id\":%d,\"user\":\"%s.%s\",\"email\":\"%s%d@example.com\",\"country\":\"%s\",\"plan\":\"%s\",\"tags\":[\"%s\",\"%s\"],\"score\":%d.%02d,\"active\":%s,\"note\":\"%s %s %s %s\"}",
      rint(1, 9999999), word(), word(), word(), rint(1, 9999), COUNTRY[rint(1, ncountries)], PLAN[rint(1, nplans)],
      word(), word(), rint(0, 9999), rint(0, 99), (rand() < 0.5 ? "true" : "false"), word(), word(), word(), word())
    s = s (length(s) > 1 ? "," : "") rec
  } while (length(s) < n)
  return s "]"
}

# ---------- RESP output ----------
function hdr(argc) { printf "*%d\r\n", argc }
function arg(s) { printf "$%d\r\n%s\r\n", length(s), s }
function rarg(n) { printf "$%d\r\n", n; prnd(n); printf "\r\n" }
function cmd1(a) { hdr(1); arg(a) }
function cmd2(a, b) { hdr(2); arg(a); arg(b) }
function cmd3(a, b, c) { hdr(3); arg(a); arg(b); arg(c) }
function cmd4(a, b, c, d) { hdr(4); arg(a); arg(b); arg(c); arg(d) }

# ---------- value shapes ----------
# A string value: 55% small (16-256 B), 30% medium (256 B-4 KB), 15% large (4-40 KB);
# three in four are random-looking text, one in four JSON-like.
function set_string(key, withttl,   r, n) {
  r = rand()
  if (r < 0.55) n = logsize(16, 256); else if (r < 0.85) n = logsize(256, 4096); else n = logsize(4096, 40960)
  if (rand() < 0.75) { hdr(3); arg("SET"); arg(key); rarg(n) } else cmd3("SET", key, json(n))
  if (withttl) cmd3("EXPIRE", key, ttl_for(key))
}
# Years-long TTLs, different per key.
function ttl_for(key) { return 200000000 + rint(0, 100000000) }
function hash_field_value(f) {
  if (f == "email") return word() rint(1, 99999) "@example.com"
  if (f == "country") return COUNTRY[rint(1, ncountries)]
  if (f == "plan") return PLAN[rint(1, nplans)]
  if (f == "created" || f == "last_login") return 1600000000 + rint(0, 100000000)
  if (f == "score" || f == "visits") return rint(0, 1000000)
  if (f == "name") return word() " " word()
  return rs(logsize(8, 160))
}
function hash_field_name(k) {
  if (k == 1) return "name"; if (k == 2) return "email"; if (k == 3) return "country"; if (k == 4) return "plan"
  if (k == 5) return "created"; if (k == 6) return "last_login"; if (k == 7) return "score"; if (k == 8) return "visits"
  return "attr" (k - 8)
}
function set_hash(key, nfields, withttl,   k, f) {
  hdr(2 + 2 * nfields); arg("HSET"); arg(key)
  for (k = 1; k <= nfields; k++) { f = hash_field_name(k); arg(f); arg(hash_field_value(f)) }
  if (withttl) cmd3("EXPIRE", key, ttl_for(key))
}
function list_element() { return (rand() < 0.7) ? rs(logsize(20, 200)) : json(40) }
function push_list(key, n,   k) {
  hdr(2 + n); arg("RPUSH"); arg(key)
  for (k = 1; k <= n; k++) arg(list_element())
}
# Member j of set i is a fixed function of (i, j), so removals can name members (SPOP would pick
# at random and make the dataset differ from run to run). Even sets hold integers (an intset while
# small), odd ones ids.
function set_member(i, j,   v) {
  v = (i * 1000003 + j * 7919) % 99999989
  return (i % 2 == 0) ? v : "member:" v
}
function add_set(key, i, n,   k) {
  hdr(2 + n); arg("SADD"); arg(key)
  for (k = 1; k <= n; k++) arg(set_member(i, rint(1, 1000)))
}
function add_zset(key, n,   k) {
  hdr(2 + 2 * n); arg("ZADD"); arg(key)
  for (k = 1; k <= n; k++) { arg(rint(0, 10000000)); arg("player:" rs(10)) }
}
function xadd(key, id) {
  hdr(9); arg("XADD"); arg(key); arg(id)
  arg("type"); arg(word()); arg("user"); arg(rint(1, 10000000)); arg("payload"); arg(rs(logsize(20, 200)))
}

# ---------- the initial keyspace ----------
function load(   i, n, e) {
  for (i = 1; i <= NSTR; i++) set_string("str:" i, (i % 10) < 3)
  for (i = 1; i <= NCNT; i++) cmd3("INCRBY", "cnt:" i, rint(1, 1000000))
  for (i = 1; i <= NHASH; i++) set_hash("user:" i, rint(5, 40), (i % 5) == 0)
  for (i = 1; i <= NBIG; i++) set_hash("catalog:" i, 2000, 0)
  for (i = 1; i <= NLIST; i++) push_list("list:" i, rint(10, 400))
  for (i = 1; i <= NSET; i++) add_set("set:" i, i, rint(10, 500))
  for (i = 1; i <= NZSET; i++) add_zset("zset:" i, rint(10, 1000))
  for (i = 1; i <= NSTREAM; i++) {
    n = rint(50, 1000)
    for (e = 1; e <= n; e++) xadd("stream:" i, sprintf("%.0f-0", 1600000000000 + e * 1000))
    hdr(5); arg("XGROUP"); arg("CREATE"); arg("stream:" i); arg("workers"); arg("0")
  }
  cmd2("SELECT", "1")
  for (i = 1; i <= NDB1; i++) set_string("job:" i, 0)
  cmd2("SELECT", "0")
}

# ---------- one night of changes: about 2% of the keys of each kind ----------
function ops(n) { n = int(0.02 * n + 0.5); return n < 1 ? 1 : n }
function mutate(night,   j, r, i, k, n, f, key) {
  for (j = 1; j <= ops(NSTR); j++) {
    r = rand(); i = rint(1, NSTR)
    if (r < 0.45) set_string("str:" i, (i % 10) < 3)
    else if (r < 0.65) set_string("str:n" night ":" j, rand() < 0.3)
    else if (r < 0.80) cmd2("DEL", "str:" i)
    else { hdr(3); arg("APPEND"); arg("str:" i); rarg(logsize(50, 500)) }
  }
  for (j = 1; j <= ops(NCNT); j++) cmd3("INCRBY", "cnt:" rint(1, NCNT), rint(1, 100))
  for (j = 1; j <= ops(NHASH); j++) {
    r = rand(); i = rint(1, NHASH); key = "user:" i
    if (r < 0.60) {
      n = rint(1, 3); hdr(2 + 2 * n); arg("HSET"); arg(key)
      for (k = 1; k <= n; k++) { f = hash_field_name(rint(1, 12)); arg(f); arg(hash_field_value(f)) }
    }
    else if (r < 0.75) cmd3("HDEL", key, hash_field_name(rint(9, 40)))
    else if (r < 0.90) set_hash("user:n" night ":" j, rint(5, 40), rand() < 0.2)
    else cmd2("DEL", key)
  }
  for (j = 1; j <= NBIG; j++) {
    hdr(2 + 2 * 40); arg("HSET"); arg("catalog:" j)
    for (k = 1; k <= 40; k++) { f = hash_field_name(rint(9, 2008)); arg(f); arg(hash_field_value(f)) }
  }
  for (j = 1; j <= ops(NLIST); j++) {
    key = "list:" rint(1, NLIST)
    if (rand() < 0.7) { push_list(key, rint(1, 20)); cmd4("LTRIM", key, "-400", "-1") }
    else cmd3("LPOP", key, rint(1, 5))
  }
  for (j = 1; j <= ops(NSET); j++) {
    i = rint(1, NSET)
    if (rand() < 0.7) add_set("set:" i, i, rint(1, 10)); else cmd3("SREM", "set:" i, set_member(i, rint(1, 1000)))
  }
  for (j = 1; j <= ops(NZSET); j++) {
    key = "zset:" rint(1, NZSET); r = rand()
    if (r < 0.6) add_zset(key, rint(1, 10))
    else if (r < 0.9) cmd3("ZPOPMIN", key, rint(1, 3))
    else cmd4("ZINCRBY", key, rint(1, 1000), "player:" rs(10))
  }
  for (j = 1; j <= ops(NSTREAM); j++) {
    key = "stream:" rint(1, NSTREAM); n = rint(5, 50)
    for (k = 1; k <= n; k++) xadd(key, sprintf("%.0f-0", 1700000000000 + night * 86400000 + j * 1000 + k))
  }
  cmd2("SELECT", "1")
  for (j = 1; j <= ops(NDB1); j++) {
    if (rand() < 0.5) set_string("job:" rint(1, NDB1), 0); else cmd2("DEL", "job:" rint(1, NDB1))
  }
  cmd2("SELECT", "0")
}
