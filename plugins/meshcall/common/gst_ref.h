// SPDX-License-Identifier: LGPL-2.1-or-later
/* common/: small pieces every part of the plugin uses.
 *
 * GstRef<T>: one owned reference to a GstObject (element, pad, …).
 * adopt() takes over a reference the caller owns; ref() adds one, sinking a
 * floating reference. Moves hand ownership on; release() hands it out. */
#pragma once

#include <utility>

#include <gst/gst.h>

namespace meshcall
{

template <typename T> class GstRef
{
public:
	GstRef() = default;
	~GstRef() { reset(); }
	GstRef(const GstRef &other) : ptr_(other.ptr_)
	{
		if (ptr_)
			gst_object_ref(ptr_);
	}
	GstRef(GstRef &&other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
	GstRef &operator=(GstRef other) noexcept
	{
		std::swap(ptr_, other.ptr_);
		return *this;
	}

	static GstRef adopt(T *ptr)
	{
		GstRef r;
		r.ptr_ = ptr;
		return r;
	}
	static GstRef ref(T *ptr)
	{
		GstRef r;
		if (ptr)
			r.ptr_ = static_cast<T *>(gst_object_ref_sink(ptr));
		return r;
	}

	T *get() const { return ptr_; }
	operator T *() const { return ptr_; }
	explicit operator bool() const { return ptr_ != nullptr; }
	T *release() { return std::exchange(ptr_, nullptr); }
	void reset()
	{
		if (T *p = std::exchange(ptr_, nullptr))
			gst_object_unref(p);
	}

private:
	T *ptr_ = nullptr;
};

using ElementRef = GstRef<GstElement>;
using PadRef = GstRef<GstPad>;

} // namespace meshcall
