// The seed's experiment on simulated devices (kcbackup/seed_experiment.h).
#include "kcbackup/seed_experiment.h"

#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/backup.h"
#include "kcbackup/device.h"

namespace kcb {
namespace {

constexpr const char* kPassword = "seed-experiment";

// The seed's app named its two items after their class.
std::string account_of(Accessibility a) {
  return a == Accessibility::kWhenUnlocked ? "normal" : "thisDeviceOnly";
}

NewItem seed_item(Accessibility accessible, Random& random) {
  NewItem item;
  item.accessible = accessible;
  item.account = account_of(accessible);
  item.service = "com.example.seed";
  // The seed's app stored the time it saved, so a restored value is recognisable.
  item.secret = SecretBytes(as_bytes("saved at " + std::to_string(random.now_unix_seconds())));
  return item;
}

Result<bool> holds(Device& device, std::string_view account) {
  KCB_ASSIGN_OR_RETURN(std::vector<StoredItem> items, device.list());
  for (const StoredItem& s : items) {
    if (std::string_view(reinterpret_cast<const char*>(s.item.account().data()),
                         s.item.account().size()) == account) {
      return true;
    }
  }
  return false;
}

Status record(Device& target, Journey journey, Target where, SeedExperimentResults& out) {
  for (Accessibility a : kSeedClasses) {
    KCB_ASSIGN_OR_RETURN(bool restored, holds(target, account_of(a)));
    out[{a, journey, where}] = restored;
  }
  return Status::Ok();
}

// One journey: back up, restore onto a new phone, erase, restore onto the same.
Status run_journey(Journey journey, Random& random, SeedExperimentResults& out) {
  KCB_ASSIGN_OR_RETURN(auto phone, Device::create_in_memory({}, random));
  for (Accessibility a : kSeedClasses) {
    KCB_RETURN_IF_ERROR(phone->add(seed_item(a, random), random).status());
  }
  const std::string password = journey == Journey::kLocalEncrypted ? kPassword : "";
  KCB_ASSIGN_OR_RETURN(BackupFolder bundle,
                       make_backup(*phone, {journey, password, kFastKdf}, random));
  const RestoreOptions restore{password, {}, {}};

  KCB_ASSIGN_OR_RETURN(auto other, Device::create_in_memory({}, random));
  KCB_RETURN_IF_ERROR(restore_backup(bundle, *other, restore, random).status());
  KCB_RETURN_IF_ERROR(record(*other, journey, Target::kOtherDevice, out));

  KCB_RETURN_IF_ERROR(phone->erase(random));
  KCB_RETURN_IF_ERROR(restore_backup(bundle, *phone, restore, random).status());
  return record(*phone, journey, Target::kSameDevice, out);
}

}  // namespace

Result<SeedExperimentResults> run_seed_experiment(Random& random) {
  SeedExperimentResults out;
  for (Journey j : kSeedJourneys) {
    KCB_RETURN_IF_ERROR(run_journey(j, random, out));
  }
  return out;
}

}  // namespace kcb
