// SPDX-License-Identifier: LGPL-2.1-or-later
/* The HTTP side of meshcall-server: pages, REST, health and metrics. */
#pragma once

#include <libsoup/soup.h>

#include "server/room_registry.h"

namespace meshcall::server
{

/* Answers one plain HTTP request (anything but the WebSocket upgrade). */
void handle_http_request(SoupServerMessage *msg, const char *path, RoomRegistry &registry);

/* For a server that speaks TLS only: every response it writes, libsoup's own
 * errors and the WebSocket upgrade included, carries Strict-Transport-Security. */
void add_hsts_to_every_response(SoupServer *server);

} // namespace meshcall::server
