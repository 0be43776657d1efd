// SPDX-License-Identifier: LGPL-2.1-or-later
/* A strict JSON front end for json-glib; see json_document.h for why. */
#include "json_document.h"

#include <cstring>

namespace meshcall::protocol::detail
{

namespace
{

constexpr std::string_view kStuffMark = "\xef\xb7\x90"; /* U+FDD0 */
constexpr std::string_view kStuffedNul = "\\ufdd0\\ufdd1";
constexpr std::string_view kStuffedMark = "\\ufdd0\\ufdd0";

/*
 * Recognises RFC 8259 JSON and, while at it, produces the rewritten text
 * described in json_document.h. The rewrite is lazy: nothing is copied until
 * the first change. Recursion is bounded by kMaxJsonDepth.
 */
class StrictScanner
{
public:
	explicit StrictScanner(std::string_view text) : text_(text) {}

	bool run()
	{
		skip_space();
		if (!value(0))
			return false;
		skip_space();
		if (pos_ != text_.size())
			return fail("trailing data after the JSON value");
		if (rewritten_)
			out_.append(text_.substr(flushed_));
		return true;
	}

	const char *error() const { return error_; }
	bool rewritten() const { return rewritten_; }
	std::string &rewritten_text() { return out_; }

private:
	bool fail(const char *why)
	{
		error_ = why;
		return false;
	}

	bool at_end() const { return pos_ >= text_.size(); }
	char peek() const { return at_end() ? '\0' : text_[pos_]; }

	void skip_space()
	{
		while (!at_end()) {
			const char c = text_[pos_];
			if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
				break;
			pos_++;
		}
	}

	/* Replaces text_[from, to) by `with` in the output. */
	void replace(std::size_t from, std::size_t to, std::string_view with)
	{
		if (!rewritten_) {
			out_.reserve(text_.size() + 64);
			rewritten_ = true;
		}
		out_.append(text_.substr(flushed_, from - flushed_));
		out_.append(with);
		flushed_ = to;
	}

	bool value(unsigned depth)
	{
		switch (peek()) {
		case '{':
			return object(depth + 1);
		case '[':
			return array(depth + 1);
		case '"':
			return string();
		case 't':
			return literal("true");
		case 'f':
			return literal("false");
		case 'n':
			return literal("null");
		default:
			return number();
		}
	}

	bool object(unsigned depth)
	{
		if (depth > kMaxJsonDepth)
			return fail("JSON nested too deeply");
		pos_++;
		skip_space();
		if (peek() == '}') {
			pos_++;
			return true;
		}
		while (true) {
			if (peek() != '"')
				return fail("expected a string key");
			if (!string())
				return false;
			skip_space();
			if (peek() != ':')
				return fail("expected ':'");
			pos_++;
			skip_space();
			if (!value(depth))
				return false;
			skip_space();
			const char c = peek();
			pos_++;
			if (c == '}')
				return true;
			if (c != ',')
				return fail("expected ',' or '}'");
			skip_space();
		}
	}

	bool array(unsigned depth)
	{
		if (depth > kMaxJsonDepth)
			return fail("JSON nested too deeply");
		pos_++;
		skip_space();
		if (peek() == ']') {
			pos_++;
			return true;
		}
		while (true) {
			if (!value(depth))
				return false;
			skip_space();
			const char c = peek();
			pos_++;
			if (c == ']')
				return true;
			if (c != ',')
				return fail("expected ',' or ']'");
			skip_space();
		}
	}

	bool literal(std::string_view word)
	{
		if (text_.substr(pos_, word.size()) != word)
			return fail("invalid literal");
		pos_ += word.size();
		return true;
	}

