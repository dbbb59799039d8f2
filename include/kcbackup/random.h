// The one source of randomness and time. Every random byte (UIDs, class keys, item keys, salts,
// UUIDs) and every timestamp the engine writes comes from a Random passed in by the caller, so a
// seeded run is byte-for-byte reproducible: tests and fuzzers use make_seeded_random(seed) and
// print the seed on failure; the CLI uses make_system_random() unless given --seed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "kcbackup/status.h"

namespace kcb {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<uint8_t> out) = 0;
  // Seconds since the Unix epoch, for cdat/mdat and manifest dates.
  virtual int64_t now_unix_seconds() = 0;
};

// OpenSSL's RAND_bytes and the system clock.
std::unique_ptr<Random> make_system_random();
// A deterministic stream (ChaCha20 keyed by the seed) and a clock that starts at a fixed date and
// advances one second per call: the same seed always gives the same bytes and times.
std::unique_ptr<Random> make_seeded_random(uint64_t seed);
// A seed as a person writes it (`--seed 2018`): make_system_random() for "", else
// make_seeded_random of the decimal number; InvalidArgument "'x' is not a whole number from 0 to
// 18446744073709551615" for anything else.
Result<std::unique_ptr<Random>> make_random(std::string_view seed);

}  // namespace kcb
