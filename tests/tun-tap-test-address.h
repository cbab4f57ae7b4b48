/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Shared by the C tests that look at a device's addresses. */
#pragma once

#include <tuntap-glib/tuntap-glib.h>

/* Whether get_addresses() holds @text, written as
 * tun_tap_address_to_string() writes it ("192.0.2.1/24",
 * "192.0.2.1/32 peer 192.0.2.2"). */
static inline gboolean
tun_tap_test_has_address (TunTapDevice *device,
                          const char   *text)
{
  g_autoptr(GPtrArray) addresses = tun_tap_device_get_addresses (device);

  for (guint i = 0; i < addresses->len; i++)
    {
      g_autofree char *known = tun_tap_address_to_string (g_ptr_array_index (addresses, i));

      if (g_str_equal (known, text))
        return TRUE;
    }
  return FALSE;
}

/* Iterates the thread-default main context until get_addresses() holds
 * @text; FALSE after 5 s. */
static inline gboolean
tun_tap_test_wait_for_address (TunTapDevice *device,
                               const char   *text)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!tun_tap_test_has_address (device, text))
    {
      if (g_get_monotonic_time () >= end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return TRUE;
}
