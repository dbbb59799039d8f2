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

// R1, R10, R15: whether a backup or transfer made on a device with the legacy sync circle (SOS)
// on or off contains the item: not akpu, no token, no auth constraint, not system-bound, not an
// App Clip's, and a tombstone only with SOS on. Quick Start uses the same export (inferred).
bool is_exportable(const Traits& t, bool sos = false);
// R6: whether the item can travel through iCloud Keychain when both devices have it on. A
// tombstone is not an item and does not travel as one (R15). An App Clip's synchronizable item
// does: R10 restricts the export to backups, and no source says the sync engine skips it.
bool can_sync(const Traits& t);

// R8/R9: the error SecItemAdd returns for an item with these traits on a device with or without a
// passcode (duplicates need a store, so they are the caller's check), kNone when the add succeeds.
AddError check_add(const Traits& t, bool device_has_passcode);

// R8: whether turning the passcode off deletes the item.
bool deleted_when_passcode_removed(const Traits& t);

// R7: whether restoring a backup onto a device deletes this (pre-existing) item of the device.
// False for synchronizable items (they stay) and system-bound ones (R12: exported before the
// restore and put back after it).
bool replaced_by_restore(const Traits& t);

// R13 (with R7, R12, R15): the verdict for a backup item of question `q` whose primary key an item
// already on the target has (`on_target`, of the same class). The target's synchronizable or
// system-bound item stays and the backup's copy is skipped: kept, whatever the backup held; a
// synchronizable tombstone there blocks the copy and nothing readable remains: lost. Any other
// target item was deleted before the import (R7), so the verdict is predict(q)'s. InvalidArgument
// for an icloud-keychain journey (a sync, not an import), two classes, or what predict refuses.
Result<Verdict> predict_collision(const Question& q, const Traits& on_target);

// What happens to a persistent reference (R11) an app stored, with the rules, confidence and notes
// that decided it.
struct RefVerdict {
  RefFate fate = RefFate::kNone;
  RuleSet rules;
  Confidence confidence = Confidence::kInferred;
  NoteSet notes;
  bool operator==(const RefVerdict&) const = default;
};

// R11: a row that a restore or transfer re-inserts with the reference it carried, onto a device
// that hands out `target` references: kept, except renewed when the carried one is old-style and
// the target hands out UUID ones (Apple's
// testSecItemRestoreBackupOldStylePrefsAndAddUUIDPersistentRefs), when its rowid is taken, or
// (inferred) when it is UUID-based and the target hands out old-style ones.
RefVerdict reinserted_ref(PersistentRefKind carried, PersistentRefKind target, bool rowid_taken);

// R11: the stored reference of the source's item of `q`, whose verdict on the journey is `v`
// (from predict or predict_collision). The source hands out q.settings.persistent_refs, the target
// q.settings.target_persistent_refs at the restore. `rowid_taken` is a question about the target's
// state that no trait answers: whether, once the restore has deleted what R7 deletes, a row of the
// item's class still holds the rowid of its backup reference (false on an erased or new phone).
//   lost: none. Restored by the backup: kept, except renewed when the backup carried an old-style
//   reference and the target hands out UUID ones, or the rowid is taken (and, inferred, when the
//   backup carried a UUID one and the target hands out old-style ones). Restored by iCloud
//   Keychain: renewed (a new row on the target; the sync carries no persistent reference,
//   inferred). Kept by a collision (R13): kept on the same device (the target's version is the
//   item the reference named), renewed on another (inferred).
RefVerdict predict_ref(const Question& q, const Verdict& v, bool rowid_taken);

// R12, R13, R7: the reference of an item already on the target through a restore onto it, when it
// handed out `had` and the device hands out `now` at the restore. Synchronizable: the row stays,
// kept. System-bound: put back after the import, kept, except renewed when `had` is old-style and
// `now` is UUID (Apple's testSecItemRestoreSysboundBackupAndAddUUIDPersistentRefs) or its rowid
// was taken by the import. Anything else is deleted by the restore: none.
RefVerdict target_item_ref(const Traits& on_target, PersistentRefKind had, PersistentRefKind now,
                           bool rowid_taken);

}  // namespace kcb::oracle
