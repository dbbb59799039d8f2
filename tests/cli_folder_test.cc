// Issue 13's commands in-process: `device put` / `device files` (a device's app files), and on
// real backup folders `inspect backup`, `extract`, `unlock --key-out`, `--key-file` and `audit
// --backup`, with their JSON schemas and exit codes (wrong password 3, malformed 2, I/O 4).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/folder_commands.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(CliDeviceFiles, PutThenFilesListsThemSortedWithTheirClass) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  run_json({"device", "init", phone, "--uid-hex", kTestUidHex, "--seed", "1"});
  spit(tmp / "notes.txt", "hello notes\n");
  spit(tmp / "db.bin", std::string("\x00\x01\x02", 3));
  const json put = run_json({"device", "put", phone, "--domain", "AppDomain-com.example.app",
                             "--path", "Documents/notes.txt", tmp / "notes.txt"});
  EXPECT_EQ(put["schema"], "kcbackup.device.put.v1");
  EXPECT_EQ(put["file"]["size"], 12);
  EXPECT_EQ(put["file"]["protection_class"], 3);
  EXPECT_EQ(put["file"]["protection_class_name"], "CompleteUntilFirstUserAuthentication");
  const CliRun text =
      run_cli({"device", "put", phone, "--domain", "AppDomain-com.example.app", "--path",
               "Library/db.bin", tmp / "db.bin", "--protection-class", "1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "Put AppDomain-com.example.app / Library/db.bin (3 bytes, protection class "
            "1 Complete) on " +
                phone + "\n");

  const json files = run_json({"device", "files", phone});
  EXPECT_EQ(files["schema"], "kcbackup.device.files.v1");
  ASSERT_EQ(files["files"].size(), 2u);
  EXPECT_EQ(files["files"][0]["path"], "Documents/notes.txt");
  EXPECT_EQ(files["files"][1]["path"], "Library/db.bin");
  EXPECT_EQ(files["files"][1]["protection_class"], 1);

  const CliRun listing = run_cli({"device", "files", phone});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find(phone + ": 2 app files\n"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("Library/db.bin       3     1 Complete"), std::string::npos)
      << listing.out;
}

TEST(CliDeviceFiles, BadNamesAreInvalidInputAndMissingFilesIOErrors) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  run_json({"device", "init", phone, "--seed", "2"});
  spit(tmp / "x", "x");
  const CliRun escape = run_cli(
      {"device", "put", phone, "--domain", "AppDomain-a", "--path", "../outside", tmp / "x"});
  EXPECT_EQ(escape.exit_code, kExitInvalidInput);
  EXPECT_NE(escape.err.find("'..' component"), std::string::npos) << escape.err;
  const CliRun cls = run_cli({"device", "put", phone, "--domain", "AppDomain-a", "--path", "x",
                              tmp / "x", "--protection-class", "12"});
  EXPECT_EQ(cls.exit_code, kExitInvalidInput);
  EXPECT_NE(cls.err.find("protection class 12 is outside 1-11"), std::string::npos) << cls.err;
  const CliRun missing =
      run_cli({"device", "put", phone, "--domain", "AppDomain-a", "--path", "x", tmp / "nope"});
  EXPECT_EQ(missing.exit_code, kExitIOError) << missing.err;
  EXPECT_NE(missing.err.find("FILE"), std::string::npos) << missing.err;
  const CliRun no_device = run_cli({"device", "files", tmp / "no-such-phone"});
  EXPECT_EQ(no_device.exit_code, kExitIOError) << no_device.err;
  // Nothing was put by the refused commands.
  const json files = run_json({"device", "files", phone});
  EXPECT_TRUE(files["files"].empty());
  // A hand-damaged list is invalid input naming the entry.
  spit(tmp / "phone/app-files.plist", "garbage");
  const CliRun damaged = run_cli({"device", "files", phone});
  EXPECT_EQ(damaged.exit_code, kExitInvalidInput) << damaged.err;
  EXPECT_NE(damaged.err.find("app-files.plist"), std::string::npos) << damaged.err;
}

TEST(CliDeviceFiles, PutReadsFileThroughTheEnv) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  run_json({"device", "init", phone, "--seed", "3"});
  FilesInMemory env;
  env.put("/only/in/memory", "from the env");
  DevicePutOptions o;
  o.dir = phone;
  o.domain = "AppDomain-a";
  o.path = "Documents/m";
  o.file = "/only/in/memory";
  const CommandRun r = run_command(run_device_put, o, env);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(env.reads(), 1);
  const json files = run_json({"device", "files", phone});
  ASSERT_EQ(files["files"].size(), 1u);
  EXPECT_EQ(files["files"][0]["size"], 12);
}

