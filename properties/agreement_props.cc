// Agreement: for generated items, journey, target and settings, the engine's per-item outcome and
// road equal oracle::predict's. The engine side is a real run: a seeded source device, real adds,
// a real backup/restore/transfer, and iCloud Keychain as an actual account the devices join.
//
// How the engine's answer is read: outcome = the item is present and readable on the target with
// the same class and secret; road = `backup` when the restore report says restored, else
// `icloud-keychain` when the item appeared after sync, else none. iCloud Keychain is on for the
// engine when the settings say on, and for the icloud-keychain journey when they do not say (the
// oracle's reading of "unspecified" for that journey).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <sstream>

#include "engine/backup.h"
#include "engine/icloud_keychain.h"
#include "oracle/predict.h"
#include "properties/generators.h"

namespace kcb {
namespace {

using props::ItemSpec;

constexpr std::string_view kEscrow = "apple-id-secret";

struct Run {
  std::unique_ptr<Random> random;
  std::unique_ptr<Device> source;
  std::unique_ptr<Device> fresh;  // the other device, when there is one
  std::optional<CloudAccount> account;
  std::map<std::string, bool> restored_by_backup;  // account -> the report said restored
};

std::unique_ptr<Device> new_device(bool passcode, Random& random) {
  auto d = Device::create_in_memory({passcode, false, std::nullopt}, random);
  RC_ASSERT(d.ok());
  return std::move(d).value();
}

bool engine_icloud_on(const DeviceSettings& s, Journey j) {
  return s.icloud_keychain == Switch::kOn ||
         (s.icloud_keychain == Switch::kUnspecified && j == Journey::kIcloudKeychain);
}

void note_report(const RestoreReport& report, Run& run) {
  for (const ItemFate& f : report.items) {
    if (f.restored) run.restored_by_backup[f.account] = true;
  }
}

// Runs the journey and returns the device the items should arrive on.
Device& run_journey(Journey journey, Target target, const DeviceSettings& settings,
                    const std::string& password, Run& run) {
  Random& r = *run.random;
  if (journey == Journey::kQuickStart) {
    run.fresh = new_device(settings.passcode, r);
    auto report = quick_start(*run.source, *run.fresh, kFastKdf, r);
    RC_ASSERT(report.ok());
    note_report(*report, run);
    return *run.fresh;
  }
  if (journey == Journey::kIcloudKeychain) {
    run.fresh = new_device(settings.passcode, r);
    return *run.fresh;
  }
  auto bundle = make_backup(*run.source, {journey, password, kFastKdf}, r);
  RC_ASSERT(bundle.ok());
  Device* onto = run.source.get();
  if (target == Target::kSameDevice) {
    RC_ASSERT(run.source->erase(r).ok());
  } else {
    run.fresh = new_device(settings.passcode, r);
    onto = run.fresh.get();
  }
  auto report = restore_backup(*bundle, *onto, {password, {}}, r);
  RC_ASSERT(report.ok());
  note_report(*report, run);
  return *onto;
}

// Verdict as the engine produced it, for one item on the target.
Verdict engine_verdict(const ItemSpec& spec, const std::vector<StoredItem>& on_target,
                       const Run& run) {
  Verdict v;
  for (const StoredItem& s : on_target) {
    const std::string account(s.item.account().begin(), s.item.account().end());
    if (account != spec.account) continue;
    if (s.item.item_class() != spec.traits.item_class) continue;
    if (s.item.secret() != SecretBytes(ByteView(spec.secret))) continue;
    v.outcome = Outcome::kRestored;
    v.road = run.restored_by_backup.count(spec.account) ? Road::kBackup : Road::kIcloudKeychain;
  }
  return v;
}

RC_GTEST_PROP(Agreement, EngineOutcomeAndRoadEqualPredict, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const DeviceSettings settings = *props::gen_settings().as("settings");
  const Journey journey = *props::gen_journey().as("journey");
  const Target target = *props::gen_target_for(journey).as("target");
  const std::string password = *props::gen_password().as("password");
  const auto items = *props::gen_item_batch(1, 6).as("items");

  Run run;
  run.random = make_seeded_random(seed);
  Random& r = *run.random;
  const bool on = engine_icloud_on(settings, journey);
  run.source = new_device(settings.passcode, r);
  if (on) {
    auto account = CloudAccount::create(kEscrow, r);
    RC_ASSERT(account.ok());
    run.account.emplace(std::move(account).value());
    RC_ASSERT(run.account->join(*run.source, kEscrow, r).ok());
  }
  for (const ItemSpec& spec : items) {
    const AddError expected = oracle::check_add(spec.traits, settings.passcode);
    const AddError got = sec_error_of(run.source->add(props::new_item_of(spec), r).status());
    RC_ASSERT(got == expected);
  }
  if (on) RC_ASSERT(run.account->sync(*run.source, r).ok());

  const std::string backup_password = journey == Journey::kLocalEncrypted ? password : "";
  Device& onto = run_journey(journey, target, settings, backup_password, run);
  if (on) RC_ASSERT(run.account->join(onto, kEscrow, r).ok());
  auto listed = onto.list();
  RC_ASSERT(listed.ok());

  for (const ItemSpec& spec : items) {
    auto predicted = oracle::predict({spec.traits, journey, target, settings});
    RC_ASSERT(predicted.ok());
    const Verdict got = engine_verdict(spec, *listed, run);
    if (got.outcome != predicted->outcome || got.road != predicted->road) {
      std::ostringstream item;
      props::showValue(spec, item);
      RC_FAIL("item " + item.str() + ": engine " + std::string(name_of(got.outcome)) + " via " +
              std::string(name_of(got.road)) + ", oracle " +
              std::string(name_of(predicted->outcome)) + " via " +
              std::string(name_of(predicted->road)));
    }
  }
  RC_TAG(std::string(name_of(journey)), std::string(name_of(target)));
}

}  // namespace
}  // namespace kcb
