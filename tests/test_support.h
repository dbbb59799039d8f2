// Small helpers that several unit tests share: known-answer bytes written as hex, and a fresh
// in-memory device (passcode on, iCloud Keychain off, random UID).
#pragma once

#include <memory>
#include <string_view>

#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/random.h"

namespace kcb::test_support {

// The bytes of a hex string the test itself wrote (a typo is a test bug: asserted).
inline Bytes hex(std::string_view h) {
  Bytes out;
  KCB_ASSERT(from_hex(h, &out));
  return out;
}

inline std::unique_ptr<Device> in_memory_device(Random& r) {
  auto d = Device::create_in_memory({true, false, std::nullopt}, r);
  KCB_ASSERT(d.ok());
  return std::move(d).value();
}

}  // namespace kcb::test_support
