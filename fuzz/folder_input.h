// The folder target's input: a whole backup folder as one byte string, shared by the target, its
// custom mutator and the seed generator.
//   u8 target | file* ,  file = u8 n (1..255) | name (n bytes) | u32 little-endian m | m bytes
// Names are relative to the folder ("Manifest.plist", "51/51a4..."), each at most once. Bit 0 of
// `target` picks the fixed device without a passcode, bit 1 restores without the password (as in
// fuzz/bundle_input.h); the other bits are ignored. A file that runs past the end, an empty name or
// a name given twice makes the input undecodable: the target skips it and the mutator falls back
// to libFuzzer's byte mutations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "fuzz/bundle_input.h"
#include "kcbackup/bytes.h"
#include "kcbackup/status.h"

namespace kcb::fuzz {

struct FolderInput {
  uint8_t target = 0;
  std::map<std::string, Bytes, std::less<>> files;
};

inline std::optional<FolderInput> decode_folder_input(ByteView bytes) {
  if (bytes.empty()) return std::nullopt;
  FolderInput in;
  in.target = bytes[0];
  size_t at = 1;
  while (at < bytes.size()) {
    const size_t n = bytes[at++];
    if (n == 0 || bytes.size() - at < n + 4) return std::nullopt;
    std::string name(reinterpret_cast<const char*>(bytes.data() + at), n);
    at += n;
    const size_t m = load_le32(bytes.data() + at);
    at += 4;
    if (bytes.size() - at < m) return std::nullopt;
    if (!in.files.emplace(std::move(name), Bytes(bytes.begin() + at, bytes.begin() + at + m))
             .second) {
      return std::nullopt;
    }
    at += m;
  }
  return in;
}

// Names longer than 255 bytes are left out (no folder the engine writes has one).
inline Bytes encode_folder_input(const FolderInput& in) {
  Bytes out{in.target};
  for (const auto& [name, bytes] : in.files) {
    if (name.empty() || name.size() > 255) continue;
    out.push_back(static_cast<uint8_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    KCB_ASSERT(bytes.size() <= UINT32_MAX);
    append_le(out, static_cast<uint32_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  return out;
}

}  // namespace kcb::fuzz
