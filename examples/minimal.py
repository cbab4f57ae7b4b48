#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# minimal.py: the smallest useful tuntap-glib program, in Python. It creates
# a TUN device, gives it 192.0.2.1 with the point-to-point peer 192.0.2.2,
# brings it up, prints every packet the kernel routes into it and writes it
# back. `ping 192.0.2.2` makes packets arrive. Needs CAP_NET_ADMIN, and
# changes the network namespace it runs in: try it in one of its own,
# `unshare -n /usr/bin/python3 minimal.py` as root (`unshare -rn` as a
# user); with any argument (--help) it only says so. From the build tree, `meson devenv -C _build /usr/bin/python3
# $PWD/examples/minimal.py`. examples/echo.py is the complete program.

import sys

import gi

gi.require_version("TunTap", "1.0")
from gi.repository import GLib, TunTap  # noqa: E402


def on_packet(device, packet):
    print(f"{device.get_name()}: {packet.get_size()} bytes", flush=True)
    try:
        device.send_bytes(packet)
    except GLib.Error as e:
        print(e.message)


if len(sys.argv) > 1:  # --help or anything else: create nothing
    print(f"Usage: {sys.argv[0]}\nCreates a TUN device with 192.0.2.1 peer 192.0.2.2 and echoes every\n"
          f"packet. Run it in a network namespace of its own: unshare -n {sys.executable} {sys.argv[0]}")
    sys.exit(0 if sys.argv[1] == "--help" else 2)

device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
device.add_address_from_string("192.0.2.1", "192.0.2.2")
device.set_up(True)
device.connect("packet-received", on_packet)
GLib.MainLoop().run()
