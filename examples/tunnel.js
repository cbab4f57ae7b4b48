// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tunnel.js: examples/tunnel.c in JavaScript, on tuntap-glib through gjs
// (run with `gjs -m tunnel.js`): a point-to-point IP tunnel over UDP. The
// same options, the same ready line, the same wire format (one IP packet
// per UDP datagram), so either end can be the C, Python or gjs program.
//
// THIS IS A VPN WITHOUT ENCRYPTION OR AUTHENTICATION: packets cross the
// network in clear text, and anyone who can send from the peer's address
// and port injects packets into this host. Seal each packet (an AEAD with a
// per-packet nonce, keys from a handshake) in sendToPeer() before it
// leaves, and open and verify it in onReadable() before deliver().
//
// What each side does, and why:
// - TUN: one ::packets-received per main-loop wake-up, so JavaScript runs
//   once per batch, not per packet; one send_many_bytes() per wake-up
//   of the socket, with the GLib.Bytes its datagrams came in (gjs
//   copies a Uint8Array passed to send_many(), not a GLib.Bytes). With
//   offloads (the default) the library splits the kernel's super-packets
//   and merges what we write back into them, in C.
// - Socket: everything through Gio.Socket, since gjs has no other socket.
//   gjs 1.74 cannot call Gio.Socket.receive()/receive_from() (the buffer is
//   an (out caller-allocates) array) nor send_messages()/receive_messages()
//   (raw pointers), and GIO has no control messages for UDP GSO/GRO. So:
//   * sending: UDP_SEGMENT set as a socket option (Gio.Socket.set_option)
//     to the size of the run about to go, then one send() of the whole
//     run, which the kernel cuts into one datagram per packet. send()
//     takes a Uint8Array (a view of the batch), which gjs copies: a slice
//     of the GLib.Bytes (new_from_bytes()) written to the socket's output
//     stream would not be, but gjs 1.74 keeps for ever a reference to a
//     GLib.Bytes one of whose methods is called, so every batch sliced
//     that way would stay in memory (toArray(), a view, is no such
//     method). Nothing here calls a GLib.Bytes method;
//   * receiving: TunTap.socket_receive_many() takes every datagram waiting
//     (UDP_GRO set as a socket option: the kernel joins a run of them, the
//     library cuts it back) in one call, as one GLib.Bytes and lengths,
//     which go into the device as they are: each datagram is one packet.
//     Reading them one by one from the socket's input stream cost a call
//     (and a GLib.Bytes) per datagram, most of this side's CPU: the tunnel
//     benchmark carried 4.2x OpenVPN's throughput that way, 5.8x now.
//   * without UDP_SEGMENT/UDP_GRO (older kernels) it is one datagram per
//     packet on the wire, sent one by one and received, many per call,
//     by the same socket_receive_many().
//
// - Memory: each GLib.Bytes (a batch from the device, a wake-up's
//   datagrams from the socket) is freed only when the garbage collector
//   finalizes its wrapper, and the JavaScript engine does not count the C
//   memory behind it; gjs's own collection by process size runs from a
//   low-priority timeout that a busy main loop never reaches. Left alone,
//   a tunnel under load grew by hundreds of MB per second until the engine
//   collected for its own reasons, and every datagram landed in freshly
//   faulted pages (half of the CPU time). So the tunnel collects itself
//   after every 64 MB of them (held()): a full collection takes 1 to 2 ms
//   whatever it frees, far less than faulting those MB in again, and the
//   memory is reused. After every 16 MB instead, the tunnel benchmark
//   carried about 8 % less; after every 128 MB, no more than with 64 MB,
//   in more memory.
//
// Backpressure and counting are as in tunnel.c: a full socket pauses the
// device (`receiving`) until a G_IO_OUT watch has sent the rest; every
// packet that could not be carried is counted and printed at exit.

import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import TunTap from 'gi://TunTap?version=1.0';
import System from 'system';

const SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
const SOL_UDP = 17, UDP_SEGMENT = 103, UDP_GRO = 104;
const SIGINT = 2, SIGTERM = 15;
const SOCKET_BUFFER = 4 * 1024 * 1024;
const MAX_SEGMENTS = 64;        // UDP_MAX_SEGMENTS before Linux 6.10
const RECV_BYTES = 256 * 1024;  // taken from the socket per wake-up (the most)
const PENDING_MAX = 4 * 1024 * 1024;
// Garbage collection after this much GLib.Bytes memory, or this many of
// them, handed to JavaScript (see held()). The count bounds what the bytes
// cannot see: a batch from the device holds a buffer with room for a whole
// wake-up (over 256 KiB) whatever it carries.
const GC_BYTES = 64 * 1024 * 1024;
const GC_OBJECTS = 1024;

