/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The offload splitter (src/tun-tap-offload.c), no kernel: hand-built
 * TCPv4, TCPv6, UDPv4 and UDPv6 super-packets with virtio-net headers are
 * split, and every segment is checked against the super-packet and with a
 * checksum written independently here (a plain RFC 1071 sum over a copy
 * with the pseudo-header prepended); partial checksums on ordinary packets
 * are completed; malformed headers are refused without output.
 */
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
 * (the carries). */
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
  p[ip] = 0x30; p[ip + 1] = 0x39;          /* ports 12345 → 80 */
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

  n = tun_tap_offload_split (in->data, in->len, out, lengths);
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
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths), ==, 1);
  g_assert_cmpuint (g_array_index (lengths, guint, 0), ==, len);
  g_assert_true (l4_checksum_ok (out->data, len, l4, 17));
  g_assert_cmpmem (out->data, l4 + 6, p, l4 + 6);

  /* Without NEEDS_CSUM the packet is passed on untouched. */
  in->data[0] = 0;
  g_byte_array_set_size (out, 0);
  g_array_set_size (lengths, 0);
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths), ==, 1);
  g_assert_cmpmem (out->data, out->len, p, len);
}

static void
expect_refused (GByteArray *in, const char *why)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GArray) lengths = g_array_new (FALSE, FALSE, sizeof (guint));

  g_test_message ("refused: %s", why);
  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, out, lengths), ==, 0);
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

/* The packets a super-packet of @spec stands for (split, so every field
 * and checksum is right). */
static Packets
flow_packets (const Spec *spec)
{
  gsize l4, hdr;
  g_autoptr(GByteArray) in = build (spec, &l4, &hdr);
  Packets p = { g_byte_array_new (), g_array_new (FALSE, FALSE, sizeof (guint)),
                g_array_new (FALSE, FALSE, sizeof (gsize)) };
  gsize off = 0;

  g_assert_cmpuint (tun_tap_offload_split (in->data, in->len, p.data, p.lengths), >, 1);
  for (guint i = 0; i < p.lengths->len; i++)
    {
      g_array_append_val (p.offsets, off);
      off += g_array_index (p.lengths, guint, i);
    }
  return p;
}

static guint
coalesce_all (Packets *p, guint first, GByteArray *write_out)
{
  guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX];
  gsize header_len = 0, payload_offset = 0;
  guint count;

  count = tun_tap_offload_coalesce (p->data->data, (gsize *) p->offsets->data,
                                    (guint *) p->lengths->data, p->lengths->len, first,
                                    TUN_TAP_OFFLOAD_COALESCE_TCP | TUN_TAP_OFFLOAD_COALESCE_UDP,
                                    header, &header_len, &payload_offset);
  if (count > 1 && write_out != NULL)
    {
      g_byte_array_append (write_out, header, (guint) header_len);
      for (guint i = first; i < first + count; i++)
        g_byte_array_append (write_out,
                             p->data->data + g_array_index (p->offsets, gsize, i) + payload_offset,
                             g_array_index (p->lengths, guint, i) - (guint) payload_offset);
    }
  return count;
}

/* split (coalesce (p)) == p, byte for byte. */
static void
check_round_trip (const Spec *spec)
{
  Packets p = flow_packets (spec);
  g_autoptr(GByteArray) write_out = g_byte_array_new ();
  g_autoptr(GByteArray) again = g_byte_array_new ();
  g_autoptr(GArray) again_lengths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = p.lengths->len;

  g_assert_cmpuint (coalesce_all (&p, 0, write_out), ==, n);
  g_assert_cmpuint (tun_tap_offload_split (write_out->data, write_out->len, again, again_lengths), ==, n);
  g_assert_cmpmem (again->data, again->len, p.data->data, p.data->len);
  g_assert_cmpmem (again_lengths->data, again_lengths->len * sizeof (guint),
                   p.lengths->data, n * sizeof (guint));
  packets_clear (&p);
}

static void
test_coalesce_round_trip (void)
{
  Spec v4 = { 4, 6, 20 * 1448 + 100, 1448, 0x10 | 0x08, 12, 0 };
  Spec v6 = { 6, 6, 10 * 1428, 1428, 0x10, 0, 0 };

  Spec u4 = { 4, 17, 30 * 1400 + 11, 1400, 0, 0, 0 };
  Spec u6 = { 6, 17, 20 * 1232, 1232, 0, 0, 0 };

  check_round_trip (&v4);
  check_round_trip (&v6);
  check_round_trip (&u4);
  check_round_trip (&u6);
  /* UDP: 64 datagrams at most in one write. */
  u4.payload = 100 * 600;
  u4.gso_size = 600;
  {
    Packets p = flow_packets (&u4);

    g_assert_cmpuint (coalesce_all (&p, 0, NULL), ==, TUN_TAP_OFFLOAD_MAX_UDP_SEGMENTS);
    g_assert_cmpuint (coalesce_all (&p, 64, NULL), ==, 36);
    packets_clear (&p);
  }
  /* 65,535 bytes at most: a longer flow needs two writes. */
  v4.payload = 60 * 1448;
  {
    Packets p = flow_packets (&v4);
    guint first = coalesce_all (&p, 0, NULL);

    g_assert_cmpuint (first, <, p.lengths->len);
    g_assert_cmpuint (first * 1448 + 20 + 32, <=, 65535);
    g_assert_cmpuint (first + coalesce_all (&p, first, NULL), ==, p.lengths->len);
    packets_clear (&p);
  }
}

