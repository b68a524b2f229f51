#!/usr/bin/env bash
# saio.sh — a throw-away OpenStack Swift "All In One" on 127.0.0.1 for Cairn's tests.
#
#   scripts/objectstore/saio.sh start DIR PORT   configure and start Swift under DIR, proxy on 127.0.0.1:PORT
#   scripts/objectstore/saio.sh stop  DIR        stop the processes recorded in DIR/run/*.pid
#   scripts/objectstore/saio.sh stop-service  DIR NAME   stop one of them (proxy, object, container,
#   scripts/objectstore/saio.sh start-service DIR NAME   account, memcached), start it again (tests' faults)
#   scripts/objectstore/saio.sh flush-tokens  DIR        `flush_all` on memcached: every token expires
#   CAIRN_HARNESS_OWNER_PID=PID saio.sh start DIR PORT   the same, stopped by itself when process PID dies
#
# With CAIRN_HARNESS_OWNER_PID (a test runner's own pid), start also leaves a watchdog running
# (`saio.sh watchdog DIR PID START-TIME`, pid in DIR/run/watchdog.pid, log DIR/log/watchdog.log):
# once a second it checks that PID still runs with the start time it had when start began (so a
# reused pid does not count), and when it does not, it does what `stop DIR` does and exits. A
# runner killed with SIGKILL (OOM killer, CI timeout) never runs its stop; its servers still go.
# `stop` stops the watchdog too; `stop-service` leaves it. With CAIRN_HARNESS_REMOVE_DIR=1 as well
# (DIR is the owner's temporary directory), the watchdog then removes DIR, once nothing runs in it.
#
# One proxy with TempAuth and the s3api middleware, one account, container and object server,
# one-replica rings over a plain directory device (DIR/srv/node/d1, mount_check = false), and the
# memcached TempAuth keeps its tokens in. Everything listens on 127.0.0.1 only; logs go to DIR/log.
# When ready it writes DIR/env and prints the same lines:
#   ST_AUTH=http://127.0.0.1:PORT/auth/v1.0  ST_USER=test:tester  ST_KEY=testing
#   S3_ENDPOINT=127.0.0.1:PORT  AWS_ACCESS_KEY_ID=test:tester  AWS_SECRET_ACCESS_KEY=testing
#   SAIO_MEMCACHED=127.0.0.1:PORT2 (where TempAuth keeps its tokens; tests flush it to expire them)
#
# Needs Debian's swift-proxy swift-account swift-container swift-object memcached (and xattrs on
# the filesystem of DIR). They are installed with apt-get when missing and we are root; otherwise
# the start fails and says what to install. Environment: SAIO_START_TIMEOUT (seconds, default 60).
set -euo pipefail

say() { echo "saio: $*" >&2; }
die() { echo "saio: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 start DIR PORT | stop DIR | stop-service DIR NAME | start-service DIR NAME | flush-tokens DIR" >&2; exit 2; }

PYTHON=/usr/bin/python3          # Debian's python3-swift; not a pyenv or venv python
PACKAGES="swift-proxy swift-account swift-container swift-object memcached"
SERVICES="proxy object container account memcached"
WATCHDOG=watchdog                # DIR/run/watchdog.pid, DIR/log/watchdog.log (keystone.sh has its own)

[ $# -ge 2 ] || usage
action=$1

# shellcheck source=pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/pids.sh"

# Starts one process of a configured DIR, recording its pid in DIR/run/NAME.pid. The launcher
# (DIR/etc/launch.py) gives it a command line that names DIR.
spawn() {  # NAME COMMAND...
    local name=$1; shift
    "$@" </dev/null >>"$DIR/log/$name.log" 2>&1 &
    echo $! >"$DIR/run/$name.pid"
}

memcached_port() { sed -n 's/^memcache_servers = 127.0.0.1://p' "$DIR/etc/proxy-server.conf"; }

start_service() {  # NAME
    local name=$1
    case $name in
    memcached)
        local user=()
        [ "$(id -u)" = 0 ] && user=(-u root)
        # argv[0] "memcached-DIR" puts DIR into its command line, which is how stop_all knows it.
        spawn memcached "$PYTHON" "$DIR/etc/launch.py" exec "memcached-$DIR" /usr/bin/memcached \
            -l 127.0.0.1 -p "$(memcached_port)" -U 0 -m 32 -t 1 "${user[@]+"${user[@]}"}"
        ;;
    account|container|object|proxy)
        spawn "$name" "$PYTHON" "$DIR/etc/launch.py" "$DIR/etc/swift.conf" "/usr/bin/swift-$name-server" "$DIR/etc/$name-server.conf" -v
        ;;
    *) die "unknown service: $name (proxy, object, container, account or memcached)";;
    esac
}

