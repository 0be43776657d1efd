// SPDX-License-Identifier: LGPL-2.1-or-later
/* What an AddressSanitizer build changes for the tests that measure. */
#pragma once

namespace meshcall::test
{

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

/* Wall-clock bounds of a test that times a reaction: an instrumented build
 * runs every buffer through checks several times slower, and the CI runs it
 * beside other tests. The bound a user sees is checked by the normal build;
 * the sanitized one checks that the reaction comes at all, and soon. */
inline constexpr double kTimeScale = kSanitized ? 3.0 : 1.0;

} // namespace meshcall::test
