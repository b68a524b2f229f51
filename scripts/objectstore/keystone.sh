#!/usr/bin/env bash
# keystone.sh — a throw-away OpenStack Keystone v3 on 127.0.0.1, in front of a second Swift proxy
# of a Swift All-In-One that scripts/objectstore/saio.sh runs, for Cairn's tests.
#
#   scripts/objectstore/keystone.sh start DIR          DIR: where `saio.sh start DIR PORT` runs
#   scripts/objectstore/keystone.sh stop  DIR          stop what start started (recorded pids)
#   scripts/objectstore/keystone.sh revoke-tokens DIR  every token issued so far stops working
#   CAIRN_HARNESS_OWNER_PID=PID keystone.sh start DIR  the same, stopped by itself when process PID dies
#
# With CAIRN_HARNESS_OWNER_PID (a test runner's own pid), start also leaves a watchdog running
# (`keystone.sh watchdog DIR PID START-TIME`, pid in DIR/run/keystone-watchdog.pid, log
# DIR/log/keystone-watchdog.log; saio.sh's watchdog of the same DIR is another one): once a second
# it checks that PID still runs with the start time it had when start began (so a reused pid does
# not count), and when it does not, it does what `stop DIR` does and exits. `stop` stops it too.
#
# start runs, on free ports of 127.0.0.1:
#   - Keystone (Debian's python3-keystone) under the WSGI server of its own `keystone-wsgi-public`
#     script (wsgiref: one request at a time; no apache, no uwsgi), our config given after `--`.
#     SQLite database (write-ahead log), fernet tokens, keys, policy and configuration all under
#     DIR/keystone; nothing in /etc or /var/lib is read or written (an explicit --config-file and
#     --config-dir, and policy files of our own that oslo.config finds before /etc/keystone).
#     Bootstrapped with an admin and region RegionOne, then: a `service` project with a `swift`
#     user (role `service`, which lets the middleware validate tokens), a `redis` project with a
#     `backup` user (role `member`), an empty region RegionTwo, a domain `customers` with a
#     project also named `redis` and a user `ops` (role `member`), and an `object-store` service
#     whose public endpoint in RegionOne is http://127.0.0.1:PORT/v1/AUTH_$(project_id)s.
#   - a second Swift proxy server on PORT, with the SAIO's rings and back-end servers and a
#     pipeline that authenticates with keystonemiddleware's authtoken (no token cache, so a
#     revoked token is refused at once) and Swift's keystoneauth (operator roles admin, member).
#     The SAIO's TempAuth proxy is left as it is.
# Pids go to DIR/run/keystone.pid and DIR/run/proxy-keystone.pid (saio.sh stop does not know
# them: run keystone.sh stop first), logs to DIR/log/keystone.log (Keystone and its access
# lines), DIR/log/keystone-manage.log and DIR/log/proxy-keystone.log.
# When ready it writes DIR/keystone-env and prints the same lines:
#   OS_AUTH_URL=http://127.0.0.1:P/v3  OS_USERNAME=backup  OS_PASSWORD=…  OS_PROJECT_NAME=redis
#   OS_USER_DOMAIN_NAME=Default  OS_PROJECT_DOMAIN_NAME=Default  OS_REGION_NAME=RegionOne
#   KEYSTONE_STORAGE_URL        the catalog's object-store URL of project redis
#   KEYSTONE_DOMAIN2_NAME, _ID, _USERNAME, _PASSWORD, _STORAGE_URL   the same for domain customers
#   KEYSTONE_EMPTY_REGION       a region with no object-store endpoint
#   KEYSTONE_LOG, KEYSTONE_PROXY_LOG, KEYSTONE_SCRIPT (this script: `KEYSTONE_SCRIPT revoke-tokens DIR`)
# The admin's OS_* lines are in DIR/keystone/admin-env.
#
# revoke-tokens rotates the fernet keys once with `[fernet_tokens] max_active_keys = 2`, which
# deletes the key every earlier token was sealed with (Keystone reads the keys from disk for each
# token, and neither it nor the middleware caches tokens); it then checks that a token issued
# just before is refused by the Keystone proxy (401) and a new one is accepted.
#
# Needs Debian's python3-keystone and python3-keystonemiddleware (besides saio.sh's packages);
# installed with apt-get when missing and we are root, else the start fails and says what to
# install. The `keystone` package itself is not needed (it adds a system service, /etc/keystone
# and a dbconfig database, none of which this uses). Environment: KEYSTONE_START_TIMEOUT
# (seconds, default 60).
set -euo pipefail

