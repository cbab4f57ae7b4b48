/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The offload splitter (src/tun-tap-offload.c), no kernel: hand-built
 * TCPv4, TCPv6, UDPv4 and UDPv6 super-packets with virtio-net headers are
 * split, and every segment is checked against the super-packet and with a
 * checksum written independently here (a plain RFC 1071 sum over a copy
 * with the pseudo-header prepended); partial checksums on ordinary packets
 * are completed; malformed headers are refused without output.
 */
#include "config.h"

#include <string.h>

#include "tun-tap-offload.h"

/* ---- an independent checksum --------------------------------------------- */

static guint16
rfc1071 (const guint8 *data, gsize len)
{
  unsigned long sum = 0;

  for (gsize i = 0; i < len; i++)
    sum += (i % 2 == 0) ? (unsigned long) data[i] * 256 : data[i];
  while (sum > 0xffff)
    sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) (0xffff - sum);
}

/* Whether the L4 checksum of @packet (IPv4 or IPv6, L4 at @l4) verifies. */
static gboolean
l4_checksum_ok (const guint8 *packet, gsize len, gsize l4, guint8 protocol)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 pseudo[40] = { 0 };
  gsize l4_len = len - l4;

  if ((packet[0] >> 4) == 4)
    {
      memcpy (pseudo, packet + 12, 8);
      pseudo[9] = protocol;
      pseudo[10] = (guint8) (l4_len >> 8);
      pseudo[11] = (guint8) l4_len;
      g_byte_array_append (buf, pseudo, 12);
    }
  else
    {
      memcpy (pseudo, packet + 8, 32);
      pseudo[34] = (guint8) (l4_len >> 8);
      pseudo[35] = (guint8) l4_len;
      pseudo[39] = protocol;
      g_byte_array_append (buf, pseudo, 40);
    }
  g_byte_array_append (buf, packet + l4, (guint) l4_len);
  return rfc1071 (buf->data, buf->len) == 0;
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* The library's checksum (word at a time, in the machine's byte order)
 * against the plain one: every length up to 300 at every alignment,
 * sums chained at even boundaries, a large incoming sum, all-ones data
 * (the carries); at packet sizes, the sum that copies on the way too. */
static void
test_checksum (void)
{
  guint8 data[300 + 8];
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) g_rand_int (rand);
  for (int round = 0; round < 2; round++)
    {
      if (round == 1)
        memset (data, 0xff, sizeof data);
      for (gsize off = 0; off < 8; off++)
        for (gsize len = 0; len <= 300; len++)
          {
            guint16 want = rfc1071 (data + off, len);
            gsize cut = (len / 3) & ~(gsize) 1;
            guint32 chained;
            guint16 got;

            g_assert_cmpuint (tun_tap_checksum_finish (tun_tap_checksum_add (data + off, len, 0)),
                              ==, want);
            chained = tun_tap_checksum_add (data + off, cut, 0);
            chained = tun_tap_checksum_add (data + off + cut, len - cut, chained);
            g_assert_cmpuint (tun_tap_checksum_finish (chained), ==, want);
            /* 0xffffffff is 0xffff + 0xffff, one's complement zero twice:
             * the same value, where 0 and 0xffff are both zero. */
            got = tun_tap_checksum_finish (tun_tap_checksum_add (data + off, len, 0xffffffff));
            g_assert_true (got == want ||
                           ((got == 0 || got == 0xffff) && (want == 0 || want == 0xffff)));
          }
    }

  /* Packet sizes, where the wide paths run long. */
  for (int round = 0; round < 2; round++)
    {
      g_autofree guint8 *big = g_malloc (65536 + 8);
      const gsize sizes[] = { 1, 2, 6, 7, 15, 31, 63, 64, 127, 128, 129, 160, 175, 1448, 1449,
                              4099, 9000, 65535 };
      g_autofree guint8 *copy = g_malloc (65536 + 8);

      for (gsize i = 0; i < 65536 + 8; i++)
        big[i] = round == 0 ? (guint8) g_rand_int (rand) : 0xff;
      for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
        for (gsize off = 0; off < 8; off += 3)
          {
            g_assert_cmpuint (tun_tap_checksum_finish (tun_tap_checksum_add (big + off, sizes[k], 0)),
                              ==, rfc1071 (big + off, sizes[k]));
            /* Copied and summed in one pass: the same sum, the same bytes,
             * nothing written past the end. */
            memset (copy, 0xa5, 65536 + 8);
            g_assert_cmpuint (tun_tap_checksum_finish (tun_tap_checksum_copy (copy + 7 - off, big + off,
                                                                              sizes[k], 0)),
                              ==, rfc1071 (big + off, sizes[k]));
            g_assert_cmpmem (copy + 7 - off, sizes[k], big + off, sizes[k]);
            if (7 - off + sizes[k] < 65536 + 8)
              g_assert_cmpuint (copy[7 - off + sizes[k]], ==, 0xa5);
          }
    }
}

/* ---- building super-packets ---------------------------------------------- */

typedef struct {
  int     version;       /* 4 or 6 */
  guint8  protocol;      /* 6 TCP, 17 UDP */
  gsize   payload;       /* bytes of payload in the super-packet */
  guint16 gso_size;
  guint8  tcp_flags;     /* of the super-packet */
  gsize   tcp_options;   /* bytes of TCP options (multiple of 4) */
  guint16 hdr_len;       /* what the header claims (0: the true one) */
  guint16 sport;         /* the source port (0: 12345) */
} Spec;

/* vnet header + IP + L4 header + payload (byte i of payload = i * 7). The
 * L4 checksum field holds the folded pseudo-header sum, as the kernel
 * leaves it with NEEDS_CSUM. */
