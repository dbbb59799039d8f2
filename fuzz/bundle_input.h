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
#include "kcbackup/status.h"

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
  const size_t n = load_le32(bytes.data() + 1);
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
  KCB_ASSERT(manifest.size() <= UINT32_MAX);
  append_le(out, static_cast<uint32_t>(manifest.size()));
  out.insert(out.end(), manifest.begin(), manifest.end());
  out.insert(out.end(), archive.begin(), archive.end());
  return out;
}

}  // namespace kcb::fuzz
