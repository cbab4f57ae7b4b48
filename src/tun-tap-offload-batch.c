/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The registry of the batches packets-received (and receive_finish())
 * handed out, for the checksum rule of coalescing stated at the top of
 * tun-tap-offload.c: which packets of a send_many() call are, exactly,
 * packets whose checksums this library computed.
 */
#include "config.h"

#include "tun-tap-offload.h"

#include <string.h>
#ifdef HAVE_MALLOC_USABLE_SIZE
#include <malloc.h>
#endif

#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

/* One batch of packets-received, while its GBytes lives: where each packet
 * starts, and for the packets whose checksums the library computed itself
 * (split or finished), where their L4 checksum field is and what it held. */
typedef struct {
  guint32 offset;
  guint16 field;     /* 0: checksums not computed here */
  guint16 csum;
} BatchPacket;

typedef struct {
  guint8      *data;
  gsize        len;
  guint        n;
  gboolean     registered;
  gboolean     pooled;      /* data is a block of the pool's size */
  BatchPacket  packets[];   /* n + 1: the last holds the end */
} Batch;

#define LIVE_BATCHES 32

/* Guards live[] and pool[]. */
static GMutex live_lock;
static Batch *live[LIVE_BATCHES];

/* Batch memory. A wake-up's batch has room for its whole budget. malloc
 * hands out a block that large with mmap() for as long as its threshold is
 * below it (the threshold rises only when such a block comes back whole),
 * so a fresh block per wake-up was a fresh mapping: page faults and pages
 * zeroed by the kernel, about 0.5 CPU-s per GB relayed, four times the
 * library's own work. Blocks come back here instead, a few at most (a
 * batch lives until its GBytes goes: at once in C and Python, at a garbage
 * collection in gjs). */
#define POOL_BLOCKS 4
static guint8 *pool[POOL_BLOCKS];
static guint pool_len;

GByteArray *
tun_tap_offload_batch_array_new (void)
{
  guint8 *block = NULL;
  GByteArray *array;

  g_mutex_lock (&live_lock);
  if (pool_len > 0)
    block = pool[--pool_len];
  g_mutex_unlock (&live_lock);
  if (block == NULL)
    block = g_malloc (TUN_TAP_BATCH_CAPACITY);
  /* A GByteArray that took a block has exactly its size for capacity, and
   * grows (reallocates) only past it. */
  array = g_byte_array_new_take (block, TUN_TAP_BATCH_CAPACITY);
  g_byte_array_set_size (array, 0);
  return array;
}

/* Whether @block has room for a batch: made by
 * tun_tap_offload_batch_array_new(), or as large by chance; never a
 * smaller one (an array of a test, say) that the pool would hand out. */
static gboolean
is_block (guint8 *block)
{
#ifdef HAVE_MALLOC_USABLE_SIZE
  return malloc_usable_size (block) >= TUN_TAP_BATCH_CAPACITY;
#else
  (void) block;
  return FALSE;
#endif
}

static void
block_free (guint8 *block)
{
  g_mutex_lock (&live_lock);
  if (pool_len < POOL_BLOCKS)
    {
      pool[pool_len++] = block;
      block = NULL;
    }
  g_mutex_unlock (&live_lock);
  g_free (block);
}

static void
batch_free (gpointer data)
{
  Batch *batch = data;

  /* Forgotten before the memory goes, so no other buffer that lands at
   * the same address is ever taken for this one. */
  if (batch->registered)
    {
      g_mutex_lock (&live_lock);
      for (guint k = 0; k < LIVE_BATCHES; k++)
        if (live[k] == batch)
          live[k] = NULL;
      g_mutex_unlock (&live_lock);
    }
  if (batch->pooled)
    block_free (batch->data);
  else
    g_free (batch->data);
  g_free (batch);
}

/* Where the L4 checksum field of @p is, for TCP and UDP without IPv6
 * extension headers; 0 otherwise. */
static guint16
checksum_field (const guint8 *p,
                gsize         len)
{
  gsize l4;
  guint8 protocol;

  if (len >= 20 && p[0] >> 4 == 4)
    {
      l4 = (gsize) (p[0] & 0x0f) * 4;
      protocol = p[9];
    }
  else if (len >= 40 && p[0] >> 4 == 6)
    {
      l4 = 40;
      protocol = p[6];
    }
  else
    return 0;
  if (l4 < 20 || (protocol != IPPROTO_TCP_ && protocol != IPPROTO_UDP_))
    return 0;
  l4 += protocol == IPPROTO_TCP_ ? 16 : 6;
  return l4 + 2 <= len ? (guint16) l4 : 0;
}

