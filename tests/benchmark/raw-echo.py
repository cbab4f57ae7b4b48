#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Variant (e) of the echo benchmark: the original recipe's style in plain
# Python, what a user writes without tuntap-glib. Open /dev/net/tun, attach
# with fcntl.ioctl(TUNSETIFF), then loop os.read()/os.write(), answering the
# way echo-gmain --reply does for the benchmark's traffic: UDP and TCP
# reflected by swapping addresses and ports (both checksums stay valid),
# ICMP echo requests turned into replies.
#
# Same options as the echo examples: --name, --reply and --quiet (implied).
# The interface name is the first line on stdout.

import argparse
import fcntl
import os
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

# The recipe reads one MTU-sized packet per call; 2048 covers MTU 1500.
READ_SIZE = 2048


def reflect(p):
    """Turns the request in bytearray p into its answer; False if none."""
    if len(p) < 20:
        return False
    version = p[0] >> 4
    if version == 4:
        ihl = (p[0] & 0x0F) * 4
        if ihl < 20 or len(p) < ihl + 8 or (p[6] & 0x1F) or p[7]:
            return False
        proto = p[9]
        if proto == 17 or proto == 6:
            p[ihl:ihl + 4] = p[ihl + 2:ihl + 4] + p[ihl:ihl + 2]
        elif proto == 1 and p[ihl] == 8 and p[ihl + 1] == 0:
            p[ihl] = 0
            csum = struct.unpack_from("!H", p, ihl + 2)[0] + 0x0800
            struct.pack_into("!H", p, ihl + 2, (csum & 0xFFFF) + (csum >> 16))
        else:
            return False
        p[12:20] = p[16:20] + p[12:16]
        return True
    if version == 6:
        if len(p) < 48:
            return False
        proto = p[6]
        if proto == 17 or proto == 6:
            p[40:44] = p[42:44] + p[40:42]
        elif proto == 58 and p[40] == 128 and p[41] == 0:
            p[40] = 129
            csum = struct.unpack_from("!H", p, 42)[0] - 0x0100
            if csum <= 0:
                csum -= 1
            struct.pack_into("!H", p, 42, csum & 0xFFFF)
        else:
            return False
        p[8:40] = p[24:40] + p[8:24]
        return True
    return False


def main():
    parser = argparse.ArgumentParser(description="Plain-Python TUN echo (benchmark baseline)")
    parser.add_argument("--name", "-n", default="tun%d")
    parser.add_argument("--reply", "-r", action="store_true")
    parser.add_argument("--quiet", "-q", action="store_true")
    parser.add_argument("--tap", action="store_true")
    args = parser.parse_args()
    if args.tap:
        sys.exit("raw-echo.py: only TUN is implemented")

    tun = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", args.name.encode(), IFF_TUN | IFF_NO_PI)
    ifr = fcntl.ioctl(tun, TUNSETIFF, ifr)
    print(ifr[:16].rstrip(b"\0").decode(), flush=True)

    while True:
        packet = bytearray(os.read(tun, READ_SIZE))
        if reflect(packet):
            os.write(tun, packet)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
