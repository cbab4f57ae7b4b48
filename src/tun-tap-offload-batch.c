/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The registry of the batches packets-received (and receive_finish())
 * handed out: which packets of a send_many() call are, exactly, packets
 * whose checksums this library computed (the checksum rule of coalescing
 * stated at the top of tun-tap-offload.c), and, while a batch's handlers
 * run, which runs of them are whole super-packets as read, to pass
 * through. Also the memory of batches, reused.
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
  guint8             *data;
  gsize               len;
  guint               n;
  gboolean            registered;  /* in live[]; under live_lock */
  guint64             seq;         /* when registered; under live_lock */
  gboolean            pooled;      /* data is a block of the pool's size */
  /* While passing through (see tun_tap_offload_batch_pass_begin()): the
   * reads, the groups, a copy of each grouped packet's headers (packet j's
   * at headers + marks[j], up to marks[j + 1]); marks and headers lie in
   * the groups' allocation. */
  TunTapOffloadRaw   *raw;
  TunTapOffloadGroup *groups;
  guint               n_groups;
  guint8             *headers;
  guint32            *marks;
  BatchPacket         packets[];   /* n + 1: the last holds the end */
} Batch;

#define LIVE_BATCHES 32

/* Guards live[] and pool[]. */
static GMutex live_lock;
static Batch *live[LIVE_BATCHES];
static guint64 live_seq;

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

/* Blocks that batches hold now (atomic). A batch that fills less than half
 * its block keeps it only while fewer than TUN_TAP_BATCH_HELD_WHOLE are
 * out (about: publishes in several threads at once may each see room):
 * an application that lets each batch go before the next (C, Python)
 * never has one out, and its batches are never copied (a copy of every
 * small batch was 5 % of the relay benchmark's CPU); one that keeps them
 * (until a garbage collection, in gjs) soon has, and its small batches
 * get memory of their own size instead of a whole block each. */
static gint blocks_out;

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

TunTapOffloadRaw *
tun_tap_offload_raw_new (gsize capacity)
{
  TunTapOffloadRaw *raw = g_malloc (sizeof (TunTapOffloadRaw) + capacity);

  raw->ref = 1;
  raw->capacity = capacity;
  return raw;
}

static TunTapOffloadRaw *
raw_ref (TunTapOffloadRaw *raw)
{
  g_atomic_int_inc (&raw->ref);
  return raw;
}

void
tun_tap_offload_raw_unref (TunTapOffloadRaw *raw)
{
  if (raw != NULL && g_atomic_int_dec_and_test (&raw->ref))
    g_free (raw);
}

gboolean
tun_tap_offload_raw_shared (TunTapOffloadRaw *raw)
{
  return g_atomic_int_get (&raw->ref) > 1;
}

/* What passing through held: let go, outside the lock. The groups' block
 * holds the marks and headers too (see pass_begin). */
static void
pass_free (TunTapOffloadRaw   *raw,
           TunTapOffloadGroup *groups)
{
  tun_tap_offload_raw_unref (raw);
  g_free (groups);
}

static void
batch_free (gpointer data)
{
  Batch *batch = data;

  /* Forgotten before the memory goes, so no other buffer that lands at
   * the same address is ever taken for this one. (Under the lock even
   * when not registered: registered changes under it, see publish.) */
  g_mutex_lock (&live_lock);
  if (batch->registered)
    for (guint k = 0; k < LIVE_BATCHES; k++)
      if (live[k] == batch)
        live[k] = NULL;
  g_mutex_unlock (&live_lock);
  /* Nothing is attached by now (pass_end() came first); if it were, it
   * goes only now that no send_many() can find the batch. */
  pass_free (batch->raw, batch->groups);
  if (batch->pooled)
    {
      g_atomic_int_add (&blocks_out, -1);
      block_free (batch->data);
    }
  else
    g_free (batch->data);
  g_free (batch);
}

/* Where @p's TCP or UDP header starts (no IPv6 extension headers), its
 * protocol in *@protocol; 0 for anything else. */
