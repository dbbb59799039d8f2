// The parts of a Device that never leave the engine: key 0x835, the unlocked system keybag and the
// raw keychain store. The engine's own code (backup, iCloud Keychain) and its tests, properties,
// fuzz targets and benchmarks reach them here; the public Device API and the CLI do not.
#pragma once

#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "kcbackup/bytes.h"
#include "kcbackup/device.h"

namespace kcb {

struct DeviceInternals {
  // Key 0x835: 16 bytes, derived from the UID. The device layer of keybags is wrapped with it.
  static ByteView device_key(const Device& device) { return device.device_key_.view(); }
  static const UnlockedKeybag& class_keys(const Device& device) { return *device.keys_; }
  static KeychainStore& store(Device& device) { return *device.store_; }
};

}  // namespace kcb
