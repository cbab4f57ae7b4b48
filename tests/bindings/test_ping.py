#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A real `ping -c 3` answered from Python: the kernel routes the echo
# requests into a TunTap.Device, examples/echo.py's reflect() turns them
# into replies in the ::packet-received handler, and device.send() hands
# them back, all while ping runs as a Gio.Subprocess and the main loop
# spins. TUN over IPv4 and IPv6; TAP over IPv4 (ARP answered) and IPv6
# (neighbour solicitation answered). Runs under `unshare -n`.

import os
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, TunTap, ip  # noqa: E402


class Ping(unittest.TestCase):
    def setUp(self):
        self.echo = tuntaptest.load_example()

    def ping_through(self, device, tap, addresses, target):
        """Answers `ping -c 3 target` with the example's reply logic;
        returns the lines describing what the device received."""
        echo = self.echo
        name = device.get_name()
        lines = []
        answered = []

        def on_packet(device, packet):
            self.assertIsInstance(packet, GLib.Bytes)
            data = packet.get_data()
            lines.append(echo.describe(data, tap))
            buf = bytearray(data)
            if echo.reflect(buf, tap):
                device.send(bytes(buf))
                answered.append(echo.describe(buf, tap))

        device.connect("packet-received", on_packet)
        for address in addresses:
            ip("addr", "add", *address.split(), "dev", name)
        ip("link", "set", name, "up")

        before = tuntaptest.snmp()
        loop = GLib.MainLoop()
        result = {}

        def on_done(proc, res):
            ok, out, _ = proc.communicate_utf8_finish(res)
            result["out"] = out
            result["status"] = proc.get_exit_status()
            loop.quit()

        proc = Gio.Subprocess.new(["ping", "-n", "-c", "3", "-W", "2", "-i", "0.2", target],
                                  Gio.SubprocessFlags.STDOUT_PIPE
                                  | Gio.SubprocessFlags.STDERR_MERGE)
        proc.communicate_utf8_async(None, None, on_done)
        if not tuntaptest.run_loop(loop, 15):
            proc.force_exit()
            self.fail(f"ping {target} did not finish within 15 s")

        self.assertEqual(result["status"], 0, result["out"])
        self.assertIn("3 packets transmitted, 3 received", result["out"])
        # The kernel took our replies as valid ones, checksums included.
        after = tuntaptest.snmp()
        v6 = ":" in target
        for counter, expected in ((f"{'Icmp6' if v6 else 'Icmp'}InCsumErrors", 0),
                                  ("Icmp6InEchoReplies" if v6 else "IcmpInEchoReps", 3)):
            self.assertEqual(after[counter] - before[counter], expected, counter)
        device.close()
        return lines, answered

    def count(self, lines, text):
        return sum(1 for line in lines if line.endswith(text))

    def test_tun_ipv4(self):
        device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        lines, answered = self.ping_through(device, False, ["192.0.2.1 peer 192.0.2.2"],
                                            "192.0.2.2")
        self.assertEqual(self.count(lines, "84 bytes IPv4 ICMP 192.0.2.1 > 192.0.2.2 type 8"), 3)
        self.assertEqual(self.count(answered, "IPv4 ICMP 192.0.2.2 > 192.0.2.1 type 0"), 3)

    def test_tun_ipv6(self):
        device = TunTap.Device(name="pyping%d", mode=TunTap.Mode.TUN)
        device.init(None)
        # With a TUN, an IPv6 peer address makes no route: use a prefix.
        lines, answered = self.ping_through(device, False, ["2001:db8::1/64 nodad"],
                                            "2001:db8::2")
        self.assertEqual(self.count(lines, "IPv6 ICMPv6 2001:db8::1 > 2001:db8::2 type 128"), 3)
        self.assertEqual(self.count(answered, "IPv6 ICMPv6 2001:db8::2 > 2001:db8::1 type 129"), 3)

    def test_tap_ipv4(self):
        device = TunTap.Device(name="pytap%d", mode=TunTap.Mode.TAP)
        device.init(None)
        lines, answered = self.ping_through(device, True, ["198.51.100.1/24"], "198.51.100.2")
        self.assertGreaterEqual(self.count(answered, "ARP reply 198.51.100.2 > 198.51.100.1"), 1)
        self.assertEqual(self.count(lines, "IPv4 ICMP 198.51.100.1 > 198.51.100.2 type 8"), 3)
        self.assertEqual(self.count(answered, "IPv4 ICMP 198.51.100.2 > 198.51.100.1 type 0"), 3)

    def test_tap_ipv6(self):
        device = TunTap.Device.new("tap%d", TunTap.Mode.TAP)
        lines, answered = self.ping_through(device, True, ["2001:db8:1::1/64 nodad"],
                                            "2001:db8:1::2")
        self.assertGreaterEqual(
            self.count(answered, "IPv6 ICMPv6 2001:db8:1::2 > 2001:db8:1::1 type 136"), 1)
        self.assertEqual(self.count(lines, "IPv6 ICMPv6 2001:db8:1::1 > 2001:db8:1::2 type 128"), 3)
        self.assertEqual(
            self.count(answered, "IPv6 ICMPv6 2001:db8:1::2 > 2001:db8:1::1 type 129"), 3)


if __name__ == "__main__":
    tuntaptest.main()
