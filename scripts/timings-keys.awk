# Redis protocol for SET commands of mildly repetitive text values (60–1400 bytes), seeded.
# -v n=KEYS -v seed=S [-v every=K: only every K-th key, i.e. a night's changes]
BEGIN {
  srand(seed)
  chars = "abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJ{}:,\""
  step = every ? every : 1
  for (i = 0; i < n; i += step) {
    len = 60 + int(rand() * 1340)
    v = ""
    while (length(v) < len) {
      v = v substr(chars, 1 + int(rand() * 48), 1 + int(rand() * 10)) substr("user session cart order payload ", 1 + int(rand() * 20), 8)
    }
    v = substr(v, 1, len)
    k = "key:" i
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}