const USAGE = `Usage:
  tunnel.js [OPTION…] - a point-to-point IP tunnel over UDP, WITHOUT ENCRYPTION

Carries every packet of a TUN device to a peer in a UDP datagram, and
writes what the peer sends into the device. NOT A SECURE VPN: packets
cross the network in clear text and are not authenticated; anyone who
can send from the peer's address injects packets. Add authentication
and encryption (see the top of tunnel.js) before using it on a network
you do not control.

Prints "ready IFNAME" once the device is configured and the socket bound.

Options:
  -h, --help                    Show help options
  -l, --local=ADDR:PORT         UDP address and port to bind, such as 203.0.113.1:5000
  -p, --peer=ADDR:PORT          The other end's UDP address and port
  -a, --address=CIDR            This end's tunnel address, such as 198.51.100.1/24
  --peer-address=ADDR[/PREFIX]  The other end's tunnel address, as point-to-point peer (a /PREFIX is that of --address)
  -n, --name=IFNAME             Interface name or template (default tun%d)
  -m, --mtu=N                   The tunnel's MTU (default 1420: room for IPv6 and UDP headers on a 1500-byte wire)
  --no-offload                  Do not ask the TUN device for offloads (super-packets)
  --no-udp-offload              Do not use UDP GSO/GRO on the socket (one datagram per packet, as on kernels without them)
  -q, --quiet                   Print only the ready line (and errors), no counters at exit
`;

class UsageError extends Error {}

function parseArgs(argv) {
    const opts = {
        local: null, peer: null, address: null, peerAddress: null, name: 'tun%d',
        mtu: 1420, noOffload: false, noUdpOffload: false, quiet: false, help: false,
    };
    const flags = new Map([
        ['--no-offload', 'noOffload'], ['--no-udp-offload', 'noUdpOffload'], ['--quiet', 'quiet'], ['-q', 'quiet'],
        ['--help', 'help'], ['-h', 'help'],
    ]);
    const valued = new Map([
        ['--local', 'local'], ['-l', 'local'], ['--peer', 'peer'], ['-p', 'peer'],
        ['--address', 'address'], ['-a', 'address'], ['--peer-address', 'peerAddress'],
        ['--name', 'name'], ['-n', 'name'], ['--mtu', 'mtu'], ['-m', 'mtu'],
    ]);
    for (let i = 0; i < argv.length; i++) {
        let option = argv[i], value;
        const m = /^(--[a-z-]+)=(.*)$/s.exec(option);
        if (m !== null)
            [, option, value] = m;
        if (flags.has(option) && value === undefined) {
            opts[flags.get(option)] = true;
        } else if (valued.has(option)) {
            if (value === undefined) {
                if (i + 1 >= argv.length)
                    throw new UsageError(`Missing argument for ${option}`);
                value = argv[++i];
            }
            opts[valued.get(option)] = value;
        } else {
            throw new UsageError(`Unknown option ${argv[i]}`);
        }
    }
    if (opts.help)
        return opts;
    if (opts.local === null || opts.peer === null || opts.address === null)
        throw new UsageError('--local, --peer and --address are required (see --help)');
    if (!/^\d+$/.test(String(opts.mtu)) || Number(opts.mtu) < 68 || Number(opts.mtu) > 65535)
        throw new UsageError(`--mtu ${opts.mtu}: between 68 and 65535`);
    opts.mtu = Number(opts.mtu);
    return opts;
}

// ADDR:PORT, with IPv6 in brackets, as a Gio.InetSocketAddress.
function parseEndpoint(option, text) {
    let parsed;
    try {
        parsed = Gio.NetworkAddress.parse(text, 0);
    } catch (e) {
        throw new UsageError(`${option} ${text}: ${e.message}`);
    }
    const address = Gio.InetAddress.new_from_string(parsed.get_hostname());
    if (address === null || parsed.get_port() === 0) {
        throw new UsageError(`${option} ${text}: write an IP address and a port, such as ` +
            '203.0.113.1:5000 or [2001:db8::1]:5000');
    }
    return Gio.InetSocketAddress.new(address, parsed.get_port());
}

