// The oracle against rules.md: the measured table row by row, then each rule R1..R9 through a
// question that only that rule decides.
#include <gtest/gtest.h>

#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/rules.h"

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

TEST(RuleTable, EveryRuleHasATitleStatementAndSources) {
  ASSERT_EQ(rules().size(), std::size(kAllRules));
  ASSERT_EQ(rules().size(), 15u);
  for (const Rule& r : rules()) {
    EXPECT_EQ(&rule(r.id), &r);
    EXPECT_FALSE(r.title.empty());
    EXPECT_FALSE(r.statement.empty());
    EXPECT_FALSE(r.sources.empty());
  }
  for (int i = 0; i < kNoteCount; ++i)
    EXPECT_FALSE(note_text(static_cast<Note>(i)).empty());
}

}  // namespace
}  // namespace kcb::oracle
