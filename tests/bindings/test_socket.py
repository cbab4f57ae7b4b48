#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# TunTap.socket_receive_many() from Python: every datagram waiting on a UDP
# socket in one call, as a GLib.Bytes and a list of lengths, which
# send_many_bytes() writes into a device as they are; a GRO run cut back
# into its datagrams; WOULD_BLOCK when nothing waits. And examples/tunnel.py
# on both sides of that call: deliver() past a refused packet, empty
# datagrams left out, and what its receiving side does with each error.
# Runs under `unshare -n` (loopback and a TUN device of its own namespace).

import os
import socket
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, TunTap, assert_io_error  # noqa: E402
from test_batch import udp4  # noqa: E402

SOL_UDP, UDP_SEGMENT, UDP_GRO = 17, 103, 104
PORT = 4700


def gsocket_pair():
    """A Gio.Socket receiving on loopback, connected to a Python socket
    that sends to it."""
    receiver = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM,
                              Gio.SocketProtocol.UDP)
    receiver.bind(Gio.InetSocketAddress.new_from_string("127.0.0.1", 0), False)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    here = receiver.get_local_address()
    sender.connect(("127.0.0.1", here.get_port()))
    receiver.connect(Gio.InetSocketAddress.new_from_string("127.0.0.1",
                                                           sender.getsockname()[1]), None)
    return receiver, sender


def device_and_sink():
    """A TUN device at 192.0.2.1 (peer 192.0.2.2), and a UDP socket bound
    to 192.0.2.1:PORT that the packets written into it reach."""
    device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
    device.add_address_from_string("192.0.2.1", "192.0.2.2")
    device.set_up(True)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("192.0.2.1", PORT))
    sink.settimeout(2)
    return device, sink


