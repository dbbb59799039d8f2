// The fixed device the restore target restores onto, shared with the seed generator (which makes
// same-device bundles from it). Two variants with the same UID (fixed_keys.h): with a passcode and
// without one. Each starts with the items below: R7 replaces the non-synchronizable,
// non-system-bound ones and must keep the others.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fuzz/fixed_keys.h"
#include "kcbackup/device.h"
#include "kcbackup/random.h"

namespace kcb::fuzz {

inline NewItem target_item(ItemClass c, Accessibility a, std::string account) {
  NewItem n;
  n.item_class = c;
  n.accessible = a;
  n.account = account;
  n.service = "fuzz.target";
  n.label = account;  // cert and keys are unique by label
  n.secret = SecretBytes(as_bytes("secret of " + account));
  return n;
}

// The items the fixed target holds before every restore.
inline std::vector<NewItem> target_items(bool passcode) {
  std::vector<NewItem> items;
  items.push_back(target_item(ItemClass::kGenp, Accessibility::kWhenUnlocked, "local-token"));
  NewItem synced = target_item(ItemClass::kInet, Accessibility::kAfterFirstUnlock, "synced");
  synced.synchronizable = true;
  items.push_back(std::move(synced));
  NewItem bound =
      target_item(ItemClass::kKeys, Accessibility::kAlwaysThisDeviceOnly, "device-identity");
  bound.system_bound = SystemBound::kPreserveDuringRestore;
  items.push_back(std::move(bound));
  if (passcode) {
    items.push_back(target_item(ItemClass::kGenp, Accessibility::kWhenPasscodeSetThisDeviceOnly,
                                "passcode-only"));
  }
  return items;
}

// The fixed target (or a source device on the same hardware), built from kSeed alone.
inline std::unique_ptr<Device> make_target_device(bool passcode) {
  auto random = make_seeded_random(kSeed);
  DeviceConfig config;
  config.passcode = passcode;
  config.uid = Bytes(kTargetUid.begin(), kTargetUid.end());
  auto device = Device::create_in_memory(config, *random);
  KCB_ASSERT(device.ok());
  for (const NewItem& item : target_items(passcode)) {
    KCB_ASSERT((*device)->add(item, *random).ok());
  }
  return std::move(device).value();
}

}  // namespace kcb::fuzz
