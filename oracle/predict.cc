#include "kcbackup/oracle.h"

#include <algorithm>
#include <string>

#include "kcbackup/names.h"
#include "kcbackup/rules.h"

namespace kcb::oracle {

bool is_migratory(Accessibility a) {
  return a == Accessibility::kWhenUnlocked || a == Accessibility::kAfterFirstUnlock ||
         a == Accessibility::kAlways;
}

bool is_this_device_only(Accessibility a) {
  return !is_migratory(a);
}

namespace {

// R1 alone: the export filter's classes and traits.
bool passes_r1(const Traits& t) {
  return t.accessible != Accessibility::kWhenPasscodeSetThisDeviceOnly && t.token == Token::kNone &&
         !t.auth_constraint && t.system_bound == SystemBound::kNone;
}

}  // namespace

bool is_exportable(const Traits& t, bool sos) {
  return passes_r1(t) && !t.app_clip && (!t.tombstone || sos);  // R1, R10, R15
}

bool can_sync(const Traits& t) {
  return t.synchronizable && is_migratory(t.accessible) && t.token == Token::kNone &&
         !t.auth_constraint && !t.tombstone;
}

AddError check_add(const Traits& t, bool device_has_passcode) {
  if (t.auth_constraint && t.synchronizable) return AddError::kParam;                        // R9
  if (t.token != Token::kNone && t.item_class != ItemClass::kKeys) return AddError::kParam;  // R9
  if (t.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly && !device_has_passcode) {
    return AddError::kAuthFailed;  // R8
  }
  return AddError::kNone;
}

bool deleted_when_passcode_removed(const Traits& t) {
  return t.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly;  // R8
}

bool replaced_by_restore(const Traits& t) {
  return !t.synchronizable && t.system_bound == SystemBound::kNone;
}  // R7

namespace {

// A verdict under construction: each decisive rule is recorded with the confidence of the clause
// that applied, and the verdict is only as strong as its weakest clause.
struct Builder {
  Verdict v{Outcome::kLost, Road::kNone, {}, Confidence::kMeasured, {}};

