#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Regenerates the fuzz seeds in corpus/ (run as root; it works inside a
network namespace of its own, created with `unshare -n`):

    unshare -n /usr/bin/python3 tests/fuzz/make-corpus.py

reflect/ and check-packet/ come from tests/bindings/packets.txt; parse-link/
holds real RTM_NEWLINK messages the kernel sent for TUN, TAP, multi-queue,
persistent and owned devices, loopback and a veth pair."""

import hashlib
import os
import socket
import struct
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, 'corpus')


def save(kind, data):
    d = os.path.join(corpus, kind)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def packets():
    with open(os.path.join(here, '..', 'bindings', 'packets.txt')) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] in ('n', 't'):
                yield parts[0] == 't', bytes.fromhex(parts[1])


def link_messages():
    if os.readlink('/proc/self/ns/net') == os.readlink('/proc/%d/ns/net' % os.getppid()):
        sys.exit('run me under unshare -n: I create devices')
    for cmd in ('ip tuntap add dev ft0 mode tun',
                'ip tuntap add dev ft1 mode tap user 1000 group 100',
                'ip tuntap add dev ft2 mode tun multi_queue pi',
                'ip tuntap add dev ft3 mode tap vnet_hdr',
                'ip link add fv0 type veth peer name fv1',
                'ip link set ft1 up', 'ip link set ft3 mtu 9000'):
        subprocess.run(cmd.split(), check=True)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    # RTM_GETLINK dump: nlmsghdr + ifinfomsg
    req = struct.pack('=LHHLL', 32, 18, 0x301, 1, 0) + struct.pack('=BxHiII', 0, 0, 0, 0, 0)
    s.send(req)
    done = False
    while not done:
        buf = s.recv(65536)
        off = 0
        while off + 16 <= len(buf):
            length, mtype = struct.unpack_from('=LH', buf, off)
            if mtype == 3:  # NLMSG_DONE
                done = True
                break
            if mtype == 16:  # RTM_NEWLINK
                msg = bytearray(buf[off:off + length])
                yield bytes(msg)
                # the same message as a deletion notification
                struct.pack_into('=H', msg, 4, 17)
                yield bytes(msg)
            off += (length + 3) & ~3


def main():
    for tap, pkt in packets():
        save('reflect', bytes([1 if tap else 0]) + pkt)
        save('check-packet', bytes([1 if tap else 0]) + pkt)
        proto = b'\x86\xdd' if not tap and pkt and pkt[0] >> 4 == 6 else b'\x08\x00'
        save('check-packet', bytes([3 if tap else 2]) + b'\x00\x00' + proto + pkt)
    for msg in link_messages():
        save('parse-link', msg)


main()
