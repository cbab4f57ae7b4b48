#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# examples/echo.py's describe() and reflect() against echo-reflect.c itself
# (through reflect-oracle): the packets of packets.txt, every truncation of
# them, seeded random mutations and random bytes must get the same line and
# the same answer, byte for byte. The answers to the well-formed requests
# are also checked on their own: valid checksums, the right fields.
#
# Usage: test_reflect.py REFLECT-ORACLE (under unshare -n, like the others)

import os
import random
import socket
import struct
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402

ORACLE = None
MAC = bytes.fromhex("02005e005301")


def load_packets():
    """[(comment, tap, bytes)] from packets.txt."""
    packets = []
    comment = ""
    with open(os.path.join(tuntaptest.HERE, "packets.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                comment = line[1:].strip()
            elif line:
                packets.append((comment, line[0] == "t", bytes.fromhex(line[2:])))
    return packets


def variants(packets):
    """The packets, their truncations, and seeded mutations and noise."""
    rng = random.Random(20240603)
    for _, tap, p in packets:
        yield tap, p
        for n in range(len(p)):
            yield tap, p[:n]
        for _ in range(25):
            q = bytearray(p)
            for _ in range(rng.randrange(1, 4)):
                if q:
                    q[rng.randrange(len(q))] = rng.randrange(256)
            yield tap, bytes(q)
    for _ in range(1500):
        tap = rng.random() < 0.5
        q = bytearray(rng.randbytes(rng.randrange(0, 120)))
        if tap and len(q) >= 14:
            q[12:14] = rng.choice([b"\x08\x00", b"\x86\xdd", b"\x08\x06"])
            if len(q) > 14:
                q[14] = rng.choice([0x45, 0x60, 0x00])
        elif q and rng.random() < 0.8:
            q[0] = rng.choice([0x45, 0x46, 0x4F, 0x60, 0x40])
        yield tap, bytes(q)


def oracle(vectors):
    text = "".join(f"{'t' if tap else 'n'} {p.hex()}\n" for tap, p in vectors)
    proc = subprocess.run([ORACLE], input=text, capture_output=True, text=True, check=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == len(vectors), f"{len(lines)} answers for {len(vectors)} packets"
    return [line.split("\t") for line in lines]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def l4_valid(ip):
    """True if the IPv4 header and L4 checksums of datagram ip are valid."""
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 0xF) * 4
        if checksum(ip[:ihl]) != 0:
            return False
        proto, seg = ip[9], ip[ihl:]
        if proto == 1:
            return checksum(seg) == 0
        pseudo = ip[12:20] + struct.pack("!BBH", 0, proto, len(seg))
    else:
        proto, seg = ip[6], ip[40:]
        pseudo = ip[8:40] + struct.pack("!IxxxB", len(seg), proto)
    return checksum(pseudo + seg) == 0


class AgainstC(unittest.TestCase):
    def setUp(self):
        self.echo = tuntaptest.load_example()
        self.packets = load_packets()

    def test_same_lines_and_answers_as_c(self):
        vectors = list(variants(self.packets))
        self.assertGreater(len(vectors), 4000)
        mismatches = []
        answered = 0
        for (tap, p), (c_line, c_answer) in zip(vectors, oracle(vectors)):
            line = self.echo.describe(p, tap)
            buf = bytearray(p)
            if self.echo.reflect(buf, tap):
                answer = buf.hex()
                answered += 1
            else:
                answer = "-"
                if buf != p:
                    mismatches.append(f"{p.hex()}: changed although not answered")
            if (line, answer) != (c_line, c_answer):
                mismatches.append(f"{'tap' if tap else 'tun'} {p.hex()}:\n"
                                  f"  python {line!r} {answer}\n  c      {c_line!r} {c_answer}")
        self.assertEqual(mismatches[:5], [])
        # The vectors must exercise the answers, not only the refusals.
        self.assertGreater(answered, 500)

    def test_reflect_batch_same_answers_as_c(self):
        # The batch path echo.py runs (answers rewritten in place at their
        # offset in one buffer, an inline IPv4 UDP/TCP fast path, packets
        # without an answer left out) must answer exactly as C does.
        vectors = list(variants(self.packets))
        answers = oracle(vectors)
        rng = random.Random(6)
        for tap in (False, True):
            mode = [(p, a) for (t, p), (_, a) in zip(vectors, answers) if t == tap]
            i = batches = 0
            while i < len(mode):
                chunk = mode[i:i + rng.randrange(1, 65)]
                i += len(chunk)
                batches += 1
                data = b"".join(p for p, _ in chunk)
                lengths = [len(p) for p, _ in chunk]
                expected = [bytes.fromhex(a) for _, a in chunk if a != "-"]
                out, out_lengths = self.echo.reflect_batch(data, lengths, tap)
                self.assertIsInstance(out, bytes)
                self.assertEqual(out_lengths, [len(a) for a in expected])
                if out != b"".join(expected):
                    o = 0
                    for (p, _), a in zip(chunk, expected):
                        self.assertEqual(out[o:o + len(a)].hex(), a.hex(),
                                         f"{'tap' if tap else 'tun'} {p.hex()}")
                        o += len(a)
                    self.fail("batch answers differ")
            self.assertGreater(batches, 50)


class Answers(unittest.TestCase):
    def setUp(self):
        self.echo = tuntaptest.load_example()
        self.packets = {comment: (tap, p) for comment, tap, p in load_packets()}

    def packet(self, prefix):
        matches = [v for c, v in self.packets.items() if c.startswith(prefix)]
        self.assertEqual(len(matches), 1, prefix)
        return matches[0]

    def answer(self, prefix):
        tap, p = self.packet(prefix)
        buf = bytearray(p)
        self.assertTrue(self.echo.reflect(buf, tap), prefix)
        return tap, p, bytes(buf)

    def test_icmp_echo_replies(self):
        for prefix in ("IPv4 ICMP echo request", "IPv6 ICMPv6 echo request"):
            for comment, (tap, p) in self.packets.items():
                if not comment.startswith(prefix):
                    continue
                _, _, a = self.answer(comment)
                self.assertTrue(l4_valid(a), comment)
                v4 = a[0] >> 4 == 4
                t = (a[0] & 0xF) * 4 if v4 else 40
                self.assertEqual(a[t], 0 if v4 else 129, comment)
                src, dst = (slice(12, 16), slice(16, 20)) if v4 else (slice(8, 24), slice(24, 40))
                self.assertEqual((a[src], a[dst]), (p[dst], p[src]), comment)
                self.assertEqual(a[t + 4:], p[t + 4:], comment)

        _, p, a = self.answer("IPv4 ICMP echo request 192.0.2.1")
        self.assertEqual(self.echo.describe(p, False),
                         "84 bytes IPv4 ICMP 192.0.2.1 > 192.0.2.2 type 8")
        self.assertEqual(self.echo.describe(a, False),
                         "84 bytes IPv4 ICMP 192.0.2.2 > 192.0.2.1 type 0")
        _, p, a = self.answer("IPv6 ICMPv6 echo request 2001:db8::1")
        self.assertEqual(self.echo.describe(a, False),
                         "104 bytes IPv6 ICMPv6 2001:db8::2 > 2001:db8::1 type 129")

    def test_udp_tcp_reflected(self):
        _, p, a = self.answer("IPv4 UDP 192.0.2.1:40000")
        self.assertTrue(l4_valid(a))
        self.assertEqual(self.echo.describe(a, False),
                         "33 bytes IPv4 UDP 198.51.100.7:53 > 192.0.2.1:40000")
        _, p, a = self.answer("IPv6 TCP ::ffff:192.0.2.1")
        self.assertTrue(l4_valid(a))
        self.assertEqual(self.echo.describe(p, False),
                         "60 bytes IPv6 TCP ::ffff:192.0.2.1:443 > ::192.0.2.2:50000")

    def test_fragments(self):
        tap, p = self.packet("IPv4 UDP, later fragment")
        self.assertFalse(self.echo.reflect(bytearray(p), tap))
        self.assertEqual(self.echo.describe(p, tap), "60 bytes IPv4 UDP 192.0.2.1 > 192.0.2.2")
        _, _, a = self.answer("IPv4 UDP, first fragment")
        self.assertEqual(a[20:22], struct.pack("!H", 2000))

    def test_arp(self):
        tap, p, a = self.answer("ARP request who-has")
        self.assertTrue(tap)
        self.assertEqual(a[0:6], p[6:12])
        self.assertEqual(a[6:12], MAC)
        self.assertEqual(a[12:22], bytes.fromhex("08060001080006040002"))
        self.assertEqual(a[22:28], MAC)
        self.assertEqual(a[28:32], socket.inet_aton("192.0.2.2"))
        self.assertEqual(a[32:42], p[22:32])
        self.assertEqual(self.echo.describe(a, True), "42 bytes ARP reply 192.0.2.2 > 192.0.2.1")

    def test_neighbour_advertisement(self):
        _, p, a = self.answer("Neighbour solicitation from 2001:db8::1")
        self.assertEqual(a[0:6], p[6:12])
        self.assertEqual(a[6:12], MAC)
        ip6 = a[14:]
        self.assertEqual(struct.unpack("!H", ip6[4:6])[0], 32)
        self.assertEqual(ip6[7], 255)
        self.assertEqual(ip6[8:24], socket.inet_pton(socket.AF_INET6, "2001:db8::2"))
        self.assertEqual(ip6[24:40], socket.inet_pton(socket.AF_INET6, "2001:db8::1"))
        self.assertEqual(ip6[40], 136)
        self.assertEqual(ip6[44], 0x60)
        self.assertEqual(ip6[48:64], ip6[8:24])
        self.assertEqual(ip6[64:72], b"\x02\x01" + MAC)
        self.assertTrue(l4_valid(ip6[:72]))

    def test_no_answer(self):
        for prefix in ("IPv4 ICMP echo reply", "IPv4 ICMP type 8 code 1", "IPv4 GRE",
                       "IPv6 ICMPv6 echo reply", "IPv6 router solicitation",
                       "ARP reply", "Neighbour solicitation for DAD",
                       "Neighbour solicitation from :: with", "Ethernet LLDP",
                       "Ethernet 802.1Q", "Runt frame", "Empty"):
            for comment, (tap, p) in self.packets.items():
                if comment.startswith(prefix):
                    buf = bytearray(p)
                    self.assertFalse(self.echo.reflect(buf, tap), comment)
                    self.assertEqual(buf, p, comment)

    def test_lines(self):
        expected = {
            "Empty TUN packet": "empty packet",
            "Runt frame": "10 bytes, runt frame",
            "IP version 5": "40 bytes, not IPv4/IPv6",
            "IPv4 GRE": "28 bytes IPv4 proto 47 192.0.2.1 > 192.0.2.2",
            "Ethernet LLDP": "60 bytes ethertype 0x88cc",
            "IPv6 hop-by-hop": "56 bytes IPv6 proto 0 fe80::1 > ff02::16",
            "IPv6 UDP 2001:db8:0:1::5": "52 bytes IPv6 UDP 2001:db8:0:1::5:5353 > "
                                        "2001:db8::1:0:0:1:5353",
        }
        for prefix, line in expected.items():
            tap, p = self.packet(prefix)
            self.assertEqual(self.echo.describe(p, tap), line)


if __name__ == "__main__":
    ORACLE = sys.argv[1]
    tuntaptest.main()
