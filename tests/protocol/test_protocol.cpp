// SPDX-License-Identifier: LGPL-2.1-or-later
/* Tests of the protocol library against docs/protocol.md: validation on
 * both sides of every limit, client frame parsing, serialisers and round
 * trips through json-glib and through our own parsers. */
#include <gtest/gtest.h>

#include <json-glib/json-glib.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "protocol/protocol.h"

using namespace std::string_literals;

namespace meshcall::protocol
{

/* Field-wise equality, only for the tests' assertions. */
bool operator==(const Peer &a, const Peer &b)
{
	return std::tie(a.id, a.name, a.audio, a.video) == std::tie(b.id, b.name, b.audio, b.video);
}
bool operator==(const ChatLine &a, const ChatLine &b)
{
	return std::tie(a.seq, a.from, a.name, a.text, a.ts) ==
	       std::tie(b.seq, b.from, b.name, b.text, b.ts);
}
bool operator==(const IceServer &a, const IceServer &b)
{
	return std::tie(a.urls, a.username, a.credential) ==
	       std::tie(b.urls, b.username, b.credential);
}

} // namespace meshcall::protocol

namespace
{

using namespace meshcall::protocol;

/* Multibyte characters, spelled as UTF-8 bytes. */
const std::string kEAcute = "\xc3\xa9";		      /* U+00E9, 2 bytes */
const std::string kEuro = "\xe2\x82\xac";	      /* U+20AC, 3 bytes */
const std::string kEmoji = "\xf0\x9f\x98\x80";	      /* U+1F600, 4 bytes */
const std::string kNbsp = "\xc2\xa0";		      /* U+00A0, White_Space */
const std::string kIdeographicSpace = "\xe3\x80\x80"; /* U+3000, White_Space */
const std::string kNel = "\xc2\x85";		      /* U+0085, Cc and White_Space */
const std::string kC1 = "\xc2\x9f";		      /* U+009F, Cc */
const std::string kLineSeparator = "\xe2\x80\xa8";    /* U+2028 */
const std::string kParaSeparator = "\xe2\x80\xa9";    /* U+2029 */
const std::string kZeroWidthSpace = "\xe2\x80\x8b";   /* U+200B, not White_Space */
const std::string kNonChar = "\xef\xb7\x90";	      /* U+FDD0 */

const std::string kIdA = "0123456789abcdef";
const std::string kIdB = "fedcba9876543210";

std::string repeat(std::string_view s, std::size_t n)
{
	std::string out;
	out.reserve(s.size() * n);
	for (std::size_t i = 0; i < n; i++)
		out += s;
	return out;
}

/* Every character with the White_Space property. */
std::vector<std::string> white_space_chars()
{
	std::vector<std::string> all = {"\t",		"\n",
					"\v",		"\f",
					"\r",		" ",
					kNel,		kNbsp,
					"\xe1\x9a\x80", kLineSeparator,
					kParaSeparator, "\xe2\x80\xaf",
					"\xe2\x81\x9f", kIdeographicSpace};
	for (char last = '\x80'; last <= '\x8a'; last++) /* U+2000..U+200A */
		all.push_back("\xe2\x80"s + last);
	return all;
}

/* An independent reading of JSON text, for checking what we write. */
struct GlibJson {
	explicit GlibJson(const std::string &text) : parser(json_parser_new())
	{
		g_autoptr(GError) error = nullptr;
		ok = json_parser_load_from_data(parser, text.data(), text.size(), &error);
		if (!ok)
			ADD_FAILURE() << "json-glib refused " << text << ": " << error->message;
		else if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
			ADD_FAILURE() << "not an object: " << text;
	}
	~GlibJson() { g_object_unref(parser); }

	JsonObject *root() const { return json_node_get_object(json_parser_get_root(parser)); }

	std::set<std::string> keys(JsonObject *object = nullptr) const
	{
		std::set<std::string> out;
		GList *members = json_object_get_members(object ? object : root());
		for (GList *l = members; l; l = l->next)
			out.insert(static_cast<const char *>(l->data));
		g_list_free(members);
		return out;
	}

	std::string str(const char *key) const
	{
		return json_object_get_string_member(root(), key);
	}

