// The oracle against rules.md: the measured table row by row, then each rule R1..R15 through a
// question that only that rule decides, then Apple's KeychainBackupTests scenarios as the oracle
// predicts them, then oracle::World through the same scenarios.
#include <gtest/gtest.h>

#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"
#include "kcbackup/world.h"

namespace kcb::oracle {
namespace {

Traits item(Accessibility a) {
  return Traits{a, ItemClass::kGenp};
}

Verdict ask(Traits t, Journey j, Target target, DeviceSettings s = {}) {
  auto v = predict({t, j, target, s});
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : Verdict{};
}

constexpr auto kAk = Accessibility::kWhenUnlocked;
constexpr auto kCk = Accessibility::kAfterFirstUnlock;
constexpr auto kAku = Accessibility::kWhenUnlockedThisDeviceOnly;
constexpr auto kDku = Accessibility::kAlwaysThisDeviceOnly;
constexpr auto kAkpu = Accessibility::kWhenPasscodeSetThisDeviceOnly;
constexpr auto kSame = Target::kSameDevice;
constexpr auto kOther = Target::kOtherDevice;
const DeviceSettings kSyncOn{true, Switch::kOn};

// rules.md's vocabulary table, restated here so the tests do not trust the oracle's own helper.
bool migratory_per_rules_md(Accessibility a) {
  return a == kAk || a == kCk || a == Accessibility::kAlways;
}
const DeviceSettings kSyncOff{true, Switch::kOff};

TEST(MeasuredTable, HasTwelveRowsAndTheOracleReproducesEachWithMeasuredConfidence) {
  ASSERT_EQ(measured_table().size(), 12u);
  for (const auto& row : measured_table()) {
    const Verdict v = ask(item(row.accessible), row.journey, row.target);
    SCOPED_TRACE(std::string(names_of(row.accessible).name) + " " +
                 std::string(name_of(row.journey)) + " " + std::string(name_of(row.target)));
    EXPECT_EQ(v.outcome, row.measured);
    EXPECT_EQ(v.confidence, Confidence::kMeasured);
    EXPECT_EQ(v.road, row.measured == Outcome::kRestored ? Road::kBackup : Road::kNone);
    EXPECT_FALSE(row.source.empty());
  }
}

TEST(MeasuredTable, ConfidenceIsMeasuredOnlyForTheMeasuredItemShape) {
  Traits sync = item(kAk);
  sync.synchronizable = true;
  EXPECT_NE(ask(sync, Journey::kLocal, kSame).confidence, Confidence::kMeasured);
  EXPECT_NE(ask(item(kCk), Journey::kLocal, kSame).confidence, Confidence::kMeasured);
}

TEST(R1ExportFilter, AkpuSecureEnclaveAndAuthConstrainedItemsNeverComeBack) {
  Traits se{kAk, ItemClass::kKeys, false, Token::kSecureEnclave};
  Traits auth{kAk, ItemClass::kGenp, false, Token::kNone, true};
  Traits sysb = item(kAk);
  sysb.system_bound = SystemBound::kPreserveDuringRestore;
  for (Journey j : {Journey::kLocal, Journey::kLocalEncrypted, Journey::kIcloudBackup}) {
    for (Target t : kAllTargets) {
      for (const Traits& tr : {item(kAkpu), se, auth, sysb}) {
        const Verdict v = ask(tr, j, t);
        EXPECT_EQ(v.outcome, Outcome::kLost);
        EXPECT_TRUE(v.rules.has(RuleId::R1));
      }
    }
  }
  EXPECT_EQ(ask(auth, Journey::kLocal, kSame).confidence, Confidence::kInferred);
  EXPECT_EQ(ask(se, Journey::kLocal, kSame).confidence, Confidence::kSourceCode);
  EXPECT_TRUE(ask(se, Journey::kLocal, kSame).notes.has(Note::kSecureEnclaveNeverLeaves));
}

TEST(R1ExportFilter, SynchronizableItemsAreExported) {
  Traits t = item(kAk);
  t.synchronizable = true;
  const Verdict v = ask(t, Journey::kLocal, kSame);
  EXPECT_EQ(v.outcome, Outcome::kRestored);
  EXPECT_EQ(v.road, Road::kBackup);
}

TEST(R2LocalBackup, RestoresToTheSameDeviceOnly) {
  for (Accessibility a : {kAk, kCk, Accessibility::kAlways, kAku, kDku}) {
    EXPECT_EQ(ask(item(a), Journey::kLocal, kSame).outcome, Outcome::kRestored);
    const Verdict other = ask(item(a), Journey::kLocal, kOther);
    EXPECT_EQ(other.outcome, Outcome::kLost);
    EXPECT_TRUE(other.rules.has(RuleId::R2));
  }
}

TEST(R3EncryptedBackup, MigratoryClassesMoveThisDeviceOnlyClassesStay) {
  for (Accessibility a : kAllAccessibilities) {
    if (a == kAkpu) continue;
    const Verdict same = ask(item(a), Journey::kLocalEncrypted, kSame);
    const Verdict other = ask(item(a), Journey::kLocalEncrypted, kOther);
    EXPECT_EQ(same.outcome, Outcome::kRestored);
    EXPECT_EQ(other.outcome, migratory_per_rules_md(a) ? Outcome::kRestored : Outcome::kLost);
    EXPECT_TRUE(other.rules.has(RuleId::R3));
  }
}

TEST(R4IcloudBackup, ActsLikeAnUnencryptedBackupAndNotesAdvancedDataProtection) {
  const Verdict other = ask(item(kCk), Journey::kIcloudBackup, kOther);
  EXPECT_EQ(other.outcome, Outcome::kLost);
  EXPECT_TRUE(other.rules.has(RuleId::R4));
  EXPECT_TRUE(other.notes.has(Note::kAdvancedDataProtection));
  EXPECT_EQ(ask(item(kCk), Journey::kIcloudBackup, kSame).outcome, Outcome::kRestored);
}

TEST(R5QuickStart, MovesMigratoryItemsOnlyAndKeepsReportsAsNotes) {
  EXPECT_EQ(ask(item(kCk), Journey::kQuickStart, kOther).outcome, Outcome::kRestored);
  EXPECT_EQ(ask(item(kCk), Journey::kQuickStart, kOther).road, Road::kBackup);
  const Verdict dku = ask(item(kDku), Journey::kQuickStart, kOther);
  EXPECT_EQ(dku.outcome, Outcome::kLost);  // the seed's report is a note, not the verdict
  EXPECT_TRUE(dku.notes.has(Note::kReportedQuickStartThisDeviceOnly));
  EXPECT_TRUE(note_text(Note::kReportedQuickStartThisDeviceOnly).starts_with("reported:"));
  EXPECT_NE(dku.confidence, Confidence::kReported);
  const Verdict aku = ask(item(kAku), Journey::kIcloudBackup, kOther);
  EXPECT_TRUE(aku.notes.has(Note::kReportedIcloudRestoreThisDeviceOnly));
  EXPECT_EQ(aku.outcome, Outcome::kLost);
}

TEST(R6IcloudKeychain, SeedFirstAnswerAndItsCorrection) {
  Traits t = item(kAk);
  t.synchronizable = true;
  // With iCloud Keychain on, a synchronizable item comes back on a new phone via the sync road...
  const Verdict on = ask(t, Journey::kIcloudBackup, kOther, kSyncOn);
  EXPECT_EQ(on.outcome, Outcome::kRestored);
  EXPECT_EQ(on.road, Road::kIcloudKeychain);
  EXPECT_TRUE(on.rules.has(RuleId::R4));
  EXPECT_TRUE(on.rules.has(RuleId::R6));
  // ...and is lost when the user opted out.
  const Verdict off = ask(t, Journey::kIcloudBackup, kOther, kSyncOff);
  EXPECT_EQ(off.outcome, Outcome::kLost);
  EXPECT_TRUE(off.notes.has(Note::kIcloudKeychainOptedOut));
  // Not said: the conservative answer, with a note on what changes.
  const Verdict unsaid = ask(t, Journey::kLocal, kOther);
  EXPECT_EQ(unsaid.outcome, Outcome::kLost);
  EXPECT_TRUE(unsaid.notes.has(Note::kIcloudKeychainAssumedOff));
}

TEST(R6IcloudKeychain, BackupRoadTakesPrecedence) {
  Traits t = item(kAk);
  t.synchronizable = true;
  EXPECT_EQ(ask(t, Journey::kLocalEncrypted, kOther, kSyncOn).road, Road::kBackup);
  EXPECT_EQ(ask(t, Journey::kQuickStart, kOther, kSyncOn).road, Road::kBackup);
}

TEST(R6IcloudKeychain, OnlyMigratoryTokenlessUnconstrainedSynchronizableItemsSync) {
  Traits t = item(kAk);
  t.synchronizable = true;
  EXPECT_EQ(ask(t, Journey::kIcloudKeychain, kOther, kSyncOn).outcome, Outcome::kRestored);
  EXPECT_EQ(ask(t, Journey::kIcloudKeychain, kOther, kSyncOff).outcome, Outcome::kLost);
  EXPECT_EQ(ask(item(kAk), Journey::kIcloudKeychain, kOther, kSyncOn).outcome, Outcome::kLost);
  Traits tdo = item(kAku);
  tdo.synchronizable = true;
  const Verdict never = ask(tdo, Journey::kIcloudKeychain, kOther, kSyncOn);
  EXPECT_EQ(never.outcome, Outcome::kLost);
  EXPECT_TRUE(never.notes.has(Note::kSyncThisDeviceOnlyNeverSyncs));
  Traits se{kAk, ItemClass::kKeys, true, Token::kSecureEnclave};
  EXPECT_EQ(ask(se, Journey::kIcloudKeychain, kOther, kSyncOn).outcome, Outcome::kLost);
}

// rules.md: a question that does not say is answered for off, the sync journey included; R6 is
// still the rule that decided, and the note says what changes with it on.
TEST(R6IcloudKeychain, TheJourneyItselfIsAnsweredForOffWhenNotSaid) {
  Traits t = item(kCk);
  t.synchronizable = true;
  const Verdict v = ask(t, Journey::kIcloudKeychain, kOther);
  EXPECT_EQ(v.outcome, Outcome::kLost);
  EXPECT_TRUE(v.rules.has(RuleId::R6));
  EXPECT_TRUE(v.notes.has(Note::kIcloudKeychainAssumedOff));
}

TEST(R7RestoreReplaces, NonSynchronizableNonSystemItemsAreReplaced) {
  Traits t = item(kAk);
  EXPECT_TRUE(replaced_by_restore(t));
  t.synchronizable = true;
  EXPECT_FALSE(replaced_by_restore(t));
  Traits sysb = item(kAku);
  sysb.system_bound = SystemBound::kPreserveDuringRestore;
  EXPECT_FALSE(replaced_by_restore(sysb));
}

TEST(R8Passcode, AkpuNeedsAPasscodeAndDiesWithIt) {
  EXPECT_EQ(check_add(item(kAkpu), false), AddError::kAuthFailed);
  EXPECT_EQ(static_cast<int>(AddError::kAuthFailed), -25293);
  EXPECT_EQ(check_add(item(kAkpu), true), AddError::kNone);
  EXPECT_TRUE(deleted_when_passcode_removed(item(kAkpu)));
  for (Accessibility a : kAllAccessibilities) {
    EXPECT_EQ(deleted_when_passcode_removed(item(a)), a == kAkpu);
  }
  const Verdict v = ask(item(kAkpu), Journey::kLocal, kSame, DeviceSettings{false});
  EXPECT_EQ(v.outcome, Outcome::kLost);
  EXPECT_TRUE(v.rules.has(RuleId::R8));
  EXPECT_TRUE(v.notes.has(Note::kAddFailsNoPasscode));
}

TEST(R9AddTimeChecks, AuthConstrainedSynchronizableAndMisplacedTokensAreRefused) {
  Traits auth_sync{kAk, ItemClass::kGenp, true, Token::kNone, true};
  EXPECT_EQ(check_add(auth_sync, true), AddError::kParam);
  EXPECT_EQ(static_cast<int>(AddError::kParam), -50);
  Traits token_genp{kAk, ItemClass::kGenp, false, Token::kSecureEnclave};
  EXPECT_EQ(check_add(token_genp, true), AddError::kParam);
  Traits token_key{kAku, ItemClass::kKeys, false, Token::kSecureEnclave};
  EXPECT_EQ(check_add(token_key, true), AddError::kNone);
  const Verdict v = ask(auth_sync, Journey::kLocal, kSame);
  EXPECT_EQ(v.outcome, Outcome::kLost);
  EXPECT_TRUE(v.rules.has(RuleId::R9));
  EXPECT_TRUE(v.notes.has(Note::kAddFailsAuthSync));
  EXPECT_EQ(static_cast<int>(AddError::kDuplicateItem), -25299);
}

TEST(Questions, JourneysWithoutASameDeviceFormAreInvalidInput) {
  for (Journey j : {Journey::kQuickStart, Journey::kIcloudKeychain}) {
    auto v = predict({item(kAk), j, kSame, {}});
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
  }
}

// The summary table of rules.md, recomputed from E (exportable) and M (migratory) by brute force
// over every trait combination: the oracle must agree with it everywhere.
TEST(SummaryTable, EveryTraitCombinationMatchesTheTableOfRulesMd) {
  for (Accessibility a : kAllAccessibilities) {
    for (ItemClass c : kAllItemClasses) {
      for (bool sync : {false, true}) {
        for (Token tok : {Token::kNone, Token::kSecureEnclave}) {
          for (bool auth : {false, true}) {
            for (Switch icloud : {Switch::kOff, Switch::kOn}) {
              const Traits t{a, c, sync, tok, auth};
              const DeviceSettings s{true, icloud};
              if (check_add(t, true) != AddError::kNone) continue;
              const bool e = a != kAkpu && tok == Token::kNone && !auth;
              const bool m = migratory_per_rules_md(a);
              const bool road6 = sync && m && tok == Token::kNone && !auth && icloud == Switch::kOn;
              for (Journey j : kAllJourneys) {
                for (Target target : kAllTargets) {
                  auto v = predict({t, j, target, s});
                  const bool same = target == kSame;
                  if (!v.ok()) {
                    EXPECT_TRUE(same &&
                                (j == Journey::kQuickStart || j == Journey::kIcloudKeychain));
                    continue;
                  }
                  bool expect = false;
                  switch (j) {
                    case Journey::kLocal:
                    case Journey::kIcloudBackup:
                      expect = same ? e : road6;
                      break;
                    case Journey::kLocalEncrypted:
                      expect = same ? e : (e && m) || road6;
                      break;
                    case Journey::kQuickStart:
                      expect = (e && m) || road6;
                      break;
                    case Journey::kIcloudKeychain:
                      expect = road6;
                      break;
                  }
                  EXPECT_EQ(v->outcome == Outcome::kRestored, expect)
                      << names_of(a).name << " " << name_of(c) << " sync=" << sync
                      << " token=" << name_of(tok) << " auth=" << auth
                      << " icloud=" << name_of(icloud) << " " << name_of(j) << " "
                      << name_of(target);
                }
              }
            }
          }
        }
      }
    }
  }
}

Traits app_clip(Accessibility a, ItemClass c = ItemClass::kGenp) {
  Traits t{a, c};
  t.app_clip = true;
  return t;
}
Traits tombstone(ItemClass c = ItemClass::kGenp) {
  Traits t{kAk, c, /*synchronizable=*/true};
  t.tombstone = true;
  return t;
}
Traits preserve(ItemClass c = ItemClass::kGenp) {
  Traits t{kAk, c};
  t.system_bound = SystemBound::kPreserveDuringRestore;
  return t;
}
DeviceSettings refs(PersistentRefKind source, PersistentRefKind target) {
  DeviceSettings s;
  s.persistent_refs = source;
  s.target_persistent_refs = target;
  return s;
}
constexpr auto kRowid = PersistentRefKind::kRowid;
constexpr auto kUuid = PersistentRefKind::kUuid;

TEST(R10AppClips, AnAppClipsItemsAreInNoBackupOrTransferInAnyClass) {
  for (ItemClass c : kAllItemClasses) {
    for (Accessibility a : {kAk, kCk, kAku}) {
      const Traits t = app_clip(a, c);
      EXPECT_FALSE(is_exportable(t));
      EXPECT_FALSE(is_exportable(t, /*sos=*/true));
      for (const Form& f : kAllForms) {
        if (f.journey == Journey::kIcloudKeychain) continue;
        const Verdict v = ask(t, f.journey, f.target, kSyncOff);
        SCOPED_TRACE(std::string(name_of(c)) + " " + std::string(name_of(f.journey)));
        EXPECT_EQ(v.outcome, Outcome::kLost);
        EXPECT_TRUE(v.rules.has(RuleId::R10));
        EXPECT_TRUE(v.notes.has(Note::kAppClipNeverExported));
        // Quick Start running the same export is inferred; the backup query is Apple's code.
        EXPECT_EQ(v.confidence, f.journey == Journey::kQuickStart ? Confidence::kInferred
                                                                  : Confidence::kSourceCode);
      }
    }
  }
  // The same item without the clip attribute comes back: R10 alone decided.
  EXPECT_EQ(ask(item(kAk), Journey::kLocal, kSame).outcome, Outcome::kRestored);
}

TEST(R10AppClips, ASynchronizableAppClipItemStillTakesTheSyncRoadByR6) {
  Traits t = app_clip(kAk);
  t.synchronizable = true;
  EXPECT_TRUE(can_sync(t));
  const Verdict v = ask(t, Journey::kLocalEncrypted, kOther, kSyncOn);
  EXPECT_EQ(v.outcome, Outcome::kRestored);
  EXPECT_EQ(v.road, Road::kIcloudKeychain);
  EXPECT_TRUE(v.notes.has(Note::kAppClipSyncFollowsR6));
  EXPECT_EQ(v.confidence, Confidence::kInferred);
  EXPECT_EQ(ask(t, Journey::kLocalEncrypted, kOther, kSyncOff).outcome, Outcome::kLost);
}

TEST(R15Tombstones, ExportedOnlyWithSosOnAndNeverRestoredAsAnItem) {
  for (ItemClass c : kAllItemClasses) {
    const Traits t = tombstone(c);
    EXPECT_FALSE(is_exportable(t, /*sos=*/false));
    EXPECT_TRUE(is_exportable(t, /*sos=*/true));
    EXPECT_FALSE(can_sync(t));
    for (bool sos : {false, true}) {
      DeviceSettings s = kSyncOn;
      s.sos = sos;
      for (const Form& f : kAllForms) {
        const Verdict v = ask(t, f.journey, f.target, s);
        EXPECT_EQ(v.outcome, Outcome::kLost);
        EXPECT_EQ(v.road, Road::kNone);
        EXPECT_TRUE(v.rules.has(RuleId::R15));
        EXPECT_TRUE(v.notes.has(Note::kTombstoneNotReadable));
        if (f.journey == Journey::kIcloudKeychain) continue;
        EXPECT_EQ(v.notes.has(Note::kTombstoneInBackup), sos) << name_of(f.journey);
        EXPECT_EQ(v.notes.has(Note::kTombstoneNotInBackup), !sos) << name_of(f.journey);
      }
    }
  }
  // A tombstone of an item R1 filters stays out even with SOS on.
  Traits akpu = tombstone();
  akpu.accessible = kAkpu;
  EXPECT_FALSE(is_exportable(akpu, /*sos=*/true));
}

TEST(R12RestoreFilters, SystemBoundItemsAreNotInTheBackupButTheTargetsOwnComeBack) {
  const Traits t = preserve();
  EXPECT_FALSE(is_exportable(t, /*sos=*/true));
  const Verdict v = ask(t, Journey::kLocal, kSame);
  EXPECT_EQ(v.outcome, Outcome::kLost);  // same-device includes a restore after an erase
  EXPECT_TRUE(v.notes.has(Note::kSystemBoundPutBack));
  EXPECT_FALSE(ask(t, Journey::kLocal, kOther).notes.has(Note::kSystemBoundPutBack));
  EXPECT_FALSE(replaced_by_restore(t));
  const RefVerdict uuid = target_item_ref(t, kUuid, kUuid, /*rowid_taken=*/false);
  EXPECT_EQ(uuid.fate, RefFate::kKept);
  EXPECT_TRUE(uuid.rules.has(RuleId::R12));
  EXPECT_EQ(target_item_ref(t, kRowid, kRowid, false).fate, RefFate::kKept);
  EXPECT_EQ(target_item_ref(t, kRowid, kRowid, /*rowid_taken=*/true).fate, RefFate::kRenewed);
  // testSecItemRestoreSysboundBackupAndAddUUIDPersistentRefs: old-style, then UUID at restore.
  EXPECT_EQ(target_item_ref(t, kRowid, kUuid, false).fate, RefFate::kRenewed);
  EXPECT_EQ(target_item_ref(item(kAk), kUuid, kUuid, false).fate, RefFate::kNone);  // R7
  Traits sync = item(kAk);
  sync.synchronizable = true;
  EXPECT_EQ(target_item_ref(sync, kRowid, kUuid, false).fate, RefFate::kKept);
}

TEST(R11PersistentRefs, ARestoredItemKeepsItsReferenceUnlessRenewedByR11) {
  const Question q{item(kAk), Journey::kLocal, kSame, refs(kUuid, kUuid)};
  const Verdict restored = ask(q.traits, q.journey, q.target, q.settings);
  ASSERT_EQ(restored.outcome, Outcome::kRestored);
  const RefVerdict kept = predict_ref(q, restored, /*rowid_taken=*/false);
  EXPECT_EQ(kept.fate, RefFate::kKept);
  EXPECT_TRUE(kept.rules.has(RuleId::R11));
  EXPECT_EQ(kept.confidence, Confidence::kSourceCode);
  EXPECT_TRUE(kept.notes.has(Note::kUuidRefsVersionNotPublic));
  // A UUID reference does not care whether the rowid is taken.
  EXPECT_EQ(predict_ref(q, restored, /*rowid_taken=*/true).fate, RefFate::kKept);

  Question old = q;
  old.settings = refs(kRowid, kRowid);
  EXPECT_EQ(predict_ref(old, restored, false).fate, RefFate::kKept);
  const RefVerdict taken = predict_ref(old, restored, /*rowid_taken=*/true);
  EXPECT_EQ(taken.fate, RefFate::kRenewed);
  EXPECT_TRUE(taken.notes.has(Note::kRefRenewedRowidTaken));

  old.settings = refs(kRowid, kUuid);
  const RefVerdict upgraded = predict_ref(old, restored, false);
  EXPECT_EQ(upgraded.fate, RefFate::kRenewed);
  EXPECT_TRUE(upgraded.notes.has(Note::kRefRenewedUuid));
  EXPECT_EQ(upgraded.confidence, Confidence::kSourceCode);

  old.settings = refs(kUuid, kRowid);
  EXPECT_EQ(predict_ref(old, restored, false).fate, RefFate::kRenewed);
  EXPECT_EQ(predict_ref(old, restored, false).confidence, Confidence::kInferred);
}

TEST(R11PersistentRefs, ALostItemLeavesNoneAndASyncedOneARenewedReference) {
  const Question q{item(kAk), Journey::kLocal, kOther, refs(kUuid, kUuid)};
  const Verdict lost = ask(q.traits, q.journey, q.target, q.settings);
  ASSERT_EQ(lost.outcome, Outcome::kLost);
  EXPECT_EQ(predict_ref(q, lost, false).fate, RefFate::kNone);

  Traits sync = item(kAk);
  sync.synchronizable = true;
  DeviceSettings s = refs(kUuid, kUuid);
  s.icloud_keychain = Switch::kOn;
  const Question synced{sync, Journey::kLocal, kOther, s};
  const Verdict v = ask(sync, Journey::kLocal, kOther, s);
  ASSERT_EQ(v.road, Road::kIcloudKeychain);
  const RefVerdict r = predict_ref(synced, v, false);
  EXPECT_EQ(r.fate, RefFate::kRenewed);
  EXPECT_TRUE(r.notes.has(Note::kRefRenewedBySync));
  // Quick Start carries references as a restore does, by inference.
  const Question qs{item(kAk), Journey::kQuickStart, kOther, refs(kUuid, kUuid)};
  const RefVerdict moved =
      predict_ref(qs, ask(qs.traits, qs.journey, qs.target, qs.settings), false);
  EXPECT_EQ(moved.fate, RefFate::kKept);
  EXPECT_EQ(moved.confidence, Confidence::kInferred);
}

TEST(R13Conflicts, TheTargetsSynchronizableItemIsKeptNotLost) {
  Traits sync = item(kAk);
  sync.synchronizable = true;
  const Question q{sync, Journey::kLocal, kSame, refs(kUuid, kUuid)};
  auto v = predict_collision(q, sync);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->outcome, Outcome::kKept);
  EXPECT_EQ(v->road, Road::kNone);
  EXPECT_TRUE(v->rules.has(RuleId::R13));
  EXPECT_EQ(v->confidence, Confidence::kSourceCode);
  EXPECT_TRUE(v->notes.has(Note::kCollisionTargetKept));
  EXPECT_EQ(predict_ref(q, *v, false).fate, RefFate::kKept);
  // Kept even when the backup road could not have brought the item (another phone, local).
  Question other = q;
  other.target = kOther;
  auto far = predict_collision(other, sync);
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(far->outcome, Outcome::kKept);
  EXPECT_EQ(predict_ref(other, *far, false).fate, RefFate::kRenewed);
  // A non-synchronizable target item was deleted first (R7): the backup's copy is restored.
  auto replaced = predict_collision(q, item(kAk));
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(*replaced, ask(q.traits, q.journey, q.target, q.settings));
  EXPECT_EQ(replaced->outcome, Outcome::kRestored);
  // The target's system-bound item is put back after the import (R12): a copy the backup brought
  // is in first and wins; without one, the target's item stays.
  auto bound = predict_collision(q, preserve());
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->outcome, Outcome::kRestored);
  EXPECT_TRUE(bound->rules.has(RuleId::R12));
  EXPECT_EQ(bound->confidence, Confidence::kInferred);
  auto bound_far = predict_collision(other, preserve());
  ASSERT_TRUE(bound_far.ok());
  EXPECT_EQ(bound_far->outcome, Outcome::kKept);
  EXPECT_TRUE(bound_far->rules.has(RuleId::R12));
  // A synchronizable tombstone holds the key: the copy is skipped, nothing readable remains.
  auto blocked = predict_collision(q, tombstone());
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(blocked->outcome, Outcome::kLost);
  EXPECT_TRUE(blocked->notes.has(Note::kCollisionTombstone));
}

