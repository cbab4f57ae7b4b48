/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "echo-reflect.h"

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV6 0x86dd
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

static guint16
get16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
swap_bytes (guint8 *a, guint8 *b, gsize n)
{
  guint8 tmp[16];

  g_assert (n <= sizeof tmp);
  memcpy (tmp, a, n);
  memcpy (a, b, n);
  memcpy (b, tmp, n);
}

static guint32
sum16 (guint32 sum, const guint8 *p, gsize len)
{
  for (; len > 1; p += 2, len -= 2)
    sum += get16 (p);
  if (len)
    sum += (guint32) p[0] << 8;
  return sum;
}

static guint16
fold (guint32 sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (guint16) ~sum;
}

/* RFC 1624: HC' = ~(~HC + ~m + m') for one changed 16-bit word. */
static void
adjust_checksum (guint8 *csum, guint16 old_word, guint16 new_word)
{
  guint32 sum = (guint16) ~get16 (csum);
  sum += (guint16) ~old_word;
  sum += new_word;
  put16 (csum, fold (sum));
}

/* Parses the IP header of @ip; returns the L4 offset, or 0 if unusable. */
static gsize
ip_l4 (const guint8 *ip, gsize len, int *version, int *proto)
{
  if (len < 1)
    return 0;
  *version = ip[0] >> 4;
  if (*version == 4)
    {
      gsize ihl = (ip[0] & 0x0f) * 4u;
      if (len < 20 || ihl < 20 || ihl > len)
        return 0;
      *proto = ip[9];
      /* Only the first fragment carries the L4 header. */
      if ((get16 (ip + 6) & 0x1fff) != 0)
        return 0;
      return ihl;
    }
  if (*version == 6)
    {
      if (len < 40)
        return 0;
      *proto = ip[6];   /* no extension headers are followed */
      return 40;
    }
  return 0;
}

static const char *
proto_name (int proto)
{
  switch (proto)
    {
    case PROTO_ICMP: return "ICMP";
    case PROTO_TCP: return "TCP";
    case PROTO_UDP: return "UDP";
    case PROTO_ICMPV6: return "ICMPv6";
    default: return NULL;
    }
}

static void
describe_ip (const guint8 *ip, gsize len, char *out, gsize out_size)
{
  char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
  char proto_buf[16];
  const char *pname;
  int version = ip[0] >> 4, proto = -1;
  gsize l4 = ip_l4 (ip, len, &version, &proto);

  if (version == 4 && len >= 20)
    {
      inet_ntop (AF_INET, ip + 12, src, sizeof src);
      inet_ntop (AF_INET, ip + 16, dst, sizeof dst);
    }
  else if (version == 6 && len >= 40)
    {
      inet_ntop (AF_INET6, ip + 8, src, sizeof src);
      inet_ntop (AF_INET6, ip + 24, dst, sizeof dst);
    }
  else
    {
      g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes, not IPv4/IPv6", len);
      return;
    }

  pname = proto_name (proto);
  if (pname == NULL)
    {
      g_snprintf (proto_buf, sizeof proto_buf, "proto %d", proto);
      pname = proto_buf;
    }

  if (l4 != 0 && (proto == PROTO_UDP || proto == PROTO_TCP) && len >= l4 + 4)
    g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes IPv%d %s %s:%u > %s:%u",
                len, version, pname, src, get16 (ip + l4), dst, get16 (ip + l4 + 2));
  else if (l4 != 0 && (proto == PROTO_ICMP || proto == PROTO_ICMPV6) && len >= l4 + 2)
    g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes IPv%d %s %s > %s type %u",
                len, version, pname, src, dst, ip[l4]);
  else
    g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes IPv%d %s %s > %s",
                len, version, pname, src, dst);
}

void
echo_describe (const guint8 *packet,
               gsize         len,
               gboolean      tap,
               char         *out,
               gsize         out_size)
{
  g_return_if_fail (out != NULL && out_size > 0);

  if (!tap)
    {
      if (len == 0)
        g_snprintf (out, out_size, "empty packet");
      else
        describe_ip (packet, len, out, out_size);
      return;
    }

  if (len < ETH_HLEN)
    {
      g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes, runt frame", len);
      return;
    }

  switch (get16 (packet + 12))
    {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
      if (len > ETH_HLEN)
        {
          describe_ip (packet + ETH_HLEN, len - ETH_HLEN, out, out_size);
          return;
        }
      break;
    case ETHERTYPE_ARP:
      if (len >= ETH_HLEN + 28)
        {
          char spa[INET_ADDRSTRLEN], tpa[INET_ADDRSTRLEN];
          inet_ntop (AF_INET, packet + ETH_HLEN + 14, spa, sizeof spa);
          inet_ntop (AF_INET, packet + ETH_HLEN + 24, tpa, sizeof tpa);
          g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes ARP %s %s > %s", len,
                      get16 (packet + ETH_HLEN + 6) == 1 ? "request" : "reply", spa, tpa);
          return;
        }
      break;
    default:
      break;
    }
  g_snprintf (out, out_size, "%" G_GSIZE_FORMAT " bytes ethertype 0x%04x",
              len, get16 (packet + 12));
}