function openSocket(local, peer) {
    const family = local.get_family();
    if (peer.get_family() !== family)
        throw new UsageError('--local and --peer must both be IPv4 or both IPv6');
    const socket = Gio.Socket.new(family, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP);
    socket.set_blocking(false);
    // The *FORCE options need CAP_NET_ADMIN; without it the plain ones give
    // what net.core.[wr]mem_max allows.
    for (const [force, plain] of [[SO_SNDBUFFORCE, SO_SNDBUF], [SO_RCVBUFFORCE, SO_RCVBUF]]) {
        try {
            socket.set_option(SOL_SOCKET, force, SOCKET_BUFFER);
        } catch (e) {
            socket.set_option(SOL_SOCKET, plain, SOCKET_BUFFER);
        }
    }
    // Connected: the kernel drops datagrams from anyone but the peer (no
    // authentication: that address can be forged).
    socket.bind(local, false);
    socket.connect(peer, null);
    return socket;
}

function probe(socket, option, value) {
    try {
        return socket.set_option(SOL_UDP, option, value);
    } catch (e) {
        return false;
    }
}

// MTU, the address (with its point-to-point peer), then up: through the
// library. As with iproute2's `peer ADDR/PREFIX`, a prefix on the peer is
// the address's prefix, so the kernel's route for it covers the peer's
// network.
function configureDevice(device, mtu, address, peerAddress) {
    let peer = null;
    if (peerAddress !== null) {
        const [addr, prefix] = peerAddress.split('/');
        peer = addr;
        if (prefix !== undefined) {
            if (!address.includes('/'))
                address = `${address}/${prefix}`;
            else if (address.split('/')[1] !== prefix)
                throw new UsageError(`--address ${address} and --peer-address ${peerAddress} have different prefixes: give it once`);
        }
    }
    device.set_mtu(mtu);
    device.add_address_from_string(address, peer);
    device.set_up(true);
}

class Tunnel {
    constructor(device, socket, quiet, udpOffload) {
        this.device = device;
        this.socket = socket;
        this.quiet = quiet;
        // Probes: a kernel without them refuses the option.
        this.gso = udpOffload && probe(socket, UDP_SEGMENT, 0);
        this.gro = udpOffload && probe(socket, UDP_GRO, 1);
        this.segment = 0;   // UDP_SEGMENT as last set on the socket
        this.maxDatagram = 65535 - 8 - (socket.get_family() === Gio.SocketFamily.IPV4 ? 20 : 0);
        this.gsoRefused = Infinity;
        this.pending = new Uint8Array(PENDING_MAX);
        this.pendingBytes = 0;
        this.pendingLengths = [];
        this.writable = 0;
        this.toPeerPackets = this.toPeerSends = 0;
        this.fromPeerPackets = this.fromPeerReceives = 0;
        this.delivered = this.pauses = 0;
        this.droppedToPeer = this.droppedToDevice = this.droppedTruncated = 0;
        this.warned = new Set();
        this.heldBytes = this.heldObjects = 0;
    }

    // Counts a GLib.Bytes of `bytes` bytes given to JavaScript, and
    // collects garbage when enough of them may be waiting for it.
    held(bytes) {
        this.heldBytes += bytes;
        this.heldObjects++;
        if (this.heldBytes >= GC_BYTES || this.heldObjects >= GC_OBJECTS) {
            this.heldBytes = this.heldObjects = 0;
            System.gc();
        }
    }

    warnOnce(what, message) {
        if (this.quiet || this.warned.has(what))
            return;
        this.warned.add(what);
        printerr(`tunnel.js: ${what}: ${message} (reported once)`);
    }

    // The socket's UDP_SEGMENT for a send of `total` bytes in segments of
    // `size`: that size for a run, and for one packet anything that does
    // not cut it (0, or a size at least as large).
    setSegment(size, count, total) {
        const want = count > 1 ? size : this.segment >= total ? this.segment : 0;
        if (want !== this.segment) {
            this.socket.set_option(SOL_UDP, UDP_SEGMENT, want);
            this.segment = want;
        }
    }

