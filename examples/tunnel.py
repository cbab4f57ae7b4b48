#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tunnel.py: examples/tunnel.c in Python, on tuntap-glib through PyGObject:
# a point-to-point IP tunnel over UDP. The same options, the same ready
# line, the same wire format (one IP packet per UDP datagram), so either
# end can be the C, Python or gjs program.
#
# THIS IS A VPN WITHOUT ENCRYPTION OR AUTHENTICATION: packets cross the
# network in clear text, and anyone who can send from the peer's address
# and port injects packets into this host. Seal each packet (an AEAD with a
# per-packet nonce, keys from a handshake) in send_to_peer() before it
# leaves, and open and verify it in on_readable() before deliver().
#
# What each side does, and why:
# - TUN: one ::packets-received per main-loop wake-up and one
#   send_many_bytes() per batch from the peer, so Python runs once per
#   batch, not per packet.
#   With offloads (the default) the library splits the kernel's
#   super-packets and merges what we write back into them, in C.
# - Socket: a Gio.Socket is created, bound, connected and sized through
#   GIO, and watched in the main loop. From PyGObject 3.42
#   Gio.Socket.receive_from() returns no data (the buffer is an (out
#   caller-allocates) array), send_messages()/receive_messages() take raw
#   pointers, and GIO has no control message for UDP_SEGMENT or UDP_GRO. So:
#   * sending goes through Python's socket module on the same socket:
#     Python has no sendmmsg, but sendmsg() with a UDP_SEGMENT control
#     message carries a whole run of equal-sized packets in one call; the
#     runs are found with itertools.groupby, so the Python code runs per
#     batch and per run, never per packet;
#   * receiving is TunTap.socket_receive_many(): every datagram waiting, in
#     one call, as a GLib.Bytes and lengths (UDP_GRO set as a socket
#     option: the kernel joins a run of datagrams, the library cuts it
#     back), which go into the device as they are, each datagram being one
#     packet. A loop of recvmsg_into() with UDP_GRO, copying the wake-up's
#     datagrams into one bytes object, carried 5.0x OpenVPN's throughput in
#     the tunnel benchmark, this 5.8x (same rounds).
#   Without UDP_SEGMENT/UDP_GRO (older kernels) it is one datagram per
#   packet on the wire.
#
# Backpressure and counting are as in tunnel.c: a full socket pauses the
# device (`receiving`) until a G_IO_OUT watch has sent the rest; every
# packet that could not be carried is counted and printed at exit.

import argparse
import os
import signal
import socket
import struct
import sys
from itertools import accumulate, groupby

import gi

gi.require_version("TunTap", "1.0")
from gi.repository import Gio, GLib, TunTap  # noqa: E402

SOL_UDP = 17
UDP_SEGMENT = 103
UDP_GRO = 104
SO_SNDBUFFORCE = 32        # not in Python's socket module
SO_RCVBUFFORCE = 33
SOCKET_BUFFER = 4 * 1024 * 1024
MAX_SEGMENTS = 64          # UDP_MAX_SEGMENTS before Linux 6.10
RECV_BYTES = 256 * 1024    # taken from the socket per wake-up
PENDING_MAX = 4 * 1024 * 1024

_segment = struct.Struct("=H")


def run_ends(lengths):
    """The index after each run of equal lengths: [3, 5] for [9, 9, 9, 4, 4]."""
    return list(accumulate(len(list(run)) for _, run in groupby(lengths)))


def parse_endpoint(option, text):
    """ADDR:PORT, with IPv6 in brackets, as a Gio.InetSocketAddress."""
    try:
        parsed = Gio.NetworkAddress.parse(text, 0)
    except GLib.Error as e:
        raise ValueError(f"{option} {text}: {e.message}")
    address = Gio.InetAddress.new_from_string(parsed.get_hostname())
    if address is None or parsed.get_port() == 0:
        raise ValueError(f"{option} {text}: write an IP address and a port, such as "
                         "203.0.113.1:5000 or [2001:db8::1]:5000")
    return Gio.InetSocketAddress.new(address, parsed.get_port())


