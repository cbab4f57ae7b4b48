#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Offloads from Python (issue 11): one property. Device A (offload on) in
# this test's namespace, device B (offload on or off) created with
# netns_fd in a second namespace (that of a `unshare -n sleep` child), and a
# relay in Python: packets-received on one side, send_many() on the other.
# A TCP stream from here to a server in B's namespace arrives intact
# (SHA-256), B's kernel counts no checksum error, and the counters show
# super-packets split (and, into an offloading B, coalesced). Runs under
# `unshare -n`.

import hashlib
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, TunTap  # noqa: E402

MIB = 8
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp-sink.py")


def make_device(name, **props):
    device = TunTap.Device(name=name, mode=TunTap.Mode.TUN, **props)
    device.init(None)
    return device


def relay(to, errors):
    def on_batch(device, packets, lengths):
        try:
            to.send_many(packets.get_data(), list(lengths))
        except GLib.Error as e:
            if not e.matches(GLib.quark_from_string("g-io-error-quark"), 27):  # WOULD_BLOCK
                errors.append(e.message)
    return on_batch


class Relay(unittest.TestCase):
    def run_relay(self, b_offload):
        peer = subprocess.Popen(["unshare", "-n", "sleep", "60"])
        # Until unshare(2) ran, the child is still in this namespace.
        ours = os.readlink("/proc/self/ns/net")
        while os.readlink(f"/proc/{peer.pid}/ns/net") == ours:
            GLib.usleep(1000)
        try:
            self.relay_through(peer.pid, b_offload)
        finally:
            peer.kill()
            peer.wait()

    def relay_through(self, pid, b_offload):
        netns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        a = make_device("pyofa", offload=True)
        b = make_device("pyofb", netns_fd=netns, offload=b_offload)
        os.close(netns)
        self.assertTrue(a.props.offloads & TunTap.Offloads.TCP_SEGMENTATION)
        errors = []
        a.connect("packets-received", relay(b, errors))
        b.connect("packets-received", relay(a, errors))
        a.add_address_from_string("192.0.2.1", "192.0.2.2")
        a.set_up(True)
        b.add_address_from_string("192.0.2.2", "192.0.2.1")
        b.set_up(True)

        server = subprocess.Popen(["nsenter", "-t", str(pid), "-n", sys.executable, SINK],
                                  stdout=subprocess.PIPE, text=True)
        self.assertEqual(server.stdout.readline().strip(), "listening")

        sent = hashlib.sha256()

        def client():
            rng = hashlib.sha256(b"seed")
            with socket.create_connection(("192.0.2.2", 5001)) as c:
                for _ in range(MIB * 16):
                    block = b"".join(rng.digest() for _ in range(2048))   # 64 KiB
                    rng.update(block[:32])
                    sent.update(block)
                    c.sendall(block)

        thread = threading.Thread(target=client)
        thread.start()
        context = GLib.MainContext.default()
        deadline = GLib.get_monotonic_time() + 60 * 1000000
        while server.poll() is None and GLib.get_monotonic_time() < deadline:
            context.iteration(False) or GLib.usleep(500)
        thread.join()
        received, digest, csum_errors = server.stdout.readline().split()

        self.assertEqual(int(received), MIB * 1024 * 1024)
        self.assertEqual(digest, sent.hexdigest())
        self.assertEqual(int(csum_errors), 0)
        self.assertEqual(errors, [])
        super_packets, split, malformed, _, _ = a.get_offload_counters()
        self.assertGreater(super_packets, 0)
        self.assertGreater(split, 2 * super_packets)
        self.assertEqual(malformed, 0)
        coalesced = b.get_offload_counters()[3]
        if b_offload:
            self.assertGreater(coalesced, 0)
        else:
            self.assertEqual(coalesced, 0)
        a.close()
        b.close()

    def test_split(self):
        self.run_relay(False)

    def test_coalesce(self):
        self.run_relay(True)


if __name__ == "__main__":
    tuntaptest.main()
