#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// echo.js: echo-gmain in JavaScript, on tuntap-glib through gjs. Every
// packet the kernel routes into the device is printed and written back;
// with --reply, requests are turned into answers so ping works. The reply
// logic is a port of echo-reflect.c, and the output is the same line for
// line. --address CIDR [--peer ADDR] (repeatable) and --mtu N configure the
// link through the library and bring it up, so no `ip` or `ifconfig` is
// needed. Run it with `gjs -m echo.js`, or from the build tree with
// `meson devenv -C _build gjs -m $PWD/examples/echo.js`. The options are
// GOption's, declared on a Gio.Application.
//
// Packets arrive in batches, one ::packets-received per main-loop wake-up,
// read through a view and answered with one send_many(): the handler and
// the send cross between C and JavaScript once per batch rather than once
// per packet, and nothing is allocated per packet. That also keeps gjs
// 1.74 from sweeping its garbage often; it refuses to call JavaScript while
// it sweeps, and with ::packet-received under a flood it refuses the
// handler (each time a packet lost), then timers and everything else
// (tests/bindings/gc-flood.sh).
//
// Importing this module runs nothing: the tests use describe(), reflect(),
// reflectBatch() and sendMany().

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';
import System from 'system';

const ETH_HLEN = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;

/** The MAC address the TAP echo claims for every address it answers for. */
export const REFLECT_MAC = Uint8Array.of(0x02, 0x00, 0x5e, 0x00, 0x53, 0x01);

const PROTO_NAMES = new Map([
    [PROTO_ICMP, 'ICMP'],
    [PROTO_TCP, 'TCP'],
    [PROTO_UDP, 'UDP'],
    [PROTO_ICMPV6, 'ICMPv6'],
]);

function get16(p, o) {
    return p[o] << 8 | p[o + 1];
}

function put16(p, o, v) {
    p[o] = v >> 8;
    p[o + 1] = v & 0xff;
}

/** Formats the IPv4 address at p[o..o+4] as inet_ntop() does. */
export function ntop4(p, o) {
    return `${p[o]}.${p[o + 1]}.${p[o + 2]}.${p[o + 3]}`;
}

/** Formats the IPv6 address at p[o..o+16], as GLib (and inet_ntop()) does. */
function ntop6(p, o) {
    return Gio.InetAddress.new_from_bytes(p.subarray(o, o + 16), Gio.SocketFamily.IPV6).to_string();
}

// The IP header at p[o..o+n]: [l4, version, proto] where l4 is the L4
// offset from o, 0 if unusable; proto stays -1 when the header is too short
// to name it.
function ipL4(p, o, n) {
    if (n < 1)
        return [0, 0, -1];
    const version = p[o] >> 4;
    if (version === 4) {
        const ihl = (p[o] & 0x0f) * 4;
        if (n < 20 || ihl < 20 || ihl > n)
            return [0, 4, -1];
        // Only the first fragment carries the L4 header.
        if ((get16(p, o + 6) & 0x1fff) !== 0)
            return [0, 4, p[o + 9]];
        return [ihl, 4, p[o + 9]];
    }
    if (version === 6) {
        if (n < 40)
            return [0, 6, -1];
        return [40, 6, p[o + 6]];   // no extension headers are followed
    }
    return [0, version, -1];
}

function describeIp(p, o, n) {
    const [l4, version, proto] = ipL4(p, o, n);
    let src, dst;

    if (version === 4 && n >= 20) {
        src = ntop4(p, o + 12);
        dst = ntop4(p, o + 16);
    } else if (version === 6 && n >= 40) {
        src = ntop6(p, o + 8);
        dst = ntop6(p, o + 24);
    } else {
        return `${n} bytes, not IPv4/IPv6`;
    }

    const pname = PROTO_NAMES.get(proto) ?? `proto ${proto}`;
    const t = o + l4;
    if (l4 !== 0 && (proto === PROTO_UDP || proto === PROTO_TCP) && n >= l4 + 4)
        return `${n} bytes IPv${version} ${pname} ${src}:${get16(p, t)} > ` +
            `${dst}:${get16(p, t + 2)}`;
    if (l4 !== 0 && (proto === PROTO_ICMP || proto === PROTO_ICMPV6) && n >= l4 + 2)
        return `${n} bytes IPv${version} ${pname} ${src} > ${dst} type ${p[t]}`;
    return `${n} bytes IPv${version} ${pname} ${src} > ${dst}`;
}