	JsonParser *parser;
	bool ok = false;
};

/* ---- validation ---- */

TEST(Validation, Room)
{
	const struct {
		std::string room;
		bool valid;
	} cases[] = {
	    {"a", true},
	    {"demo", true},
	    {"Az09_-", true},
	    {repeat("r", 64), true},
	    {repeat("r", 65), false},
	    {"", false},
	    {"a b", false},
	    {"a.b", false},
	    {"a/b", false},
	    {"caf" + kEAcute, false},
	    {"room\0x"s, false},
	    {"room\n", false},
	    {" room", false},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE("room \"" + c.room + "\"");
		EXPECT_EQ(is_valid_room(c.room), c.valid);
	}
}

TEST(Validation, Name)
{
	const struct {
		std::string name;
		std::optional<std::string> stored;
	} cases[] = {
	    {"bob", "bob"},
	    {"Bob the Builder", "Bob the Builder"},
	    {repeat("n", 64), repeat("n", 64)},
	    {repeat("n", 65), std::nullopt},
	    /* Code points, not bytes: 64 four-byte characters are 256 bytes. */
	    {repeat(kEmoji, 64), repeat(kEmoji, 64)},
	    {repeat(kEmoji, 65), std::nullopt},
	    {repeat(kEAcute, 64), repeat(kEAcute, 64)},
	    {repeat(kEAcute, 65), std::nullopt},
	    /* The limit applies after trimming. */
	    {"  " + repeat("n", 64) + "\t ", repeat("n", 64)},
	    {"  bob  ", "bob"},
	    {kIdeographicSpace + "bob" + kNbsp, "bob"},
	    {"\tbob\n", "bob"},
	    {"a b", "a b"},
	    {"a" + kIdeographicSpace + "b", "a" + kIdeographicSpace + "b"},
	    {kZeroWidthSpace + "bob", kZeroWidthSpace + "bob"},
	    /* U+0085 is white space at an end, a control character inside. */
	    {kNel + "bob" + kNel, "bob"},
	    {"bo" + kNel + "b", std::nullopt},
	    {"bo\tb", std::nullopt},
	    {"bo\nb", std::nullopt},
	    {"bob\x7f", std::nullopt},
	    {"bo" + kC1 + "b", std::nullopt},
	    {"\x01"
	     "bob",
	     std::nullopt},
	    {"a\0b"s, std::nullopt},
	    {"bob\0"s, std::nullopt},
	    {"", std::nullopt},
	    {"   ", std::nullopt},
	    {kIdeographicSpace + kNbsp, std::nullopt},
	    {"bob\xff", std::nullopt},
	    {"bo\xc0\x80"
	     "b",
	     std::nullopt},			/* overlong NUL */
	    {"\xed\xa0\x80", std::nullopt},	/* a surrogate */
	    {"b\xe2\x82", std::nullopt},	/* truncated */
	    {"\xf4\x90\x80\x80", std::nullopt}, /* beyond U+10FFFF */
	};
	for (const auto &c : cases) {
		SCOPED_TRACE("name \"" + c.name + "\"");
		EXPECT_EQ(normalise_name(c.name), c.stored);
	}

	for (const std::string &ws : white_space_chars()) {
		SCOPED_TRACE("white space \"" + ws + "\"");
		EXPECT_EQ(normalise_name(ws + "bob" + ws), "bob");
		EXPECT_EQ(normalise_name(ws), std::nullopt);
	}
}

TEST(Validation, ChatText)
{
	const struct {
		std::string text;
		bool valid;
	} cases[] = {
	    {"hello", true},
	    {"x", true},
	    {repeat("x", 2000), true},
	    {repeat("x", 2001), false},
	    {repeat(kEuro, 2000), true},
	    {repeat(kEuro, 2001), false},
	    {repeat(kEmoji, 2000), true},
	    {repeat(kEmoji, 2001), false},
	    /* The limit applies after trimming. */
	    {"  \n" + repeat("x", 2000) + "\t " + kIdeographicSpace, true},
	    {"  " + repeat("x", 2001) + "  ", false},
	    {"a\nb\tc", true},
	    {"line one\nline two\n", true},
	    {"", false},
	    {" ", false},
	    {" \n\t " + kIdeographicSpace + kNbsp, false},
	    {"a\rb", false},
	    {"a\r\n", false},
	    {"a\r", false},
	    {"a\0b"s, false},
	    {"a\x7f", false},
	    {"a" + kC1, false},
	    /* U+0085 is Cc: refused even where trimming would drop it. */
	    {"a" + kNel, false},
	    {"a\x1b[31m", false},
	    {"a\v", false},
	    {"a\xff", false},
	    {"a\xed\xa0\x80", false},
	    {"caf" + kEAcute + " " + kEmoji + kLineSeparator, true},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE("text \"" + c.text.substr(0, 40) + "\" (" +
			     std::to_string(c.text.size()) + " bytes)");
		EXPECT_EQ(is_valid_chat_text(c.text), c.valid);
	}
}

TEST(Validation, PeerId)
{
	const struct {
		std::string id;
		bool valid;
	} cases[] = {
	    {"9f2c4e1a7b3d5e60", true},
	    {"0000000000000000", true},
	    {"9f2c4e1a7b3d5e6", false},
	    {"9f2c4e1a7b3d5e600", false},
	    {"9F2C4E1A7B3D5E60", false},
	    {"9f2c4e1a7b3d5e6g", false},
	    {"", false},
	    {"9f2c4e1a7b3d5e6\0"s, false},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE("id \"" + c.id + "\"");
		EXPECT_EQ(is_valid_peer_id(c.id), c.valid);
	}
}

/* ---- client frames ---- */

struct ClientCase {
	const char *what;
	std::string json;
	std::optional<ClientType> accepted; /* the parsed type, or nullopt when refused */
	std::optional<ClientType> ref;	    /* when refused */
};

std::string offer_with_sdp(const std::string &sdp)
{
	return R"({"type":"offer","to":"0123456789abcdef","sdp":")" + sdp + R"("})";
}

std::string candidate_with(const std::string &fields)
{
	return R"({"type":"candidate","to":"0123456789abcdef","candidate":"candidate:1 1 UDP 1 1.2.3.4 5 typ host")" +
	       fields + "}";
}

std::string chat_with(const std::string &text)
{
	return R"({"type":"chat","text":")" + text + R"("})";
}

std::vector<ClientCase> client_cases()
{
	using T = ClientType;
	const std::nullopt_t no = std::nullopt;
	return {
	    /* Not a message at all: bad-message without ref. */
	    {"empty", "", no, no},
	    {"not JSON", "hello", no, no},
	    {"truncated", R"({"type":"ping")", no, no},
	    {"array", R"([{"type":"ping"}])", no, no},
	    {"string", R"("ping")", no, no},
	    {"number", "42", no, no},
	    {"null", "null", no, no},
	    {"true", "true", no, no},
	    {"missing type", R"({"room":"demo"})", no, no},
	    {"null type", R"({"type":null})", no, no},
	    {"numeric type", R"({"type":1})", no, no},
	    {"object type", R"({"type":{"name":"ping"}})", no, no},
	    {"array type", R"({"type":["ping"]})", no, no},
	    {"unknown type", R"({"type":"hello"})", no, no},
	    {"type is case sensitive", R"({"type":"PING"})", no, no},
	    {"server type", R"({"type":"welcome"})", no, no},
	    {"type with NUL", R"({"type":"ping\u0000"})", no, no},
	    {"type with trailing space", R"({"type":"ping "})", no, no},
	    /* json-glib is lenient where JSON is not; we are not. */
	    {"trailing data", R"({"type":"ping"} {})", no, no},
	    {"trailing garbage", R"({"type":"ping"}x)", no, no},
	    {"comment", R"(/* hi */{"type":"ping"})", no, no},
	    {"single quotes", R"({'type':'ping'})", no, no},
	    {"trailing comma", R"({"type":"ping",})", no, no},
	    {"raw newline in string", "{\"type\":\"chat\",\"text\":\"a\nb\"}", no, no},
	    {"raw tab in string", "{\"type\":\"chat\",\"text\":\"a\tb\"}", no, no},
	    {"unknown escape", R"({"type":"chat","text":"\x41"})", no, no},
	    {"leading zero", R"({"type":"ping","n":01})", no, no},
	    {"bare fraction", R"({"type":"ping","n":.5})", no, no},
	    {"empty fraction", R"({"type":"ping","n":1.})", no, no},
	    {"plus sign", R"({"type":"ping","n":+1})", no, no},
	    {"NaN", R"({"type":"ping","n":NaN})", no, no},
	    {"byte order mark", "\xef\xbb\xbf{\"type\":\"ping\"}", no, no},
	    {"lone high surrogate", R"({"type":"chat","text":"\ud800x"})", no, no},
	    {"lone high surrogate at end", R"({"type":"chat","text":"\ud800"})", no, no},
	    {"lone low surrogate", R"({"type":"chat","text":"\udc00"})", no, no},
	    {"reversed surrogates", R"({"type":"chat","text":"\udc00\ud800"})", no, no},
	    {"bad \\u escape", R"({"type":"chat","text":"\u12"})", no, no},
	    {"invalid UTF-8", "{\"type\":\"chat\",\"text\":\"a\xff\"}", no, no},
	    {"raw NUL byte", "{\"type\":\"ping\"}\0"s, no, no},
	    {"deep nesting",
	     R"({"type":"ping","x":)" + repeat("[", 100000) + repeat("]", 100000) + "}", no, no},

	    /* Unknown extra fields are ignored, whatever they hold. */
	    {"ping", R"({"type":"ping"})", T::Ping, no},
	    {"ping with whitespace", " \r\n\t{ \"type\" : \"ping\" }\n", T::Ping, no},
	    {"ping with extras", R"({"type":"ping","x":[1,{"y":null}],"z":1e400})", T::Ping, no},
	    {"ping with NUL in an extra", R"({"type":"ping","x":"\u0000"})", T::Ping, no},
	    {"ping with a huge integer extra", R"({"type":"ping","x":-99999999999999999999})",
	     T::Ping, no},
	    {"ping with modest nesting",
	     R"({"type":"ping","x":)" + repeat("[", 60) + repeat("]", 60) + "}", T::Ping, no},
	    {"leave", R"({"type":"leave","reason":"bye"})", T::Leave, no},
	    {"duplicate type, last wins", R"({"type":"hello","type":"ping"})", T::Ping, no},
	    {"duplicate type, last unknown", R"({"type":"ping","type":"hello"})", no, no},

	    /* join: fields are only captured, never refused here. */
	    {"join", R"({"type":"join","room":"demo","name":"bob"})", T::Join, no},
	    {"join empty", R"({"type":"join"})", T::Join, no},
	    {"join ill-typed", R"({"type":"join","room":1,"name":[],"token":false})", T::Join, no},
	    /* (1.1) A resume is never an error, whatever it holds. */
	    {"join resume", R"({"type":"join","room":"demo","name":"bob","resume":"r"})", T::Join,
	     no},
	    {"join resume ill-typed",
	     R"({"type":"join","room":"demo","name":"bob","resume":{"id":"x"}})", T::Join, no},
	    {"join resume over 512 bytes",
	     R"({"type":"join","room":"demo","name":"bob","resume":")" + repeat("r", 4096) + "\"}",
	     T::Join, no},

	    /* (1.1) reconnect: addressed like offer */
	    {"reconnect", R"({"type":"reconnect","to":"0123456789abcdef"})", T::Reconnect, no},
	    {"reconnect with extras",
	     R"({"type":"reconnect","to":"0123456789abcdef","from":"evil","sdp":"v=0"})",
	     T::Reconnect, no},
	    {"reconnect to missing", R"({"type":"reconnect"})", no, T::Reconnect},
	    {"reconnect to null", R"({"type":"reconnect","to":null})", no, T::Reconnect},
	    {"reconnect to number", R"({"type":"reconnect","to":12})", no, T::Reconnect},
	    {"reconnect to array", R"({"type":"reconnect","to":["0123456789abcdef"]})", no,
	     T::Reconnect},

	    /* offer / answer */
	    {"offer", offer_with_sdp("v=0\\r\\n"), T::Offer, no},
	    {"offer sdp 1 byte", offer_with_sdp("v"), T::Offer, no},
	    {"offer sdp 60000 bytes", offer_with_sdp(repeat("v", 60000)), T::Offer, no},
	    {"offer sdp 60001 bytes", offer_with_sdp(repeat("v", 60001)), no, T::Offer},
	    {"offer sdp 60000 bytes of euro", offer_with_sdp(repeat(kEuro, 20000)), T::Offer, no},
	    {"offer sdp 60001 bytes of euro", offer_with_sdp(repeat(kEuro, 20000) + "v"), no,
	     T::Offer},
	    /* The limit counts decoded bytes: 10000 "\r\n" escapes are 20000 bytes. */
	    {"offer sdp escapes count decoded",
	     offer_with_sdp(repeat("\\r\\n", 10000) + repeat("v", 40000)), T::Offer, no},
	    {"offer sdp empty", offer_with_sdp(""), no, T::Offer},
	    {"offer sdp missing", R"({"type":"offer","to":"0123456789abcdef"})", no, T::Offer},
	    {"offer sdp null", R"({"type":"offer","to":"0123456789abcdef","sdp":null})", no,
	     T::Offer},
	    {"offer sdp number", R"({"type":"offer","to":"0123456789abcdef","sdp":5})", no,
	     T::Offer},
	    {"offer sdp object",
	     R"({"type":"offer","to":"0123456789abcdef","sdp":{"type":"offer","sdp":"v=0"}})", no,
	     T::Offer},
	    {"offer to missing", R"({"type":"offer","sdp":"v=0"})", no, T::Offer},
	    {"offer to number", R"({"type":"offer","to":12,"sdp":"v=0"})", no, T::Offer},
	    {"answer", R"({"type":"answer","to":"0123456789abcdef","sdp":"v=0"})", T::Answer, no},
	    {"answer sdp 60001 bytes",
	     R"({"type":"answer","to":"0123456789abcdef","sdp":")" + repeat("v", 60001) + "\"}", no,
	     T::Answer},
	    {"answer sdp empty", R"({"type":"answer","to":"0123456789abcdef","sdp":""})", no,
	     T::Answer},
	    {"answer to missing", R"({"type":"answer","sdp":"v=0"})", no, T::Answer},