GBytes *
tun_tap_offload_batch_publish (GByteArray   *data,
                               const guint  *lengths,
                               const guint8 *computed,
                               guint         n)
{
  Batch *batch = g_malloc (sizeof (Batch) + (n + 1) * sizeof (BatchPacket));
  gboolean block;
  guint32 offset = 0;

  batch->len = data->len;
  batch->data = g_byte_array_free (data, FALSE);
  block = batch->data != NULL && is_block (batch->data);
  batch->pooled = block;
  /* A batch lives as long as the application holds it (in gjs, until a
   * garbage collection): one that fills less than half its block gets
   * memory of its own size, and the block goes back at once. */
  if (block && batch->len < TUN_TAP_BATCH_CAPACITY / 2)
    {
      guint8 *whole = batch->data;

      batch->data = g_memdup2 (whole, MAX (batch->len, 1));
      batch->pooled = FALSE;
      block_free (whole);
    }
  batch->n = n;
  batch->registered = FALSE;
  for (guint i = 0; i < n; i++)
    {
      BatchPacket *bp = &batch->packets[i];

      bp->offset = offset;
      bp->field = computed != NULL && computed[i] ? checksum_field (batch->data + offset, lengths[i]) : 0;
      bp->csum = bp->field != 0 ? get16 (batch->data + offset + bp->field) : 0;
      offset += lengths[i];
    }
  batch->packets[n].offset = offset;
  batch->packets[n].field = 0;

  /* A batch larger than offsets can say, or with no packet whose checksums
   * are known: nothing to remember. */
  if (computed != NULL && offset == batch->len && batch->len <= G_MAXUINT32 && n > 0)
    {
      g_mutex_lock (&live_lock);
      for (guint k = 0; k < LIVE_BATCHES && !batch->registered; k++)
        if (live[k] == NULL)
          {
            live[k] = batch;
            batch->registered = TRUE;
          }
      g_mutex_unlock (&live_lock);
    }
  return g_bytes_new_with_free_func (batch->data, batch->len, batch_free, batch);
}

void
tun_tap_offload_batch_known_good (const guint8 *data,
                                  const gsize  *offsets,
                                  const guint  *lengths,
                                  guint         n,
                                  guint8       *known_good)
{
  const Batch *near[LIVE_BATCHES];
  const Batch *batch = NULL;
  guintptr lo = (guintptr) -1, hi = 0;
  guint n_near = 0, j = 0;

  memset (known_good, 0, n);
  for (guint i = 0; i < n; i++)
    {
      lo = MIN (lo, (guintptr) (data + offsets[i]));
      hi = MAX (hi, (guintptr) (data + offsets[i]) + lengths[i]);
    }

  g_mutex_lock (&live_lock);
  /* The batches the call's memory touches at all: usually one, or none
   * (a copy, as from the bindings). */
  for (guint k = 0; k < LIVE_BATCHES; k++)
    if (live[k] != NULL && (guintptr) live[k]->data < hi &&
        (guintptr) live[k]->data + live[k]->len > lo)
      near[n_near++] = live[k];

  for (guint i = 0; i < n && n_near > 0; i++)
    {
      const guint8 *p = data + offsets[i];
      guintptr at = (guintptr) p;
      const BatchPacket *bp;
      gsize offset;

      if (batch == NULL || at < (guintptr) batch->data ||
          at - (guintptr) batch->data >= batch->len)
        {
          batch = NULL;
          for (guint k = 0; k < n_near && batch == NULL; k++)
            if (at >= (guintptr) near[k]->data && at - (guintptr) near[k]->data < near[k]->len)
              batch = near[k];
          if (batch == NULL)
            continue;
          j = 0;
        }
      offset = at - (guintptr) batch->data;

      /* The packets usually come in the batch's order: try the next one,
       * else search. */
      if (j >= batch->n || batch->packets[j].offset != offset)
        {
          guint l = 0, h = batch->n;

          while (l < h)
            {
              guint mid = l + (h - l) / 2;

              if (batch->packets[mid].offset < offset)
                l = mid + 1;
              else
                h = mid;
            }
          j = l;
        }
      if (j >= batch->n || batch->packets[j].offset != offset)
        continue;
      bp = &batch->packets[j];
      /* The very packet the library made, as long as it was, its checksum
       * field as the library left it. */
      known_good[i] = bp[1].offset - bp->offset == lengths[i] && bp->field != 0 &&
                      get16 (p + bp->field) == bp->csum;
      j++;
    }
  g_mutex_unlock (&live_lock);
}