TEST(R13Conflicts, QuestionsWithoutACollisionAreInvalidInput) {
  Traits sync = item(kAk);
  sync.synchronizable = true;
  auto sync_journey = predict_collision({sync, Journey::kIcloudKeychain, kOther, {}}, sync);
  EXPECT_EQ(sync_journey.status().code(), Code::kInvalidArgument);
  Traits key = sync;
  key.item_class = ItemClass::kKeys;
  auto classes = predict_collision({sync, Journey::kLocal, kSame, {}}, key);
  EXPECT_EQ(classes.status().code(), Code::kInvalidArgument);
  EXPECT_NE(classes.status().message().find("genp"), std::string::npos);
  EXPECT_NE(classes.status().message().find("keys"), std::string::npos);
  auto unanswerable = predict_collision({sync, Journey::kQuickStart, kSame, {}}, sync);
  EXPECT_EQ(unanswerable.status().code(), Code::kInvalidArgument);
}

// Apple's KeychainBackupTests, each scenario as the oracle predicts it.
TEST(KeychainBackupTests, AppClipDoesNotBackup) {
  for (ItemClass c : kAllItemClasses) {
    EXPECT_TRUE(is_exportable(Traits{kAk, c}));
    EXPECT_FALSE(is_exportable(app_clip(kAk, c)));
  }
}

