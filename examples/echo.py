#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# echo.py: echo-gmain in Python, on tuntap-glib through PyGObject. Every
# packet the kernel routes into the device is printed and written back; with
# --reply, requests are turned into answers so ping works. The reply logic is
# a port of echo-reflect.c, and the output is the same line for line.
# --address CIDR [--peer ADDR] (repeatable) and --mtu N configure the link
# through the library and bring it up, so no `ip` or `ifconfig` is needed.
#
# Packets arrive in batches, one ::packets-received per main-loop wake-up,
# and go back with one send_many(): the handler and the send cross between
# C and Python once per batch rather than once per packet, which makes this
# faster than a hand-written os.read()/os.write() loop (tests/benchmark).
#
# Importing this file runs nothing: the tests use describe(), reflect(),
# reflect_batch() and send_many().

import argparse
import signal
import socket
import struct
import sys

import gi

try:
    gi.require_version("TunTap", "1.0")
except ValueError:
    sys.exit(
        "echo.py: the TunTap-1.0 typelib is not installed where GObject Introspection "
        "looks. From the build tree: meson devenv -C _build /usr/bin/python3 "
        "$PWD/examples/echo.py; after an install into /usr/local: "
        "GI_TYPELIB_PATH=/usr/local/lib/x86_64-linux-gnu/girepository-1.0 "
        "LD_LIBRARY_PATH=/usr/local/lib/x86_64-linux-gnu (see README.md)"
    )
from gi.repository import GLib, TunTap  # noqa: E402

ETH_HLEN = 14
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58

# The MAC address the TAP echo claims for every address it answers for.
REFLECT_MAC = b"\x02\x00\x5e\x00\x53\x01"

_PROTO_NAMES = {
    PROTO_ICMP: "ICMP",
    PROTO_TCP: "TCP",
    PROTO_UDP: "UDP",
    PROTO_ICMPV6: "ICMPv6",
}

_ntop = socket.inet_ntop
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6


def _ip_l4(p, o, n):
    """Parses the IP header at offset o of n bytes.

    Returns (l4, version, proto): l4 is the L4 offset from o, 0 if unusable;
    proto stays -1 when the header is too short to name it.
    """
    if n < 1:
        return 0, 0, -1
    version = p[o] >> 4
    if version == 4:
        ihl = (p[o] & 0x0F) * 4
        if n < 20 or ihl < 20 or ihl > n:
            return 0, 4, -1
        # Only the first fragment carries the L4 header.
        if (p[o + 6] & 0x1F) or p[o + 7]:
            return 0, 4, p[o + 9]
        return ihl, 4, p[o + 9]
    if version == 6:
        if n < 40:
            return 0, 6, -1
        return 40, 6, p[o + 6]   # no extension headers are followed
    return 0, version, -1


def _describe_ip(p, o, n):
    l4, version, proto = _ip_l4(p, o, n)

    if version == 4 and n >= 20:
        src = _ntop(_AF_INET, p[o + 12:o + 16])
        dst = _ntop(_AF_INET, p[o + 16:o + 20])
    elif version == 6 and n >= 40:
        src = _ntop(_AF_INET6, p[o + 8:o + 24])
        dst = _ntop(_AF_INET6, p[o + 24:o + 40])
    else:
        return f"{n} bytes, not IPv4/IPv6"

    pname = _PROTO_NAMES.get(proto) or f"proto {proto}"
    t = o + l4
    if l4 and (proto == PROTO_UDP or proto == PROTO_TCP) and n >= l4 + 4:
        return (f"{n} bytes IPv{version} {pname} "
                f"{src}:{p[t] << 8 | p[t + 1]} > {dst}:{p[t + 2] << 8 | p[t + 3]}")
    if l4 and (proto == PROTO_ICMP or proto == PROTO_ICMPV6) and n >= l4 + 2:
        return f"{n} bytes IPv{version} {pname} {src} > {dst} type {p[t]}"
    return f"{n} bytes IPv{version} {pname} {src} > {dst}"