    // Sends the packets of data; returns how many were dealt with (sent, or
    // dropped and counted), fewer than lengths.length only when the socket
    // would block.
    sendToPeer(data, lengths) {
        const n = lengths.length;
        let i = 0, off = 0, refusedRetries = 0;
        while (i < n) {
            const size = lengths[i];
            let count = 1, total = size;
            // A run of one size and one shorter packet after it: the shape
            // UDP_SEGMENT cuts back into the same datagrams.
            if (this.gso && size < this.gsoRefused) {
                while (i + count < n && count < MAX_SEGMENTS && lengths[i + count] === size &&
                       total + size <= this.maxDatagram) {
                    total += size;
                    count++;
                }
                if (i + count < n && count < MAX_SEGMENTS && lengths[i + count] < size &&
                    total + lengths[i + count] <= this.maxDatagram) {
                    total += lengths[i + count];
                    count++;
                }
            }
            try {
                if (this.gso)
                    this.setSegment(size, count, total);
                this.socket.send(data.subarray(off, off + total), null);
                this.toPeerSends++;
                this.toPeerPackets += count;
            } catch (e) {
                if (!(e instanceof GLib.Error))
                    throw e;
                if (e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.WOULD_BLOCK))
                    return i;
                if (e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CONNECTION_REFUSED) &&
                    refusedRetries++ < 2) {
                    // An earlier datagram's ICMP "port unreachable" (the
                    // peer was not listening yet), reported here; nothing
                    // was sent.
                    continue;
                }
                if (count > 1 && (e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_ARGUMENT) ||
                                  e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.MESSAGE_TOO_LARGE) ||
                                  e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.FAILED))) {
                    // The kernel would not segment this size: one datagram
                    // per packet for it and any larger.
                    this.gsoRefused = Math.min(this.gsoRefused, size);
                    continue;
                }
                this.droppedToPeer += count;
                this.warnOnce('a datagram to the peer was refused', e.message);
            }
            i += count;
            off += total;
        }
        return n;
    }

    pendingAppend(data, lengths) {
        if (this.pendingBytes + data.length > PENDING_MAX) {
            this.droppedToPeer += lengths.length;
            this.warnOnce('packets to the peer were dropped',
                'more than 4 MiB waiting for the socket');
            return;
        }
        this.pending.set(data, this.pendingBytes);
        this.pendingBytes += data.length;
        this.pendingLengths.push(...lengths);
    }

    pause() {
        if (this.writable !== 0)
            return;
        this.pauses++;
        this.device.receiving = false;
        this.writable = GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, this.socket.get_fd(),
            GLib.IOCondition.OUT, () => this.onWritable());
    }

    onWritable() {
        const done = this.sendToPeer(this.pending.subarray(0, this.pendingBytes),
            this.pendingLengths);
        let bytes = 0;
        for (let i = 0; i < done; i++)
            bytes += this.pendingLengths[i];
        this.pending.copyWithin(0, bytes, this.pendingBytes);
        this.pendingBytes -= bytes;
        this.pendingLengths.splice(0, done);
        if (this.pendingLengths.length > 0)
            return GLib.SOURCE_CONTINUE;
        this.device.receiving = true;
        this.writable = 0;
        return GLib.SOURCE_REMOVE;
    }

    onPackets(packets, lengths) {
        const data = packets.toArray();
        this.held(data.length);
        if (this.pendingLengths.length > 0) {
            // A paused device delivers nothing, so this is only a
            // safeguard: queue behind what waits, in order.
            this.pendingAppend(data, lengths);
            return;
        }
        const done = this.sendToPeer(data, lengths);
        if (done < lengths.length) {
            let skip = 0;
            for (let i = 0; i < done; i++)
                skip += lengths[i];
            this.pendingAppend(data.subarray(skip), lengths.slice(done));
            this.pause();
        }
    }

    // Writes the packets into the device: `packets` is a GLib.Bytes, taken
    // as it is, or a Uint8Array, which gjs copies into one. A packet the
    // device refuses is counted and skipped, and the rest still go.
    deliver(packets, lengths) {
        const n = lengths.length;
        let done = 0, offset = 0, rest = packets;
        while (done < n) {
            let sent;
            try {
                sent = this.device.send_many_bytes(rest, lengths.slice(done));
                this.delivered += sent;
            } catch (e) {
                if (!(e instanceof GLib.Error))
                    throw e;
                if (e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CLOSED)) {
                    this.droppedToDevice += n - done;
                    return;
                }
                this.warnOnce('a packet from the peer was refused', e.message);
                this.droppedToDevice++;
                sent = 1;
            }
            for (let i = 0; i < sent; i++)
                offset += lengths[done++];
            // The rest, through a view (gjs 1.74 leaks a reference to a
            // GLib.Bytes whose own methods, such as new_from_bytes(), are
            // called), copied by gjs; only after a refusal.
            if (done < n)
                rest = (packets instanceof GLib.Bytes ? packets.toArray() : packets).subarray(offset);
        }
    }

    onReadable() {
        let bytes, lengths;
        try {
            [bytes, lengths] = TunTap.socket_receive_many(this.socket, RECV_BYTES, null);
        } catch (e) {
            if (!(e instanceof GLib.Error))
                throw e;
            // INVALID_DATA: a datagram the kernel could not hand over whole,
            // dropped. WOULD_BLOCK: nothing came after all.
            // CONNECTION_REFUSED: our earlier send's ICMP error, now cleared;
            // nothing lost. Anything else is said once; the watch stays.
            if (e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.INVALID_DATA))
                this.droppedTruncated++;
            else if (!e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.WOULD_BLOCK) &&
                     !e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CONNECTION_REFUSED))
                this.warnOnce('receiving from the peer', e.message);
            return GLib.SOURCE_CONTINUE;
        }
        let size = 0, empty = 0;
        for (const len of lengths) {
            size += len;
            if (len === 0)
                empty++;
        }
        this.held(size);
        this.fromPeerReceives++;
        // An empty datagram carries no packet (the device would refuse it):
        // left out, which moves no byte.
        if (empty > 0)
            lengths = lengths.filter(len => len > 0);
        this.fromPeerPackets += lengths.length;
        if (lengths.length > 0)
            this.deliver(bytes, lengths);
        return GLib.SOURCE_CONTINUE;
    }

    summary(name) {
        return `${name}: to the peer ${this.toPeerPackets} packets in ${this.toPeerSends} sends ` +
            `(UDP GSO ${this.gso ? 'on' : 'off'}), from the peer ${this.fromPeerPackets} ` +
            `packets in ${this.fromPeerReceives} batches (UDP GRO ${this.gro ? 'on' : 'off'}), ` +
            `${this.delivered} written to the device; ${this.pauses} pauses\n` +
            `${name}: dropped ${this.droppedToPeer} to the peer, ${this.droppedToDevice} to the ` +
            `device, ${this.droppedTruncated} truncated datagrams`;
    }
}

