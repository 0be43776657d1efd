// SPDX-License-Identifier: LGPL-2.1-or-later
/* UTF-8 decoding and the few Unicode properties the protocol's rules need.
 * Private to the protocol library. */
#pragma once

#include <cstddef>
#include <string_view>

namespace meshcall::protocol::unicode
{

inline constexpr char32_t kInvalid = 0xffffffff;

/*
 * Decodes the code point at s[pos] and advances pos past it. Ill-formed
 * sequences (overlong forms, surrogates, beyond U+10FFFF, truncated) give
 * kInvalid and advance pos by one byte, so callers can resynchronise. Inline
 * because validation and escaping call it once per non-ASCII character.
 */
inline char32_t decode(std::string_view s, std::size_t &pos)
{
	const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
	const unsigned char b0 = byte(pos);
	if (b0 < 0x80) {
		pos++;
		return b0;
	}

	std::size_t len;
	char32_t cp;
	char32_t min;
	if (b0 >= 0xc2 && b0 <= 0xdf) {
		len = 2;
		cp = b0 & 0x1f;
		min = 0x80;
	} else if (b0 >= 0xe0 && b0 <= 0xef) {
		len = 3;
		cp = b0 & 0x0f;
		min = 0x800;
	} else if (b0 >= 0xf0 && b0 <= 0xf4) {
		len = 4;
		cp = b0 & 0x07;
		min = 0x10000;
	} else {
		pos++;
		return kInvalid;
	}

	if (s.size() - pos < len) {
		pos++;
		return kInvalid;
	}
	for (std::size_t i = 1; i < len; i++) {
		const unsigned char b = byte(pos + i);
		if ((b & 0xc0) != 0x80) {
			pos++;
			return kInvalid;
		}
		cp = (cp << 6) | (b & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		pos++;
		return kInvalid;
	}
	pos += len;
	return cp;
}

/* Unicode's White_Space property (PropList.txt), which trimming removes. */
bool is_white_space(char32_t c);

/* General category Cc: C0, DEL and C1. */
inline bool is_control(char32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

} // namespace meshcall::protocol::unicode