def describe(p, tap):
    """One line about packet p (bytes-like), as echo_describe() writes it."""
    n = len(p)
    if not tap:
        if n == 0:
            return "empty packet"
        return _describe_ip(p, 0, n)

    if n < ETH_HLEN:
        return f"{n} bytes, runt frame"

    ethertype = p[12] << 8 | p[13]
    if ethertype == ETHERTYPE_IPV4 or ethertype == ETHERTYPE_IPV6:
        if n > ETH_HLEN:
            return _describe_ip(p, ETH_HLEN, n - ETH_HLEN)
    elif ethertype == ETHERTYPE_ARP and n >= ETH_HLEN + 28:
        op = "request" if (p[20] << 8 | p[21]) == 1 else "reply"
        return (f"{n} bytes ARP {op} "
                f"{_ntop(_AF_INET, p[28:32])} > {_ntop(_AF_INET, p[38:42])}")
    return f"{n} bytes ethertype 0x{ethertype:04x}"


def _fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _sum16(s, p, o, n):
    end = o + (n & ~1)
    for i in range(o, end, 2):
        s += p[i] << 8 | p[i + 1]
    if n & 1:
        s += p[end] << 8
    return s


def _adjust_checksum(p, c, old_word, new_word):
    """RFC 1624: HC' = ~(~HC + ~m + m') for one changed 16-bit word at c."""
    s = (~(p[c] << 8 | p[c + 1]) & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    s = _fold(s)
    p[c] = s >> 8
    p[c + 1] = s & 0xFF


def _icmpv6_checksum(p, ip6, icmp_len):
    """ICMPv6 checksum from scratch (pseudo-header plus message)."""
    icmp = ip6 + 40
    p[icmp + 2] = p[icmp + 3] = 0
    s = _sum16(0, p, ip6 + 8, 32) + icmp_len + PROTO_ICMPV6
    s = _fold(_sum16(s, p, icmp, icmp_len))
    p[icmp + 2] = s >> 8
    p[icmp + 3] = s & 0xFF


# The reflect functions work on the n bytes at offset b of p, so that a whole
# batch is answered in place in one bytearray.

# Addresses, then ports, of an IPv4 header without options: swapped with
# one unpack and one pack, far cheaper than slicing and joining.
_SWAP_V4 = struct.Struct("4s4s2s2s")
_swap_v4_get = _SWAP_V4.unpack_from
_swap_v4_put = _SWAP_V4.pack_into

def _reflect_neighbour_solicitation(p, b, n):
    """Answers a neighbour solicitation with an advertisement for REFLECT_MAC."""
    ip6 = b + ETH_HLEN
    icmp = ip6 + 40
    icmp_len = 32   # header, flags, target, target link-layer address option

    if n < ETH_HLEN + 40 + 24 or p[ip6 + 6] != PROTO_ICMPV6 or p[icmp] != 135:
        return False
    # Only a solicitation with the sender's link-layer option has room for
    # the answer; duplicate address detection (from ::) must stay unanswered
    # or the kernel would give up its own address.
    if n < ETH_HLEN + 40 + icmp_len or not any(p[ip6 + 8:ip6 + 24]):
        return False

    p[b:b + 6] = p[b + 6:b + 12]
    p[b + 6:b + 12] = REFLECT_MAC
    p[ip6 + 24:ip6 + 40] = p[ip6 + 8:ip6 + 24]     # dst = solicitor
    p[ip6 + 8:ip6 + 24] = p[icmp + 8:icmp + 24]    # src = target
    p[ip6 + 4] = 0
    p[ip6 + 5] = icmp_len
    p[ip6 + 7] = 255
    p[icmp] = 136
    p[icmp + 1] = 0
    p[icmp + 4:icmp + 8] = b"\x60\x00\x00\x00"     # solicited, override
    p[icmp + 24] = 2                               # target link-layer option
    p[icmp + 25] = 1
    p[icmp + 26:icmp + 32] = REFLECT_MAC
    _icmpv6_checksum(p, ip6, icmp_len)
    return True


def _reflect_arp(p, b, n):
    """Answers an Ethernet/IPv4 ARP request with REFLECT_MAC."""
    arp = b + ETH_HLEN
    if (n < ETH_HLEN + 28 or p[arp:arp + 6] != b"\x00\x01\x08\x00\x06\x04"
            or p[arp + 6] != 0 or p[arp + 7] != 1):
        return False

    p[b:b + 6] = p[b + 6:b + 12]
    p[b + 6:b + 12] = REFLECT_MAC
    p[arp + 7] = 2
    ip = p[arp + 24:arp + 28]
    p[arp + 18:arp + 28] = p[arp + 8:arp + 18]     # target = sender (MAC + IP)
    p[arp + 8:arp + 14] = REFLECT_MAC
    p[arp + 14:arp + 18] = ip
    return True


def _reflect_ip(p, o, n):
    """Answers the IP datagram of n bytes at offset o of p (a TUN packet)."""
    # The hot path of --reply: _ip_l4() inlined, numbers spelt out.
    if n < 1:
        return False
    version = p[o] >> 4
    if version == 4:
        l4 = (p[o] & 0x0F) * 4
        if n < 20 or l4 < 20 or l4 > n or (p[o + 6] & 0x1F) or p[o + 7]:
            return False
        proto = p[o + 9]
    elif version == 6:
        if n < 40:
            return False
        l4 = 40
        proto = p[o + 6]
    else:
        return False
    t = o + l4

    if proto == 17 or proto == 6:   # UDP, TCP
        if n < l4 + 4:
            return False
        # Swapping both ports and both addresses leaves every checksum
        # (IPv4 header, and L4 over the pseudo-header) unchanged.
        if t == o + 20:
            # IPv4 without options: addresses and ports in one go.
            src, dst, sport, dport = _swap_v4_get(p, o + 12)
            _swap_v4_put(p, o + 12, dst, src, dport, sport)
            return True
        p[t:t + 4] = p[t + 2:t + 4] + p[t:t + 2]
    elif proto == 1:                # ICMP
        if version != 4 or n < l4 + 8 or p[t] != 8 or p[t + 1] != 0:
            return False
        p[t] = 0
        _adjust_checksum(p, t + 2, 8 << 8, 0)
    elif proto == 58:               # ICMPv6
        if version != 6 or n < l4 + 8 or p[t] != 128 or p[t + 1] != 0:
            return False
        p[t] = 129
        _adjust_checksum(p, t + 2, 128 << 8, 129 << 8)
    else:
        return False

    if version == 4:
        p[o + 12:o + 20] = p[o + 16:o + 20] + p[o + 12:o + 16]
    else:
        p[o + 8:o + 40] = p[o + 24:o + 40] + p[o + 8:o + 24]
    return True


def _reflect_frame(p, b, n):
    """Answers the Ethernet frame of n bytes at offset b of p (a TAP packet)."""
    if n < ETH_HLEN:
        return False

    ethertype = p[b + 12] << 8 | p[b + 13]
    if ethertype == ETHERTYPE_ARP:
        return _reflect_arp(p, b, n)
    if ethertype == ETHERTYPE_IPV6 and _reflect_neighbour_solicitation(p, b, n):
        return True
    if ethertype == ETHERTYPE_IPV4 or ethertype == ETHERTYPE_IPV6:
        if not _reflect_ip(p, b + ETH_HLEN, n - ETH_HLEN):
            return False
        p[b:b + 12] = p[b + 6:b + 12] + p[b:b + 6]
        return True
    return False


def reflect(p, tap):
    """Rewrites bytearray p in place into its answer, as echo_reflect() does.

    ICMP/ICMPv6 echo requests become replies, UDP and TCP are reflected with
    addresses and ports swapped, and on a TAP device ARP requests and IPv6
    neighbour solicitations are answered with REFLECT_MAC. Returns False,
    leaving p unchanged, when the packet has no answer.
    """
    return (_reflect_frame if tap else _reflect_ip)(p, 0, len(p))



def reflect_batch(data, lengths, tap):
    """Answers a batch as ::packets-received delivers it: the packets of
    @data (bytes-like) back to back, @lengths (a list) giving their sizes.

    Returns (answers, answer_lengths) ready for Device.send_many(): bytes
    holding the answer of every packet that has one, in order, and their
    lengths. @data stays unchanged.
    """
    # One copy of the whole batch, rewritten in place.
    buf = bytearray(data)
    reflect_at = _reflect_frame if tap else _reflect_ip
    get, put = _swap_v4_get, _swap_v4_put
    o = 0
    unanswered = None
    for n in lengths:
        # The common case inline, no call: an IPv4 datagram on a TUN device
        # without options, not a fragment, UDP or TCP. Swapping addresses
        # and ports leaves every checksum valid.
        if (not tap and n >= 24 and buf[o] == 0x45 and not (buf[o + 6] & 0x1F)
                and not buf[o + 7] and (buf[o + 9] == 17 or buf[o + 9] == 6)):
            src, dst, sport, dport = get(buf, o + 12)
            put(buf, o + 12, dst, src, dport, sport)
        elif not reflect_at(buf, o, n):
            if unanswered is None:
                unanswered = set()
            if n:
                unanswered.add(o)
        o += n
    if unanswered is None:
        # bytes, not the bytearray: PyGObject copies a bytearray element by
        # element, a bytes object in one go.
        return bytes(buf), lengths

    # Some had no answer: leave them out (rare; ping on a TAP brings
    # router solicitations and the like).
    out = []
    out_lengths = []
    o = 0
    for n in lengths:
        if n and o not in unanswered:
            out.append(buf[o:o + n])
            out_lengths.append(n)
        o += n
    return b"".join(out), out_lengths


def send_many(device, data, lengths):
    """Device.send_many(), carrying on past a packet the kernel refuses, as
    one send() per packet would.

    Returns (sent, errors): how many packets went, and the GLib.Error of
    each one that did not.
    """
    sent = 0
    errors = []
    while lengths:
        # Like Gio.Socket.send_messages(): the number sent, and an error
        # only when the first packet could not go; the call that starts
        # with a failing packet says why.
        try:
            n = device.send_many(data, lengths)
            sent += n
        except GLib.Error as e:
            errors.append(e)
            n = 1
        data = data[sum(lengths[:n]):]
        lengths = lengths[n:]
    return sent, errors


class _AddressAction(argparse.Action):
    """--address CIDR: appends [CIDR, None] to the ordered list of addresses."""

    def __call__(self, parser, namespace, value, option_string=None):
        # A fresh list per parse, never a shared mutable default.
        namespace.addresses = (namespace.addresses or []) + [[value, None]]


class _PeerAction(argparse.Action):
    """--peer ADDR: the peer of the --address just before it."""

    def __call__(self, parser, namespace, value, option_string=None):
        if not namespace.addresses:
            parser.error(f"--peer {value} must follow the --address it belongs to")
        last = namespace.addresses[-1]
        if last[1] is not None:
            parser.error(f"--address {last[0]} has two peers")
        last[1] = value


def _mtu(value):
    """--mtu N: an int, as GOption reads it; the library judges the range."""
    try:
        mtu = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"cannot parse integer value “{value}”") from None
    if not 0 <= mtu <= 0x7FFFFFFF:
        raise argparse.ArgumentTypeError(f"MTU {value} is out of range")
    return mtu


