/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

/* The sum is taken in the machine's own byte order, eight bytes at a time,
 * and swapped at the end: the one's-complement sum does not care which
 * byte of each 16-bit word is the high one as long as all agree (RFC 1071
 * §2(B)). A 128-bit accumulator keeps every carry (add, adc per word);
 * without one, 32-bit halves into 64-bit sums. An odd last byte is the
 * high byte of a word padded with zero, in either order once swapped. */
static guint16
fold64 (guint64 acc)
{
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return (guint16) acc;
}

static guint16
native_sum (const guint8 *p,
            gsize         len)
{
  guint64 tail = 0, total;
#ifdef __SIZEOF_INT128__
  unsigned __int128 acc = 0;

  for (; len >= 32; p += 32, len -= 32)
    {
      guint64 w[4];

      memcpy (w, p, 32);
      acc += w[0];
      acc += w[1];
      acc += w[2];
      acc += w[3];
    }
  for (; len >= 8; p += 8, len -= 8)
    {
      guint64 w;

      memcpy (&w, p, 8);
      acc += w;
    }
  memcpy (&tail, p, len);
  acc += tail;
  total = (guint64) acc + (guint64) (acc >> 64);
  if (total < (guint64) acc)
    total++;
#else
  guint64 lo = 0, hi = 0;

  for (; len >= 8; p += 8, len -= 8)
    {
      guint64 w;

      memcpy (&w, p, 8);
      lo += w & 0xffffffff;
      hi += w >> 32;
    }
  memcpy (&tail, p, len);
  lo += tail & 0xffffffff;
  hi += tail >> 32;
  total = (guint64) fold64 (lo) + fold64 (hi);
#endif
  return fold64 (total);
}

guint32
tun_tap_checksum_add (const guint8 *data,
                      gsize         len,
                      guint32       sum)
{
  guint16 s = native_sum (data, len);

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  s = GUINT16_SWAP_LE_BE (s);
#endif
  /* Folded on the way in too, so chaining never overflows. */
  return (sum & 0xffff) + (sum >> 16) + s;
}

