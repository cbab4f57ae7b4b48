#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The batch path from Python: ::packets-received hands over every packet of
# one main-loop wake-up as one GLib.Bytes plus a list of lengths, and
# send_many() sends a batch back. Checked through the kernel: datagrams a
# UDP socket sends through the device arrive in consistent batches, and
# packets send_many() writes arrive at a UDP socket. Also the errors, the
# count send_many() returns as the binding sees it, and examples/echo.py's
# reflect_batch() and send_many() helpers. Runs under `unshare -n`.

import os
import select
import socket
import struct
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, TunTap, assert_io_error  # noqa: E402

IOError = Gio.IOErrorEnum
BATCH_MAX = 256   # PACKET_BUDGET in src/tun-tap-receive.c
PORT = 5555

_pair = [0]


def new_pair():
    """A fresh address pair per test."""
    _pair[0] += 1
    assert _pair[0] < 63
    return f"192.0.2.{4 * _pair[0] + 1}", f"192.0.2.{4 * _pair[0] + 2}"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp4(src, dst, sport, dport, payload, ident=0):
    """An IPv4/UDP datagram with a valid header checksum (UDP checksum 0:
    none, which IPv4 allows)."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), ident, 0x4000,
                         64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def parse_udp4(p):
    """(dst, dport, payload) of an IPv4/UDP datagram, None for anything else
    (the kernel may send IPv6 router solicitations and the like)."""
    if len(p) < 28 or p[0] != 0x45 or p[9] != 17:
        return None
    return socket.inet_ntoa(p[16:20]), p[22] << 8 | p[23], p[28:]


def split(data, lengths):
    packets = []
    o = 0
    for n in lengths:
        packets.append(data[o:o + n])
        o += n
    return packets


class DeviceTest(unittest.TestCase):
    """A TUN device with an address pair, up; no tests of its own."""

    def setUp(self):
        self.local, self.peer = new_pair()
        self.device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        self.name = self.device.get_name()
        self.device.add_address_from_string(self.local, self.peer)
        self.device.set_up(True)
        self.sockets = []

    def tearDown(self):
        self.device.close()
        for s in self.sockets:
            s.close()

    def udp_socket(self, bind=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sockets.append(s)
        # Room for a whole echoed wake-up (256 packets) at once: the
        # default buffer holds exactly 256 small datagrams here, no more.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if bind is not None:
            s.bind(bind)
            s.setblocking(False)
        return s

    def queue(self, count):
        """Sends @count datagrams to the peer, which the kernel routes into
        the device; with no loop running they wait in its queue. Returns
        the payloads in order."""
        s = self.udp_socket()
        payloads = [b"batch %03d " % i + bytes(i % 7 * 100) for i in range(count)]
        for payload in payloads:
            s.sendto(payload, (self.peer, PORT))
        return payloads

    def run_until(self, done, seconds=5):
        return tuntaptest.run_until(done, seconds)

    def receive(self, s, count, seconds=2.0):
        """Up to @count datagrams from non-blocking socket @s, waiting at
        most @seconds in all for them."""
        got = []
        deadline = GLib.get_monotonic_time() + int(seconds * 1e6)
        while len(got) < count:
            left = max(0, (deadline - GLib.get_monotonic_time()) / 1e6)
            if not select.select([s], [], [], left)[0]:
                break
            got.append(s.recv(65536))
        return got

    def ours(self, packets):
        """The payloads of our datagrams among @packets, in order."""
        out = []
        for p in packets:
            u = parse_udp4(p)
            if u is not None and u[0] == self.peer and u[1] == PORT:
                out.append(bytes(u[2]))
        return out


class Batch(DeviceTest):
    def test_packets_received_batches(self):
        batches = []

        def on_batch(device, packets, lengths):
            self.assertIsInstance(packets, GLib.Bytes)
            self.assertIsInstance(lengths, list)
            batches.append((packets.get_data(), list(lengths)))

        self.device.connect("packets-received", on_batch)
        payloads = self.queue(300)
        self.assertTrue(self.run_until(
            lambda: len(self.ours(p for d, ls in batches for p in split(d, ls))) >= 300),
            f"not all 300 datagrams arrived: {[len(ls) for _, ls in batches]}")

        for data, lengths in batches:
            self.assertGreater(len(lengths), 0)
            self.assertLessEqual(len(lengths), BATCH_MAX)
            self.assertEqual(sum(lengths), len(data))
            self.assertTrue(all(n > 0 for n in lengths), lengths)
        # 300 waiting packets cannot fit one wake-up.
        self.assertGreaterEqual(len(batches), 2, [len(ls) for _, ls in batches])
        got = self.ours(p for d, ls in batches for p in split(d, ls))
        self.assertEqual(got, payloads)

    def test_both_signals_see_every_packet(self):
        singles = []
        batched = []
        order = []

        def on_packet(device, packet):
            singles.append(packet.get_data())
            order.append("one")

        def on_batch(device, packets, lengths):
            batched.extend(split(packets.get_data(), lengths))
            order.append(("many", len(lengths)))

        self.device.connect("packet-received", on_packet)
        self.device.connect("packets-received", on_batch)
        payloads = self.queue(100)
        self.assertTrue(self.run_until(lambda: len(self.ours(batched)) >= 100
                                       and len(self.ours(singles)) >= 100))
        self.assertEqual(singles, batched)
        self.assertEqual(self.ours(singles), payloads)
        # Each batch comes after the ::packet-received of its packets.
        pending = 0
        for entry in order:
            if entry == "one":
                pending += 1
            else:
                self.assertEqual(entry[1], pending, order)
                pending = 0
        self.assertEqual(pending, 0)

    def test_send_many_delivers(self):
        s = self.udp_socket((self.local, PORT))
        payloads = [b"many %02d" % i + bytes(i * 13) for i in range(40)]
        packets = [udp4(self.peer, self.local, 4000 + i, PORT, p, ident=i)
                   for i, p in enumerate(payloads)]
        # A count, as Gio.Socket.send_messages() returns.
        self.assertEqual(self.device.send_many(b"".join(packets), [len(p) for p in packets]), 40)
        self.assertEqual(self.receive(s, 41, 1.0), payloads)

    def test_send_many_bytes(self):
        """A GLib.Bytes (a slice of one too, without a copy), or what the
        override takes: bytes, bytearray, memoryview; the same count and
        errors as send_many()."""
        s = self.udp_socket((self.local, PORT))
        payloads = [b"bytes %02d" % i for i in range(12)]
        packets = [udp4(self.peer, self.local, 4000 + i, PORT, p, ident=i)
                   for i, p in enumerate(payloads)]
        lengths = [len(p) for p in packets]
        whole = GLib.Bytes.new(b"".join(packets))
        head = GLib.Bytes.new_from_bytes(whole, 0, sum(lengths[:3]))
        self.assertEqual(self.device.send_many_bytes(head, lengths[:3]), 3)
        tail = GLib.Bytes.new_from_bytes(whole, sum(lengths[:3]), sum(lengths[3:6]))
        self.assertEqual(self.device.send_many_bytes(tail, lengths[3:6]), 3)
        self.assertEqual(self.device.send_many_bytes(b"".join(packets[6:8]), lengths[6:8]), 2)
        self.assertEqual(self.device.send_many_bytes(bytearray(b"".join(packets[8:10])),
                                                     lengths[8:10]), 2)
        self.assertEqual(self.device.send_many_bytes(memoryview(b"".join(packets[10:])),
                                                     lengths[10:]), 2)
        self.assertEqual(self.receive(s, 13, 1.0), payloads)
        self.assertEqual(self.device.send_many_bytes(None, []), 0)
        with self.assertRaises(GLib.Error) as caught:
            self.device.send_many_bytes(whole, lengths[:2])
        assert_io_error(self, caught.exception, IOError.INVALID_ARGUMENT)
        self.assertIn(f"“{self.device.get_name()}”", caught.exception.message)
        with self.assertRaisesRegex(TypeError, "bytes-like object.*not str"):
            self.device.send_many_bytes("text", [4])
        self.device.close()
        with self.assertRaises(GLib.Error) as caught:
            self.device.send_many_bytes(whole, lengths)
        assert_io_error(self, caught.exception, IOError.CLOSED)

    def test_send_many_empty(self):
        self.assertEqual(self.device.send_many(b"", []), 0)

    def test_send_many_lengths_mismatch(self):
        s = self.udp_socket((self.local, PORT))
        packets = [udp4(self.peer, self.local, 4000, PORT, b"x%d" % i) for i in range(3)]
        data = b"".join(packets)
        for lengths in ([len(p) for p in packets[:2]],        # one missing
                        [len(p) for p in packets] + [1],      # one too many
                        [len(packets[0]) + 1, len(packets[1]) - 1, len(packets[2]) + 1],
                        []):
            with self.subTest(lengths=lengths):
                with self.assertRaises(GLib.Error) as caught:
                    self.device.send_many(data, lengths)
                assert_io_error(self, caught.exception, IOError.INVALID_ARGUMENT)
        self.assertEqual(self.receive(s, 1, 0.3), [], "something was sent")

    def test_send_many_bad_packet_in_the_middle(self):
        s = self.udp_socket((self.local, PORT))
        packets = [udp4(self.peer, self.local, 4000, PORT, b"p%d" % i) for i in range(5)]
        packets[2] = b"\x00" * len(packets[2])   # neither IPv4 nor IPv6
        data, lengths = b"".join(packets), [len(p) for p in packets]
        # The count of those that went, no exception; the call that starts
        # with the bad packet raises, and sends nothing.
        self.assertEqual(self.device.send_many(data, lengths), 2)
        with self.assertRaises(GLib.Error) as caught:
            self.device.send_many(data[sum(lengths[:2]):], lengths[2:])
        assert_io_error(self, caught.exception, IOError.INVALID_DATA)
        self.assertEqual(self.receive(s, 5, 1.0), [b"p0", b"p1"])

    def test_send_many_after_close(self):
        packet = udp4(self.peer, self.local, 4000, PORT, b"late")
        self.device.close()
        with self.assertRaises(GLib.Error) as caught:
            self.device.send_many(packet * 2, [len(packet)] * 2)
        assert_io_error(self, caught.exception, IOError.CLOSED)
        with self.assertRaises(GLib.Error) as caught:
            self.device.send_many(b"", [])
        assert_io_error(self, caught.exception, IOError.CLOSED)


class Example(DeviceTest):
    """examples/echo.py's batch helpers, the code its handler runs."""

    def setUp(self):
        super().setUp()
        self.echo = tuntaptest.load_example()

    def test_send_many_carries_on_past_a_bad_packet(self):
        s = self.udp_socket((self.local, PORT))
        packets = [udp4(self.peer, self.local, 4000, PORT, b"p%d" % i) for i in range(6)]
        packets[1] = b"\x00" * len(packets[1])
        packets[4] = b"\x70" * len(packets[4])
        sent, errors = self.echo.send_many(self.device, b"".join(packets),
                                           [len(p) for p in packets])
        self.assertEqual(sent, 4)
        self.assertEqual(len(errors), 2)
        for e in errors:
            assert_io_error(self, e, IOError.INVALID_DATA)
        self.assertEqual(self.receive(s, 6, 1.0), [b"p0", b"p2", b"p3", b"p5"])

    def test_send_many_refused_as_a_whole(self):
        sent, errors = self.echo.send_many(self.device, b"\x45" * 30, [20])
        self.assertEqual(sent, 0)
        self.assertEqual(len(errors), 1)
        assert_io_error(self, errors[0], IOError.INVALID_ARGUMENT)

    def test_reflect_batch_through_the_kernel(self):
        # The echo's own loop: datagrams to the peer come back reflected,
        # from the peer, to the socket that sent them.
        s = self.udp_socket((self.local, 0))
        received = []

        def on_batch(device, packets, lengths):
            data, out_lengths = self.echo.reflect_batch(packets.get_data(), lengths, False)
            received.append(len(lengths))
            if out_lengths:
                self.echo.send_many(device, data, out_lengths)

        self.device.connect("packets-received", on_batch)
        payloads = [b"echo %03d" % i for i in range(300)]
        for p in payloads:
            s.sendto(p, (self.peer, PORT))
        got = []
        self.assertTrue(self.run_until(lambda: got.extend(self.receive(s, 300, 0)) or
                                       len(got) >= 300), f"{len(got)} of 300 came back")
        self.assertEqual(got, payloads)
        self.assertGreaterEqual(len(received), 2)
        self.assertGreaterEqual(sum(received), 300)   # and whatever IPv6 sends


if __name__ == "__main__":
    tuntaptest.main()
