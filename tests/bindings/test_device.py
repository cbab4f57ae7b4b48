#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# TunTap.Device from Python: construction both ways, in both modes, and the
# GLib.Error codes and the ::closed signal a Python program relies on.
# Runs under `unshare -n`.

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, TunTap, assert_io_error, ip  # noqa: E402


class Construction(unittest.TestCase):
    def check_device(self, device, pattern, mode):
        name = device.get_name()
        self.assertRegex(name, pattern)
        self.assertEqual(device.props.name, name)
        self.assertEqual(device.get_mode(), mode)
        self.assertEqual(device.props.mode, mode)
        self.assertFalse(device.get_packet_info())
        self.assertGreaterEqual(device.get_fd(), 0)
        self.assertFalse(device.is_closed())
        self.assertFalse(device.props.closed)
        self.assertIn(f"{name}:", ip("-o", "link", "show", "dev", name))

        device.close()
        self.assertTrue(device.is_closed())
        self.assertTrue(device.props.closed)
        self.assertEqual(device.get_fd(), -1)

    def test_new_tun(self):
        device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        self.check_device(device, r"^tun\d+$", TunTap.Mode.TUN)

    def test_new_tap(self):
        device = TunTap.Device.new("tap%d", TunTap.Mode.TAP)
        self.check_device(device, r"^tap\d+$", TunTap.Mode.TAP)

    def test_new_default_name(self):
        tun = TunTap.Device.new(None, TunTap.Mode.TUN)
        tap = TunTap.Device.new(None, TunTap.Mode.TAP)
        self.check_device(tun, r"^tun\d+$", TunTap.Mode.TUN)
        self.check_device(tap, r"^tap\d+$", TunTap.Mode.TAP)

    def test_construct_and_init_tun(self):
        device = TunTap.Device(name="pytun%d", mode=TunTap.Mode.TUN)
        self.assertTrue(device.init(None))
        self.check_device(device, r"^pytun\d+$", TunTap.Mode.TUN)

    def test_construct_and_init_tap(self):
        device = TunTap.Device(name="pytap%d", mode=TunTap.Mode.TAP)
        self.assertTrue(device.init(None))
        self.check_device(device, r"^pytap\d+$", TunTap.Mode.TAP)

    def test_offload(self):
        # One property: the kernel's super-packets are split in C.
        device = TunTap.Device(name="pyoff%d", mode=TunTap.Mode.TUN, offload=True)
        self.assertTrue(device.init(None))
        self.assertTrue(device.props.offload)
        self.assertTrue(device.get_offload())
        self.assertTrue(device.props.offloads & TunTap.Offloads.TCP_SEGMENTATION)
        self.assertEqual(device.get_offload_counters(), (0, 0, 0, 0, 0))
        self.assertTrue(device.props.coalesce & TunTap.Coalesce.TCP)
        self.check_device(device, r"^pyoff\d+$", TunTap.Mode.TUN)

        tap = TunTap.Device(name="pyoff%d", mode=TunTap.Mode.TAP, offload=True)
        with self.assertRaises(GLib.Error) as caught:
            tap.init(None)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.NOT_SUPPORTED)

    def test_fixed_name(self):
        # 15 bytes, the longest name Linux takes.
        device = TunTap.Device.new("py-fifteen-byte", TunTap.Mode.TUN)
        self.check_device(device, r"^py-fifteen-byte$", TunTap.Mode.TUN)


