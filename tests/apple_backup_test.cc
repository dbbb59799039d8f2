// Apple's KeychainBackupTests (Security framework), one ctest per scenario, driven through the
// `kcbackup` command line exactly as a user would run it (device init/set/add/update/delete/list,
// backup, restore, all in-process with --fast-kdf), each also asking the oracle for its prediction
// of the same outcome. The engine and the oracle answer independently; both must say what Apple's
// test asserts.
//   testAppClipDoesNotBackup                                   R10
//   testSecItemBackupAndRestoreWithPersistentRefs              R11 (UUID references kept)
//   testSecItemRestoreBackupOldStylePrefsAndAddUUIDPersistentRefs  R11 (renewed)
//   testSecItemRestoreConflictedUUIDPersistentReferenceItems   R13
//   testSecItemRestoreSysboundBackupAndUpdateUUIDPersistentRefs    R1, R12
//   testBackupTombstonesWhenSOSEnabled / ...AvoidsTombstonesWhenSOSDisabled   R15
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

using nlohmann::json;

class AppleBackupTests : public ::testing::Test {
 protected:
  // Runs a command that must succeed and returns its JSON output.
  json ok(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json"});
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }
  std::string device(const std::string& name, std::vector<std::string> settings = {}) {
    const std::string dir = tmp_ / name;
    std::vector<std::string> args = {"device", "init", dir};
    args.insert(args.end(), settings.begin(), settings.end());
    ok(args);
    return dir;
  }
  void add(const std::string& dir, const std::string& account, std::vector<std::string> flags = {},
           const std::string& secret = "secret") {
    std::vector<std::string> args = {"device", "add",       dir,   "--account",
                                     account,  "--service", "svc", "--label",
                                     account,  "--secret",  secret};
    args.insert(args.end(), flags.begin(), flags.end());
    ok(args);
  }
  json items(const std::string& dir) {
    return ok({"device", "list", dir, "--show-secrets"})["items"];
  }
  // account -> persistent_ref_hex
  std::map<std::string, std::string> refs(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const json& i : items(dir))
      out[i["account"]] = i["persistent_ref_hex"];
    return out;
  }
  json backup(const std::string& dir, const std::string& name) {
    return ok({"backup", dir, tmp_ / name, "--journey", "local", "--fast-kdf"});
  }
  json restore(const std::string& name, const std::string& dir) {
    return ok({"restore", tmp_ / name, dir});
  }

  TempDir tmp_;
};

oracle::Question local_same_device(Traits t) {
  DeviceSettings settings;
  settings.icloud_keychain = Switch::kOff;
  return {t, Journey::kLocal, Target::kSameDevice, settings};
}

// testAppClipDoesNotBackup: a regular and an App Clip item in every class; the backup holds the
// regular ones only, and only they come back.
TEST_F(AppleBackupTests, AppClipItemsAreAbsentFromTheBackup) {
  const std::string phone = device("phone");
  for (ItemClass c : kAllItemClasses) {
    const std::string name(name_of(c));
    add(phone, name + "-app", {"--class", name});
    add(phone, name + "-clip", {"--class", name, "--app-clip"});
  }
  const json written = backup(phone, "b");
  EXPECT_EQ(written["items"], 4);
  EXPECT_EQ(written["left_on_device"], 4);
  ok({"device", "erase", phone});
  const json report = restore("b", phone);
  std::set<std::string> restored;
  for (const json& i : report["items"]) {
    EXPECT_EQ(i["outcome"], "restored") << i.dump();
    restored.insert(i["account"]);
  }
  EXPECT_EQ(restored, (std::set<std::string>{"genp-app", "inet-app", "cert-app", "keys-app"}));
  EXPECT_EQ(items(phone).size(), 4u);
  for (ItemClass c : kAllItemClasses) {
    Traits clip{Accessibility::kWhenUnlocked, c};
    clip.app_clip = true;
    auto v = oracle::predict(local_same_device(clip));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->outcome, Outcome::kLost);
    EXPECT_TRUE(v->rules.has(RuleId::R10));
    auto app = oracle::predict(local_same_device({Accessibility::kWhenUnlocked, c}));
    EXPECT_EQ(app->outcome, Outcome::kRestored);
  }
}