say() { echo "keystone: $*" >&2; }
die() { echo "keystone: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 start DIR | stop DIR | revoke-tokens DIR" >&2; exit 2; }

PYTHON=/usr/bin/python3          # Debian's python3-keystone; not a pyenv or venv python
PACKAGES="python3-keystone python3-keystonemiddleware"
SERVICES="keystone proxy-keystone"
WATCHDOG=keystone-watchdog       # DIR/run/keystone-watchdog.pid: not saio.sh's DIR/run/watchdog.pid
REGION=RegionOne
EMPTY_REGION=RegionTwo
OTHER_DOMAIN=customers

[ $# -ge 1 ] || usage
action=$1
case $action:$# in start:2|stop:2|revoke-tokens:2|watchdog:4) ;; *) usage;; esac

# shellcheck source=pids.sh
source "$(dirname "${BASH_SOURCE[0]}")/pids.sh"

# Starts one process, recording its pid in DIR/run/NAME.pid. saio.sh's launcher (DIR/etc/launch.py)
# closes inherited descriptors, unblocks signals and starts a new session; every command line
# here names DIR (config files under it), which is how stop_all knows the process is ours.
spawn() {  # NAME COMMAND...
    local name=$1; shift
    "$PYTHON" "$DIR/etc/launch.py" "$@" </dev/null >>"$DIR/log/$name.log" 2>&1 &
    echo $! >"$DIR/run/$name.pid"
}

# keystone-manage (revoke-tokens) with our configuration only (an explicit --config-dir keeps oslo.config from
# also reading /etc/keystone/keystone.conf.d).
manage() {
    /usr/bin/keystone-manage --config-file "$DIR/keystone/keystone.conf" --config-dir "$DIR/keystone/keystone.conf.d" "$@" \
        </dev/null >>"$DIR/log/keystone-manage.log" 2>&1
}

env_value() {  # NAME: from DIR/keystone-env
    sed -n "s/^$1=//p" "$DIR/keystone-env"
}

# A token of `backup` taken before the rotation must be refused by the Keystone proxy, and one
# taken after it accepted. Prints nothing; exits non-zero with the reason.
check_tokens() {  # PHASE (before|after) TOKEN-FILE
    "$PYTHON" - "$1" "$2" "$(env_value OS_AUTH_URL)" "$(env_value OS_USERNAME)" "$(env_value OS_PASSWORD)" \
        "$(env_value OS_PROJECT_NAME)" "$(env_value KEYSTONE_STORAGE_URL)" <<'EOF'
import json, sys, urllib.error, urllib.request
phase, token_file, auth_url, user, password, project, storage = sys.argv[1:]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def token():
    body = {'auth': {'identity': {'methods': ['password'], 'password': {'user': {
        'name': user, 'domain': {'name': 'Default'}, 'password': password}}},
        'scope': {'project': {'name': project, 'domain': {'name': 'Default'}}}}}
    request = urllib.request.Request(auth_url + '/auth/tokens', data=json.dumps(body).encode(), method='POST',
                                     headers={'Content-Type': 'application/json'})
    with opener.open(request, timeout=30) as response:
        return response.headers['X-Subject-Token']
def status(token):
    try:
        with opener.open(urllib.request.Request(storage, method='HEAD', headers={'X-Auth-Token': token}), timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
if phase == 'before':
    old = token()
    if status(old) // 100 != 2:
        sys.exit('a new token was refused before the rotation')
    open(token_file, 'w').write(old)
else:
    old = open(token_file).read()
    got = status(old)
    if got != 401:
        sys.exit('a token issued before the rotation still gets HTTP %d, not 401' % got)
    if status(token()) // 100 != 2:
        sys.exit('a token issued after the rotation is refused')
EOF
}

# ---------------------------------------------------------------- stop, revoke-tokens
if [ "$action" = stop ]; then stop_command "$2"; fi
if [ "$action" = watchdog ]; then watchdog_command "$2" "$3" "$4"; fi
[ -f "$2/.cairn-saio" ] && [ -f "$2/etc/proxy-server.conf" ] && [ -f "$2/etc/launch.py" ] ||
    die "$2 is not a directory where saio.sh start runs (start the Swift All-In-One first)"
DIR=$(cd "$2" && pwd -P)
if [ "$action" = revoke-tokens ]; then
    [ -f "$DIR/keystone-env" ] && ours "$(cat "$DIR/run/keystone.pid" 2>/dev/null || true)" ||
        die "no Keystone of keystone.sh runs in $DIR"
    probe=$DIR/keystone/probe-token
    check_tokens before "$probe" || die "the Keystone proxy refused a new token (logs in $DIR/log)"
    manage fernet_rotate --keystone-user "$(id -un)" --keystone-group "$(id -gn)" ||
        die "keystone-manage fernet_rotate failed (see $DIR/log/keystone-manage.log)"
    keys=$(ls "$DIR/keystone/fernet-keys" | sort -n | tr '\n' ' ')
    check_tokens after "$probe" || die "the rotation did not revoke the tokens (keys now: $keys)"
    rm -f "$probe"
    say "fernet keys rotated (now ${keys% }): every token issued before is refused"
    exit 0
fi

# ---------------------------------------------------------------- start
timeout=${KEYSTONE_START_TIMEOUT:-60}
started_at=$(date +%s.%N)
read_owner
for name in $SERVICES; do
    pid=$(cat "$DIR/run/$name.pid" 2>/dev/null || true)
    if ours "$pid"; then die "$name already runs in $DIR (pid $pid): $0 stop $DIR first"; fi
done

missing=""
for package in $PACKAGES; do dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"; done
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || die "missing Debian packages:$missing (run as root: apt-get install$missing)"
    say "installing$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } \
        >/tmp/cairn-keystone-apt.log 2>&1 || die "apt-get install$missing failed (see /tmp/cairn-keystone-apt.log)"
fi
"$PYTHON" -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ("keystone", "keystonemiddleware", "swift")))' ||
    die "$PYTHON cannot find keystone, keystonemiddleware or swift (apt-get install $PACKAGES)"
