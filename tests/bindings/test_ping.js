// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A real `ping -c 3` answered from gjs: the kernel routes the echo requests
// into a TunTap.Device, examples/echo.js's reflect() turns them into
// replies in the ::packet-received handler, and device.send() hands them
// back, all while ping runs as a Gio.Subprocess and the main loop spins.
// TUN over IPv4 and IPv6; TAP over IPv4 (ARP answered) and IPv6 (neighbour
// solicitation answered). Runs under `unshare -n`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {describe, reflect} from '../../examples/echo.js';
import {assert, assertEqual, run, runLoop, sh, snmp, test} from './harness.js';

// Answers `ping -c 3 target` with the example's reply logic; returns the
// lines describing what the device received and what it answered.
function pingThrough(device, tap, addresses, target) {
    const name = device.get_name();
    const lines = [], answered = [], problems = [];

    device.connect('packet-received', (dev, packet) => {
        try {
            assert(packet instanceof GLib.Bytes, `packet is ${packet}`);
            const data = packet.toArray();
            assert(data instanceof Uint8Array, 'toArray() is not a Uint8Array');
            lines.push(describe(data, tap));
            const buf = data.slice();
            if (reflect(buf, tap)) {
                dev.send(buf);
                answered.push(describe(buf, tap));
            }
        } catch (e) {
            problems.push(e);
        }
    });
    for (const address of addresses)
        sh(`ip addr add ${address} dev ${name}`);
    sh(`ip link set ${name} up`);

    const before = snmp();
    let out = null, status = -1;
    const proc = Gio.Subprocess.new(['ping', '-n', '-c', '3', '-W', '2', '-i', '0.2', target],
        Gio.SubprocessFlags.STDOUT_PIPE | Gio.SubprocessFlags.STDERR_MERGE);
    const finished = runLoop(done => {
        proc.communicate_utf8_async(null, null, (p, res) => {
            [, out] = p.communicate_utf8_finish(res);
            status = p.get_exit_status();
            done();
        });
    }, 15);
    if (!finished) {
        proc.force_exit();
        throw new Error(`ping ${target} did not finish within 15 s`);
    }
    if (problems.length > 0)
        throw problems[0];

    assertEqual(status, 0, `ping exit status; output:\n${out}`);
    assert(out.includes('3 packets transmitted, 3 received'), out);
    // The kernel took our replies as valid ones, checksums included.
    const after = snmp();
    const v6 = target.includes(':');
    for (const [counter, expected] of [[v6 ? 'Icmp6InCsumErrors' : 'IcmpInCsumErrors', 0],
        [v6 ? 'Icmp6InEchoReplies' : 'IcmpInEchoReps', 3]])
        assertEqual(after[counter] - before[counter], expected, counter);
    device.close();
    return [lines, answered];
}

function count(lines, text) {
    return lines.filter(line => line.endsWith(text)).length;
}

test('TUN, IPv4', () => {
    const device = TunTap.Device.new('tun%d', TunTap.Mode.TUN);
    const [lines, answered] = pingThrough(device, false, ['192.0.2.1 peer 192.0.2.2'], '192.0.2.2');
    assertEqual(count(lines, '84 bytes IPv4 ICMP 192.0.2.1 > 192.0.2.2 type 8'), 3);
    assertEqual(count(answered, 'IPv4 ICMP 192.0.2.2 > 192.0.2.1 type 0'), 3);
});

test('TUN, IPv6', () => {
    const device = new TunTap.Device({name: 'jsping%d', mode: TunTap.Mode.TUN});
    device.init(null);
    // With a TUN, an IPv6 peer address makes no route: use a prefix.
    const [lines, answered] = pingThrough(device, false, ['2001:db8::1/64 nodad'], '2001:db8::2');
    assertEqual(count(lines, 'IPv6 ICMPv6 2001:db8::1 > 2001:db8::2 type 128'), 3);
    assertEqual(count(answered, 'IPv6 ICMPv6 2001:db8::2 > 2001:db8::1 type 129'), 3);
});

test('TAP, IPv4 with ARP', () => {
    const device = new TunTap.Device({name: 'jstap%d', mode: TunTap.Mode.TAP});
    device.init(null);
    const [lines, answered] = pingThrough(device, true, ['198.51.100.1/24'], '198.51.100.2');
    assert(count(answered, 'ARP reply 198.51.100.2 > 198.51.100.1') >= 1, 'no ARP reply');
    assertEqual(count(lines, 'IPv4 ICMP 198.51.100.1 > 198.51.100.2 type 8'), 3);
    assertEqual(count(answered, 'IPv4 ICMP 198.51.100.2 > 198.51.100.1 type 0'), 3);
});

test('TAP, IPv6 with neighbour discovery', () => {
    const device = TunTap.Device.new('tap%d', TunTap.Mode.TAP);
    const [lines, answered] = pingThrough(device, true, ['2001:db8:1::1/64 nodad'],
        '2001:db8:1::2');
    assert(count(answered, 'IPv6 ICMPv6 2001:db8:1::2 > 2001:db8:1::1 type 136') >= 1,
        'no neighbour advertisement');
    assertEqual(count(lines, 'IPv6 ICMPv6 2001:db8:1::1 > 2001:db8:1::2 type 128'), 3);
    assertEqual(count(answered, 'IPv6 ICMPv6 2001:db8:1::2 > 2001:db8:1::1 type 129'), 3);
});

run();