# A restarted service answers (a Swift server its healthcheck, memcached its port) within 30 s.
wait_for_service() {  # NAME
    local name=$1 port
    if [ "$name" = memcached ]; then port=$(memcached_port); else port=$(sed -n 's/^bind_port = //p' "$DIR/etc/$name-server.conf"); fi
    "$PYTHON" - "$name" "$port" "$(cat "$DIR/run/$name.pid")" <<'EOF' || die "$name did not come back (see $DIR/log/$name.log)"
import os, socket, sys, time, urllib.request
name, port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.time() + 30
while time.time() < deadline:
    if not os.path.exists('/proc/' + pid):
        sys.exit('%s exited' % name)
    try:
        if name == 'memcached':
            socket.create_connection(('127.0.0.1', port), timeout=2).close()
        else:
            opener.open('http://127.0.0.1:%d/healthcheck' % port, timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit('%s not ready' % name)
EOF
}

# `flush_all` on memcached, which must answer OK.
flush_memcached() {
    "$PYTHON" - "$(memcached_port)" <<'EOF' || die "memcached did not flush"
import socket, sys
with socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5) as connection:
    connection.sendall(b'flush_all\r\n')
    answer = connection.recv(100).decode().strip()
sys.exit(0 if answer == 'OK' else 'memcached answered %r' % answer)
EOF
}

if [ "$action" = stop ]; then stop_command "$2"; fi
if [ "$action" = watchdog ]; then [ $# -eq 4 ] || usage; watchdog_command "$2" "$3" "$4"; fi
case $action in
stop-service|start-service)
    [ $# -eq 3 ] || usage
    case $3 in proxy|object|container|account|memcached) ;; *) die "unknown service: $3";; esac
    ;;&
stop-service|start-service|flush-tokens)
    [ -f "$2/.cairn-saio" ] && [ -f "$2/etc/proxy-server.conf" ] || die "$2 is not a started saio.sh directory"
    DIR=$(cd "$2" && pwd -P)
    ;;&
stop-service)
    WATCHDOG='' SERVICES=$3 stop_all          # stop_all with only this service (not the watchdog)
    say "stopped $3"
    exit 0
    ;;
start-service)
    pid=$(cat "$DIR/run/$3.pid" 2>/dev/null || true)
    if ours "$pid"; then say "$3 already runs (pid $pid)"; exit 0; fi
    start_service "$3"
    wait_for_service "$3"
    say "started $3 (pid $(cat "$DIR/run/$3.pid"))"
    exit 0
    ;;
flush-tokens)
    flush_memcached
    say "flushed memcached: every TempAuth token is gone"
    exit 0
    ;;
