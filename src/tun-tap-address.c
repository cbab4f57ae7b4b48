/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TunTapAddress: an interface address (an IP address with its prefix
 * length, host bits kept, and an optional point-to-point peer), immutable
 * and reference counted. Not GInetAddressMask: its GInitable refuses host
 * bits, which an interface address always has, and it has no peer.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-address-private.h"
#include "tun-tap-error.h"

#include <string.h>

struct _TunTapAddress
{
  gint                ref_count;
  GInetAddress       *address;
  GInetAddress       *peer;       /* NULL: none */
  guint               prefix_length;
  TunTapAddressFlags  flags;
};

/**
 * TunTapAddress:
 *
 * An address of an interface: an IPv4 or IPv6 address with its prefix
 * length (`192.0.2.1/24`: the host bits are part of it), and for a
 * point-to-point link the address of the other end, its peer
 * (`192.0.2.1/32 peer 192.0.2.2`).
 *
 * [method@TunTap.Device.get_addresses] returns the interface's addresses
 * as the kernel reports them, with [flags@TunTap.AddressFlags];
 * [method@TunTap.Device.add_address] and
 * [method@TunTap.Device.remove_address] take one. The string form that
 * [method@TunTap.Address.to_string] writes is the one
 * [ctor@TunTap.Address.new_from_string] and the `_from_string` methods of
 * [class@TunTap.Device] read.
 *
 * A `TunTapAddress` is immutable and reference counted; it may be shared
 * between threads.
 *
 * ```c
 * g_autoptr(TunTapAddress) address =
 *   tun_tap_address_new_from_string ("192.0.2.1/32 peer 192.0.2.2", &error);
 * g_autoptr(GPtrArray) addresses = NULL;
 *
 * if (address == NULL || !tun_tap_device_add_address (device, address, &error))
 *   return FALSE;
 * addresses = tun_tap_device_get_addresses (device);
 * for (guint i = 0; i < addresses->len; i++)
 *   {
 *     g_autofree char *text = tun_tap_address_to_string (addresses->pdata[i]);
 *     g_print ("%s\n", text);
 *   }
 * ```
 *
 * From Python, `[a.to_string() for a in device.get_addresses()]`; from
 * gjs, `device.get_addresses().map(a => a.to_string())`.
 *
 * Since: 0.1
 */
G_DEFINE_BOXED_TYPE (TunTapAddress, tun_tap_address, tun_tap_address_ref, tun_tap_address_unref)

static guint
max_prefix_length (GInetAddress *address)
{
  return g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6 ? 128 : 32;
}

TunTapAddress *
tun_tap_address_new_full (GInetAddress       *address,
                          guint               prefix_length,
                          GInetAddress       *peer,
                          TunTapAddressFlags  flags)
{
  TunTapAddress *self;

  self = g_new0 (TunTapAddress, 1);
  self->ref_count = 1;
  self->address = g_object_ref (address);
  self->peer = peer != NULL ? g_object_ref (peer) : NULL;
  self->prefix_length = prefix_length;
  self->flags = flags;
  return self;
}

/**
 * tun_tap_address_new:
 * @address: the interface's own address, IPv4 or IPv6
 * @prefix_length: the length of the network prefix: 0 to 32 for IPv4, 0
 *   to 128 for IPv6
 * @peer: (nullable): the other end of a point-to-point link, of the same
 *   family as @address, or %NULL
 *
 * Creates an interface address, such as `192.0.2.1/24` (the host bits of
 * @address are kept) or `192.0.2.1/32 peer 192.0.2.2`.
 *
 * To build one from user input, use
 * [ctor@TunTap.Address.new_from_string], which reports what is wrong.
 *
 * Returns: (transfer full): a new address
 *
 * Since: 0.1
 */
TunTapAddress *
tun_tap_address_new (GInetAddress *address,
                     guint         prefix_length,
                     GInetAddress *peer)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);
  g_return_val_if_fail (prefix_length <= max_prefix_length (address), NULL);
  g_return_val_if_fail (peer == NULL || G_IS_INET_ADDRESS (peer), NULL);
  g_return_val_if_fail (peer == NULL ||
                        g_inet_address_get_family (peer) == g_inet_address_get_family (address),
                        NULL);

  return tun_tap_address_new_full (address, prefix_length, peer, TUN_TAP_ADDRESS_FLAGS_NONE);
}

static GInetAddress *
parse_ip (const char *text)
{
  /* g_inet_address_new_from_string() takes an IPv6 scope ("fe80::1%eth0")
   * too; an interface address has none. */
  if (strchr (text, '%') != NULL)
    return NULL;
  return g_inet_address_new_from_string (text);
}

