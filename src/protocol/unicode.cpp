// SPDX-License-Identifier: LGPL-2.1-or-later
/* Validation of the user-supplied strings of the protocol: rooms, names,
 * chat text and peer ids. See "Validation" and "Precise rules" in docs/protocol.md. */
#include "unicode.h"

#include "protocol.h"

namespace meshcall::protocol
{

namespace unicode
{

bool is_white_space(char32_t c)
{
	if (c < 0x80)
		return (c >= 0x09 && c <= 0x0d) || c == 0x20;
	return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

} // namespace unicode

bool is_valid_room(std::string_view room)
{
	if (room.empty() || room.size() > kMaxRoomChars)
		return false;

	for (const char c : room) {
		const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

std::optional<std::string> normalise_name(std::string_view name)
{
	/* First find the trimmed span, so the second pass counts only what is kept. */
	std::size_t begin = std::string_view::npos;
	std::size_t end = 0;
	for (std::size_t pos = 0; pos < name.size();) {
		const std::size_t start = pos;
		const char32_t c = unicode::decode(name, pos);
		if (c == unicode::kInvalid)
			return std::nullopt;
		if (unicode::is_white_space(c))
			continue;
		if (begin == std::string_view::npos)
			begin = start;
		end = pos;
	}
	if (begin == std::string_view::npos)
		return std::nullopt;

	const std::string_view trimmed = name.substr(begin, end - begin);
	std::size_t chars = 0;
	for (std::size_t pos = 0; pos < trimmed.size();) {
		/* Already known to be well-formed. */
		if (unicode::is_control(unicode::decode(trimmed, pos)))
			return std::nullopt;
		if (++chars > kMaxNameChars)
			return std::nullopt;
	}
	return std::string(trimmed);
}

bool is_valid_chat_text(std::string_view text)
{
	/* One pass: the trimmed length is the distance between the first and
	 * last non-white-space code points, inclusive; `index` counts every
	 * code point, for the (1.1) limit on the text as sent. */
	std::size_t index = 0;
	std::size_t first = 0;
	std::size_t last = 0;
	bool seen = false;
	for (std::size_t pos = 0; pos < text.size(); index++) {
		if (index == kMaxSentTextChars)
			return false;
		const char32_t c = unicode::decode(text, pos);
		if (c == unicode::kInvalid)
			return false;
		if (unicode::is_control(c) && c != '\n' && c != '\t')
			return false;
		if (unicode::is_white_space(c))
			continue;
		if (!seen) {
			first = index;
			seen = true;
		}
		last = index;
	}
	return seen && last - first + 1 <= kMaxTextChars;
}

bool is_valid_peer_id(std::string_view id)
{
	if (id.size() != kIdHexDigits)
		return false;

	for (const char c : id) {
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

} // namespace meshcall::protocol