	    /* candidate */
	    {"candidate", candidate_with(R"(,"sdpMLineIndex":0,"sdpMid":"0")"), T::Candidate, no},
	    {"candidate index 1", candidate_with(R"(,"sdpMLineIndex":1)"), T::Candidate, no},
	    {"candidate index int64 max", candidate_with(R"(,"sdpMLineIndex":9223372036854775807)"),
	     T::Candidate, no},
	    {"candidate index -0", candidate_with(R"(,"sdpMLineIndex":-0)"), T::Candidate, no},
	    {"candidate index -1", candidate_with(R"(,"sdpMLineIndex":-1)"), no, T::Candidate},
	    {"candidate index 1.5", candidate_with(R"(,"sdpMLineIndex":1.5)"), no, T::Candidate},
	    {"candidate index 1.0", candidate_with(R"(,"sdpMLineIndex":1.0)"), no, T::Candidate},
	    {"candidate index 1e2", candidate_with(R"(,"sdpMLineIndex":1e2)"), no, T::Candidate},
	    {"candidate index \"0\"", candidate_with(R"(,"sdpMLineIndex":"0")"), no, T::Candidate},
	    {"candidate index true", candidate_with(R"(,"sdpMLineIndex":true)"), no, T::Candidate},
	    {"candidate index null", candidate_with(R"(,"sdpMLineIndex":null)"), no, T::Candidate},
	    {"candidate index missing", candidate_with(""), no, T::Candidate},
	    /* json-glib alone would read these as -1 and 1. */
	    {"candidate index 2^64+1", candidate_with(R"(,"sdpMLineIndex":18446744073709551617)"),
	     no, T::Candidate},
	    {"candidate index -1e20 as integer",
	     candidate_with(R"(,"sdpMLineIndex":-99999999999999999999)"), no, T::Candidate},
	    {"candidate index int64 max + 1",
	     candidate_with(R"(,"sdpMLineIndex":9223372036854775808)"), no, T::Candidate},
	    {"candidate sdpMid null", candidate_with(R"(,"sdpMLineIndex":0,"sdpMid":null)"),
	     T::Candidate, no},
	    {"candidate sdpMid number", candidate_with(R"(,"sdpMLineIndex":0,"sdpMid":0)"), no,
	     T::Candidate},
	    {"candidate sdpMid bool", candidate_with(R"(,"sdpMLineIndex":0,"sdpMid":false)"), no,
	     T::Candidate},
	    {"end of candidates",
	     R"({"type":"candidate","to":"0123456789abcdef","candidate":"","sdpMLineIndex":0})",
	     T::Candidate, no},
	    {"candidate missing candidate",
	     R"({"type":"candidate","to":"0123456789abcdef","sdpMLineIndex":0})", no, T::Candidate},
	    {"candidate candidate null",
	     R"({"type":"candidate","to":"0123456789abcdef","candidate":null,"sdpMLineIndex":0})",
	     no, T::Candidate},
	    {"candidate missing to", R"({"type":"candidate","candidate":"","sdpMLineIndex":0})", no,
	     T::Candidate},

	    /* chat */
	    {"chat", chat_with("hello"), T::Chat, no},
	    {"chat 2000", chat_with(repeat("x", 2000)), T::Chat, no},
	    {"chat 2001", chat_with(repeat("x", 2001)), no, T::Chat},
	    {"chat 2000 emoji", chat_with(repeat(kEmoji, 2000)), T::Chat, no},
	    {"chat 2001 emoji", chat_with(repeat(kEmoji, 2001)), no, T::Chat},
	    {"chat 2000 escaped", chat_with(repeat("\\u00e9", 2000)), T::Chat, no},
	    {"chat 2001 escaped", chat_with(repeat("\\u00e9", 2001)), no, T::Chat},
	    {"chat 2000 surrogate pairs", chat_with(repeat("\\ud83d\\ude00", 2000)), T::Chat, no},
	    {"chat 2000 plus white space", chat_with("  " + repeat("x", 2000) + "\\n\\u3000"),
	     T::Chat, no},
	    {"chat newline and tab", chat_with("a\\nb\\tc"), T::Chat, no},
	    {"chat carriage return", chat_with("a\\rb"), no, T::Chat},
	    {"chat NUL", chat_with("a\\u0000b"), no, T::Chat},
	    {"chat trailing NUL", chat_with("hello\\u0000"), no, T::Chat},
	    {"chat DEL", chat_with("a\\u007f"), no, T::Chat},
	    {"chat C1", chat_with("a\\u0085b"), no, T::Chat},
	    {"chat escape", chat_with("a\\u001b"), no, T::Chat},
	    {"chat empty", chat_with(""), no, T::Chat},
	    {"chat white space only", chat_with(" \\n\\t\\u3000\\u00a0 "), no, T::Chat},
	    {"chat text missing", R"({"type":"chat"})", no, T::Chat},
	    {"chat text null", R"({"type":"chat","text":null})", no, T::Chat},
	    {"chat text number", R"({"type":"chat","text":5})", no, T::Chat},
	    {"chat text array", R"({"type":"chat","text":["hi"]})", no, T::Chat},
	    /* A NUL in a key makes another key, not a second "text". */
	    {"chat key with NUL", R"({"type":"chat","text\u0000":"hi"})", no, T::Chat},

