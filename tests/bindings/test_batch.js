// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The batch path from gjs: ::packets-received hands over every packet of
// one main-loop wake-up as one GLib.Bytes plus an array of lengths, and
// send_many() sends a batch back. Checked through the kernel: datagrams a
// UDP socket sends through the device arrive in consistent batches, and
// packets send_many() writes arrive at a UDP socket. Also the errors, the
// count send_many() returns as the binding sees it, and examples/echo.js's reflectBatch()
// and sendMany() helpers. Runs under `unshare -n`, as `gjs -m test_batch.js`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {reflectBatch, sendMany} from '../../examples/echo.js';
import {assert, assertEqual, assertIOError, assertMatch, run, test} from './harness.js';

const IOError = Gio.IOErrorEnum;
const BATCH_MAX = 256;   // PACKET_BUDGET in src/tun-tap-receive.c
const PORT = 5555;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let pair = 0;

// A device with a fresh address pair per test, up.
function newDevice() {
    pair++;
    const local = `192.0.2.${4 * pair + 1}`, peer = `192.0.2.${4 * pair + 2}`;
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    device.add_address_from_string(local, peer);
    device.set_up(true);
    return {device, local, peer};
}

function checksum(p) {
    let sum = 0;
    for (let i = 0; i + 1 < p.length; i += 2)
        sum += p[i] << 8 | p[i + 1];
    if (p.length & 1)
        sum += p[p.length - 1] << 8;
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >>> 16);
    return ~sum & 0xffff;
}

// An IPv4/UDP datagram with a valid header checksum (UDP checksum 0: none,
// which IPv4 allows).
function udp4(src, dst, sport, dport, payload) {
    const p = new Uint8Array(28 + payload.length);
    const put16 = (o, v) => {
        p[o] = v >> 8;
        p[o + 1] = v & 0xff;
    };
    p[0] = 0x45;
    put16(2, p.length);
    p[6] = 0x40;   // don't fragment
    p[8] = 64;
    p[9] = 17;
    p.set(src.split('.').map(Number), 12);
    p.set(dst.split('.').map(Number), 16);
    put16(10, checksum(p.subarray(0, 20)));
    put16(20, sport);
    put16(22, dport);
    put16(24, 8 + payload.length);
    p.set(payload, 28);
    return p;
}

function concat(arrays) {
    const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
    arrays.reduce((o, a) => (out.set(a, o), o + a.length), 0);
    return out;
}

function split(data, lengths) {
    const packets = [];
    for (let i = 0, o = 0; i < lengths.length; o += lengths[i++])
        packets.push(data.slice(o, o + lengths[i]));
    return packets;
}

// The payloads, as strings, of the IPv4/UDP datagrams to peer:PORT among
// packets (the kernel may send IPv6 router solicitations and the like).
function ours(packets, peer) {
    const dst = peer.split('.').map(Number);
    return packets.filter(p => p.length >= 28 && p[0] === 0x45 && p[9] === 17 &&
        dst.every((b, i) => p[16 + i] === b) && (p[22] << 8 | p[23]) === PORT)
        .map(p => decoder.decode(p.subarray(28)));
}

// A UDP socket, non-blocking, bound to address:port if given.
const SOL_SOCKET = 1, SO_RCVBUF = 8;   // Linux

function udpSocket(address = null, port = 0) {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM,
        Gio.SocketProtocol.UDP);
    // Room for a whole echoed wake-up (256 packets) at once: the default
    // buffer holds exactly 256 small datagrams here, no more.
    socket.set_option(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    if (address !== null)
        socket.bind(Gio.InetSocketAddress.new_from_string(address, port), false);
    socket.set_blocking(false);
    return socket;
}

// Sends count datagrams to peer:PORT, which the kernel routes into the
// device; with no loop running they wait in its queue. Returns the payloads.
function queue(peer, count) {
    const socket = udpSocket();
    const to = Gio.InetSocketAddress.new_from_string(peer, PORT);
    const payloads = [];
    for (let i = 0; i < count; i++) {
        const payload = `batch ${String(i).padStart(3, '0')} ${'.'.repeat(i % 7 * 100)}`;
        socket.send_to(to, encoder.encode(payload), null);
        payloads.push(payload);
    }
    socket.close();
    return payloads;
}

// Up to count datagrams from socket, as strings, waiting at most seconds in
// all. Gio.Socket.receive() is not introspectable in gjs (caller-allocated
// buffer): a datagram socket's fd read(2)s one datagram at a time.
function receive(socket, count, seconds) {
    const stream = Gio.UnixInputStream.new(socket.get_fd(), false);
    const got = [];
    const deadline = GLib.get_monotonic_time() + seconds * 1e6;
    while (got.length < count) {
        const left = Math.max(0, deadline - GLib.get_monotonic_time());
        try {
            socket.condition_timed_wait(GLib.IOCondition.IN, left, null);
        } catch (e) {
            if (e.matches(Gio.io_error_quark(), IOError.TIMED_OUT))
                break;
            throw e;
        }
        got.push(decoder.decode(stream.read_bytes(65536, null).toArray()));
    }
    return got;
}

