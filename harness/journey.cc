// The journey runner (include/kcbackup/journey.h).
#include "kcbackup/journey.h"

#include <map>
#include <memory>
#include <string_view>

#include "engine/icloud_keychain.h"
#include "engine/setup_profile.h"
#include "kcbackup/backup.h"
#include "kcbackup/lockstep.h"
#include "kcbackup/random.h"

namespace kcb::harness {
namespace {

constexpr std::string_view kEscrow = "apple-id-secret";

struct Run {
  std::unique_ptr<Random> random;
  std::unique_ptr<Device> source;
  std::unique_ptr<Device> fresh;  // the other device, when there is one
  std::optional<CloudAccount> account;
  std::map<std::string, bool> restored_by_backup;  // account -> the report said restored
  bool restore_refused = false;
};

Result<std::unique_ptr<Device>> new_device(const JourneyCase& c, PersistentRefKind refs, bool sos,
                                           Random& r) {
  return Device::create_in_memory({c.settings.passcode, false, std::nullopt, refs, sos}, r);
}

Result<std::unique_ptr<Device>> target_device(const JourneyCase& c, Random& r) {
  return new_device(c, c.settings.target_persistent_refs, false, r);
}

Status note_report(Result<RestoreReport> report, Run& run) {
  KCB_RETURN_IF_ERROR(report.status().with_context("restore"));
  for (const ItemFate& f : report->items) {
    if (f.restored) run.restored_by_backup[f.account] = true;
  }
  return Status::Ok();
}

// A restore given the wrong password on purpose may be refused; nothing else may fail.
Status note_restore(const JourneyCase& c, Result<RestoreReport> report, Run& run) {
  if (c.wrong_restore_password && !report.ok() &&
      report.status().code() == Code::kPermissionDenied) {
    run.restore_refused = true;
    return Status::Ok();
  }
  return note_report(std::move(report), run);
}

// Runs the journey; returns the device the items should arrive on.
Result<Device*> travel(const JourneyCase& c, Run& run) {
  Random& r = *run.random;
  if (!has_same_device_form(c.journey)) {
    KCB_ASSIGN_OR_RETURN(run.fresh, target_device(c, r));
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
    KCB_RETURN_IF_ERROR(run.source->set_persistent_refs(c.settings.target_persistent_refs, r));
    KCB_RETURN_IF_ERROR(run.source->erase(r).with_context("erase"));
  } else {
    KCB_ASSIGN_OR_RETURN(run.fresh, target_device(c, r));
    onto = run.fresh.get();
  }
  const std::string given = c.wrong_restore_password.value_or(password);
  KCB_RETURN_IF_ERROR(note_restore(c, restore_backup(*bundle, *onto, {given, {}, {}}, r), run));
  return onto;
}

std::string account_of(const Item& item) {
  return std::string(item.account().begin(), item.account().end());
}

const StoredItem* readable_on(const ItemSpec& spec, const std::vector<StoredItem>& on_target) {
  for (const StoredItem& s : on_target) {
    if (account_of(s.item) != spec.account || s.item.item_class() != spec.traits.item_class) {
      continue;
    }
    if (s.item.tombstone()) continue;  // no app reads a tombstone
    if (s.item.secret() == SecretBytes(ByteView(spec.secret))) return &s;
  }
  return nullptr;
}

Verdict verdict_on(const ItemSpec& spec, const std::vector<StoredItem>& on_target, const Run& run) {
  Verdict v;
  for (const StoredItem& s : on_target) {
    if (account_of(s.item) != spec.account || s.item.item_class() != spec.traits.item_class) {
      continue;
    }
    if (s.item.tombstone()) continue;  // no app reads a tombstone
    if (s.item.secret() != SecretBytes(ByteView(spec.secret))) continue;
    v.outcome = Outcome::kRestored;
    v.road = run.restored_by_backup.count(spec.account) ? Road::kBackup : Road::kIcloudKeychain;
  }
  return v;
}

}  // namespace

NewItem new_item_of(const ItemSpec& spec) {
  NewItem n = new_item_with(spec.traits);
  n.account = spec.account;
  n.service = std::string(kService);
  n.label = spec.account;  // cert and keys are unique by label, not account
  n.secret = SecretBytes(ByteView(spec.secret));
  return n;
}

Result<JourneyResult> run_journey_case(const JourneyCase& c) {
  Run run;
  run.random = make_seeded_random(c.seed);
  Random& r = *run.random;
  const bool on = c.settings.icloud_keychain == Switch::kOn;
  KCB_ASSIGN_OR_RETURN(run.source, new_device(c, c.settings.persistent_refs, c.settings.sos, r));
  if (on) {
    // The escrow KDF's cost decides nothing here (the secret is always right): the fast count,
    // as backups use kFastKdf, unless the baseline set-up is asked for (engine/setup_profile.h).
    const uint32_t rounds = baseline_setup() ? kEscrowIterations : kFastEscrowIterations;
    KCB_ASSIGN_OR_RETURN(CloudAccount account, CloudAccount::create(kEscrow, r, rounds));
    run.account.emplace(std::move(account));
    KCB_RETURN_IF_ERROR(run.account->join(*run.source, kEscrow, r).with_context("join source"));
  }
  JourneyResult result;
  // What an app stored before the journey: the reference SecItemAdd returned for each item (the
  // accounts are distinct, and the sync below pulls nothing onto the first device of an account,
  // so these are the references a listing of the source would show; not listing saves decrypting
  // every item once more, issue 17).
  std::map<std::string, Bytes> source_refs;
  for (const ItemSpec& spec : c.items) {
    Bytes ref;
    const Status added = run.source->add(new_item_of(spec), r, &ref).status();
    if (added.ok()) source_refs[spec.account] = std::move(ref);
    result.add_errors.push_back(sec_error_of(added));
  }
  if (on) KCB_RETURN_IF_ERROR(run.account->sync(*run.source, r).status().with_context("sync"));
  KCB_ASSIGN_OR_RETURN(Device * onto, travel(c, run));
  if (on) KCB_RETURN_IF_ERROR(run.account->join(*onto, kEscrow, r).with_context("join target"));
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> listed, onto->list());
  for (const ItemSpec& spec : c.items) {
    result.verdicts.push_back(verdict_on(spec, listed, run));
    RefFate ref = RefFate::kNone;
    const StoredItem* there = readable_on(spec, listed);
    if (there != nullptr && result.verdicts.back().road == Road::kBackup) {
      const auto was = source_refs.find(spec.account);
      ref = was != source_refs.end() && was->second == there->persistent_ref ? RefFate::kKept
                                                                             : RefFate::kRenewed;
    }
    result.references.push_back(ref);
  }
  for (const StoredItem& s : listed)
    result.target_accounts.push_back(account_of(s.item));
  result.restore_refused = run.restore_refused;
  return result;
}

}  // namespace kcb::harness
