#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The relay of the offload benchmark in Python (see bench-relay.c):
#   relay.py [--offload] NETNS-PATH
import os
import signal
import sys

import gi
gi.require_version("TunTap", "1.0")
from gi.repository import GLib, TunTap  # noqa: E402

offload = "--offload" in sys.argv
netns = os.open(sys.argv[-1], os.O_RDONLY | os.O_CLOEXEC)


def make(name, address, peer, **props):
    device = TunTap.Device(name=name, mode=TunTap.Mode.TUN, offload=offload, **props)
    device.init(None)
    device.add_address_from_string(address, peer)
    device.set_up(True)
    return device


a = make("rla", "192.0.2.1", "192.0.2.2")
b = make("rlb", "192.0.2.2", "192.0.2.1", netns_fd=netns)
os.close(netns)


def relay(to):
    def on_batch(device, packets, lengths):
        try:
            # The GLib.Bytes itself: no copy, and the library's own packets
            # stay known (their checksums are not verified again).
            to.send_many_bytes(packets, lengths)
        except GLib.Error:
            pass
    return on_batch


a.connect("packets-received", relay(b))
b.connect("packets-received", relay(a))
loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
print("ready", flush=True)
loop.run()
print("A:", a.get_offload_counters(), "B:", b.get_offload_counters(), flush=True)
