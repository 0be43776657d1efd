// SPDX-License-Identifier: LGPL-2.1-or-later
/* (1.1) server/auth.h's resume tokens, against tokens made by hand
 * (registry_fixture.cpp's HMAC is GChecksum, not the code under test). What
 * the registry does with them is test_registry_resume.cpp. */
#include "registry_fixture.h"

#include <string>

#include "server/auth.h"

namespace meshcall::server::testing
{
namespace
{

const std::string kSecret(32, '\x5a');
constexpr const char *kId = "0123456789abcdef";
constexpr std::int64_t kNow = kStartWallMs;
constexpr std::int64_t kDayMs = 24 * 3600 * 1000;

std::string payload(std::string_view id, std::int64_t ms, std::string_view room)
{
	return "1." + std::string(id) + "." + std::to_string(ms) + "." + std::string(room);
}

TEST(ResumeToken, HasTheDocumentedShapeAndFitsIn512Bytes)
{
	const std::string token = create_resume_token(kSecret, {"demo", kId, kNow});
	EXPECT_EQ(token, make_resume_token(payload(kId, kNow, "demo"), kSecret));
	const std::string longest_room(64, 'r');
	const std::string longest =
	    create_resume_token(kSecret, {longest_room, kId, INT64_MAX / 2});
	EXPECT_LE(longest.size(), proto::kMaxResumeBytes);
	EXPECT_EQ(longest.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789-_."),
		  std::string::npos)
	    << "base64url and one dot: " << longest;
}

TEST(ResumeToken, GenuineCurrentAndForThisRoomGivesTheId)
{
	const std::string token = create_resume_token(kSecret, {"demo", kId, kNow});
	EXPECT_EQ(verify_resume_token(kSecret, token, "demo", kNow), kId);
	EXPECT_EQ(verify_resume_token(kSecret, token, "demo", kNow + kDayMs - 1), kId);
	EXPECT_EQ(verify_resume_token(kSecret, token, "demo", kNow - 5 * 60 * 1000), kId)
	    << "a clock stepped back by up to 5 minutes";
	/* A token made by hand, so the format is the one documented. */
	EXPECT_EQ(verify_resume_token(kSecret,
				      make_resume_token(payload(kId, kNow, "demo"), kSecret),
				      "demo", kNow),
		  kId);
}

TEST(ResumeToken, AnythingElseIsNoResume)
{
	const std::string token = create_resume_token(kSecret, {"demo", kId, kNow});
	const std::string signing_input = token.substr(0, token.find('.'));
	std::string flipped = token;
	flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';

	const struct {
		const char *what;
		std::string token;
		std::string room = "demo";
		std::int64_t now = kNow;
	} cases[] = {
	    {"24 h old", token, "demo", kNow + kDayMs},
	    {"far older", token, "demo", kNow + 365 * kDayMs},
	    {"from over 5 minutes ahead", token, "demo", kNow - 5 * 60 * 1000 - 1},
	    {"another room", token, "Demo"},
	    {"another room, longer", token, "demo2"},
	    {"another secret", create_resume_token(std::string(32, '\x5b'), {"demo", kId, kNow})},
	    {"truncated by one", token.substr(0, token.size() - 1)},
	    {"truncated to its first part", signing_input},
	    {"first part and dot", signing_input + "."},
	    {"a character changed", flipped},
	    {"two signatures", token + "." + token.substr(token.find('.') + 1)},
	    {"padding added", token + "="},
	    {"empty", ""},
	    {"a dot", "."},
	    {"garbage", "not a resume at all"},
	    {"a JWT", make_hs256_jwt(R"({"room":"demo","exp":9999999999})", kSecret)},
	    {"over 512 bytes", token + std::string(600, 'A')},
	    /* Signed alike, but not what the server writes. */
	    {"version 2", make_resume_token("2." + payload(kId, kNow, "demo").substr(2), kSecret)},
	    {"uppercase id", make_resume_token(payload("0123456789ABCDEF", kNow, "demo"), kSecret)},
	    {"short id", make_resume_token(payload("0123", kNow, "demo"), kSecret)},
	    {"time not a number",
	     make_resume_token("1." + std::string(kId) + ".soon.demo", kSecret)},
	    {"negative time", make_resume_token(payload(kId, -1, "demo"), kSecret)},
	    {"time with a sign", make_resume_token("1." + std::string(kId) + ".+1.demo", kSecret)},
	    {"time beyond int64",
	     make_resume_token("1." + std::string(kId) + ".99999999999999999999.demo", kSecret)},
	    {"room with a dot", make_resume_token(payload(kId, kNow, "demo.x"), kSecret), "demo.x"},
	    {"a field short", make_resume_token("1." + std::string(kId) + ".demo", kSecret)},
	    {"NUL after the room", make_resume_token(payload(kId, kNow, "demo") + '\0', kSecret)},
	};
	for (const auto &c : cases) {
		SCOPED_TRACE(c.what);
		EXPECT_EQ(verify_resume_token(kSecret, c.token, c.room, c.now), std::nullopt);
	}
}

} // namespace
} // namespace meshcall::server::testing
