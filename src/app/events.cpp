// SPDX-License-Identifier: LGPL-2.1-or-later
/* See events.h. */
#include "events.h"

#include <charconv>
#include <cstdio>
#include <mutex>

#include <glib.h>

#include "protocol/protocol.h"

namespace meshcall::app
{

void ObjectWriter::key(std::string_view key)
{
	if (!first_)
		out_ += ',';
	first_ = false;
	out_ += '"';
	out_ += key; /* keys are literals of this program: nothing to escape */
	out_ += "\":";
}

/* JSON text is UTF-8: a device name from a driver may not be. */
static void append_string(std::string &out, std::string_view value)
{
	if (g_utf8_validate(value.data(), static_cast<gssize>(value.size()), nullptr)) {
		protocol::append_json_string(out, value);
		return;
	}
	g_autofree gchar *valid =
	    g_utf8_make_valid(value.data(), static_cast<gssize>(value.size()));
	protocol::append_json_string(out, valid);
}

ObjectWriter &ObjectWriter::string(std::string_view key, std::string_view value)
{
	this->key(key);
	append_string(out_, value);
	return *this;
}

ObjectWriter &ObjectWriter::integer(std::string_view key, std::int64_t value)
{
	this->key(key);
	char buf[24];
	out_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
	return *this;
}

ObjectWriter &ObjectWriter::number(std::string_view key, double value)
{
	this->key(key);
	char buf[32];
	/* JSON has no NaN or infinity. */
	if (!(value == value) || value > 1e15 || value < -1e15)
		value = 0;
	out_.append(buf,
		    std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 1).ptr);
	return *this;
}

ObjectWriter &ObjectWriter::boolean(std::string_view key, bool value)
{
	this->key(key);
	out_ += value ? "true" : "false";
	return *this;
}

ObjectWriter &ObjectWriter::raw(std::string_view key, std::string_view json)
{
	this->key(key);
	out_ += json;
	return *this;
}

std::string ObjectWriter::finish()
{
	out_ += '}';
	return std::move(out_);
}

void ArrayWriter::next()
{
	if (!first_)
		out_ += ',';
	first_ = false;
}

ArrayWriter &ArrayWriter::string(std::string_view value)
{
	next();
	append_string(out_, value);
	return *this;
}

ArrayWriter &ArrayWriter::raw(std::string_view json)
{
	next();
	out_ += json;
	return *this;
}

std::string ArrayWriter::finish()
{
	out_ += ']';
	return std::move(out_);
}

ObjectWriter begin_event(std::string_view name)
{
	ObjectWriter o;
	o.string("event", name);
	o.integer("ts", g_get_real_time() / 1000);
	return o;
}

void emit(ObjectWriter &event)
{
	static std::mutex lock;
	std::string line = event.finish();
	line += '\n';
	std::lock_guard l(lock);
	std::fwrite(line.data(), 1, line.size(), stdout);
	std::fflush(stdout);
}

} // namespace meshcall::app
