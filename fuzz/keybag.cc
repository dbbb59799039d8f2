// Fuzz target keybag: arbitrary bytes as a keybag (engine/keybag.h). parse_keybag keeps every
// record, so whatever it accepts must serialize back to the very same bytes. Accepted bags are
// unlocked with a fixed password, with and without the device key: the limits passed here cap
// ITER and DPIC so a hostile bag cannot buy seconds of PBKDF2 (the engine's default caps allow
// 10M rounds; the seed bags use 2).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/keybag.h"
#include "fuzz/fixed_keys.h"

namespace {
kcb::KeybagLimits fuzz_limits() {
  kcb::KeybagLimits limits;
  limits.max_iterations = 16;
  limits.max_dp_iterations = 16;
  return limits;
}

void check_unlocked(const kcb::Keybag& bag, const kcb::UnlockedKeybag& keys) {
  KCB_ASSERT(keys.classes.size() == bag.classes.size());
  for (const kcb::UnlockedClass& c : keys.classes) {
    KCB_ASSERT(!c.unlocked || c.key.size() == kcb::kClassKeySize);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  const kcb::KeybagLimits limits = fuzz_limits();
  auto bag = kcb::parse_keybag(input, limits);
  if (!bag.ok()) return 0;
  const kcb::Bytes serialized = kcb::serialize_keybag(*bag);
  KCB_ASSERT(serialized == kcb::Bytes(input.begin(), input.end()));
  auto again = kcb::parse_keybag(serialized, limits);
  KCB_ASSERT(again.ok() && kcb::serialize_keybag(*again) == serialized);

  // The device key only removes the CBC layer (no integrity check): it changes no outcome, and
  // every class key that opens without it is the same with it.
  const kcb::ByteView device_key(kcb::fuzz::kDeviceKey);
  auto with_device = kcb::unlock_keybag(*bag, kcb::fuzz::kPassword, device_key);
  auto without_device = kcb::unlock_keybag(*bag, kcb::fuzz::kPassword, std::nullopt);
  KCB_ASSERT(with_device.status().code() == without_device.status().code());
  if (!with_device.ok()) return 0;
  check_unlocked(*bag, *with_device);
  check_unlocked(*bag, *without_device);
  for (size_t i = 0; i < bag->classes.size(); ++i) {
    const kcb::UnlockedClass& a = with_device->classes[i];
    const kcb::UnlockedClass& b = without_device->classes[i];
    KCB_ASSERT(a.unlocked);
    KCB_ASSERT(b.unlocked == ((bag->classes[i].wrap & kcb::kWrapDevice) == 0));
    KCB_ASSERT(!b.unlocked || a.key == b.key);
  }
  return 0;
}