	static int hex_value(char c)
	{
		if (c >= '0' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		if (c >= 'A' && c <= 'F')
			return c - 'A' + 10;
		return -1;
	}

	/* The code unit of a "\uXXXX" at `at`, or -1. */
	long unit_at(std::size_t at) const
	{
		if (text_.size() - at < 6 || text_[at] != '\\' || text_[at + 1] != 'u')
			return -1;
		long unit = 0;
		for (std::size_t i = at + 2; i < at + 6; i++) {
			const int h = hex_value(text_[i]);
			if (h < 0)
				return -1;
			unit = unit << 4 | h;
		}
		return unit;
	}

	bool string()
	{
		pos_++; /* the opening quote */
		while (true) {
			if (at_end())
				return fail("unterminated string");
			const unsigned char c = static_cast<unsigned char>(text_[pos_]);
			if (c == '"') {
				pos_++;
				return true;
			}
			if (c < 0x20)
				return fail("unescaped control character in a string");
			if (c == 0xef && text_.substr(pos_, kStuffMark.size()) == kStuffMark) {
				replace(pos_, pos_ + kStuffMark.size(), kStuffedMark);
				pos_ += kStuffMark.size();
				continue;
			}
			if (c != '\\') {
				/* json-glib validates the UTF-8 of the whole frame. */
				pos_++;
				continue;
			}
			if (!escape())
				return false;
		}
	}

	bool escape()
	{
		if (text_.size() - pos_ < 2)
			return fail("unterminated string");
		switch (text_[pos_ + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			pos_ += 2;
			return true;
		case 'u':
			break;
		default:
			return fail("invalid escape in a string");
		}

		const std::size_t start = pos_;
		const long unit = unit_at(pos_);
		if (unit < 0)
			return fail("invalid \\u escape");
		pos_ += 6;

		if (unit >= 0xd800 && unit <= 0xdbff) {
			const long low = unit_at(pos_);
			if (low < 0xdc00 || low > 0xdfff)
				return fail("unpaired surrogate in a string");
			pos_ += 6;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return fail("unpaired surrogate in a string");
		} else if (unit == 0) {
			replace(start, pos_, kStuffedNul);
		} else if (unit == 0xfdd0) {
			replace(start, pos_, kStuffedMark);
		}
		return true;
	}

	std::size_t digits()
	{
		const std::size_t start = pos_;
		while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9')
			pos_++;
		return pos_ - start;
	}

	bool number()
	{
		const bool negative = peek() == '-';
		if (negative)
			pos_++;

		const std::size_t int_start = pos_;
		if (peek() == '0')
			pos_++;
		else if (digits() == 0)
			return fail("not JSON");
		const std::string_view int_part = text_.substr(int_start, pos_ - int_start);

		bool is_integer = true;
		if (peek() == '.') {
			pos_++;
			if (digits() == 0)
				return fail("invalid number");
			is_integer = false;
		}
		if (peek() == 'e' || peek() == 'E') {
			pos_++;
			if (peek() == '+' || peek() == '-')
				pos_++;
			if (digits() == 0)
				return fail("invalid number");
			is_integer = false;
		}

		if (is_integer && out_of_int64(int_part, negative))
			replace(pos_, pos_, ".0");
		return true;
	}

	static bool out_of_int64(std::string_view digits, bool negative)
	{
		const std::string_view limit =
		    negative ? "9223372036854775808" : "9223372036854775807";
		if (digits.size() != limit.size())
			return digits.size() > limit.size();
		return digits > limit;
	}

	std::string_view text_;
	std::size_t pos_ = 0;
	const char *error_ = "not JSON";

	std::string out_;
	std::size_t flushed_ = 0;
	bool rewritten_ = false;
};

} // namespace

JsonDocument::JsonDocument() : parser_(json_parser_new_immutable())
{
}

JsonDocument::~JsonDocument()
{
	g_object_unref(parser_);
}

bool JsonDocument::load(std::string_view text, std::string &error)
{
	StrictScanner scanner(text);
	if (!scanner.run()) {
		error = scanner.error();
		return false;
	}

	std::string_view input = text;
	if (scanner.rewritten()) {
		input = scanner.rewritten_text();
		stuffed_ = true;
	}

	g_autoptr(GError) gerror = nullptr;
	if (!json_parser_load_from_data(parser_, input.data(), static_cast<gssize>(input.size()),
					&gerror)) {
		/* Strict JSON json-glib refuses; invalid UTF-8 ends up here. */
		error = gerror->message;
		return false;
	}
	return json_parser_get_root(parser_) != nullptr;
}

JsonObject *JsonDocument::root_object() const
{
	return object(json_parser_get_root(parser_));
}

std::optional<std::string> JsonDocument::string(JsonNode *node) const
{
	if (!node || JSON_NODE_TYPE(node) != JSON_NODE_VALUE ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return std::nullopt;

	const char *value = json_node_get_string(node);
	std::string result(value);
	if (!stuffed_)
		return result;

	std::size_t at = result.find(kStuffMark);
	if (at == std::string::npos)
		return result;

	/* Undo the stuffing: the mark is always followed by a second mark (a
	 * literal U+FDD0) or by U+FDD1 (a NUL). */
	std::string unstuffed;
	unstuffed.reserve(result.size());
	std::size_t from = 0;
	while (at != std::string::npos) {
		unstuffed.append(result, from, at - from);
		const std::size_t next = at + kStuffMark.size();
		const bool nul = result.compare(next, kStuffMark.size(), kStuffMark) != 0;
		if (nul)
			unstuffed += '\0';
		else
			unstuffed.append(kStuffMark);
		from = next + kStuffMark.size();
		at = result.find(kStuffMark, from);
	}
	unstuffed.append(result, from);
	return unstuffed;
}

JsonNode *member(JsonObject *object, const char *key)
{
	JsonNode *node = json_object_get_member(object, key);
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return nullptr;
	return node;
}

std::optional<std::int64_t> integer(JsonNode *node)
{
	/* json-glib types a literal as gint64 only when it has neither a
	 * fraction nor an exponent, which is exactly "JSON integer". */
	if (!node || JSON_NODE_TYPE(node) != JSON_NODE_VALUE ||
	    json_node_get_value_type(node) != G_TYPE_INT64)
		return std::nullopt;
	return json_node_get_int(node);
}

std::optional<bool> boolean(JsonNode *node)
{
	if (!node || JSON_NODE_TYPE(node) != JSON_NODE_VALUE ||
	    json_node_get_value_type(node) != G_TYPE_BOOLEAN)
		return std::nullopt;
	return json_node_get_boolean(node) != FALSE;
}

JsonObject *object(JsonNode *node)
{
	if (!node || JSON_NODE_TYPE(node) != JSON_NODE_OBJECT)
		return nullptr;
	return json_node_get_object(node);
}

JsonArray *array(JsonNode *node)
{
	if (!node || JSON_NODE_TYPE(node) != JSON_NODE_ARRAY)
		return nullptr;
	return json_node_get_array(node);
}

} // namespace meshcall::protocol::detail
