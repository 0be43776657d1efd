// SPDX-License-Identifier: LGPL-2.1-or-later
/* What one WebSocket holds on its way out, and the bound on it.
 *
 * libsoup's WebSocket queues whatever it is given and writes it when the
 * socket takes it; it neither bounds nor reports that queue. So libsoup only
 * ever gets up to kWindow bytes more than the socket has taken (counted by
 * server/counting_stream.h); the rest waits here, as shared references to
 * the registry's encoded messages (one buffer for every recipient of a
 * fan-out). held() is both parts; a push beyond the limit is refused and
 * the transport closes the connection with 1008 (docs/protocol.md). */
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

namespace meshcall::server
{

class SendQueue
{
public:
	using Text = std::shared_ptr<const std::string>;

	/* Enough to keep a healthy socket busy between two wake-ups. */
	static constexpr std::size_t kWindow = 64 * 1024;

	explicit SendQueue(std::size_t limit) : limit_(limit) {}

	/* Bytes of an unmasked frame carrying `payload` bytes (RFC 6455 §5.2). */
	static constexpr std::size_t frame_bytes(std::size_t payload)
	{
		return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
	}

	/* Queues `text`; false, with nothing queued, when that would hold more
	 * than the limit. */
	bool push(Text text)
	{
		std::size_t size = frame_bytes(text->size());
		if (held() + size > limit_)
			return false;
		queued_ += size;
		if (!oldest_ && (!rest_ || rest_->empty())) {
			oldest_ = std::move(text);
			return true;
		}
		if (!rest_)
			rest_ = std::make_unique<std::deque<Text>>();
		rest_->push_back(std::move(text));
		return true;
	}

	/* The next message libsoup may have now (counted as handed to it), or
	 * nullptr. */
	Text take()
	{
		if (!can_take())
			return nullptr;
		Text text;
		if (oldest_) {
			text = std::move(oldest_);
		} else {
			text = std::move(rest_->front());
			rest_->pop_front();
		}
		std::size_t size = frame_bytes(text->size());
		queued_ -= size;
		in_libsoup_ += size;
		return text;
	}

	bool can_take() const
	{
		return (oldest_ || (rest_ && !rest_->empty())) && in_libsoup_ < kWindow;
	}

	/* The socket took `bytes`. libsoup's own frames (pongs, pings, the
	 * close) pass the same way, uncounted on the way in: never below 0. */
	void written(std::size_t bytes) { in_libsoup_ -= std::min(bytes, in_libsoup_); }

	std::size_t held() const { return in_libsoup_ + queued_; }

	/* Forgets what waits here; what libsoup holds stays counted. */
	void drop_queued()
	{
		oldest_.reset();
		rest_.reset();
		queued_ = 0;
	}

private:
	const std::size_t limit_;
	/* The queue is oldest_, then rest_. Most connections never hold more
	 * than one message, and an empty std::deque already takes ~600 bytes:
	 * rest_ is made on first use. */
	Text oldest_;
	std::unique_ptr<std::deque<Text>> rest_;
	std::size_t queued_ = 0;     /* frame bytes in queue_ */
	std::size_t in_libsoup_ = 0; /* handed to libsoup, not yet taken by the socket */
};

} // namespace meshcall::server