	    /* media */
	    {"media", R"({"type":"media","audio":true,"video":false})", T::Media, no},
	    {"media audio missing", R"({"type":"media","video":false})", no, T::Media},
	    {"media video missing", R"({"type":"media","audio":false})", no, T::Media},
	    {"media audio number", R"({"type":"media","audio":1,"video":false})", no, T::Media},
	    {"media video string", R"({"type":"media","audio":true,"video":"false"})", no,
	     T::Media},
	    {"media audio null", R"({"type":"media","audio":null,"video":false})", no, T::Media},
	};
}

TEST(ParseClient, Table)
{
	for (const ClientCase &c : client_cases()) {
		SCOPED_TRACE(c.what);
		const ClientParse result = parse_client_message(c.json);
		if (c.accepted) {
			ASSERT_TRUE(result.ok()) << result.error.message;
			EXPECT_EQ(type_of(*result.message), *c.accepted);
		} else {
			ASSERT_FALSE(result.ok());
			EXPECT_EQ(result.error.code, ErrorCode::BadMessage);
			EXPECT_EQ(result.error.ref, c.ref);
			EXPECT_FALSE(result.error.message.empty());
		}
	}
}

TEST(ParseClient, JoinCapturesFieldsUnvalidated)
{
	const struct {
		const char *what;
		std::string json;
		StringField room, name, token, resume;
	} cases[] = {
	    {"all strings",
	     R"({"type":"join","room":"demo","name":"  bob ","token":"t.k.n","resume":"r.s"})",
	     {"demo", true},
	     {"  bob ", true},
	     {"t.k.n", true},
	     {"r.s", true}},
	    {"absent", R"({"type":"join"})", {}, {}, {}, {}},
	    {"null means absent",
	     R"({"type":"join","room":null,"name":null,"token":null,"resume":null})",
	     {},
	     {},
	     {},
	     {}},
	    {"wrong types",
	     R"({"type":"join","room":5,"name":{},"token":false,"resume":[]})",
	     {std::nullopt, true},
	     {std::nullopt, true},
	     {std::nullopt, true},
	     {std::nullopt, true}},
	    {"invalid values kept",
	     R"({"type":"join","room":"no room!","name":"","resume":""})",
	     {"no room!", true},
	     {"", true},
	     {},
	     {"", true}},
	    {"NUL kept",
	     R"({"type":"join","room":"a\u0000","name":"b\u0000ob","resume":"r\u0000"})",
	     {"a\0"s, true},
	     {"b\0ob"s, true},
	     {},
	     {"r\0"s, true}},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		const ClientParse result = parse_client_message(c.json);
		ASSERT_TRUE(result.ok());
		const Join &join = std::get<Join>(*result.message);
		EXPECT_EQ(join.room.value, c.room.value);
		EXPECT_EQ(join.room.present, c.room.present);
		EXPECT_EQ(join.name.value, c.name.value);
		EXPECT_EQ(join.name.present, c.name.present);
		EXPECT_EQ(join.token.value, c.token.value);
		EXPECT_EQ(join.token.present, c.token.present);
		EXPECT_EQ(join.resume.value, c.resume.value);
		EXPECT_EQ(join.resume.present, c.resume.present);
	}
}

TEST(ParseClient, NulNeverShortensAString)
{
	/* json-glib alone reads "b\u0000ob" as "b": the name must not validate. */
	ClientParse result =
	    parse_client_message(R"({"type":"join","room":"demo","name":"b\u0000ob"})");
	ASSERT_TRUE(result.ok());
	const Join &join = std::get<Join>(*result.message);
	EXPECT_EQ(*join.name.value, "b\0ob"s);
	EXPECT_FALSE(is_valid_room(*join.room.value + "\0"s));
	EXPECT_EQ(normalise_name(*join.name.value), std::nullopt);

	result = parse_client_message(R"({"type":"join","room":"demo","name":"bob\u0000"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(normalise_name(*std::get<Join>(*result.message).name.value), std::nullopt);

	/* The key "text\u0000x" is not "text": the real one still counts. */
	result = parse_client_message(R"({"type":"chat","text":"ok","text\u0000x":"\u0000"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Chat>(*result.message).text, "ok");
	result = parse_client_message(R"({"type":"chat","text\u0000x":"\u0000","text":"ok"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Chat>(*result.message).text, "ok");

	/* Relayed fields keep every character, including U+FDD0/U+FDD1 (used
	 * internally to carry NULs through json-glib) written raw or escaped. */
	const std::string sdp_json =
	    R"({"type":"offer","to":"0123456789abcdef","sdp":"x\u0000\ufdd0\ufdd1)" + kNonChar +
	    R"(\u0000y\uFDD0\u0000"})";
	result = parse_client_message(sdp_json);
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Offer>(*result.message).sdp,
		  "x\0"s + kNonChar + "\xef\xb7\x91" + kNonChar + "\0y"s + kNonChar + "\0"s);

	result = parse_client_message(R"({"type":"offer","to":"0123456789abcdef","sdp":"\ufdd0"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Offer>(*result.message).sdp, kNonChar);
}