// Iterates the default context until done() or seconds pass.
function runUntil(done, seconds = 5) {
    const context = GLib.MainContext.default();
    const deadline = GLib.get_monotonic_time() + seconds * 1e6;
    while (!done() && GLib.get_monotonic_time() < deadline) {
        if (!context.iteration(false))
            GLib.usleep(1000);
    }
    return done();
}

test('packets-received: consistent batches of at most 256, several for 300 packets', () => {
    const {device, peer} = newDevice();
    const batches = [];
    let problem = null;
    device.connect('packets-received', (dev, packets, lengths) => {
        try {
            assert(packets instanceof GLib.Bytes, `packets is ${packets}`);
            assert(Array.isArray(lengths), `lengths is ${lengths}`);
            batches.push([packets.toArray().slice(), lengths]);
        } catch (e) {
            problem ??= e;
        }
    });
    const payloads = queue(peer, 300);
    const all = () => batches.flatMap(([data, lengths]) => split(data, lengths));
    const finished = runUntil(() => ours(all(), peer).length >= 300);
    if (problem !== null)
        throw problem;
    assert(finished, `not all 300 datagrams arrived: ${batches.map(([, l]) => l.length)}`);

    for (const [data, lengths] of batches) {
        assert(lengths.length > 0 && lengths.length <= BATCH_MAX, `${lengths.length} in a batch`);
        assertEqual(lengths.reduce((a, b) => a + b, 0), data.length, 'sum of the lengths');
        assert(lengths.every(n => n > 0), `lengths ${lengths}`);
    }
    assert(batches.length >= 2, `${batches.length} batch(es) for 300 packets`);
    assertEqual(JSON.stringify(ours(all(), peer)), JSON.stringify(payloads));
    device.close();
});

test('packet-received and packets-received together both see every packet', () => {
    const {device, peer} = newDevice();
    const singles = [], batched = [], order = [];
    device.connect('packet-received', (dev, packet) => {
        singles.push(packet.toArray().slice());
        order.push(-1);
    });
    device.connect('packets-received', (dev, packets, lengths) => {
        batched.push(...split(packets.toArray(), lengths));
        order.push(lengths.length);
    });
    const payloads = queue(peer, 100);
    assert(runUntil(() => ours(batched, peer).length >= 100 && ours(singles, peer).length >= 100),
        'not every datagram arrived');

    assertEqual(singles.length, batched.length, 'packets seen');
    singles.forEach((p, i) => assertEqual(p.join(), batched[i].join(), `packet ${i}`));
    assertEqual(JSON.stringify(ours(singles, peer)), JSON.stringify(payloads));
    // Each batch comes after the ::packet-received of its packets.
    let pending = 0;
    for (const entry of order) {
        if (entry === -1) {
            pending++;
        } else {
            assertEqual(entry, pending, 'packets in the batch');
            pending = 0;
        }
    }
    assertEqual(pending, 0, 'packets without a batch');
    device.close();
});

test('send_many sends N packets, which arrive at a UDP socket', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, PORT);
    const payloads = Array.from({length: 40}, (_, i) => `many ${i} ${'#'.repeat(i * 13)}`);
    const packets = payloads.map((p, i) => udp4(peer, local, 4000 + i, PORT, encoder.encode(p)));
    // A count, as Gio.Socket.send_messages() returns.
    assertEqual(device.send_many(concat(packets), packets.map(p => p.length)), 40);
    assertEqual(JSON.stringify(receive(socket, 41, 1)), JSON.stringify(payloads));

    // A view into a larger buffer sends just the view.
    const big = concat([new Uint8Array(7), packets[0], packets[1], new Uint8Array(9)]);
    const view = big.subarray(7, 7 + packets[0].length + packets[1].length);
    assertEqual(device.send_many(view, [packets[0].length, packets[1].length]), 2);
    assertEqual(JSON.stringify(receive(socket, 3, 1)), JSON.stringify(payloads.slice(0, 2)));
    assertEqual(device.send_many(new Uint8Array(0), []), 0);
    socket.close();
    device.close();
});

test('send_many_bytes sends from a GLib.Bytes or a slice of one, with send_many\'s count and errors', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, PORT);
    const payloads = Array.from({length: 6}, (_, i) => `bytes ${i}`);
    const packets = payloads.map((p, i) => udp4(peer, local, 4000 + i, PORT, encoder.encode(p)));
    const lengths = packets.map(p => p.length);
    const whole = new GLib.Bytes(concat(packets));
    // Slices share the memory (no copy on either side).
    const first = lengths[0] + lengths[1] + lengths[2];
    assertEqual(device.send_many_bytes(whole.new_from_bytes(0, first), lengths.slice(0, 3)), 3);
    const rest = whole.new_from_bytes(first, whole.get_size() - first);
    assertEqual(device.send_many_bytes(rest, lengths.slice(3)), 3);
    assertEqual(JSON.stringify(receive(socket, 7, 1)), JSON.stringify(payloads));
    try {
        device.send_many_bytes(whole, lengths.slice(1));
        throw new Error('send_many_bytes did not throw');
    } catch (e) {
        assertIOError(e, IOError.INVALID_ARGUMENT);
        assertMatch(e.message, new RegExp(`“${device.get_name()}”`));
    }
    device.close();
    try {
        device.send_many_bytes(whole, lengths);
        throw new Error('send_many_bytes did not throw');
    } catch (e) {
        assertIOError(e, IOError.CLOSED);
    }
    socket.close();
});

