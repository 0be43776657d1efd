// SPDX-License-Identifier: LGPL-2.1-or-later
/* Log lines a terminal can trust (issue 14, "Logs a terminal can trust"): a
 * refused Origin used to reach stderr raw, terminal escapes and 60 KB lines
 * included, and 1,000 refusals wrote 58.7 MB. */
#include "server/log.h"

#include <algorithm>

namespace meshcall::server
{

namespace
{

constexpr char kHex[] = "0123456789abcdef";
/* Room kept for " [+N bytes]" when a text is cut. */
constexpr std::size_t kCutMarkBytes = 32;

/* Code points that are not Cc but still move or hide text on a terminal or
 * in a log viewer: the bidi embeddings, overrides, isolates and marks, and
 * the line and paragraph separators. */
bool is_unsafe_format(gunichar c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 ||
	       c == 0x2029;
}

void append_hex_bytes(std::string &out, std::string_view bytes)
{
	for (unsigned char b : bytes) {
		out += "\\x";
		out += kHex[b >> 4];
		out += kHex[b & 0xf];
	}
}

/* The escaped form of the character at text[pos], and how many input bytes
 * it covers. */
std::size_t escape_one(std::string_view text, std::size_t pos, bool escape_backslash,
		       std::string &piece)
{
	piece.clear();
	const auto byte = static_cast<unsigned char>(text[pos]);
	if (byte < 0x80) {
		if (byte < 0x20 || byte == 0x7f)
			append_hex_bytes(piece, text.substr(pos, 1));
		else if (byte == '\\' && escape_backslash)
			piece = "\\\\";
		else
			piece = static_cast<char>(byte);
		return 1;
	}
	const gunichar c =
	    g_utf8_get_char_validated(text.data() + pos, static_cast<gssize>(text.size() - pos));
	if (c == static_cast<gunichar>(-1) || c == static_cast<gunichar>(-2)) {
		append_hex_bytes(piece, text.substr(pos, 1));
		return 1;
	}
	const std::size_t length = static_cast<std::size_t>(g_utf8_skip[byte]);
	if (is_unsafe_format(c))
		append_hex_bytes(piece, text.substr(pos, length));
	else
		piece.assign(text.substr(pos, length));
	return length;
}

std::string escape(std::string_view text, std::size_t max_bytes, bool escape_backslash)
{
	std::string out;
	out.reserve(std::min(text.size(), max_bytes));
	/* Where the text can still be cut with room left for the mark. */
	std::size_t cut_in = 0;
	std::size_t cut_out = 0;
	std::string piece;
	for (std::size_t pos = 0; pos < text.size();) {
		if (out.size() + kCutMarkBytes <= max_bytes) {
			cut_in = pos;
			cut_out = out.size();
		}
		pos += escape_one(text, pos, escape_backslash, piece);
		if (out.size() + piece.size() > max_bytes) {
			out.resize(cut_out);
			out += " [+" + std::to_string(text.size() - cut_in) + " bytes]";
			return out;
		}
		out += piece;
	}
	return out;
}

} // namespace

std::string log_text(std::string_view text, std::size_t max_bytes)
{
	return escape(text, std::max(max_bytes, kCutMarkBytes), true);
}

std::string log_line_text(std::string_view message, std::size_t max_bytes)
{
	return escape(message, std::max(max_bytes, kCutMarkBytes), false);
}

RefusalThrottle::Budget &RefusalThrottle::budget_for(std::string_view address, std::int64_t now_us)
{
	auto it = budgets_.find(std::string(address));
	if (it != budgets_.end())
		return it->second;
	if (budgets_.size() >= kMaxAddresses && now_us - last_sweep_us_ >= G_USEC_PER_SEC) {
		/* Forget the addresses that are quiet again: full budget, nothing
		 * left to report. At most once a second, so that a flood from
		 * many addresses does not sweep on every line. */
		last_sweep_us_ = now_us;
		std::erase_if(budgets_, [&](const auto &entry) {
			const Budget &b = entry.second;
			double refill = (now_us - b.updated_us) / 1e6 * kPerSecond;
			return b.dropped == 0 && b.tokens + refill >= kBurst;
		});
	}
	if (budgets_.size() >= kMaxAddresses)
		return others_;
	Budget &fresh = budgets_[std::string(address)];
	fresh.updated_us = now_us;
	return fresh;
}

RefusalThrottle::Verdict RefusalThrottle::admit(std::string_view address, std::int64_t now_us)
{
	std::lock_guard guard(lock_);
	Budget &b = budget_for(address, now_us);
	/* Clocks of tests may start anywhere; never refill backwards. */
	double elapsed_s = std::max<std::int64_t>(now_us - b.updated_us, 0) / 1e6;
	b.tokens = std::min(kBurst, b.tokens + elapsed_s * kPerSecond);
	b.updated_us = now_us;
	if (b.tokens >= 1) {
		b.tokens -= 1;
		Verdict v{Action::Log, b.dropped};
		b.dropped = 0;
		if (b.tokens + 1 >= kBurst)
			b.announced = false; /* a quiet spell: announce the next run */
		return v;
	}
	b.dropped++;
	if (b.announced)
		return {Action::Drop, 0};
	b.announced = true;
	return {Action::AnnounceDropping, 0};
}

RefusalThrottle &refusal_throttle()
{
	static RefusalThrottle throttle;
	return throttle;
}

void log_refusal(const char *domain, std::string_view address, std::int64_t now_us,
		 const std::string &subject, const std::string &text)
{
	RefusalThrottle::Verdict v = refusal_throttle().admit(address, now_us);
	switch (v.action) {
	case RefusalThrottle::Action::Drop:
		return;
	case RefusalThrottle::Action::AnnounceDropping:
		g_log(domain, G_LOG_LEVEL_MESSAGE,
		      "%s: more refusals from this address than %g a second: "
		      "counted, not logged",
		      subject.c_str(), RefusalThrottle::kPerSecond);
		return;
	case RefusalThrottle::Action::Log:
		if (v.dropped_before)
			g_log(domain, G_LOG_LEVEL_MESSAGE,
			      "%s: %s (%" G_GUINT64_FORMAT " more refusals from this address "
			      "were not logged)",
			      subject.c_str(), text.c_str(), v.dropped_before);
		else
			g_log(domain, G_LOG_LEVEL_MESSAGE, "%s: %s", subject.c_str(), text.c_str());
		return;
	}
}

} // namespace meshcall::server