TEST(ParseClient, Values)
{
	ClientParse result = parse_client_message(
	    R"({"type":"offer","to":"0123456789abcdef","sdp":"v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n","from":"evil"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Offer>(*result.message).to, kIdA);
	EXPECT_EQ(std::get<Offer>(*result.message).sdp, "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n");

	result = parse_client_message(R"({"type":"answer","to":"x","sdp":"v=1"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Answer>(*result.message).to, "x");
	EXPECT_EQ(std::get<Answer>(*result.message).sdp, "v=1");

	result = parse_client_message(
	    R"({"type":"candidate","to":"fedcba9876543210","candidate":"candidate:1","sdpMLineIndex":3,"sdpMid":"video"})");
	ASSERT_TRUE(result.ok());
	Candidate c = std::get<Candidate>(*result.message);
	EXPECT_EQ(c.to, kIdB);
	EXPECT_EQ(c.candidate, "candidate:1");
	EXPECT_EQ(c.sdp_mline_index, 3);
	EXPECT_EQ(c.sdp_mid, "video");

	result = parse_client_message(
	    R"({"type":"candidate","to":"fedcba9876543210","candidate":"","sdpMLineIndex":0,"sdpMid":null})");
	ASSERT_TRUE(result.ok());
	c = std::get<Candidate>(*result.message);
	EXPECT_EQ(c.candidate, "");
	EXPECT_EQ(c.sdp_mline_index, 0);
	EXPECT_EQ(c.sdp_mid, std::nullopt);

	/* Chat text is kept exactly, untrimmed. */
	result = parse_client_message(R"({"type":"chat","text":"  hi\tthere\n\u3000"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Chat>(*result.message).text, "  hi\tthere\n" + kIdeographicSpace);

	for (const bool audio : {false, true}) {
		for (const bool video : {false, true}) {
			result = parse_client_message(media_json(audio, video));
			ASSERT_TRUE(result.ok());
			EXPECT_EQ(std::get<Media>(*result.message).audio, audio);
			EXPECT_EQ(std::get<Media>(*result.message).video, video);
		}
	}

	/* Duplicate keys: the last wins, as with JSON.parse. */
	result = parse_client_message(R"({"type":"chat","text":"first","text":"second"})");
	ASSERT_TRUE(result.ok());
	EXPECT_EQ(std::get<Chat>(*result.message).text, "second");
}

/* ---- enumerations ---- */

TEST(Enums, ErrorCodes)
{
	const std::pair<ErrorCode, std::string_view> all[] = {
	    {ErrorCode::BadMessage, "bad-message"},	  {ErrorCode::NotJoined, "not-joined"},
	    {ErrorCode::AlreadyJoined, "already-joined"}, {ErrorCode::InvalidRoom, "invalid-room"},
	    {ErrorCode::InvalidName, "invalid-name"},	  {ErrorCode::RoomFull, "room-full"},
	    {ErrorCode::Unauthorized, "unauthorized"},	  {ErrorCode::UnknownPeer, "unknown-peer"},
	    {ErrorCode::RateLimited, "rate-limited"},	  {ErrorCode::TooLarge, "too-large"},
	};
	for (const auto &[code, text] : all) {
		SCOPED_TRACE(std::string(text));
		EXPECT_EQ(to_string(code), text);
		EXPECT_EQ(error_code_from_string(text), code);
	}
	EXPECT_EQ(error_code_from_string("Bad-Message"), std::nullopt);
	EXPECT_EQ(error_code_from_string(""), std::nullopt);
}

TEST(Enums, ClientTypes)
{
	const std::pair<ClientType, std::string_view> all[] = {
	    {ClientType::Join, "join"},		  {ClientType::Offer, "offer"},
	    {ClientType::Answer, "answer"},	  {ClientType::Candidate, "candidate"},
	    {ClientType::Chat, "chat"},		  {ClientType::Media, "media"},
	    {ClientType::Ping, "ping"},		  {ClientType::Leave, "leave"},
	    {ClientType::Reconnect, "reconnect"},
	};
	for (const auto &[type, text] : all) {
		SCOPED_TRACE(std::string(text));
		EXPECT_EQ(to_string(type), text);
		EXPECT_EQ(client_type_from_string(text), type);
	}
	EXPECT_EQ(client_type_from_string("pong"), std::nullopt);

	EXPECT_EQ(type_of(Join{}), ClientType::Join);
	EXPECT_EQ(type_of(Offer{}), ClientType::Offer);
	EXPECT_EQ(type_of(Answer{}), ClientType::Answer);
	EXPECT_EQ(type_of(Candidate{}), ClientType::Candidate);
	EXPECT_EQ(type_of(Chat{}), ClientType::Chat);
	EXPECT_EQ(type_of(Media{}), ClientType::Media);
	EXPECT_EQ(type_of(Ping{}), ClientType::Ping);
	EXPECT_EQ(type_of(Leave{}), ClientType::Leave);
	EXPECT_EQ(type_of(Reconnect{}), ClientType::Reconnect);
}

/* ---- serialisation ---- */

TEST(JsonString, Escapes)
{
	const struct {
		std::string in;
		std::string out;
	} cases[] = {
	    {"", R"("")"},
	    {"plain", R"("plain")"},
	    {"say \"hi\"", R"("say \"hi\"")"},
	    {"back\\slash", R"("back\\slash")"},
	    {"/", R"("/")"},
	    {"\n\t\r\b\f", R"("\n\t\r\b\f")"},
	    {"\0"s, R"("\u0000")"},
	    {"\x01\x1f", R"("\u0001\u001f")"},
	    {"\x0b", R"("\u000b")"},
	    {"\x7f", R"("\u007f")"},
	    {kLineSeparator + kParaSeparator, R"("\u2028\u2029")"},
	    {kEAcute + kEmoji + kC1, "\"" + kEAcute + kEmoji + kC1 + "\""},
	    /* Ill-formed UTF-8 never reaches the wire. */
	    {"a\xff"
	     "b",
	     R"("a\ufffdb")"},
	    {"\xc0\x80", R"("\ufffd\ufffd")"},
	    {"\xed\xa0\x80", R"("\ufffd\ufffd\ufffd")"},
	    {"\xe2\x82", R"("\ufffd\ufffd")"},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE("input \"" + c.in + "\"");
		std::string out = "prefix:";
		append_json_string(out, c.in);
		EXPECT_EQ(out, "prefix:" + c.out);
	}

	/* Every C0 character escapes to something json-glib reads back. */
	for (int ch = 1; ch < 0x20; ch++) {
		SCOPED_TRACE("character " + std::to_string(ch));
		const std::string s = "a"s + static_cast<char>(ch) + "b";
		const std::string json = chat_json(s);
		EXPECT_TRUE(std::all_of(json.begin(), json.end(), [](char c) {
			return static_cast<unsigned char>(c) >= 0x20;
		}));
		GlibJson doc(json);
		EXPECT_EQ(doc.str("text"), s);
	}
}

TEST(Serialise, ClientMessagesExact)
{
	Candidate c{kIdA, "candidate:1 1 UDP 2122260223 10.0.0.1 5000 typ host", 1, "1"};
	Candidate end{kIdB, "", 0, std::nullopt};
	const std::pair<std::string, std::string> cases[] = {
	    {join_json("demo", "bob"), R"({"type":"join","room":"demo","name":"bob"})"},
	    {join_json("demo", "bob", "t"),
	     R"({"type":"join","room":"demo","name":"bob","token":"t"})"},
	    {join_json("demo", "bob", ""),
	     R"({"type":"join","room":"demo","name":"bob","token":""})"},
	    {join_json("demo", "bob", std::nullopt, "r.s"),
	     R"({"type":"join","room":"demo","name":"bob","resume":"r.s"})"},
	    {join_json("demo", "bob", "t", "r.s"),
	     R"({"type":"join","room":"demo","name":"bob","token":"t","resume":"r.s"})"},
	    {reconnect_json(kIdB), R"({"type":"reconnect","to":"fedcba9876543210"})"},
	    {offer_json(kIdA, "v=0\r\n"),
	     R"({"type":"offer","to":"0123456789abcdef","sdp":"v=0\r\n"})"},
	    {answer_json(kIdB, "v=0"), R"({"type":"answer","to":"fedcba9876543210","sdp":"v=0"})"},
	    {candidate_json(c),
	     R"({"type":"candidate","to":"0123456789abcdef","candidate":"candidate:1 1 UDP 2122260223 10.0.0.1 5000 typ host","sdpMLineIndex":1,"sdpMid":"1"})"},
	    {candidate_json(end),
	     R"({"type":"candidate","to":"fedcba9876543210","candidate":"","sdpMLineIndex":0})"},
	    {chat_json("hi \"you\""), R"({"type":"chat","text":"hi \"you\""})"},
	    {media_json(true, false), R"({"type":"media","audio":true,"video":false})"},
	    {media_json(false, true), R"({"type":"media","audio":false,"video":true})"},
	    {ping_json(), R"({"type":"ping"})"},
	    {leave_json(), R"({"type":"leave"})"},
	};
	for (const auto &[got, want] : cases) {
		SCOPED_TRACE(want);
		EXPECT_EQ(got, want);
	}
}

Welcome sample_welcome()
{
	Welcome w;
	w.id = kIdA;
	w.name = "pi-cam";
	w.room = "demo";
	w.capacity = 3;
	w.peers = {{kIdB, "laptop", true, false},
		   {"00000000000000ff", "caf" + kEAcute, false, true}};
	w.history = {
	    {1, kIdB, "laptop", "hello", 1764000000000},
	    {2, kIdA, "pi-cam", "a \"quote\"\n\\" + kEmoji + kLineSeparator, 1764000000001}};
	w.ice_servers = {
	    {{"stun:stun.example.org:3478"}, std::nullopt, std::nullopt},
	    {{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
	     "1764086400:0123456789abcdef",
	     "c2VjcmV0"}};
	w.resume = "bWVzaGNhbGw-_resume";
	return w;
}

TEST(Serialise, ServerMessagesExact)
{
	Welcome empty;
	empty.id = kIdA;
	empty.name = "pi-cam";
	empty.room = "demo";
	const ChatLine line{7, kIdB, "laptop", "hello", 1764000000000};
	const Candidate c{"ignored", "candidate:1", 2, "audio"};
	const Candidate end{"ignored", "", 0, std::nullopt};
	Welcome resumable = empty;
	resumable.resume = "AQID-_w";

	const std::pair<std::string, std::string> cases[] = {
	    {welcome_json(empty),
	     R"({"type":"welcome","id":"0123456789abcdef","name":"pi-cam","room":"demo","capacity":3,"peers":[],"history":[],"iceServers":[]})"},
	    {welcome_json(resumable),
	     R"({"type":"welcome","id":"0123456789abcdef","name":"pi-cam","room":"demo","capacity":3,"peers":[],"history":[],"iceServers":[],"resume":"AQID-_w"})"},
	    {welcome_json(sample_welcome()),
	     R"({"type":"welcome","id":"0123456789abcdef","name":"pi-cam","room":"demo","capacity":3,)"
	     R"("peers":[{"id":"fedcba9876543210","name":"laptop","audio":true,"video":false},{"id":"00000000000000ff","name":"caf)" +
		 kEAcute +
		 R"(","audio":false,"video":true}],)"
		 R"("history":[{"type":"chat","seq":1,"from":"fedcba9876543210","name":"laptop","text":"hello","ts":1764000000000},)"
		 R"({"type":"chat","seq":2,"from":"0123456789abcdef","name":"pi-cam","text":"a \"quote\"\n\\)" +
		 kEmoji +
		 R"(\u2028","ts":1764000000001}],)"
		 R"("iceServers":[{"urls":["stun:stun.example.org:3478"]},)"
		 R"({"urls":["turn:turn.example.org:3478?transport=udp","turns:turn.example.org:5349"],"username":"1764086400:0123456789abcdef","credential":"c2VjcmV0"}],)"
		 R"("resume":"bWVzaGNhbGw-_resume"})"},
	    {peer_joined_json({kIdB, "laptop", true, true}),
	     R"({"type":"peer-joined","peer":{"id":"fedcba9876543210","name":"laptop","audio":true,"video":true}})"},
	    {peer_left_json(kIdB), R"({"type":"peer-left","id":"fedcba9876543210"})"},
	    {peer_media_json(kIdB, false, true),
	     R"({"type":"peer-media","id":"fedcba9876543210","audio":false,"video":true})"},
	    {relayed_offer_json(kIdB, "v=0\r\n"),
	     R"({"type":"offer","from":"fedcba9876543210","sdp":"v=0\r\n"})"},
	    {relayed_answer_json(kIdB, "v=0"),
	     R"({"type":"answer","from":"fedcba9876543210","sdp":"v=0"})"},
	    {relayed_candidate_json(kIdB, c),
	     R"({"type":"candidate","from":"fedcba9876543210","candidate":"candidate:1","sdpMLineIndex":2,"sdpMid":"audio"})"},
	    {relayed_candidate_json(kIdB, end),
	     R"({"type":"candidate","from":"fedcba9876543210","candidate":"","sdpMLineIndex":0})"},
	    {relayed_reconnect_json(kIdB), R"({"type":"reconnect","from":"fedcba9876543210"})"},
	    {chat_line_json(line),
	     R"({"type":"chat","seq":7,"from":"fedcba9876543210","name":"laptop","text":"hello","ts":1764000000000})"},
	    {pong_json(), R"({"type":"pong"})"},
	    {error_json(ErrorCode::UnknownPeer, "no such peer", ClientType::Offer),
	     R"({"type":"error","code":"unknown-peer","message":"no such peer","ref":"offer"})"},
	    {error_json(ErrorCode::BadMessage, "not JSON"),
	     R"({"type":"error","code":"bad-message","message":"not JSON"})"},
	    {error_json(ErrorCode::TooLarge, "\"big\"\n"),
	     R"({"type":"error","code":"too-large","message":"\"big\"\n"})"},
	};
	for (const auto &[got, want] : cases) {
		SCOPED_TRACE(want);
		EXPECT_EQ(got, want);
	}
}

