/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Offloads, the pure part: the virtio-net header the kernel puts before
 * every packet of a TUN opened with IFF_VNET_HDR, and the splitting of a
 * GSO super-packet (TCP over IPv4/IPv6, UDP_L4) into the MTU-sized packets
 * it stands for, every length, IP ID, sequence number, flag and checksum
 * as if the kernel had sent them one by one; partial checksums
 * (NEEDS_CSUM) on ordinary packets are completed; and the other way, the
 * plan that merges the packets of one send_many() call into super-packets
 * per flow. No I/O: the input is untrusted bytes (the kernel's, the
 * application's), and both are fuzzed (tests/fuzz/fuzz-offload-split.c,
 * fuzz-offload-coalesce.c). Plus the registry of the batches handed out,
 * which says when a packet's checksums need not be verified again (the
 * rule is in tun-tap-offload.c's top comment). The facts it follows are
 * in shared/docs/offloads.md §1.2 and linux-tun-behaviour.md §6.
 */
#pragma once

#include <glib.h>

#include "tun-tap-checksum.h"

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

/* Splits one read of a vnet TUN (@len bytes at @data: the 10-byte header,
 * then the packet) into packets appended to @out, each length appended to
 * @lengths (guint). Returns the number of packets (1 for a packet that
 * was not a super-packet), or 0 when the read is malformed: then nothing
 * was appended and the caller drops it. *@computed (optional) says
 * whether the packets' L4 checksums were computed here (every segment of
 * a super-packet, and a finished partial checksum) rather than passed on
 * as the kernel gave them. Pure. */
guint    tun_tap_offload_split    (const guint8 *data,
                                   gsize         len,
                                   GByteArray   *out,
                                   GArray       *lengths,
                                   gboolean     *computed);

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

/* At most this many flows have a super-packet open at once in one
 * send_many() call; a further flow ends the least recently extended one. */
#define TUN_TAP_OFFLOAD_FLOWS 16

/* One write of a send_many() call: the packet @head alone (@count 1), or
 * @count packets as one super-packet, @head first and each next one at
 * next[previous] in the plan's @next array. @payload: the payload bytes
 * of all; @flags: the TCP flags of the last. */
typedef struct {
  guint  head;
  guint  count;
  gsize  payload;
  guint8 flags;
} TunTapOffloadWrite;

/* Plans the writes of the @n packets of one send_many() call (packet i at
 * @data + @offsets[i], @lengths[i] bytes) by the kernel's own GRO rules,
 * for the protocols in @protocols. Packets of one flow (addresses,
 * protocol, ports) merge while, one after the other in the call, they
 * have equal IP and L4 header fields but for lengths, IDs and sequence
 * numbers (TCP: ACK number, window, options too), adjacent sequence
 * numbers, flags ACK (PSH only on the last), every segment as long as the
 * first but a shorter last one, 65,535 bytes, 64 UDP segments, and valid
 * checksums (not computed for packet i when @known_good is not NULL and
 * @known_good[i] is set). Up to TUN_TAP_OFFLOAD_FLOWS flows interleave;
 * any packet of a flow that does not merge ends that flow's super-packet,
 * and a packet that could belong to any flow (a fragment, IPv6 extension
 * headers) ends all of them, so the packets of a flow keep their order.
 * Fills @writes (room for @n) in the order they are to be written, each at
 * the place of its first packet, and @next (@n); returns how many. Pure. */
guint    tun_tap_offload_plan     (const guint8       *data,
                                   const gsize        *offsets,
                                   const guint        *lengths,
                                   guint               n,
                                   guint               protocols,
                                   const guint8       *known_good,
                                   TunTapOffloadWrite *writes,
                                   guint              *next);

/* The header of the super-packet @write (count > 1) of a plan: the
 * virtio-net header (GSO, NEEDS_CSUM with the folded pseudo-header sum in
 * place) followed by the head packet's headers patched for the whole.
 * Returns its length; *@payload_offset gets the length of the head's own
 * headers: the write is the header, then from each packet its bytes from
 * *@payload_offset on. */
gsize    tun_tap_offload_header   (const guint8             *data,
                                   const gsize              *offsets,
                                   const guint              *lengths,
                                   const TunTapOffloadWrite *write,
                                   guint8                    header[TUN_TAP_OFFLOAD_HEADER_MAX],
                                   gsize                    *payload_offset);