static GByteArray *
build (const Spec *spec, gsize *out_l4, gsize *out_hdr)
{
  GByteArray *b = g_byte_array_new ();
  gsize ip = spec->version == 4 ? 20 : 40;
  gsize l4h = spec->protocol == 6 ? 20 + spec->tcp_options : 8;
  gsize total = ip + l4h + spec->payload;
  guint8 *p;
  guint16 vh[5];

  g_byte_array_set_size (b, 10 + total);
  memset (b->data, 0, b->len);
  p = b->data + 10;
  if (spec->version == 4)
    {
      p[0] = 0x45;
      p[2] = (guint8) (total >> 8);
      p[3] = (guint8) total;
      p[4] = 0xff;          /* ID 0xfffe: wraps while splitting */
      p[5] = 0xfe;
      p[6] = 0x40;          /* DF */
      p[8] = 64;
      p[9] = spec->protocol;
      memcpy (p + 12, (guint8[]) { 192, 0, 2, 1, 192, 0, 2, 2 }, 8);
    }
  else
    {
      gsize pl = total - 40;

      p[0] = 0x60;
      p[4] = (guint8) (pl >> 8);
      p[5] = (guint8) pl;
      p[6] = spec->protocol;
      p[7] = 64;
      p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 1;
      p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = 2;
    }
  p[ip] = (guint8) ((spec->sport ? spec->sport : 12345) >> 8);   /* ports 12345 → 80 */
  p[ip + 1] = (guint8) (spec->sport ? spec->sport : 12345);
  p[ip + 3] = 80;
  if (spec->protocol == 6)
    {
      p[ip + 4] = 0xff; p[ip + 5] = 0xff; p[ip + 6] = 0xf0; p[ip + 7] = 0x00;  /* seq wraps */
      p[ip + 12] = (guint8) ((l4h / 4) << 4);
      p[ip + 13] = spec->tcp_flags;
      p[ip + 14] = 0xff;
      for (gsize i = 0; i < spec->tcp_options; i++)
        p[ip + 20 + i] = 1;                 /* NOPs */
    }
  else
    {
      gsize ul = total - ip;
      p[ip + 4] = (guint8) (ul >> 8);
      p[ip + 5] = (guint8) ul;
    }
  for (gsize i = 0; i < spec->payload; i++)
    p[ip + l4h + i] = (guint8) (i * 7);

  vh[0] = spec->hdr_len ? spec->hdr_len : (guint16) (ip + l4h);
  vh[1] = spec->gso_size;
  vh[2] = (guint16) ip;
  vh[3] = spec->protocol == 6 ? 16 : 6;
  vh[4] = 0;
  b->data[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  b->data[1] = spec->protocol == 17 ? TUN_TAP_VNET_GSO_UDP_L4
             : spec->version == 4 ? TUN_TAP_VNET_GSO_TCPV4 : TUN_TAP_VNET_GSO_TCPV6;
  memcpy (b->data + 2, vh, 8);
  /* A partial pseudo-header sum, as the kernel leaves it (ignored: the
   * splitter computes every checksum from scratch). */
  p[ip + vh[3]] = 0x12;
  p[ip + vh[3] + 1] = 0x34;
  *out_l4 = ip;
  *out_hdr = ip + l4h;
  return b;
}

static void
check_split (const Spec *spec)
{
  gsize l4, hdr;
  g_autoptr(GByteArray) in = build (spec, &l4, &hdr);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint expected = (guint) ((spec->payload + spec->gso_size - 1) / spec->gso_size);
  const guint8 *orig = in->data + 10;
  guint n;
  gsize offset = 0, payload_seen = 0;

  n = tun_tap_offload_split (in->data, in->len, out, lengths, NULL);
  g_assert_cmpuint (n, ==, expected);
  g_assert_cmpuint (lengths->len, ==, expected);

  for (guint i = 0; i < n; i++)
    {
      guint len = g_array_index (lengths, guint, i);
      const guint8 *p = out->data + offset;
      gsize seg = len - hdr;

      g_assert_cmpuint (seg, ==, i + 1 < n ? spec->gso_size
                                           : spec->payload - (gsize) (n - 1) * spec->gso_size);
      if (spec->version == 4)
        {
          g_assert_cmpuint (get16 (p + 2), ==, len);
          g_assert_cmpuint (get16 (p + 4), ==, (guint16) (0xfffe + i));
          g_assert_cmpuint (rfc1071 (p, 20), ==, 0);
          g_assert_cmpmem (p + 6, 4, orig + 6, 4);      /* flags, TTL, protocol */
        }
      else
        {
          g_assert_cmpuint (get16 (p + 4), ==, len - 40);
          g_assert_cmpmem (p + 6, 34, orig + 6, 34);
        }

      if (spec->protocol == 6)
        {
          guint8 flags = p[l4 + 13];

          g_assert_cmpuint (get32 (p + l4 + 4), ==, 0xfffff000u + i * spec->gso_size);
          if (i + 1 < n)
            g_assert_cmpuint (flags, ==, spec->tcp_flags & ~(0x01 | 0x08));
          else
            g_assert_cmpuint (flags, ==, spec->tcp_flags);
          g_assert_cmpmem (p + l4 + 20, spec->tcp_options, orig + l4 + 20, spec->tcp_options);
        }
      else
        g_assert_cmpuint (get16 (p + l4 + 4), ==, len - l4);

      g_assert_true (l4_checksum_ok (p, len, l4, spec->protocol));
      g_assert_cmpmem (p + hdr, seg, orig + hdr + payload_seen, seg);
      payload_seen += seg;
      offset += len;
    }
  g_assert_cmpuint (payload_seen, ==, spec->payload);
  g_assert_cmpuint (offset, ==, out->len);
}

static void
test_tcp4 (void)
{
  Spec spec = { 4, 6, 65000 - 52, 1448, 0x10 | 0x08 | 0x01, 12, 0 };

  check_split (&spec);
  /* A payload that fills the last segment exactly, and one segment only. */
  spec.payload = 1448 * 3;
  check_split (&spec);
  spec.payload = 100;
  check_split (&spec);
  /* hdr_len is not trusted (forwarding gives the first packet's length). */
  spec.payload = 5000;
  spec.hdr_len = 1500;
  check_split (&spec);
}

static void
test_tcp6 (void)
{
  Spec spec = { 6, 6, 64000, 1428, 0x10 | 0x08, 12, 0 };

  check_split (&spec);
  spec.tcp_options = 0;
  spec.payload = 1428 * 2 + 1;
  check_split (&spec);
}

static void
test_udp4 (void)
{
  Spec spec = { 4, 17, 40 * 1400, 1400, 0, 0, 0 };

  check_split (&spec);
  spec.payload = 1400 * 3 + 17;
  check_split (&spec);
}

static void
test_udp6 (void)
{
  Spec spec = { 6, 17, 30 * 1232 + 5, 1232, 0, 0, 0 };

  check_split (&spec);
}

static void
test_needs_csum_single (void)
{
  Spec spec = { 4, 17, 300, 1400, 0, 0, 0 };
  gsize l4, hdr;
  g_autoptr(GByteArray) in = build (&spec, &l4, &hdr);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint8 *p = in->data + 10;
  gsize len = in->len - 10;
  guint8 partial[12] = { 0 };
  guint16 folded;

  /* GSO_NONE, NEEDS_CSUM: the field holds the folded pseudo-header sum. */
  in->data[1] = TUN_TAP_VNET_GSO_NONE;
  memcpy (partial, p + 12, 8);
  partial[9] = 17;
  partial[10] = (guint8) ((len - l4) >> 8);
  partial[11] = (guint8) (len - l4);
  folded = (guint16) ~rfc1071 (partial, 12);
  p[l4 + 6] = (guint8) (folded >> 8);
  p[l4 + 7] = (guint8) folded;

  g_assert_false (l4_checksum_ok (p, len, l4, 17));
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths, NULL), ==, 1);
  g_assert_cmpuint (g_array_index (lengths, guint, 0), ==, len);
  g_assert_true (l4_checksum_ok (out->data, len, l4, 17));
  g_assert_cmpmem (out->data, l4 + 6, p, l4 + 6);

  /* Without NEEDS_CSUM the packet is passed on untouched. */
  in->data[0] = 0;
  g_byte_array_set_size (out, 0);
  g_array_set_size (lengths, 0);
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths, NULL), ==, 1);
  g_assert_cmpmem (out->data, out->len, p, len);
}

static void
expect_refused (GByteArray *in, const char *why)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));

  g_test_message ("refused: %s", why);
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths, NULL), ==, 0);
  g_assert_cmpuint (out->len, ==, 0);
  g_assert_cmpuint (lengths->len, ==, 0);
}

