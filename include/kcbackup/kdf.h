// What a keybag's password derivation costs, and how much of an attacker-controlled keybag the
// parser accepts: the knobs a caller of backup and restore sets (engine/keybag.h applies them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kcb {

// The counts a new keybag is written with. Real counts by default (DPIC 10,000,000, ITER 10,000):
// what protects the user's password.
struct KeybagKdf {
  uint32_t iterations = 10'000;         // ITER
  bool double_protection = true;        // write DPWT, DPIC, DPSL
  uint32_t dp_iterations = 10'000'000;  // DPIC
};

// KDF parameters small enough for tests and the demo (the same derivation, cheap counts).
inline constexpr KeybagKdf kFastKdf{10, true, 10};

// Caps on a keybag being parsed: every field is attacker-controlled, and a bag asking for more is
// refused (ResourceExhausted) before any key derivation runs.
struct KeybagLimits {
  uint32_t max_iterations = 10'000'000;     // ITER (real backups: 10,000)
  uint32_t max_dp_iterations = 10'000'000;  // DPIC (real backups: exactly 10,000,000)
  size_t max_size = 64 * 1024;              // whole bag; real ones are ~1-2 KB
  size_t max_records = 512;
  size_t max_record_length = 1024;
  size_t max_classes = 32;
};

}  // namespace kcb
