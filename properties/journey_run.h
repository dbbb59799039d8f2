// One journey run through the engine for real, shared by the agreement property
// (properties/agreement_props.cc) and the journey fuzz target (fuzz/journey.cc), which differ only
// in where the case comes from (RapidCheck or fuzzer bytes) and how a disagreement is reported.
//
// The run: a seeded source device with the case's passcode; when iCloud Keychain is on, an account
// the source joins and syncs to; real adds; then the journey (backup + restore after an erase or
// onto a new device, Quick Start, or only a new device for the icloud-keychain journey); the target
// joins the account. iCloud Keychain is on only when the settings say on: "unspecified" runs as
// off, the oracle's reading of a question that does not say (rules.md).
//
// How the engine's answer is read: outcome = an item of the same account, class and secret is
// readable on the target; road = backup when the restore report says it restored that account,
// else icloud-keychain. No oracle here: the callers compare.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/backup.h"
#include "kcbackup/device.h"
#include "engine/icloud_keychain.h"
#include "kcbackup/random.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::props {

// One item to add: traits, a unique account and its secret.
struct ItemSpec {
  Traits traits;
  std::string account;
  Bytes secret;
};

// What SecItemAdd is given for a spec.
inline NewItem new_item_of(const ItemSpec& s) {
  NewItem n = new_item_with(s.traits);
  n.account = s.account;
  n.service = "props";
  n.label = s.account;  // cert and keys are unique by label, not account
  n.secret = SecretBytes(ByteView(s.secret));
  return n;
}

struct JourneyCase {
  uint64_t seed = 0;
  DeviceSettings settings;
  Journey journey = Journey::kLocal;
  Target target = Target::kSameDevice;
  std::string password;  // used by local-encrypted only; must then be non-empty
  std::vector<ItemSpec> items;
};

// The engine's side, item by item in the case's order.
struct JourneyResult {
  std::vector<AddError> add_errors;  // what SecItemAdd answered on the source
  std::vector<Verdict> verdicts;     // outcome and road on the target (rules and notes empty)
};

namespace journey_detail {

inline constexpr std::string_view kEscrow = "apple-id-secret";

struct Run {
  std::unique_ptr<Random> random;
  std::unique_ptr<Device> source;
  std::unique_ptr<Device> fresh;  // the other device, when there is one
  std::optional<CloudAccount> account;
  std::map<std::string, bool> restored_by_backup;  // account -> the report said restored
};

inline bool icloud_on(const JourneyCase& c) {
  return c.settings.icloud_keychain == Switch::kOn;
}

inline Result<std::unique_ptr<Device>> new_device(const JourneyCase& c, Random& r) {
  return Device::create_in_memory({c.settings.passcode, false, std::nullopt}, r);
}

inline Status note_report(Result<RestoreReport> report, Run& run) {
  KCB_RETURN_IF_ERROR(report.status().with_context("restore"));
  for (const ItemFate& f : report->items) {
    if (f.restored) run.restored_by_backup[f.account] = true;
  }
  return Status::Ok();
}

// Runs the journey; returns the device the items should arrive on.
inline Result<Device*> travel(const JourneyCase& c, Run& run) {
  Random& r = *run.random;
  if (c.journey == Journey::kQuickStart || c.journey == Journey::kIcloudKeychain) {
    KCB_ASSIGN_OR_RETURN(run.fresh, new_device(c, r));
    if (c.journey == Journey::kQuickStart) {
      KCB_RETURN_IF_ERROR(note_report(quick_start(*run.source, *run.fresh, kFastKdf, r), run));
    }
    return run.fresh.get();
  }
  const std::string password = c.journey == Journey::kLocalEncrypted ? c.password : "";
  auto bundle = make_backup(*run.source, {c.journey, password, kFastKdf}, r);
  KCB_RETURN_IF_ERROR(bundle.status().with_context("backup"));
  Device* onto = run.source.get();
  if (c.target == Target::kSameDevice) {
    KCB_RETURN_IF_ERROR(run.source->erase(r).with_context("erase"));
  } else {
    KCB_ASSIGN_OR_RETURN(run.fresh, new_device(c, r));
    onto = run.fresh.get();
  }
  KCB_RETURN_IF_ERROR(note_report(restore_backup(*bundle, *onto, {password, {}}, r), run));
  return onto;
}

inline Verdict verdict_on(const ItemSpec& spec, const std::vector<StoredItem>& on_target,
                          const Run& run) {
  Verdict v;
  for (const StoredItem& s : on_target) {
    const std::string account(s.item.account().begin(), s.item.account().end());
    if (account != spec.account || s.item.item_class() != spec.traits.item_class) continue;
    if (s.item.secret() != SecretBytes(ByteView(spec.secret))) continue;
    v.outcome = Outcome::kRestored;
    v.road = run.restored_by_backup.count(spec.account) ? Road::kBackup : Road::kIcloudKeychain;
  }
  return v;
}

}  // namespace journey_detail

// An error is an engine failure on a valid run (a step named in its context), never a verdict.
inline Result<JourneyResult> run_journey_case(const JourneyCase& c) {
  using namespace journey_detail;
  Run run;
  run.random = make_seeded_random(c.seed);
  Random& r = *run.random;
  const bool on = icloud_on(c);
  KCB_ASSIGN_OR_RETURN(run.source, new_device(c, r));
  if (on) {
    KCB_ASSIGN_OR_RETURN(CloudAccount account, CloudAccount::create(kEscrow, r));
    run.account.emplace(std::move(account));
    KCB_RETURN_IF_ERROR(run.account->join(*run.source, kEscrow, r).with_context("join source"));
  }
  JourneyResult result;
  for (const ItemSpec& spec : c.items) {
    result.add_errors.push_back(sec_error_of(run.source->add(new_item_of(spec), r).status()));
  }
  if (on) KCB_RETURN_IF_ERROR(run.account->sync(*run.source, r).status().with_context("sync"));
  KCB_ASSIGN_OR_RETURN(Device * onto, travel(c, run));
  if (on) KCB_RETURN_IF_ERROR(run.account->join(*onto, kEscrow, r).with_context("join target"));
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> listed, onto->list());
  for (const ItemSpec& spec : c.items)
    result.verdicts.push_back(verdict_on(spec, listed, run));
  return result;
}

}  // namespace kcb::props
