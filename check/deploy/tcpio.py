#!/usr/bin/env python3
"""tcpio.py HOST PORT: stdin/stdout <-> one TCP connection (ssh's
ProxyCommand into the guest's private network namespace, run under
`nsenter -t <guest pid 1> -n`; the host has no netcat)."""
import os, select, socket, sys

s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.settimeout(None)
fds = [0, s.fileno()]
while fds:
    r, _, _ = select.select(fds, [], [])
    if 0 in r:
        b = os.read(0, 65536)
        if not b:
            s.shutdown(socket.SHUT_WR)
            fds.remove(0)
        else:
            s.sendall(b)
    if s.fileno() in r:
        b = s.recv(65536)
        if not b:
            break
        os.write(1, b)