// testSecItemBackupAndRestoreWithPersistentRefs: on a device with UUID references, back up,
// delete the items, restore: every stored reference resolves again.
TEST_F(AppleBackupTests, ReferencesAreEqualAfterBackupDeleteAndRestoreOnAUuidDevice) {
  const std::string phone = device("phone", {"--persistent-refs", "uuid"});
  for (const char* account : {"one", "two", "three"})
    add(phone, account);
  const auto before = refs(phone);
  for (const auto& [account, ref] : before)
    EXPECT_EQ(ref.size(), 40u) << "20 bytes: class name + UUID";
  backup(phone, "b");
  for (const char* account : {"one", "two", "three"})
    ok({"device", "delete", phone, "--account", account, "--service", "svc"});
  EXPECT_TRUE(items(phone).empty());
  const json report = restore("b", phone);
  for (const json& i : report["items"]) {
    EXPECT_EQ(i["outcome"], "restored");
    EXPECT_EQ(i["reference"], "kept");
  }
  EXPECT_EQ(refs(phone), before);
  oracle::Question q = local_same_device({Accessibility::kWhenUnlocked, ItemClass::kGenp});
  q.settings.persistent_refs = q.settings.target_persistent_refs = PersistentRefKind::kUuid;
  auto v = oracle::predict(q);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(oracle::predict_ref(q, *v, false).fate, RefFate::kKept);
}

// testSecItemRestoreBackupOldStylePrefsAndAddUUIDPersistentRefs: the backup carries old-style
// references; the device uses UUID ones by the time it restores: every item is back, under a new
// reference.
TEST_F(AppleBackupTests, ReferencesAreRenewedWhenAnOldStyleDeviceSwitchedToUuidBeforeTheRestore) {
  const std::string phone = device("phone");
  add(phone, "one");
  add(phone, "two");
  const auto before = refs(phone);
  EXPECT_EQ(before.at("one"),
            "67656e70"
            "0000000000000001");  // "genp" + rowid 1
  backup(phone, "b");
  const json set = ok({"device", "set", phone, "--persistent-refs", "uuid"});
  EXPECT_EQ(set["persistent_refs"], "uuid");
  ok({"device", "erase", phone});
  const json report = restore("b", phone);
  for (const json& i : report["items"]) {
    EXPECT_EQ(i["outcome"], "restored");
    EXPECT_EQ(i["reference"], "renewed");
  }
  const auto after = refs(phone);
  ASSERT_EQ(after.size(), 2u);
  for (const auto& [account, ref] : after) {
    EXPECT_NE(ref, before.at(account));
    EXPECT_EQ(ref.size(), 40u);
  }
  oracle::Question q = local_same_device({Accessibility::kWhenUnlocked, ItemClass::kGenp});
  q.settings.target_persistent_refs = PersistentRefKind::kUuid;
  auto v = oracle::predict(q);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->outcome, Outcome::kRestored);
  EXPECT_EQ(oracle::predict_ref(q, *v, false).fate, RefFate::kRenewed);
}

