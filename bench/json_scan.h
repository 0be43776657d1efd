// SPDX-License-Identifier: LGPL-2.1-or-later
/* Just enough JSON reading for the load tool's rare control messages (welcome,
 * peer-joined, peer-left, error) and for finding "type": skips values without
 * building them, never allocates, never unescapes. Relayed messages are then
 * scanned for the bench marker by plain substring search. */
#pragma once

#include <string_view>

namespace meshcall::bench::json
{

inline const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* p is at the opening quote; returns just past the closing one, or nullptr. */
inline const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return nullptr;
}

inline const char *skip_value(const char *p, const char *e)
{
	if (p >= e)
		return nullptr;
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			const char c = *p;
			if (c == '"') {
				p = skip_string(p, e);
				if (p == nullptr)
					return nullptr;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return nullptr;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
		p++;
	return p;
}

/* The raw text of a top-level member of the object in obj, or empty. */
inline std::string_view member(std::string_view obj, std::string_view key)
{
	const char *e = obj.data() + obj.size();
	const char *p = skip_ws(obj.data(), e);
	if (p >= e || *p != '{')
		return {};
	p++;
	while (p < e) {
		p = skip_ws(p, e);
		if (p >= e || *p != '"')
			return {};
		const char *key_end = skip_string(p, e);
		if (key_end == nullptr)
			return {};
		const std::string_view name(p + 1, std::size_t(key_end - 1 - (p + 1)));
		p = skip_ws(key_end, e);
		if (p >= e || *p != ':')
			return {};
		p = skip_ws(p + 1, e);
		const char *value_end = skip_value(p, e);
		if (value_end == nullptr)
			return {};
		if (name == key)
			return {p, std::size_t(value_end - p)};
		p = skip_ws(value_end, e);
		if (p >= e || *p != ',')
			return {};
		p++;
	}
	return {};
}

/* The characters of a raw string value without its quotes; empty if not a string. */
inline std::string_view unquote(std::string_view raw)
{
	if (raw.size() < 2 || raw.front() != '"')
		return {};
	return raw.substr(1, raw.size() - 2);
}

template <typename Fn> void for_each_element(std::string_view array, Fn &&fn)
{
	const char *e = array.data() + array.size();
	const char *p = skip_ws(array.data(), e);
	if (p >= e || *p != '[')
		return;
	p++;
	while (p < e) {
		p = skip_ws(p, e);
		if (p >= e || *p == ']')
			return;
		const char *value_end = skip_value(p, e);
		if (value_end == nullptr)
			return;
		fn(std::string_view(p, std::size_t(value_end - p)));
		p = skip_ws(value_end, e);
		if (p >= e || *p != ',')
			return;
		p++;
	}
}

} // namespace meshcall::bench::json