TEST(KeychainBackupTests, BackupAndRestoreWithPersistentRefsKeepsThemOnAUuidDevice) {
  for (ItemClass c : kAllItemClasses) {
    const Question q{Traits{kAk, c}, Journey::kLocal, kSame, refs(kUuid, kUuid)};
    const Verdict v = ask(q.traits, q.journey, q.target, q.settings);
    EXPECT_EQ(v.outcome, Outcome::kRestored);
    EXPECT_EQ(predict_ref(q, v, /*rowid_taken=*/false).fate, RefFate::kKept);
  }
}

TEST(KeychainBackupTests, OldStylePrefsRestoredOntoAUuidDeviceAreRenewed) {
  for (ItemClass c : kAllItemClasses) {
    const Question q{Traits{kAk, c}, Journey::kLocal, kSame, refs(kRowid, kUuid)};
    const Verdict v = ask(q.traits, q.journey, q.target, q.settings);
    EXPECT_EQ(v.outcome, Outcome::kRestored);
    EXPECT_EQ(predict_ref(q, v, false).fate, RefFate::kRenewed);
  }
}

TEST(KeychainBackupTests, ConflictedSynchronizableItemKeepsItsDataAndReference) {
  Traits sync{kAk, ItemClass::kGenp, /*synchronizable=*/true};
  const Question q{sync, Journey::kLocal, kSame, refs(kUuid, kUuid)};
  auto v = predict_collision(q, sync);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kKept);
  EXPECT_EQ(predict_ref(q, *v, false).fate, RefFate::kKept);
}