guint16
tun_tap_checksum_finish (guint32 sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) ~sum;
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
                       GArray       *lengths)
{
  VnetHeader hdr;
  const guint8 *packet;
  gsize plen, hdr_len, payload_len, l4;
  guint8 protocol;
  guint segments;
  int version;
  guint16 ip_id = 0;
  guint32 seq = 0;

  if (data == NULL || len < TUN_TAP_VNET_HDR_LEN)
    return 0;
  read_header (data, &hdr);
  packet = data + TUN_TAP_VNET_HDR_LEN;
  plen = len - TUN_TAP_VNET_HDR_LEN;

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

  for (guint i = 0; i < segments; i++)
    {
      gsize offset = hdr_len + (gsize) i * hdr.gso_size;
      gsize seg_len = MIN ((gsize) hdr.gso_size, plen - offset);
      guint start = out->len;
      guint total = (guint) (hdr_len + seg_len);
      guint8 *p;
      guint16 csum;

      g_byte_array_append (out, packet, (guint) hdr_len);
      g_byte_array_append (out, packet + offset, (guint) seg_len);
      g_array_append_val (lengths, total);
      p = out->data + start;

      if (version == 4)
        {
          put16 (p + 2, (guint16) total);
          put16 (p + 4, (guint16) (ip_id + i));
          put16 (p + 10, 0);
          put16 (p + 10, tun_tap_checksum_finish (tun_tap_checksum_add (p, l4, 0)));
        }
      else
        put16 (p + 4, (guint16) (total - 40));

      if (protocol == IPPROTO_TCP_)
        {
          put32 (p + l4 + 4, seq + (guint32) (i * hdr.gso_size));
          /* FIN and PSH belong to the last segment only. */
          if (i + 1 < segments)
            p[l4 + 13] &= (guint8) ~(0x01 | 0x08);
        }
      else
        put16 (p + l4 + 4, (guint16) (total - l4));

      put16 (p + l4 + hdr.csum_offset, 0);
      csum = tun_tap_checksum_finish (
        tun_tap_checksum_add (p + l4, total - l4,
                              pseudo_header_sum (p, version, protocol, (guint32) (total - l4))));
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
  gsize         iph;         /* IP header length, where TCP starts */
  gsize         hdr_len;     /* IP + TCP headers */
  gsize         payload;
  guint32       seq;
  guint8        flags;
} TcpPacket;

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
              TcpPacket    *t)
{
  if (len < 20 + l4_min)
    return FALSE;
  t->p = p;
  t->len = len;
  t->version = p[0] >> 4;
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

/* Whether the L4 checksum of @t verifies. */
static gboolean
l4_checksum_ok (const TcpPacket *t,
                guint8           protocol)
{
  gsize l4_len = t->len - t->iph;

  return tun_tap_checksum_finish (
           tun_tap_checksum_add (t->p + t->iph, l4_len,
                                 pseudo_header_sum (t->p, t->version, protocol,
                                                    (guint32) l4_len))) == 0;
}

/* Equal IP fields but for lengths and IDs: version, TOS, DF and TTL (IPv4)
 * or traffic class and hop limit (IPv6), addresses. */
static gboolean
same_ip_flow (const TcpPacket *head,
              const TcpPacket *t)
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

/* The header of one coalesced write: the virtio-net header (GSO,
 * NEEDS_CSUM) and the head's headers patched for the whole, with the
 * folded pseudo-header sum in the L4 checksum field for the kernel to
 * finish per segment. Returns its length. */
static gsize
build_header (const TcpPacket *head,
              guint8           protocol,
              gsize            total_payload,
              guint8           header[TUN_TAP_OFFLOAD_HEADER_MAX])
{
  gsize l4_len = head->hdr_len - head->iph + total_payload;
  guint16 csum_offset = protocol == IPPROTO_TCP_ ? 16 : 6;
  guint8 *h = header + TUN_TAP_VNET_HDR_LEN;
  guint32 sum;
  guint16 v;

  memset (header, 0, TUN_TAP_VNET_HDR_LEN);
  header[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  header[1] = protocol == IPPROTO_UDP_ ? TUN_TAP_VNET_GSO_UDP_L4
            : head->version == 4 ? TUN_TAP_VNET_GSO_TCPV4 : TUN_TAP_VNET_GSO_TCPV6;
  v = (guint16) head->hdr_len;
  memcpy (header + 2, &v, 2);
  v = (guint16) head->payload;
  memcpy (header + 4, &v, 2);
  v = (guint16) head->iph;
  memcpy (header + 6, &v, 2);
  memcpy (header + 8, &csum_offset, 2);

  memcpy (h, head->p, head->hdr_len);
  if (head->version == 4)
    {
      put16 (h + 2, (guint16) (head->iph + l4_len));
      put16 (h + 10, 0);
      put16 (h + 10, tun_tap_checksum_finish (tun_tap_checksum_add (h, 20, 0)));
    }
  else
    put16 (h + 4, (guint16) l4_len);
  if (protocol == IPPROTO_UDP_)
    put16 (h + head->iph + 4, (guint16) l4_len);

  sum = pseudo_header_sum (h, head->version, protocol, (guint32) l4_len);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  put16 (h + head->iph + csum_offset, (guint16) sum);
  return TUN_TAP_VNET_HDR_LEN + head->hdr_len;
}

/* An unfragmented TCP packet with payload, no IP options or IPv6
 * extension headers, flags ACK or ACK|PSH, lengths that match the buffer
 * and valid checksums. */
static gboolean
tcp_candidate (const guint8 *p,
               gsize         len,
               TcpPacket    *t)
{
  gsize doff;

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

  /* Never merge what the kernel would drop: verify first. */
  return l4_checksum_ok (t, IPPROTO_TCP_);
}

/* Whether @t belongs to @head's flow and can follow it in one super-packet. */
static gboolean
tcp_same_flow (const TcpPacket *head,
               const TcpPacket *t)
{
  const guint8 *a = head->p, *b = t->p;

  if (t->hdr_len != head->hdr_len || !same_ip_flow (head, t))
    return FALSE;
  /* Ports, ACK number, data offset, window, options: equal. */
  a += head->iph;
  b += t->iph;
  return memcmp (a, b, 4) == 0 && memcmp (a + 8, b + 8, 5) == 0 &&
         memcmp (a + 14, b + 14, 2) == 0 &&
         memcmp (a + 20, b + 20, head->hdr_len - head->iph - 20) == 0;
}

/* An unfragmented UDP datagram with payload, no IP options or IPv6
 * extension headers, lengths that match the buffer and a valid (or, on
 * IPv4, no) checksum. */
static gboolean
udp_candidate (const guint8 *p,
               gsize         len,
               TcpPacket    *t)
{
  /* A header and at least one byte. */
  if (!ip_candidate (p, len, IPPROTO_UDP_, 9, t))
    return FALSE;

  if (get16 (p + t->iph + 4) != len - t->iph)
    return FALSE;
  t->hdr_len = t->iph + 8;
  t->payload = len - t->hdr_len;
  t->flags = 0;
  t->seq = 0;
  /* An IPv4 checksum of 0 is none (VXLAN encapsulators send those). */
  if (get16 (p + t->iph + 6) == 0)
    return t->version == 4;
  return l4_checksum_ok (t, IPPROTO_UDP_);
}

static gboolean
udp_same_flow (const TcpPacket *head,
               const TcpPacket *t)
{
  const guint8 *a = head->p, *b = t->p;

  if (!same_ip_flow (head, t))
    return FALSE;
  return memcmp (a + head->iph, b + t->iph, 4) == 0;
}

static guint
coalesce_udp (const guint8 *data,
              const gsize  *offsets,
              const guint  *lengths,
              guint         n,
              guint         first,
              guint8        header[TUN_TAP_OFFLOAD_HEADER_MAX],
              gsize        *header_len,
              gsize        *payload_offset)
{
  TcpPacket head, last;
  gsize total_payload;
  guint count = 1;

  if (!udp_candidate (data + offsets[first], lengths[first], &head))
    return 1;
  total_payload = head.payload;
  last = head;
  while (first + count < n && count < TUN_TAP_OFFLOAD_MAX_UDP_SEGMENTS)
    {
      TcpPacket t;

      /* Only the last segment may be shorter. */
      if (last.payload < head.payload)
        break;
      if (!udp_candidate (data + offsets[first + count], lengths[first + count], &t) ||
          !udp_same_flow (&head, &t) || t.payload > head.payload ||
          head.hdr_len + total_payload + t.payload > G_MAXUINT16)
        break;
      total_payload += t.payload;
      last = t;
      count++;
    }
  if (count == 1)
    return 1;

  *header_len = build_header (&head, IPPROTO_UDP_, total_payload, header);
  *payload_offset = head.hdr_len;
  return count;
}

guint
tun_tap_offload_coalesce (const guint8 *data,
                          const gsize  *offsets,
                          const guint  *lengths,
                          guint         n,
                          guint         first,
                          guint         protocols,
                          guint8        header[TUN_TAP_OFFLOAD_HEADER_MAX],
                          gsize        *header_len,
                          gsize        *payload_offset)
{
  TcpPacket head, last;
  gsize total_payload;
  guint count = 1;

  if (first + 1 >= n)
    return 1;
  if (!(protocols & TUN_TAP_OFFLOAD_COALESCE_TCP) ||
      !tcp_candidate (data + offsets[first], lengths[first], &head))
    {
      if (protocols & TUN_TAP_OFFLOAD_COALESCE_UDP)
        return coalesce_udp (data, offsets, lengths, n, first, header, header_len,
                             payload_offset);
      return 1;
    }
  if ((head.flags & TCP_PSH) || head.hdr_len + TUN_TAP_VNET_HDR_LEN > TUN_TAP_OFFLOAD_HEADER_MAX)
    return 1;

  total_payload = head.payload;
  last = head;
  while (first + count < n && count < TUN_TAP_OFFLOAD_MAX_COALESCE)
    {
      TcpPacket t;

      /* A short segment or a PSH ends a super-packet. */
      if (last.payload < head.payload || (last.flags & TCP_PSH))
        break;
      if (!tcp_candidate (data + offsets[first + count], lengths[first + count], &t) ||
          !tcp_same_flow (&head, &t) || t.payload > head.payload ||
          t.seq != head.seq + (guint32) total_payload ||
          head.hdr_len + total_payload + t.payload > G_MAXUINT16)
        break;
      total_payload += t.payload;
      last = t;
      count++;
    }
  if (count == 1)
    return 1;

  /* The last segment's PSH goes on the whole. */
  *header_len = build_header (&head, IPPROTO_TCP_, total_payload, header);
  header[TUN_TAP_VNET_HDR_LEN + head.iph + 13] = last.flags;
  *payload_offset = head.hdr_len;
  return count;
}
