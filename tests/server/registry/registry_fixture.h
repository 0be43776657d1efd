// SPDX-License-Identifier: LGPL-2.1-or-later
/* Test harness for RoomRegistry: a recording Outbox that decodes every frame
 * the registry sends, a clock moved by hand, and scripted peer ids. Nothing
 * here touches a socket or sleeps. */
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/protocol.h"
#include "server/room_registry.h"

namespace meshcall::server::testing
{

namespace proto = meshcall::protocol;

/* 2025-11-24T16:00:00.123Z: the fraction checks that seconds are floored. */
inline constexpr std::int64_t kStartWallMs = 1764000000123;
inline constexpr std::int64_t kStartWallSeconds = 1764000000;

class FakeClock : public Clock
{
public:
	std::int64_t monotonic_us() const override { return mono_us_; }
	std::int64_t wall_ms() const override { return wall_ms_; }
	void advance_us(std::int64_t us)
	{
		mono_us_ += us;
		wall_ms_ += us / 1000;
	}
	void advance_ms(std::int64_t ms) { advance_us(ms * 1000); }

private:
	std::int64_t mono_us_ = 5'000'000'000; /* far from 0, as on a real machine */
	std::int64_t wall_ms_ = kStartWallMs;
};

struct Delivery {
	std::string raw; /* exactly what the registry handed to send() */
	std::optional<proto::ServerMessage> message;
};

struct RecordedClose {
	ConnectionId conn = 0;
	int code = 0;
	std::string reason;
};

class RecordingOutbox : public Outbox
{
public:
	void send(ConnectionId to, const std::shared_ptr<const std::string> &text) override;
	void close(ConnectionId conn, int code, std::string_view reason) override;

	std::map<ConnectionId, std::deque<Delivery>> inbox;
	std::vector<RecordedClose> closes;
	/* Every send and close in order, e.g. "send 3 error" / "close 3 1009". */
	std::vector<std::string> log;
	/* Buffers handed out, so tests can see a fan-out encoded once. */
	std::vector<std::shared_ptr<const std::string>> buffers;
};

using proto::ClientType;

/* Index into the Metrics arrays. */
inline std::size_t idx(ClientType t)
{
	return static_cast<std::size_t>(t);
}
inline std::size_t idx(proto::ErrorCode c)
{
	return static_cast<std::size_t>(c);
}

/* The 16 lowercase hex digits the registry must render for a generated id. */
std::string hex_id(std::uint64_t value);

/* Helpers computed independently of src/server/auth.cpp (GChecksum only). */
std::string hmac_sha1_by_hand(std::string_view key, std::string_view message);
std::string base64(std::string_view bytes);
std::string base64url(std::string_view bytes);
/* header.payload.signature with an HMAC-SHA256 signature under `secret`. */
std::string make_jwt(std::string_view header_json, std::string_view payload_json,
		     std::string_view secret);
std::string make_hs256_jwt(std::string_view payload_json, std::string_view secret);
/* (1.1) A resume token of the documented shape (server/auth.h) with
 * `payload` as its text, e.g. "1.<id>.<ms>.<room>", signed under `secret`. */
std::string make_resume_token(std::string_view payload, std::string_view secret);
std::string hmac_sha256_by_hand(std::string_view key, std::string_view message);

/* Member names of a JSON object, to check what a relayed frame carries. */
std::set<std::string> json_member_names(std::string_view object_json);

class RegistryTest : public ::testing::Test
{
protected:
	/* Builds the registry; tests that need a non-default config call this
	 * before anything else, the others get the default lazily. */
	void start(RegistryConfig config = {});
	RoomRegistry &registry();

	/* connected() + received_text(join) and the welcome that must follow. */
	proto::Welcome join(ConnectionId conn, std::string_view room, std::string_view name);
	/* join() on a fresh connection; returns the assigned id. */
	std::string join_new(ConnectionId conn, std::string_view room, std::string_view name);
	void connect(ConnectionId conn);
	void send(ConnectionId conn, std::string_view frame);

	/* Pops the oldest message for `conn`, which must be a T. */
	template <typename T> T next(ConnectionId conn);
	/* The next message must be error `code`; if it carries `ref`, that must
	 * be `ref` (ref is optional in the protocol). */
	proto::Error next_error(ConnectionId conn, std::string_view code,
				std::optional<std::string_view> ref = std::nullopt);
	std::size_t pending(ConnectionId conn);
	/* Nothing queued for `conn`. */
	void expect_quiet(ConnectionId conn);
	/* Nothing queued for any connection. */
	void expect_all_quiet();
	void drain(ConnectionId conn);
	std::optional<RecordedClose> close_of(ConnectionId conn) const;

	RecordingOutbox outbox_;
	FakeClock clock_;
	/* Ids handed out first, in order; then a counter 0x1111…, 0x2222…, … */
	std::deque<std::uint64_t> scripted_ids_;
	std::uint64_t counter_ = 0;
	int generator_calls_ = 0;
	std::unique_ptr<RoomRegistry> registry_;
};

const char *server_type_name(const proto::ServerMessage &m);

template <typename T> T RegistryTest::next(ConnectionId conn)
{
	auto &queue = outbox_.inbox[conn];
	if (queue.empty()) {
		ADD_FAILURE() << "connection " << conn << " expected a message, got nothing";
		return T{};
	}
	Delivery d = std::move(queue.front());
	queue.pop_front();
	if (!d.message) {
		ADD_FAILURE() << "connection " << conn << " got an unparsable frame: " << d.raw;
		return T{};
	}
	if (!std::holds_alternative<T>(*d.message)) {
		ADD_FAILURE() << "connection " << conn << " got " << server_type_name(*d.message)
			      << " instead: " << d.raw;
		return T{};
	}
	return std::get<T>(std::move(*d.message));
}

} // namespace meshcall::server::testing