/* The batches of packets-received, and when checksums need not be
 * verified again. tun_tap_offload_batch_array_new() gives the array a
 * wake-up fills (empty, room for TUN_TAP_BATCH_CAPACITY bytes, its memory
 * reused from batches gone). tun_tap_offload_batch_publish() turns the
 * packets (@lengths, @n) in @data (taken; made by the former) into the
 * GBytes handed out, and remembers them while that GBytes lives (the 32
 * newest batches at most): the packets whose @computed is set, their checksums
 * computed by the library (split from a super-packet, or a partial checksum
 * finished). @computed may be %NULL: none.
 *
 * tun_tap_offload_batch_known_good() sets @known_good[i] for a packet of
 * a send_many() call (@data + @offsets[i], @lengths[i]) only when it is,
 * by address and length, exactly one of those packets, in a batch still
 * alive, and its L4 checksum field still holds what the library put
 * there. A GBytes is immutable, so such a packet's checksums are right.
 * Any other memory (a copy, a slice that does not start where a packet
 * did, another length, a rewritten checksum) is not known. Any thread. */
GByteArray *tun_tap_offload_batch_array_new (void);
GBytes  *tun_tap_offload_batch_publish    (GByteArray   *data,
                                           const guint  *lengths,
                                           const guint8 *computed,
                                           guint         n);
void     tun_tap_offload_batch_known_good (const guint8 *data,
                                           const gsize  *offsets,
                                           const guint  *lengths,
                                           guint         n,
                                           guint8       *known_good);

/* Passing super-packets through. A wake-up keeps the reads it split in a
 * block of its own (TunTapOffloadRaw, counted references, any thread);
 * each super-packet is a group: packets @first .. @first + @count - 1 of
 * the batch came from the read at @offset in the block (@len bytes:
 * virtio-net header, then the packet). While the batch is handed to
 * ::packets-received, tun_tap_offload_batch_pass_begin() lets send_many()
 * see those reads; tun_tap_offload_batch_pass_end() ends it when the
 * handlers have returned.
 *
 * tun_tap_offload_batch_pass_through() finds, in one send_many() call, the
 * runs of packets that are a whole group, in order, at the very addresses
 * of the batch (the batch itself or a slice of it), each as the library
 * made it (length, checksum field and headers unchanged; the payload is
 * not compared):
 * such a run is the super-packet the kernel gave, and is written as read,
 * in one piece, instead of split, planned and merged again. Only for the
 * protocols in @protocols (by the read's GSO type). Fills @passes (room for
 * @n), each holding a reference to its block (drop it with
 * tun_tap_offload_raw_unref()); returns how many, in the call's order. */
typedef struct {
  gint   ref;
  gsize  capacity;
  guint8 data[];
} TunTapOffloadRaw;

typedef struct {
  guint  first;
  guint  count;
  gsize  offset;
  gsize  len;
} TunTapOffloadGroup;

typedef struct {
  guint             first;
  guint             count;
  const guint8     *read;
  gsize             len;
  TunTapOffloadRaw *raw;
} TunTapOffloadPass;

TunTapOffloadRaw *tun_tap_offload_raw_new    (gsize             capacity);
void              tun_tap_offload_raw_unref  (TunTapOffloadRaw *raw);
gboolean          tun_tap_offload_raw_shared (TunTapOffloadRaw *raw);

void     tun_tap_offload_batch_pass_begin   (GBytes                   *bytes,
                                             TunTapOffloadRaw         *raw,
                                             const TunTapOffloadGroup *groups,
                                             guint                     n_groups);
void     tun_tap_offload_batch_pass_end     (GBytes                   *bytes);
guint    tun_tap_offload_batch_pass_through (const guint8             *data,
                                             const gsize              *offsets,
                                             const guint              *lengths,
                                             guint                     n,
                                             guint                     protocols,
                                             TunTapOffloadPass        *passes);

/* Room in a wake-up's batch: its byte budget, one more read split, and
 * the headers splitting adds (a batch that needs more grows). */
#define TUN_TAP_BATCH_CAPACITY (384 * 1024)

/* Batches that keep a whole block however little they fill of it: past
 * these many held at once, one filling less than half its block gets
 * memory of its own size (see blocks_out in tun-tap-offload-batch.c). */
#define TUN_TAP_BATCH_HELD_WHOLE 2

G_END_DECLS
