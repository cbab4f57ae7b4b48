/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rtnetlink layer's monitor: one socket per (GMainContext, network
 * namespace), subscribed to link and address changes and watched in that
 * context, so callbacks run there. Link state is applied from the
 * notifications' own payload, in the order the kernel queued them; after
 * an overrun (ENOBUFS) every watched link is read afresh once the queue is
 * drained, and provisionally every few dispatches until then.
 *
 * Lifetimes: users hold references (tun_tap_netlink_monitor_get/unref, any
 * thread); the GSource holds one more on the memory, so a dispatch running
 * in the context's thread never sees the monitor freed under it. When the
 * last user goes, the source is destroyed (thread-safe) and the socket is
 * closed once the source lets go. Watches are reference counted the same
 * way: a watch removed from another thread while its callback runs has its
 * user data released only after the callback returned.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tun-tap-netlink-private.h"
#include "tun-tap-netns.h"
#include "tun-tap-context.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib-unix.h>

/* Kernel socket buffer for the monitor: enough for a burst of a few
 * thousand notifications before ENOBUFS forces a re-sync. */
#define MONITOR_RCVBUF (1024 * 1024)

/* Datagrams read per wake-up, so a flood cannot starve the main loop. */
#define MONITOR_RECV_BUDGET 64

/* Datagrams a flush reads at most: under constant churn in the namespace
 * the queue may never empty, and a configuration call must not spin on
 * it. The caller then reads its link directly. */
#define MONITOR_FLUSH_BUDGET 256

/* After an overrun the links are re-read once the queue is drained (the
 * kernel drops for this socket until its queue is empty, so only a re-read
 * after that sees everything). Under churn that never lets the queue
 * empty, a provisional re-read happens every this many dispatches, so it
 * is never postponed for long. */
#define MONITOR_RESYNC_DISPATCHES 4

typedef struct {
  gint                     ref_count;
  guint                    id;
  int                      ifindex;
  gboolean                 removed;    /* under the monitor's lock */
  TunTapNetlinkLinkFunc    link_func;
  TunTapNetlinkAddressFunc address_func;
  gpointer                 user_data;
  GDestroyNotify           notify;
} Watch;

struct _TunTapNetlinkMonitor {
  gint               mem_refs;    /* memory: users' share + the source */
  int                users;       /* under monitors_lock */
  char              *key;
  GMainContext      *context;
  GThread           *creator;     /* may tear the source down itself */
  gint               retired;     /* no users left; atomic */
  struct mnl_socket *nl;
  TunTapNetlink     *requests;    /* for re-reading links after an overrun */
  GSource           *source;
  guint8            *buffer;
  guint              depth;       /* inside monitor_process() */
  gboolean           resync_pending;
  guint              pending_dispatches;

  GMutex             lock;        /* watches and next_watch_id */
  GPtrArray         *watches;     /* (element-type Watch) */
  guint              next_watch_id;
};

/* key → TunTapNetlinkMonitor (not referenced by the table). */
static GMutex monitors_lock;
static GHashTable *monitors;

static void
watch_unref (Watch *watch)
{
  if (!g_atomic_int_dec_and_test (&watch->ref_count))
    return;
  if (watch->notify != NULL)
    watch->notify (watch->user_data);
  g_free (watch);
}

static TunTapNetlinkMonitor *
monitor_mem_ref (TunTapNetlinkMonitor *monitor)
{
  g_atomic_int_inc (&monitor->mem_refs);
  return monitor;
}

static void
monitor_mem_unref (gpointer data)
{
  TunTapNetlinkMonitor *monitor = data;

  if (!g_atomic_int_dec_and_test (&monitor->mem_refs))
    return;
  if (monitor->source != NULL)
    g_source_unref (monitor->source);
  if (monitor->nl != NULL)
    mnl_socket_close (monitor->nl);
  tun_tap_netlink_close (monitor->requests);
  g_ptr_array_unref (monitor->watches);
  g_mutex_clear (&monitor->lock);
  g_main_context_unref (monitor->context);
  g_free (monitor->buffer);
  g_free (monitor->key);
  g_free (monitor);
}

