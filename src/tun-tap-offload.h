/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Offloads, the pure part: the virtio-net header the kernel puts before
 * every packet of a TUN opened with IFF_VNET_HDR, and the splitting of a
 * GSO super-packet (TCP over IPv4/IPv6, UDP_L4) into the MTU-sized packets
 * it stands for, every length, IP ID, sequence number, flag and checksum
 * as if the kernel had sent them one by one; partial checksums
 * (NEEDS_CSUM) on ordinary packets are completed. No I/O: the input is
 * untrusted bytes from the kernel, and this file is fuzzed
 * (tests/fuzz/fuzz-offload-split.c). The facts it follows are in
 * shared/docs/offloads.md §1.2 and linux-tun-behaviour.md §6.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* struct virtio_net_hdr: flags, gso_type, then five 16-bit fields in the
 * host's byte order (the kernel's “legacy” layout, TUNGETVNETLE 0). The
 * values are the virtio specification's, spelt here because older kernel
 * headers lack UDP_L4. */
#define TUN_TAP_VNET_HDR_LEN 10
#define TUN_TAP_VNET_F_NEEDS_CSUM 1
#define TUN_TAP_VNET_GSO_NONE     0
#define TUN_TAP_VNET_GSO_TCPV4    1
#define TUN_TAP_VNET_GSO_UDP      3
#define TUN_TAP_VNET_GSO_TCPV6    4
#define TUN_TAP_VNET_GSO_UDP_L4   5
#define TUN_TAP_VNET_GSO_ECN      0x80

/* At most this many packets from one super-packet: a real one holds 64 KiB
 * cut by an MTU of at least 68; a gso_size of a few bytes is refused. */
#define TUN_TAP_OFFLOAD_MAX_SEGMENTS 2048

/* The Internet checksum (RFC 1071) of @len bytes at @data, added to the
 * unfolded 32-bit @sum; returns the unfolded sum. Fold and complement with
 * tun_tap_checksum_finish(). */
guint32  tun_tap_checksum_add     (const guint8 *data,
                                   gsize         len,
                                   guint32       sum);
guint16  tun_tap_checksum_finish  (guint32       sum);

/* Splits one read of a vnet TUN (@len bytes at @data: the 10-byte header,
 * then the packet) into packets appended to @out, each length appended to
 * @lengths (guint). Returns the number of packets (1 for a packet that
 * was not a super-packet), or 0 when the read is malformed: then nothing
 * was appended and the caller drops it. Pure. */
guint    tun_tap_offload_split    (const guint8 *data,
                                   gsize         len,
                                   GByteArray   *out,
                                   GArray       *lengths);

/* Room for the header of one coalesced write: the virtio-net header, then
 * the head packet's IP and TCP headers (at most 60 + 60 bytes), patched. */
#define TUN_TAP_OFFLOAD_HEADER_MAX (TUN_TAP_VNET_HDR_LEN + 128)

/* At most this many packets in one coalesced write (one iovec each, plus
 * the header; the kernel takes 1024). */
#define TUN_TAP_OFFLOAD_MAX_COALESCE 1000

/* What may be coalesced (the `coalesce` property's flags). */
#define TUN_TAP_OFFLOAD_COALESCE_TCP 1
#define TUN_TAP_OFFLOAD_COALESCE_UDP 2

/* The kernels that took UDP GSO writes first refused more than 64
 * segments (shared/docs/offloads.md §1.6, §1.8.1). */
#define TUN_TAP_OFFLOAD_MAX_UDP_SEGMENTS 64

/* How many of the @n packets starting at @first (packet i at @data +
 * @offsets[i], @lengths[i] bytes) can go to the kernel as one super-packet
 * of a protocol in @protocols, by the kernel's own GRO rules. TCP: same
 * flow and ACK number, equal IP and TCP header fields but for lengths and
 * sequence numbers, adjacent sequence numbers, flags ACK (PSH only on the
 * last). UDP: same flow, equal IP fields, 64 segments at most. Both: every
 * segment as long as the first but a shorter last one, every checksum
 * valid (an IPv4 UDP checksum of 0 is none), 65,535 bytes at most.
 * Returns at least 1. For more than 1,
 * @header gets the virtio-net header (GSO, NEEDS_CSUM with the folded
 * pseudo-header sum in place) followed by the head packet's headers
 * patched for the whole, *@header_len its length, and *@payload_offset the
 * length of the head packet's own headers: the write is @header, then from
 * each packet its bytes from *@payload_offset on. Pure. */
guint    tun_tap_offload_coalesce (const guint8 *data,
                                   const gsize  *offsets,
                                   const guint  *lengths,
                                   guint         n,
                                   guint         first,
                                   guint         protocols,
                                   guint8        header[TUN_TAP_OFFLOAD_HEADER_MAX],
                                   gsize        *header_len,
                                   gsize        *payload_offset);

G_END_DECLS
