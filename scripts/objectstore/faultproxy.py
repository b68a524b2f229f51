#!/usr/bin/env python3
"""faultproxy.py — an HTTP proxy for Cairn's tests that sits between cairn and an object store
(the Swift All-In-One of saio.sh, Swift or its S3 API) and damages chosen uploads on cue.

    faultproxy.py --listen PORT --upstream HOST:PORT --state FILE [--corrupt-puts N | --bad-etag N]

  --corrupt-puts N   flip one byte of the body of the first N PUTs of `data/` objects before they
                     reach the store (Swift answers 422, S3 400 BadDigest)
  --bad-etag N       pass the first N PUTs of `data/` objects through, then change the ETag of the
                     store's answer (as if the store had received other bytes)

Requests are forwarded byte for byte with their Host header, so TempAuth hands out storage URLs
that point back at this proxy and S3 signatures stay valid. Only loopback is served. After every
request the proxy rewrites FILE (JSON, atomically) with what it saw: requests by method, answers by
status, authentication requests, every data PUT by path, and the faults it injected with the
store's answer to each. It runs until SIGTERM. Standard library only.
"""
import argparse
import http.client
import http.server
import json
import os
import signal
import sys
import threading

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
              'upgrade', 'expect', 'content-length'}


class State:
    """What the proxy saw, shared by the handler threads and written to the state file."""

    def __init__(self, path, mode, count):
        self.path, self.mode, self.remaining = path, mode, count
        self.lock = threading.Lock()
        self.requests, self.statuses = {}, {}
        self.auth_requests, self.data_puts, self.faults = 0, {}, []
        self.save()

    def take_fault(self, method, path):
        """True when this request is one of the first N data PUTs, which get the fault."""
        with self.lock:
            if method == 'PUT' and is_data(path):
                self.data_puts[path] = self.data_puts.get(path, 0) + 1
                if self.mode and self.remaining > 0:
                    self.remaining -= 1
                    return True
            return False

    def record(self, method, path, status, fault=False, upstream_status=None):
        with self.lock:
            self.requests[method] = self.requests.get(method, 0) + 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            if '/auth/' in path:
                self.auth_requests += 1
            if fault:
                self.faults.append({'mode': self.mode, 'path': path, 'upstream_status': upstream_status})
            self.save()

    def save(self):
        document = {'mode': self.mode, 'requests': self.requests, 'statuses': self.statuses,
                    'auth_requests': self.auth_requests, 'data_puts': self.data_puts, 'faults': self.faults}
        temporary = self.path + '.tmp'
        with open(temporary, 'w') as file:
            json.dump(document, file)
        os.replace(temporary, self.path)


def is_data(path):
    """A pack upload: Swift `/v1/ACCOUNT/CONTAINER/…/data/xx/ID`, S3 `/BUCKET/…/data/xx/ID`."""
    parts = path.split('?', 1)[0].split('/')
    return len(parts) >= 4 and parts[-3] == 'data' and len(parts[-2]) == 2


def flip_one_byte(body):
    if not body:
        return body
    damaged = bytearray(body)
    damaged[len(damaged) // 2] ^= 0x01
    return bytes(damaged)


def other_etag(etag):
    """The same ETag with its first hex digit changed, quotes kept."""
    quoted = etag.startswith('"')
    bare = etag.strip('"')
    if not bare:
        return '"00000000000000000000000000000000"'
    first = '0' if bare[0] != '0' else '1'
    changed = first + bare[1:]
    return '"%s"' % changed if quoted else changed


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    upstream = None
    state = None

    def log_message(self, format, *args):
        pass

    def read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            pieces = []
            while True:
                size = int(self.rfile.readline().split(b';', 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(pieces)
                pieces.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(length) if length else b''

    def forward(self):
        method, path = self.command, self.path
        body = self.read_body()
        fault = self.state.take_fault(method, path)
        if fault and self.state.mode == 'corrupt-puts':
            body = flip_one_byte(body)
        headers = [(name, value) for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP]
        if body or method in ('PUT', 'POST'):
            headers.append(('Content-Length', str(len(body))))
        connection = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(body if body else None)
            answer = connection.getresponse()
            answer_body = answer.read()
        except OSError as error:
            self.state.record(method, path, 502)
            self.send_error(502, 'upstream failed: %s' % error)
            return
        finally:
            connection.close()
        answer_headers = [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP]
        if fault and self.state.mode == 'bad-etag':
            answer_headers = [(name, other_etag(value) if name.lower() == 'etag' else value)
                              for name, value in answer_headers]
        self.send_response(answer.status, answer.reason)
        for name, value in answer_headers:
            self.send_header(name, value)
        if method != 'HEAD':
            self.send_header('Content-Length', str(len(answer_body)))
        else:
            length = answer.getheader('Content-Length')
            if length is not None:
                self.send_header('Content-Length', length)
        self.end_headers()
        if method != 'HEAD':
            self.wfile.write(answer_body)
        self.state.record(method, path, answer.status, fault=fault, upstream_status=answer.status)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_COPY = forward


def main():
    parser = argparse.ArgumentParser(description='fault-injecting HTTP proxy for object-store tests')
    parser.add_argument('--listen', type=int, required=True, help='port on 127.0.0.1 (0: any free one, printed)')
    parser.add_argument('--upstream', required=True, help='HOST:PORT of the object store')
    parser.add_argument('--state', required=True, help='JSON file the proxy keeps what it saw in')
    faults = parser.add_mutually_exclusive_group()
    faults.add_argument('--corrupt-puts', type=int, default=0, metavar='N')
    faults.add_argument('--bad-etag', type=int, default=0, metavar='N')
    arguments = parser.parse_args()

    host, _, port = arguments.upstream.rpartition(':')
    mode = 'corrupt-puts' if arguments.corrupt_puts else 'bad-etag' if arguments.bad_etag else None
    Handler.upstream = (host or '127.0.0.1', int(port))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', arguments.listen), Handler)
    server.daemon_threads = True
    # A starter that blocks signals (a test runner's thread) must not make us deaf to SIGTERM.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    # The state file appears once the proxy listens: callers wait for it.
    Handler.state = State(arguments.state, mode, arguments.corrupt_puts or arguments.bad_etag)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main())
