/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The library's own CPU cost on the offload relay path, without the
 * kernel (relay.sh prints it first): TCP/IPv4 super-packets of 45 × 1448
 * bytes, as the kernel hands them up, split into a batch of about 256 KiB
 * as the read loop does, the batch published as packets-received would,
 * then handed back as send_many() would: the known-good lookup, the plan
 * and each super-packet's header (no write). Prints the CPU seconds per
 * GB read, the best of five rounds (the machine is shared), and the same
 * with the packets copied first (into one reused buffer, that copy
 * counted), as the bindings hand them back, so that every checksum is
 * verified. Fails if the plan does not merge each super-packet back into
 * one write.
 *
 *   bench-offload-cpu
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tun-tap-offload.h"

#define SEGMENTS 45
#define MSS 1448
#define PER_BATCH 4

static double
cpu_seconds (void)
{
  struct timespec t;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

/* vnet header + IPv4 + TCP with timestamps (32 bytes) + payload. */
static GByteArray *
super_packet (guint32 seq)
{
  gsize payload = SEGMENTS * MSS, total = 20 + 32 + payload;
  GByteArray *b = g_byte_array_new ();
  guint16 vh[5] = { 52, MSS, 20, 16, 0 };
  guint8 *p;

  g_byte_array_set_size (b, (guint) (10 + total));
  memset (b->data, 0, b->len);
  b->data[0] = TUN_TAP_VNET_F_NEEDS_CSUM;
  b->data[1] = TUN_TAP_VNET_GSO_TCPV4;
  memcpy (b->data + 2, vh, sizeof vh);
  p = b->data + 10;
  p[0] = 0x45;
  p[2] = (guint8) (total >> 8);
  p[3] = (guint8) total;
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 6;
  memcpy (p + 12, (guint8[]) { 192, 0, 2, 1, 192, 0, 2, 2 }, 8);
  p[20] = 0x30;
  p[21] = 0x39;
  p[23] = 80;
  p[24] = (guint8) (seq >> 24);
  p[25] = (guint8) (seq >> 16);
  p[26] = (guint8) (seq >> 8);
  p[27] = (guint8) seq;
  p[32] = 0x80;
  p[33] = 0x10;
  p[34] = 0xff;
  for (gsize i = 0; i < payload; i++)
    p[52 + i] = (guint8) (i * 7 + seq);
  return b;
}

/* One batch there and back; returns the bytes read. */
static gsize
one_batch (GByteArray **reads, guint8 *copy)
{
  GByteArray *batch = tun_tap_offload_batch_array_new ();
  g_autoptr(GArray) lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint), 320);
  g_autoptr(GBytes) bytes = NULL;
  guint8 computed[SEGMENTS * PER_BATCH];
  g_autofree gsize *offsets = NULL;
  g_autofree guint *next = NULL;
  g_autofree guint8 *known = NULL;
  g_autofree TunTapOffloadWrite *writes = NULL;
  const guint8 *data;
  gsize read = 0, off = 0, len;
  guint n, n_writes;

  for (guint i = 0; i < PER_BATCH; i++)
    {
      guint first = lengths->len;
      gboolean c = FALSE;
      guint got = tun_tap_offload_split (reads[i]->data, reads[i]->len, batch, lengths, &c);

      memset (computed + first, c, got);
      read += reads[i]->len;
    }
  n = lengths->len;
  bytes = tun_tap_offload_batch_publish (batch, (const guint *) lengths->data, computed, n);
  data = g_bytes_get_data (bytes, &len);
  if (copy != NULL)
    data = memcpy (copy, data, len);

  offsets = g_new (gsize, n);
  next = g_new (guint, n);
  known = g_malloc (n);
  writes = g_new (TunTapOffloadWrite, n);
  for (guint i = 0; i < n; i++)
    {
      offsets[i] = off;
      off += g_array_index (lengths, guint, i);
    }
  tun_tap_offload_batch_known_good (data, offsets, (const guint *) lengths->data, n, known);
  n_writes = tun_tap_offload_plan (data, offsets, (const guint *) lengths->data, n,
                                   TUN_TAP_OFFLOAD_COALESCE_TCP, known, writes, next);
  if (n_writes != PER_BATCH)
    g_error ("the plan has %u writes for %u super-packets", n_writes, PER_BATCH);
  for (guint w = 0; w < n_writes; w++)
    {
      guint8 header[TUN_TAP_OFFLOAD_HEADER_MAX];
      gsize payload_offset;

      if (tun_tap_offload_header (data, offsets, (const guint *) lengths->data, &writes[w],
                                  header, &payload_offset) == 0)
        g_error ("no header for write %u", w);
    }
  return read;
}

int
main (int argc, char *argv[])
{
  GByteArray *reads[PER_BATCH];
  g_autofree guint8 *copy_buffer = g_malloc (512 * 1024);

  for (guint i = 0; i < PER_BATCH; i++)
    reads[i] = super_packet (1 + i * SEGMENTS * MSS);

  for (int copy = 0; copy < 2; copy++)
    {
      double best = G_MAXDOUBLE;
      gsize bytes = 0;

      for (int round = 0; round < 5; round++)
        {
          double t0 = cpu_seconds ();

          bytes = 0;
          for (int i = 0; i < 1000; i++)
            bytes += one_batch (reads, copy ? copy_buffer : NULL);
          best = MIN (best, cpu_seconds () - t0);
        }
      printf ("library user space, %s: %.3f CPU-s/GB\n",
              copy ? "packets copied (bindings)" : "packets passed back (C)",
              best / ((double) bytes / 1e9));
    }
  for (guint i = 0; i < PER_BATCH; i++)
    g_byte_array_unref (reads[i]);
  return 0;
}