TEST(KeychainBackupTests, SysboundItemsAbsentFromTheBackupYetPresentAfterTheRestore) {
  for (ItemClass c : kAllItemClasses) {
    EXPECT_FALSE(is_exportable(preserve(c)));
    EXPECT_FALSE(replaced_by_restore(preserve(c)));
    EXPECT_EQ(target_item_ref(preserve(c), kUuid, kUuid, false).fate, RefFate::kKept);
    EXPECT_EQ(target_item_ref(preserve(c), kRowid, kUuid, false).fate, RefFate::kRenewed);
  }
}

TEST(KeychainBackupTests, TombstonesInTheBackupOnlyWithSosOn) {
  for (ItemClass c : kAllItemClasses) {
    EXPECT_TRUE(is_exportable(tombstone(c), /*sos=*/true));
    EXPECT_FALSE(is_exportable(tombstone(c), /*sos=*/false));
    Traits non_sync_tomb = tombstone(c);  // Apple's test has a non-synchronizable key tombstone
    non_sync_tomb.synchronizable = false;
    EXPECT_TRUE(is_exportable(non_sync_tomb, true));
    EXPECT_FALSE(is_exportable(non_sync_tomb, false));
  }
}

// oracle::World through the same scenarios: the state a stateful property compares against.
const WorldItem* only(const World& w, size_t d, const std::string& account) {
  return w.find(d, account);
}

