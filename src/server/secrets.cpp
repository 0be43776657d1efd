// SPDX-License-Identifier: LGPL-2.1-or-later
/* Secrets from a file, a systemd credential or the environment (secrets.h). */
#include "server/secrets.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <glib.h>

namespace meshcall::server
{

bool read_secret_file(const std::string &path, std::string *secret, std::string *error)
{
	std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), std::fclose);
	if (!file) {
		*error = "cannot read " + path + ": " + std::strerror(errno);
		return false;
	}
	/* One byte over the limit tells a too large file (or /dev/zero) apart. */
	std::string data(kMaxSecretFileBytes + 1, '\0');
	std::size_t got = std::fread(data.data(), 1, data.size(), file.get());
	if (std::ferror(file.get())) {
		*error = "cannot read " + path + ": " + std::strerror(errno);
		return false;
	}
	if (got > kMaxSecretFileBytes) {
		*error = path + " is larger than " + std::to_string(kMaxSecretFileBytes) +
			 " bytes; is it really the secret?";
		return false;
	}
	data.resize(got);
	/* `echo secret > file` and editors add a newline nobody means. */
	while (!data.empty() && (data.back() == '\n' || data.back() == '\r'))
		data.pop_back();
	if (data.empty()) {
		*error = path + " is empty";
		return false;
	}
	*secret = std::move(data);
	return true;
}

bool choose_secret(const SecretSources &from, ChosenSecret *out, std::string *error)
{
	*out = {};
	if (from.value && from.file) {
		*error = from.option + " and " + from.option + "-file are exclusive";
		return false;
	}
	if (from.value) {
		if (!*from.value) {
			*error = from.option + " is empty";
			return false;
		}
		*out = {from.value, from.option};
		return true;
	}
	if (from.file) {
		if (!read_secret_file(from.file, &out->value, error)) {
			*error = from.option + "-file: " + *error;
			return false;
		}
		out->source = from.option + "-file " + from.file;
		return true;
	}
	const char *credentials = g_getenv("CREDENTIALS_DIRECTORY");
	if (credentials && *credentials && !from.credential.empty()) {
		g_autofree gchar *path =
		    g_build_filename(credentials, from.credential.c_str(), nullptr);
		/* Absent means "not configured"; present must be usable. */
		if (g_file_test(path, G_FILE_TEST_EXISTS)) {
			if (!read_secret_file(path, &out->value, error)) {
				*error = "credential " + from.credential + ": " + *error;
				return false;
			}
			out->source = "credential " + from.credential;
			return true;
		}
	}
	const char *env = g_getenv(from.env.c_str());
	if (env && *env)
		*out = {env, "$" + from.env};
	return true;
}

} // namespace meshcall::server
