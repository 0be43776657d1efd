// SPDX-License-Identifier: LGPL-2.1-or-later
/* The server's state directory and what it keeps there: the resume secret,
 * which signs welcome.resume (docs/protocol.md, "Resume") and must outlive
 * a restart, or no client gets its id back after one.
 *
 * The directory is the first of: --state-dir; $STATE_DIRECTORY (set by
 * systemd's StateDirectory=, the first of its colon-separated paths);
 * $XDG_STATE_HOME/meshcall; $HOME/.local/state/meshcall. */
#pragma once

#include <string>

namespace meshcall::server
{

inline constexpr std::size_t kResumeSecretBytes = 32;
inline constexpr const char *kResumeSecretFile = "resume-secret";

/* The directory by the order above; `option` is --state-dir's value or
 * null. Empty when none applies (no $HOME either). */
std::string choose_state_dir(const char *option);

struct ResumeSecret {
	std::string bytes; /* kResumeSecretBytes, always set */
	std::string path;  /* <dir>/resume-secret */
	bool created = false;
	/* Empty when the secret is kept in `path`. Otherwise why not ("cannot
	 * create /x: Permission denied"): the secret then lives in memory only. */
	std::string problem;
};

/* Reads <dir>/resume-secret, or creates it (mode 0600, the directory 0700
 * when missing) with kResumeSecretBytes from getrandom(2). The file appears
 * whole or not at all, and one another process made meanwhile is kept, not
 * replaced. Never fails: when the file cannot be read or written the secret
 * is made in memory and `problem` says why. */
ResumeSecret load_resume_secret(const std::string &dir);

} // namespace meshcall::server