[ -x /usr/bin/keystone-manage ] && [ -x /usr/bin/keystone-wsgi-public ] ||
    die "keystone-manage or keystone-wsgi-public is missing (apt-get install python3-keystone)"

KS=$DIR/keystone
rm -rf "$KS" "$DIR/keystone-env"
mkdir -p "$KS/keystone.conf.d" "$KS/policy.d" "$DIR/run" "$DIR/log"
install -d -m 700 "$KS/fernet-keys" "$KS/credential-keys"

# Two unused ports (Keystone, the Keystone proxy; see unused-ports.py) and four passwords.
read -r keystone_port proxy_port < <("$PYTHON" "$(dirname "${BASH_SOURCE[0]}")/unused-ports.py" 2)
[ -n "$proxy_port" ] || die "no unused ports on 127.0.0.1"
read -r admin_password swift_password backup_password ops_password < <("$PYTHON" -c 'import secrets; print(" ".join(secrets.token_hex(12) for _ in range(4)))')
auth_url=http://127.0.0.1:$keystone_port/v3

ready=0
cleanup_on_failure() {
    if [ $ready = 0 ]; then
        for log in "$DIR"/log/keystone.log "$DIR"/log/keystone-manage.log "$DIR"/log/proxy-keystone.log; do
            [ -s "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
        done
        stop_all
    fi
}
trap cleanup_on_failure EXIT

# ---------------------------------------------------------------- configuration
# Low bcrypt rounds: the passwords are throw-away, and each authentication hashes one.
cat >"$KS/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$KS/keystone.db

[token]
provider = fernet
# no token is remembered, issued or validated: each validation decrypts it with the keys on disk
caching = false
cache_on_issue = false

[fernet_tokens]
key_repository = $KS/fernet-keys
max_active_keys = 2

[fernet_receipts]
key_repository = $KS/fernet-keys
max_active_keys = 2

[credential]
key_repository = $KS/credential-keys

[identity]
password_hash_rounds = 4

# Everything else is cached in memory (without it a token validation runs some 500 queries and
# takes most of a second).
[cache]
enabled = true
backend = dogpile.cache.memory

[oslo_policy]
policy_file = $KS/policy.yaml
policy_dirs = $KS/policy.d
EOF
echo '{}' >"$KS/policy.yaml"    # the defaults in Keystone's code

{ sed -n '/^\[DEFAULT\]/,/^$/p' "$DIR/etc/proxy-server.conf" |
      sed -e "s/^bind_port = .*/bind_port = $proxy_port/" -e 's/^log_name = .*/log_name = proxy-keystone/'
  cat <<EOF
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats authtoken keystoneauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
error_suppression_interval = 0

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $auth_url
auth_url = $auth_url
auth_type = password
interface = public
region_name = $REGION
username = swift
password = $swift_password
project_name = service
user_domain_name = Default
project_domain_name = Default
delay_auth_decision = false
include_service_catalog = false
# validate every token with Keystone: a revoked token is refused at once
token_cache_time = -1

[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = AUTH_
operator_roles = admin, member

EOF
  # The filters both proxies use, from [filter:cache] (the same memcached) to the end, as saio.sh wrote them.
  sed -n '/^\[filter:cache\]/,$p' "$DIR/etc/proxy-server.conf"
} >"$KS/proxy-server.conf"
grep -q "^bind_port = $proxy_port\$" "$KS/proxy-server.conf" && grep -q '^\[filter:dlo\]' "$KS/proxy-server.conf" ||
  die "could not derive the proxy configuration from $DIR/etc/proxy-server.conf"

# ---------------------------------------------------------------- processes
# The proxy starts at once (it asks Keystone nothing before its first request). One Python process
# runs keystone-manage's fernet_setup, credential_setup, db_sync and bootstrap (each as the
# command would, but paying for Keystone's imports once); Keystone's server starts as soon as the
# keys are there (it exits at once without them), and does not read the database before its
# first request, which comes after bootstrap.
spawn proxy-keystone "$DIR/etc/swift.conf" /usr/bin/swift-proxy-server "$KS/proxy-server.conf" -v
"$PYTHON" - "$KS" "$(id -un)" "$(id -gn)" "$admin_password" "$REGION" "$auth_url" >>"$DIR/log/keystone-manage.log" 2>&1 <<'EOF' &
import sqlite3, sys
from keystone.cmd import cli
import keystone.conf
ks, user, group, password, region, url = sys.argv[1:]
base = ['keystone-manage', '--config-file', ks + '/keystone.conf', '--config-dir', ks + '/keystone.conf.d']
def manage(*arguments):
    print('keystone-manage', arguments[0], flush=True)
    cli.main(argv=base + list(arguments))
    keystone.conf.CONF.clear()
manage('fernet_setup', '--keystone-user', user, '--keystone-group', group)
manage('credential_setup', '--keystone-user', user, '--keystone-group', group)
open(ks + '/keys-ready', 'w').close()
manage('db_sync')
# In SQLite's default journal a reader blocks a writer's commit, and Keystone's server, one
# process, then fails its own writes with "database is locked" (POST /v3/services, every time).
# With a write-ahead log readers never block the writer.
if sqlite3.connect(ks + '/keystone.db').execute('PRAGMA journal_mode=WAL').fetchone()[0] != 'wal':
    sys.exit('could not put the database into WAL mode')
manage('bootstrap', '--bootstrap-password', password, '--bootstrap-username', 'admin', '--bootstrap-project-name', 'admin',
       '--bootstrap-role-name', 'admin', '--bootstrap-region-id', region,
       '--bootstrap-public-url', url, '--bootstrap-internal-url', url)
EOF
manage_pid=$!
deadline=$(( $(date +%s) + timeout ))
while [ ! -e "$KS/keys-ready" ] && kill -0 $manage_pid 2>/dev/null && [ "$(date +%s)" -lt $deadline ]; do sleep 0.05; done
if [ ! -e "$KS/keys-ready" ]; then
    kill -TERM $manage_pid 2>/dev/null || true
    wait $manage_pid || true
    die "keystone-manage fernet_setup or credential_setup failed (see $DIR/log/keystone-manage.log)"
fi
spawn keystone exec "$PYTHON" "$PYTHON" /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$keystone_port" \
    -- --config-file "$KS/keystone.conf" --config-dir "$KS/keystone.conf.d"
wait $manage_pid || die "keystone-manage db_sync or bootstrap failed (see $DIR/log/keystone-manage.log)"
printf 'OS_AUTH_URL=%s\nOS_USERNAME=admin\nOS_PASSWORD=%s\nOS_PROJECT_NAME=admin\nOS_USER_DOMAIN_NAME=Default\nOS_PROJECT_DOMAIN_NAME=Default\nOS_REGION_NAME=%s\n' \
    "$auth_url" "$admin_password" "$REGION" >"$KS/admin-env"
chmod 600 "$KS/admin-env"

# ---------------------------------------------------------------- projects, users, catalog; readiness
found=$("$PYTHON" - "$DIR" "$timeout" "$auth_url" "$proxy_port" "$admin_password" "$swift_password" "$backup_password" \
    "$ops_password" "$REGION" "$EMPTY_REGION" "$OTHER_DOMAIN" <<'EOF'
import json, os, sys, time, urllib.error, urllib.request
directory, timeout, auth_url, proxy_port, admin_pw, swift_pw, backup_pw, ops_pw, region, empty_region, other_domain = sys.argv[1:]
deadline = time.time() + float(timeout)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

def alive():
    for name in ('keystone', 'proxy-keystone'):
        pid = open(os.path.join(directory, 'run', name + '.pid')).read().strip()
        if not os.path.exists('/proc/' + pid) or open('/proc/%s/stat' % pid).read().rsplit(')', 1)[1].split()[0] == 'Z':
            sys.exit('%s exited; see %s/log/%s.log' % (name, directory, name))

def call(method, url, body=None, token=None):
    headers = {'Content-Type': 'application/json'}
    if token:
        headers['X-Auth-Token'] = token
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    with opener.open(request, timeout=30) as response:
        text = response.read()
        return response, (json.loads(text) if text else None)

def authenticate(user, password, project, domain='default'):
    response, answer = call('POST', auth_url + '/auth/tokens', {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {'name': user, 'domain': {'id': domain}, 'password': password}}},
        'scope': {'project': {'name': project, 'domain': {'id': domain}}}}})
    return response.headers['X-Subject-Token'], answer['token']