def open_socket(local, peer):
    family = local.get_family()
    if peer.get_family() != family:
        raise ValueError("--local and --peer must both be IPv4 or both IPv6")
    gsocket = Gio.Socket.new(family, Gio.SocketType.DATAGRAM, Gio.SocketProtocol.UDP)
    gsocket.set_blocking(False)
    # The *FORCE options need CAP_NET_ADMIN; without it the plain ones give
    # what net.core.[wr]mem_max allows.
    for force, plain in ((SO_SNDBUFFORCE, socket.SO_SNDBUF),
                         (SO_RCVBUFFORCE, socket.SO_RCVBUF)):
        try:
            gsocket.set_option(socket.SOL_SOCKET, force, SOCKET_BUFFER)
        except GLib.Error:
            gsocket.set_option(socket.SOL_SOCKET, plain, SOCKET_BUFFER)
    # Connected: the kernel drops datagrams from anyone but the peer (no
    # authentication: that address can be forged).
    gsocket.bind(local, False)
    gsocket.connect(peer, None)
    return gsocket


def probe(gsocket, option, value):
    try:
        return gsocket.set_option(SOL_UDP, option, value)
    except GLib.Error:
        return False


def configure_device(device, mtu, address, peer_address):
    """MTU, the address (with its point-to-point peer), then up: through the
    library. As with iproute2's `peer ADDR/PREFIX`, a prefix on the peer is
    the address's prefix, so the kernel's route for it covers the peer's
    network."""
    peer = None
    if peer_address:
        peer, _, prefix = peer_address.partition("/")
        if prefix:
            if "/" not in address:
                address = f"{address}/{prefix}"
            elif address.partition("/")[2] != prefix:
                raise ValueError(f"--address {address} and --peer-address {peer_address} "
                                 "have different prefixes: give it once")
    device.set_mtu(mtu)
    device.add_address_from_string(address, peer)
    device.set_up(True)