/* Changes byte @at of packet @i (and fixes its checksums unless @bad_csum),
 * then expects the run from packet 0 to stop before packet @i. */
static void
patch_packet (Packets *p, const Spec *spec, guint i, gsize at, guint8 value, gboolean fix)
{
  guint8 *pkt = p->data->data + g_array_index (p->offsets, gsize, i);
  guint len = g_array_index (p->lengths, guint, i);
  gsize l4 = spec->version == 4 ? 20 : 40;

  pkt[at] = value;
  if (fix)
    {
      guint8 pseudo[40] = { 0 };
      g_autoptr(GByteArray) buf = g_byte_array_new ();
      guint16 c;

      if (spec->version == 4)
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
}

static void
expect_stop (const Spec *spec, guint i, gsize at, guint8 value, gboolean fix, const char *why)
{
  Packets p = flow_packets (spec);

  g_test_message ("stops at %u: %s", i, why);
  patch_packet (&p, spec, i, at, value, fix);
  /* A write holds at least one packet: a refused head goes alone. */
  g_assert_cmpuint (coalesce_all (&p, 0, NULL), ==, MAX (i, 1));
  packets_clear (&p);
}

static void
test_coalesce_rules (void)
{
  Spec v4 = { 4, 6, 8 * 1000, 1000, 0x10, 12, 0 };
  Spec v6 = { 6, 6, 8 * 1000, 1000, 0x10, 0, 0 };

  expect_stop (&v4, 3, 20 + 2, 0x99, TRUE, "another flow (destination port)");
  expect_stop (&v4, 3, 20 + 8, 0x99, TRUE, "another ACK number");
  expect_stop (&v4, 3, 20 + 14, 0x00, TRUE, "another window");
  expect_stop (&v4, 3, 20 + 7, 0x99, TRUE, "out of order (sequence)");
  expect_stop (&v4, 3, 8, 63, TRUE, "unequal TTL");
  expect_stop (&v4, 3, 1, 0x10, TRUE, "unequal ToS");
  expect_stop (&v4, 3, 6, 0x00, TRUE, "unequal DF");
  expect_stop (&v4, 3, 6, 0x60, TRUE, "more fragments set");
  expect_stop (&v4, 3, 20 + 13, 0x11, TRUE, "FIN");
  expect_stop (&v4, 3, 20 + 20, 0x02, TRUE, "other TCP options");
  expect_stop (&v4, 3, 20 + 30, 0x55, FALSE, "an invalid checksum");
  expect_stop (&v6, 3, 7, 63, TRUE, "IPv6: unequal hop limit");
  expect_stop (&v6, 3, 1, 0x10, TRUE, "IPv6: unequal traffic class");
  expect_stop (&v6, 0, 40 + 13, 0x18, TRUE, "PSH on the head: alone");

  /* PSH in the middle: included, and the super-packet ends there. */
  {
    Packets p = flow_packets (&v4);

    patch_packet (&p, &v4, 3, 20 + 13, 0x18, TRUE);
    g_assert_cmpuint (coalesce_all (&p, 0, NULL), ==, 4);
    packets_clear (&p);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_summary ("The offload splitter, no kernel: segments checked field by field and "
                  "with an independent checksum; malformed headers refused");

  g_test_add_func ("/tun-tap/offload/checksum", test_checksum);
  g_test_add_func ("/tun-tap/offload/split/tcp4", test_tcp4);
  g_test_add_func ("/tun-tap/offload/split/tcp6", test_tcp6);
  g_test_add_func ("/tun-tap/offload/split/udp4", test_udp4);
  g_test_add_func ("/tun-tap/offload/split/udp6", test_udp6);
  g_test_add_func ("/tun-tap/offload/needs-csum", test_needs_csum_single);
  g_test_add_func ("/tun-tap/offload/malformed", test_malformed);
  g_test_add_func ("/tun-tap/offload/coalesce/round-trip", test_coalesce_round_trip);
  g_test_add_func ("/tun-tap/offload/coalesce/rules", test_coalesce_rules);

  return g_test_run ();
}
