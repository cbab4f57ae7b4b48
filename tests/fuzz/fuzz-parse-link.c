/* SPDX-License-Identifier: LGPL-2.1-or-later
 * libFuzzer target: parsing an RTM_NEWLINK/RTM_DELLINK message from the
 * kernel, as the rtnetlink monitor does for every notification. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

#include "tun-tap-netlink.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct nlmsghdr *nlh;
  TunTapLinkInfo info;

  if (size < sizeof (struct nlmsghdr))
    return 0;

  /* The monitor only hands over messages that mnl_nlmsg_ok() accepted,
   * whose nlmsg_len fits in what was received: keep that promise, and
   * nothing else. */
  nlh = malloc (size);
  memcpy (nlh, data, size);
  if (nlh->nlmsg_len > size || nlh->nlmsg_len < sizeof (struct nlmsghdr))
    nlh->nlmsg_len = (uint32_t) size;

  if (tun_tap_netlink_parse_link (nlh, &info))
    {
      /* Whatever it accepted must be usable as a C string. */
      if (memchr (info.name, '\0', sizeof info.name) == NULL)
        abort ();
    }
  free (nlh);
  return 0;
}
