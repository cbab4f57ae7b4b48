/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What an outgoing packet must look like: checked before any write, so
 * that what the kernel would take and then drop without a word comes back
 * as G_IO_ERROR_INVALID_DATA instead. Pure, no I/O (fuzzed).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-packet.h"
#include "tun-tap-checksum.h"
#include "tun-tap-kernel.h"

/* What the IP layer drops without a word after write(2) succeeded
 * (linux-tun-behaviour.md §3.2: “success does not mean delivered”): the
 * checks of ip_rcv_core() and ipv6_rcv() on the fixed header. Routing,
 * options and the transport header are not the device's business. */
static gboolean
check_ip_header (const guint8  *ip,
                 gsize          len,
                 int            version,
                 const char    *name,
                 GError       **error)
{
  if (version == 4)
    {
      gsize header_len = (gsize) (ip[0] & 0x0f) * 4;
      gsize total;

      if (len < 20)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       g_dngettext (GETTEXT_PACKAGE,
                                    "Cannot send on “%s”: an IPv4 packet has a header of "
                                    "at least 20 bytes, this one has %zu byte in all",
                                    "Cannot send on “%s”: an IPv4 packet has a header of "
                                    "at least 20 bytes, this one has %zu bytes in all", len),
                       name, len);
          return FALSE;
        }
      if (header_len < 20 || header_len > len)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("Cannot send on “%s”: the IPv4 header length field says %zu "
                       "bytes, it must be 20 to 60 and at most the packet’s %zu bytes"),
                       name, header_len, len);
          return FALSE;
        }
      total = (gsize) (ip[2] << 8 | ip[3]);
      if (total < header_len || total > len)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("Cannot send on “%s”: the IPv4 total length field says %zu "
                       "bytes, the packet has %zu (and its header %zu)"),
                       name, total, len, header_len);
          return FALSE;
        }
      if (tun_tap_checksum_finish (tun_tap_checksum_add (ip, header_len, 0)) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("Cannot send on “%s”: the IPv4 header checksum is wrong "
                       "(0x%02x%02x); compute it over the header with the field at 0"),
                       name, ip[10], ip[11]);
          return FALSE;
        }
      return TRUE;
    }

  if (len < 40)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Cannot send on “%s”: an IPv6 packet has a 40-byte header, "
                                "this one has %zu byte in all",
                                "Cannot send on “%s”: an IPv6 packet has a 40-byte header, "
                                "this one has %zu bytes in all", len),
                   name, len);
      return FALSE;
    }
  {
    gsize payload = (gsize) (ip[4] << 8 | ip[5]);

    if (40 + payload > len)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     _("Cannot send on “%s”: the IPv6 payload length field says %zu "
                     "bytes, the packet has %zu after its header"),
                     name, payload, len - 40);
        return FALSE;
      }
    /* Payload length 0 before a hop-by-hop header announces a jumbogram,
     * which must be longer than 65535 bytes (RFC 2675). */
    if (payload == 0 && ip[6] == 0 && len - 40 <= 65535)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                     _("Cannot send on “%s”: the IPv6 payload length field is 0 before "
                     "a hop-by-hop header (a jumbogram), but the packet is not longer "
                     "than 65535 bytes; set the payload length"), name);
        return FALSE;
      }
  }
  return TRUE;
}

gboolean
tun_tap_packet_check (TunTapMode     mode,
                      gboolean       packet_info,
                      const guint8  *data,
                      gsize          len,
                      const char    *name,
                      GError       **error)
{
  gsize header = packet_info ? TUN_TAP_PI_HEADER_SIZE : 0;
  guint16 proto = 0;
  int version;

  if (len <= header)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("Cannot send a %zu-byte packet on “%s”: %s"),
                   len, name, packet_info ?
                   _("it needs the 4-byte packet-information header and a packet after it") :
                   _("it is empty"));
      return FALSE;
    }

  if (packet_info)
    {
      proto = (guint16) (data[2] << 8 | data[3]);
      /* TUN_PKT_STRIP is only ever set by the kernel on reads. */
      if (data[0] != 0 || data[1] != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("Cannot send on “%s”: the packet-information flags must be 0 "
                       "(found 0x%02x%02x)"), name, data[0], data[1]);
          return FALSE;
        }
    }

  if (mode == TUN_TAP_MODE_TAP)
    {
      if (len - header < TUN_TAP_ETH_HEADER_SIZE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("Cannot send on “%s”: a TAP device takes Ethernet frames of at "
                       "least 14 bytes, this one has %zu"),
                       name, len - header);
          return FALSE;
        }
      return TRUE;
    }

  version = data[header] >> 4;
  if (version != 4 && version != 6)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("Cannot send on “%s”: a TUN device takes IPv4 or IPv6 packets, and "
                   "this one starts with IP version %d"), name, version);
      return FALSE;
    }

  /* With packet information the kernel trusts the header's EtherType and
   * silently drops an IPv4 packet labelled IPv6 (or the reverse). */
  if (packet_info && proto != (version == 4 ? 0x0800 : 0x86dd))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("Cannot send on “%s”: the packet-information header says EtherType "
                   "0x%04x but the packet is IPv%d (use 0x%04x)"), name, proto, version,
                   version == 4 ? 0x0800 : 0x86dd);
      return FALSE;
    }

  return check_ip_header (data + header, len - header, version, name, error);
}
