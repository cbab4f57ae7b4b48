# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The receiving end of the offload relay tests (test_offload.py,
# test_offload.js), run inside the peer's network namespace: accepts one
# TCP connection on 192.0.2.2:5001, prints "listening" once ready, then
# "<bytes> <sha256> <TcpInCsumErrors>" when the stream ends.
import hashlib
import socket

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 5001))
s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
errors = 0
with open("/proc/net/snmp") as f:
    lines = f.read().splitlines()
for names, values in zip(lines[::2], lines[1::2]):
    if names.startswith("Tcp:"):
        errors = int(values.split()[names.split().index("InCsumErrors")])
print(n, h.hexdigest(), errors, flush=True)