static void
test_malformed (void)
{
  Spec spec = { 4, 6, 3000, 1448, 0x10, 0, 0 };
  gsize l4, hdr;
  guint16 v;

#define FRESH() (g_byte_array_unref (in), in = build (&spec, &l4, &hdr))
  GByteArray *in = build (&spec, &l4, &hdr);

  g_byte_array_set_size (in, 9);
  expect_refused (in, "shorter than the vnet header");
  FRESH ();
  in->data[1] = TUN_TAP_VNET_GSO_TCPV4 | TUN_TAP_VNET_GSO_ECN;
  expect_refused (in, "ECN");
  FRESH ();
  in->data[1] = TUN_TAP_VNET_GSO_UDP;
  expect_refused (in, "UFO");
  FRESH ();
  in->data[1] = TUN_TAP_VNET_GSO_TCPV6;
  expect_refused (in, "TCPV6 on an IPv4 packet");
  FRESH ();
  v = 0;
  memcpy (in->data + 4, &v, 2);
  expect_refused (in, "gso_size 0");
  FRESH ();
  v = 24;
  memcpy (in->data + 6, &v, 2);
  expect_refused (in, "csum_start not the IPv4 header length");
  FRESH ();
  v = 6;
  memcpy (in->data + 8, &v, 2);
  expect_refused (in, "UDP checksum offset on TCP");
  FRESH ();
  in->data[10 + l4 + 12] = 0x40;
  expect_refused (in, "TCP data offset 16 bytes");
  FRESH ();
  in->data[10 + l4 + 12] = 0xf0;
  g_byte_array_set_size (in, 10 + 20 + 40);
  expect_refused (in, "TCP header longer than the packet");
  FRESH ();
  g_byte_array_set_size (in, 10 + hdr);
  expect_refused (in, "no payload");
  FRESH ();
  in->data[10 + 9] = 17;
  expect_refused (in, "IPv4 protocol UDP with a TCP GSO type");
  FRESH ();
  v = 1;
  memcpy (in->data + 4, &v, 2);
  expect_refused (in, "more segments than any MTU makes");
  FRESH ();
  in->data[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  in->data[1] = TUN_TAP_VNET_GSO_NONE;
  v = (guint16) (in->len - 10 - 1);
  memcpy (in->data + 6, &v, 2);
  expect_refused (in, "a partial checksum past the end");
  g_byte_array_unref (in);
#undef FRESH
}

/* ---- coalescing --------------------------------------------------------- */

typedef struct {
  GByteArray *data;
  GArray     *lengths;   /* guint */
  GArray     *offsets;   /* gsize */
} Packets;

static void
packets_clear (Packets *p)
{
  g_byte_array_unref (p->data);
  g_array_unref (p->lengths);
  g_array_unref (p->offsets);
}

static guint8 *
packet_at (Packets *p, guint i)
{
  return p->data->data + g_array_index (p->offsets, gsize, i);
}

/* The packets a super-packet of @spec stands for (split, so every field
 * and checksum is right). */
static Packets
flow_packets (const Spec *spec)
{
  gsize l4, hdr;
  g_autoptr(GByteArray) in = build (spec, &l4, &hdr);
  Packets p = { g_byte_array_new (), g_array_new (FALSE, FALSE, sizeof (guint)),
                g_array_new (FALSE, FALSE, sizeof (gsize)) };
  gboolean computed = FALSE;
  gsize off = 0;

  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, p.data, p.lengths, &computed), >, 1);
  g_assert_true (computed);
  for (guint i = 0; i < p.lengths->len; i++)
    {
      g_array_append_val (p.offsets, off);
      off += g_array_index (p.lengths, guint, i);
    }
  return p;
}

/* Packets of several sources, interleaved as @order says: @order[i] is
 * the source of packet i (each source's packets in their order);
 * *@from[i] gets the source, *@index[i] the packet's index there. */
static Packets
interleave (Packets *sources, const guint *order, guint n, guint *from, guint *index)
{
  Packets p = { g_byte_array_new (), g_array_new (FALSE, FALSE, sizeof (guint)),
                g_array_new (FALSE, FALSE, sizeof (gsize)) };
  guint next[64] = { 0 };

  for (guint i = 0; i < n; i++)
    {
      Packets *s = &sources[order[i]];
      guint k = next[order[i]]++;
      guint len = g_array_index (s->lengths, guint, k);
      gsize off = p.data->len;

      g_assert_cmpuint (k, <, s->lengths->len);
      g_byte_array_append (p.data, packet_at (s, k), len);
      g_array_append_val (p.lengths, len);
      g_array_append_val (p.offsets, off);
      if (from != NULL)
        from[i] = order[i];
      if (index != NULL)
        index[i] = k;
    }
  return p;
}

typedef struct {
  guint               n;
  TunTapOffloadWrite *writes;
  guint              *next;
} Plan;

static Plan
plan (Packets *p, const guint8 *known_good, guint protocols)
{
  guint n = p->lengths->len;
  Plan plan = { 0, g_new0 (TunTapOffloadWrite, n), g_new (guint, n) };

  plan.n = tun_tap_offload_plan (p->data->data, (gsize *) p->offsets->data,
                                 (guint *) p->lengths->data, n, protocols, known_good,
                                 plan.writes, plan.next);
  return plan;
}

static void
plan_clear (Plan *plan)
{
  g_free (plan->writes);
  g_free (plan->next);
}

/* The plan as text: writes separated by spaces, their packets by commas. */
static char *
plan_text (Packets *p, const guint8 *known_good)
{
  Plan pl = plan (p, known_good, TUN_TAP_OFFLOAD_COALESCE_TCP | TUN_TAP_OFFLOAD_COALESCE_UDP);
  GString *text = g_string_new (NULL);

  for (guint w = 0; w < pl.n; w++)
    {
      guint k = pl.writes[w].head;

      for (guint i = 0; i < pl.writes[w].count; i++, k = pl.next[k])
        g_string_append_printf (text, "%s%u", i == 0 ? (w == 0 ? "" : " ") : ",", k);
    }
  plan_clear (&pl);
  return g_string_free (text, FALSE);
}

/* What the kernel gets for write @w: its header and payloads, or the
 * packet with a zero virtio-net header. */
static GByteArray *
write_bytes (Packets *p, Plan *pl, guint w)
{
  const TunTapOffloadWrite *write = &pl->writes[w];
  GByteArray *out = g_byte_array_new ();
  guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX] = { 0 };
  gsize header_len = TUN_TAP_VNET_HDR_LEN, payload_offset = 0;
  guint k = write->head;

  if (write->count > 1)
    header_len = tun_tap_offload_header (p->data->data, (gsize *) p->offsets->data,
                                         (guint *) p->lengths->data, write, header,
                                         &payload_offset);
  g_byte_array_append (out, header, (guint) header_len);
  for (guint i = 0; i < write->count; i++, k = pl->next[k])
    g_byte_array_append (out, packet_at (p, k) + payload_offset,
                         g_array_index (p->lengths, guint, k) - (guint) payload_offset);
  return out;
}

/* Every write splits back into exactly its packets, byte for byte (the
 * kernel's view of a super-packet is the packets it was made of), and a
 * flow's packets are written in their order, each once; nothing crosses
 * a packet @barrier says could belong to any flow. @flow[i] names the
 * flow of packet i. */
static void
check_plan (Packets *p, const guint8 *known_good, const guint *flow, const gboolean *barrier)
{
  guint n = p->lengths->len;
  Plan pl = plan (p, known_good, TUN_TAP_OFFLOAD_COALESCE_TCP | TUN_TAP_OFFLOAD_COALESCE_UDP);
  g_autofree guint *written_at = g_new (guint, n);
  g_autofree guint *last_of_flow = g_new0 (guint, n + 64);
  guint seen = 0, last_head = 0;

  for (guint i = 0; i < n; i++)
    written_at[i] = G_MAXUINT;
  for (guint w = 0; w < pl.n; w++)
    {
      g_autoptr(GByteArray) bytes = write_bytes (p, &pl, w);
      g_autoptr(GByteArray) again = g_byte_array_new ();
      g_autoptr(GArray) again_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
      guint k = pl.writes[w].head;
      gsize off = 0;

      g_assert_true (w == 0 || pl.writes[w].head > last_head);
      last_head = pl.writes[w].head;
      if (pl.writes[w].count > 1)
        g_assert_cmpuint (tun_tap_offload_split (bytes->data, bytes->len, again, again_lengths,
                                                 NULL), ==, pl.writes[w].count);
      for (guint i = 0; i < pl.writes[w].count; i++, k = pl.next[k])
        {
          guint len = g_array_index (p->lengths, guint, k);

          g_assert_cmpuint (k, <, n);
          g_assert_cmpuint (written_at[k], ==, G_MAXUINT);
          written_at[k] = w;
          seen++;
          if (i > 0)
            {
              /* Merged: the same flow, later in the call, with no packet
               * of the flow and no barrier between them left out. */
              for (guint b = pl.writes[w].head + 1; b < k; b++)
                g_assert_true (!barrier[b] && (flow[b] != flow[k] || written_at[b] == w));
            }
          if (pl.writes[w].count > 1)
            {
              g_assert_cmpuint (g_array_index (again_lengths, guint, i), ==, len);
              g_assert_cmpmem (again->data + off, len, packet_at (p, k), len);
              off += len;
            }
        }
    }
  g_assert_cmpuint (seen, ==, n);
  /* Per flow, in the call's order. */
  for (guint i = 0; i < n; i++)
    {
      if (barrier[i])
        continue;
      g_assert_cmpuint (written_at[i], >=, last_of_flow[flow[i]]);
      last_of_flow[flow[i]] = written_at[i];
    }
  plan_clear (&pl);
}