def until_ready(what, attempt):
    last = None
    while time.time() < deadline:
        alive()
        try:
            return attempt()
        except (OSError, ValueError, KeyError) as error:
            last = error
        time.sleep(0.1)
    sys.exit('%s not ready within %s s: %s' % (what, timeout, last))

admin, _ = until_ready('Keystone', lambda: authenticate('admin', admin_pw, 'admin'))

def create(collection, kind, fields):
    return call('POST', '%s/%s' % (auth_url, collection), {kind: fields}, admin)[1][kind]['id']

def grant(project, user, role):
    call('PUT', '%s/projects/%s/users/%s/roles/%s' % (auth_url, project, user, role), None, admin)

roles = {role['name']: role['id'] for role in call('GET', auth_url + '/roles', None, admin)[1]['roles']}
if 'service' not in roles:
    roles['service'] = create('roles', 'role', {'name': 'service'})
service_project = create('projects', 'project', {'name': 'service', 'domain_id': 'default'})
redis_project = create('projects', 'project', {'name': 'redis', 'domain_id': 'default'})
swift_user = create('users', 'user', {'name': 'swift', 'domain_id': 'default', 'password': swift_pw,
                                      'default_project_id': service_project})
backup_user = create('users', 'user', {'name': 'backup', 'domain_id': 'default', 'password': backup_pw,
                                       'default_project_id': redis_project})