TEST(World, AppClipAndTombstoneRowsFollowTheExportFilter) {
  World w;
  const size_t d = w.add_device(true);
  ASSERT_EQ(w.add_item(d, {item(kAk), "plain", "1"}), AddError::kNone);
  ASSERT_EQ(w.add_item(d, {app_clip(kAk), "clip", "2"}), AddError::kNone);
  ASSERT_EQ(w.add_item(d, {tombstone(), "tomb", "3"}), AddError::kNone);
  const size_t off = w.back_up(d, Journey::kLocal);
  w.set_sos(d, true);
  const size_t on = w.back_up(d, Journey::kLocal);
  ASSERT_EQ(w.backups()[off].items.size(), 1u);
  EXPECT_EQ(w.backups()[off].items[0].account, "plain");
  ASSERT_EQ(w.backups()[on].items.size(), 2u);
  w.erase(d);
  ASSERT_TRUE(w.restore(on, d, true));
  EXPECT_NE(only(w, d, "plain"), nullptr);
  EXPECT_EQ(only(w, d, "clip"), nullptr);
  ASSERT_NE(only(w, d, "tomb"), nullptr);
  EXPECT_TRUE(only(w, d, "tomb")->traits.tombstone);
  const size_t fresh = w.quick_start(d, true);
  EXPECT_NE(only(w, fresh, "plain"), nullptr);
  EXPECT_NE(only(w, fresh, "tomb"), nullptr);  // the source has SOS on
  EXPECT_EQ(only(w, fresh, "clip"), nullptr);
}

