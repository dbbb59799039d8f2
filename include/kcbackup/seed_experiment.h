// The seed's experiment (Apple DTS, 2018) on simulated devices: a phone saves a WhenUnlocked
// ("Normal") and a WhenUnlockedThisDeviceOnly generic password, is backed up local,
// local-encrypted and icloud-backup, and each backup is restored onto a different phone and onto
// the same phone after an erase. Real cryptography throughout; the KDF runs with kFastKdf (the
// experiment's password protects nothing). The oracle is not asked: `kcbackup demo` compares.
#pragma once

#include <map>
#include <tuple>

#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

// The two classes and three journeys the experiment measured.
inline constexpr Accessibility kSeedClasses[] = {Accessibility::kWhenUnlocked,
                                                 Accessibility::kWhenUnlockedThisDeviceOnly};
inline constexpr Journey kSeedJourneys[] = {Journey::kLocal, Journey::kLocalEncrypted,
                                            Journey::kIcloudBackup};

// (accessible, journey, target) -> the item was on the target after the restore.
using SeedExperimentResults = std::map<std::tuple<Accessibility, Journey, Target>, bool>;

Result<SeedExperimentResults> run_seed_experiment(Random& random);

}  // namespace kcb