/* split (coalesce (p)) == p, byte for byte. */
static void
check_round_trip (const Spec *spec)
{
  Packets p = flow_packets (spec);
  Plan pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_TCP | TUN_TAP_OFFLOAD_COALESCE_UDP);
  g_autoptr(GByteArray) bytes = NULL;
  g_autoptr(GByteArray) again = g_byte_array_new ();
  g_autoptr(GArray) again_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = p.lengths->len;

  g_assert_cmpuint (pl.n, ==, 1);
  g_assert_cmpuint (pl.writes[0].count, ==, n);
  bytes = write_bytes (&p, &pl, 0);
  g_assert_cmpuint (tun_tap_offload_split (bytes->data, bytes->len, again, again_lengths, NULL),
                    ==, n);
  g_assert_cmpmem (again->data, again->len, p.data->data, p.data->len);
  g_assert_cmpmem (again_lengths->data, again_lengths->len * sizeof (guint),
                   p.lengths->data, n * sizeof (guint));
  plan_clear (&pl);
  packets_clear (&p);
}

static void
test_coalesce_round_trip (void)
{
  Spec v4 = { 4, 6, 20 * 1448 + 100, 1448, 0x10 | 0x08, 12, 0, 0 };
  Spec v6 = { 6, 6, 10 * 1428, 1428, 0x10, 0, 0, 0 };
  Spec u4 = { 4, 17, 30 * 1400 + 11, 1400, 0, 0, 0, 0 };
  Spec u6 = { 6, 17, 20 * 1232, 1232, 0, 0, 0, 0 };

  check_round_trip (&v4);
  check_round_trip (&v6);
  check_round_trip (&u4);
  check_round_trip (&u6);
  /* UDP: 64 datagrams at most in one write. */
  u4.payload = 100 * 600;
  u4.gso_size = 600;
  {
    Packets p = flow_packets (&u4);
    Plan pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_UDP);

    g_assert_cmpuint (pl.n, ==, 2);
    g_assert_cmpuint (pl.writes[0].count, ==, TUN_TAP_OFFLOAD_MAX_UDP_SEGMENTS);
    g_assert_cmpuint (pl.writes[1].count, ==, 36);
    plan_clear (&pl);
    /* Not with UDP coalescing off. */
    pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_TCP);
    g_assert_cmpuint (pl.n, ==, 100);
    plan_clear (&pl);
    packets_clear (&p);
  }
  /* 65,535 bytes at most: a longer flow needs two writes. */
  v4.payload = 60 * 1448;
  {
    Packets p = flow_packets (&v4);
    Plan pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_TCP);

    g_assert_cmpuint (pl.n, ==, 2);
    g_assert_cmpuint (pl.writes[0].count * 1448 + 20 + 32, <=, 65535);
    g_assert_cmpuint (pl.writes[0].count + pl.writes[1].count, ==, p.lengths->len);
    plan_clear (&pl);
    pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_UDP);
    g_assert_cmpuint (pl.n, ==, p.lengths->len);
    plan_clear (&pl);
    packets_clear (&p);
  }
}

/* Recomputes the checksums of @pkt (TCP). */
static void
fix_checksums (guint8 *pkt, guint len, int version)
{
  gsize l4 = version == 4 ? 20 : 40;
  guint8 pseudo[40] = { 0 };
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint16 c;

  if (version == 4)
    {
      pkt[10] = pkt[11] = 0;
      c = rfc1071 (pkt, 20);
      pkt[10] = (guint8) (c >> 8);
      pkt[11] = (guint8) c;
      memcpy (pseudo, pkt + 12, 8);
      pseudo[9] = 6;
      pseudo[10] = (guint8) ((len - l4) >> 8);
      pseudo[11] = (guint8) (len - l4);
      g_byte_array_append (buf, pseudo, 12);
    }
  else
    {
      memcpy (pseudo, pkt + 8, 32);
      pseudo[34] = (guint8) ((len - l4) >> 8);
      pseudo[35] = (guint8) (len - l4);
      pseudo[39] = 6;
      g_byte_array_append (buf, pseudo, 40);
    }
  pkt[l4 + 16] = pkt[l4 + 17] = 0;
  g_byte_array_append (buf, pkt + l4, (guint) (len - l4));
  c = rfc1071 (buf->data, buf->len);
  pkt[l4 + 16] = (guint8) (c >> 8);
  pkt[l4 + 17] = (guint8) c;
}

/* Changes byte @at of packet @i (and fixes its checksums if @fix), then
 * expects the plan @expected. */
static void
expect_plan (const Spec *spec, guint i, gsize at, guint8 value, gboolean fix,
             const char *expected, const char *why)
{
  Packets p = flow_packets (spec);
  g_autofree char *text = NULL;

  g_test_message ("%s: %s", why, expected);
  packet_at (&p, i)[at] = value;
  if (fix)
    fix_checksums (packet_at (&p, i), g_array_index (p.lengths, guint, i), spec->version);
  text = plan_text (&p, NULL);
  g_assert_cmpstr (text, ==, expected);
  packets_clear (&p);
}

static void
test_coalesce_rules (void)
{
  Spec v4 = { 4, 6, 8 * 1000, 1000, 0x10, 12, 0, 0 };
  Spec v6 = { 6, 6, 8 * 1000, 1000, 0x10, 0, 0, 0 };
  const char *split_at_3 = "0,1,2 3 4,5,6,7";

  /* Packet 3 of another flow: packet 4 leaves a hole after packet 2
   * (interleaved flows: test_coalesce_interleaved). */
  expect_plan (&v4, 3, 20 + 2, 0x99, TRUE, split_at_3, "another flow (destination port)");
  expect_plan (&v4, 3, 9, 1, TRUE, split_at_3, "not TCP or UDP (ICMP)");
  /* The same flow, but not mergeable: the super-packet ends there, and
   * the rest of the flow follows it. */
  expect_plan (&v4, 3, 20 + 8, 0x99, TRUE, split_at_3, "another ACK number");
  expect_plan (&v4, 3, 20 + 14, 0x00, TRUE, split_at_3, "another window");
  expect_plan (&v4, 3, 20 + 7, 0x99, TRUE, split_at_3, "out of order (sequence)");
  expect_plan (&v4, 3, 8, 63, TRUE, split_at_3, "unequal TTL");
  expect_plan (&v4, 3, 1, 0x10, TRUE, split_at_3, "unequal ToS");
  expect_plan (&v4, 3, 6, 0x00, TRUE, split_at_3, "unequal DF");
  expect_plan (&v4, 3, 6, 0x60, TRUE, split_at_3, "more fragments set (a barrier)");
  expect_plan (&v4, 3, 20 + 13, 0x11, TRUE, split_at_3, "FIN");
  expect_plan (&v4, 3, 20 + 20, 0x02, TRUE, split_at_3, "other TCP options");
  expect_plan (&v4, 3, 20 + 30, 0x55, FALSE, split_at_3, "an invalid checksum");
  expect_plan (&v4, 0, 20 + 30, 0x55, FALSE, "0 1,2,3,4,5,6,7", "an invalid checksum on the head");
  expect_plan (&v4, 3, 10, 0x55, FALSE, split_at_3, "an invalid IPv4 header checksum");
  expect_plan (&v6, 3, 7, 63, TRUE, split_at_3, "IPv6: unequal hop limit");
  expect_plan (&v6, 3, 1, 0x10, TRUE, split_at_3, "IPv6: unequal traffic class");
  expect_plan (&v6, 3, 6, 0, TRUE, split_at_3, "IPv6: an extension header (a barrier)");
  expect_plan (&v6, 0, 40 + 13, 0x18, TRUE, "0 1,2,3,4,5,6,7", "PSH on the head: alone");
  expect_plan (&v4, 3, 20 + 13, 0x18, TRUE, "0,1,2,3 4,5,6,7", "PSH in the middle ends it");
}

/* Several flows interleaved merge per flow, whatever else comes between,
 * and split back into their packets. */