/** One line about packet p (a Uint8Array), as echo_describe() writes it. */
export function describe(p, tap) {
    const n = p.length;

    if (!tap)
        return n === 0 ? 'empty packet' : describeIp(p, 0, n);

    if (n < ETH_HLEN)
        return `${n} bytes, runt frame`;

    const ethertype = get16(p, 12);
    if (ethertype === ETHERTYPE_IPV4 || ethertype === ETHERTYPE_IPV6) {
        if (n > ETH_HLEN)
            return describeIp(p, ETH_HLEN, n - ETH_HLEN);
    } else if (ethertype === ETHERTYPE_ARP && n >= ETH_HLEN + 28) {
        const op = get16(p, ETH_HLEN + 6) === 1 ? 'request' : 'reply';
        return `${n} bytes ARP ${op} ${ntop4(p, ETH_HLEN + 14)} > ${ntop4(p, ETH_HLEN + 24)}`;
    }
    return `${n} bytes ethertype 0x${ethertype.toString(16).padStart(4, '0')}`;
}

function fold(sum) {
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >>> 16);
    return ~sum & 0xffff;
}

function sum16(sum, p, o, n) {
    const end = o + (n & ~1);
    for (let i = o; i < end; i += 2)
        sum += p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += p[end] << 8;
    return sum;
}

// RFC 1624: HC' = ~(~HC + ~m + m') for one changed 16-bit word at c.
function adjustChecksum(p, c, oldWord, newWord) {
    put16(p, c, fold((~get16(p, c) & 0xffff) + (~oldWord & 0xffff) + newWord));
}

// ICMPv6 checksum from scratch (pseudo-header plus message).
function icmpv6Checksum(p, ip6, icmpLen) {
    const icmp = ip6 + 40;
    put16(p, icmp + 2, 0);
    let sum = sum16(0, p, ip6 + 8, 32) + icmpLen + PROTO_ICMPV6;
    sum = sum16(sum, p, icmp, icmpLen);
    put16(p, icmp + 2, fold(sum));
}

// The reflect functions work on the n bytes at offset b of p, so that a
// whole batch is answered in place in one Uint8Array.

// Answers a neighbour solicitation in an Ethernet frame with an
// advertisement claiming REFLECT_MAC for the target.
function reflectNeighbourSolicitation(p, b, n) {
    const ip6 = b + ETH_HLEN;
    const icmp = ip6 + 40;
    const icmpLen = 32;   // header, flags, target, target link-layer option

    if (n < ETH_HLEN + 40 + 24 || p[ip6 + 6] !== PROTO_ICMPV6 || p[icmp] !== 135)
        return false;
    // Only a solicitation with the sender's link-layer option has room for
    // the answer; duplicate address detection (from ::) must stay
    // unanswered or the kernel would give up its own address.
    if (n < ETH_HLEN + 40 + icmpLen)
        return false;
    let fromUnspecified = true;
    for (let i = ip6 + 8; i < ip6 + 24 && fromUnspecified; i++)
        fromUnspecified = p[i] === 0;
    if (fromUnspecified)
        return false;

    p.copyWithin(b, b + 6, b + 12);
    p.set(REFLECT_MAC, b + 6);
    p.copyWithin(ip6 + 24, ip6 + 8, ip6 + 24);   // dst = solicitor
    p.copyWithin(ip6 + 8, icmp + 8, icmp + 24);  // src = target
    put16(p, ip6 + 4, icmpLen);
    p[ip6 + 7] = 255;
    p[icmp] = 136;
    p[icmp + 1] = 0;
    p[icmp + 4] = 0x60;                          // solicited, override
    p[icmp + 5] = p[icmp + 6] = p[icmp + 7] = 0;
    p[icmp + 24] = 2;                            // target link-layer option
    p[icmp + 25] = 1;
    p.set(REFLECT_MAC, icmp + 26);
    icmpv6Checksum(p, ip6, icmpLen);
    return true;
}

function reflectArp(p, b, n) {
    const arp = b + ETH_HLEN;

    // Ethernet/IPv4 request only.
    if (n < ETH_HLEN + 28 || get16(p, arp) !== 1 || get16(p, arp + 2) !== ETHERTYPE_IPV4 ||
        p[arp + 4] !== 6 || p[arp + 5] !== 4 || get16(p, arp + 6) !== 1)
        return false;

    p.copyWithin(b, b + 6, b + 12);
    p.set(REFLECT_MAC, b + 6);
    put16(p, arp + 6, 2);
    // The target IP, kept in a number rather than a copied array.
    const ip = p[arp + 24] << 24 | p[arp + 25] << 16 | p[arp + 26] << 8 | p[arp + 27];
    p.copyWithin(arp + 18, arp + 8, arp + 18);   // target = sender (MAC + IP)
    p.set(REFLECT_MAC, arp + 8);
    p[arp + 14] = ip >>> 24;
    p[arp + 15] = ip >>> 16 & 0xff;
    p[arp + 16] = ip >>> 8 & 0xff;
    p[arp + 17] = ip & 0xff;
    return true;
}