class Errors(unittest.TestCase):
    def test_name_too_long(self):
        with self.assertRaises(GLib.Error) as caught:
            TunTap.Device.new("py-sixteen-bytes", TunTap.Mode.TUN)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.INVALID_ARGUMENT)
        self.assertIn("py-sixteen-bytes", caught.exception.message)

        device = TunTap.Device(name="py-sixteen-bytes", mode=TunTap.Mode.TAP)
        with self.assertRaises(GLib.Error) as caught:
            device.init(None)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.INVALID_ARGUMENT)
        self.assertNotIn("py-sixteen-byte", ip("-o", "link", "show"))

    def test_busy(self):
        first = TunTap.Device.new("pybusy0", TunTap.Mode.TUN)
        with self.assertRaises(GLib.Error) as caught:
            TunTap.Device.new("pybusy0", TunTap.Mode.TUN)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.BUSY)
        self.assertIn("pybusy0", caught.exception.message)

        second = TunTap.Device(name="pybusy0", mode=TunTap.Mode.TUN)
        with self.assertRaises(GLib.Error) as caught:
            second.init(None)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.BUSY)
        self.assertFalse(first.is_closed())
        first.close()

    def test_send_truncated_ip_header(self):
        # The kernel would take these and the IP layer drop them unseen:
        # the library refuses them, whatever the link's state.
        device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        name = device.get_name()
        good = bytes.fromhex("450000140000000040fdf5e9c0000201c0000202")
        cases = [
            (good[:10], "at least 20 bytes"),
            (good[:1], "1 byte in all"),
            (bytes.fromhex("450000280000000040fdf5d5c0000201c0000202"), "total length"),
            (good[:10] + b"\0\0" + good[12:], "checksum"),
            (b"\x60" + bytes(38), "40-byte header"),
        ]
        for packet, says in cases:
            with self.subTest(says=says):
                with self.assertRaises(GLib.Error) as caught:
                    device.send(packet)
                assert_io_error(self, caught.exception, Gio.IOErrorEnum.INVALID_DATA)
                self.assertIn(f"“{name}”", caught.exception.message)
                self.assertIn(says, caught.exception.message)
        device.close()

    def test_send_after_close(self):
        device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        name = device.get_name()
        ip("addr", "add", "192.0.2.1", "peer", "192.0.2.2", "dev", name)
        ip("link", "set", name, "up")
        # A valid IPv4 header (checksum included): a wrong one is refused.
        packet = bytes.fromhex("450000140000000040fdf5e9c0000201c0000202")
        self.assertTrue(device.send(packet))
        self.assertTrue(device.send_bytes(GLib.Bytes.new(packet)))
        # The override: what a Python program has in hand works as well.
        self.assertTrue(device.send_bytes(packet))
        self.assertTrue(device.send_bytes(bytearray(packet)))
        self.assertTrue(device.send_bytes(memoryview(b"xx" + packet)[2:]))
        with self.assertRaisesRegex(TypeError, "bytes-like object.*not str"):
            device.send_bytes(packet.decode("latin-1"))

        device.close()
        with self.assertRaises(GLib.Error) as caught:
            device.send(packet)
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.CLOSED)
        with self.assertRaises(GLib.Error) as caught:
            device.send_bytes(GLib.Bytes.new(packet))
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.CLOSED)


class Closed(unittest.TestCase):
    def test_closed_by_close(self):
        device = TunTap.Device.new("tap%d", TunTap.Mode.TAP)
        errors = []
        device.connect("closed", lambda d, error: errors.append(error))
        device.close()
        device.close()
        self.assertEqual(errors, [None])

    def test_closed_after_link_deleted(self):
        device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
        name = device.get_name()
        loop = GLib.MainLoop()
        errors = []
        notified = []

        def on_closed(d, error):
            errors.append(error)
            loop.quit()

        device.connect("closed", on_closed)
        device.connect("notify::closed", lambda d, pspec: notified.append(d.props.closed))
        ip("link", "del", name)

        self.assertTrue(tuntaptest.run_loop(loop, 5), "no ::closed within 5 s")
        self.assertEqual(len(errors), 1)
        self.assertIsNotNone(errors[0])
        assert_io_error(self, errors[0], Gio.IOErrorEnum.NO_SUCH_DEVICE)
        self.assertIn(name, errors[0].message)
        self.assertEqual(notified, [True])
        self.assertTrue(device.is_closed())

        with self.assertRaises(GLib.Error) as caught:
            # A valid IPv4 header: the device's state decides, not the data.
            device.send(bytes.fromhex("45000014000000004011f6d5c0000202c0000201"))
        assert_io_error(self, caught.exception, Gio.IOErrorEnum.CLOSED)
        device.close()
        self.assertEqual(len(errors), 1)
        self.assertFalse(re.search(rf"\b{name}\b", ip("-o", "link", "show")))


if __name__ == "__main__":
    tuntaptest.main()