void
tun_tap_netlink_monitor_unref (TunTapNetlinkMonitor *monitor)
{
  g_return_if_fail (monitor != NULL);

  gboolean last;

  g_mutex_lock (&monitors_lock);
  g_assert (monitor->users > 0);
  last = --monitor->users == 0;
  if (last && g_hash_table_lookup (monitors, monitor->key) == monitor)
    g_hash_table_remove (monitors, monitor->key);
  g_mutex_unlock (&monitors_lock);

  /* Destroyed in the context's thread; a dispatch under way keeps its own
   * reference, and the source's reference keeps the memory until then. */
  if (last && monitor->source != NULL)
    {
      g_atomic_int_set (&monitor->retired, 1);
      tun_tap_retire_source (g_source_ref (monitor->source), monitor->context,
                             g_thread_self () == monitor->creator);
    }
  monitor_mem_unref (monitor);
}

/* The watches of @ifindex (all for -1), referenced, so callbacks can add
 * and remove watches while the caller walks the list. */
static GPtrArray *
take_watches (TunTapNetlinkMonitor *monitor,
              int                   ifindex)
{
  GPtrArray *taken = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_unref);

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (monitor->watches, i);

      if (ifindex < 0 || watch->ifindex == ifindex)
        {
          g_atomic_int_inc (&watch->ref_count);
          g_ptr_array_add (taken, watch);
        }
    }
  g_mutex_unlock (&monitor->lock);
  return taken;
}

static gboolean
watch_is_live (TunTapNetlinkMonitor *monitor,
               Watch                *watch)
{
  gboolean live;

  g_mutex_lock (&monitor->lock);
  live = !watch->removed;
  g_mutex_unlock (&monitor->lock);
  return live;
}

static void
notify_link (TunTapNetlinkMonitor *monitor,
             const TunTapLinkInfo *info,
             gboolean              deleted)
{
  g_autoptr(GPtrArray) watches = take_watches (monitor, info->ifindex);

  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      if (watch->link_func != NULL && watch_is_live (monitor, watch))
        watch->link_func (info, deleted, watch->user_data);
    }
}

/* An address notification, kept until the end of its batch. */
typedef struct {
  int                        ifindex;
  TunTapNetlinkAddressChange change;
} PendingAddress;

static void
pending_address_clear (gpointer data)
{
  PendingAddress *pending = data;

  g_clear_pointer (&pending->change.address, tun_tap_address_unref);
}

/* @changes NULL: unknown, the watches read the addresses again. */
static void
notify_addresses (TunTapNetlinkMonitor             *monitor,
                  int                               ifindex,
                  const TunTapNetlinkAddressChange *changes,
                  guint                             n_changes)
{
  g_autoptr(GPtrArray) watches = take_watches (monitor, ifindex);

  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      if (watch->address_func != NULL && watch_is_live (monitor, watch))
        watch->address_func (changes, n_changes, watch->user_data);
    }
}

/* Each link's changes of one batch in one call, in the kernel's order. */
static void
notify_pending_addresses (TunTapNetlinkMonitor *monitor,
                          GArray               *pending)
{
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (TunTapNetlinkAddressChange));

  for (guint i = 0; i < pending->len; i++)
    {
      int ifindex = g_array_index (pending, PendingAddress, i).ifindex;
      gboolean done = FALSE;

      for (guint j = 0; j < i && !done; j++)
        done = g_array_index (pending, PendingAddress, j).ifindex == ifindex;
      if (done)
        continue;

      g_array_set_size (changes, 0);
      for (guint j = i; j < pending->len; j++)
        {
          PendingAddress *p = &g_array_index (pending, PendingAddress, j);

          if (p->ifindex == ifindex)
            g_array_append_val (changes, p->change);
        }
      notify_addresses (monitor, ifindex, (TunTapNetlinkAddressChange *) changes->data,
                        changes->len);
    }
}

/* After an overrun nothing is known about what was missed: read every
 * watched link afresh and tell every watch its addresses may have changed. */