class Tunnel:
    def __init__(self, device, gsocket, quiet, udp_offload):
        self.device = device
        self.gsocket = gsocket
        # The same socket for Python's sendmsg(); the dup shares everything
        # (options, binding, O_NONBLOCK) with the GSocket.
        self.sock = socket.socket(fileno=os.dup(gsocket.get_fd()))
        self.quiet = quiet
        # Probes: a kernel without them refuses the option.
        self.gso = udp_offload and probe(gsocket, UDP_SEGMENT, 0)
        self.gro = udp_offload and probe(gsocket, UDP_GRO, 1)
        self.max_datagram = 65535 - 8 - (20 if self.sock.family == socket.AF_INET else 0)
        self.gso_refused = 1 << 32
        self.pending = bytearray()
        self.pending_lengths = []
        self.writable = 0
        self.to_peer_packets = self.to_peer_sends = 0
        self.from_peer_packets = self.from_peer_receives = 0
        self.delivered = self.pauses = 0
        self.dropped_to_peer = self.dropped_to_device = self.dropped_truncated = 0
        self.warned = set()

    def warn_once(self, what, message):
        if self.quiet or what in self.warned:
            return
        self.warned.add(what)
        print(f"tunnel.py: {what}: {message} (reported once)", file=sys.stderr)

    # ---- TUN -> peer ----

    def send_to_peer(self, data, lengths):
        """Sends the packets of data; returns how many were dealt with (sent,
        or dropped and counted), fewer than len(lengths) only when the socket
        would block."""
        # Released on return: the pending bytearray is resized afterwards.
        with memoryview(data) as view:
            return self._send_to_peer(view, lengths)

    def _send_to_peer(self, view, lengths):
        n = len(lengths)
        # Where each run of equal lengths ends, found once in C (groupby),
        # so the loop below costs Python per send, not per packet.
        ends = run_ends(lengths) if self.gso else ()
        run = 0
        i = off = 0
        refused_retries = 0
        while i < n:
            size = lengths[i]
            count = 1
            total = size
            # A run of one size and one shorter packet after it: the shape
            # UDP_SEGMENT cuts back into the same datagrams.
            if self.gso and size < self.gso_refused:
                while ends[run] <= i:
                    run += 1
                count = min(ends[run] - i, MAX_SEGMENTS, max(1, self.max_datagram // size))
                total = count * size
                after = i + count
                if (after < n and count < MAX_SEGMENTS and lengths[after] < size
                        and total + lengths[after] <= self.max_datagram):
                    total += lengths[after]
                    count += 1
            control = [(SOL_UDP, UDP_SEGMENT, _segment.pack(size))] if count > 1 else []
            try:
                self.sock.sendmsg([view[off:off + total]], control)
            except BlockingIOError:
                return i
            except InterruptedError:
                continue
            except ConnectionRefusedError:
                # An earlier datagram's ICMP "port unreachable" (the peer was
                # not listening yet), reported here; nothing was sent.
                refused_retries += 1
                if refused_retries <= 2:
                    continue
                self.dropped_to_peer += count
                self.warn_once("a datagram to the peer was refused", "connection refused")
            except OSError as e:
                if control and e.errno in (22, 90, 5):   # EINVAL, EMSGSIZE, EIO
                    # The kernel would not segment this size: one datagram
                    # per packet for it and any larger.
                    self.gso_refused = min(self.gso_refused, size)
                    continue
                self.dropped_to_peer += count
                self.warn_once("a datagram to the peer was refused", e.strerror)
            else:
                self.to_peer_sends += 1
                self.to_peer_packets += count
            i += count
            off += total
        return n

    def pending_append(self, data, lengths):
        if len(self.pending) + len(data) > PENDING_MAX:
            self.dropped_to_peer += len(lengths)
            self.warn_once("packets to the peer were dropped",
                           "more than 4 MiB waiting for the socket")
            return
        self.pending += data
        self.pending_lengths += lengths

    def pause(self):
        if self.writable:
            return
        self.pauses += 1
        self.device.props.receiving = False
        self.writable = GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, self.sock.fileno(),
                                              GLib.IOCondition.OUT, self.on_writable)

    def on_writable(self, fd, condition):
        done = self.send_to_peer(self.pending, self.pending_lengths)
        del self.pending[:sum(self.pending_lengths[:done])]
        del self.pending_lengths[:done]
        if self.pending_lengths:
            return GLib.SOURCE_CONTINUE
        self.device.props.receiving = True
        self.writable = 0
        return GLib.SOURCE_REMOVE

    def on_packets(self, device, packets, lengths):
        data = packets.get_data()
        if self.pending_lengths:
            # A paused device delivers nothing, so this is only a
            # safeguard: queue behind what waits, in order.
            self.pending_append(data, lengths)
            return
        done = self.send_to_peer(data, lengths)
        if done < len(lengths):
            self.pending_append(data[sum(lengths[:done]):], lengths[done:])
            self.pause()

    # ---- peer -> TUN ----

    def deliver(self, data, lengths):
        """Writes the packets (a GLib.Bytes) into the device; one it refuses
        is counted and skipped, the rest still go."""
        done, offset, n, rest = 0, 0, len(lengths), data
        while done < n:
            try:
                sent = self.device.send_many_bytes(rest, lengths[done:])
                self.delivered += sent
            except GLib.Error as e:
                if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED):
                    self.dropped_to_device += n - done
                    return
                self.warn_once("a packet from the peer was refused", e.message)
                self.dropped_to_device += 1
                sent = 1
            offset += sum(lengths[done:done + sent])
            done += sent
            if done < n:
                rest = GLib.Bytes.new_from_bytes(data, offset, data.get_size() - offset)

    def on_readable(self, fd, condition):
        try:
            data, lengths = TunTap.socket_receive_many(self.gsocket, RECV_BYTES, None)
        except GLib.Error as e:
            # INVALID_DATA: a datagram the kernel could not hand over whole,
            # dropped. WOULD_BLOCK: nothing came after all.
            # CONNECTION_REFUSED: our earlier send's ICMP error, now cleared;
            # nothing lost. Anything else is said once; the watch stays.
            if e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.INVALID_DATA):
                self.dropped_truncated += 1
            elif not (e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK)
                      or e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CONNECTION_REFUSED)):
                self.warn_once("receiving from the peer", e.message)
            return GLib.SOURCE_CONTINUE
        self.from_peer_receives += 1
        # An empty datagram carries no packet (the device would refuse it):
        # left out, which moves no byte.
        if 0 in lengths:
            lengths = [n for n in lengths if n]
        self.from_peer_packets += len(lengths)
        if lengths:
            self.deliver(data, lengths)
        return GLib.SOURCE_CONTINUE

    def summary(self, name):
        return (f"{name}: to the peer {self.to_peer_packets} packets in {self.to_peer_sends} sends "
                f"(UDP GSO {'on' if self.gso else 'off'}), from the peer {self.from_peer_packets} "
                f"packets in {self.from_peer_receives} batches (UDP GRO {'on' if self.gro else 'off'}), "
                f"{self.delivered} written to the device; {self.pauses} pauses\n"
                f"{name}: dropped {self.dropped_to_peer} to the peer, {self.dropped_to_device} to the "
                f"device, {self.dropped_truncated} truncated datagrams")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tunnel.py",
        description="A point-to-point IP tunnel over UDP, WITHOUT ENCRYPTION: carries every "
        "packet of a TUN device to a peer in a UDP datagram and writes what the peer sends "
        "into the device. NOT A SECURE VPN: packets cross the network in clear text and are "
        "not authenticated; anyone who can send from the peer's address injects packets. Add "
        "authentication and encryption (see the top of tunnel.py) before using it on a network "
        "you do not control. Prints \"ready IFNAME\" once the device is configured and the "
        "socket bound.")
    parser.add_argument("-l", "--local", required=True, metavar="ADDR:PORT",
                        help="UDP address and port to bind, such as 203.0.113.1:5000")
    parser.add_argument("-p", "--peer", required=True, metavar="ADDR:PORT",
                        help="the other end's UDP address and port")
    parser.add_argument("-a", "--address", required=True, metavar="CIDR",
                        help="this end's tunnel address, such as 198.51.100.1/24")
    parser.add_argument("--peer-address", metavar="ADDR[/PREFIX]",
                        help="the other end's tunnel address, as point-to-point peer "
                        "(a /PREFIX is that of --address)")
    parser.add_argument("-n", "--name", default="tun%d", metavar="IFNAME",
                        help="interface name or template (default tun%%d)")
    parser.add_argument("-m", "--mtu", type=int, default=1420, metavar="N",
                        help="the tunnel's MTU (default 1420: room for IPv6 and UDP headers "
                        "on a 1500-byte wire)")
    parser.add_argument("--no-offload", action="store_true",
                        help="do not ask the TUN device for offloads (super-packets)")
    parser.add_argument("--no-udp-offload", action="store_true",
                        help="do not use UDP GSO/GRO on the socket (one datagram per packet, "
                        "as on kernels without them)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the ready line (and errors), no counters at exit")
    args = parser.parse_args(argv)
    if not 68 <= args.mtu <= 65535:
        parser.error(f"--mtu {args.mtu}: between 68 and 65535")
    try:
        local = parse_endpoint("--local", args.local)
        peer = parse_endpoint("--peer", args.peer)
    except ValueError as e:
        parser.error(str(e))

    try:
        device = TunTap.Device(name=args.name, mode=TunTap.Mode.TUN,
                               offload=not args.no_offload)
        device.init(None)
    except GLib.Error as e:
        print(f"tunnel.py: {e.message}", file=sys.stderr)
        return 1
    try:
        configure_device(device, args.mtu, args.address, args.peer_address)
        gsocket = open_socket(local, peer)
    except (GLib.Error, ValueError) as e:
        print(f"tunnel.py: {getattr(e, 'message', e)}", file=sys.stderr)
        device.close()
        return 1

    tunnel = Tunnel(device, gsocket, args.quiet, not args.no_udp_offload)
    loop = GLib.MainLoop()
    status = 0

    def on_closed(device, error):
        nonlocal status
        if error is not None:
            print(f"tunnel.py: {error.message}", file=sys.stderr)
            status = 1
        loop.quit()

    def on_signal():
        loop.quit()
        return GLib.SOURCE_CONTINUE

    device.connect("packets-received", tunnel.on_packets)
    device.connect("closed", on_closed)
    readable = GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, tunnel.sock.fileno(),
                                     GLib.IOCondition.IN, tunnel.on_readable)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, on_signal)

    name = device.get_name()
    print(f"ready {name}", flush=True)

    loop.run()

    if tunnel.writable:
        # Stopped while the socket was full: what waited is lost, and said so.
        tunnel.dropped_to_peer += len(tunnel.pending_lengths)
        GLib.source_remove(tunnel.writable)
    GLib.source_remove(readable)
    if not args.quiet:
        print(tunnel.summary(name), flush=True)
    device.close()
    tunnel.sock.close()
    gsocket.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