TEST(World, ReferencesAfterBackupDeleteAndRestoreFollowR11) {
  World w;
  const size_t d = w.add_device(true, kUuid);
  ASSERT_EQ(w.add_item(d, {item(kAk), "a", "1"}), AddError::kNone);
  const WorldRef before = only(w, d, "a")->ref;
  EXPECT_EQ(before.kind, kUuid);
  const size_t b = w.back_up(d, Journey::kLocal);
  ASSERT_TRUE(w.remove_item(d, "a"));
  ASSERT_TRUE(w.restore(b, d, true));
  ASSERT_NE(only(w, d, "a"), nullptr);
  EXPECT_EQ(only(w, d, "a")->ref, before);

  // An old-style device switched to UUID references before the restore: renewed.
  World old;
  const size_t o = old.add_device(true, kRowid);
  ASSERT_EQ(old.add_item(o, {item(kAk), "a", "1"}), AddError::kNone);
  const WorldRef rowid_ref = only(old, o, "a")->ref;
  EXPECT_EQ(rowid_ref, (WorldRef{kRowid, 1}));
  const size_t ob = old.back_up(o, Journey::kLocal);
  old.set_persistent_refs(o, kUuid);
  EXPECT_EQ(only(old, o, "a")->ref, rowid_ref);  // the row keeps what it had
  ASSERT_TRUE(old.restore(ob, o, true));
  EXPECT_EQ(only(old, o, "a")->ref.kind, kUuid);
}