static void
monitor_resync (TunTapNetlinkMonitor *monitor)
{
  g_autoptr(GPtrArray) all = take_watches (monitor, -1);
  g_autoptr(GArray) ifindexes = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < all->len; i++)
    {
      Watch *watch = g_ptr_array_index (all, i);
      gboolean seen = FALSE;

      for (guint j = 0; j < ifindexes->len && !seen; j++)
        seen = g_array_index (ifindexes, int, j) == watch->ifindex;
      if (!seen)
        g_array_append_val (ifindexes, watch->ifindex);
    }

  for (guint i = 0; i < ifindexes->len; i++)
    {
      int ifindex = g_array_index (ifindexes, int, i);
      g_autofree char *extack = NULL;
      TunTapLinkInfo info;
      int errsv = ENOTCONN;

      if (monitor->requests != NULL)
        errsv = get_link (monitor->requests, ifindex, NULL, &info, &extack);
      if (errsv == 0)
        notify_link (monitor, &info, FALSE);
      else if (errsv == ENODEV)
        {
          link_info_init (&info);
          info.ifindex = ifindex;
          notify_link (monitor, &info, TRUE);
        }
      else
        g_debug ("Cannot re-read interface %d after an rtnetlink overrun: %s",
                 ifindex, g_strerror (errsv));

      notify_addresses (monitor, ifindex, NULL, 0);
    }
}

static void
monitor_handle_datagram (TunTapNetlinkMonitor *monitor,
                         const guint8         *buffer,
                         gsize                 size,
                         GArray               *pending_addresses)
{
  const struct nlmsghdr *nlh;
  int len = (int) size;

  for (nlh = (const struct nlmsghdr *) buffer;
       mnl_nlmsg_ok (nlh, len);
       nlh = mnl_nlmsg_next (nlh, &len))
    {
      switch (nlh->nlmsg_type)
        {
        case RTM_NEWLINK:
        case RTM_DELLINK:
          {
            TunTapLinkInfo info;

            if (tun_tap_netlink_parse_link (nlh, &info))
              notify_link (monitor, &info, nlh->nlmsg_type == RTM_DELLINK);
          }
          break;
        case RTM_NEWADDR:
        case RTM_DELADDR:
          {
            ParsedAddress address;
            PendingAddress pending;

            if (!parse_address (nlh, &address) || address.ifindex <= 0)
              break;
            pending.ifindex = address.ifindex;
            pending.change.address = parsed_address_to_address (&address);
            pending.change.deleted = nlh->nlmsg_type == RTM_DELADDR;
            g_array_append_val (pending_addresses, pending);
          }
          break;
        default:
          break;
        }
    }
}

typedef enum {
  RECV_DATA,
  RECV_EMPTY,
  RECV_LOST,
  RECV_BROKEN,
} RecvResult;

static RecvResult
monitor_recv (TunTapNetlinkMonitor *monitor,
              guint8               *buffer,
              gsize                *size,
              int                  *errsv)
{
  struct sockaddr_nl sender;
  struct iovec iov = { buffer, RECV_BUFFER_SIZE };
  struct msghdr msg = { 0, };
  ssize_t n;

  msg.msg_name = &sender;
  msg.msg_namelen = sizeof sender;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  do
    n = recvmsg (mnl_socket_get_fd (monitor->nl), &msg, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);

  *size = 0;
  if (n < 0)
    {
      *errsv = errno;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return RECV_EMPTY;
      /* The kernel dropped notifications because the buffer was full. */
      if (errno == ENOBUFS)
        return RECV_LOST;
      return RECV_BROKEN;
    }

  if (msg.msg_flags & MSG_TRUNC)
    return RECV_LOST;
  /* Only the kernel may speak on these groups. */
  if (msg.msg_namelen != sizeof sender || sender.nl_pid != 0)
    return RECV_DATA;

  *size = (gsize) n;
  return RECV_DATA;
}

/* Reads what is queued (at most @budget datagrams) and tells the watches.
 * After ENOBUFS the kernel keeps dropping for this socket, without saying
 * so again, until its queue is empty: what is queued then is stale and
 * discarded, and every link is read afresh (see MONITOR_RESYNC_DISPATCHES).
 * Returns FALSE once the socket is broken. */
static gboolean
is_retired (TunTapNetlinkMonitor *monitor)
{
  return g_atomic_int_get (&monitor->retired);
}

/* A broken monitor leaves the table, so the next device of this context
 * and namespace gets a working one; its users keep theirs until they let
 * go. */
static void
forget_monitor (TunTapNetlinkMonitor *monitor)
{
  g_mutex_lock (&monitors_lock);
  if (monitors != NULL && g_hash_table_lookup (monitors, monitor->key) == monitor)
    g_hash_table_remove (monitors, monitor->key);
  g_mutex_unlock (&monitors_lock);
}

