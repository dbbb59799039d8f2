// One journey run through the engine for real: the agreement property, the invariants and the
// journey fuzz target use it, and differ only in where the case comes from (RapidCheck or fuzzer
// bytes) and what they check about the answer.
//
// The run: a seeded source device with the case's passcode, kind of persistent reference and SOS
// setting; when iCloud Keychain is on, an account
// the source joins and syncs to; real adds; then the journey (backup + restore after an erase or
// onto a new device, Quick Start, or only a new device for the icloud-keychain journey); the target
// joins the account. iCloud Keychain is on only when the settings say on: "unspecified" runs as
// off, the oracle's reading of a question that does not say (rules.md). The new device has the
// case's passcode setting too, and the target's kind of reference (on the same device, the source
// switches to it after the backup, before the erase).
//
// How the engine's answer is read: outcome = an item of the same account, class and secret is
// readable on the target; road = backup when the restore report says it restored that account,
// else icloud-keychain; a tombstone is never readable (SecItemCopyMatching skips tomb = 1 rows).
// Reference: for an item restored by the backup road, kept when the target's reference equals the
// one the source handed out before the journey, else renewed; none otherwise. No oracle here: the
// callers compare.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::harness {

// One item to add: traits, a unique account and its secret.
struct ItemSpec {
  Traits traits;
  std::string account;
  Bytes secret;
};

// What SecItemAdd is given for a spec (label = account: cert and keys are unique by label).
NewItem new_item_of(const ItemSpec& spec);

struct JourneyCase {
  uint64_t seed = 0;
  DeviceSettings settings;
  Journey journey = Journey::kLocal;
  Target target = Target::kSameDevice;
  std::string password;  // used by local-encrypted only; must then be non-empty
  // The password given at restore when it is not the backup's: a refused restore (PermissionDenied)
  // is then a result (restore_refused), not an error.
  std::optional<std::string> wrong_restore_password;
  std::vector<ItemSpec> items;
};

// The engine's side, item by item in the case's order.
struct JourneyResult {
  std::vector<AddError> add_errors;  // what SecItemAdd answered on the source
  std::vector<Verdict> verdicts;     // outcome and road on the target (rules and notes empty)
  std::vector<RefFate> references;   // by the backup road: kept or renewed; otherwise none
  std::vector<std::string> target_accounts;  // every account readable on the target at the end
  bool restore_refused = false;
};

// An error is an engine failure on a valid run (a step named in its context), never a verdict.
Result<JourneyResult> run_journey_case(const JourneyCase& c);

}  // namespace kcb::harness