static TunTapAddress *
parse_fail (GError     **error,
            const char  *text,
            const char  *peer,
            const char  *devname,
            char        *reason)
{
  g_autofree char *owned_reason = reason;
  g_autofree char *what = NULL;

  if (peer != NULL)
    /* TRANSLATORS: an address and its peer, as the user wrote them. */
    what = g_strdup_printf (_("“%s” with peer “%s”"), text, peer);
  else
    what = g_strdup_printf ("“%s”", text);

  if (devname != NULL)
    /* TRANSLATORS: the address as written, the device, then what is wrong. */
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _("%s is not an address for “%s”: %s; write it as 192.0.2.1/24, "
                   "2001:db8::1/64 or 192.0.2.1/32 peer 192.0.2.2"),
                 what, devname, owned_reason);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 _("%s is not an interface address: %s; write it as 192.0.2.1/24, "
                   "2001:db8::1/64 or 192.0.2.1/32 peer 192.0.2.2"),
                 what, owned_reason);
  return NULL;
}

TunTapAddress *
tun_tap_address_parse (const char  *text,
                       const char  *peer,
                       const char  *devname,
                       GError     **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GInetAddress) peer_address = NULL;
  g_auto(GStrv) words = NULL;
  g_autoptr(GPtrArray) tokens = g_ptr_array_new ();
  const char *local_text, *slash, *peer_text = peer;
  g_autofree char *local = NULL;
  guint64 length;
  guint max;

  tun_tap_i18n_init ();
  if (text == NULL)
    text = "";

  /* ADDRESS[/LENGTH] [peer PEER], words apart by white space. */
  words = g_strsplit_set (text, " \t\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_ptr_array_add (tokens, words[i]);

  if (tokens->len == 0)
    return parse_fail (error, text, peer, devname, g_strdup (_("it is empty")));
  if (tokens->len == 3 && g_str_equal (g_ptr_array_index (tokens, 1), "peer"))
    {
      if (peer != NULL)
        return parse_fail (error, text, peer, devname,
                           g_strdup (_("it names a peer already; give the peer once")));
      peer_text = g_ptr_array_index (tokens, 2);
    }
  else if (tokens->len != 1)
    return parse_fail (error, text, peer, devname,
                       g_strdup (_("only an address, a prefix length and a peer may be "
                                   "given")));

  local_text = g_ptr_array_index (tokens, 0);
  slash = strchr (local_text, '/');
  local = slash != NULL ? g_strndup (local_text, slash - local_text) : g_strdup (local_text);
  address = parse_ip (local);
  if (address == NULL)
    return parse_fail (error, text, peer, devname,
                       g_strdup_printf (_("“%s” is not an IPv4 or IPv6 address"), local));

  max = max_prefix_length (address);
  if (slash == NULL)
    length = max;
  else if (!g_ascii_string_to_unsigned (slash + 1, 10, 0, max, &length, NULL))
    return parse_fail (error, text, peer, devname,
                       max == 32
                       ? g_strdup (_("the prefix length of an IPv4 address is a number from "
                                     "0 to 32"))
                       : g_strdup (_("the prefix length of an IPv6 address is a number from "
                                     "0 to 128")));

  if (peer_text != NULL)
    {
      peer_address = parse_ip (peer_text);
      if (peer_address == NULL)
        return parse_fail (error, text, peer, devname,
                           g_strdup_printf (_("the peer “%s” is not an IPv4 or IPv6 "
                                              "address (it takes no prefix length)"),
                                            peer_text));
      if (g_inet_address_get_family (peer_address) != g_inet_address_get_family (address))
        return parse_fail (error, text, peer, devname,
                           g_strdup_printf (_("the peer %s is not of the same family as "
                                              "%s; give both as IPv4 or both as IPv6"),
                                            peer_text, local));
    }

  return tun_tap_address_new_full (address, (guint) length, peer_address,
                                   TUN_TAP_ADDRESS_FLAGS_NONE);
}

/**
 * tun_tap_address_new_from_string:
 * @text: an address as [method@TunTap.Address.to_string] writes it:
 *   `192.0.2.1/24`, `2001:db8::1/64`, `192.0.2.1/32 peer 192.0.2.2`;
 *   without a prefix length, a host address (`/32` or `/128`)
 * @error: return location for a #GError
 *
 * Parses an interface address. Unlike
 * [ctor@Gio.InetAddressMask.new_from_string], it keeps host bits: that is
 * what an interface address is.
 *
 * Returns: (transfer full): a new address, or %NULL with
 *   %G_IO_ERROR_INVALID_ARGUMENT saying what is wrong
 *
 * Since: 0.1
 */
TunTapAddress *
tun_tap_address_new_from_string (const char  *text,
                                 GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tun_tap_address_parse (text, NULL, NULL, error);
}

/**
 * tun_tap_address_ref:
 * @self: an address
 *
 * Takes a reference. Any thread.
 *
 * Returns: (transfer full): @self
 *
 * Since: 0.1
 */
