/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <tuntap-glib/tuntap-glib.h>
#include "tun-tap-test-util.h"

static void
test_create_fixed_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TunTapDevice) device = tun_tap_device_new ("tt-fixed", TUN_TAP_MODE_TUN, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (tun_tap_device_get_name (device), ==, "tt-fixed");
  g_assert_true (tun_tap_test_link_exists ("tt-fixed"));
}

int
main (int argc, char *argv[])
{
  g_autofree char *reason = NULL;

  g_test_init (&argc, &argv, NULL);
  if (!tun_tap_test_enter_netns (&reason))
    {
      g_test_skip (reason);
      return g_test_run ();
    }
  g_test_add_func ("/tun-tap/device/create/fixed-name", test_create_fixed_name);
  return g_test_run ();
}
