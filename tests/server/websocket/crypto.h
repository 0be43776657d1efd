// SPDX-License-Identifier: LGPL-2.1-or-later
/* Temporary forwarder: tests/elements still includes "../server/websocket/crypto.h".
 * Remove this file once it includes "support/crypto.h" instead. */
#pragma once
#include "../../support/crypto.h"