function swap(p, a, b, len) {
    for (let i = 0; i < len; i++) {
        const tmp = p[a + i];
        p[a + i] = p[b + i];
        p[b + i] = tmp;
    }
}

// Answers the IP datagram of n bytes at offset o of p. The hot path of
// --reply: ipL4() inlined, so that no array is allocated per packet.
function reflectIp(p, o, n) {
    if (n < 1)
        return false;
    const version = p[o] >> 4;
    let l4, proto;
    if (version === 4) {
        l4 = (p[o] & 0x0f) * 4;
        // Only the first fragment carries the L4 header.
        if (n < 20 || l4 < 20 || l4 > n || (p[o + 6] & 0x1f) !== 0 || p[o + 7] !== 0)
            return false;
        proto = p[o + 9];
    } else if (version === 6) {
        if (n < 40)
            return false;
        l4 = 40;
        proto = p[o + 6];   // no extension headers are followed
    } else {
        return false;
    }
    const t = o + l4;

    switch (proto) {
    case PROTO_UDP:
    case PROTO_TCP:
        if (n < l4 + 4)
            return false;
        // Swapping both ports and both addresses leaves every checksum
        // (IPv4 header, and L4 over the pseudo-header) unchanged.
        swap(p, t, t + 2, 2);
        break;
    case PROTO_ICMP:
        if (version !== 4 || n < l4 + 8 || p[t] !== 8 || p[t + 1] !== 0)
            return false;
        p[t] = 0;
        adjustChecksum(p, t + 2, 8 << 8, 0);
        break;
    case PROTO_ICMPV6:
        if (version !== 6 || n < l4 + 8 || p[t] !== 128 || p[t + 1] !== 0)
            return false;
        p[t] = 129;
        adjustChecksum(p, t + 2, 128 << 8, 129 << 8);
        break;
    default:
        return false;
    }

    if (version === 4)
        swap(p, o + 12, o + 16, 4);
    else
        swap(p, o + 8, o + 24, 16);
    return true;
}

// Answers the packet of n bytes at offset b of p.
function reflectAt(p, b, n, tap) {
    if (n === 0)
        return false;
    if (!tap)
        return reflectIp(p, b, n);
    if (n < ETH_HLEN)
        return false;

    switch (get16(p, b + 12)) {
    case ETHERTYPE_ARP:
        return reflectArp(p, b, n);
    case ETHERTYPE_IPV6:
        if (reflectNeighbourSolicitation(p, b, n))
            return true;
        // fall through
    case ETHERTYPE_IPV4:
        if (!reflectIp(p, b + ETH_HLEN, n - ETH_HLEN))
            return false;
        swap(p, b, b + 6, 6);
        return true;
    default:
        return false;
    }
}

/**
 * Rewrites p (a Uint8Array) in place into its answer, as echo_reflect()
 * does: ICMP/ICMPv6 echo requests become replies, UDP and TCP are reflected
 * with addresses and ports swapped, and on a TAP device ARP requests and
 * IPv6 neighbour solicitations are answered with REFLECT_MAC.
 *
 * @returns {boolean} false, leaving p unchanged, when p has no answer
 */
export function reflect(p, tap) {
    return reflectAt(p, 0, p.length, tap);
}

// The answers of one batch, reused from batch to batch; grows as needed.
let answers = new Uint8Array(64 * 2048);

/**
 * Answers a batch as ::packets-received delivers it: the packets of data (a
 * Uint8Array) back to back, lengths (an array) giving their sizes.
 *
 * @returns {Array} [answers, answerLengths], ready for send_many(): a
 *   Uint8Array with the answer of every packet that has one, in order, and
 *   their lengths. It is reused by the next call; data stays unchanged.
 */
