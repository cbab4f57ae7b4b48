// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Link configuration from gjs: each call on TunTap.Device checked against
// what the kernel says (`ip -j link/addr/route show`), IPv4 and IPv6, TUN
// and TAP; the properties and signals that follow changes made by another
// program (`ip`); and the G_IO_ERROR code of every bad input. Only
// documentation addresses. Runs under `unshare -n`, as
// `gjs -m test_link.js`; test_link.py goes into more detail.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {assert, assertEqual, assertIOError, assertThrowsIOError, run, sh, test} from './harness.js';

const IOError = Gio.IOErrorEnum;

/** `ip -j ARGS`, parsed. */
function ipJson(args) {
    return JSON.parse(sh(`ip -j ${args}`) || '[]');
}

function kernelLink(name) {
    return ipJson(`link show dev ${name}`)[0];
}

/**
 * The addresses of name, link-local left out, sorted, in the form
 * TunTap.Address.to_string() writes: ['192.0.2.1/32 peer 192.0.2.2', ...].
 */
function kernelAddresses(name) {
    return ipJson(`addr show dev ${name}`)[0].addr_info
        .filter(a => !a.local.startsWith('fe80:'))
        .map(a => `${a.local}/${a.prefixlen}${a.address ? ` peer ${a.address}` : ''}`)
        .sort();
}

