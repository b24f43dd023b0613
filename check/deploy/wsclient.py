#!/usr/bin/env python3
"""wsclient.py URL ORIGIN CAFILE [--hold FILE]: open a terminal WebSocket
(RFC 6455, TLS with CAFILE), expect {"type":"connected"}, run
`echo tk-$$-N` and wait for the marker in the output.  With --hold, stay
connected and repeat that each time FILE appears (it is removed), printing
"alive N"; exits 1 the moment the connection drops.  Runs under nsenter in
the guest's network namespace, so URL's host resolves to 127.0.0.1."""
import base64, json, os, socket, ssl, struct, sys, time
from urllib.parse import urlsplit

url, origin, cafile = sys.argv[1:4]
hold = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--hold" else None
u = urlsplit(url)
ctx = ssl.create_default_context(cafile=cafile)
raw = socket.create_connection(("127.0.0.1", u.port or 443), timeout=20)
s = ctx.wrap_socket(raw, server_hostname=u.hostname)
key = base64.b64encode(os.urandom(16)).decode()
path = u.path + ("?" + u.query if u.query else "")
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.hostname}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
           f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("ws: closed during the handshake")
    buf += d
head, buf = buf.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("ws: no upgrade: " + head.split(b"\r\n")[0].decode())


def frame():
    global buf
    def need(n):
        global buf
        while len(buf) < n:
            d = s.recv(65536)
            if not d:
                print("ws: connection dropped", flush=True)
                sys.exit(1)
            buf += d
    need(2)
    op, ln = buf[0] & 15, buf[1] & 127
    off = 2
    if ln == 126:
        need(4); ln = struct.unpack(">H", buf[2:4])[0]; off = 4
    elif ln == 127:
        need(10); ln = struct.unpack(">Q", buf[2:10])[0]; off = 10
    need(off + ln)
    data, buf = buf[off:off + ln], buf[off + ln:]
    if op == 8:
        print("ws: server closed", flush=True)
        sys.exit(1)
    return data


def send(text):
    p = text.encode()
    m = os.urandom(4)
    hdr = bytes([0x81]) + (bytes([0x80 | len(p)]) if len(p) < 126
                           else bytes([0xFE]) + struct.pack(">H", len(p)))
    s.sendall(hdr + m + bytes(b ^ m[i % 4] for i, b in enumerate(p)))


def expect(marker, secs=30):
    out = b""
    s.settimeout(secs)
    try:
        while marker.encode() not in out:
            out += frame()
    except socket.timeout:
        sys.exit(f"ws: no '{marker}' within {secs} s; got {out[-200:]!r}")
    s.settimeout(None)


first = json.loads(frame())
if first.get("type") != "connected":
    sys.exit(f"ws: first frame {first}")
n = 0
while True:
    n += 1
    mark = f"tk-{os.getpid()}-{n}"
    # The marker is split in the command so that its echo cannot match.
    send(json.dumps({"type": "input", "data": f"echo tk-{os.getpid()}-\"{n}\"\n"}))
    expect(mark)
    print(f"alive {n}", flush=True)
    if hold is None:
        break
    s.settimeout(0.2)
    while not os.path.exists(hold):
        try:
            frame()     # drain; a drop is reported by frame()
        except socket.timeout:
            pass
    s.settimeout(None)
    os.unlink(hold)
