// SPDX-License-Identifier: LGPL-2.1-or-later
/* Secrets (the token secret, the TURN secret) from somewhere other than the
 * command line, where `ps` shows them to every user of the machine (issue 14).
 *
 * Each secret has four ways in, and the first one given wins:
 *   1. --X-secret VALUE or --X-secret-file FILE (giving both is an error: two
 *      secrets on one command line is a mistake, not a preference);
 *   2. a systemd credential: $CREDENTIALS_DIRECTORY/meshcall-X-secret, which
 *      LoadCredential= in data/meshcall-server.service fills when configured;
 *   3. the environment variable $MESHCALL_X_SECRET (empty counts as unset).
 * A file has its trailing newlines stripped; a file that cannot be read, is
 * empty or is larger than kMaxSecretFileBytes is an error, never "no secret". */
#pragma once

#include <string>
#include <string_view>

namespace meshcall::server
{

inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

/* Reads `path` into *secret without its trailing "\n" or "\r\n" (any number);
 * false with *error set ("cannot read F: …", "F is empty", "F is larger …"). */
bool read_secret_file(const std::string &path, std::string *secret, std::string *error);

struct SecretSources {
	std::string option;	     /* "--token-secret", for messages */
	const char *value = nullptr; /* the option's value, when given */
	const char *file = nullptr;  /* --X-secret-file, when given */
	std::string credential;	     /* "meshcall-token-secret" */
	std::string env;	     /* "MESHCALL_TOKEN_SECRET" */
};

struct ChosenSecret {
	std::string value;  /* empty: none given anywhere */
	std::string source; /* "--token-secret-file /etc/x", "$MESHCALL_TOKEN_SECRET", … */
};

/* Applies the order above. False with *error set when the options conflict,
 * a value is empty, or a file (given or credential) cannot be used. */
bool choose_secret(const SecretSources &from, ChosenSecret *out, std::string *error);

} // namespace meshcall::server
