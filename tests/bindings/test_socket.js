// SPDX-License-Identifier: LGPL-2.1-or-later
//
// TunTap.socket_receive_many() from gjs: every datagram waiting on a UDP
// socket in one call, as a GLib.Bytes and an array of lengths, which
// send_many_bytes() writes into a device as they are; a GRO run cut back
// into its datagrams; WOULD_BLOCK when nothing waits. And examples/tunnel.js
// on both sides of that call: deliver() past a refused packet, and what its
// receiving side does with each error. Runs under `unshare -n`, as
// `gjs -m test_socket.js`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {assert, assertEqual, assertIOError, assertThrowsIOError, run, test} from './harness.js';
import {Tunnel} from '../../examples/tunnel.js';

const IOError = Gio.IOErrorEnum;
const SOL_UDP = 17, UDP_SEGMENT = 103, UDP_GRO = 104;
const PORT = 4800;

function udpSocket(address, port) {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM,
        Gio.SocketProtocol.UDP);
    socket.bind(Gio.InetSocketAddress.new_from_string(address, port), false);
    return socket;
}

// A receiver and a sender on loopback, connected to each other.
function pair() {
    const receiver = udpSocket('127.0.0.1', 0), sender = udpSocket('127.0.0.1', 0);
    receiver.connect(sender.get_local_address(), null);
    sender.connect(receiver.get_local_address(), null);
    return [receiver, sender];
}

function bytesOf(n, seed) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++)
        data[i] = (i * 7 + seed * 131 + (i >> 8)) & 0xff;
    return data;
}

function concat(arrays) {
    const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of arrays) {
        out.set(a, o);
        o += a.length;
    }
    return out;
}

function assertBytes(bytes, expected) {
    const data = bytes.toArray();
    assertEqual(data.length, expected.length, 'size');
    for (let i = 0; i < data.length; i++) {
        if (data[i] !== expected[i])
            throw new Error(`byte ${i}: expected ${expected[i]}, got ${data[i]}`);
    }
}