export function reflectBatch(data, lengths, tap) {
    if (answers.length < data.length)
        answers = new Uint8Array(Math.max(data.length, 2 * answers.length));
    const buf = answers;
    let answerLengths = lengths;
    let r = 0, w = 0;

    // One copy of the whole batch, rewritten in place: no allocation per
    // packet.
    buf.set(data);
    for (let i = 0; i < lengths.length; i++) {
        const n = lengths[i];
        // Behind a packet without an answer, move the rest up.
        if (w !== r)
            buf.copyWithin(w, r, r + n);
        r += n;
        if (reflectAt(buf, w, n, tap)) {
            w += n;
            if (answerLengths !== lengths)
                answerLengths.push(n);
        } else if (answerLengths === lengths) {
            // Rare (ping on a TAP brings router solicitations and the like).
            answerLengths = lengths.slice(0, i);
        }
    }
    return [buf.subarray(0, w), answerLengths];
}

/**
 * device.send_many(), carrying on past a packet the kernel refuses, as one
 * send() per packet would.
 *
 * @returns {Array} [sent, errors]: how many packets went, and the
 *   GLib.Error of each one that did not
 */
export function sendMany(device, data, lengths) {
    let sent = 0;
    const errors = [];
    while (lengths.length > 0) {
        // Like Gio.Socket.send_messages(): the number sent, and an error
        // only when the first packet could not go; the call that starts
        // with a failing packet says why.
        let n;
        try {
            n = device.send_many(data, lengths);
            sent += n;
        } catch (e) {
            if (!(e instanceof GLib.Error))
                throw e;
            errors.push(e);
            n = 1;
        }
        let skip = 0;
        for (let i = 0; i < n; i++)
            skip += lengths[i];
        data = data.subarray(skip);
        lengths = lengths.slice(n);
    }
    return [sent, errors];
}

const OPTIONS = [
    // long name, short name, argument, description, argument name
    ['name', 'n', GLib.OptionArg.STRING, 'Interface name or template (default tun%d / tap%d)', 'NAME'],
    ['tap', '', GLib.OptionArg.NONE, 'Open a TAP (Ethernet) device instead of TUN', null],
    ['offload', '', GLib.OptionArg.NONE,
        'TUN offloads: the kernel\'s super-packets split in the library, replies coalesced', null],
    ['reply', 'r', GLib.OptionArg.NONE, 'Answer pings (and reflect UDP/TCP) instead of echoing verbatim', null],
    ['quiet', 'q', GLib.OptionArg.NONE, 'Do not print a line per packet', null],
    ['address', 'a', GLib.OptionArg.STRING_ARRAY, 'Add an address, IPv4 or IPv6 (repeatable), and bring the link up', 'CIDR'],
    ['peer', 'p', GLib.OptionArg.STRING_ARRAY, 'Point-to-point peer of the preceding --address', 'ADDR'],
    ['mtu', 'm', GLib.OptionArg.INT, 'Set the MTU and bring the link up', 'N'],
];

class UsageError extends Error {}

/**
 * Pairs the --address and --peer values GOption collected: a --peer belongs
 * to the --address before it. GOption keeps each option's values in order,
 * not their order relative to each other, so argv (which it has already
 * checked) is read for the order of the two options alone.
 *
 * @returns {Array} [address, peer or null] in command-line order
 */
function pairAddresses(argv, addresses, peers) {
    const order = [];   // 'a' or 'p' per occurrence
    const valued = new Set(['n', 'a', 'p', 'm']);
    const longs = new Map([['name', 'n'], ['address', 'a'], ['peer', 'p'], ['mtu', 'm']]);
    for (let i = 1; i < argv.length && argv[i] !== '--'; i++) {
        const arg = argv[i];
        if (arg.startsWith('--')) {
            const [long, value] = arg.slice(2).split(/=(.*)/s);
            const key = longs.get(long);
            if (key === 'a' || key === 'p')
                order.push(key);
            if (key !== undefined && value === undefined)
                i++;   // the value is the next argument
        } else if (arg.startsWith('-')) {
            // Short options, grouped: each one taking a value takes the
            // next argument.
            for (const c of arg.slice(1)) {
                if (c === 'a' || c === 'p')
                    order.push(c);
                if (valued.has(c))
                    i++;
            }
        }
    }

    const pairs = [];
    let a = 0, p = 0;
    for (const key of order) {
        if (key === 'a') {
            pairs.push([addresses[a++], null]);
            continue;
        }
        const peer = peers[p++];
        const last = pairs[pairs.length - 1];
        if (last === undefined)
            throw new UsageError(`--peer ${peer} must follow the --address it belongs to`);
        if (last[1] !== null)
            throw new UsageError(`--address ${last[0]} has two peers`);
        last[1] = peer;
    }
    return pairs;
}

/**
 * Configures the link through the library, as echo-gmain does: the MTU,
 * then each address in order, then up. Throws a GLib.Error.
 */