TunTapAddress *
tun_tap_address_ref (TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

/**
 * tun_tap_address_unref:
 * @self: (transfer full): an address
 *
 * Drops a reference; the last one frees the address. Any thread.
 *
 * Since: 0.1
 */
void
tun_tap_address_unref (TunTapAddress *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_object_unref (self->address);
  g_clear_object (&self->peer);
  g_free (self);
}

/**
 * tun_tap_address_get_address:
 * @self: an address
 *
 * Gets the interface's own address, host bits included.
 *
 * Returns: (transfer none): the address
 *
 * Since: 0.1
 */
GInetAddress *
tun_tap_address_get_address (const TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->address;
}

/**
 * tun_tap_address_get_prefix_length:
 * @self: an address
 *
 * Gets the length of the network prefix: 24 for `192.0.2.1/24`.
 *
 * Returns: the prefix length, 0 to 32 for IPv4 and 0 to 128 for IPv6
 *
 * Since: 0.1
 */
guint
tun_tap_address_get_prefix_length (const TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->prefix_length;
}

/**
 * tun_tap_address_get_peer:
 * @self: an address
 *
 * Gets the other end of a point-to-point link, as in
 * `ip addr add 192.0.2.1 peer 192.0.2.2`.
 *
 * Returns: (transfer none) (nullable): the peer, or %NULL for none
 *
 * Since: 0.1
 */
GInetAddress *
tun_tap_address_get_peer (const TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->peer;
}

/**
 * tun_tap_address_get_family:
 * @self: an address
 *
 * Gets whether this is an IPv4 or an IPv6 address.
 *
 * Returns: %G_SOCKET_FAMILY_IPV4 or %G_SOCKET_FAMILY_IPV6
 *
 * Since: 0.1
 */
GSocketFamily
tun_tap_address_get_family (const TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, G_SOCKET_FAMILY_INVALID);

  return g_inet_address_get_family (self->address);
}

/**
 * tun_tap_address_get_flags:
 * @self: an address
 *
 * Gets what the kernel said about the address's state when it was read.
 * An address made by [ctor@TunTap.Address.new] or
 * [ctor@TunTap.Address.new_from_string] has none.
 *
 * Returns: the flags
 *
 * Since: 0.1
 */
TunTapAddressFlags
tun_tap_address_get_flags (const TunTapAddress *self)
{
  g_return_val_if_fail (self != NULL, TUN_TAP_ADDRESS_FLAGS_NONE);

  return self->flags;
}

/**
 * tun_tap_address_to_string:
 * @self: an address
 *
 * Writes the address as `192.0.2.1/24`, `2001:db8::1/64` or, with a peer,
 * `192.0.2.1/32 peer 192.0.2.2`: always with the prefix length, never
 * with the flags. [ctor@TunTap.Address.new_from_string] reads it back.
 *
 * Returns: (transfer full): the address as text
 *
 * Since: 0.1
 */
char *
tun_tap_address_to_string (const TunTapAddress *self)
{
  g_autofree char *address = NULL;
  g_autofree char *peer = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  address = g_inet_address_to_string (self->address);
  if (self->peer == NULL)
    return g_strdup_printf ("%s/%u", address, self->prefix_length);
  peer = g_inet_address_to_string (self->peer);
  return g_strdup_printf ("%s/%u peer %s", address, self->prefix_length, peer);
}

static gboolean
same_peer (GInetAddress *a,
           GInetAddress *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_inet_address_equal (a, b);
}

/**
 * tun_tap_address_equal:
 * @self: an address
 * @other: another address
 *
 * Compares two addresses: equal when their address, prefix length, peer
 * and flags are. To find an address in a list whatever its flags, compare
 * [method@TunTap.Address.to_string]. Its C type is not a
 * [callback@GLib.EqualFunc]; cast it to use it with a
 * [struct@GLib.HashTable], together with [method@TunTap.Address.hash].
 *
 * Returns: %TRUE if they are equal
 *
 * Since: 0.1
 */
gboolean
tun_tap_address_equal (const TunTapAddress *self,
                       const TunTapAddress *other)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (other != NULL, FALSE);

  return self->prefix_length == other->prefix_length &&
         self->flags == other->flags &&
         g_inet_address_equal (self->address, other->address) &&
         same_peer (self->peer, other->peer);
}

static guint
hash_inet (guint         hash,
           GInetAddress *address)
{
  const guint8 *bytes;
  gsize size;

  if (address == NULL)
    return hash * 31;
  bytes = g_inet_address_to_bytes (address);
  size = g_inet_address_get_native_size (address);
  for (gsize i = 0; i < size; i++)
    hash = hash * 31 + bytes[i];
  return hash;
}

/**
 * tun_tap_address_hash:
 * @self: an address
 *
 * Hashes an address consistently with [method@TunTap.Address.equal].
 *
 * Returns: a hash value
 *
 * Since: 0.1
 */
guint
tun_tap_address_hash (const TunTapAddress *self)
{
  guint hash;

  g_return_val_if_fail (self != NULL, 0);

  hash = hash_inet (5381, self->address);
  hash = hash_inet (hash, self->peer);
  return hash * 31 + self->prefix_length * 7 + self->flags;
}

gboolean
tun_tap_address_same_key (const TunTapAddress *a,
                          const TunTapAddress *b)
{
  if (!g_inet_address_equal (a->address, b->address))
    return FALSE;
  if (g_inet_address_get_family (a->address) == G_SOCKET_FAMILY_IPV6)
    return TRUE;
  return a->prefix_length == b->prefix_length && same_peer (a->peer, b->peer);
}