// A phone with a migratory item, a ThisDeviceOnly item and an app file, backed up for real.
class CliFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    phone_ = tmp_ / "phone";
    run_json({"device", "init", phone_, "--uid-hex", kTestUidHex, "--seed", "10"});
    run_json({"device", "add", phone_, "--account", "alice", "--service", "example.com", "--secret",
              "s1", "--seed", "11"});
    run_json({"device", "add", phone_, "--account", "bob", "--service", "example.com", "-a",
              "WhenUnlockedThisDeviceOnly", "--secret", "s2", "--seed", "12"});
    spit(tmp_ / "notes.txt", "hello notes\n");
    run_json({"device", "put", phone_, "--domain", "AppDomain-com.example.app", "--path",
              "Documents/notes.txt", tmp_ / "notes.txt"});
    spit(tmp_ / "pw.txt", "pw\n");
    spit(tmp_ / "wrong.txt", "nope\n");
  }
  std::string backup(const std::string& journey) {
    const std::string out = tmp_ / ("backup-" + journey);
    std::vector<std::string> args = {"backup", phone_,       out,      "--journey",
                                     journey,  "--fast-kdf", "--seed", "13"};
    if (journey == "local-encrypted") args.insert(args.end(), {"--password-file", tmp_ / "pw.txt"});
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  static const json& item_named(const json& doc, const std::string& account) {
    for (const json& item : doc["items"]) {
      if (item.value("account", "") == account) return item;
    }
    static const json none;
    ADD_FAILURE() << "no item " << account;
    return none;
  }
  TempDir tmp_;
  std::string phone_;
};

