// SPDX-License-Identifier: LGPL-2.1-or-later
/* A fixed-size log-linear histogram in the manner of HdrHistogram: 64 linear
 * sub-buckets per power of two, so any recorded value is off by under 1.6%.
 * Recording is a few integer operations and no allocation. */
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace meshcall::bench
{

class LatencyHistogram
{
public:
	static constexpr int kSubBits = 6;
	static constexpr int kSub = 1 << kSubBits;
	/* Up to 2^44 ns (about 4.9 hours); larger values land in the last bucket. */
	static constexpr int kMaxExponent = 44;
	static constexpr int kBuckets = (kMaxExponent - kSubBits + 2) * kSub;

	void record(std::uint64_t value)
	{
		buckets_[std::min(index_of(value), kBuckets - 1)]++;
		count_++;
		max_ = std::max(max_, value);
		sum_ += value;
	}

	std::uint64_t count() const { return count_; }
	std::uint64_t max() const { return max_; }
	double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }

	/* The upper edge of the bucket holding quantile q (0..1), capped at max(). */
	std::uint64_t quantile(double q) const
	{
		if (count_ == 0)
			return 0;
		const auto rank = std::uint64_t(q * double(count_ - 1)) + 1;
		std::uint64_t seen = 0;
		for (int i = 0; i < kBuckets; i++) {
			seen += buckets_[i];
			if (seen >= rank)
				return std::min(upper_edge(i), max_);
		}
		return max_;
	}

	void merge(const LatencyHistogram &other)
	{
		for (int i = 0; i < kBuckets; i++)
			buckets_[i] += other.buckets_[i];
		count_ += other.count_;
		sum_ += other.sum_;
		max_ = std::max(max_, other.max_);
	}

private:
	static int index_of(std::uint64_t v)
	{
		if (v < kSub)
			return int(v);
		const int exponent = std::bit_width(v) - 1; /* >= kSubBits */
		const int sub = int(v >> (exponent - kSubBits)) - kSub;
		return (exponent - kSubBits + 1) * kSub + sub;
	}

	static std::uint64_t upper_edge(int index)
	{
		if (index < kSub)
			return std::uint64_t(index);
		const int exponent = index / kSub + kSubBits - 1;
		const std::uint64_t sub = std::uint64_t(index % kSub) + kSub;
		return ((sub + 1) << (exponent - kSubBits)) - 1;
	}

	std::array<std::uint64_t, kBuckets> buckets_{};
	std::uint64_t count_ = 0;
	std::uint64_t sum_ = 0;
	std::uint64_t max_ = 0;
};

} // namespace meshcall::bench