class SocketTest(unittest.TestCase):
    def setUp(self):
        self.receiver, self.sender = gsocket_pair()

    def tearDown(self):
        self.receiver.close()
        self.sender.close()

    def test_datagrams_in_one_call(self):
        sent = [b"", b"x", bytes(range(256)) * 5, os.urandom(1400), os.urandom(65507)]
        for d in sent:
            self.sender.send(d)
        data, lengths = TunTap.socket_receive_many(self.receiver, 1 << 20, None)
        self.assertIsInstance(data, GLib.Bytes)
        self.assertEqual(lengths, [len(d) for d in sent])
        self.assertEqual(data.get_data(), b"".join(sent))

    def test_would_block(self):
        with self.assertRaises(GLib.Error) as caught:
            TunTap.socket_receive_many(self.receiver, 4096, None)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.WOULD_BLOCK)
        self.assertIn("127.0.0.1", caught.exception.message)

    def test_max_bytes(self):
        for i in range(5):
            self.sender.send(bytes([i]) * 1000)
        _, first = TunTap.socket_receive_many(self.receiver, 1500, None)
        _, rest = TunTap.socket_receive_many(self.receiver, 1 << 20, None)
        self.assertEqual((first, rest), ([1000, 1000], [1000, 1000, 1000]))

    def test_gro_run_cut_into_datagrams(self):
        self.receiver.set_option(SOL_UDP, UDP_GRO, 1)
        self.sender.setsockopt(SOL_UDP, UDP_SEGMENT, 1000)
        run = os.urandom(10 * 1000 + 500)
        self.sender.send(run)
        data, lengths = TunTap.socket_receive_many(self.receiver, 1 << 20, None)
        self.assertEqual(lengths, [1000] * 10 + [500])
        self.assertEqual(data.get_data(), run)

    def test_into_a_device_as_it_is(self):
        """IP packets carried one per datagram go into a TUN device with
        the batch as it came: each reaches the socket it was sent to."""
        device, sink = device_and_sink()
        try:
            for i in range(20):
                self.sender.send(udp4("192.0.2.2", "192.0.2.1", 9, PORT, b"p%d" % i, ident=i))
            data, lengths = TunTap.socket_receive_many(self.receiver, 1 << 20, None)
            self.assertEqual(len(lengths), 20)
            self.assertEqual(device.send_many_bytes(data, lengths), 20)
            self.assertEqual([sink.recv(100) for _ in range(20)],
                             [b"p%d" % i for i in range(20)])
        finally:
            sink.close()
            device.close()

    def test_tunnel_example_delivers_past_a_refused_packet(self):
        """examples/tunnel.py writes a batch from the peer into its device;
        a packet the device refuses is counted, and the rest still go."""
        tunnel_py = tuntaptest.load_example("tunnel")
        device, sink = device_and_sink()
        try:
            tunnel = tunnel_py.Tunnel(device, self.receiver, True, False)
            good = [udp4("192.0.2.2", "192.0.2.1", 9, PORT, b"g%d" % i, ident=i)
                    for i in range(3)]
            bad = bytearray(good[1])
            bad[10] ^= 0xff   # the IPv4 header checksum
            packets = [good[0], bytes(bad), good[1], bytes(bad), good[2]]
            tunnel.deliver(GLib.Bytes.new(b"".join(packets)), [len(p) for p in packets])
            self.assertEqual((tunnel.delivered, tunnel.dropped_to_device), (3, 2))
            self.assertEqual([sink.recv(100) for _ in range(3)], [b"g0", b"g1", b"g2"])
        finally:
            sink.close()
            device.close()

    def test_tunnel_example_leaves_empty_datagrams_out(self):
        """examples/tunnel.py's receiving side: an empty datagram carries
        no packet, so it is neither written nor counted as refused."""
        tunnel_py = tuntaptest.load_example("tunnel")
        device, sink = device_and_sink()
        try:
            tunnel = tunnel_py.Tunnel(device, self.receiver, True, False)
            for i in range(3):
                self.sender.send(udp4("192.0.2.2", "192.0.2.1", 9, PORT, b"e%d" % i, ident=i))
                self.sender.send(b"")
            self.assertEqual(tunnel.on_readable(None, None), GLib.SOURCE_CONTINUE)
            self.assertEqual((tunnel.delivered, tunnel.dropped_to_device,
                              tunnel.from_peer_packets), (3, 0, 3))
            self.assertEqual([sink.recv(100) for _ in range(3)], [b"e0", b"e1", b"e2"])
        finally:
            sink.close()
            device.close()

    def test_tunnel_example_receive_errors(self):
        """examples/tunnel.py's receiving side woken with nothing waiting,
        after the peer went (CONNECTION_REFUSED, which the call clears) and
        on a closed socket: nothing counted, only the last said, once, and
        the watch stays each time."""
        tunnel_py = tuntaptest.load_example("tunnel")
        device, sink = device_and_sink()
        try:
            tunnel = tunnel_py.Tunnel(device, self.receiver, False, False)

            def counters():
                return (tunnel.from_peer_receives, tunnel.from_peer_packets,
                        tunnel.delivered, tunnel.dropped_truncated, sorted(tunnel.warned))
            none = (0, 0, 0, 0, [])
            self.assertEqual(tunnel.on_readable(None, None), GLib.SOURCE_CONTINUE)
            self.assertEqual(counters(), none)

            self.sender.close()
            self.receiver.send(b"to nobody", None)
            self.assertTrue(self.receiver.condition_timed_wait(GLib.IOCondition.ERR,
                                                               2000000, None))
            self.assertEqual(tunnel.on_readable(None, None), GLib.SOURCE_CONTINUE)
            self.assertEqual(counters(), none)
            with self.assertRaises(GLib.Error) as caught:
                TunTap.socket_receive_many(self.receiver, 0, None)
            assert_io_error(self, caught.exception, Gio.IOErrorEnum.WOULD_BLOCK)

            self.receiver.close()
            for _ in range(2):
                self.assertEqual(tunnel.on_readable(None, None), GLib.SOURCE_CONTINUE)
            self.assertEqual(counters(), (0, 0, 0, 0, ["receiving from the peer"]))
        finally:
            sink.close()
            device.close()

    def test_not_udp(self):
        tcp = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM,
                             Gio.SocketProtocol.TCP)
        with self.assertRaises(GLib.Error) as caught:
            TunTap.socket_receive_many(tcp, 4096, None)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.NOT_SUPPORTED)


if __name__ == "__main__":
    tuntaptest.main()