TEST_F(CliFolder, InspectBackupShowsFactsClassesAndBothAnswersPerItem) {
  const std::string dir = backup("local-encrypted");
  const json doc = run_json({"inspect", "backup", dir, "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(doc["schema"], "kcbackup.inspect.backup.v1");
  EXPECT_EQ(doc["encrypted"], true);
  EXPECT_EQ(doc["journey"], "local-encrypted");
  EXPECT_EQ(doc["lockdown"]["unique_device_id"].get<std::string>().size(), 40u);
  bool app_domain = false;
  for (const json& d : doc["domains"]) {
    if (d["domain"] == "AppDomain-com.example.app") app_domain = d["files"] == 1;
  }
  EXPECT_TRUE(app_domain) << doc["domains"].dump();
  for (const json& c : doc["classes"]) {
    const int n = c["class"];
    // R3: the password alone opens 1-4 and 6-8; 5 and 9-11 keep the device layer.
    EXPECT_EQ(c["opens_with_password_alone"], n != 5 && n < 9) << n;
  }
  // Without --device, bob's class is closed: only the blob header names it.
  ASSERT_EQ(doc["items"].size(), 2u);
  const json& alice = item_named(doc, "alice");
  EXPECT_EQ(alice["accessible"], "WhenUnlocked");
  EXPECT_EQ(alice["access_group"], "kcbackup.example");
  EXPECT_EQ(alice["persistent_ref_kind"], "rowid");
  EXPECT_EQ(alice["same_device"]["engine"]["state"], "unwraps");
  EXPECT_EQ(alice["other_device"]["engine"]["state"], "unwraps");
  EXPECT_EQ(alice["other_device"]["oracle"]["outcome"], "restored");
  const json& bob = doc["items"][1];
  EXPECT_EQ(bob["decoded"], false);
  EXPECT_EQ(bob["accessible"], "WhenUnlockedThisDeviceOnly");
  EXPECT_EQ(bob["accessible_from"], "blob-header");
  EXPECT_EQ(bob["same_device"]["engine"]["state"], "unknown");
  EXPECT_EQ(bob["other_device"]["engine"]["state"], "does-not-open");
  EXPECT_EQ(bob["other_device"]["oracle"]["outcome"], "lost");

  // The source device opens bob on the same device; another device still cannot.
  const json with_device = run_json({"inspect", "backup", dir, "--password-file", tmp_ / "pw.txt",
                                     "--device", phone_, "--files"});
  for (const json& c : with_device["classes"]) {
    // The device opens 9-11 too, but not the password alone: what a stranger with it gets.
    if (c["class"] == 9) {
      EXPECT_EQ(c["unlocked"], true);
      EXPECT_EQ(c["opens_with_password_alone"], false);
    }
  }
  const json& bob2 = item_named(with_device, "bob");
  EXPECT_EQ(bob2["decoded"], true);
  EXPECT_EQ(bob2["same_device"]["engine"]["state"], "unwraps");
  EXPECT_EQ(bob2["same_device"]["oracle"]["outcome"], "restored");
  EXPECT_EQ(bob2["other_device"]["engine"]["state"], "does-not-open");
  EXPECT_TRUE(with_device["warnings"].empty()) << with_device["warnings"].dump();
  bool listed = false;
  for (const json& f : with_device["files"]) {
    if (f["path"] == "Documents/notes.txt") listed = f["protection_class"] == 3;
  }
  EXPECT_TRUE(listed) << with_device["files"].dump();

  const CliRun text = run_cli({"inspect", "backup", dir, "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("WhenUnlockedThisDeviceOnly*"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("* from the blob header"), std::string::npos) << text.out;
}

TEST_F(CliFolder, AnUnencryptedBackupNeedsTheSourceDeviceForEveryKeychainClass) {
  const std::string dir = backup("local");
  const json doc = run_json({"inspect", "backup", dir});
  EXPECT_EQ(doc["encrypted"], false);
  for (const json& c : doc["classes"]) {
    if (c["class"] >= 5) {
      EXPECT_EQ(c["opens_with_password_alone"], false) << c.dump();
    }
  }
  const json& alice = doc["items"][0];
  EXPECT_EQ(alice["decoded"], false);
  EXPECT_EQ(alice["same_device"]["engine"]["state"], "unknown");
  EXPECT_EQ(alice["other_device"]["engine"]["state"], "does-not-open");
  EXPECT_EQ(alice["other_device"]["oracle"]["outcome"], "lost");  // R2
  const json with_device = run_json({"inspect", "backup", dir, "--device", phone_});
  EXPECT_EQ(item_named(with_device, "alice")["same_device"]["engine"]["state"], "unwraps");
}

TEST_F(CliFolder, ExitCodesWrongPasswordMalformedAndIo) {
  const std::string dir = backup("local-encrypted");
  const CliRun wrong = run_cli({"inspect", "backup", dir, "--password-file", tmp_ / "wrong.txt"});
  EXPECT_EQ(wrong.exit_code, kExitAuthFailed) << wrong.err;
  const CliRun none = run_cli({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
                               "Documents/notes.txt", "-o", tmp_ / "x"});
  EXPECT_EQ(none.exit_code, kExitAuthFailed) << none.err;
  fs::create_directories(tmp_ / "broken");
  spit(tmp_ / "broken/Manifest.plist", "not a plist");
  const CliRun malformed = run_cli({"inspect", "backup", tmp_ / "broken"});
  EXPECT_EQ(malformed.exit_code, kExitInvalidInput) << malformed.err;
  // -o in a folder that does not exist: the write fails, an I/O error.
  const CliRun io = run_cli({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
                             "Documents/notes.txt", "-o", tmp_ / "no/such/dir/x", "--password-file",
                             tmp_ / "pw.txt"});
  EXPECT_EQ(io.exit_code, kExitIOError) << io.err;
}

TEST_F(CliFolder, ExtractWritesThePlaintextOnceAndNamesWhatIsMissing) {
  const std::string dir = backup("local-encrypted");
  const std::string out = tmp_ / "notes.out";
  const json doc = run_json({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
                             "Documents/notes.txt", "-o", out, "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(doc["schema"], "kcbackup.extract.v1");
  EXPECT_EQ(doc["bytes"], 12);
  EXPECT_EQ(slurp(out), "hello notes\n");
  const CliRun again =
      run_cli({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
               "Documents/notes.txt", "-o", out, "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(again.exit_code, kExitInvalidInput) << again.err;
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  const CliRun missing =
      run_cli({"extract", dir, "--domain", "AppDomain-com.example.app", "--path", "Documents/none",
               "-o", tmp_ / "none", "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(missing.exit_code, kExitInvalidInput) << missing.err;
  EXPECT_NE(missing.err.find("no file AppDomain-com.example.app / Documents/none"),
            std::string::npos)
      << missing.err;
  EXPECT_FALSE(fs::exists(tmp_ / "none"));
  // A blob Manifest.db lists but the folder lacks: the folder is malformed (2), nothing written.
  const json listing =
      run_json({"inspect", "backup", dir, "--password-file", tmp_ / "pw.txt", "--files"});
  std::string file_id;
  for (const json& f : listing["files"]) {
    if (f["path"] == "Documents/notes.txt") file_id = f["file_id"];
  }
  ASSERT_EQ(file_id.size(), 40u);
  fs::remove(dir + "/" + file_id.substr(0, 2) + "/" + file_id);
  const CliRun gone =
      run_cli({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
               "Documents/notes.txt", "-o", tmp_ / "gone", "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(gone.exit_code, kExitInvalidInput) << gone.err;
  EXPECT_FALSE(fs::exists(tmp_ / "gone"));
}

TEST_F(CliFolder, UnlockWritesAPrivateKeyThatEveryCommandTakes) {
  const std::string dir = backup("local-encrypted");
  const std::string key = tmp_ / "phone.key";
  const CliRun unlock =
      run_cli({"unlock", dir, "--password-file", tmp_ / "pw.txt", "--key-out", key});
  ASSERT_EQ(unlock.exit_code, 0) << unlock.err;
  EXPECT_NE(unlock.err.find("warning: "), std::string::npos) << unlock.err;
  EXPECT_NE(unlock.err.find("opens the backup like its password"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = slurp(key);
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u);
  // Never overwritten.
  const CliRun again =
      run_cli({"unlock", dir, "--password-file", tmp_ / "pw.txt", "--key-out", key});
  EXPECT_EQ(again.exit_code, kExitInvalidInput) << again.err;
  EXPECT_EQ(slurp(key), text);

  const json by_key = run_json({"inspect", "backup", dir, "--key-file", key});
  EXPECT_EQ(item_named(by_key, "alice")["same_device"]["engine"]["state"], "unwraps");
  const json extracted =
      run_json({"extract", dir, "--domain", "AppDomain-com.example.app", "--path",
                "Documents/notes.txt", "-o", tmp_ / "n", "--key-file", key});
  EXPECT_EQ(slurp(tmp_ / "n"), "hello notes\n");
  // Another 32-byte key is a wrong password (3); a damaged file is invalid input (2).
  spit(tmp_ / "other.key", std::string(64, 'a') + "\n");
  const CliRun wrong = run_cli({"inspect", "backup", dir, "--key-file", tmp_ / "other.key"});
  EXPECT_EQ(wrong.exit_code, kExitAuthFailed) << wrong.err;
  spit(tmp_ / "bad.key", "xyz\n");
  const CliRun bad = run_cli({"inspect", "backup", dir, "--key-file", tmp_ / "bad.key"});
  EXPECT_EQ(bad.exit_code, kExitInvalidInput) << bad.err;
  EXPECT_NE(bad.err.find("--key-file"), std::string::npos) << bad.err;
  const CliRun both =
      run_cli({"inspect", "backup", dir, "--key-file", key, "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(both.exit_code, kExitInvalidInput) << both.err;
}

TEST_F(CliFolder, AuditOfABackupsAccessGroupIsAnAuditReport) {
  const std::string dir = backup("local-encrypted");
  const CliRun r = run_cli({"audit", "--backup", dir, "--access-group", "kcbackup.example",
                            "--password-file", tmp_ / "pw.txt", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "kcbackup.audit.v1");
  // Without the device only alice decodes; the note says why bob is not there.
  ASSERT_EQ(doc["items"].size(), 1u) << r.out;
  EXPECT_EQ(doc["items"][0]["name"], "alice @ example.com");
  EXPECT_NE(r.err.find("1 item(s)"), std::string::npos) << r.err;
  const CliRun with_device =
      run_cli({"audit", "--backup", dir, "--access-group", "kcbackup.example", "--password-file",
               tmp_ / "pw.txt", "--device", phone_, "--format", "json"});
  ASSERT_EQ(with_device.exit_code, 0) << with_device.err;
  EXPECT_EQ(json::parse(with_device.out)["items"].size(), 2u);
  const CliRun other = run_cli({"audit", "--backup", dir, "--access-group", "TEAM.other",
                                "--password-file", tmp_ / "pw.txt"});
  EXPECT_EQ(other.exit_code, kExitInvalidInput) << other.err;
  EXPECT_NE(other.err.find("kcbackup.example"), std::string::npos) << other.err;
  // Every format of audit's: SARIF names the backup folder as the artifact.
  const CliRun sarif = run_cli({"audit", "--backup", dir, "--access-group", "kcbackup.example",
                                "--password-file", tmp_ / "pw.txt", "--format", "sarif"});
  ASSERT_EQ(sarif.exit_code, 0) << sarif.err;
  EXPECT_NE(json::parse(sarif.out).dump().find("backup-local-encrypted"), std::string::npos);
  const CliRun no_group = run_cli({"audit", "--backup", dir});
  EXPECT_EQ(no_group.exit_code, kExitInvalidInput) << no_group.err;
}

}  // namespace
}  // namespace kcb::cli