/** The main-table routes through name as ['dst via gateway', ...]. */
function kernelRoutes(name, family) {
    return ipJson(`-${family} route show dev ${name}`)
        .map(r => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}`);
}

/** get_addresses() as kernelAddresses() gives them, through to_string(). */
function deviceAddresses(device) {
    return device.get_addresses()
        .map(a => a.to_string())
        .filter(a => !a.startsWith('fe80:'))
        .sort();
}

const inet = text => Gio.InetAddress.new_from_string(text);
const addr = text => TunTap.Address.new_from_string(text);
const json = value => JSON.stringify(value);

/** Iterates the default main context until predicate() holds; false on timeout. */
function waitFor(predicate, seconds = 5) {
    const context = GLib.MainContext.default();
    let timedOut = false;
    const timeout = GLib.timeout_add(GLib.PRIORITY_DEFAULT, seconds * 1000, () => {
        timedOut = true;
        return GLib.SOURCE_REMOVE;
    });
    while (!predicate() && !timedOut)
        context.iteration(true);
    if (!timedOut)
        GLib.source_remove(timeout);
    return !timedOut;
}

/** Dispatches everything pending in the default main context. */
function drain() {
    const context = GLib.MainContext.default();
    while (context.iteration(false))
        ;
}

/** Records notify::PROP (with the value then), ::addresses-changed, ::closed. */
class Recorder {
    constructor(device) {
        this.notified = [];
        this.addressesChanged = 0;
        this.closed = [];
        const props = ['up', 'mtu', 'carrier', 'name', 'ifindex', 'hardware-address', 'closed'];
        for (const prop of props) {
            device.connect(`notify::${prop}`, (d, pspec) =>
                this.notified.push([pspec.name, d[pspec.name.replace('-', '_')]]));
        }
        device.connect('addresses-changed', () => this.addressesChanged++);
        device.connect('closed', (d, error) => this.closed.push(error));
    }

    values(prop) {
        return JSON.stringify(this.notified.filter(([p]) => p === prop).map(([, v]) => v));
    }
}

const MODES = [
    ['TUN', TunTap.Mode.TUN, 65535],
    ['TAP', TunTap.Mode.TAP, 65521],
];

/** Registers fn(device, name) for both modes, on a fresh device each. */
function linkTest(title, fn) {
    for (const [label, mode, maxMtu] of MODES) {
        test(`${label}: ${title}`, () => {
            const device = TunTap.Device.new(null, mode);
            drain();
            try {
                fn(device, device.get_name(), {mode, maxMtu});
            } finally {
                device.close();
                drain();
            }
        });
    }
}

linkTest('set_up', (device, name) => {
    const rec = new Recorder(device);
    assertEqual(device.up, false);
    assertEqual(device.set_up(true), true);
    assert(kernelLink(name).flags.includes('UP'), 'not UP for the kernel');
    assert(waitFor(() => rec.values('up') === '[true]'), `notify::up: ${rec.values('up')}`);
    assertEqual(device.up, true);
    assertEqual(device.set_up(false), true);
    assert(!kernelLink(name).flags.includes('UP'), 'still UP for the kernel');
    assert(waitFor(() => rec.values('up') === '[true,false]'), `notify::up: ${rec.values('up')}`);
    assertEqual(device.get_up(), false);
});

linkTest('set_mtu, and its range', (device, name, {maxMtu}) => {
    const rec = new Recorder(device);
    for (const mtu of [1400, 68, maxMtu]) {
        assertEqual(device.set_mtu(mtu), true);
        assertEqual(kernelLink(name).mtu, mtu);
        assert(waitFor(() => device.mtu === mtu), `mtu ${device.mtu}, not ${mtu}`);
    }
    assertEqual(rec.values('mtu'), JSON.stringify([1400, 68, maxMtu]));
    for (const mtu of [0, 67, maxMtu + 1, 70000]) {
        assertThrowsIOError(() => device.set_mtu(mtu), IOError.INVALID_ARGUMENT);
        assertEqual(kernelLink(name).mtu, maxMtu);
    }
    assertEqual(device.get_mtu(), maxMtu);
});

test('TunTap.Address: string form, getters, errors', () => {
    for (const text of ['192.0.2.1/24', '192.0.2.1/32 peer 192.0.2.2', '2001:db8::1/64',
        '2001:db8:1::1/128 peer 2001:db8:1::2']) {
        const a = addr(text);
        assertEqual(a.to_string(), text);
        assert(a.equal(addr(a.to_string())), `${text} is not equal to itself`);
        assertEqual(a.hash(), addr(text).hash());
        assertEqual(a.get_flags(), TunTap.AddressFlags.NONE);
    }
    const ptp = addr('192.0.2.1 peer 192.0.2.2');
    assertEqual(ptp.get_address().to_string(), '192.0.2.1');
    assertEqual(ptp.get_prefix_length(), 32);
    assertEqual(ptp.get_peer().to_string(), '192.0.2.2');
    assertEqual(ptp.get_family(), Gio.SocketFamily.IPV4);
    assertEqual(addr('2001:db8::1').get_peer(), null);
    assertEqual(addr('2001:db8::1').to_string(), '2001:db8::1/128');
    assertEqual(TunTap.Address.new(inet('2001:db8::1'), 64, null).get_family(),
        Gio.SocketFamily.IPV6);
    assert(!addr('192.0.2.1/24').equal(addr('192.0.2.1/25')), '/24 equals /25');
    for (const bad of ['', '192.0.2.1/33', 'bogus', '192.0.2.1/32 peer 2001:db8::2'])
        assertThrowsIOError(() => addr(bad), IOError.INVALID_ARGUMENT);
});

linkTest('add_address, with and without a peer, read back with the peers', (device, name) => {
    const rec = new Recorder(device);
    assertEqual(device.add_address(addr('192.0.2.1/24')), true);
    assertEqual(rec.addressesChanged, 1);
    assertEqual(device.add_address(addr('2001:db8::1/64')), true);
    assertEqual(device.add_address(addr('198.51.100.1/32 peer 198.51.100.2')), true);
    assertEqual(device.add_address(
        TunTap.Address.new(inet('2001:db8:1::1'), 128, inet('2001:db8:1::2'))), true);
    const expected = [
        '192.0.2.1/24', '198.51.100.1/32 peer 198.51.100.2',
        '2001:db8:1::1/128 peer 2001:db8:1::2', '2001:db8::1/64',
    ];
    assertEqual(json(kernelAddresses(name)), json(expected));
    assertEqual(json(deviceAddresses(device)), json(expected));
    // Once per change, each before its call returned.
    assertEqual(rec.addressesChanged, 4);
    waitFor(() => false, 0.2);
    assertEqual(rec.addressesChanged, 4);
});

linkTest('add_address_from_string', (device, name) => {
    assertEqual(device.add_address_from_string('203.0.113.9/24', null), true);
    assertEqual(device.add_address_from_string('192.0.2.1', '192.0.2.2'), true);
    assertEqual(device.add_address_from_string('192.0.2.5 peer 192.0.2.6', null), true);
    assertEqual(device.add_address_from_string('2001:db8::9', null), true);
    const expected = ['192.0.2.1/32 peer 192.0.2.2', '192.0.2.5/32 peer 192.0.2.6',
        '2001:db8::9/128', '203.0.113.9/24'];
    assertEqual(json(kernelAddresses(name)), json(expected));
    assertEqual(json(deviceAddresses(device)), json(expected));
    for (const [bad, peer] of [['192.0.2.1/33', null], ['192.0.2.1/24', 'bogus'],
        ['192.0.2.1 peer 192.0.2.2', '192.0.2.2'], ['', null]]) {
        const error = assertThrowsIOError(() => device.add_address_from_string(bad, peer),
            IOError.INVALID_ARGUMENT);
        assert(error.message.includes(name), error.message);
        assert(error.message.includes('192.0.2.1/32 peer 192.0.2.2'), error.message);
    }
});

linkTest('remove_address, its string form, and an absent one', (device, name) => {
    device.add_address(addr('192.0.2.1/24'));
    device.add_address(addr('2001:db8::1/64'));
    device.add_address(addr('198.51.100.1/32 peer 198.51.100.2'));
    const rec = new Recorder(device);
    assertEqual(device.remove_address(addr('192.0.2.1/24')), true);
    assertEqual(device.remove_address_from_string('2001:db8::1/64', null), true);
    // Without its peer: whatever the peer, as `ip addr del`.
    assertEqual(device.remove_address_from_string('198.51.100.1', null), true);
    assertEqual(json(kernelAddresses(name)), '[]');
    assertEqual(json(deviceAddresses(device)), '[]');
    assertEqual(rec.addressesChanged, 3);
    assertThrowsIOError(() => device.remove_address(addr('192.0.2.1/24')),
        IOError.INVALID_ARGUMENT);
    assertThrowsIOError(() => device.remove_address_from_string('2001:db8::1/64', null),
        IOError.INVALID_ARGUMENT);
    assertThrowsIOError(() => device.remove_address_from_string('2001:db8::1/', null),
        IOError.INVALID_ARGUMENT);
    waitFor(() => false, 0.2);
    assertEqual(rec.addressesChanged, 3);
});

linkTest('bad addresses: duplicate, peer of the wrong family', (device, name) => {
    device.add_address_from_string('192.0.2.1/24', null);
    device.add_address_from_string('2001:db8::1/64', null);
    const rec = new Recorder(device);
    assertThrowsIOError(() => device.add_address(addr('192.0.2.1/24')), IOError.EXISTS);
    assertThrowsIOError(() => device.add_address_from_string('2001:db8::1/64', null),
        IOError.EXISTS);
    assertThrowsIOError(() => device.add_address_from_string('198.51.100.1/32', '2001:db8::2'),
        IOError.INVALID_ARGUMENT);
    assertThrowsIOError(() => device.add_address_from_string('2001:db8:1::1/128', '192.0.2.2'),
        IOError.INVALID_ARGUMENT);
    assertEqual(json(kernelAddresses(name)), '["192.0.2.1/24","2001:db8::1/64"]');
    waitFor(() => false, 0.2);
    assertEqual(rec.addressesChanged, 0);
});

linkTest('add_route and remove_route, and their string forms', (device, name) => {
    const v4 = Gio.InetAddressMask.new_from_string('198.51.100.0/24');
    const v6 = Gio.InetAddressMask.new_from_string('2001:db8:100::/48');
    assertThrowsIOError(() => device.add_route(v4, null), IOError.NETWORK_UNREACHABLE);
    assertThrowsIOError(() => device.add_route(v6, null), IOError.NETWORK_UNREACHABLE);
    device.add_address_from_string('192.0.2.1/24', null);
    device.add_address_from_string('2001:db8::1/64', null);
    device.set_up(true);

    assertEqual(device.add_route(v4, null), true);
    assertEqual(device.add_route(v6, inet('2001:db8::fe')), true);
    assert(kernelRoutes(name, 4).includes('198.51.100.0/24'), kernelRoutes(name, 4).join());
    assert(kernelRoutes(name, 6).includes('2001:db8:100::/48 via 2001:db8::fe'),
        kernelRoutes(name, 6).join());
    assertThrowsIOError(() => device.add_route(v4, null), IOError.EXISTS);
    assertThrowsIOError(() => device.add_route(v4, inet('2001:db8::fe')),
        IOError.INVALID_ARGUMENT);

    assertEqual(device.remove_route(v4, null), true);
    assertEqual(device.remove_route(v6, inet('2001:db8::fe')), true);
    assert(!kernelRoutes(name, 4).includes('198.51.100.0/24'), kernelRoutes(name, 4).join());
    assert(!kernelRoutes(name, 6).some(r => r.startsWith('2001:db8:100::/48')),
        kernelRoutes(name, 6).join());

    assertEqual(device.add_route_from_string('203.0.113.0/24', '192.0.2.254'), true);
    assertEqual(device.add_route_from_string('::/0', '2001:db8::fe'), true);
    assert(kernelRoutes(name, 4).includes('203.0.113.0/24 via 192.0.2.254'),
        kernelRoutes(name, 4).join());
    assert(kernelRoutes(name, 6).includes('default via 2001:db8::fe'),
        kernelRoutes(name, 6).join());
    assertThrowsIOError(() => device.add_route_from_string('203.0.113.0/24', '192.0.2.254'),
        IOError.EXISTS);
    assertEqual(device.remove_route_from_string('203.0.113.0/24', '192.0.2.254'), true);
    assertEqual(device.remove_route_from_string('::/0', '2001:db8::fe'), true);
    assertThrowsIOError(() => device.remove_route_from_string('203.0.113.0/24', null),
        IOError.NOT_FOUND);
    for (const [dst, gateway] of [['203.0.113.1/24', null], ['default', null],
        ['203.0.113.0/24', '192.0.2.254/32']]) {
        const error = assertThrowsIOError(() => device.add_route_from_string(dst, gateway),
            IOError.INVALID_ARGUMENT);
        assert(error.message.includes(name), error.message);
    }
});

linkTest('hardware-address', (device, name, {mode}) => {
    if (mode === TunTap.Mode.TUN) {
        assertEqual(device.hardware_address, null);
        assertThrowsIOError(() => device.set_hardware_address('02:00:00:00:00:01'),
            IOError.NOT_SUPPORTED);
        return;
    }
    const rec = new Recorder(device);
    assertEqual(device.hardware_address, kernelLink(name).address);
    assertEqual(device.set_hardware_address('02:00:00:00:00:01'), true);
    assertEqual(kernelLink(name).address, '02:00:00:00:00:01');
    assert(waitFor(() => rec.values('hardware-address') === '["02:00:00:00:00:01"]'),
        rec.values('hardware-address'));
    // Read-only: changing it can fail, so it takes a method.
    assertEqual(device.set_hardware_address('02:00:5e:00:53:0a'), true);
    assertEqual(kernelLink(name).address, '02:00:5e:00:53:0a');
    for (const bad of ['02:00:00:00:00', 'zz:00:00:00:00:01', '', '01:00:5e:00:00:01'])
        assertThrowsIOError(() => device.set_hardware_address(bad), IOError.INVALID_ARGUMENT);
    sh(`ip link set ${name} address 02:00:00:00:00:07`);
    assert(waitFor(() => device.hardware_address === '02:00:00:00:00:07'), device.hardware_address);
});

linkTest('properties follow ip link set down/mtu/name', (device, name) => {
    const rec = new Recorder(device);
    const ifindex = device.ifindex;
    assertEqual(kernelLink(name).ifindex, ifindex);

    sh(`ip link set ${name} up`);
    assert(waitFor(() => rec.values('up') === '[true]'), `notify::up ${rec.values('up')}`);
    sh(`ip link set ${name} down`);
    assert(waitFor(() => rec.values('up') === '[true,false]'), `notify::up ${rec.values('up')}`);
    sh(`ip link set ${name} mtu 1300`);
    assert(waitFor(() => rec.values('mtu') === '[1300]'), `notify::mtu ${rec.values('mtu')}`);
    const newName = `js-renamed${ifindex}`;
    sh(`ip link set ${name} name ${newName}`);
    assert(waitFor(() => rec.values('name') === JSON.stringify([newName])),
        `notify::name ${rec.values('name')}`);
    assertEqual(device.get_name(), newName);
    assertEqual(device.ifindex, ifindex);

    // Still the same link, under its new name.
    device.set_mtu(1400);
    assertEqual(kernelLink(newName).mtu, 1400);
});

linkTest('addresses-changed follows ip addr, once per real change', (device, name) => {
    const rec = new Recorder(device);
    sh(`ip addr add 192.0.2.1/24 dev ${name} valid_lft 1000 preferred_lft 1000`);
    assert(waitFor(() => rec.addressesChanged >= 1), 'no addresses-changed');
    assertEqual(json(deviceAddresses(device)), '["192.0.2.1/24"]');
    sh(`ip addr add 198.51.100.1 peer 198.51.100.2 dev ${name}`);
    assert(waitFor(() => rec.addressesChanged >= 2), 'no addresses-changed');
    assertEqual(json(deviceAddresses(device)), json(kernelAddresses(name)));
    assertEqual(json(deviceAddresses(device)),
        '["192.0.2.1/24","198.51.100.1/32 peer 198.51.100.2"]');
    // New lifetimes only: no emission (the deletion after it is the third).
    sh(`ip addr change 192.0.2.1/24 dev ${name} valid_lft 2000 preferred_lft 1500`);
    sh(`ip addr del 192.0.2.1/24 dev ${name}`);
    assert(waitFor(() => rec.addressesChanged >= 3), 'no addresses-changed');
    assertEqual(json(deviceAddresses(device)), '["198.51.100.1/32 peer 198.51.100.2"]');
    waitFor(() => false, 0.2);
    assertEqual(rec.addressesChanged, 3);
});

linkTest('closed with NO_SUCH_DEVICE when ip link del', (device, name) => {
    const rec = new Recorder(device);
    sh(`ip link del ${name}`);
    assert(waitFor(() => rec.closed.length > 0), 'no ::closed within 5 s');
    drain();
    assertEqual(rec.closed.length, 1);
    assertIOError(rec.closed[0], IOError.NO_SUCH_DEVICE);
    assert(rec.closed[0].message.includes(name), rec.closed[0].message);
    assertEqual(rec.values('closed'), '[true]');
    assertEqual(device.is_closed(), true);
});

run();
