/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The rtnetlink layer (placeholder: being written). */
#pragma once
#include <gio/gio.h>
