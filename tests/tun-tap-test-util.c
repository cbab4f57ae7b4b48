/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tun-tap-test-util.h"

#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>
#include <arpa/inet.h>

static gboolean
write_file (const char *path, const char *contents)
{
  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_NONE, 0, NULL);
}

static void
remount_sys (void)
{
  /* A private /sys so /sys/class/net lists this namespace's interfaces;
   * best effort, the tests do not depend on it. */
  if (unshare (CLONE_NEWNS) != 0)
    return;
  if (mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
    return;
  umount2 ("/sys", MNT_DETACH);
  mount ("sysfs", "/sys", "sysfs", 0, NULL);
}

gboolean
tun_tap_test_enter_netns (char **reason)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  char map[64];

  if (unshare (CLONE_NEWNET) == 0)
    {
      remount_sys ();
      g_free (tun_tap_test_run (FALSE, "ip link set lo up"));
      return TRUE;
    }

  if (unshare (CLONE_NEWUSER | CLONE_NEWNET) == 0)
    {
      write_file ("/proc/self/setgroups", "deny");
      g_snprintf (map, sizeof map, "0 %u 1", (guint) uid);
      write_file ("/proc/self/uid_map", map);
      g_snprintf (map, sizeof map, "0 %u 1", (guint) gid);
      write_file ("/proc/self/gid_map", map);
      remount_sys ();
      if (access ("/dev/net/tun", R_OK | W_OK) == 0)
        {
          g_free (tun_tap_test_run (FALSE, "ip link set lo up"));
          return TRUE;
        }
      *reason = g_strdup ("no access to /dev/net/tun from a user namespace");
      return FALSE;
    }

  *reason = g_strdup_printf ("cannot create a network namespace: %s", g_strerror (errno));
  return FALSE;
}

char *
tun_tap_test_run (gboolean    may_fail,
                  const char *format,
                  ...)
{
  g_autofree char *cmd = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
  int status = 0;
  va_list ap;

  va_start (ap, format);
  cmd = g_strdup_vprintf (format, ap);
  va_end (ap);
  argv[2] = cmd;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, &err, &status, &error))
    g_error ("cannot run “%s”: %s", cmd, error->message);

  if (!may_fail && !g_spawn_check_wait_status (status, &error))
    g_error ("“%s” failed: %s\n%s", cmd, error->message, err);

  return g_steal_pointer (&out);
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *expired = user_data;
  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
tun_tap_test_wait_for (GMainContext *context,
                       gboolean     *flag,
                       guint         timeout_ms)
{
  gboolean expired = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, on_timeout, &expired, NULL);
  g_source_attach (timeout, context);
  while (!*flag && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return *flag;
}

void
tun_tap_test_spin (GMainContext *context,
                   guint         ms)
{
  gboolean never = FALSE;

  tun_tap_test_wait_for (context, &never, ms);
}

gint64
tun_tap_test_cpu_time_us (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
         (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
}

guint
tun_tap_test_count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* the directory's own fd */
}

gboolean
tun_tap_test_link_exists (const char *name)
{
  return if_nametoindex (name) != 0;
}

gsize
tun_tap_test_make_udp4 (guint8     *buf,
                        const char *src,
                        guint16     sport,
                        const char *dst,
                        guint16     dport,
                        const void *payload,
                        gsize       len)
{
  gsize total = 28 + len;
  guint32 sum = 0;

  memset (buf, 0, 28);
  buf[0] = 0x45;
  buf[2] = total >> 8;
  buf[3] = total & 0xff;
  buf[8] = 64;
  buf[9] = 17;   /* UDP */
  g_assert_cmpint (inet_pton (AF_INET, src, buf + 12), ==, 1);
  g_assert_cmpint (inet_pton (AF_INET, dst, buf + 16), ==, 1);
  for (int i = 0; i < 20; i += 2)
    sum += (guint32) (buf[i] << 8 | buf[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  sum = ~sum & 0xffff;
  buf[10] = sum >> 8;
  buf[11] = sum & 0xff;
  buf[20] = sport >> 8;
  buf[21] = sport & 0xff;
  buf[22] = dport >> 8;
  buf[23] = dport & 0xff;
  buf[24] = (8 + len) >> 8;
  buf[25] = (8 + len) & 0xff;
  if (len > 0)
    memcpy (buf + 28, payload, len);
  return total;
}

void
tun_tap_test_flood_addresses (const char *name,
                              const char *prefix,
                              guint       count)
{
  g_autoptr(GString) script = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int fd;

  for (guint i = 1; i <= count; i++)
    g_string_append_printf (script, "addr add %s%x/128 dev %s nodad\n", prefix, i, name);
  fd = g_file_open_tmp ("tuntap-flood-XXXXXX", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, script->str, script->len, &error));
  g_free (tun_tap_test_run (FALSE, "ip -batch %s", path));
  g_unlink (path);
}