/* Strings that exercise escaping; no NUL, since json-glib cannot hold one. */
std::vector<std::string> awkward_strings()
{
	std::string c0;
	for (int ch = 1; ch < 0x20; ch++)
		c0 += static_cast<char>(ch);
	return {
	    "plain",
	    "say \"hi\" \\ back\\\\slash \\\"",
	    c0 + "\x7f",
	    "emoji " + kEmoji + " caf" + kEAcute + " " + kEuro,
	    kLineSeparator + "js" + kParaSeparator,
	    kC1 + kNel + kNonChar,
	    "</script><script>alert(1)</script>",
	    "",
	};
}

TEST(RoundTrip, ClientMessagesThroughJsonGlib)
{
	for (const std::string &s : awkward_strings()) {
		SCOPED_TRACE("string \"" + s + "\"");

		GlibJson join(join_json(s, s, s, s));
		EXPECT_EQ(join.str("type"), "join");
		EXPECT_EQ(join.str("room"), s);
		EXPECT_EQ(join.str("name"), s);
		EXPECT_EQ(join.str("token"), s);
		EXPECT_EQ(join.str("resume"), s);

		GlibJson reconnect(reconnect_json(s));
		EXPECT_EQ(reconnect.keys(), (std::set<std::string>{"type", "to"}));
		EXPECT_EQ(reconnect.str("to"), s);

		GlibJson offer(offer_json(s, s));
		EXPECT_EQ(offer.keys(), (std::set<std::string>{"type", "to", "sdp"}));
		EXPECT_EQ(offer.str("sdp"), s);

		GlibJson cand(candidate_json(Candidate{s, s, 5, s}));
		EXPECT_EQ(cand.str("candidate"), s);
		EXPECT_EQ(cand.str("sdpMid"), s);
		EXPECT_EQ(json_object_get_int_member(cand.root(), "sdpMLineIndex"), 5);

		GlibJson chat(chat_json(s));
		EXPECT_EQ(chat.str("text"), s);
	}
	GlibJson no_token(join_json("demo", "bob"));
	EXPECT_EQ(no_token.keys(), (std::set<std::string>{"type", "room", "name"}));
}

TEST(RoundTrip, ClientMessagesThroughOurParser)
{
	for (std::string s : awkward_strings()) {
		s += "\0nul"s; /* our parser, unlike bare json-glib, keeps NULs */
		SCOPED_TRACE("string \"" + s + "\"");

		ClientParse r = parse_client_message(join_json(s, s, s, s));
		ASSERT_TRUE(r.ok());
		const Join &join = std::get<Join>(*r.message);
		EXPECT_EQ(join.room.value, s);
		EXPECT_EQ(join.name.value, s);
		EXPECT_EQ(join.token.value, s);
		EXPECT_EQ(join.resume.value, s);

		r = parse_client_message(reconnect_json(s));
		ASSERT_TRUE(r.ok());
		EXPECT_EQ(std::get<Reconnect>(*r.message).to, s);

		r = parse_client_message(offer_json(s, s));
		ASSERT_TRUE(r.ok());
		EXPECT_EQ(std::get<Offer>(*r.message).to, s);
		EXPECT_EQ(std::get<Offer>(*r.message).sdp, s);

		r = parse_client_message(answer_json(s, s));
		ASSERT_TRUE(r.ok());
		EXPECT_EQ(std::get<Answer>(*r.message).sdp, s);

		r = parse_client_message(candidate_json(Candidate{s, s, 9, s}));
		ASSERT_TRUE(r.ok());
		const Candidate &c = std::get<Candidate>(*r.message);
		EXPECT_EQ(c.to, s);
		EXPECT_EQ(c.candidate, s);
		EXPECT_EQ(c.sdp_mline_index, 9);
		EXPECT_EQ(c.sdp_mid, s);
	}

	const std::string text = "caf" + kEAcute + " \"x\" \\ " + kEmoji + kLineSeparator + "\n\t";
	ClientParse r = parse_client_message(chat_json(text));
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(std::get<Chat>(*r.message).text, text);

	r = parse_client_message(join_json("demo", "bob"));
	ASSERT_TRUE(r.ok());
	EXPECT_FALSE(std::get<Join>(*r.message).token.present);
	EXPECT_FALSE(std::get<Join>(*r.message).resume.present);
	EXPECT_TRUE(parse_client_message(ping_json()).ok());
	EXPECT_TRUE(parse_client_message(leave_json()).ok());
}