/* ICMPv6 checksum from scratch (pseudo-header plus message). */
static void
icmpv6_checksum (guint8 *ip6, gsize icmp_len)
{
  guint8 *icmp = ip6 + 40;
  guint32 sum = 0;

  put16 (icmp + 2, 0);
  sum = sum16 (sum, ip6 + 8, 32);
  sum += (guint32) icmp_len;
  sum += PROTO_ICMPV6;
  sum = sum16 (sum, icmp, icmp_len);
  put16 (icmp + 2, fold (sum));
}

/* Answers a neighbour solicitation in an Ethernet frame with an
 * advertisement claiming ECHO_REFLECT_MAC for the target. */
static gboolean
reflect_neighbour_solicitation (guint8 *frame, gsize len)
{
  static const guint8 mac[6] = ECHO_REFLECT_MAC;
  guint8 *ip6 = frame + ETH_HLEN;
  guint8 *icmp = ip6 + 40;
  gsize icmp_len = 32;   /* header, flags, target, target link-layer option */

  if (len < ETH_HLEN + 40 + 24 || ip6[6] != PROTO_ICMPV6 || icmp[0] != 135)
    return FALSE;
  /* Only a solicitation with the sender's link-layer option has room for
   * the answer; duplicate address detection (from ::) must stay unanswered
   * or the kernel would give up its own address. */
  if (len < ETH_HLEN + 40 + icmp_len)
    return FALSE;
  for (gsize i = 0; i < 16 && ip6[8 + i] == 0; i++)
    if (i == 15)
      return FALSE;

  memcpy (frame, frame + 6, 6);
  memcpy (frame + 6, mac, 6);
  memcpy (ip6 + 24, ip6 + 8, 16);   /* dst = solicitor */
  memcpy (ip6 + 8, icmp + 8, 16);   /* src = target */
  put16 (ip6 + 4, (guint16) icmp_len);
  ip6[7] = 255;
  icmp[0] = 136;
  icmp[1] = 0;
  icmp[4] = 0x60;                   /* solicited, override */
  icmp[5] = icmp[6] = icmp[7] = 0;
  icmp[24] = 2;                     /* target link-layer address option */
  icmp[25] = 1;
  memcpy (icmp + 26, mac, 6);
  icmpv6_checksum (ip6, icmp_len);
  return TRUE;
}

static gboolean
reflect_arp (guint8 *frame, gsize len)
{
  static const guint8 mac[6] = ECHO_REFLECT_MAC;
  guint8 *arp = frame + ETH_HLEN;
  guint8 ip[4];

  /* Ethernet/IPv4 request only. */
  if (len < ETH_HLEN + 28 || get16 (arp) != 1 || get16 (arp + 2) != ETHERTYPE_IPV4 ||
      arp[4] != 6 || arp[5] != 4 || get16 (arp + 6) != 1)
    return FALSE;

  memcpy (frame, frame + 6, 6);
  memcpy (frame + 6, mac, 6);
  put16 (arp + 6, 2);
  memcpy (ip, arp + 24, 4);
  memcpy (arp + 18, arp + 8, 10);   /* target = sender (MAC + IP) */
  memcpy (arp + 8, mac, 6);
  memcpy (arp + 14, ip, 4);
  return TRUE;
}

static gboolean
reflect_ip (guint8 *ip, gsize len)
{
  int version = 0, proto = -1;
  gsize l4 = ip_l4 (ip, len, &version, &proto);
  gsize alen = version == 4 ? 4 : 16;
  gsize src_off = version == 4 ? 12 : 8;

  if (l4 == 0)
    return FALSE;

  switch (proto)
    {
    case PROTO_ICMP:
      if (version != 4 || len < l4 + 8 || ip[l4] != 8 || ip[l4 + 1] != 0)
        return FALSE;
      ip[l4] = 0;
      adjust_checksum (ip + l4 + 2, 8 << 8, 0);
      break;
    case PROTO_ICMPV6:
      if (version != 6 || len < l4 + 8 || ip[l4] != 128 || ip[l4 + 1] != 0)
        return FALSE;
      ip[l4] = 129;
      adjust_checksum (ip + l4 + 2, 128 << 8, 129 << 8);
      break;
    case PROTO_UDP:
    case PROTO_TCP:
      if (len < l4 + 4)
        return FALSE;
      /* Swapping both ports and both addresses leaves every checksum
       * (IPv4 header, and L4 over the pseudo-header) unchanged. */
      swap_bytes (ip + l4, ip + l4 + 2, 2);
      break;
    default:
      return FALSE;
    }

  swap_bytes (ip + src_off, ip + src_off + alen, alen);
  return TRUE;
}

gboolean
echo_reflect (guint8   *packet,
              gsize     len,
              gboolean  tap)
{
  if (packet == NULL || len == 0)
    return FALSE;

  if (!tap)
    return reflect_ip (packet, len);

  if (len < ETH_HLEN)
    return FALSE;

  switch (get16 (packet + 12))
    {
    case ETHERTYPE_ARP:
      return reflect_arp (packet, len);
    case ETHERTYPE_IPV6:
      if (reflect_neighbour_solicitation (packet, len))
        return TRUE;
      G_GNUC_FALLTHROUGH;
    case ETHERTYPE_IPV4:
      if (!reflect_ip (packet + ETH_HLEN, len - ETH_HLEN))
        return FALSE;
      swap_bytes (packet, packet + 6, 6);
      return TRUE;
    default:
      return FALSE;
    }
}
