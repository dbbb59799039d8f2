// The restore target's input: a backup bundle as one byte string, shared by the target, its custom
// mutator and the seed generator.
//   u8 target | u32 little-endian n | Manifest.plist (n bytes) | keychain-backup.plist (the rest)
// Bit 0 of `target` picks the fixed device without a passcode; bit 1 restores without the password
// (an encrypted bundle must then fail and change nothing); the other bits are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kcbackup/bytes.h"

namespace kcb::fuzz {

inline constexpr size_t kBundleInputHeader = 5;
inline constexpr uint8_t kTargetWithoutPasscode = 1;
inline constexpr uint8_t kRestoreWithoutPassword = 2;

struct BundleInput {
  uint8_t target = 0;
  ByteView manifest;
  ByteView archive;
};

// Views into `bytes`; nothing when the header is short or n runs past the end.
inline std::optional<BundleInput> split_bundle_input(ByteView bytes) {
  if (bytes.size() < kBundleInputHeader) return std::nullopt;
  const size_t n =
      size_t{bytes[1]} | size_t{bytes[2]} << 8 | size_t{bytes[3]} << 16 | size_t{bytes[4]} << 24;
  if (n > bytes.size() - kBundleInputHeader) return std::nullopt;
  BundleInput in;
  in.target = bytes[0];
  in.manifest = bytes.subspan(kBundleInputHeader, n);
  in.archive = bytes.subspan(kBundleInputHeader + n);
  return in;
}

inline Bytes join_bundle_input(uint8_t target, ByteView manifest, ByteView archive) {
  Bytes out;
  out.reserve(kBundleInputHeader + manifest.size() + archive.size());
  out.push_back(target);
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<uint8_t>(manifest.size() >> shift));
  out.insert(out.end(), manifest.begin(), manifest.end());
  out.insert(out.end(), archive.begin(), archive.end());
  return out;
}

}  // namespace kcb::fuzz