static gboolean
monitor_process (TunTapNetlinkMonitor *monitor,
                 guint                 budget,
                 gboolean              error_condition,
                 gboolean             *out_drained)
{
  g_autoptr(GArray) pending_addresses = g_array_new (FALSE, FALSE, sizeof (PendingAddress));
  guint8 *buffer = monitor->buffer;
  gboolean got_any = FALSE, drained = FALSE, broken = FALSE;
  int errsv = 0;

  g_array_set_clear_func (pending_addresses, pending_address_clear);

  /* A callback that changes a link asks for a flush while the outer loop
   * is in the middle of a datagram: reading on would apply newer
   * notifications before the rest of that one. The outer loop goes on
   * reading in order instead. */
  if (monitor->depth > 0 || is_retired (monitor))
    {
      if (out_drained != NULL)
        *out_drained = FALSE;
      return TRUE;
    }
  /* A callback may drop the last user (a device closed in a handler):
   * the memory stays until this returns, and reading stops. */
  monitor_mem_ref (monitor);
  monitor->depth++;

  for (guint i = 0; !broken && !drained && i < budget && !is_retired (monitor); i++)
    {
      gsize size;

      switch (monitor_recv (monitor, buffer, &size, &errsv))
        {
        case RECV_DATA:
          got_any = TRUE;
          if (!monitor->resync_pending)
            monitor_handle_datagram (monitor, buffer, size, pending_addresses);
          break;
        case RECV_LOST:
          got_any = TRUE;
          monitor->resync_pending = TRUE;
          break;
        case RECV_EMPTY:
          drained = TRUE;
          break;
        case RECV_BROKEN:
        default:
          broken = TRUE;
          break;
        }
    }

  /* G_IO_ERR with nothing to read or report would fire forever. */
  if (error_condition && !got_any && !broken)
    broken = TRUE;

  if (is_retired (monitor))
    ;
  else if (monitor->resync_pending && !broken)
    {
      if (drained)
        {
          monitor->resync_pending = FALSE;
          monitor->pending_dispatches = 0;
          monitor_resync (monitor);
        }
      else if (++monitor->pending_dispatches >= MONITOR_RESYNC_DISPATCHES)
        {
          /* Still pending: read again once drained. */
          monitor->pending_dispatches = 0;
          monitor_resync (monitor);
        }
    }
  else
    {
      notify_pending_addresses (monitor, pending_addresses);
    }

  monitor->depth--;

  if (broken)
    {
      g_warning (_("The rtnetlink monitor socket failed (%s); link and address changes "
                 "made by other programs are no longer reported"),
                 g_strerror (errsv != 0 ? errsv : EIO));
      forget_monitor (monitor);
    }
  if (out_drained != NULL)
    *out_drained = drained;
  monitor_mem_unref (monitor);
  return !broken;
}

