// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Backpressure and the pull receive from gjs: the `receiving` property, and
// receive_async()/receive_finish() through Gio._promisify(), so that code
// written with async/await pulls packets at its own pace. Each rule: the
// packets instead of the signals, CLOSED on close, NO_SUCH_DEVICE on
// deletion, CANCELLED without consuming a packet, PENDING for a second
// receive. Runs under `unshare -n`, as `gjs -m test_receive.js`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {assert, assertEqual, assertIOError, run, runLoop, sh, test} from './harness.js';

Gio._promisify(TunTap.Device.prototype, 'receive_async', 'receive_finish');

const IOError = Gio.IOErrorEnum;
const PORT = 4500;
const QUEUE_LEN = 16;
const decoder = new TextDecoder();
let pair = 0;

function newDevice() {
    pair++;
    const local = `192.0.2.${4 * pair + 1}`, peer = `192.0.2.${4 * pair + 2}`;
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    const name = device.get_name();
    // No IPv6 (no router solicitation in a receive meant to stay pending),
    // and a short queue so that drops show quickly.
    sh(`sh -c "echo 1 > /proc/sys/net/ipv6/conf/${name}/disable_ipv6"`);
    sh(`ip link set ${name} txqueuelen ${QUEUE_LEN}`);
    device.add_address_from_string(local, peer);
    device.set_up(true);
    return {device, name, peer};
}

function send(peer, count) {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.DATAGRAM,
        Gio.SocketProtocol.UDP);
    const to = Gio.InetSocketAddress.new_from_string(peer, PORT);
    for (let i = 0; i < count; i++)
        socket.send_to(to, new TextEncoder().encode(`d${i}`), null);
    socket.close();
}

// The payloads of the test's datagrams in a batch (a GLib.Bytes and lengths).
function datagrams(bytes, lengths) {
    const data = bytes.toArray();
    const out = [];
    let o = 0;
    for (const n of lengths) {
        const p = data.subarray(o, o + n);
        o += n;
        if (p.length >= 28 && p[0] === 0x45 && p[9] === 17 && (p[22] << 8 | p[23]) === PORT)
            out.push(decoder.decode(p.subarray(28)));
    }
    return out;
}

function txDropped(name) {
    const text = decoder.decode(GLib.file_get_contents('/proc/net/dev')[1]);
    for (const line of text.split('\n')) {
        const [ifname, counters] = line.split(':');
        if (counters !== undefined && ifname.trim() === name)
            return Number(counters.trim().split(/\s+/)[11]);
    }
    throw new Error(`${name} not in /proc/net/dev`);
}

// Runs an async function in a main loop; returns its value or throws.
function settle(fn, seconds = 5) {
    let value, error, settled = false;
    const ok = runLoop(done => {
        fn().then(v => {
            value = v;
        }, e => {
            error = e;
        }).finally(() => {
            settled = true;
            done();
        });
    }, seconds);
    assert(ok && settled, 'timed out');
    if (error !== undefined)
        throw error;
    return value;
}

// The error a promise rejects with; throws if it resolves.
async function rejection(promise) {
    try {
        await promise;
    } catch (e) {
        return e;
    }
    throw new Error('the receive did not fail');
}

const sleep = ms => new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
    resolve();
    return GLib.SOURCE_REMOVE;
}));

test('paused, the device reads nothing and the kernel drops; resumed, the queue arrives', () => {
    const {device, name, peer} = newDevice();
    const got = [];
    device.connect('packets-received', (d, bytes, lengths) => got.push(...datagrams(bytes, lengths)));
    assertEqual(device.receiving, true);
    device.receiving = false;
    const dropped = txDropped(name);
    send(peer, 4 * QUEUE_LEN);
    settle(() => sleep(300));
    assertEqual(got.length, 0, 'received while paused');
    assert(txDropped(name) - dropped >= 3 * QUEUE_LEN, 'the kernel did not drop');
    device.set_receiving(true);
    settle(() => sleep(300));
    assert(got.length >= 1 && got.length <= QUEUE_LEN, `received ${got.length}`);
    assertEqual(got[0], 'd0');
    device.close();
});

test('an async loop pulls batches; the signals see none of them', () => {
    const {device, peer} = newDevice();
    const signalled = [];
    device.connect('packet-received', () => signalled.push(1));
    device.receiving = false;
    send(peer, 5);
    device.receiving = true;
    const got = settle(async () => {
        const all = [];
        while (all.length < 5) {
            const [bytes, lengths] = await device.receive_async(null);
            all.push(...datagrams(bytes, lengths));
        }
        return all;
    });
    assertEqual(JSON.stringify(got), '["d0","d1","d2","d3","d4"]');
    assertEqual(signalled.length, 0, 'packets signalled');
    device.close();
});

test('close() completes a pending receive with CLOSED', () => {
    const {device} = newDevice();
    const error = settle(async () => {
        const pending = device.receive_async(null);
        await sleep(50);
        device.close();
        return rejection(pending);
    });
    assertIOError(error, IOError.CLOSED);
});

test('deleting the interface completes a pending receive with NO_SUCH_DEVICE', () => {
    const {device, name} = newDevice();
    const error = settle(async () => {
        const pending = device.receive_async(null);
        sh(`ip link del ${name}`);
        return rejection(pending);
    });
    assertIOError(error, IOError.NO_SUCH_DEVICE);
});

test('cancelling completes with CANCELLED and consumes no packet', () => {
    const {device, peer} = newDevice();
    device.receiving = false;
    send(peer, 2);
    const cancellable = new Gio.Cancellable();
    const error = settle(async () => {
        const pending = device.receive_async(cancellable);
        cancellable.cancel();
        return rejection(pending);
    });
    assertIOError(error, IOError.CANCELLED);
    device.receiving = true;
    const [bytes, lengths] = settle(() => device.receive_async(null));
    assertEqual(JSON.stringify(datagrams(bytes, lengths)), '["d0","d1"]');
    device.close();
});

test('a second receive while one is pending fails with PENDING', () => {
    const {device, peer} = newDevice();
    const [first, second] = settle(async () => {
        const a = device.receive_async(null);
        const b = await rejection(device.receive_async(null));
        send(peer, 1);
        const [bytes, lengths] = await a;
        return [datagrams(bytes, lengths), b];
    });
    assertIOError(second, IOError.PENDING);
    assertEqual(JSON.stringify(first), '["d0"]');
    device.close();
});

run();