// An IPv4/UDP packet from 192.0.2.2:9 to 192.0.2.1:PORT (UDP checksum 0).
function udp4(payload, ident) {
    const p = new Uint8Array(28 + payload.length);
    p.set([0x45, 0, p.length >> 8, p.length & 0xff, ident >> 8, ident & 0xff, 0x40, 0,
        64, 17, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1]);
    let sum = 0;
    for (let i = 0; i < 20; i += 2)
        sum += p[i] << 8 | p[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    p[10] = sum >> 8;
    p[11] = sum & 0xff;
    p.set([0, 9, PORT >> 8, PORT & 0xff, (8 + payload.length) >> 8, (8 + payload.length) & 0xff, 0, 0], 20);
    p.set(payload, 28);
    return p;
}

test('datagrams of all sizes in one call', () => {
    const [receiver, sender] = pair();
    // No empty one: gjs passes an empty Uint8Array to send() as NULL.
    const sent = [bytesOf(1, 1), bytesOf(1400, 2), bytesOf(65507, 3), bytesOf(3, 4)];
    for (const d of sent)
        sender.send(d, null);
    const [bytes, lengths] = TunTap.socket_receive_many(receiver, 1 << 20, null);
    assert(bytes instanceof GLib.Bytes, 'a GLib.Bytes');
    assertEqual(JSON.stringify(lengths), JSON.stringify(sent.map(d => d.length)), 'lengths');
    assertBytes(bytes, concat(sent));
    receiver.close();
    sender.close();
});

test('WOULD_BLOCK when nothing waits', () => {
    const [receiver, sender] = pair();
    try {
        TunTap.socket_receive_many(receiver, 4096, null);
        throw new Error('nothing thrown');
    } catch (e) {
        assertIOError(e, IOError.WOULD_BLOCK);
        assert(e.message.includes('127.0.0.1'), `names the socket: ${e.message}`);
    }
    receiver.close();
    sender.close();
});

test('a GRO run is cut back into its datagrams', () => {
    const [receiver, sender] = pair();
    receiver.set_option(SOL_UDP, UDP_GRO, 1);
    sender.set_option(SOL_UDP, UDP_SEGMENT, 1000);
    const run = bytesOf(10 * 1000 + 500, 4);
    sender.send(run, null);
    const [bytes, lengths] = TunTap.socket_receive_many(receiver, 1 << 20, null);
    assertEqual(JSON.stringify(lengths), JSON.stringify([...Array(10).fill(1000), 500]), 'lengths');
    assertBytes(bytes, run);
    receiver.close();
    sender.close();
});

// A device, and a socket that gets what is written into it.
function deviceAndSink() {
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    device.add_address_from_string('192.0.2.1', '192.0.2.2');
    device.set_up(true);
    return [device, udpSocket('192.0.2.1', PORT)];
}

// The payloads of up to n datagrams, as text.
function receiveAll(sink, n) {
    const decoder = new TextDecoder(), got = [];
    while (got.length < n &&
           sink.condition_timed_wait(GLib.IOCondition.IN, 2000000, null)) {
        const [data, sizes] = TunTap.socket_receive_many(sink, 1 << 20, null);
        const array = data.toArray();
        let o = 0;
        for (const size of sizes) {
            got.push(decoder.decode(array.subarray(o, o + size)));
            o += size;
        }
    }
    return got;
}

test('the batch goes into a device as it is', () => {
    const [receiver, sender] = pair();
    const [device, sink] = deviceAndSink();
    const encoder = new TextEncoder();
    for (let i = 0; i < 20; i++)
        sender.send(udp4(encoder.encode(`p${i}`), i), null);
    const [bytes, lengths] = TunTap.socket_receive_many(receiver, 1 << 20, null);
    assertEqual(lengths.length, 20, 'datagrams');
    assertEqual(device.send_many_bytes(bytes, lengths), 20, 'written');
    // What the sink got, through the same call (its senders' addresses do
    // not matter here).
    assertEqual(JSON.stringify(receiveAll(sink, 20)),
        JSON.stringify([...Array(20).keys()].map(i => `p${i}`)), 'payloads');
    sink.close();
    device.close();
    receiver.close();
    sender.close();
});

test('tunnel.js delivers past a refused packet', () => {
    const [receiver, sender] = pair();
    const [device, sink] = deviceAndSink();
    const tunnel = new Tunnel(device, receiver, true, false);
    const encoder = new TextEncoder();
    const good = [0, 1, 2].map(i => udp4(encoder.encode(`g${i}`), i));
    const bad = good[1].slice();
    bad[10] ^= 0xff;   // the IPv4 header checksum
    const packets = [good[0], bad, good[1], bad, good[2]];
    tunnel.deliver(concat(packets), packets.map(p => p.length));
    assertEqual(tunnel.delivered, 3, 'delivered');
    assertEqual(tunnel.droppedToDevice, 2, 'refused');
    assertEqual(JSON.stringify(receiveAll(sink, 3)), JSON.stringify(['g0', 'g1', 'g2']), 'payloads');
    for (const s of [sink, receiver, sender])
        s.close();
    device.close();
});

test("tunnel.js's receiving side: nothing, a refusal, a closed socket", () => {
    const [receiver, sender] = pair();
    const [device, sink] = deviceAndSink();
    const tunnel = new Tunnel(device, receiver, false, false);
    const counters = () => JSON.stringify([tunnel.fromPeerReceives, tunnel.fromPeerPackets,
        tunnel.delivered, tunnel.droppedTruncated, [...tunnel.warned]]);
    const none = JSON.stringify([0, 0, 0, 0, []]);

    // Woken with nothing waiting (WOULD_BLOCK): nothing happens.
    assertEqual(tunnel.onReadable(), GLib.SOURCE_CONTINUE, 'WOULD_BLOCK: the watch stays');
    assertEqual(counters(), none, 'WOULD_BLOCK: counted or said');

    // The peer gone: our send's ICMP error comes with the next receive
    // (CONNECTION_REFUSED), which clears it; nothing was lost.
    sender.close();
    receiver.send(new TextEncoder().encode('to nobody'), null);
    assert(receiver.condition_timed_wait(GLib.IOCondition.ERR, 2000000, null),
        'the ICMP error arrived');
    assertEqual(tunnel.onReadable(), GLib.SOURCE_CONTINUE, 'refused: the watch stays');
    assertEqual(counters(), none, 'refused: counted or said');
    assertThrowsIOError(() => TunTap.socket_receive_many(receiver, 0, null), IOError.WOULD_BLOCK);

    // Anything else (here the socket closed under it): said once, the
    // watch stays.
    receiver.close();
    assertEqual(tunnel.onReadable(), GLib.SOURCE_CONTINUE, 'closed: the watch stays');
    assertEqual(tunnel.onReadable(), GLib.SOURCE_CONTINUE, 'closed again');
    assertEqual(counters(), JSON.stringify([0, 0, 0, 0, ['receiving from the peer']]),
        'closed: said once, nothing counted');
    sink.close();
    device.close();
});

run();
