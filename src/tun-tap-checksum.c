/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The Internet checksum (RFC 1071), the one every checksum of the library
 * goes through: the offload split and coalescing, the IPv4 header check
 * of a packet about to be sent.
 */
#include "config.h"

#include "tun-tap-checksum.h"

#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_SUM_AVX2 1
/* Where the CPU has AVX2 (checked at run time), 64 bytes per iteration:
 * the low and high 32 bits of each 64-bit lane added into lanes of their
 * own (a mask and a shift: no shuffle, whose single port would be the
 * limit), which cannot overflow for any length a packet has. With @dst,
 * the bytes are also copied there: one pass instead of a copy and a sum.
 * Consumes all but the last 0-31 bytes from *@p (and *@dst); returns
 * their sum with every carry added back in. */
__attribute__ ((target ("avx2"))) static guint64
sum_avx2 (const guint8 **p,
          guint8       **dst,
          gsize         *len)
{
  const __m256i low = _mm256_set1_epi64x (0xffffffff);
  __m256i a = _mm256_setzero_si256 (), b = _mm256_setzero_si256 ();
  __m256i c = _mm256_setzero_si256 (), d = _mm256_setzero_si256 ();
  /* In locals: the stores below could alias anything behind a pointer. */
  const guint8 *src = *p;
  guint8 *to = dst != NULL ? *dst : NULL;
  gsize blocks = *len / 64;
  guint64 lanes[4], total = 0;

  for (gsize i = 0; i < blocks; i++, src += 64)
    {
      __m256i v = _mm256_loadu_si256 ((const __m256i *) src);
      __m256i w = _mm256_loadu_si256 ((const __m256i *) (src + 32));

      if (to != NULL)
        {
          _mm256_storeu_si256 ((__m256i *) to, v);
          _mm256_storeu_si256 ((__m256i *) (to + 32), w);
          to += 64;
        }
      a = _mm256_add_epi64 (a, _mm256_and_si256 (v, low));
      b = _mm256_add_epi64 (b, _mm256_srli_epi64 (v, 32));
      c = _mm256_add_epi64 (c, _mm256_and_si256 (w, low));
      d = _mm256_add_epi64 (d, _mm256_srli_epi64 (w, 32));
    }
  *len -= blocks * 64;
  /* A half block too (a 1,448-byte segment leaves 40 bytes): under 32
   * are left for the caller. */
  if (*len >= 32)
    {
      __m256i v = _mm256_loadu_si256 ((const __m256i *) src);

      if (to != NULL)
        {
          _mm256_storeu_si256 ((__m256i *) to, v);
          to += 32;
        }
      a = _mm256_add_epi64 (a, _mm256_and_si256 (v, low));
      b = _mm256_add_epi64 (b, _mm256_srli_epi64 (v, 32));
      src += 32;
      *len -= 32;
    }
  *p = src;
  if (dst != NULL)
    *dst = to;
  /* Each lane is below 2^32 times the blocks taken (the half block one
   * more); four of them added still fit for any packet. */
  a = _mm256_add_epi64 (_mm256_add_epi64 (a, b), _mm256_add_epi64 (c, d));
  _mm256_storeu_si256 ((__m256i *) lanes, a);
  for (guint i = 0; i < 4; i++)
    {
      guint64 sum = total + lanes[i];

      total = sum + (sum < total);
    }
  return total;
}
#endif

/* The last @len (< 8) bytes as the start of a word loaded from memory,
 * the rest zero: in pieces, not through a byte-wise copy that the load
 * would then wait for. */
static inline guint64
load_tail (const guint8 *p,
           gsize         len)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  guint64 tail = 0;
  guint shift = 0;

  if (len & 4)
    {
      guint32 w;

      memcpy (&w, p, 4);
      tail = w;
      p += 4;
      shift = 32;
    }
  if (len & 2)
    {
      guint16 w;

      memcpy (&w, p, 2);
      tail |= (guint64) w << shift;
      p += 2;
      shift += 16;
    }
  if (len & 1)
    tail |= (guint64) p[0] << shift;
  return tail;
#else
  guint64 tail = 0;

  memcpy (&tail, p, len);
  return tail;
#endif
}

/* The @len (< 8) bytes of load_tail() stored back at @dst, in pieces. */
static inline void
store_tail (guint8  *dst,
            guint64  tail,
            gsize    len)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  if (len & 4)
    {
      guint32 w = (guint32) tail;

      memcpy (dst, &w, 4);
      dst += 4;
      tail >>= 32;
    }
  if (len & 2)
    {
      guint16 w = (guint16) tail;

      memcpy (dst, &w, 2);
      dst += 2;
      tail >>= 16;
    }
  if (len & 1)
    dst[0] = (guint8) tail;
#else
  memcpy (dst, &tail, len);
#endif
}

/* The sum of @len bytes at @p; with @dst, copied there as well. */
static guint16
native_sum (const guint8 *p,
            guint8       *dst,
            gsize         len)
{
  guint64 tail = 0, total;
#ifdef __SIZEOF_INT128__
  unsigned __int128 acc = 0;

#ifdef HAVE_SUM_AVX2
  if (len >= 128 && __builtin_cpu_supports ("avx2"))
    acc = sum_avx2 (&p, dst != NULL ? &dst : NULL, &len);
#endif
  /* Without AVX2 (or a short packet) the whole is copied at once; after
   * it, under 32 bytes are left, copied as they are summed (no call). */
  if (dst != NULL && len >= 32)
    {
      memcpy (dst, p, len);
      dst = NULL;
    }

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
      if (dst != NULL)
        {
          memcpy (dst, &w, 8);
          dst += 8;
        }
      acc += w;
    }
  tail = load_tail (p, len);
  if (dst != NULL)
    store_tail (dst, tail, len);
  acc += tail;
  total = (guint64) acc + (guint64) (acc >> 64);
  if (total < (guint64) acc)
    total++;
#else
  guint64 lo = 0, hi = 0;

  if (dst != NULL)
    memcpy (dst, p, len);
  for (; len >= 8; p += 8, len -= 8)
    {
      guint64 w;

      memcpy (&w, p, 8);
      lo += w & 0xffffffff;
      hi += w >> 32;
    }
  tail = load_tail (p, len);
  lo += tail & 0xffffffff;
  hi += tail >> 32;
  total = (guint64) fold64 (lo) + fold64 (hi);
#endif
  return fold64 (total);
}

static guint32
add_native (guint16 s,
            guint32 sum)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  s = GUINT16_SWAP_LE_BE (s);
#endif
  /* Folded on the way in too, so chaining never overflows. */
  return (sum & 0xffff) + (sum >> 16) + s;
}

guint32
tun_tap_checksum_add (const guint8 *data,
                      gsize         len,
                      guint32       sum)
{
  return add_native (native_sum (data, NULL, len), sum);
}

guint32
tun_tap_checksum_copy (guint8       *dst,
                       const guint8 *src,
                       gsize         len,
                       guint32       sum)
{
  return add_native (native_sum (src, dst, len), sum);
}
