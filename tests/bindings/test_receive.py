#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Backpressure and the pull receive from Python: the `receiving` property
# (paused, the device reads nothing and the kernel's queue drops; resumed,
# what the queue kept arrives) and receive_async()/receive_finish() with
# each of its rules, in callback style (PyGObject 3.42 has no awaitable
# async calls). Runs under `unshare -n`.

import os
import socket
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, TunTap, assert_io_error  # noqa: E402

IOError = Gio.IOErrorEnum
PORT = 4400
QUEUE_LEN = 16
_pair = [0]


def tx_dropped(name):
    """The interface's TX dropped counter, from this namespace's /proc/net/dev."""
    with open("/proc/net/dev") as f:
        for line in f:
            ifname, _, counters = line.partition(":")
            if ifname.strip() == name:
                return int(counters.split()[11])
    raise AssertionError(f"{name} not in /proc/net/dev")


def datagrams(data, lengths):
    """The payloads of the test's UDP datagrams in a batch."""
    out, o = [], 0
    for n in lengths:
        p = data[o:o + n]
        o += n
        if len(p) >= 28 and p[0] == 0x45 and p[9] == 17 and (p[22] << 8 | p[23]) == PORT:
            out.append(bytes(p[28:]))
    return out


class ReceiveTest(unittest.TestCase):
    def setUp(self):
        _pair[0] += 1
        self.local, self.peer = f"192.0.2.{4 * _pair[0] + 1}", f"192.0.2.{4 * _pair[0] + 2}"
        self.device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        self.name = self.device.get_name()
        # No IPv6 (no router solicitation in a receive meant to stay
        # pending), and a short queue so that drops show quickly.
        with open(f"/proc/sys/net/ipv6/conf/{self.name}/disable_ipv6", "w") as f:
            f.write("1")
        tuntaptest.ip("link", "set", self.name, "txqueuelen", str(QUEUE_LEN))
        self.device.add_address_from_string(self.local, self.peer)
        self.device.set_up(True)

    def tearDown(self):
        self.device.close()

    def send(self, count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(count):
                s.sendto(b"d%d" % i, (self.peer, PORT))

    def spin(self, seconds):
        tuntaptest.run_until(lambda: False, seconds)

    def run_until(self, done, seconds=5):
        return tuntaptest.run_until(done, seconds)

    def pull(self, cancellable=None):
        """Starts a receive; returns a dict the callback fills."""
        result = {}

        def on_received(device, res):
            try:
                data, lengths = device.receive_finish(res)
                result["packets"] = datagrams(data.get_data(), lengths)
            except GLib.Error as e:
                result["error"] = e

        self.device.receive_async(cancellable, on_received)
        return result

    # ---- receiving -------------------------------------------------------

    def test_paused_reads_nothing_then_resumes(self):
        got = []
        self.device.connect("packets-received",
                            lambda d, data, lengths: got.extend(datagrams(data.get_data(), lengths)))
        notified = []
        self.device.connect("notify::receiving", lambda *a: notified.append(True))
        self.assertTrue(self.device.props.receiving)
        self.device.props.receiving = False
        self.assertEqual(len(notified), 1)
        dropped = tx_dropped(self.name)
        self.send(4 * QUEUE_LEN)
        self.spin(0.3)
        self.assertEqual(got, [])
        self.assertGreaterEqual(tx_dropped(self.name) - dropped, 3 * QUEUE_LEN)

        self.device.set_receiving(True)
        self.assertTrue(self.run_until(lambda: got))
        self.spin(0.1)
        self.assertLessEqual(len(got), QUEUE_LEN)
        self.assertEqual(got, [b"d%d" % i for i in range(len(got))])

    def test_pause_from_handler(self):
        got = []

        def on_packet(device, packet):
            got.extend(datagrams(packet.get_data(), [packet.get_size()]))
            if len(got) == 1:
                device.props.receiving = False

        self.device.connect("packet-received", on_packet)
        self.send(8)
        self.spin(0.3)
        self.assertEqual(got, [b"d0"])
        self.device.props.receiving = True
        self.assertTrue(self.run_until(lambda: len(got) == 8))

    # ---- receive_async ---------------------------------------------------

    def test_receive_takes_the_packets(self):
        signalled = []
        self.device.connect("packets-received",
                            lambda d, data, lengths: signalled.extend(datagrams(data.get_data(), lengths)))
        self.device.props.receiving = False
        self.send(3)
        result = self.pull()
        self.device.props.receiving = True
        self.assertTrue(self.run_until(lambda: result))
        self.assertEqual(result.get("packets"), [b"d0", b"d1", b"d2"])
        self.assertEqual(signalled, [])

    def test_close_completes_with_closed(self):
        result = self.pull()
        self.spin(0.05)
        self.assertEqual(result, {})
        self.device.close()
        self.assertTrue(self.run_until(lambda: result))
        assert_io_error(self, result["error"], IOError.CLOSED)

    def test_deletion_completes_with_no_such_device(self):
        result = self.pull()
        tuntaptest.ip("link", "del", self.name)
        self.assertTrue(self.run_until(lambda: result))
        assert_io_error(self, result["error"], IOError.NO_SUCH_DEVICE)

    def test_cancel_consumes_nothing(self):
        self.device.props.receiving = False
        self.send(2)
        cancellable = Gio.Cancellable()
        result = self.pull(cancellable)
        cancellable.cancel()
        self.assertTrue(self.run_until(lambda: result))
        assert_io_error(self, result["error"], IOError.CANCELLED)
        self.device.props.receiving = True
        result = self.pull()
        self.assertTrue(self.run_until(lambda: result))
        self.assertEqual(result.get("packets"), [b"d0", b"d1"])

    def test_second_receive_is_pending(self):
        first = self.pull()
        second = self.pull()
        self.assertTrue(self.run_until(lambda: second))
        assert_io_error(self, second["error"], IOError.PENDING)
        self.send(1)
        self.assertTrue(self.run_until(lambda: first))
        self.assertEqual(first.get("packets"), [b"d0"])


if __name__ == "__main__":
    tuntaptest.main()
