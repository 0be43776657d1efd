// SPDX-License-Identifier: LGPL-2.1-or-later
/* Temporary forwarder: tests/elements still includes "../server/websocket/server_fixture.h".
 * Remove this file once it includes "support/server_fixture.h" instead. */
#pragma once
#include "../../support/server_fixture.h"