TEST(World, ATakenRowidRenewsAnOldStyleReference) {
  World w;
  const size_t d = w.add_device(true, kRowid);
  Traits sync = item(kAk);
  sync.synchronizable = true;
  ASSERT_EQ(w.add_item(d, {item(kAk), "a", "1"}), AddError::kNone);  // rowid 1
  const size_t b = w.back_up(d, Journey::kLocal);
  ASSERT_TRUE(w.remove_item(d, "a"));
  ASSERT_EQ(w.add_item(d, {sync, "s", "2"}), AddError::kNone);  // takes rowid 1, survives R7
  EXPECT_EQ(only(w, d, "s")->rowid, 1);
  ASSERT_TRUE(w.restore(b, d, true));
  ASSERT_NE(only(w, d, "a"), nullptr);
  EXPECT_EQ(only(w, d, "a")->ref, (WorldRef{kRowid, 2}));
  EXPECT_EQ(only(w, d, "s")->ref, (WorldRef{kRowid, 1}));
}

TEST(World, ALocallyUpdatedSynchronizableItemIsKeptThroughARestore) {
  World w;
  const size_t d = w.add_device(true, kUuid);
  Traits sync = item(kAk);
  sync.synchronizable = true;
  ASSERT_EQ(w.add_item(d, {sync, "s", "old"}), AddError::kNone);
  const WorldRef ref = only(w, d, "s")->ref;
  const size_t b = w.back_up(d, Journey::kLocal);
  ASSERT_TRUE(w.remove_item(d, "s"));  // the world's update: delete, then add the new secret
  ASSERT_EQ(w.add_item(d, {sync, "s", "updated"}), AddError::kNone);
  const WorldItem updated = *only(w, d, "s");
  ASSERT_TRUE(w.restore(b, d, true));
  ASSERT_NE(only(w, d, "s"), nullptr);
  EXPECT_EQ(*only(w, d, "s"), updated);  // R13: the target's version stays, data and reference
  EXPECT_NE(updated.ref, ref);
}

