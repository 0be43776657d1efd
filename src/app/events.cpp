/* See events.h. */
#include "events.h"

#include <charconv>
#include <cstdio>
#include <mutex>

#include <glib.h>

#include "protocol/protocol.h"

namespace meshcall::app
{

void JsonObject::key(std::string_view key)
{
	if (!first_)
		out_ += ',';
	first_ = false;
	out_ += '"';
	out_ += key; /* keys are literals of this program: nothing to escape */
	out_ += "\":";
}

JsonObject &JsonObject::string(std::string_view key, std::string_view value)
{
	this->key(key);
	protocol::append_json_string(out_, value);
	return *this;
}

JsonObject &JsonObject::integer(std::string_view key, std::int64_t value)
{
	this->key(key);
	char buf[24];
	out_.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
	return *this;
}

JsonObject &JsonObject::number(std::string_view key, double value)
{
	this->key(key);
	char buf[32];
	/* JSON has no NaN or infinity. */
	if (!(value == value) || value > 1e15 || value < -1e15)
		value = 0;
	out_.append(buf, std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 1).ptr);
	return *this;
}

JsonObject &JsonObject::boolean(std::string_view key, bool value)
{
	this->key(key);
	out_ += value ? "true" : "false";
	return *this;
}

JsonObject &JsonObject::raw(std::string_view key, std::string_view json)
{
	this->key(key);
	out_ += json;
	return *this;
}

std::string JsonObject::finish()
{
	out_ += '}';
	return std::move(out_);
}

void JsonArray::next()
{
	if (!first_)
		out_ += ',';
	first_ = false;
}

JsonArray &JsonArray::string(std::string_view value)
{
	next();
	protocol::append_json_string(out_, value);
	return *this;
}

JsonArray &JsonArray::raw(std::string_view json)
{
	next();
	out_ += json;
	return *this;
}

std::string JsonArray::finish()
{
	out_ += ']';
	return std::move(out_);
}

JsonObject begin_event(std::string_view name)
{
	JsonObject o;
	o.string("event", name);
	o.integer("ts", g_get_real_time() / 1000);
	return o;
}

void emit(JsonObject &event)
{
	static std::mutex lock;
	std::string line = event.finish();
	line += '\n';
	std::lock_guard l(lock);
	std::fwrite(line.data(), 1, line.size(), stdout);
	std::fflush(stdout);
}

} // namespace meshcall::app