static gsize
l4_start (const guint8 *p,
          gsize         len,
          guint8       *protocol)
{
  gsize l4;

  if (len >= 20 && p[0] >> 4 == 4)
    {
      l4 = (gsize) (p[0] & 0x0f) * 4;
      *protocol = p[9];
    }
  else if (len >= 40 && p[0] >> 4 == 6)
    {
      l4 = 40;
      *protocol = p[6];
    }
  else
    return 0;
  if (l4 < 20 || (*protocol != IPPROTO_TCP_ && *protocol != IPPROTO_UDP_))
    return 0;
  return l4;
}

/* Where the L4 checksum field of @p is, for TCP and UDP without IPv6
 * extension headers; 0 otherwise. */
static guint16
checksum_field (const guint8 *p,
                gsize         len)
{
  guint8 protocol;
  gsize l4 = l4_start (p, len, &protocol);

  if (l4 == 0)
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
   * garbage collection): one that fills less than half its block, while
   * others hold blocks, gets memory of its own size, and the block goes
   * back at once (see blocks_out). */
  if (block && batch->len < TUN_TAP_BATCH_CAPACITY / 2 &&
      g_atomic_int_get (&blocks_out) >= TUN_TAP_BATCH_HELD_WHOLE)
    {
      guint8 *whole = batch->data;

      batch->data = g_memdup2 (whole, MAX (batch->len, 1));
      batch->pooled = FALSE;
      block_free (whole);
    }
  if (batch->pooled)
    g_atomic_int_inc (&blocks_out);
  batch->n = n;
  batch->registered = FALSE;
  batch->seq = 0;
  batch->raw = NULL;
  batch->groups = NULL;
  batch->n_groups = 0;
  batch->headers = NULL;
  batch->marks = NULL;
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
      guint oldest = LIVE_BATCHES;

      g_mutex_lock (&live_lock);
      batch->seq = ++live_seq;
      for (guint k = 0; k < LIVE_BATCHES && !batch->registered; k++)
        if (live[k] == NULL)
          {
            live[k] = batch;
            batch->registered = TRUE;
          }
        else if (live[k]->raw == NULL &&
                 (oldest == LIVE_BATCHES || live[k]->seq < live[oldest]->seq))
          oldest = k;
      /* All taken: batches that live until a garbage collection (gjs) would
       * keep the newest, the one being handled, out. The oldest goes
       * instead (it is then a batch like any copy: checksums verified,
       * nothing passed through), unless its handlers are running. */
      if (!batch->registered && oldest < LIVE_BATCHES)
        {
          live[oldest]->registered = FALSE;
          live[oldest] = batch;
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

/* ---- passing super-packets through ---------------------------------------- */

/* The length of @p's IP and TCP/UDP headers (no IPv6 extension headers),
 * at most @len; 0 for anything else. */
static gsize
headers_length (const guint8 *p,
                gsize         len)
{
  guint8 protocol;
  gsize l4 = l4_start (p, len, &protocol);

  if (l4 == 0)
    return 0;
  if (protocol == IPPROTO_TCP_ && l4 + 13 <= len)
    l4 += (gsize) (p[l4 + 12] >> 4) * 4;
  else if (protocol == IPPROTO_UDP_)
    l4 += 8;
  else
    return 0;
  return MIN (l4, len);
}

/* The live batch whose GBytes is @bytes; with the lock held. */
static Batch *
find_batch (GBytes *bytes)
{
  const guint8 *data = g_bytes_get_data (bytes, NULL);

  for (guint k = 0; k < LIVE_BATCHES; k++)
    if (live[k] != NULL && live[k]->data == data)
      return live[k];
  return NULL;
}

void
tun_tap_offload_batch_pass_begin (GBytes                   *bytes,
                                  TunTapOffloadRaw         *raw,
                                  const TunTapOffloadGroup *groups,
                                  guint                     n_groups)
{
  gsize stack_lens[64];
  g_autofree gsize *heap_lens = NULL;
  gsize *lens = stack_lens;
  TunTapOffloadGroup *kept;
  guint32 *marks;
  guint8 *headers;
  Batch *batch;
  guint n_kept = 0, j = 0;
  guint32 used = 0;
  gsize total = 0;

  g_mutex_lock (&live_lock);
  batch = find_batch (bytes);
  g_mutex_unlock (&live_lock);
  /* Not remembered (more than LIVE_BATCHES alive): nothing passes. The
   * caller holds @bytes, so the batch stays until pass_end(), and its
   * packets do not change. */
  if (batch == NULL || n_groups == 0)
    return;

  /* The headers of the grouped packets as the library made them, to tell
   * a packet changed in place (against the GBytes contract: a gjs view of
   * a batch is writable) from the one that was split from the read.
   * Split from one read, the packets of a group share their headers'
   * length (each is longer than it): measured once per group (0: the
   * group is not kept), then one allocation holds the groups kept, the
   * marks and the headers. */
  if (n_groups > G_N_ELEMENTS (stack_lens))
    lens = heap_lens = g_new (gsize, n_groups);
  for (guint g = 0; g < n_groups; g++)
    {
      const TunTapOffloadGroup *group = &groups[g];
      const BatchPacket *head;

      lens[g] = 0;
      if (group->count < 2 || group->first < j || group->first > batch->n ||
          group->count > batch->n - group->first || group->offset + group->len > raw->capacity)
        continue;
      head = &batch->packets[group->first];
      lens[g] = headers_length (batch->data + head->offset, head[1].offset - head->offset);
      /* What the read path records holds (see keep_group()); a group
       * that breaks it is not kept, rather than copied past a packet. */
      for (guint k = 1; k < group->count && lens[g] > 0; k++)
        if (head[k + 1].offset - head[k].offset <= lens[g])
          lens[g] = 0;
      j = group->first + group->count;
      if (lens[g] > 0)
        {
          total += lens[g] * group->count;
          n_kept++;
        }
    }
  if (n_kept == 0)
    return;

  kept = g_malloc (n_kept * sizeof (TunTapOffloadGroup) + (batch->n + 1) * sizeof (guint32) +
                   total);
  marks = (guint32 *) (kept + n_kept);
  headers = (guint8 *) (marks + batch->n + 1);
  n_kept = 0;
  j = 0;
  for (guint g = 0; g < n_groups; g++)
    {
      const TunTapOffloadGroup *group = &groups[g];

      if (lens[g] == 0)
        continue;
      for (; j < group->first; j++)
        marks[j] = used;
      for (; j < group->first + group->count; j++)
        {
          memcpy (headers + used, batch->data + batch->packets[j].offset, lens[g]);
          marks[j] = used;
          used += (guint32) lens[g];
        }
      kept[n_kept++] = *group;
    }
  for (; j <= batch->n; j++)
    marks[j] = used;

  g_mutex_lock (&live_lock);
  batch->raw = raw_ref (raw);
  batch->groups = kept;
  batch->n_groups = n_kept;
  batch->headers = headers;
  batch->marks = marks;
  g_mutex_unlock (&live_lock);
}

void
tun_tap_offload_batch_pass_end (GBytes *bytes)
{
  TunTapOffloadRaw *raw = NULL;
  TunTapOffloadGroup *groups = NULL;
  Batch *batch;

  g_mutex_lock (&live_lock);
  batch = find_batch (bytes);
  if (batch != NULL)
    {
      raw = g_steal_pointer (&batch->raw);
      groups = g_steal_pointer (&batch->groups);
      batch->headers = NULL;
      batch->marks = NULL;
      batch->n_groups = 0;
    }
  g_mutex_unlock (&live_lock);
  pass_free (raw, groups);
}

/* Whether packets @i.. of the call are group @group of @batch, whole, in
 * order, as the library made them; with the lock held. */
static gboolean
is_group (const Batch              *batch,
          const TunTapOffloadGroup *group,
          const guint8             *data,
          const gsize              *offsets,
          const guint              *lengths,
          guint                     i,
          guint                     n)
{
  if (group->count > n - i)
    return FALSE;
  for (guint k = 0; k < group->count; k++)
    {
      const BatchPacket *bp = &batch->packets[group->first + k];
      const guint8 *p = data + offsets[i + k];
      guint32 mark = batch->marks[group->first + k];
      guint32 header_len = batch->marks[group->first + k + 1] - mark;

      /* The copy of the headers covers the checksum fields too. */
      if (p != batch->data + bp->offset || lengths[i + k] != bp[1].offset - bp->offset ||
          header_len == 0 || memcmp (p, batch->headers + mark, header_len) != 0)
        return FALSE;
    }
  return TRUE;
}

/* The protocol (TUN_TAP_OFFLOAD_COALESCE_*) of a read's super-packet. */
static guint
read_protocol (const guint8 *read)
{
  switch (read[1] & ~TUN_TAP_VNET_GSO_ECN)
    {
    case TUN_TAP_VNET_GSO_TCPV4:
    case TUN_TAP_VNET_GSO_TCPV6:
      return TUN_TAP_OFFLOAD_COALESCE_TCP;
    case TUN_TAP_VNET_GSO_UDP_L4:
      return TUN_TAP_OFFLOAD_COALESCE_UDP;
    default:
      return 0;
    }
}

guint
tun_tap_offload_batch_pass_through (const guint8      *data,
                                    const gsize       *offsets,
                                    const guint       *lengths,
                                    guint              n,
                                    guint              protocols,
                                    TunTapOffloadPass *passes)
{
  const Batch *near[LIVE_BATCHES];
  guintptr lo = (guintptr) -1, hi = 0;
  guint n_near = 0, n_passes = 0;

  if (n < 2 || protocols == 0)
    return 0;
  for (guint i = 0; i < n; i++)
    {
      lo = MIN (lo, (guintptr) (data + offsets[i]));
      hi = MAX (hi, (guintptr) (data + offsets[i]) + lengths[i]);
    }

  g_mutex_lock (&live_lock);
  for (guint k = 0; k < LIVE_BATCHES; k++)
    if (live[k] != NULL && live[k]->raw != NULL && (guintptr) live[k]->data < hi &&
        (guintptr) live[k]->data + live[k]->len > lo)
      near[n_near++] = live[k];

  for (guint i = 0; i < n && n_near > 0;)
    {
      guintptr at = (guintptr) (data + offsets[i]);
      const TunTapOffloadGroup *found = NULL;
      const Batch *batch = NULL;
      gsize offset;
      guint l = 0, h;

      for (guint k = 0; k < n_near && batch == NULL; k++)
        if (at >= (guintptr) near[k]->data && at - (guintptr) near[k]->data < near[k]->len)
          batch = near[k];
      if (batch != NULL)
        {
          offset = at - (guintptr) batch->data;
          for (h = batch->n; l < h;)
            {
              guint mid = l + (h - l) / 2;

              if (batch->packets[mid].offset < offset)
                l = mid + 1;
              else
                h = mid;
            }
          for (guint g = 0; g < batch->n_groups && found == NULL; g++)
            if (batch->groups[g].first == l && batch->packets[l].offset == offset)
              found = &batch->groups[g];
        }
      if (found == NULL ||
          !(read_protocol (batch->raw->data + found->offset) & protocols) ||
          !is_group (batch, found, data, offsets, lengths, i, n))
        {
          i++;
          continue;
        }
      passes[n_passes].first = i;
      passes[n_passes].count = found->count;
      passes[n_passes].read = batch->raw->data + found->offset;
      passes[n_passes].len = found->len;
      passes[n_passes].raw = raw_ref (batch->raw);
      n_passes++;
      i += found->count;
    }
  g_mutex_unlock (&live_lock);
  return n_passes;
}