function main(argv) {
    let opts, local, peer;
    try {
        opts = parseArgs(argv);
        if (opts.help) {
            print(USAGE);
            return 0;
        }
        local = parseEndpoint('--local', opts.local);
        peer = parseEndpoint('--peer', opts.peer);
    } catch (e) {
        if (!(e instanceof UsageError))
            throw e;
        printerr(`tunnel.js: ${e.message}`);
        return 2;
    }

    let device, socket;
    try {
        device = new TunTap.Device({name: opts.name, mode: TunTap.Mode.TUN,
            offload: !opts.noOffload});
        device.init(null);
    } catch (e) {
        printerr(`tunnel.js: ${e.message}`);
        return 1;
    }
    try {
        configureDevice(device, opts.mtu, opts.address, opts.peerAddress);
        socket = openSocket(local, peer);
    } catch (e) {
        printerr(`tunnel.js: ${e.message}`);
        device.close();
        return 1;
    }

    const tunnel = new Tunnel(device, socket, opts.quiet, !opts.noUdpOffload);
    const loop = new GLib.MainLoop(null, false);
    let status = 0;

    device.connect('packets-received', (dev, packets, lengths) => tunnel.onPackets(packets, lengths));
    device.connect('closed', (dev, error) => {
        if (error !== null) {
            printerr(`tunnel.js: ${error.message}`);
            status = 1;
        }
        loop.quit();
    });
    const readable = GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, socket.get_fd(),
        GLib.IOCondition.IN, () => tunnel.onReadable());
    const onSignal = () => {
        loop.quit();
        return GLib.SOURCE_CONTINUE;
    };
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, SIGINT, onSignal);
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, SIGTERM, onSignal);

    const name = device.get_name();
    print(`ready ${name}`);

    loop.run();

    if (tunnel.writable !== 0) {
        // Stopped while the socket was full: what waited is lost, and said so.
        tunnel.droppedToPeer += tunnel.pendingLengths.length;
        GLib.source_remove(tunnel.writable);
    }
    GLib.source_remove(readable);
    if (!opts.quiet)
        print(tunnel.summary(name));
    device.close();
    socket.close();
    return status;
}

export {Tunnel};

// Run as the program (gjs -m tunnel.js), not when a test imports Tunnel
// (nor from a program with no path, such as gjs -c).
if (System.programPath !== null &&
    import.meta.url === Gio.File.new_for_path(System.programPath).get_uri()) {
    const status = main(System.programArgs);
    if (status !== 0)
        System.exit(status);
}