static void
test_coalesce_interleaved (void)
{
  Spec a = { 4, 6, 6 * 1448, 1448, 0x10, 12, 0, 1000 };
  Spec b = { 4, 6, 6 * 1448, 1448, 0x10, 12, 0, 2000 };
  Spec c = { 6, 17, 6 * 1200, 1200, 0, 0, 0, 3000 };
  Packets sources[3];
  const guint order[] = { 0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 2, 1, 1, 0, 0 };
  guint from[G_N_ELEMENTS (order)];
  gboolean barrier[G_N_ELEMENTS (order)] = { FALSE };
  g_autofree char *text = NULL;
  Packets p;

  sources[0] = flow_packets (&a);
  sources[1] = flow_packets (&b);
  sources[2] = flow_packets (&c);
  p = interleave (sources, order, G_N_ELEMENTS (order), from, NULL);
  text = plan_text (&p, NULL);
  g_assert_cmpstr (text, ==, "0,3,8,9,16,17 1,4,7,10,14,15 2,5,6,11,12,13");
  check_plan (&p, NULL, from, barrier);

  /* A barrier (an IPv4 fragment) ends all three. */
  packet_at (&p, 7)[6] = 0x20;
  fix_checksums (packet_at (&p, 7), g_array_index (p.lengths, guint, 7), 4);
  barrier[7] = TRUE;
  g_clear_pointer (&text, g_free);
  text = plan_text (&p, NULL);
  g_assert_cmpstr (text, ==, "0,3 1,4 2,5,6 7 8,9,16,17 10,14,15 11,12,13");
  check_plan (&p, NULL, from, barrier);
  packets_clear (&p);

  for (guint k = 0; k < 3; k++)
    packets_clear (&sources[k]);
}

/* More flows than the table holds: the least recently extended one's
 * super-packet ends; the order holds. Then random interleavings. */
static void
test_coalesce_many_flows (void)
{
  enum { FLOWS = TUN_TAP_OFFLOAD_FLOWS + 4, EACH = 4 };
  Packets sources[FLOWS];
  guint order[FLOWS * EACH], from[FLOWS * EACH];
  gboolean barrier[FLOWS * EACH] = { FALSE };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  Plan pl;
  Packets p;

  for (guint f = 0; f < FLOWS; f++)
    {
      Spec s = { f % 2 ? 6 : 4, 6, EACH * 1000, 1000, 0x10, 0, 0, (guint16) (1000 + f) };

      sources[f] = flow_packets (&s);
    }

  /* Round robin over more flows than slots: nothing merges. */
  for (guint i = 0; i < FLOWS * EACH; i++)
    order[i] = i % FLOWS;
  p = interleave (sources, order, FLOWS * EACH, from, NULL);
  pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_TCP);
  g_assert_cmpuint (pl.n, ==, FLOWS * EACH);
  plan_clear (&pl);
  check_plan (&p, NULL, from, barrier);
  packets_clear (&p);

  /* As many flows as slots: each one write. */
  for (guint i = 0; i < TUN_TAP_OFFLOAD_FLOWS * EACH; i++)
    order[i] = i % TUN_TAP_OFFLOAD_FLOWS;
  p = interleave (sources, order, TUN_TAP_OFFLOAD_FLOWS * EACH, from, NULL);
  pl = plan (&p, NULL, TUN_TAP_OFFLOAD_COALESCE_TCP);
  g_assert_cmpuint (pl.n, ==, TUN_TAP_OFFLOAD_FLOWS);
  plan_clear (&pl);
  check_plan (&p, NULL, from, barrier);
  packets_clear (&p);

  for (guint round = 0; round < 200; round++)
    {
      guint left[FLOWS], n = 0, nflows = 1 + g_rand_int_range (rand, 0, FLOWS);

      for (guint f = 0; f < nflows; f++)
        left[f] = EACH;
      while (n < nflows * EACH)
        {
          guint f = (guint) g_rand_int_range (rand, 0, (gint32) nflows);

          if (left[f] == 0)
            continue;
          left[f]--;
          order[n++] = f;
        }
      p = interleave (sources, order, n, from, NULL);
      /* Now and then a barrier, or a packet of a flow that breaks it. */
      for (guint i = 0; i < n; i++)
        {
          barrier[i] = FALSE;
          switch (g_rand_int_range (rand, 0, 12))
            {
            case 0:
              if ((packet_at (&p, i)[0] >> 4) == 4)
                {
                  packet_at (&p, i)[6] |= 0x20;
                  barrier[i] = TRUE;
                }
              break;
            case 1:
              packet_at (&p, i)[(packet_at (&p, i)[0] >> 4) == 4 ? 20 + 13 : 40 + 13] = 0x18;
              break;
            default:
              break;
            }
          fix_checksums (packet_at (&p, i), g_array_index (p.lengths, guint, i),
                         packet_at (&p, i)[0] >> 4);
        }
      check_plan (&p, NULL, from, barrier);
      packets_clear (&p);
    }

  for (guint f = 0; f < FLOWS; f++)
    packets_clear (&sources[f]);
}

/* Packets known to be right are merged without their checksums computed:
 * one with a bad checksum goes in only when @known_good says so. */
static void
test_coalesce_known_good (void)
{
  Spec v4 = { 4, 6, 8 * 1000, 1000, 0x10, 12, 0, 0 };
  Packets p = flow_packets (&v4);
  guint8 known[8];
  g_autofree char *text = NULL;

  packet_at (&p, 3)[20 + 40] ^= 0xff;
  memset (known, 1, sizeof known);
  text = plan_text (&p, known);
  g_assert_cmpstr (text, ==, "0,1,2,3,4,5,6,7");
  g_clear_pointer (&text, g_free);
  known[3] = 0;
  text = plan_text (&p, known);
  g_assert_cmpstr (text, ==, "0,1,2 3 4,5,6,7");
  packets_clear (&p);
}

/* The rule behind known_good: only the library's own packets, in a batch
 * still handed out, at their address and length, with the checksum field
 * as the library left it. */
static void
test_batch_registry (void)
{
  Spec v4 = { 4, 6, 6 * 1000, 1000, 0x10, 12, 0, 0 };
  Spec u6 = { 6, 17, 4 * 800, 800, 0, 0, 0, 0 };
  Packets a = flow_packets (&v4), b = flow_packets (&u6);
  guint8 computed[10] = { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 };
  GByteArray *batch = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) other = NULL;
  gsize offsets[10], size, off = 0;
  guint8 known[10];
  const guint8 *data;
  guint8 *copy;

  g_byte_array_append (batch, a.data->data, a.data->len);
  g_byte_array_append (batch, b.data->data, b.data->len);
  g_array_append_vals (lengths, a.lengths->data, a.lengths->len);
  g_array_append_vals (lengths, b.lengths->data, b.lengths->len);
  g_assert_cmpuint (lengths->len, ==, 10);
  for (guint i = 0; i < 10; i++)
    {
      offsets[i] = off;
      off += g_array_index (lengths, guint, i);
    }
  bytes = tun_tap_offload_batch_publish (batch, (guint *) lengths->data, computed, 10);
  data = g_bytes_get_data (bytes, &size);
  g_assert_cmpuint (size, ==, off);

  /* The batch as it was: the computed ones are known. */
  tun_tap_offload_batch_known_good (data, offsets, (guint *) lengths->data, 10, known);
  g_assert_cmpmem (known, 10, computed, 10);

  /* A copy of it: nothing is. */
  copy = g_memdup2 (data, size);
  tun_tap_offload_batch_known_good (copy, offsets, (guint *) lengths->data, 10, known);
  for (guint i = 0; i < 10; i++)
    g_assert_cmpuint (known[i], ==, 0);
  g_free (copy);

  /* From the second packet on, in another order, partly: known by
   * address. Packets 1 and 2 as one: not. A slice off a packet's start:
   * not. */
  {
    gsize offs[4] = { offsets[2] - offsets[1], 0, offsets[4] - offsets[1], 7 };
    guint lens[4] = { g_array_index (lengths, guint, 2), g_array_index (lengths, guint, 1),
                      g_array_index (lengths, guint, 4), 100 };

    tun_tap_offload_batch_known_good (data + offsets[1], offs, lens, 4, known);
    g_assert_cmpmem (known, 4, ((guint8[]) { 1, 1, 1, 0 }), 4);
    lens[1] += lens[0];
    tun_tap_offload_batch_known_good (data + offsets[1], offs + 1, lens + 1, 1, known);
    g_assert_cmpuint (known[0], ==, 0);
  }

  /* A packet whose checksum field was rewritten in place (against the
   * GBytes contract): not known. */
  ((guint8 *) data)[offsets[2] + 20 + 16] ^= 0x01;
  tun_tap_offload_batch_known_good (data, offsets, (guint *) lengths->data, 10, known);
  g_assert_cmpuint (known[2], ==, 0);
  g_assert_cmpuint (known[3], ==, 1);
  ((guint8 *) data)[offsets[2] + 20 + 16] ^= 0x01;

  /* A second batch: both known at once, each by its own. */
  {
    GByteArray *second = g_byte_array_new ();
    guint8 yes[6] = { 1, 1, 1, 1, 1, 1 };
    const guint8 *data2;

    g_byte_array_append (second, a.data->data, a.data->len);
    other = tun_tap_offload_batch_publish (second, (guint *) a.lengths->data, yes, 6);
    data2 = g_bytes_get_data (other, NULL);
    tun_tap_offload_batch_known_good (data2, offsets, (guint *) lengths->data, 6, known);
    g_assert_cmpmem (known, 6, yes, 6);
    tun_tap_offload_batch_known_good (data, offsets, (guint *) lengths->data, 6, known);
    g_assert_cmpmem (known, 6, yes, 6);
  }

  packets_clear (&a);
  packets_clear (&b);
}