test('send_many: lengths that do not add up are INVALID_ARGUMENT, nothing sent', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, PORT);
    const packets = [0, 1, 2].map(i => udp4(peer, local, 4000, PORT, encoder.encode(`x${i}`)));
    const data = concat(packets);
    const n = packets.map(p => p.length);
    for (const lengths of [n.slice(0, 2), [...n, 1], [n[0] + 1, n[1] - 1, n[2] + 1], []]) {
        try {
            device.send_many(data, lengths);
            throw new Error(`send_many(${lengths}) did not throw`);
        } catch (e) {
            assertIOError(e, IOError.INVALID_ARGUMENT);
        }
    }
    assertEqual(receive(socket, 1, 0.3).length, 0, 'datagrams that arrived');
    socket.close();
    device.close();
});

test('send_many: a bad packet in the middle stops the count, the next call says why', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, PORT);
    const packets = [0, 1, 2, 3, 4].map(i =>
        udp4(peer, local, 4000, PORT, encoder.encode(`p${i}`)));
    packets[2] = new Uint8Array(packets[2].length);   // neither IPv4 nor IPv6
    const data = concat(packets);
    const lengths = packets.map(p => p.length);
    // The count of those that went, no exception; the call that starts
    // with the bad packet throws, and sends nothing.
    assertEqual(device.send_many(data, lengths), 2);
    try {
        device.send_many(data.subarray(lengths[0] + lengths[1]), lengths.slice(2));
        throw new Error('send_many did not throw');
    } catch (e) {
        assertIOError(e, IOError.INVALID_DATA);
    }
    assertEqual(JSON.stringify(receive(socket, 5, 1)), '["p0","p1"]');
    socket.close();
    device.close();
});

test('send_many after close is CLOSED', () => {
    const {device, local, peer} = newDevice();
    const packet = udp4(peer, local, 4000, PORT, encoder.encode('late'));
    device.close();
    try {
        device.send_many(concat([packet, packet]), [packet.length, packet.length]);
        throw new Error('send_many did not throw');
    } catch (e) {
        assertIOError(e, IOError.CLOSED);
    }
});

test('echo.js sendMany() carries on past a refused packet', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, PORT);
    const packets = [0, 1, 2, 3, 4, 5].map(i =>
        udp4(peer, local, 4000, PORT, encoder.encode(`p${i}`)));
    packets[1] = new Uint8Array(packets[1].length);
    packets[4] = new Uint8Array(packets[4].length).fill(0x70);
    const [sent, errors] = sendMany(device, concat(packets), packets.map(p => p.length));
    assertEqual(sent, 4, 'sent');
    assertEqual(errors.length, 2, 'errors');
    errors.forEach(e => assertIOError(e, IOError.INVALID_DATA));
    assertEqual(JSON.stringify(receive(socket, 6, 1)), '["p0","p2","p3","p5"]');

    const [none, refused] = sendMany(device, new Uint8Array(30).fill(0x45), [20]);
    assertEqual(none, 0, 'sent of a refused batch');
    assertEqual(refused.length, 1, 'errors of a refused batch');
    assertIOError(refused[0], IOError.INVALID_ARGUMENT);
    socket.close();
    device.close();
});

test('echo.js reflectBatch() and sendMany() answer through the kernel', () => {
    const {device, local, peer} = newDevice();
    const socket = udpSocket(local, 0);
    const batches = [];
    device.connect('packets-received', (dev, packets, lengths) => {
        batches.push(lengths.length);
        const [data, answerLengths] = reflectBatch(packets.toArray(), lengths, false);
        if (answerLengths.length > 0)
            sendMany(dev, data, answerLengths);
    });
    const to = Gio.InetSocketAddress.new_from_string(peer, PORT);
    const payloads = Array.from({length: 300}, (_, i) => `echo ${i}`);
    for (const p of payloads)
        socket.send_to(to, encoder.encode(p), null);
    const got = [];
    assert(runUntil(() => got.push(...receive(socket, 300, 0)) >= 300),
        `${got.length} of 300 came back`);
    assertEqual(JSON.stringify(got), JSON.stringify(payloads));
    assert(batches.length >= 2, `${batches.length} batch(es)`);
    assert(batches.reduce((a, b) => a + b, 0) >= 300, `${batches} packets`);
    socket.close();
    device.close();
});

run();
