// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading JSON frames safely with json-glib 1.6. Private to the protocol library,
 * and to the server's token reader (server/auth.cpp), which has the same needs. */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <json-glib/json-glib.h>

namespace meshcall::protocol::detail
{

/* Nesting deeper than any protocol message needs, with room for extensions. */
inline constexpr unsigned kMaxJsonDepth = 64;

/*
 * One parsed frame. json-glib builds the tree, but on its own json-glib 1.6
 * (tested: 1.6.6):
 *  - ends a string at "\u0000", because it stores C strings: "a\u0000b" reads
 *    as "a", and a key "type\u0000x" as "type";
 *  - turns a lone high surrogate ("\ud800x") into ill-formed UTF-8 (ED A0 80);
 *  - wraps integers beyond int64: -99999999999999999999 reads as 1;
 *  - recurses once per nesting level, so a frame of '[' crashes the stack;
 *  - accepts comments, single quotes, leading zeros, raw control characters
 *    in strings, unknown escapes ("\x41" reads as "x41") and data after the
 *    root value.
 * So load() first scans the text as strict RFC 8259 JSON, refusing all of
 * the above, and rewrites what json-glib cannot hold before handing it over:
 * "\u0000" becomes the pair U+FDD0 U+FDD1 and an existing U+FDD0 becomes
 * U+FDD0 U+FDD0 (noncharacters, byte-stuffed so the mapping is reversible;
 * string() undoes it), and an integer out of int64 range gets ".0" appended
 * so it reads as a float and never as an integer. Well-behaved frames are
 * not copied.
 *
 * Duplicate keys: the last one wins, as in json-glib and JavaScript's
 * JSON.parse, so a browser and the server read a frame alike.
 */
class JsonDocument
{
public:
	JsonDocument();
	~JsonDocument();
	JsonDocument(const JsonDocument &) = delete;
	JsonDocument &operator=(const JsonDocument &) = delete;

	/* False with a reason in `error` when `text` is not strict JSON. */
	bool load(std::string_view text, std::string &error);

	/* The root object, or nullptr when the root is another kind of value. */
	JsonObject *root_object() const;

	/* The string held by `node` (which may be nullptr), nullopt for any other
	 * kind of node. Holds U+0000 where the frame had "\u0000". */
	std::optional<std::string> string(JsonNode *node) const;

private:
	JsonParser *parser_;
	bool stuffed_ = false;
};

/* The member `key` of `object`, or nullptr when it is missing or null: the
 * protocol treats null in an optional field as absent. */
JsonNode *member(JsonObject *object, const char *key);

/* A JSON integer literal's value; nullopt for floats (1.0, 1e2) and
 * non-numbers. */
std::optional<std::int64_t> integer(JsonNode *node);
std::optional<bool> boolean(JsonNode *node);
JsonObject *object(JsonNode *node);
JsonArray *array(JsonNode *node);

} // namespace meshcall::protocol::detail