/* More batches alive than the registry holds (gjs keeps them until a
 * garbage collection): the newest are known, the oldest forgotten. */
static void
test_batch_registry_evicts (void)
{
  Spec v4 = { 4, 6, 4 * 1000, 1000, 0x10, 12, 0, 0 };
  Packets flow = flow_packets (&v4);
  guint n = flow.lengths->len;
  guint8 yes[8], known[8];
  GBytes *held[40];

  memset (yes, 1, sizeof yes);
  g_assert_cmpuint (n, <=, 8);
  for (guint b = 0; b < G_N_ELEMENTS (held); b++)
    {
      GByteArray *batch = g_byte_array_new ();

      g_byte_array_append (batch, flow.data->data, flow.data->len);
      held[b] = tun_tap_offload_batch_publish (batch, (guint *) flow.lengths->data, yes, n);
    }
  for (guint b = 0; b < G_N_ELEMENTS (held); b++)
    {
      tun_tap_offload_batch_known_good (g_bytes_get_data (held[b], NULL),
                                        (gsize *) flow.offsets->data,
                                        (guint *) flow.lengths->data, n, known);
      /* 32 remembered: the last 32 published. */
      g_assert_cmpuint (known[0], ==, b >= G_N_ELEMENTS (held) - 32);
    }
  for (guint b = 0; b < G_N_ELEMENTS (held); b++)
    g_bytes_unref (held[b]);
  packets_clear (&flow);
}

/* Batch memory: a wake-up's array has room for its whole budget; a batch
 * keeps that block, which comes back for the next wake-up once the batch
 * goes (no fresh mapping per wake-up), however little it fills while no
 * other batch holds one (see test_batch_memory_held()). Both stay known. */
static void
test_batch_memory (void)
{
  Spec v4 = { 4, 6, 40 * 1400, 1400, 0x10, 12, 0, 0 };
  Packets flow = flow_packets (&v4);
  guint8 yes[40];
  gsize offsets[40], off = 0;
  guint8 known[40];

  memset (yes, 1, sizeof yes);
  for (guint i = 0; i < flow.lengths->len; i++)
    {
      offsets[i] = off;
      off += g_array_index (flow.lengths, guint, i);
    }
  g_assert_cmpuint (flow.lengths->len, ==, 40);

  for (int big = 0; big < 2; big++)
    {
      GByteArray *array = tun_tap_offload_batch_array_new ();
      guint8 *block = array->data;
      guint copies = big ? TUN_TAP_BATCH_CAPACITY / 2 / flow.data->len + 1 : 1;
      g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GBytes) bytes = NULL;
      GByteArray *again;
      const guint8 *data;
      gsize size;

      g_assert_cmpuint (array->len, ==, 0);
      for (guint c = 0; c < copies; c++)
        {
          g_byte_array_append (array, flow.data->data, flow.data->len);
          g_array_append_vals (lengths, flow.lengths->data, flow.lengths->len);
        }
      /* Filling the block never moved it. */
      g_assert_true (array->data == block);
      bytes = tun_tap_offload_batch_publish (array, (guint *) lengths->data, NULL, lengths->len);
      data = g_bytes_get_data (bytes, &size);
      g_assert_cmpuint (size, ==, copies * flow.data->len);
      g_assert_cmpmem (data, flow.data->len, flow.data->data, flow.data->len);
      g_assert_true (data == block);
      g_clear_pointer (&bytes, g_bytes_unref);

      /* Known good, in the block. */
      array = tun_tap_offload_batch_array_new ();
      g_byte_array_append (array, flow.data->data, flow.data->len);
      bytes = tun_tap_offload_batch_publish (array, (guint *) flow.lengths->data, yes, 40);
      tun_tap_offload_batch_known_good (g_bytes_get_data (bytes, NULL), offsets,
                                        (guint *) flow.lengths->data, 40, known);
      g_assert_cmpmem (known, 40, yes, 40);
      g_clear_pointer (&bytes, g_bytes_unref);

#ifdef HAVE_MALLOC_USABLE_SIZE
      /* The block came back: the next wake-up fills the same memory. */
      again = tun_tap_offload_batch_array_new ();
      g_assert_true (again->data == block);
      g_byte_array_unref (again);
#else
      (void) again;
#endif
    }
  packets_clear (&flow);
}

#ifdef HAVE_MALLOC_USABLE_SIZE
/* A batch filling less than half its block keeps it only while fewer than
 * TUN_TAP_BATCH_HELD_WHOLE others hold one: an application that holds its
 * batches (gjs, until a garbage collection) then gets small ones in memory
 * of their own size, not a 384 KiB block each; one that lets them go gets
 * the block again. A large batch always keeps its block. */
static GBytes *
publish_copies (const Packets *flow,
                guint          copies,
                guint8       **block)
{
  GByteArray *array = tun_tap_offload_batch_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree guint8 *computed = NULL;

  *block = array->data;
  for (guint c = 0; c < copies; c++)
    {
      g_byte_array_append (array, flow->data->data, flow->data->len);
      g_array_append_vals (lengths, flow->lengths->data, flow->lengths->len);
    }
  computed = g_malloc (lengths->len);
  memset (computed, 1, lengths->len);
  return tun_tap_offload_batch_publish (array, (guint *) lengths->data, computed, lengths->len);
}

/* Whether every packet of @flow at the start of @bytes is known good. */
static gboolean
all_known (GBytes        *bytes,
           const Packets *flow)
{
  guint n = flow->lengths->len;
  g_autofree gsize *offsets = g_new (gsize, n);
  g_autofree guint8 *known = g_malloc (n);
  gsize off = 0;

  for (guint i = 0; i < n; i++)
    {
      offsets[i] = off;
      off += g_array_index (flow->lengths, guint, i);
    }
  tun_tap_offload_batch_known_good (g_bytes_get_data (bytes, NULL), offsets,
                                    (guint *) flow->lengths->data, n, known);
  for (guint i = 0; i < n; i++)
    if (!known[i])
      return FALSE;
  return TRUE;
}