TEST(RoundTrip, ServerMessagesThroughJsonGlib)
{
	for (const std::string &s : awkward_strings()) {
		SCOPED_TRACE("string \"" + s + "\"");

		GlibJson line(chat_line_json(ChatLine{1, s, s, s, 2}));
		EXPECT_EQ(line.keys(),
			  (std::set<std::string>{"type", "seq", "from", "name", "text", "ts"}));
		EXPECT_EQ(line.str("text"), s);
		EXPECT_EQ(line.str("name"), s);

		GlibJson err(error_json(ErrorCode::RateLimited, s, ClientType::Chat));
		EXPECT_EQ(err.str("message"), s);
		EXPECT_EQ(err.str("ref"), "chat");

		GlibJson joined(peer_joined_json(Peer{s, s, false, false}));
		JsonObject *peer = json_object_get_object_member(joined.root(), "peer");
		EXPECT_EQ(joined.keys(peer),
			  (std::set<std::string>{"id", "name", "audio", "video"}));
		EXPECT_STREQ(json_object_get_string_member(peer, "name"), s.c_str());
		EXPECT_FALSE(json_object_get_boolean_member(peer, "audio"));
	}

	GlibJson welcome(welcome_json(sample_welcome()));
	EXPECT_EQ(welcome.keys(),
		  (std::set<std::string>{"type", "id", "name", "room", "capacity", "peers",
					 "history", "iceServers", "resume"}));
	JsonArray *ice = json_object_get_array_member(welcome.root(), "iceServers");
	ASSERT_EQ(json_array_get_length(ice), 2u);
	EXPECT_EQ(welcome.keys(json_array_get_object_element(ice, 0)),
		  (std::set<std::string>{"urls"}));
	EXPECT_EQ(welcome.keys(json_array_get_object_element(ice, 1)),
		  (std::set<std::string>{"urls", "username", "credential"}));
}

/* Relayed messages carry type, from and their row's fields, nothing else. */
TEST(RoundTrip, RelayedMessagesCarryOnlyProtocolFields)
{
	ClientParse r = parse_client_message(
	    R"({"type":"offer","to":"0123456789abcdef","sdp":"v=0","from":"evil","extra":{"a":1},"to2":"x"})");
	ASSERT_TRUE(r.ok());
	GlibJson offer(relayed_offer_json(kIdB, std::get<Offer>(*r.message).sdp));
	EXPECT_EQ(offer.keys(), (std::set<std::string>{"type", "from", "sdp"}));
	EXPECT_EQ(offer.str("from"), kIdB);
	EXPECT_EQ(offer.str("sdp"), "v=0");

	r = parse_client_message(
	    R"({"type":"answer","to":"0123456789abcdef","sdp":"v=0","from":"evil","x":1})");
	ASSERT_TRUE(r.ok());
	GlibJson answer(relayed_answer_json(kIdB, std::get<Answer>(*r.message).sdp));
	EXPECT_EQ(answer.keys(), (std::set<std::string>{"type", "from", "sdp"}));
	EXPECT_EQ(answer.str("from"), kIdB);

	r = parse_client_message(
	    R"({"type":"candidate","to":"0123456789abcdef","candidate":"c","sdpMLineIndex":1,"sdpMid":"0","usernameFragment":"u","from":"evil"})");
	ASSERT_TRUE(r.ok());
	GlibJson cand(relayed_candidate_json(kIdB, std::get<Candidate>(*r.message)));
	EXPECT_EQ(cand.keys(),
		  (std::set<std::string>{"type", "from", "candidate", "sdpMLineIndex", "sdpMid"}));
	EXPECT_EQ(cand.str("from"), kIdB);

	r = parse_client_message(
	    R"({"type":"candidate","to":"0123456789abcdef","candidate":"","sdpMLineIndex":0,"sdpMid":null})");
	ASSERT_TRUE(r.ok());
	GlibJson end(relayed_candidate_json(kIdB, std::get<Candidate>(*r.message)));
	EXPECT_EQ(end.keys(),
		  (std::set<std::string>{"type", "from", "candidate", "sdpMLineIndex"}));

	r = parse_client_message(
	    R"({"type":"reconnect","to":"0123456789abcdef","from":"evil","sdp":"v=0"})");
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(std::get<Reconnect>(*r.message).to, kIdA);
	GlibJson reconnect(relayed_reconnect_json(kIdB));
	EXPECT_EQ(reconnect.keys(), (std::set<std::string>{"type", "from"}));
	EXPECT_EQ(reconnect.str("from"), kIdB);
}

/* ---- server frames ---- */