TEST(World, SystemBoundItemsAreNotBackedUpButComeBackThroughARestore) {
  World w;
  const size_t d = w.add_device(true, kUuid);
  ASSERT_EQ(w.add_item(d, {preserve(), "bound", "1"}), AddError::kNone);
  ASSERT_EQ(w.add_item(d, {item(kAk), "plain", "2"}), AddError::kNone);
  const WorldItem bound = *only(w, d, "bound");
  const size_t b = w.back_up(d, Journey::kLocal);
  ASSERT_EQ(w.backups()[b].items.size(), 1u);
  ASSERT_TRUE(w.restore(b, d, true));
  ASSERT_NE(only(w, d, "bound"), nullptr);
  EXPECT_EQ(only(w, d, "bound")->ref, bound.ref);
  // Old-style, then the device hands out UUID references: put back with a new one.
  World old;
  const size_t o = old.add_device(true, kRowid);
  ASSERT_EQ(old.add_item(o, {preserve(), "bound", "1"}), AddError::kNone);
  const size_t ob = old.back_up(o, Journey::kLocal);
  old.set_persistent_refs(o, kUuid);
  ASSERT_TRUE(old.restore(ob, o, true));
  ASSERT_NE(only(old, o, "bound"), nullptr);
  EXPECT_EQ(only(old, o, "bound")->ref.kind, kUuid);
  // An erase takes it, and no backup brings it back.
  old.erase(o);
  ASSERT_TRUE(old.restore(ob, o, true));
  EXPECT_EQ(only(old, o, "bound"), nullptr);
}

TEST(RuleTable, EveryRuleHasATitleStatementAndSources) {
  ASSERT_EQ(rules().size(), std::size(kAllRules));
  ASSERT_EQ(rules().size(), 15u);
  for (const Rule& r : rules()) {
    EXPECT_EQ(&rule(r.id), &r);
    EXPECT_FALSE(r.title.empty());
    EXPECT_FALSE(r.statement.empty());
    EXPECT_FALSE(r.sources.empty());
    EXPECT_NE(r.ios_versions.find("iOS"), std::string_view::npos) << name_of(r.id);
  }
  // A verdict's text names each of its rules with what its sources cover.
  RuleSet two;
  two.add(RuleId::R2);
  two.add(RuleId::R10);
  EXPECT_EQ(ios_versions_text(two), "R2: " + std::string(rule(RuleId::R2).ios_versions) +
                                        "; R10: " + std::string(rule(RuleId::R10).ios_versions));
  EXPECT_EQ(ios_versions_text(RuleSet{}), "");
  for (int i = 0; i < kNoteCount; ++i)
    EXPECT_FALSE(note_text(static_cast<Note>(i)).empty());
}

}  // namespace
}  // namespace kcb::oracle
