#!/usr/bin/python3
"""Prints COUNT distinct TCP ports of 127.0.0.1 that nothing listens on now, space-separated.

They come from below the kernel's ephemeral range (ip_local_port_range). A port that bind() to 0
hands out comes from that range, where any outgoing connection made before the server binds it
(another test's client, on a busy machine) can take it as its local port: the Swift servers bind
seconds after their ports are chosen, and one failed with "Could not bind to 127.0.0.1:58371".
No outgoing connection takes a port below the range.

    unused-ports.py [COUNT]          (default 1)
"""
import random
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
try:
    with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
        ephemeral_low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    ephemeral_low = 32768
low = 10000 if ephemeral_low > 12000 else 1024
picked = []
for _ in range(10000):
    if len(picked) == count:
        break
    port = random.randrange(low, ephemeral_low)
    if port in picked:
        continue
    probe = socket.socket()
    try:
        probe.bind(('127.0.0.1', port))
    except OSError:
        continue
    finally:
        probe.close()
    picked.append(port)
if len(picked) < count:
    sys.exit('no %d unused ports on 127.0.0.1 between %d and %d' % (count, low, ephemeral_low))
print(' '.join(map(str, picked)))