esac
[ "$action" = start ] && [ $# -eq 3 ] || usage
port=$3
[[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
timeout=${SAIO_START_TIMEOUT:-60}
started_at=$(date +%s.%N)
read_owner

# ---------------------------------------------------------------- packages
missing=""
for package in $PACKAGES; do dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"; done
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (run as root: apt-get install$missing)"
    say "installing$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } \
        >/tmp/cairn-saio-apt.log 2>&1 || die "apt-get install$missing failed (see /tmp/cairn-saio-apt.log)"
fi
"$PYTHON" -c 'import swift' 2>/dev/null || die "$PYTHON cannot import swift (apt-get install python3-swift)"

# ---------------------------------------------------------------- layout and ports
mkdir -p "$2"
DIR=$(cd "$2" && pwd -P)
case $DIR in *[[:space:]]*) die "DIR must not contain spaces: $DIR";; esac
touch "$DIR/.cairn-saio"
mkdir -p "$DIR"/{etc,run,log,cache,lock} "$DIR/srv/node/d1"
mark_dir_for_removal

# Backend ports: unused ones below the ephemeral range (see unused-ports.py; the proxy port is the caller's).
read -r account_port container_port object_port memcache_port < <("$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/unused-ports.py" 4)
[ -n "$memcache_port" ] || die "no unused ports on 127.0.0.1"

ready=0
cleanup_on_failure() {
    if [ $ready = 0 ]; then
        for log in "$DIR"/log/*.log; do [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
        stop_all
    fi
}
trap cleanup_on_failure EXIT

# The object server keeps metadata in user xattrs.
"$PYTHON" -c "import os,sys; p=sys.argv[1]+'/.probe'; open(p,'w').close(); os.setxattr(p,'user.swift.metadata',b'x'*200); os.unlink(p)" \
    "$DIR/srv/node/d1" 2>/dev/null || die "the filesystem of $DIR has no user xattrs, which the Swift object server needs"

# ---------------------------------------------------------------- configuration
cat >"$DIR/etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = cairn-saio
swift_hash_path_suffix = cairn-saio

[storage-policy:0]
name = Policy-0
default = yes
EOF

# The launcher closes inherited descriptors (so no daemon keeps a pipe of whoever started this
# script open), unblocks signals, starts a new session, then either execs a program with an argv[0] that names DIR
# ("exec"), or runs a Swift server after pointing Swift at our swift.conf (Swift otherwise reads
# /etc/swift/swift.conf whatever its configuration says).
cat >"$DIR/etc/launch.py" <<'EOF'
import os, runpy, signal, sys
os.closerange(3, 65536)
# a starter that blocks or ignores signals (a test runner's thread) must not make us deaf to SIGTERM
signal.pthread_sigmask(signal.SIG_SETMASK, [])
for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(number, signal.SIG_DFL)
try:
    os.setsid()
except OSError:
    pass
if sys.argv[1] == 'exec':
    os.execv(sys.argv[3], [sys.argv[2]] + sys.argv[4:])
import swift.common.utils
swift.common.utils.SWIFT_CONF_FILE = sys.argv[1]
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
EOF

defaults() {  # PORT NAME
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $(id -un)
swift_dir = $DIR/etc
devices = $DIR/srv/node
mount_check = false
disable_fallocate = true
recon_cache_path = $DIR/cache
lock_path = $DIR/lock
log_name = $2
log_level = INFO
log_udp_host = 127.0.0.1
log_udp_port = 514
EOF
}

for server in account container object; do
    port_var=${server}_port
    { defaults "${!port_var}" "$server-server"
      printf '\n[pipeline:main]\npipeline = healthcheck %s-server\n\n[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n[app:%s-server]\nuse = egg:swift#%s\n' \
          "$server" "$server" "$server"
    } >"$DIR/etc/$server-server.conf"
done

{ defaults "$port" proxy-server
  cat <<EOF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# one object server: never take it out of service after an error
error_suppression_interval = 0

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

# keystone.sh's proxy takes every section from here to the end: only filters both proxies use.
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcache_port

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
} >"$DIR/etc/proxy-server.conf"

# ---------------------------------------------------------------- rings
# One Python process builds all three with swift's RingBuilder, as `swift-ring-builder FILE
# create 8 1 1; add r1z1-127.0.0.1:PORT/d1 100; rebalance` would for each: that was nine
# interpreter starts, ~8 CPU s each time this harness starts (`make test` starts it four times).
rm -f "$DIR"/etc/{account,container,object}.{builder,ring.gz}
"$PYTHON" - "$DIR/etc" "$account_port" "$container_port" "$object_port" >>"$DIR/log/rings.log" 2>&1 <<'EOF' ||
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(("account", "container", "object"), map(int, sys.argv[2:5])):
    builder = RingBuilder(8, 1, 1)
    builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
                     "replication_ip": "127.0.0.1", "replication_port": port, "device": "d1", "weight": 100})
    builder.rebalance()
    builder.save(f"{etc}/{name}.builder")
    builder.get_ring().save(f"{etc}/{name}.ring.gz")
EOF
    die "building the rings failed (see $DIR/log/rings.log)"

# ---------------------------------------------------------------- processes
for service in memcached account container object proxy; do start_service "$service"; done

# ---------------------------------------------------------------- readiness
"$PYTHON" - "$DIR" "$timeout" "$port" "$account_port" "$container_port" "$object_port" <<'EOF' || die "Swift did not become ready within ${timeout}s (logs in $DIR/log)"
import os, sys, time, urllib.request
directory, timeout = sys.argv[1], float(sys.argv[2])
proxy, *backends = map(int, sys.argv[3:])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline, last = time.time() + timeout, None
def request(url, method='GET', headers={}):
    with opener.open(urllib.request.Request(url, method=method, headers=headers), timeout=5) as response:
        return response.headers
while time.time() < deadline:
    for name in ('memcached', 'account', 'container', 'object', 'proxy'):
        pid = open(os.path.join(directory, 'run', name + '.pid')).read().strip()
        if not os.path.exists('/proc/' + pid) or open('/proc/%s/stat' % pid).read().rsplit(')', 1)[1].split()[0] == 'Z':
            sys.exit('%s exited; see %s/log/%s.log' % (name, directory, name))
    try:
        for port in backends:
            request('http://127.0.0.1:%d/healthcheck' % port)
        headers = request('http://127.0.0.1:%d/auth/v1.0' % proxy, headers={'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
        request(headers['X-Storage-Url'], 'HEAD', {'X-Auth-Token': headers['X-Auth-Token']})
        sys.exit(0)
    except Exception as error:
        last = error
    time.sleep(0.1)
sys.exit('not ready: %s' % last)
EOF
start_watchdog
ready=1

cat >"$DIR/env" <<EOF
ST_AUTH=http://127.0.0.1:$port/auth/v1.0
ST_USER=test:tester
ST_KEY=testing
S3_ENDPOINT=127.0.0.1:$port
AWS_ACCESS_KEY_ID=test:tester
AWS_SECRET_ACCESS_KEY=testing
SAIO_MEMCACHED=127.0.0.1:$memcache_port
EOF
say "ready in $(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s on 127.0.0.1:$port (logs in $DIR/log; stop: $0 stop $DIR)"
cat "$DIR/env"