static void
test_batch_memory_held (void)
{
  Spec v4 = { 4, 6, 10 * 1400, 1400, 0x10, 12, 0, 0 };
  Packets flow = flow_packets (&v4);
  guint big = TUN_TAP_BATCH_CAPACITY / 2 / flow.data->len + 1;
  GBytes *held[TUN_TAP_BATCH_HELD_WHOLE];
  g_autoptr(GBytes) small = NULL, large = NULL, again = NULL;
  guint8 *block;
  gsize size;

  for (guint k = 0; k < G_N_ELEMENTS (held); k++)
    {
      held[k] = publish_copies (&flow, 1, &block);
      g_assert_true (g_bytes_get_data (held[k], NULL) == block);
    }

  /* Past them, a small one is copied (its bytes intact), a large one is not. */
  small = publish_copies (&flow, 1, &block);
  g_assert_true (g_bytes_get_data (small, &size) != block);
  g_assert_cmpmem (g_bytes_get_data (small, NULL), size, flow.data->data, flow.data->len);
  g_assert_true (all_known (small, &flow));
  large = publish_copies (&flow, big, &block);
  g_assert_true (g_bytes_get_data (large, &size) == block);
  g_assert_cmpuint (size, ==, big * flow.data->len);
  g_assert_true (all_known (large, &flow));
  g_clear_pointer (&large, g_bytes_unref);

  /* Once they go, small batches keep their block again. */
  for (guint k = 0; k < G_N_ELEMENTS (held); k++)
    g_bytes_unref (held[k]);
  g_clear_pointer (&small, g_bytes_unref);
  again = publish_copies (&flow, 1, &block);
  g_assert_true (g_bytes_get_data (again, NULL) == block);
  g_assert_true (all_known (again, &flow));
  packets_clear (&flow);
}
#endif

/* Passing super-packets through: while pass_begin() .. pass_end() (the
 * handlers of ::packets-received), a send_many() call that holds a whole
 * group, in order, at the batch's own addresses, each packet as the
 * library made it, gets that group's read to write whole; anything else
 * (a copy, part of a group, another order, a header or a checksum changed
 * in place, a protocol not asked for, after the end) does not. */
static void
test_pass_through (void)
{
  Spec v4 = { 4, 6, 6 * 1000, 1000, 0x10, 12, 0, 0 };
  Spec u6 = { 6, 17, 4 * 800, 800, 0, 0, 0, 0 };
  const guint both = TUN_TAP_OFFLOAD_COALESCE_TCP | TUN_TAP_OFFLOAD_COALESCE_UDP;
  gsize l4, hdr;
  g_autoptr(GByteArray) in_a = build (&v4, &l4, &hdr);
  g_autoptr(GByteArray) in_b = build (&u6, &l4, &hdr);
  Packets a = flow_packets (&v4), b = flow_packets (&u6);
  TunTapOffloadRaw *raw = tun_tap_offload_raw_new (in_a->len + in_b->len);
  TunTapOffloadGroup groups[2] = { { 0, 6, 0, in_a->len }, { 6, 4, in_a->len, in_b->len } };
  GByteArray *array = tun_tap_offload_batch_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GBytes) bytes = NULL;
  guint8 computed[10];
  gsize offsets[10], off = 0;
  TunTapOffloadPass passes[10];
  const guint *lens;
  guint8 *data, *copy;

  memcpy (raw->data, in_a->data, in_a->len);
  memcpy (raw->data + in_a->len, in_b->data, in_b->len);
  g_byte_array_append (array, a.data->data, a.data->len);
  g_byte_array_append (array, b.data->data, b.data->len);
  g_array_append_vals (lengths, a.lengths->data, a.lengths->len);
  g_array_append_vals (lengths, b.lengths->data, b.lengths->len);
  g_assert_cmpuint (lengths->len, ==, 10);
  lens = (const guint *) lengths->data;
  memset (computed, 1, sizeof computed);
  for (guint i = 0; i < 10; i++)
    {
      offsets[i] = off;
      off += lens[i];
    }
  bytes = tun_tap_offload_batch_publish (array, lens, computed, 10);
  data = (guint8 *) g_bytes_get_data (bytes, NULL);

  /* Before the handlers run: nothing. */
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10, both, passes),
                    ==, 0);

  tun_tap_offload_batch_pass_begin (bytes, raw, groups, 2);
  g_assert_true (tun_tap_offload_raw_shared (raw));
  /* The batch as it came: both reads, whole. */
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10, both, passes),
                    ==, 2);
  g_assert_cmpuint (passes[0].first, ==, 0);
  g_assert_cmpuint (passes[0].count, ==, 6);
  g_assert_true (passes[0].read == raw->data);
  g_assert_cmpuint (passes[0].len, ==, in_a->len);
  g_assert_cmpuint (passes[1].first, ==, 6);
  g_assert_cmpuint (passes[1].count, ==, 4);
  g_assert_true (passes[1].read == raw->data + in_a->len);
  g_assert_cmpuint (passes[1].len, ==, in_b->len);
  g_assert_true (passes[0].raw == raw && passes[1].raw == raw);
  tun_tap_offload_raw_unref (passes[0].raw);
  tun_tap_offload_raw_unref (passes[1].raw);

  /* Only the protocols asked for. */
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10,
                                                        TUN_TAP_OFFLOAD_COALESCE_UDP, passes),
                    ==, 1);
  g_assert_cmpuint (passes[0].first, ==, 6);
  tun_tap_offload_raw_unref (passes[0].raw);

  /* A slice from the second group on: that group. Part of the first
   * group: nothing. */
  {
    gsize from_six[4];

    for (guint i = 0; i < 4; i++)
      from_six[i] = offsets[6 + i] - offsets[6];
    g_assert_cmpuint (tun_tap_offload_batch_pass_through (data + offsets[6], from_six, lens + 6,
                                                          4, both, passes), ==, 1);
    g_assert_cmpuint (passes[0].first, ==, 0);
    tun_tap_offload_raw_unref (passes[0].raw);
    g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 5, both, passes),
                      ==, 0);
    g_assert_cmpuint (tun_tap_offload_batch_pass_through (data + offsets[1], from_six, lens + 1,
                                                          4, both, passes), ==, 0);
  }

  /* Packets 0 and 1 swapped: not the first group. */
  {
    gsize swapped[10];
    guint swapped_lens[10];

    memcpy (swapped, offsets, sizeof offsets);
    memcpy (swapped_lens, lens, sizeof swapped_lens);
    swapped[0] = offsets[1];
    swapped[1] = offsets[0];
    swapped_lens[0] = lens[1];
    swapped_lens[1] = lens[0];
    g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, swapped, swapped_lens, 10, both,
                                                          passes), ==, 1);
    g_assert_cmpuint (passes[0].first, ==, 6);
    tun_tap_offload_raw_unref (passes[0].raw);
  }

  /* A copy: nothing. */
  copy = g_memdup2 (data, off);
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (copy, offsets, lens, 10, both, passes),
                    ==, 0);
  g_free (copy);

  /* Changed in place (against the GBytes contract, as a gjs view can):
   * the TTL (the L4 checksum does not cover it), then the L4 checksum
   * field: that group no longer passes, the other does. */
  for (int what = 0; what < 2; what++)
    {
      gsize at = offsets[3] + (what == 0 ? 8 : 20 + 16);

      data[at] ^= 0x01;
      g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10, both, passes),
                        ==, 1);
      g_assert_cmpuint (passes[0].first, ==, 6);
      tun_tap_offload_raw_unref (passes[0].raw);
      data[at] ^= 0x01;
    }
  /* An IPv6 hop limit changed in place: the same. */
  data[offsets[7] + 7] ^= 0x01;
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10, both, passes),
                    ==, 1);
  g_assert_cmpuint (passes[0].first, ==, 0);
  tun_tap_offload_raw_unref (passes[0].raw);
  data[offsets[7] + 7] ^= 0x01;

  /* After the handlers: nothing, and the block is the device's alone. */
  tun_tap_offload_batch_pass_end (bytes);
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 10, both, passes),
                    ==, 0);
  g_assert_false (tun_tap_offload_raw_shared (raw));

  tun_tap_offload_raw_unref (raw);
  packets_clear (&a);
  packets_clear (&b);
}

