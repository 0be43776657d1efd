// SPDX-License-Identifier: LGPL-2.1-or-later
/* `meshcall --events json`: one JSON object per line on stdout, each with
 * "event" and "ts" (ms since the epoch), flushed per line. The events and
 * their fields are docs/design.md's ("meshcall --events json"). The text is
 * written directly, like the protocol's messages. */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace meshcall::app
{

/* A JSON object written member by member. */
class ObjectWriter
{
public:
	ObjectWriter() { out_ = "{"; }
	ObjectWriter &string(std::string_view key, std::string_view value);
	ObjectWriter &integer(std::string_view key, std::int64_t value);
	ObjectWriter &number(std::string_view key, double value); /* 1 decimal */
	ObjectWriter &boolean(std::string_view key, bool value);
	/* `json` must be a complete JSON value (an array, an object). */
	ObjectWriter &raw(std::string_view key, std::string_view json);
	/* Closes the object and returns its text. */
	std::string finish();

private:
	void key(std::string_view key);
	std::string out_;
	bool first_ = true;
};

/* A JSON array of values written one by one. */
class ArrayWriter
{
public:
	ArrayWriter() { out_ = "["; }
	ArrayWriter &string(std::string_view value);
	ArrayWriter &raw(std::string_view json);
	std::string finish();

private:
	void next();
	std::string out_;
	bool first_ = true;
};

/* {"event": name, "ts": now, ...}: add members, then emit(). */
ObjectWriter begin_event(std::string_view name);
/* Writes the object as one line on stdout and flushes; thread-safe. */
void emit(ObjectWriter &event);

} // namespace meshcall::app