grant(service_project, swift_user, roles['service'])
grant(redis_project, backup_user, roles['member'])
# Another domain with a project of the same name, and a user of its own.
domain = create('domains', 'domain', {'name': other_domain})
other_project = create('projects', 'project', {'name': 'redis', 'domain_id': domain})
ops_user = create('users', 'user', {'name': 'ops', 'domain_id': domain, 'password': ops_pw})
grant(other_project, ops_user, roles['member'])
create('regions', 'region', {'id': empty_region})
swift_service = create('services', 'service', {'type': 'object-store', 'name': 'swift'})
create('endpoints', 'endpoint', {'service_id': swift_service, 'interface': 'public', 'region_id': region,
                                 'url': 'http://127.0.0.1:%s/v1/AUTH_$(project_id)s' % proxy_port})

# The whole chain: backup's token, the catalog's URL, the proxy asking Keystone about the token.
token, body = authenticate('backup', backup_pw, 'redis')
urls = [endpoint['url'] for service in body['catalog'] if service['type'] == 'object-store'
        for endpoint in service['endpoints'] if endpoint['interface'] == 'public' and endpoint['region_id'] == region]
if urls != ['http://127.0.0.1:%s/v1/AUTH_%s' % (proxy_port, redis_project)]:
    sys.exit('unexpected object-store endpoints in the catalog: %s' % urls)
