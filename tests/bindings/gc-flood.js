// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The gjs side of gc-flood.sh: gjs -m gc-flood.js one|batch PACKETS
//
// Makes a TUN device (192.0.2.1, peer 192.0.2.2), prints its name, floods
// it with 1400-byte UDP datagrams to 192.0.2.2:9 from a Python child (for
// 20 s at most), and counts the packets its handler sees, on ::packet-received
// (one) or ::packets-received (batch). The handler does what a real one
// does: copies the packet out of its GLib.Bytes and makes new GLib.Bytes
// (two per packet, or two per batch), so garbage piles up as in a program.
// When PACKETS have been handled the run ends and prints one line of
// key=value. A
// 100 ms ticker runs throughout; whether it still ticks afterwards is
// reported.
//
// When gjs 1.74 refuses the handlers (it does during the sweeping phase of
// its garbage collector) the refusals go to stderr, one Gjs-CRITICAL each,
// and the run may never end: gc-flood.sh counts them and kills it.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';
import System from 'system';

const [mode, target] = System.programArgs.map((a, i) => i ? Number(a) : a);

const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
device.add_address_from_string('192.0.2.1', '192.0.2.2');
device.set_up(true);
const name = device.get_name();
const loop = new GLib.MainLoop(null, false);
let delivered = 0;

// Every packet counts (a router solicitation too); the first byte is read
// as a handler that looks at its packet would.
function count(p, o) {
    if (p[o] !== 0 && ++delivered === target)
        loop.quit();
}

if (mode === 'one') {
    device.connect('packet-received', (dev, packet) => {
        count(packet.get_data(), 0);
    });
} else {
    device.connect('packets-received', (dev, packets, lengths) => {
        const p = packets.toArray();
        for (let i = 0, o = 0; i < lengths.length; o += lengths[i++])
            count(p, o);
    });
}

let ticks = 0;
GLib.timeout_add(GLib.PRIORITY_DEFAULT, 100, () => {
    ticks++;
    return GLib.SOURCE_CONTINUE;
});

const flooder = Gio.Subprocess.new(['/usr/bin/python3', '-c', `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = bytes(1400)
end = time.monotonic() + 20
while time.monotonic() < end:
    for _ in range(100):
        try:
            s.sendto(payload, ("192.0.2.2", 9))
        except OSError:
            pass
`], Gio.SubprocessFlags.NONE);

print(name);
loop.run();
flooder.force_exit();
flooder.wait(null);

// The ticker, unless gjs refused it (then it is gone for good), ticks about
// five times in the next half second.
const ticksBefore = ticks;
const context = GLib.MainContext.default();
const until = GLib.get_monotonic_time() + 500000;
while (GLib.get_monotonic_time() < until) {
    while (context.iteration(false)) {
        // drain
    }
    GLib.usleep(10000);
}

// What the kernel handed to the device: the interface's TX counters.
const [, dev] = GLib.file_get_contents('/proc/net/dev');
const line = new TextDecoder().decode(dev).split('\n')
    .find(l => l.trim().startsWith(`${name}:`));
const fields = line.split(':')[1].trim().split(/\s+/).map(Number);
device.close();
print(`delivered=${delivered} kernel_tx=${fields[9]} ticker_alive=${ticks > ticksBefore}`);