static gboolean
monitor_dispatch (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  TunTapNetlinkMonitor *monitor = user_data;

  /* Its last user went away in another thread, which made it ready so it
   * is destroyed here, in its own context. */
  if (g_atomic_int_get (&monitor->retired))
    return G_SOURCE_REMOVE;

  if (condition & (G_IO_HUP | G_IO_NVAL))
    {
      g_warning (_("The rtnetlink monitor socket was closed; link and address changes "
                 "made by other programs are no longer reported"));
      forget_monitor (monitor);
      return G_SOURCE_REMOVE;
    }
  return monitor_process (monitor, MONITOR_RECV_BUDGET, (condition & G_IO_ERR) != 0, NULL)
         ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

gboolean
tun_tap_netlink_monitor_flush (TunTapNetlinkMonitor *monitor)
{
  gboolean drained = FALSE;

  g_return_val_if_fail (monitor != NULL, FALSE);

  if (!g_source_is_destroyed (monitor->source))
    monitor_process (monitor, MONITOR_FLUSH_BUDGET, FALSE, &drained);
  return drained;
}

static void
set_receive_buffer (int fd)
{
  int size = MONITOR_RCVBUF;

  /* FORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN. */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static TunTapNetlinkMonitor *
monitor_new (GMainContext  *context,
             int            netns_fd,
             const char    *key,
             GError       **error)
{
  static const unsigned int groups[] = {
    RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
  };
  TunTapNetlinkMonitor *monitor;
  struct mnl_socket *nl = NULL;
  TunTapNetlink *requests;
  int fd, errsv;

  requests = tun_tap_netlink_open (netns_fd, error);
  if (requests == NULL)
    return NULL;

  nl = open_bound_socket (netns_fd, TRUE);
  if (nl == NULL)
    goto fail;
  for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
    {
      unsigned int group = groups[i];

      if (mnl_socket_setsockopt (nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        goto fail;
    }
  fd = mnl_socket_get_fd (nl);
  set_receive_buffer (fd);

  monitor = g_new0 (TunTapNetlinkMonitor, 1);
  monitor->mem_refs = 1;
  monitor->users = 1;
  monitor->key = g_strdup (key);
  monitor->context = g_main_context_ref (context);
  monitor->creator = g_thread_self ();
  monitor->nl = nl;
  monitor->requests = requests;
  monitor->buffer = g_malloc (RECV_BUFFER_SIZE);
  monitor->watches = g_ptr_array_new ();
  g_mutex_init (&monitor->lock);

  monitor->source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (monitor->source, G_SOURCE_FUNC (monitor_dispatch),
                         monitor_mem_ref (monitor), monitor_mem_unref);
  g_source_set_static_name (monitor->source, "[tuntap-glib] rtnetlink monitor");
  g_source_attach (monitor->source, context);
  return monitor;

fail:
  errsv = errno;
  if (nl != NULL)
    mnl_socket_close (nl);
  tun_tap_netlink_close (requests);
  g_set_error (error, G_IO_ERROR,
               errsv == EPERM || errsv == EACCES ? G_IO_ERROR_PERMISSION_DENIED
                                                 : g_io_error_from_errno (errsv),
               _("Cannot listen to link and address changes over rtnetlink: %s"),
               g_strerror (errsv));
  return NULL;
}

TunTapNetlinkMonitor *
tun_tap_netlink_monitor_get (GMainContext  *context,
                             int            netns_fd,
                             GError       **error)
{
  TunTapNetlinkMonitor *monitor;
  g_autofree char *ns = NULL;
  g_autofree char *key = NULL;

  if (context == NULL)
    context = g_main_context_default ();

  ns = tun_tap_netns_id (netns_fd);
  key = g_strdup_printf ("%p/%s", (gpointer) context, ns != NULL ? ns : "?");

  g_mutex_lock (&monitors_lock);
  if (monitors == NULL)
    monitors = g_hash_table_new (g_str_hash, g_str_equal);

  monitor = g_hash_table_lookup (monitors, key);
  if (monitor != NULL)
    {
      monitor->users++;
      g_atomic_int_inc (&monitor->mem_refs);
    }
  else
    {
      /* Created under the lock so two threads never make two monitors. */
      monitor = monitor_new (context, netns_fd, key, error);
      if (monitor != NULL)
        g_hash_table_insert (monitors, monitor->key, monitor);
    }
  g_mutex_unlock (&monitors_lock);

  return monitor;
}

guint
tun_tap_netlink_monitor_add_watch (TunTapNetlinkMonitor     *monitor,
                                   int                       ifindex,
                                   TunTapNetlinkLinkFunc     link_func,
                                   TunTapNetlinkAddressFunc  address_func,
                                   gpointer                  user_data,
                                   GDestroyNotify            notify)
{
  Watch *watch;

  g_return_val_if_fail (monitor != NULL, 0);
  g_return_val_if_fail (ifindex > 0, 0);

  watch = g_new0 (Watch, 1);
  watch->ref_count = 1;
  watch->ifindex = ifindex;
  watch->link_func = link_func;
  watch->address_func = address_func;
  watch->user_data = user_data;
  watch->notify = notify;

  g_mutex_lock (&monitor->lock);
  if (++monitor->next_watch_id == 0)
    monitor->next_watch_id = 1;
  watch->id = monitor->next_watch_id;
  g_ptr_array_add (monitor->watches, watch);
  g_mutex_unlock (&monitor->lock);

  return watch->id;
}

void
tun_tap_netlink_monitor_remove_watch (TunTapNetlinkMonitor *monitor,
                                      guint                 watch_id)
{
  Watch *found = NULL;

  g_return_if_fail (monitor != NULL);
  g_return_if_fail (watch_id != 0);

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (monitor->watches, i);

      if (watch->id == watch_id)
        {
          found = g_ptr_array_steal_index (monitor->watches, i);
          found->removed = TRUE;
          break;
        }
    }
  g_mutex_unlock (&monitor->lock);

  if (found == NULL)
    g_critical ("%s: no watch with id %u", G_STRFUNC, watch_id);
  else
    watch_unref (found);
}