// testSecItemRestoreConflictedUUIDPersistentReferenceItems: a synchronizable item updated on the
// device after the backup keeps its data and its reference through a restore of that backup; the
// report calls the backup's copy kept (not lost: the item is right there) and does not count it
// as replaced.
TEST_F(AppleBackupTests, ALocallyUpdatedSynchronizableItemKeepsItsDataAndReference) {
  const std::string phone = device("phone", {"--persistent-refs", "uuid"});
  add(phone, "synced", {"--synchronizable"}, "original");
  add(phone, "plain");
  backup(phone, "b");
  ok({"device", "update", phone, "--account", "synced", "--service", "svc", "--secret", "updated"});
  const auto before = refs(phone);
  const json report = restore("b", phone);
  EXPECT_EQ(report["restored"], 1);
  EXPECT_EQ(report["kept"], 1);
  EXPECT_EQ(report["replaced"], 1) << "only 'plain' was deleted (and restored)";
  for (const json& i : report["items"]) {
    if (i["account"] != "synced") continue;
    EXPECT_EQ(i["outcome"], "kept");
    EXPECT_EQ(i["reason"], "");
    EXPECT_EQ(i["reference"], "kept");
    EXPECT_EQ(i["persistent_ref_hex"], before.at("synced"));
  }
  EXPECT_EQ(refs(phone), before);
  for (const json& i : items(phone)) {
    if (i["account"] == "synced") {
      EXPECT_EQ(i["secret_hex"], "75706461746564");  // "updated"
    }
  }
  const CliRun text = run_cli({"restore", tmp_ / "b", phone});
  EXPECT_EQ(text.out.find("lost"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kept"), std::string::npos) << text.out;

  Traits synced{Accessibility::kWhenUnlocked, ItemClass::kGenp, true};
  oracle::Question q = local_same_device(synced);
  q.settings.persistent_refs = q.settings.target_persistent_refs = PersistentRefKind::kUuid;
  auto v = oracle::predict_collision(q, synced);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->outcome, Outcome::kKept);
  EXPECT_TRUE(v->rules.has(RuleId::R13));
  EXPECT_EQ(oracle::predict_ref(q, *v, false).fate, RefFate::kKept);
}

// testSecItemRestoreSysboundBackupAndUpdateUUIDPersistentRefs: system-bound (preserve) items are
// never in a backup (R1), yet a restore leaves them on the device, references unchanged (R12).
TEST_F(AppleBackupTests, SystemBoundPreserveItemsAreAbsentFromTheBackupYetPresentAfterTheRestore) {
  const std::string phone = device("phone", {"--persistent-refs", "uuid"});
  add(phone, "bound", {"--sysbound", "preserve"});
  add(phone, "plain");
  const json written = backup(phone, "b");
  EXPECT_EQ(written["items"], 1);
  const auto before = refs(phone);
  const json report = restore("b", phone);
  ASSERT_EQ(report["items"].size(), 1u);
  EXPECT_EQ(report["items"][0]["account"], "plain");
  EXPECT_EQ(report["replaced"], 1);
  EXPECT_EQ(refs(phone), before);
  for (const json& i : items(phone)) {
    if (i["account"] == "bound") {
      EXPECT_EQ(i["sysbound"], "preserve");
    }
  }
  Traits bound{Accessibility::kWhenUnlocked, ItemClass::kGenp};
  bound.system_bound = SystemBound::kPreserveDuringRestore;
  EXPECT_FALSE(oracle::is_exportable(bound));
  EXPECT_FALSE(oracle::replaced_by_restore(bound));
  EXPECT_EQ(
      oracle::target_item_ref(bound, PersistentRefKind::kUuid, PersistentRefKind::kUuid, false)
          .fate,
      RefFate::kKept);
}

// testBackupTombstonesWhenSOSEnabled / testBackupAvoidsTombstonesWhenSOSDisabled: a tombstone is
// in the backup only while the device is in the SOS circle.
TEST_F(AppleBackupTests, TombstonesAreInTheBackupOnlyWithSosOn) {
  for (const bool sos : {false, true}) {
    SCOPED_TRACE(sos ? "SOS on" : "SOS off");
    const std::string phone = device(sos ? "sos-on" : "sos-off", {"--sos", sos ? "on" : "off"});
    add(phone, "live", {"--synchronizable"});
    add(phone, "deleted", {"--synchronizable", "--tombstone"});
    const json written = backup(phone, sos ? "b-on" : "b-off");
    EXPECT_EQ(written["items"], sos ? 2 : 1);
    Traits tomb{Accessibility::kWhenUnlocked, ItemClass::kGenp, true};
    tomb.tombstone = true;
    EXPECT_EQ(oracle::is_exportable(tomb, sos), sos);
  }
  // Switching SOS on an existing device changes its next backup.
  const std::string phone = tmp_ / "sos-off";
  ok({"device", "set", phone, "--sos", "on"});
  EXPECT_EQ(backup(phone, "b-switched")["items"], 2);
}

}  // namespace
}  // namespace kcb::cli
