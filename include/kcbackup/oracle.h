// The reference model: what happens to one keychain item on one journey, according to the rules of
// rules.md and nothing else. Pure functions of their arguments; no allocation on the hot path.
// Read predict.cc beside rules.md: each branch cites the rule it implements.
#pragma once

#include <array>
#include <iterator>

#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb::oracle {

struct Question {
  Traits traits;
  Journey journey = Journey::kLocal;
  Target target = Target::kSameDevice;
  DeviceSettings settings;
};

// The verdict for one item, or InvalidArgument for a question that has no answer (a journey with no
// same-device form asked with same-device).
Result<Verdict> predict(const Question& q);

// One item's verdict on one form.
struct Fate {
  Form form;
  Verdict verdict;
};
// The item's verdict on every answerable form (kAllForms order): the whole row of `kcbackup table`
// and of an audit, without asking predict() questions it must refuse.
std::array<Fate, std::size(kAllForms)> fates(const Traits& traits, const DeviceSettings& settings);

// "Migratory" is Apple's word: only these classes may move to another device (rules.md vocabulary).
bool is_migratory(Accessibility a);
bool is_this_device_only(Accessibility a);

// R1: whether a backup or transfer may contain the item at all.
bool is_exportable(const Traits& t);
// R6: whether the item can travel through iCloud Keychain when both devices have it on.
bool can_sync(const Traits& t);

// R8/R9: the error SecItemAdd returns for an item with these traits on a device with or without a
// passcode (duplicates need a store, so they are the caller's check), kNone when the add succeeds.
AddError check_add(const Traits& t, bool device_has_passcode);

// R8: whether turning the passcode off deletes the item.
bool deleted_when_passcode_removed(const Traits& t);

// R7: whether restoring a backup onto a device deletes this (pre-existing) item of the device.
bool replaced_by_restore(const Traits& t);

}  // namespace kcb::oracle
