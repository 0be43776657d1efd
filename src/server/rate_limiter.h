// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-connection rate limiting: token buckets plus a sliding count of refusals. */
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace meshcall::server
{

class TokenBucket
{
public:
	void configure(double per_second, double burst, std::int64_t now_us)
	{
		rate_ = per_second;
		burst_ = burst;
		tokens_ = burst;
		last_us_ = now_us;
	}

	/* Takes one token when there is one. */
	bool take(std::int64_t now_us)
	{
		if (now_us > last_us_) {
			tokens_ = std::min(burst_, tokens_ + rate_ * (now_us - last_us_) / 1e6);
			last_us_ = now_us;
		}
		if (tokens_ < 1.0)
			return false;
		tokens_ -= 1.0;
		return true;
	}

private:
	double rate_ = 0;
	double burst_ = 0;
	double tokens_ = 0;
	std::int64_t last_us_ = 0;
};

/* Remembers the times of the last `limit + 1` refusals, but only once a
 * connection has been refused at all: well-behaved connections pay nothing. */
class RefusalWindow
{
public:
	/* Records a refusal; true when more than `limit` fell within `window_us`. */
	bool record(std::int64_t now_us, int limit, std::int64_t window_us)
	{
		std::size_t slots = static_cast<std::size_t>(limit) + 1;
		if (times_.size() != slots)
			times_.assign(slots, INT64_MIN);
		times_[next_] = now_us;
		next_ = (next_ + 1) % slots;
		/* times_[next_] is now the oldest of the last limit + 1 refusals. */
		return times_[next_] != INT64_MIN && now_us - times_[next_] <= window_us;
	}

private:
	std::vector<std::int64_t> times_;
	std::size_t next_ = 0;
};

} // namespace meshcall::server
