// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: one WebSocket text frame through both parsers of
 * src/protocol, the server's reading of client frames (anyone can send one)
 * and the clients' reading of server frames (the app and meshcallbin trust
 * nothing either). Besides crashes and sanitizer reports it checks that the
 * serialisers invert the parsers: a message either parser accepts, written
 * out, parses back to a message that is written out identically. */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/protocol.h"

namespace proto = meshcall::protocol;

namespace
{

template <typename... F> struct Overloaded : F... {
	using F::operator()...;
};
/* clang 14 does not deduce an aggregate's template arguments by itself. */
template <typename... F> Overloaded(F...) -> Overloaded<F...>;

/* nullopt for a join join_json() cannot write: a field that is not a string.
 * A resume that is not a string is left out, as the server ignores it. */
std::optional<std::string> client_json(const proto::ClientMessage &message)
{
	return std::visit(Overloaded{
			      [](const proto::Join &m) -> std::optional<std::string> {
				      if (!m.room.is_string() || !m.name.is_string() ||
					  (m.token.present && !m.token.is_string()))
					      return std::nullopt;
				      std::optional<std::string_view> token, resume;
				      if (m.token.value)
					      token = *m.token.value;
				      if (m.resume.value)
					      resume = *m.resume.value;
				      return proto::join_json(*m.room.value, *m.name.value, token,
							      resume);
			      },
			      [](const proto::Offer &m) -> std::optional<std::string> {
				      return proto::offer_json(m.to, m.sdp);
			      },
			      [](const proto::Answer &m) -> std::optional<std::string> {
				      return proto::answer_json(m.to, m.sdp);
			      },
			      [](const proto::Candidate &m) -> std::optional<std::string> {
				      return proto::candidate_json(m);
			      },
			      [](const proto::Chat &m) -> std::optional<std::string> {
				      return proto::chat_json(m.text);
			      },
			      [](const proto::Media &m) -> std::optional<std::string> {
				      return proto::media_json(m.audio, m.video);
			      },
			      [](const proto::Ping &) -> std::optional<std::string> {
				      return proto::ping_json();
			      },
			      [](const proto::Leave &) -> std::optional<std::string> {
				      return proto::leave_json();
			      },
			      [](const proto::Reconnect &m) -> std::optional<std::string> {
				      return proto::reconnect_json(m.to);
			      },
			  },
			  message);
}

/* nullopt for an error whose code or ref this version cannot name. */
std::optional<std::string> server_json(const proto::ServerMessage &message)
{
	return std::visit(
	    Overloaded{
		[](const proto::Welcome &m) -> std::optional<std::string> {
			return proto::welcome_json(m);
		},
		[](const proto::PeerJoined &m) -> std::optional<std::string> {
			return proto::peer_joined_json(m.peer);
		},
		[](const proto::PeerLeft &m) -> std::optional<std::string> {
			return proto::peer_left_json(m.id);
		},
		[](const proto::PeerMedia &m) -> std::optional<std::string> {
			return proto::peer_media_json(m.id, m.audio, m.video);
		},
		[](const proto::RelayedOffer &m) -> std::optional<std::string> {
			return proto::relayed_offer_json(m.from, m.sdp);
		},
		[](const proto::RelayedAnswer &m) -> std::optional<std::string> {
			return proto::relayed_answer_json(m.from, m.sdp);
		},
		[](const proto::RelayedCandidate &m) -> std::optional<std::string> {
			return proto::relayed_candidate_json(
			    m.from,
			    proto::Candidate{{}, m.candidate, m.sdp_mline_index, m.sdp_mid});
		},
		[](const proto::ChatLine &m) -> std::optional<std::string> {
			return proto::chat_line_json(m);
		},
		[](const proto::RelayedReconnect &m) -> std::optional<std::string> {
			return proto::relayed_reconnect_json(m.from);
		},
		[](const proto::Pong &) -> std::optional<std::string> {
			return proto::pong_json();
		},
		[](const proto::Error &m) -> std::optional<std::string> {
			const auto code = proto::error_code_from_string(m.code);
			std::optional<proto::ClientType> ref;
			if (m.ref && !(ref = proto::client_type_from_string(*m.ref)))
				return std::nullopt;
			if (!code)
				return std::nullopt;
			return proto::error_json(*code, m.message, ref);
		},
	    },
	    message);
}

[[noreturn]] void round_trip_failed(const char *side, const std::string &written,
				    const std::string &again)
{
	std::fprintf(stderr,
		     "%s message does not survive a round trip:\n  written: %s\n  again:   %s\n",
		     side, written.c_str(), again.c_str());
	std::abort();
}

void check_client(std::string_view frame)
{
	const proto::ClientParse parsed = proto::parse_client_message(frame);
	if (!parsed.ok())
		return;
	const std::optional<std::string> written = client_json(*parsed.message);
	if (!written)
		return;
	const proto::ClientParse again = proto::parse_client_message(*written);
	if (!again.ok())
		round_trip_failed("client", *written, "refused: " + again.error.message);
	const std::optional<std::string> rewritten = client_json(*again.message);
	if (rewritten != written)
		round_trip_failed("client", *written, rewritten.value_or("(not writable)"));
}

void check_server(std::string_view frame)
{
	const std::optional<proto::ServerMessage> parsed = proto::parse_server_message(frame);
	if (!parsed)
		return;
	const std::optional<std::string> written = server_json(*parsed);
	if (!written)
		return;
	std::string why;
	const std::optional<proto::ServerMessage> again =
	    proto::parse_server_message(*written, &why);
	if (!again)
		round_trip_failed("server", *written, "refused: " + why);
	const std::optional<std::string> rewritten = server_json(*again);
	if (rewritten != written)
		round_trip_failed("server", *written, rewritten.value_or("(not writable)"));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view frame(reinterpret_cast<const char *>(data), size);
	check_client(frame);
	check_server(frame);
	return 0;
}
