/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The library's own CPU cost on the offload relay path, without the
 * kernel (relay.sh prints it first): TCP/IPv4 super-packets of 45 × 1448
 * bytes, as the kernel hands them up, split into a batch of about 192 KiB
 * as the read loop does, the batch published as packets-received would,
 * then handed back as send_many() would (no write), three ways: the batch
 * itself (C, or a GLib.Bytes through send_many_bytes()), whose
 * super-packets pass through whole; a copy (a binding's send_many(), the
 * copy counted), verified, planned and merged again; the batch itself with
 * passing through unavailable (a handler that keeps the batch and sends it
 * later), planned without verifying. Prints the CPU seconds per GB read,
 * the best of five rounds (the machine is shared). Fails if a super-packet
 * does not go back as one write.
 *
 *   bench-offload-cpu
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tun-tap-offload.h"

#define SEGMENTS 45
#define MSS 1448
#define PER_BATCH 3

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

typedef enum {
  PASS,     /* the batch itself, while its handlers run */
  COPY,     /* a copy */
  KEEP,     /* the batch itself, later */
} Way;

static const char *const way_names[] = {
  "the batch passed back (C; send_many_bytes())",
  "a copy passed back (a binding's send_many())",
  "the batch passed back later (no passing through)",
};

/* One batch there and back; returns the bytes read. The reads are in
 * @raw, as the device keeps them. */
static gsize
one_batch (TunTapOffloadRaw *raw, const gsize *read_len, Way way, guint8 *copy)
{
  GByteArray *batch = tun_tap_offload_batch_array_new ();
  g_autoptr(GArray) lengths = g_array_sized_new (FALSE, FALSE, sizeof (guint), 320);
  g_autoptr(GBytes) bytes = NULL;
  guint8 computed[SEGMENTS * PER_BATCH];
  TunTapOffloadGroup groups[PER_BATCH];
  g_autofree gsize *offsets = NULL;
  g_autofree guint *next = NULL;
  g_autofree guint8 *known = NULL;
  g_autofree TunTapOffloadWrite *writes = NULL;
  g_autofree TunTapOffloadPass *passes = NULL;
  const guint8 *data;
  gsize read = 0, off = 0, len;
  guint n, n_writes;

  for (guint i = 0; i < PER_BATCH; i++)
    {
      guint first = lengths->len;
      gboolean c = FALSE;
      guint got = tun_tap_offload_split (raw->data + read, read_len[i], batch, lengths, &c);

      memset (computed + first, c, got);
      groups[i] = (TunTapOffloadGroup) { first, got, read, read_len[i] };
      read += read_len[i];
    }
  n = lengths->len;
  bytes = tun_tap_offload_batch_publish (batch, (const guint *) lengths->data, computed, n);
  data = g_bytes_get_data (bytes, &len);
  if (way == COPY)
    data = memcpy (copy, data, len);

  offsets = g_new (gsize, n);
  for (guint i = 0; i < n; i++)
    {
      offsets[i] = off;
      off += g_array_index (lengths, guint, i);
    }
  if (way == PASS)
    {
      passes = g_new (TunTapOffloadPass, n);
      tun_tap_offload_batch_pass_begin (bytes, raw, groups, PER_BATCH);
      n_writes = tun_tap_offload_batch_pass_through (data, offsets, (const guint *) lengths->data,
                                                     n, TUN_TAP_OFFLOAD_COALESCE_TCP, passes);
      for (guint w = 0; w < n_writes; w++)
        tun_tap_offload_raw_unref (passes[w].raw);
      tun_tap_offload_batch_pass_end (bytes);
      if (n_writes != PER_BATCH)
        g_error ("%u super-packets passed through of %u", n_writes, PER_BATCH);
      return read;
    }

  next = g_new (guint, n);
  known = g_malloc (n);
  writes = g_new (TunTapOffloadWrite, n);
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
  TunTapOffloadRaw *raw = tun_tap_offload_raw_new (PER_BATCH * (10 + 52 + SEGMENTS * MSS));
  g_autofree guint8 *copy_buffer = g_malloc (512 * 1024);
  gsize read_len[PER_BATCH], at = 0;

  for (guint i = 0; i < PER_BATCH; i++)
    {
      g_autoptr(GByteArray) b = super_packet (1 + i * SEGMENTS * MSS);

      memcpy (raw->data + at, b->data, b->len);
      read_len[i] = b->len;
      at += b->len;
    }

  for (Way way = PASS; way <= KEEP; way++)
    {
      double best = G_MAXDOUBLE;
      gsize bytes = 0;

      for (int round = 0; round < 5; round++)
        {
          double t0 = cpu_seconds ();

          bytes = 0;
          for (int i = 0; i < 1000; i++)
            bytes += one_batch (raw, read_len, way, copy_buffer);
          best = MIN (best, cpu_seconds () - t0);
        }
      printf ("library user space, %s: %.3f CPU-s/GB\n", way_names[way],
              best / ((double) bytes / 1e9));
    }
  tun_tap_offload_raw_unref (raw);
  return 0;
}