_, other = authenticate('ops', ops_pw, 'redis', domain)
if other['project']['id'] != other_project:
    sys.exit('ops was scoped to project %s, not %s' % (other['project']['id'], other_project))
def head(token):
    try:
        return call('HEAD', urls[0], None, token)[0].status
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise OSError('HTTP %d' % error.code)
        return error.code
status = until_ready('the Keystone proxy', lambda: head(token))
if status // 100 != 2:
    sys.exit('the Keystone proxy answers HTTP %d to a token of backup (see %s/log/proxy-keystone.log)' % (status, directory))
if head('not-a-token') != 401:
    sys.exit('the Keystone proxy does not refuse a bad token')
print('KEYSTONE_STORAGE_URL=' + urls[0])
print('KEYSTONE_DOMAIN2_NAME=' + other_domain)
print('KEYSTONE_DOMAIN2_ID=' + domain)
print('KEYSTONE_DOMAIN2_USERNAME=ops')
print('KEYSTONE_DOMAIN2_PASSWORD=' + ops_pw)
print('KEYSTONE_DOMAIN2_STORAGE_URL=http://127.0.0.1:%s/v1/AUTH_%s' % (proxy_port, other_project))
EOF
) || die "Keystone did not become ready within ${timeout}s (logs in $DIR/log)"
start_watchdog
ready=1

cat >"$DIR/keystone-env" <<EOF
OS_AUTH_URL=$auth_url
OS_USERNAME=backup
OS_PASSWORD=$backup_password
OS_PROJECT_NAME=redis
OS_USER_DOMAIN_NAME=Default
OS_PROJECT_DOMAIN_NAME=Default
OS_REGION_NAME=$REGION
$found
KEYSTONE_EMPTY_REGION=$EMPTY_REGION
KEYSTONE_LOG=$DIR/log/keystone.log
KEYSTONE_PROXY_LOG=$DIR/log/proxy-keystone.log
KEYSTONE_SCRIPT=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
EOF
say "ready in $(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: Keystone on 127.0.0.1:$keystone_port, its Swift proxy on 127.0.0.1:$proxy_port (logs in $DIR/log; stop: $0 stop $DIR)"
cat "$DIR/keystone-env"