function configureLink(device, mtu, addresses) {
    if (mtu !== null)
        device.set_mtu(mtu);
    for (const [address, peer] of addresses)
        device.add_address_from_string(address, peer);
    if (mtu !== null || addresses.length > 0)
        device.set_up(true);
}

/**
 * The echo, as a Gio.Application (no application ID: nothing registered on
 * D-Bus, any number may run); its options are GOption's, as echo-gmain's.
 */
function main(argv) {
    GLib.set_prgname('echo.js');
    const app = new Gio.Application({flags: Gio.ApplicationFlags.NON_UNIQUE});
    app.set_option_context_parameter_string('- echo packets through a TUN/TAP device');
    for (const [long, short, arg, description, argName] of OPTIONS) {
        app.add_main_option(long, short ? short.charCodeAt(0) : 0, GLib.OptionFlags.NONE, arg,
            description, argName);
    }

    let opts = null;
    app.connect('handle-local-options', (_app, dict) => {
        const o = dict.end().recursiveUnpack();
        try {
            opts = {
                name: o.name ?? null, tap: o.tap ?? false, offload: o.offload ?? false,
                reply: o.reply ?? false, quiet: o.quiet ?? false, mtu: o.mtu ?? null,
                addresses: pairAddresses(argv, o.address ?? [], o.peer ?? []),
            };
        } catch (e) {
            if (!(e instanceof UsageError))
                throw e;
            printerr(`echo.js: ${e.message}`);
            return 2;
        }
        return -1;   // go on: activate
    });
    let status = 0;
    app.connect('activate', () => {
        status = echo(app, opts, s => (status = s));
    });
    const exit = app.run(argv);
    return exit !== 0 ? exit : status;
}

/**
 * Starts the echo with the parsed options, holding app until SIGINT,
 * SIGTERM or the device closes; then calls done(exit status). Returns the
 * exit status so far (1 when the device could not be made).
 */
function echo(app, opts, done) {
    const {tap, reply, quiet} = opts;

    let device;
    try {
        device = new TunTap.Device({name: opts.name ?? (tap ? 'tap%d' : 'tun%d'),
            mode: tap ? TunTap.Mode.TAP : TunTap.Mode.TUN, offload: opts.offload});
        device.init(null);
    } catch (e) {
        printerr(`echo.js: ${e.message}`);
        return 1;
    }

    try {
        configureLink(device, opts.mtu, opts.addresses);
    } catch (e) {
        printerr(`echo.js: ${e.message}`);
        device.close();
        return 1;
    }

    const name = device.get_name();
    let received = 0, sent = 0, status = 0, sources = [];
    const finish = () => {
        if (sources.length === 0)
            return;   // finished already
        sources.forEach(id => GLib.source_remove(id));
        sources = [];
        if (!quiet)
            print(`${name}: packets received: ${received}, sent: ${sent}`);
        device.close();
        done(status);
        app.release();
    };

    // One call per main-loop wake-up with every packet read in it,
    // answered with one send_many(). print() flushes every line, so each
    // packet shows up even in a pipe.
    const onPackets = (dev, packets, lengths) => {
        received += lengths.length;
        // A view of the GLib.Bytes, not a copy; it must stay unchanged.
        let data = packets.toArray();
        if (!quiet) {
            for (let i = 0, o = 0; i < lengths.length; o += lengths[i++])
                print(`${name}: ${describe(data.subarray(o, o + lengths[i]), tap)}`);
        }
        if (reply) {
            [data, lengths] = reflectBatch(data, lengths, tap);
            if (lengths.length === 0)
                return;
        }
        const [n, errors] = sendMany(dev, data, lengths);
        sent += n;
        if (!quiet) {
            for (const e of errors)
                printerr(`echo.js: ${e.message}`);
        }
    };

    device.connect('packets-received', onPackets);
    device.connect('closed', (dev, error) => {
        if (error !== null) {
            printerr(`echo.js: ${error.message}`);
            status = 1;
        }
        finish();
    });
    const onSignal = () => {
        finish();
        return GLib.SOURCE_REMOVE;
    };
    const SIGINT = 2, SIGTERM = 15;
    sources = [SIGINT, SIGTERM].map(signal => GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal, onSignal));

    app.hold();
    print(name);
    return 0;
}

// Run only as the program, not when imported by the tests.
if (GLib.filename_from_uri(import.meta.url)[0] === System.programPath) {
    const status = main([System.programInvocationName, ...System.programArgs]);
    if (status !== 0)
        System.exit(status);
}
