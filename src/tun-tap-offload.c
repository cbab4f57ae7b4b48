/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Offloads, the byte-level part (see tun-tap-offload.h for each function):
 * the split of GSO super-packets read from the kernel and the plan of
 * send_many()'s writes. The checksum itself is in tun-tap-checksum.c, the
 * registry of the batches handed out in tun-tap-offload-batch.c.
 *
 * THE CHECKSUM RULE OF COALESCING
 *
 * A packet is merged into a super-packet (written with NEEDS_CSUM, so the
 * kernel computes its segments' checksums and verifies nothing) only when
 * its checksums are known to be right. Known means one of:
 *
 * - verified here, against its own bytes, before merging (a head only once
 *   a second packet wants to join it: alone, it goes with a zero header and
 *   the kernel verifies it);
 * - or it is, exactly, a packet this library computed the checksums of:
 *   split from a super-packet or its partial checksum finished, in the
 *   batch of a packets-received emission (or receive_finish()) whose
 *   GBytes is still alive. Exactly: send_many()'s packet starts at the
 *   address where that packet starts in the batch's memory, has its
 *   length, and its L4 checksum field holds what the library put there.
 *
 * The second is sound because a GBytes is immutable: no one may change the
 * batch's bytes while it lives, and while it lives its memory belongs to
 * it, so an address inside it cannot be another buffer's. The registry
 * forgets a batch in the GBytes' free function, before the memory is
 * freed, under the same lock the lookup holds, so a buffer that later
 * lands at the same address is never mistaken for it. Anything else is
 * verified: a copy (as the bindings make: PyGObject's get_data(), and
 * whatever a program assembles), a slice that starts elsewhere, another
 * length, a batch the registry had no room for (32 at most), a packet
 * whose checksum field was changed, packets whose checksums the kernel
 * gave and the library only passed on. A program that writes into a
 * batch's memory anyway, keeping the checksum field as it was, breaks the
 * GBytes contract; the kernel then computes the checksum over what it
 * gets, so such a packet arrives with a checksum made right rather than
 * dropped. That is the whole difference the rule can make.
 */
#include "config.h"

#include "tun-tap-offload.h"

#include <string.h>

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

typedef struct {
  guint8  flags;
  guint8  gso_type;
  guint16 hdr_len;
  guint16 gso_size;
  guint16 csum_start;
  guint16 csum_offset;
} VnetHeader;

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

/* The pseudo-header of RFC 768/793 (IPv4) or RFC 8200 §8.1 (IPv6). */
static guint32
pseudo_header_sum (const guint8 *ip,
                   int           version,
                   guint8        protocol,
                   guint32       l4_length)
{
  guint8 tail[8] = { 0 };
  guint32 sum;

  if (version == 4)
    {
      sum = tun_tap_checksum_add (ip + 12, 8, 0);
      tail[1] = protocol;
      put16 (tail + 2, (guint16) l4_length);
      return tun_tap_checksum_add (tail, 4, sum);
    }
  sum = tun_tap_checksum_add (ip + 8, 32, 0);
  put32 (tail, l4_length);
  tail[7] = protocol;
  return tun_tap_checksum_add (tail, 8, sum);
}

static void
read_header (const guint8 *data,
             VnetHeader   *hdr)
{
  /* Host byte order, whatever alignment the caller's buffer has. */
  hdr->flags = data[0];
  hdr->gso_type = data[1];
  memcpy (&hdr->hdr_len, data + 2, 2);
  memcpy (&hdr->gso_size, data + 4, 2);
  memcpy (&hdr->csum_start, data + 6, 2);
  memcpy (&hdr->csum_offset, data + 8, 2);
}

static guint
append (GByteArray   *out,
        GArray       *lengths,
        const guint8 *data,
        guint         len)
{
  g_byte_array_append (out, data, len);
  g_array_append_val (lengths, len);
  return 1;
}

/* GSO_NONE: the packet as it is, its partial checksum finished when the
 * kernel left one (the field holds the folded pseudo-header sum). */
static guint
finish_one (const VnetHeader *hdr,
            const guint8     *packet,
            gsize             len,
            GByteArray       *out,
            GArray           *lengths)
{
  guint start = out->len;
  gsize field;
  guint32 sum;
  guint16 csum;

  if (len == 0 || len > G_MAXUINT16 + 64)
    return 0;
  if (!(hdr->flags & TUN_TAP_VNET_F_NEEDS_CSUM))
    return append (out, lengths, packet, (guint) len);

  field = (gsize) hdr->csum_start + hdr->csum_offset;
  if (hdr->csum_start >= len || field + 2 > len)
    return 0;

  append (out, lengths, packet, (guint) len);
  sum = get16 (out->data + start + field);
  put16 (out->data + start + field, 0);
  csum = tun_tap_checksum_finish (tun_tap_checksum_add (out->data + start + hdr->csum_start,
                                                         len - hdr->csum_start, sum));
  put16 (out->data + start + field, csum);
  return 1;
}

guint
tun_tap_offload_split (const guint8 *data,
                       gsize         len,
                       GByteArray   *out,
                       GArray       *lengths,
                       gboolean     *computed)
{
  VnetHeader hdr;
  const guint8 *packet;
  gsize plen, hdr_len, payload_len, l4;
  guint8 protocol;
  guint segments;
  int version;
  guint16 ip_id = 0;
  guint32 seq = 0, ip_sum = 0, l4_sum;
  guint8 tmpl[60 + 60];     /* IP and L4 headers, at most */
  guint start, first_length;

  if (data == NULL || len < TUN_TAP_VNET_HDR_LEN)
    return 0;
  read_header (data, &hdr);
  packet = data + TUN_TAP_VNET_HDR_LEN;
  plen = len - TUN_TAP_VNET_HDR_LEN;

  if (computed != NULL)
    *computed = hdr.gso_type != TUN_TAP_VNET_GSO_NONE ||
                (hdr.flags & TUN_TAP_VNET_F_NEEDS_CSUM) != 0;
  if (hdr.gso_type == TUN_TAP_VNET_GSO_NONE)
    return finish_one (&hdr, packet, plen, out, lengths);

  switch (hdr.gso_type)
    {
    case TUN_TAP_VNET_GSO_TCPV4:
    case TUN_TAP_VNET_GSO_TCPV6:
      protocol = IPPROTO_TCP_;
      break;
    case TUN_TAP_VNET_GSO_UDP_L4:
      protocol = IPPROTO_UDP_;
      break;
    default:
      /* ECN, UFO, tunnels: never negotiated, so never trusted. */
      return 0;
    }

  if (plen < 40 || hdr.gso_size == 0)
    return 0;
  version = packet[0] >> 4;
  if ((hdr.gso_type == TUN_TAP_VNET_GSO_TCPV4 && version != 4) ||
      (hdr.gso_type == TUN_TAP_VNET_GSO_TCPV6 && version != 6) ||
      (version != 4 && version != 6))
    return 0;

  /* The L4 header starts at csum_start; the IP header before it must be
   * what it says (IPv4: its IHL; IPv6: at least the fixed 40 bytes, and
   * then next header directly the L4 protocol). */
  l4 = hdr.csum_start;
  if (version == 4 && (l4 != (gsize) (packet[0] & 0x0f) * 4 || l4 < 20 || packet[9] != protocol))
    return 0;
  if (version == 6 && (l4 != 40 || packet[6] != protocol))
    return 0;
  if (hdr.csum_offset != (protocol == IPPROTO_TCP_ ? 16 : 6))
    return 0;

  /* hdr_len is recomputed, never trusted: on a forwarding path the kernel
   * can give the whole first packet's length (wireguard-go). */
  if (protocol == IPPROTO_TCP_)
    {
      gsize doff;

      if (l4 + 20 > plen)
        return 0;
      doff = (gsize) (packet[l4 + 12] >> 4) * 4;
      if (doff < 20)
        return 0;
      hdr_len = l4 + doff;
    }
  else
    hdr_len = l4 + 8;
  if (hdr_len > plen)
    return 0;

  payload_len = plen - hdr_len;
  if (payload_len == 0)
    return 0;
  segments = (guint) ((payload_len + hdr.gso_size - 1) / hdr.gso_size);
  if (segments > TUN_TAP_OFFLOAD_MAX_SEGMENTS || hdr_len + hdr.gso_size > G_MAXUINT16)
    return 0;

  if (version == 4)
    ip_id = get16 (packet + 4);
  if (protocol == IPPROTO_TCP_)
    seq = get32 (packet + l4 + 4);

  /* What every segment's checksums share, summed once: the IPv4 header
   * and the L4 header with the fields that change per segment zeroed
   * (IPv4 length, ID, checksum; TCP sequence number, offset and flags,
   * checksum; UDP length, checksum), and the pseudo-header without its
   * length. Per segment only those fields and the payload are added. */
  memcpy (tmpl, packet, hdr_len);
  if (version == 4)
    {
      memset (tmpl + 2, 0, 4);
      memset (tmpl + 10, 0, 2);
      ip_sum = tun_tap_checksum_add (tmpl, l4, 0);
    }
  if (protocol == IPPROTO_TCP_)
    {
      memset (tmpl + l4 + 4, 0, 4);
      memset (tmpl + l4 + 12, 0, 2);
    }
  else
    memset (tmpl + l4 + 4, 0, 2);
  memset (tmpl + l4 + hdr.csum_offset, 0, 2);
  l4_sum = tun_tap_checksum_add (tmpl + l4, hdr_len - l4,
                                 pseudo_header_sum (packet, version, protocol, 0));

  /* Room for all of them at once. */
  start = out->len;
  first_length = lengths->len;
  g_byte_array_set_size (out, (guint) (start + (gsize) segments * hdr_len + payload_len));
  g_array_set_size (lengths, first_length + segments);

  for (guint i = 0; i < segments; i++)
    {
      gsize offset = hdr_len + (gsize) i * hdr.gso_size;
      gsize seg_len = MIN ((gsize) hdr.gso_size, plen - offset);
      guint total = (guint) (hdr_len + seg_len);
      guint8 *p = out->data + start;
      guint32 sum;
      guint16 csum;

      /* The headers in one fixed-size copy (no library call) where 64
       * bytes fit in the source and in the room left: what lies past
       * them is overwritten by this packet's payload (and, with tiny
       * segments, by the packets after it). */
      if (hdr_len <= 64 && plen >= 64 && (gsize) (p - out->data) + 64 <= out->len)
        memcpy (p, packet, 64);
      else
        memcpy (p, packet, hdr_len);
      g_array_index (lengths, guint, first_length + i) = total;
      start += total;

      if (version == 4)
        {
          put16 (p + 2, (guint16) total);
          put16 (p + 4, (guint16) (ip_id + i));
          put16 (p + 10, tun_tap_checksum_finish (ip_sum + total + (guint16) (ip_id + i)));
        }
      else
        put16 (p + 4, (guint16) (total - 40));

      /* The pseudo-header's length, then the fields of this segment. */
      sum = l4_sum + (total - (guint) l4);
      if (protocol == IPPROTO_TCP_)
        {
          guint32 s = seq + (guint32) (i * hdr.gso_size);
          guint8 flags = packet[l4 + 13];

          put32 (p + l4 + 4, s);
          /* FIN and PSH belong to the last segment only. (From the
           * source, not read back: a load over a byte just stored waits
           * for it.) */
          if (i + 1 < segments)
            flags &= (guint8) ~(0x01 | 0x08);
          p[l4 + 13] = flags;
          sum += (s >> 16) + (s & 0xffff) + (guint32) (packet[l4 + 12] << 8 | flags);
        }
      else
        {
          put16 (p + l4 + 4, (guint16) (total - l4));
          sum += total - (guint) l4;
        }

      /* The payload copied and summed in one pass. */
      csum = tun_tap_checksum_finish (tun_tap_checksum_copy (p + hdr_len, packet + offset,
                                                             seg_len, sum));
      /* UDP: 0 means “no checksum”; a computed 0 is sent as 0xffff. */
      if (protocol == IPPROTO_UDP_ && csum == 0)
        csum = 0xffff;
      put16 (p + l4 + hdr.csum_offset, csum);
    }
  return segments;
}

/* ---- coalescing ------------------------------------------------------------ */

typedef struct {
  const guint8 *p;
  gsize         len;
  int           version;
  gsize         iph;         /* IP header length, where L4 starts */
  gsize         hdr_len;     /* IP + L4 headers */
  gsize         payload;
  guint32       seq;
  guint8        flags;
  guint8        protocol;
} Segment;

#define TCP_ACK 0x10
#define TCP_PSH 0x08

/* The IP part of a coalescing candidate: no IPv4 options or fragments, a
 * valid IPv4 header checksum, no IPv6 extension headers, @protocol next,
 * lengths that match the buffer. Fills @t's IP fields. */
static gboolean
ip_candidate (const guint8 *p,
              gsize         len,
              guint8        protocol,
              gsize         l4_min,
              Segment      *t)
{
  if (len < 20 + l4_min)
    return FALSE;
  t->p = p;
  t->len = len;
  t->version = p[0] >> 4;
  t->protocol = protocol;
  if (t->version == 4)
    {
      if ((p[0] & 0x0f) != 5 || p[9] != protocol || get16 (p + 2) != len ||
          (get16 (p + 6) & 0x3fff) != 0 ||
          tun_tap_checksum_finish (tun_tap_checksum_add (p, 20, 0)) != 0)
        return FALSE;
      t->iph = 20;
      return TRUE;
    }
  if (t->version == 6 && len >= 40 + l4_min && p[6] == protocol &&
      get16 (p + 4) == len - 40)
    {
      t->iph = 40;
      return TRUE;
    }
  return FALSE;
}

/* Whether the L4 checksum of @t verifies (an IPv4 UDP checksum of 0 is
 * none: VXLAN encapsulators send those). */
static gboolean
l4_checksum_ok (const Segment *t)
{
  gsize l4_len = t->len - t->iph;

  if (t->protocol == IPPROTO_UDP_ && t->version == 4 && get16 (t->p + t->iph + 6) == 0)
    return TRUE;
  return tun_tap_checksum_finish (
           tun_tap_checksum_add (t->p + t->iph, l4_len,
                                 pseudo_header_sum (t->p, t->version, t->protocol,
                                                    (guint32) l4_len))) == 0;
}

/* Equal IP fields but for lengths and IDs: version, TOS, DF and TTL (IPv4)
 * or traffic class and hop limit (IPv6), addresses. */
static gboolean
same_ip_flow (const Segment *head,
              const Segment *t)
{
  const guint8 *a = head->p, *b = t->p;

  if (t->version != head->version)
    return FALSE;
  if (head->version == 4)
    return a[1] == b[1] && (a[6] & 0x40) == (b[6] & 0x40) && a[8] == b[8] &&
           memcmp (a + 12, b + 12, 8) == 0;
  return ((a[0] & 0x0f) << 4 | a[1] >> 4) == ((b[0] & 0x0f) << 4 | b[1] >> 4) &&
         a[7] == b[7] && memcmp (a + 8, b + 8, 32) == 0;
}

/* An unfragmented TCP segment with payload, no IP options or IPv6
 * extension headers, flags ACK or ACK|PSH, lengths that match the buffer;
 * or the same for a UDP datagram. Checksums are not looked at here. */
static gboolean
candidate (const guint8 *p,
           gsize         len,
           guint8        protocol,
           Segment      *t)
{
  gsize doff;

  if (protocol == IPPROTO_UDP_)
    {
      /* A header and at least one byte. */
      if (!ip_candidate (p, len, IPPROTO_UDP_, 9, t) || get16 (p + t->iph + 4) != len - t->iph)
        return FALSE;
      t->hdr_len = t->iph + 8;
      t->payload = len - t->hdr_len;
      t->flags = 0;
      t->seq = 0;
      return TRUE;
    }

  if (!ip_candidate (p, len, IPPROTO_TCP_, 20, t))
    return FALSE;
  doff = (gsize) (p[t->iph + 12] >> 4) * 4;
  if (doff < 20 || t->iph + doff >= len)
    return FALSE;
  t->hdr_len = t->iph + doff;
  t->payload = len - t->hdr_len;
  t->flags = p[t->iph + 13];
  if ((t->flags & ~(TCP_ACK | TCP_PSH)) != 0 || !(t->flags & TCP_ACK))
    return FALSE;
  t->seq = get32 (p + t->iph + 4);
  return TRUE;
}

/* Whether @t can follow @head in one super-packet, headers aside from
 * lengths, IDs and sequence numbers: TCP ports, ACK number, data offset,
 * window and options equal; UDP: ports. */
static gboolean
same_headers (const Segment *head,
              const Segment *t)
{
  const guint8 *a = head->p + head->iph, *b = t->p + t->iph;

  if (t->hdr_len != head->hdr_len || !same_ip_flow (head, t))
    return FALSE;
  if (head->protocol == IPPROTO_UDP_)
    return memcmp (a, b, 4) == 0;
  return memcmp (a, b, 4) == 0 && memcmp (a + 8, b + 8, 5) == 0 &&
         memcmp (a + 14, b + 14, 2) == 0 &&
         memcmp (a + 20, b + 20, head->hdr_len - head->iph - 20) == 0;
}

/* What a packet is to the flow table. */
typedef enum {
  KIND_OTHER,     /* not TCP or UDP: belongs to no super-packet's flow */
  KIND_BARRIER,   /* could belong to any flow (fragment, IPv6 extension
                   * headers, garbage): every open super-packet ends */
  KIND_FLOW,      /* TCP or UDP with its ports in reach */
} Kind;

static Kind
classify (const guint8 *p,
          gsize         len,
          guint8       *protocol,
          gsize        *l4)
{
  guint8 next;

  if (len >= 20 && p[0] >> 4 == 4)
    {
      gsize ihl = (gsize) (p[0] & 0x0f) * 4;

      if (ihl < 20 || (get16 (p + 6) & 0x3fff) != 0)
        return KIND_BARRIER;
      next = p[9];
      *l4 = ihl;
    }
  else if (len >= 40 && p[0] >> 4 == 6)
    {
      next = p[6];
      *l4 = 40;
      /* ICMPv6 and “no next header” are flows of their own; any other
       * extension header may hide TCP or UDP. */
      if (next == 58 || next == 59)
        return KIND_OTHER;
    }
  else
    return KIND_BARRIER;

  if (next != IPPROTO_TCP_ && next != IPPROTO_UDP_)
    return p[0] >> 4 == 4 ? KIND_OTHER : KIND_BARRIER;
  if (*l4 + 4 > len)
    return KIND_BARRIER;
  *protocol = next;
  return KIND_FLOW;
}

/* Addresses, protocol and ports of a KIND_FLOW packet. */
static gboolean
same_key (const guint8 *a,
          gsize         a_l4,
          const guint8 *b,
          gsize         b_l4)
{
  if (a[0] >> 4 != b[0] >> 4)
    return FALSE;
  if (a[0] >> 4 == 4)
    {
      if (a[9] != b[9] || memcmp (a + 12, b + 12, 8) != 0)
        return FALSE;
    }
  else if (a[6] != b[6] || memcmp (a + 8, b + 8, 32) != 0)
    return FALSE;
  return memcmp (a + a_l4, b + b_l4, 4) == 0;
}

static guint32
key_hash (const guint8 *p,
          gsize         l4)
{
  guint32 h;

  if (p[0] >> 4 == 4)
    h = get32 (p + 12) ^ get32 (p + 16) * 31u ^ p[9];
  else
    h = get32 (p + 20) ^ get32 (p + 36) * 31u ^ p[6];
  return h ^ get32 (p + l4) * 2654435761u;
}

/* An open super-packet of one flow in the table. */
typedef struct {
  gboolean      used;
  guint32       hash;
  gsize         key_l4;
  Segment       head;
  guint         write;       /* its entry in the plan */
  guint         tail;        /* its last packet */
  gsize         last_payload;
  gboolean      verified;    /* the head's checksum was checked */
  guint         touched;     /* for eviction: the last packet's index */
} Flow;

typedef enum {
  APPEND_OK,
  APPEND_NO,        /* the super-packet ends; the packet may start one */
  APPEND_INVALID,   /* the packet's checksum is wrong: it goes alone */
} Append;

static gboolean
known_or_valid (const Segment *t,
                const guint8  *known_good,
                guint          index)
{
  return (known_good != NULL && known_good[index]) || l4_checksum_ok (t);
}

static Append
try_append (Flow                     *f,
            TunTapOffloadWrite       *w,
            const Segment            *t,
            guint                     index,
            const guint8             *known_good)
{
  const Segment *head = &f->head;

  if (head->protocol != t->protocol || f->last_payload < head->payload ||
      t->payload > head->payload || !same_headers (head, t) ||
      head->hdr_len + w->payload + t->payload > G_MAXUINT16)
    return APPEND_NO;
  if (head->protocol == IPPROTO_TCP_)
    {
      /* A PSH ends a super-packet; the next segment must follow on. */
      if ((w->flags & TCP_PSH) || w->count >= TUN_TAP_OFFLOAD_MAX_COALESCE ||
          t->seq != head->seq + (guint32) w->payload)
        return APPEND_NO;
    }
  else if (w->count >= TUN_TAP_OFFLOAD_MAX_UDP_SEGMENTS)
    return APPEND_NO;

  /* Never merge what the kernel would drop: verify first (the head only
   * once it has a follower; a packet written alone is the kernel's to
   * verify). */
  if (!f->verified)
    {
      if (!known_or_valid (head, known_good, w->head))
        return APPEND_NO;
      f->verified = TRUE;
    }
  if (!known_or_valid (t, known_good, index))
    return APPEND_INVALID;
  return APPEND_OK;
}

static guint
add_write (TunTapOffloadWrite *writes,
           guint              *n_writes,
           guint               index,
           const Segment      *t)
{
  TunTapOffloadWrite *w = &writes[*n_writes];

  w->head = index;
  w->count = 1;
  w->payload = t != NULL ? t->payload : 0;
  w->flags = t != NULL ? t->flags : 0;
  return (*n_writes)++;
}

/* The free slot, or the one least recently added to (its super-packet
 * ends). */
static Flow *
take_slot (Flow flows[TUN_TAP_OFFLOAD_FLOWS])
{
  Flow *oldest = &flows[0];

  for (guint k = 0; k < TUN_TAP_OFFLOAD_FLOWS; k++)
    {
      if (!flows[k].used)
        return &flows[k];
      if (flows[k].touched < oldest->touched)
        oldest = &flows[k];
    }
  oldest->used = FALSE;
  return oldest;
}

guint
tun_tap_offload_plan (const guint8       *data,
                      const gsize        *offsets,
                      const guint        *lengths,
                      guint               n,
                      guint               protocols,
                      const guint8       *known_good,
                      TunTapOffloadWrite *writes,
                      guint              *next)
{
  Flow flows[TUN_TAP_OFFLOAD_FLOWS];
  guint n_writes = 0;

  for (guint k = 0; k < TUN_TAP_OFFLOAD_FLOWS; k++)
    flows[k].used = FALSE;

  for (guint i = 0; i < n; i++)
    {
      const guint8 *p = data + offsets[i];
      Flow *f = NULL;
      Segment t;
      guint8 protocol = 0;
      gsize l4 = 0;
      guint32 hash;
      Kind kind;
      gboolean is_candidate;
      Append result = APPEND_NO;

      next[i] = G_MAXUINT;
      kind = classify (p, lengths[i], &protocol, &l4);
      if (kind != KIND_FLOW)
        {
          if (kind == KIND_BARRIER)
            for (guint k = 0; k < TUN_TAP_OFFLOAD_FLOWS; k++)
              flows[k].used = FALSE;
          add_write (writes, &n_writes, i, NULL);
          continue;
        }

      hash = key_hash (p, l4);
      for (guint k = 0; k < TUN_TAP_OFFLOAD_FLOWS; k++)
        if (flows[k].used && flows[k].hash == hash &&
            same_key (flows[k].head.p, flows[k].key_l4, p, l4))
          {
            f = &flows[k];
            break;
          }

      is_candidate = (protocols & (protocol == IPPROTO_TCP_ ? TUN_TAP_OFFLOAD_COALESCE_TCP
                                                            : TUN_TAP_OFFLOAD_COALESCE_UDP)) &&
                     candidate (p, lengths[i], protocol, &t);
      if (f != NULL && is_candidate)
        {
          TunTapOffloadWrite *w = &writes[f->write];

          result = try_append (f, w, &t, i, known_good);
          if (result == APPEND_OK)
            {
              next[f->tail] = i;
              f->tail = i;
              f->last_payload = t.payload;
              f->touched = i;
              w->count++;
              w->payload += t.payload;
              w->flags = t.flags;
              continue;
            }
        }

      /* Whatever of this flow comes next goes after this packet: the
       * flow's open super-packet ends here. */
      if (f != NULL)
        f->used = FALSE;
      if (!is_candidate || result == APPEND_INVALID ||
          (t.flags & TCP_PSH) || t.hdr_len + TUN_TAP_VNET_HDR_LEN > TUN_TAP_OFFLOAD_HEADER_MAX)
        {
          add_write (writes, &n_writes, i, NULL);
          continue;
        }
      f = f != NULL ? f : take_slot (flows);
      f->used = TRUE;
      f->hash = hash;
      f->key_l4 = l4;
      f->head = t;
      f->write = add_write (writes, &n_writes, i, &t);
      f->tail = i;
      f->last_payload = t.payload;
      f->verified = FALSE;
      f->touched = i;
    }
  return n_writes;
}

gsize
tun_tap_offload_header (const guint8             *data,
                        const gsize              *offsets,
                        const guint              *lengths,
                        const TunTapOffloadWrite *write,
                        guint8                    header[TUN_TAP_OFFLOAD_HEADER_MAX],
                        gsize                    *payload_offset)
{
  const guint8 *p = data + offsets[write->head];
  Segment head;
  gsize l4_len;
  guint16 csum_offset;
  guint8 *h = header + TUN_TAP_VNET_HDR_LEN;
  guint32 sum;
  guint16 v;

  /* The plan parsed it as a candidate already: it still is one, unless
   * the caller changed it meanwhile (then 0: no super-packet). */
  if (lengths[write->head] < 20 ||
      !candidate (p, lengths[write->head], p[0] >> 4 == 4 ? p[9] : p[6], &head))
    return 0;

  l4_len = head.hdr_len - head.iph + write->payload;
  csum_offset = head.protocol == IPPROTO_TCP_ ? 16 : 6;
  memset (header, 0, TUN_TAP_VNET_HDR_LEN);
  header[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  header[1] = head.protocol == IPPROTO_UDP_ ? TUN_TAP_VNET_GSO_UDP_L4
            : head.version == 4 ? TUN_TAP_VNET_GSO_TCPV4 : TUN_TAP_VNET_GSO_TCPV6;
  v = (guint16) head.hdr_len;
  memcpy (header + 2, &v, 2);
  v = (guint16) head.payload;
  memcpy (header + 4, &v, 2);
  v = (guint16) head.iph;
  memcpy (header + 6, &v, 2);
  memcpy (header + 8, &csum_offset, 2);

  memcpy (h, head.p, head.hdr_len);
  if (head.version == 4)
    {
      put16 (h + 2, (guint16) (head.iph + l4_len));
      put16 (h + 10, 0);
      put16 (h + 10, tun_tap_checksum_finish (tun_tap_checksum_add (h, 20, 0)));
    }
  else
    put16 (h + 4, (guint16) l4_len);
  if (head.protocol == IPPROTO_UDP_)
    put16 (h + head.iph + 4, (guint16) l4_len);
  else
    /* The last segment's PSH goes on the whole. */
    h[head.iph + 13] = write->flags;

  /* NEEDS_CSUM: the folded pseudo-header sum, for the kernel to finish
   * per segment. */
  sum = pseudo_header_sum (h, head.version, head.protocol, (guint32) l4_len);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  put16 (h + head.iph + csum_offset, (guint16) sum);
  *payload_offset = head.hdr_len;
  return TUN_TAP_VNET_HDR_LEN + head.hdr_len;
}
