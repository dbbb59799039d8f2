// iCloud Keychain (R6), small but real. An account holds synced items as v3 blobs sealed under an
// account sync key. Only member devices can open them: a device that joins gets its own copy of the
// sync key, wrapped with its device key 0x835, and uses only that copy. Joining needs the account's
// escrow secret (the user's iCloud credentials, simulated); leaving deletes the device's copy, so
// the road closes for that device even though the account still holds the items.
//
// What travels: items marked synchronizable, of classes 6-8 (the sync engine skips device-bound
// classes), with no token and no access-control constraint. Sync is explicit: sync(device) pushes
// the device's syncable items and then pulls every record the device lacks (same primary key =
// already there). Deleting an item and calling forget() removes its record from the account; other
// devices keep their copies.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/item.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

struct SyncReport {
  size_t pushed = 0;
  size_t pulled = 0;
};

// The identity of an item across devices: its class and primary-key attributes.
std::string sync_identity(const Item& item);

// PBKDF2-HMAC-SHA256 rounds of the escrow key that guards the sync key. Tests and fuzzing may use
// kFastEscrowIterations: the same code path at a fraction of the cost (the journey runner derives
// the key three times per case; at 1,000 rounds that was 43 % of a fuzzed journey's CPU time).
inline constexpr uint32_t kEscrowIterations = 1000;
inline constexpr uint32_t kFastEscrowIterations = 10;

class CloudAccount {
 public:
  // escrow_iterations >= 1 (InvalidArgument otherwise); every join derives with the same count.
  static Result<CloudAccount> create(std::string_view escrow_secret, Random& random,
                                     uint32_t escrow_iterations = kEscrowIterations);

  // PermissionDenied for a wrong escrow secret. Turns iCloud Keychain on for the device and syncs.
  Status join(Device& device, std::string_view escrow_secret, Random& random);
  // Turns iCloud Keychain off for the device and drops its copy of the sync key. Its items stay.
  Status leave(Device& device);
  bool is_member(const Device& device) const;

  // FailedPrecondition when the device is not a member.
  Result<SyncReport> sync(Device& device, Random& random);
  // Removes the record of a deleted synchronizable item.
  void forget(const Item& item);

 private:
  CloudAccount() = default;
  Result<SecretBytes> sync_key_for(const Device& device) const;

  Bytes escrow_salt_;
  uint32_t escrow_iterations_ = kEscrowIterations;
  Bytes escrowed_key_;                        // the sync key wrapped with the escrow key
  std::map<std::string, Bytes> member_keys_;  // UniqueDeviceID -> sync key wrapped with 0x835
  std::map<std::string, std::pair<ItemClass, Bytes>> records_;  // identity -> (class, v3 blob)
};

// Whether the sync engine carries this item (R6's mechanism).
bool travels_by_icloud_keychain(const Item& item);

}  // namespace kcb