/* A group whose packets do not share their headers' length (the read
 * path never records one: a group is one split) is not kept: no header
 * copied past its short packet, nothing passed through. */
static void
test_pass_through_uneven (void)
{
  Spec v4 = { 4, 6, 2 * 1000, 1000, 0x10, 12, 0, 0 };
  gsize l4, hdr;
  g_autoptr(GByteArray) in = build (&v4, &l4, &hdr);
  Packets a = flow_packets (&v4);
  TunTapOffloadRaw *raw = tun_tap_offload_raw_new (in->len);
  TunTapOffloadGroup group = { 0, 2, 0, in->len };
  GByteArray *array = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  guint lens[2] = { g_array_index (a.lengths, guint, 0), 20 };
  gsize offsets[2] = { 0, lens[0] };
  guint8 computed[2] = { 1, 1 };
  TunTapOffloadPass passes[2];
  const guint8 *data;

  memcpy (raw->data, in->data, in->len);
  /* The first packet whole, then only the first 20 bytes of the second:
   * shorter than the first's 52 bytes of headers. */
  g_byte_array_append (array, packet_at (&a, 0), lens[0]);
  g_byte_array_append (array, packet_at (&a, 1), lens[1]);
  bytes = tun_tap_offload_batch_publish (array, lens, computed, 2);
  data = g_bytes_get_data (bytes, NULL);

  tun_tap_offload_batch_pass_begin (bytes, raw, &group, 1);
  g_assert_false (tun_tap_offload_raw_shared (raw));
  g_assert_cmpuint (tun_tap_offload_batch_pass_through (data, offsets, lens, 2,
                                                        TUN_TAP_OFFLOAD_COALESCE_TCP, passes),
                    ==, 0);
  tun_tap_offload_batch_pass_end (bytes);
  tun_tap_offload_raw_unref (raw);
  packets_clear (&a);
}

/* The registry from several threads at once, as send_many() (any thread)
 * and the batches' last unrefs (any thread) use it: a batch held stays
 * known while others come and go; a copy never is; each batch's
 * super-packet passes through while its turn lasts, and every pass lets
 * the shared block of reads go. (The suite's ThreadSanitizer run watches
 * this.) */
typedef struct {
  Packets          *flow;
  TunTapOffloadRaw *raw;    /* the read the flow was split from */
  gint              stop;
} Churn;

/* One turn of a batch's handlers passing its super-packet through: found
 * once, whole. */
static void
pass_once (Churn *churn, GBytes *bytes)
{
  TunTapOffloadGroup group = { 0, churn->flow->lengths->len, 0, churn->raw->capacity };
  TunTapOffloadPass passes[64];
  guint n;

  tun_tap_offload_batch_pass_begin (bytes, churn->raw, &group, 1);
  n = tun_tap_offload_batch_pass_through (g_bytes_get_data (bytes, NULL),
                                          (gsize *) churn->flow->offsets->data,
                                          (guint *) churn->flow->lengths->data,
                                          churn->flow->lengths->len,
                                          TUN_TAP_OFFLOAD_COALESCE_TCP, passes);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (passes[0].count, ==, churn->flow->lengths->len);
  tun_tap_offload_raw_unref (passes[0].raw);
  tun_tap_offload_batch_pass_end (bytes);
}

static gpointer
churn_batches (gpointer data)
{
  Churn *churn = data;
  guint8 yes[64];

  memset (yes, 1, sizeof yes);
  while (!g_atomic_int_get (&churn->stop))
    {
      GByteArray *batch = g_byte_array_new ();
      GBytes *bytes;

      g_byte_array_append (batch, churn->flow->data->data, churn->flow->data->len);
      bytes = tun_tap_offload_batch_publish (batch, (guint *) churn->flow->lengths->data, yes,
                                             churn->flow->lengths->len);
      pass_once (churn, bytes);
      g_bytes_unref (bytes);
      /* Let the main thread have the lock too: under valgrind, which runs
       * one thread at a time, churning threads that never yield starved
       * it (2 to over 5 minutes for its 2000 turns). */
      g_thread_yield ();
    }
  return NULL;
}

static void
test_batch_registry_threads (void)
{
  Spec v4 = { 4, 6, 8 * 1000, 1000, 0x10, 12, 0, 0 };
  Packets flow = flow_packets (&v4);
  guint n = flow.lengths->len;
  guint8 yes[64], known[64];
  GByteArray *batch = g_byte_array_new ();
  g_autoptr(GBytes) held = NULL;
  g_autofree guint8 *copy = NULL;
  gsize l4, hdr;
  g_autoptr(GByteArray) read = build (&v4, &l4, &hdr);
  Churn churn = { &flow, tun_tap_offload_raw_new (read->len), 0 };
  GThread *threads[2];
  const guint8 *data;

  memset (yes, 1, sizeof yes);
  memcpy (churn.raw->data, read->data, read->len);
  g_byte_array_append (batch, flow.data->data, flow.data->len);
  held = tun_tap_offload_batch_publish (batch, (guint *) flow.lengths->data, yes, n);
  data = g_bytes_get_data (held, NULL);
  copy = g_memdup2 (data, flow.data->len);

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("churn", churn_batches, &churn);
  for (guint i = 0; i < 2000; i++)
    {
      tun_tap_offload_batch_known_good (data, (gsize *) flow.offsets->data,
                                        (guint *) flow.lengths->data, n, known);
      g_assert_cmpmem (known, n, yes, n);
      tun_tap_offload_batch_known_good (copy, (gsize *) flow.offsets->data,
                                        (guint *) flow.lengths->data, n, known);
      for (guint k = 0; k < n; k++)
        g_assert_cmpuint (known[k], ==, 0);
      pass_once (&churn, held);
    }
  g_atomic_int_set (&churn.stop, 1);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
  /* Every pass let its block go. */
  g_assert_false (tun_tap_offload_raw_shared (churn.raw));
  tun_tap_offload_raw_unref (churn.raw);
  packets_clear (&flow);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The offload splitter, no kernel: segments checked field by field and "
                  "with an independent checksum; malformed headers refused");

  g_test_add_func ("/tun-tap/offload/checksum", test_checksum);
  g_test_add_func ("/tun-tap/offload/batch-memory", test_batch_memory);
#ifdef HAVE_MALLOC_USABLE_SIZE
  g_test_add_func ("/tun-tap/offload/batch-memory-held", test_batch_memory_held);
#endif
  g_test_add_func ("/tun-tap/offload/batch-registry-evicts", test_batch_registry_evicts);
  g_test_add_func ("/tun-tap/offload/pass-through", test_pass_through);
  g_test_add_func ("/tun-tap/offload/pass-through/uneven-group", test_pass_through_uneven);
  g_test_add_func ("/tun-tap/offload/split/tcp4", test_tcp4);
  g_test_add_func ("/tun-tap/offload/split/tcp6", test_tcp6);
  g_test_add_func ("/tun-tap/offload/split/udp4", test_udp4);
  g_test_add_func ("/tun-tap/offload/split/udp6", test_udp6);
  g_test_add_func ("/tun-tap/offload/needs-csum", test_needs_csum_single);
  g_test_add_func ("/tun-tap/offload/malformed", test_malformed);
  g_test_add_func ("/tun-tap/offload/coalesce/round-trip", test_coalesce_round_trip);
  g_test_add_func ("/tun-tap/offload/coalesce/rules", test_coalesce_rules);
  g_test_add_func ("/tun-tap/offload/coalesce/interleaved", test_coalesce_interleaved);
  g_test_add_func ("/tun-tap/offload/coalesce/many-flows", test_coalesce_many_flows);
  g_test_add_func ("/tun-tap/offload/coalesce/known-good", test_coalesce_known_good);
  g_test_add_func ("/tun-tap/offload/coalesce/batch-registry", test_batch_registry);
  g_test_add_func ("/tun-tap/offload/coalesce/batch-registry-threads",
                   test_batch_registry_threads);

  return g_test_run ();
}
