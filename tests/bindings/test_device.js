// SPDX-License-Identifier: LGPL-2.1-or-later
//
// TunTap.Device from gjs: construction both ways, in both modes, and the
// GLib.Error codes and the ::closed signal a JavaScript program relies on.
// Runs under `unshare -n`, as `gjs -m test_device.js`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {
    assert, assertEqual, assertIOError, assertMatch, assertThrowsIOError, run, runLoop, sh, test
} from './harness.js';

const IOError = Gio.IOErrorEnum;

function checkDevice(device, pattern, mode) {
    const name = device.get_name();
    assertMatch(name, pattern);
    assertEqual(device.name, name);
    assertEqual(device.get_mode(), mode);
    assertEqual(device.mode, mode);
    assertEqual(device.get_packet_info(), false);
    assert(device.get_fd() >= 0, `fd ${device.get_fd()}`);
    assertEqual(device.is_closed(), false);
    assertEqual(device.closed, false);
    assert(sh(`ip -o link show dev ${name}`).includes(`${name}:`), `${name} not in ip link`);

    device.close();
    assertEqual(device.is_closed(), true);
    assertEqual(device.closed, true);
    assertEqual(device.get_fd(), -1);
}

test('new TUN', () => {
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    checkDevice(device, /^tun\d+$/, TunTap.Mode.TUN);
});

test('new TAP', () => {
    const device = TunTap.Device.new('tap%d', TunTap.Mode.TAP);
    checkDevice(device, /^tap\d+$/, TunTap.Mode.TAP);
});

test('new with the default name', () => {
    checkDevice(TunTap.Device.new(null, TunTap.Mode.TUN), /^tun\d+$/, TunTap.Mode.TUN);
    checkDevice(TunTap.Device.new(null, TunTap.Mode.TAP), /^tap\d+$/, TunTap.Mode.TAP);
});

test('construct and init TUN', () => {
    const device = new TunTap.Device({name: 'jstun%d', mode: TunTap.Mode.TUN});
    assertEqual(device.init(null), true);
    checkDevice(device, /^jstun\d+$/, TunTap.Mode.TUN);
});

test('construct and init TAP', () => {
    const device = new TunTap.Device({name: 'jstap%d', mode: TunTap.Mode.TAP});
    assertEqual(device.init(null), true);
    checkDevice(device, /^jstap\d+$/, TunTap.Mode.TAP);
});

test('offload: one property, super-packets split in C', () => {
    const device = new TunTap.Device({name: 'jsoff%d', mode: TunTap.Mode.TUN, offload: true});
    assertEqual(device.init(null), true);
    assertEqual(device.offload, true);
    assert(device.offloads & TunTap.Offloads.TCP_SEGMENTATION, `offloads ${device.offloads}`);
    assertEqual(JSON.stringify(device.get_offload_counters()), '[0,0,0,0,0]');
    assert(device.coalesce & TunTap.Coalesce.TCP, `coalesce ${device.coalesce}`);
    checkDevice(device, /^jsoff\d+$/, TunTap.Mode.TUN);

    const tap = new TunTap.Device({name: 'jsoff%d', mode: TunTap.Mode.TAP, offload: true});
    assertThrowsIOError(() => tap.init(null), IOError.NOT_SUPPORTED);
});

test('a fixed 15-byte name', () => {
    const device = TunTap.Device.new('js-fifteen-byte', TunTap.Mode.TUN);
    checkDevice(device, /^js-fifteen-byte$/, TunTap.Mode.TUN);
});

test('a 16-byte name is INVALID_ARGUMENT', () => {
    let error = assertThrowsIOError(
        () => TunTap.Device.new('js-sixteen-bytes', TunTap.Mode.TUN), IOError.INVALID_ARGUMENT);
    assert(error.message.includes('js-sixteen-bytes'), error.message);

    const device = new TunTap.Device({name: 'js-sixteen-bytes', mode: TunTap.Mode.TAP});
    error = assertThrowsIOError(() => device.init(null), IOError.INVALID_ARGUMENT);
    assert(!sh('ip -o link show').includes('js-sixteen-byte'), 'a shortened name was created');
});

test('a busy name is BUSY', () => {
    const first = TunTap.Device.new('jsbusy0', TunTap.Mode.TUN);
    const error = assertThrowsIOError(
        () => TunTap.Device.new('jsbusy0', TunTap.Mode.TUN), IOError.BUSY);
    assert(error.message.includes('jsbusy0'), error.message);

    const second = new TunTap.Device({name: 'jsbusy0', mode: TunTap.Mode.TUN});
    assertThrowsIOError(() => second.init(null), IOError.BUSY);
    assertEqual(first.is_closed(), false);
    first.close();
});

test('send after close is CLOSED', () => {
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    const name = device.get_name();
    sh(`ip addr add 192.0.2.1 peer 192.0.2.2 dev ${name}`);
    sh(`ip link set ${name} up`);
    // A valid IPv4 header (checksum included): a wrong one is refused.
    const packet = Uint8Array.from(
        '450000140000000040fdf5e9c0000201c0000202'.match(/../g), h => parseInt(h, 16));
    assertEqual(device.send(packet), true);
    assertEqual(device.send_bytes(new GLib.Bytes(packet)), true);

    device.close();
    assertThrowsIOError(() => device.send(packet), IOError.CLOSED);
    assertThrowsIOError(() => device.send_bytes(new GLib.Bytes(packet)), IOError.CLOSED);
});

test('closed is emitted once, with a null error, by close()', () => {
    const device = TunTap.Device.new('tap%d', TunTap.Mode.TAP);
    const errors = [];
    device.connect('closed', (d, error) => errors.push(error));
    device.close();
    device.close();
    assertEqual(errors.length, 1);
    assertEqual(errors[0], null);
});

test('closed is emitted with NO_SUCH_DEVICE after ip link del', () => {
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    const name = device.get_name();
    const errors = [];
    const notified = [];
    device.connect('notify::closed', d => notified.push(d.closed));

    const finished = runLoop(done => {
        device.connect('closed', (d, error) => {
            errors.push(error);
            done();
        });
        sh(`ip link del ${name}`);
    }, 5);

    assert(finished, 'no ::closed within 5 s');
    assertEqual(errors.length, 1);
    assert(errors[0] !== null, 'closed with a null error');
    assertIOError(errors[0], IOError.NO_SUCH_DEVICE);
    assert(errors[0].message.includes(name), errors[0].message);
    assertEqual(JSON.stringify(notified), '[true]');
    assertEqual(device.is_closed(), true);

    // A valid IPv4 header: the device's state decides, not the data.
    const header = Uint8Array.from('45000014000000004011f6d5c0000202c0000201'.match(/../g),
        h => parseInt(h, 16));
    assertThrowsIOError(() => device.send(header), IOError.CLOSED);
    device.close();
    assertEqual(errors.length, 1);
    assert(!new RegExp(`\\b${name}\\b`).test(sh('ip -o link show')), `${name} still listed`);
});

run();