def configure_link(device, mtu, addresses):
    """Configures the link through the library, as echo-gmain does: the MTU,
    then each address in order, then up. Raises GLib.Error."""
    if mtu is not None:
        device.set_mtu(mtu)
    for address, peer in addresses:
        device.add_address_from_string(address, peer)
    if mtu is not None or addresses:
        device.set_up(True)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="echo.py", description="Echo packets through a TUN/TAP device.")
    parser.add_argument("-n", "--name", metavar="NAME",
                        help="Interface name or template (default tun%%d / tap%%d)")
    parser.add_argument("--tap", action="store_true",
                        help="Open a TAP (Ethernet) device instead of TUN")
    parser.add_argument("-r", "--reply", action="store_true",
                        help="Answer pings (and reflect UDP/TCP) instead of echoing verbatim")
    parser.add_argument("--offload", action="store_true",
                        help="TUN offloads: the kernel's super-packets split in the "
                             "library, replies coalesced")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="Do not print a line per packet")
    parser.add_argument("-a", "--address", action=_AddressAction, metavar="CIDR",
                        dest="addresses",
                        help="Add an address, IPv4 or IPv6 (repeatable), and bring the link up")
    parser.add_argument("-p", "--peer", action=_PeerAction, metavar="ADDR",
                        dest="addresses",
                        help="Point-to-point peer of the preceding --address")
    parser.add_argument("-m", "--mtu", type=_mtu, metavar="N",
                        help="Set the MTU and bring the link up")
    args = parser.parse_args(argv)
    tap, reply, quiet = args.tap, args.reply, args.quiet

    # One line per packet, even into a pipe.
    sys.stdout.reconfigure(line_buffering=True)

    try:
        device = TunTap.Device(name=args.name or ("tap%d" if tap else "tun%d"),
                               mode=TunTap.Mode.TAP if tap else TunTap.Mode.TUN,
                               offload=args.offload)
        device.init(None)
    except GLib.Error as e:
        print(f"echo.py: {e.message}", file=sys.stderr)
        return 1

    try:
        configure_link(device, args.mtu, args.addresses or [])
    except GLib.Error as e:
        print(f"echo.py: {e.message}", file=sys.stderr)
        device.close()
        return 1

    name = device.get_name()
    loop = GLib.MainLoop()
    received = sent = 0
    status = 0
    write = sys.stdout.write

    # One call per main-loop wake-up with every packet read in it, answered
    # with one send_many(): Python runs twice per batch, not per packet.
    def on_packets(device, packets, lengths):
        nonlocal received, sent
        received += len(lengths)
        data = packets.get_data()
        if not quiet:
            o = 0
            for n in lengths:
                write(f"{name}: {describe(data[o:o + n], tap)}\n")
                o += n
        if reply:
            data, lengths = reflect_batch(data, lengths, tap)
            if not lengths:
                return
        n_sent, errors = send_many(device, data, lengths)
        sent += n_sent
        if not quiet:
            for e in errors:
                print(f"echo.py: {e.message}", file=sys.stderr)

    def on_closed(device, error):
        nonlocal status
        if error is not None:
            print(f"echo.py: {error.message}", file=sys.stderr)
            status = 1
        loop.quit()

    def on_signal(*_):
        # From an idle at the loop's priority, not directly: a signal that
        # arrives before loop.run() must still stop it, and an idle of
        # default idle priority would wait for the end of a flood.
        GLib.idle_add(loop.quit, priority=GLib.PRIORITY_DEFAULT)

    device.connect("packets-received", on_packets)
    device.connect("closed", on_closed)
    # SIGINT/SIGTERM through Python's own handlers (PyGObject's
    # MainLoop.run() wakes the loop for them) rather than
    # GLib.unix_signal_add(), which starts GLib's worker thread: every
    # read(2) and write(2) of a threaded process costs more, as echo-gmain
    # measured. Setting SIGINT's handler also keeps ^C from becoming a
    # KeyboardInterrupt.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print(name, flush=True)

    loop.run()

    if not quiet:
        print(f"{name}: packets received: {received}, sent: {sent}")

    device.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
