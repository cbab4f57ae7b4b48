// SPDX-License-Identifier: LGPL-2.1-or-later
//
// minimal.js: the smallest useful tuntap-glib program, in JavaScript. It
// creates a TUN device, gives it 192.0.2.1 with the point-to-point peer
// 192.0.2.2, brings it up, prints every packet the kernel routes into it and
// writes it back. `ping 192.0.2.2` makes packets arrive. Needs
// CAP_NET_ADMIN: try it in a namespace of its own, `unshare -rn gjs -m
// minimal.js`; from the build tree, `meson devenv -C _build gjs -m
// $PWD/examples/minimal.js`. examples/echo.js is the complete program.
//
// Packets come in batches (::packets-received), never one signal per
// packet: gjs 1.74 refuses callbacks while its garbage collector sweeps, and
// one call per packet under load makes it sweep often enough to lose
// packets and timers.

import GLib from 'gi://GLib';
import TunTap from 'gi://TunTap?version=1.0';

const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
device.add_address_from_string('192.0.2.1', '192.0.2.2');
device.set_up(true);
// One call per main-loop wake-up with every packet read in it.
device.connect('packets-received', (dev, packets, lengths) => {
    const data = packets.toArray();   // a view of the GLib.Bytes, no copy
    for (let i = 0, o = 0; i < lengths.length; o += lengths[i++])
        print(`${dev.get_name()}: ${lengths[i]} bytes, version ${data[o] >> 4}`);
    try {
        dev.send_many(data, lengths);
    } catch (e) {
        printerr(e.message);
    }
});
new GLib.MainLoop(null, false).run();