TEST(ParseServer, RoundTripsEveryMessage)
{
	std::string error;

	const Welcome w = sample_welcome();
	std::optional<ServerMessage> m = parse_server_message(welcome_json(w), &error);
	ASSERT_TRUE(m) << error;
	const Welcome &pw = std::get<Welcome>(*m);
	EXPECT_EQ(pw.id, w.id);
	EXPECT_EQ(pw.name, w.name);
	EXPECT_EQ(pw.room, w.room);
	EXPECT_EQ(pw.capacity, w.capacity);
	EXPECT_EQ(pw.peers, w.peers);
	EXPECT_EQ(pw.history, w.history);
	EXPECT_EQ(pw.ice_servers, w.ice_servers);
	EXPECT_EQ(pw.resume, w.resume);
	Welcome without_resume = w;
	without_resume.resume.reset();
	m = parse_server_message(welcome_json(without_resume), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<Welcome>(*m).resume, std::nullopt);

	/* A full history of the largest lines stays within the 1 MiB client limit. */
	Welcome full = w;
	full.history.clear();
	for (std::size_t i = 0; i < kHistoryLines; i++)
		full.history.push_back({static_cast<std::int64_t>(i + 1), kIdB, repeat(kEmoji, 64),
					repeat("\"", 2000),
					1764000000000 + static_cast<std::int64_t>(i)});
	const std::string full_json = welcome_json(full);
	EXPECT_LE(full_json.size(), kMaxServerMessageBytes);
	m = parse_server_message(full_json, &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<Welcome>(*m).history, full.history);

	const Peer p{kIdB, "laptop " + kEmoji, false, true};
	m = parse_server_message(peer_joined_json(p), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<PeerJoined>(*m).peer, p);

	m = parse_server_message(peer_left_json(kIdB), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<PeerLeft>(*m).id, kIdB);

	m = parse_server_message(peer_media_json(kIdB, false, true), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<PeerMedia>(*m).id, kIdB);
	EXPECT_FALSE(std::get<PeerMedia>(*m).audio);
	EXPECT_TRUE(std::get<PeerMedia>(*m).video);

	const std::string sdp = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=\"" + kEmoji + "\"\r\n";
	m = parse_server_message(relayed_offer_json(kIdB, sdp), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<RelayedOffer>(*m).from, kIdB);
	EXPECT_EQ(std::get<RelayedOffer>(*m).sdp, sdp);

	m = parse_server_message(relayed_answer_json(kIdA, sdp), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<RelayedAnswer>(*m).from, kIdA);
	EXPECT_EQ(std::get<RelayedAnswer>(*m).sdp, sdp);

	for (const std::optional<std::string> &mid :
	     {std::optional<std::string>("0"), std::optional<std::string>()}) {
		SCOPED_TRACE(mid ? "with sdpMid" : "without sdpMid");
		m = parse_server_message(
		    relayed_candidate_json(kIdB, Candidate{kIdA, "candidate:x", 4, mid}), &error);
		ASSERT_TRUE(m) << error;
		const RelayedCandidate &c = std::get<RelayedCandidate>(*m);
		EXPECT_EQ(c.from, kIdB);
		EXPECT_EQ(c.candidate, "candidate:x");
		EXPECT_EQ(c.sdp_mline_index, 4);
		EXPECT_EQ(c.sdp_mid, mid);
	}

	const ChatLine line{42, kIdB, "laptop", "a\0b \"c\"\n"s + kLineSeparator, 1764000000123};
	m = parse_server_message(chat_line_json(line), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<ChatLine>(*m), line);

	m = parse_server_message(relayed_reconnect_json(kIdA), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<RelayedReconnect>(*m).from, kIdA);

	m = parse_server_message(pong_json(), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_TRUE(std::holds_alternative<Pong>(*m));

	m = parse_server_message(error_json(ErrorCode::InvalidName, "bad name", ClientType::Join),
				 &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<Error>(*m).code, "invalid-name");
	EXPECT_EQ(std::get<Error>(*m).message, "bad name");
	EXPECT_EQ(std::get<Error>(*m).ref, "join");

	m = parse_server_message(error_json(ErrorCode::TooLarge, "too large"), &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<Error>(*m).code, "too-large");
	EXPECT_EQ(std::get<Error>(*m).ref, std::nullopt);
}

TEST(ParseServer, LenientWhereTheProtocolAllows)
{
	std::string error;
	/* Extras ignored; a peer's audio/video default to true; a single
	 * "urls" string as RTCIceServer allows; null optionals are absent;
	 * error codes this client does not know are kept as text. */
	std::optional<ServerMessage> m = parse_server_message(
	    R"({"type":"welcome","id":"a","name":"n","room":"r","capacity":5,"peers":[{"id":"b","name":"m","extra":1}],)"
	    R"("history":[{"seq":1,"from":"b","name":"m","text":"t","ts":2}],)"
	    R"("iceServers":[{"urls":"stun:s","username":null,"credential":null}],"motd":"hi"})",
	    &error);
	ASSERT_TRUE(m) << error;
	const Welcome &w = std::get<Welcome>(*m);
	EXPECT_EQ(w.capacity, 5);
	ASSERT_EQ(w.peers.size(), 1u);
	EXPECT_EQ(w.peers[0], (Peer{"b", "m", true, true}));
	ASSERT_EQ(w.history.size(), 1u);
	EXPECT_EQ(w.history[0], (ChatLine{1, "b", "m", "t", 2}));
	ASSERT_EQ(w.ice_servers.size(), 1u);
	EXPECT_EQ(w.ice_servers[0], (IceServer{{"stun:s"}, std::nullopt, std::nullopt}));

	EXPECT_EQ(w.resume, std::nullopt);

	/* (1.1) A resume that is not a string is no resume, not a broken welcome. */
	for (const char *resume : {"null", "5", "{}", "[\"r\"]", "false"}) {
		SCOPED_TRACE(std::string("resume ") + resume);
		m = parse_server_message(
		    R"({"type":"welcome","id":"a","name":"n","room":"r","capacity":3,"peers":[],)"
		    R"("history":[],"iceServers":[],"resume":)" +
			std::string(resume) + "}",
		    &error);
		ASSERT_TRUE(m) << error;
		EXPECT_EQ(std::get<Welcome>(*m).resume, std::nullopt);
	}

	m = parse_server_message(R"({"type":"reconnect","from":"a","sdp":"v=0","to":"b"})", &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<RelayedReconnect>(*m).from, "a");

	m = parse_server_message(
	    R"({"type":"error","code":"future-code","message":"m","ref":null})", &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<Error>(*m).code, "future-code");
	EXPECT_EQ(std::get<Error>(*m).ref, std::nullopt);

	m = parse_server_message(
	    R"({"type":"candidate","from":"a","candidate":"","sdpMLineIndex":0,"sdpMid":null})",
	    &error);
	ASSERT_TRUE(m) << error;
	EXPECT_EQ(std::get<RelayedCandidate>(*m).sdp_mid, std::nullopt);
}

TEST(ParseServer, Refused)
{
	const std::string welcome_head = R"({"type":"welcome","id":"a","name":"n","room":"r",)";
	const struct {
		const char *what;
		std::string json;
	} cases[] = {
	    {"not JSON", "nope"},
	    {"array", "[]"},
	    {"missing type", R"({"id":"a"})"},
	    {"numeric type", R"({"type":3})"},
	    {"unknown type", R"({"type":"hello"})"},
	    {"client type", R"({"type":"join","room":"r","name":"n"})"},
	    {"welcome missing id",
	     R"({"type":"welcome","name":"n","room":"r","capacity":3,"peers":[],"history":[],"iceServers":[]})"},
	    {"welcome capacity string",
	     welcome_head + R"("capacity":"3","peers":[],"history":[],"iceServers":[]})"},
	    {"welcome capacity float",
	     welcome_head + R"("capacity":3.0,"peers":[],"history":[],"iceServers":[]})"},
	    {"welcome capacity beyond int",
	     welcome_head + R"("capacity":4294967296,"peers":[],"history":[],"iceServers":[]})"},
	    {"welcome peers missing",
	     welcome_head + R"("capacity":3,"history":[],"iceServers":[]})"},
	    {"welcome peers object",
	     welcome_head + R"("capacity":3,"peers":{},"history":[],"iceServers":[]})"},
	    {"welcome peer not object",
	     welcome_head + R"("capacity":3,"peers":["b"],"history":[],"iceServers":[]})"},
	    {"welcome peer audio string",
	     welcome_head +
		 R"("capacity":3,"peers":[{"id":"b","name":"m","audio":"yes"}],"history":[],"iceServers":[]})"},
	    {"welcome peer without name",
	     welcome_head + R"("capacity":3,"peers":[{"id":"b"}],"history":[],"iceServers":[]})"},
	    {"welcome history line without seq",
	     welcome_head +
		 R"("capacity":3,"peers":[],"history":[{"from":"b","name":"m","text":"t","ts":2}],"iceServers":[]})"},
	    {"welcome history ts float",
	     welcome_head +
		 R"("capacity":3,"peers":[],"history":[{"seq":1,"from":"b","name":"m","text":"t","ts":2.5}],"iceServers":[]})"},
	    {"welcome iceServers missing",
	     welcome_head + R"("capacity":3,"peers":[],"history":[]})"},
	    {"welcome ice urls missing",
	     welcome_head + R"("capacity":3,"peers":[],"history":[],"iceServers":[{}]})"},
	    {"welcome ice urls number",
	     welcome_head + R"("capacity":3,"peers":[],"history":[],"iceServers":[{"urls":[1]}]})"},
	    {"welcome ice username number",
	     welcome_head +
		 R"("capacity":3,"peers":[],"history":[],"iceServers":[{"urls":[],"username":1}]})"},
	    {"peer-joined without peer", R"({"type":"peer-joined"})"},
	    {"peer-joined peer string", R"({"type":"peer-joined","peer":"b"})"},
	    {"peer-left without id", R"({"type":"peer-left"})"},
	    {"peer-media audio missing", R"({"type":"peer-media","id":"b","video":true})"},
	    {"peer-media video number", R"({"type":"peer-media","id":"b","audio":true,"video":0})"},
	    {"offer without from", R"({"type":"offer","sdp":"v=0"})"},
	    {"answer sdp number", R"({"type":"answer","from":"a","sdp":0})"},
	    {"candidate index negative",
	     R"({"type":"candidate","from":"a","candidate":"","sdpMLineIndex":-1})"},
	    {"candidate index float",
	     R"({"type":"candidate","from":"a","candidate":"","sdpMLineIndex":0.0})"},
	    {"candidate sdpMid number",
	     R"({"type":"candidate","from":"a","candidate":"","sdpMLineIndex":0,"sdpMid":1})"},
	    {"chat without ts", R"({"type":"chat","seq":1,"from":"a","name":"n","text":"t"})"},
	    {"chat seq string",
	     R"({"type":"chat","seq":"1","from":"a","name":"n","text":"t","ts":1})"},
	    {"reconnect without from", R"({"type":"reconnect","to":"a"})"},
	    {"reconnect from number", R"({"type":"reconnect","from":1})"},
	    {"error without message", R"({"type":"error","code":"bad-message"})"},
	    {"error ref number", R"({"type":"error","code":"bad-message","message":"m","ref":1})"},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		std::string error;
		EXPECT_FALSE(parse_server_message(c.json, &error));
		EXPECT_FALSE(error.empty());
		EXPECT_FALSE(parse_server_message(c.json)); /* error pointer is optional */
	}
}

} // namespace
