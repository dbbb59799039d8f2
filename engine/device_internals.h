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
  // Device::add_item with the row's identity chosen by the caller (restore, R11/R12): `rowid` 0
  // lets the store pick one; an empty `uuid` gets a fresh one on a device with UUID references.
  // The caller checks that the rowid and UUID are free (KeychainStore::has_rowid/has_persistref).
  static Result<int64_t> insert_item(Device& device, const Item& item, ByteView plaintext,
                                     int64_t rowid, Bytes uuid, Random& random,
                                     Bytes* persistent_ref = nullptr) {
    return device.insert_item(item, plaintext, rowid, std::move(uuid), random, persistent_ref);
  }
  static Bytes persistent_ref_of(const Device& device, ItemClass item_class, int64_t rowid,
                                 ByteView uuid) {
    return device.persistent_ref_of(item_class, rowid, uuid);
  }
};

}  // namespace kcb
