#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# minimal.py: the smallest useful tuntap-glib program, in Python. It creates
# a TUN device, gives it 192.0.2.1 with the point-to-point peer 192.0.2.2,
# brings it up, prints every packet the kernel routes into it and writes it
# back. `ping 192.0.2.2` makes packets arrive. Needs CAP_NET_ADMIN: try it
# in a namespace of its own, `unshare -rn /usr/bin/python3 minimal.py`;
# from the build tree, `meson devenv -C _build /usr/bin/python3
# $PWD/examples/minimal.py`. examples/echo.py is the complete program.

import gi

gi.require_version("TunTap", "1.0")
from gi.repository import GLib, TunTap  # noqa: E402


def on_packet(device, packet):
    print(f"{device.get_name()}: {packet.get_size()} bytes", flush=True)
    try:
        device.send_bytes(packet)
    except GLib.Error as e:
        print(e.message)


device = TunTap.Device.new("tun%d", TunTap.Mode.TUN)
device.add_address_from_string("192.0.2.1", "192.0.2.2")
device.set_up(True)
device.connect("packet-received", on_packet)
GLib.MainLoop().run()