  void apply(RuleId id, Confidence c) {
    v.rules.add(id);
    v.confidence = std::max(v.confidence, c);
  }
  void restored(Road road) {
    v.outcome = Outcome::kRestored;
    v.road = road;
  }
  bool is_restored() const { return v.outcome == Outcome::kRestored; }
};

// R8/R9: an item that SecItemAdd refuses never exists, so there is nothing to restore.
bool refused_at_add(const Question& q, Builder& b) {
  switch (check_add(q.traits, q.settings.passcode)) {
    case AddError::kNone:
    case AddError::kDuplicateItem:
    case AddError::kItemNotFound:  // check_add never says this; an add has no item to find
      return false;
    case AddError::kAuthFailed:
      b.apply(RuleId::R8, Confidence::kSourceCode);
      b.v.notes.add(Note::kAddFailsNoPasscode);
      return true;
    case AddError::kParam:
      b.apply(RuleId::R9, Confidence::kSourceCode);
      b.v.notes.add(q.traits.auth_constraint && q.traits.synchronizable
                        ? Note::kAddFailsAuthSync
                        : Note::kAddFailsTokenClass);
      return true;
  }
  return false;
}

// R1 and R10: true when the backup (or transfer) carries the item; otherwise records why not.
// Tombstones (R15) never get here: predict answers them first.
bool passes_export_filter(const Question& q, Builder& b) {
  const Traits& t = q.traits;
  if (t.app_clip) {
    // R10 is Apple's export query; that Quick Start runs the same export is inferred.
    b.apply(RuleId::R10,
            q.journey == Journey::kQuickStart ? Confidence::kInferred : Confidence::kSourceCode);
    b.v.notes.add(Note::kAppClipNeverExported);
  }
  if (passes_r1(t)) return !t.app_clip;
  const bool only_auth = t.auth_constraint && t.token == Token::kNone &&
                         t.system_bound == SystemBound::kNone &&
                         t.accessible != Accessibility::kWhenPasscodeSetThisDeviceOnly;
  b.apply(RuleId::R1, only_auth ? Confidence::kInferred : Confidence::kSourceCode);
  if (t.token != Token::kNone) b.v.notes.add(Note::kSecureEnclaveNeverLeaves);
  if (t.auth_constraint) b.v.notes.add(Note::kAuthConstraintSkipped);
  if (t.accessible == Accessibility::kWhenPasscodeSetThisDeviceOnly) {
    b.v.notes.add(Note::kPasscodeRemovalDeletes);
  }
  // R12: same-device answers include a restore after an erase, where the item is gone; restoring
  // in place onto the device that holds it puts it back.
  if (t.system_bound != SystemBound::kNone && q.target == Target::kSameDevice) {
    b.v.notes.add(Note::kSystemBoundPutBack);
  }
  return false;
}

// R6 as a second road, used when the backup road did not bring the item back. It also serves the
// same device: after an erase, an opted-in phone gets its synchronizable items back from the
// account (this matters only for items the backup cannot carry, such as system-bound ones).
// `sync_journey` is the icloud-keychain journey itself, where R6 is the rule that decides even
// when the item cannot take the road. A question that does not say whether iCloud Keychain is on
// is answered for off on every journey, this one included (rules.md: the conservative verdict).
void try_sync_road(const Question& q, bool sync_journey, Builder& b) {
  if (!can_sync(q.traits)) {
    if (q.traits.synchronizable && is_this_device_only(q.traits.accessible)) {
      b.apply(RuleId::R6, Confidence::kSourceCode);
      b.v.notes.add(Note::kSyncThisDeviceOnlyNeverSyncs);
    } else if (sync_journey) {
      b.apply(RuleId::R6, Confidence::kDocumented);
    }
    return;
  }
  switch (q.settings.icloud_keychain) {
    case Switch::kOn:
      b.apply(RuleId::R6, Confidence::kDocumented);
      b.restored(Road::kIcloudKeychain);
      if (q.traits.app_clip) {
        // No source says whether the sync engine carries an App Clip's items: R6 as written.
        b.apply(RuleId::R10, Confidence::kInferred);
        b.v.notes.add(Note::kAppClipSyncFollowsR6);
      }
      return;
    case Switch::kOff:
      b.apply(RuleId::R6, Confidence::kDocumented);
      b.v.notes.add(Note::kIcloudKeychainOptedOut);
      return;
    case Switch::kUnspecified:
      // The conservative answer is "off"; the note says what changes with it on.
      if (sync_journey) b.apply(RuleId::R6, Confidence::kDocumented);
      b.v.notes.add(Note::kIcloudKeychainAssumedOff);
      return;
  }
}

// R2 (local) and R4 (iCloud Backup): every class key keeps the source UID's layer, so the backup
// restores only onto the same device.
void predict_uid_wrapped(const Question& q, RuleId rule, Builder& b) {
  const bool exported = passes_export_filter(q, b);
  if (exported) b.apply(rule, Confidence::kDocumented);
  if (exported && q.target == Target::kSameDevice) {
    b.restored(Road::kBackup);
    return;
  }
  if (exported && q.journey == Journey::kIcloudBackup) {
    b.v.notes.add(Note::kAdvancedDataProtection);
    if (is_this_device_only(q.traits.accessible)) {
      b.v.notes.add(Note::kReportedIcloudRestoreThisDeviceOnly);
    }
  }
  try_sync_road(q, /*sync_journey=*/false, b);
}

// R3: migratory class keys are wrapped by the password alone; ThisDeviceOnly keys keep the UID
// layer as well.
void predict_encrypted(const Question& q, Builder& b) {
  const bool exported = passes_export_filter(q, b);
  if (exported) b.apply(RuleId::R3, Confidence::kDocumented);
  if (exported && (q.target == Target::kSameDevice || is_migratory(q.traits.accessible))) {
    b.restored(Road::kBackup);
    return;
  }
  try_sync_road(q, /*sync_journey=*/false, b);
}

// R5: Quick Start moves what an encrypted backup would move to another device.
void predict_quick_start(const Question& q, Builder& b) {
  const bool exported = passes_export_filter(q, b);
  if (exported) b.apply(RuleId::R5, Confidence::kDocumented);
  if (exported && is_migratory(q.traits.accessible)) {
    b.restored(Road::kBackup);
    b.v.notes.add(Note::kQuickStartRoadIsTransfer);
    return;
  }
  if (exported && q.traits.accessible == Accessibility::kAlwaysThisDeviceOnly) {
    b.v.notes.add(Note::kReportedQuickStartThisDeviceOnly);
  }
  try_sync_road(q, /*sync_journey=*/false, b);
}

// R15: a tombstone marks a deleted item; it is never readable on any device, so it is never
// "restored". Whether the backup carries it is its whole fate, and the notes say which.
void predict_tombstone(const Question& q, Builder& b) {
  b.apply(RuleId::R15, Confidence::kSourceCode);
  b.v.notes.add(Note::kTombstoneNotReadable);
  if (q.journey == Journey::kIcloudKeychain) return;
  if (q.journey == Journey::kQuickStart) b.apply(RuleId::R15, Confidence::kInferred);
  b.v.notes.add(is_exportable(q.traits, q.settings.sos) ? Note::kTombstoneInBackup
                                                        : Note::kTombstoneNotInBackup);
}

bool matches_measured_row(const Question& q, const Verdict& v) {
  const Traits plain{q.traits.accessible, ItemClass::kGenp};
  if (!(q.traits == plain)) return false;
  return std::any_of(measured_table().begin(), measured_table().end(), [&](const MeasuredRow& r) {
    return r.accessible == q.traits.accessible && r.journey == q.journey && r.target == q.target &&
           r.measured == v.outcome;
  });
}

// Built once per journey: a sweep over the whole question space asks this thousands of times, and
// building the message each time was most of the cost of an unanswerable question.
const std::string& no_same_device_form(Journey j) {
  static const auto message = [](Journey journey) {
    return "journey '" + std::string(name_of(journey)) +
           "' has no same-device form: ask with target other-device";
  };
  static const std::string quick_start = message(Journey::kQuickStart);
  static const std::string icloud_keychain = message(Journey::kIcloudKeychain);
  return j == Journey::kQuickStart ? quick_start : icloud_keychain;
}

}  // namespace

Result<Verdict> predict(const Question& q) {
  if (!is_answerable({q.journey, q.target})) {
    return Status::InvalidArgument(no_same_device_form(q.journey));
  }
  Builder b;
  if (refused_at_add(q, b)) return b.v;
  if (q.traits.tombstone) {
    predict_tombstone(q, b);
    return b.v;
  }
  switch (q.journey) {
    case Journey::kLocal:
      predict_uid_wrapped(q, RuleId::R2, b);
      break;
    case Journey::kIcloudBackup:
      predict_uid_wrapped(q, RuleId::R4, b);
      break;
    case Journey::kLocalEncrypted:
      predict_encrypted(q, b);
      break;
    case Journey::kQuickStart:
      predict_quick_start(q, b);
      break;
    case Journey::kIcloudKeychain:
      try_sync_road(q, /*sync_journey=*/true, b);
      break;
  }
  if (matches_measured_row(q, b.v)) b.v.confidence = Confidence::kMeasured;
  return b.v;
}

Result<Verdict> predict_collision(const Question& q, const Traits& on_target) {
  if (q.journey == Journey::kIcloudKeychain) {
    return Status::InvalidArgument(
        "a collision (R13) happens when a restore or transfer imports an item; icloud-keychain "
        "is a sync");
  }
  if (q.traits.item_class != on_target.item_class) {
    return Status::InvalidArgument(
        "a collision (R13) needs the same primary key, so the same "
        "class: the backup item is " +
        std::string(name_of(q.traits.item_class)) + ", the target's " +
        std::string(name_of(on_target.item_class)));
  }
  KCB_ASSIGN_OR_RETURN(Verdict alone, predict(q));
  if (replaced_by_restore(on_target)) return alone;  // R7: deleted before the import
  Builder b;
  b.v.notes = alone.notes;
  if (on_target.synchronizable) {
    b.apply(RuleId::R13, Confidence::kSourceCode);
  } else {
    // R12 puts the target's system-bound item back; that the insert then fails for the backup's
    // copy, as in R13, is inferred (no Apple test has the two share a primary key).
    b.apply(RuleId::R12, Confidence::kInferred);
    b.apply(RuleId::R13, Confidence::kInferred);
  }
  if (on_target.tombstone) {
    // The target's tombstone row holds the primary key: the copy is skipped, nothing readable.
    b.apply(RuleId::R15, Confidence::kInferred);
    b.v.notes.add(Note::kCollisionTombstone);
    return b.v;
  }
  b.v.outcome = Outcome::kKept;
  b.v.notes.add(Note::kCollisionTargetKept);
  return b.v;
}

namespace {

RefVerdict ref_verdict(RefFate fate, RuleId rule, Confidence c, Note note) {
  RefVerdict r{fate, {}, c, {}};
  r.rules.add(rule);
  r.notes.add(note);
  return r;
}

RefVerdict reinserted_ref_with(PersistentRefKind carried, PersistentRefKind target,
                               bool rowid_taken, Confidence c) {
  RefVerdict r{RefFate::kKept, {}, c, {}};
  r.rules.add(RuleId::R11);
  r.notes.add(Note::kUuidRefsVersionNotPublic);
  if (carried == PersistentRefKind::kRowid && target == PersistentRefKind::kUuid) {
    r.fate = RefFate::kRenewed;
    r.notes.add(Note::kRefRenewedUuid);
  } else if (carried == PersistentRefKind::kUuid && target == PersistentRefKind::kRowid) {
    r.fate = RefFate::kRenewed;  // no Apple test covers a device going back to old-style ones
    r.confidence = Confidence::kInferred;
    r.notes.add(Note::kRefRenewedRowidTarget);
  } else if (carried == PersistentRefKind::kRowid && rowid_taken) {
    r.fate = RefFate::kRenewed;
    r.notes.add(Note::kRefRenewedRowidTaken);
  }
  return r;
}

}  // namespace

RefVerdict reinserted_ref(PersistentRefKind carried, PersistentRefKind target, bool rowid_taken) {
  return reinserted_ref_with(carried, target, rowid_taken, Confidence::kSourceCode);
}

RefVerdict predict_ref(const Question& q, const Verdict& v, bool rowid_taken) {
  switch (v.outcome) {
    case Outcome::kLost:
      return {RefFate::kNone, v.rules, v.confidence, {}};
    case Outcome::kKept: {
      // R13: the target's row stays. On the same device it is the item the app's reference named
      // (Apple's testSecItemRestoreConflictedUUIDPersistentReferenceItems); on another phone it is
      // that phone's own row, which the source's reference never named (inferred).
      const bool same = q.target == Target::kSameDevice;
      RefVerdict r =
          ref_verdict(same ? RefFate::kKept : RefFate::kRenewed, RuleId::R13,
                      same && q.settings.persistent_refs == q.settings.target_persistent_refs
                          ? Confidence::kSourceCode
                          : Confidence::kInferred,
                      Note::kCollisionTargetKept);
      r.rules.add(RuleId::R11);
      return r;
    }
    case Outcome::kRestored:
      break;
  }
  if (v.road == Road::kIcloudKeychain) {
    RefVerdict r =
        ref_verdict(RefFate::kRenewed, RuleId::R11, Confidence::kInferred, Note::kRefRenewedBySync);
    r.rules.add(RuleId::R6);
    return r;
  }
  // Quick Start runs the same export and import as a restore (R10's inference).
  return reinserted_ref_with(
      q.settings.persistent_refs, q.settings.target_persistent_refs, rowid_taken,
      q.journey == Journey::kQuickStart ? Confidence::kInferred : Confidence::kSourceCode);
}

RefVerdict target_item_ref(const Traits& on_target, PersistentRefKind had, PersistentRefKind now,
                           bool rowid_taken) {
  if (on_target.synchronizable) {
    // R7/R13: the row is never deleted, so its reference is the one it had.
    RefVerdict r{RefFate::kKept, {}, Confidence::kSourceCode, {}};
    r.rules.add(RuleId::R7);
    r.rules.add(RuleId::R11);
    return r;
  }
  if (on_target.system_bound != SystemBound::kNone) {
    RefVerdict r = reinserted_ref(had, now, rowid_taken);
    r.rules.add(RuleId::R12);
    r.notes.add(Note::kSystemBoundPutBack);
    return r;
  }
  RefVerdict r{RefFate::kNone, {}, Confidence::kSourceCode, {}};
  r.rules.add(RuleId::R7);
  return r;
}

std::array<Fate, std::size(kAllForms)> fates(const Traits& traits, const DeviceSettings& settings) {
  std::array<Fate, std::size(kAllForms)> out;
  for (size_t i = 0; i < out.size(); ++i) {
    const Form form = kAllForms[i];
    Result<Verdict> v = predict({traits, form.journey, form.target, settings});
    KCB_ASSERT(v.ok());  // every form of kAllForms is answerable
    out[i] = {form, *v};
  }
  return out;
}

}  // namespace kcb::oracle
