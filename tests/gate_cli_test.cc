// #16's command-line defects, each test named after the defect it pins: what `migrate` leaves on
// the old device, free text capped before it is echoed, and the wrong-password wording on every
// command that opens an encrypted backup. Run in-process with --fast-kdf.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/password.h"
#include "tests/cli_fixture.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

using json = nlohmann::json;

class GateCli : public CliFixture {
 protected:
  std::string ok_run(const std::vector<std::string>& args) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    return r.out;
  }
  std::string device(const std::string& name) {
    const std::string dir = tmp_ / name;
    ok_run({"device", "init", dir});
    return dir;
  }
  void add(const std::string& dir, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"device", "add", dir};
    args.insert(args.end(), extra.begin(), extra.end());
    ok_run(args);
  }
  // A backup of a phone with one item and one app file: encrypted under "right", or not.
  std::string backup_of_a_phone(const std::string& journey) {
    const std::string phone = device("phone-" + journey);
    add(phone, {"--account", "a", "--service", "s", "-a", "AfterFirstUnlock", "--secret", "x"});
    spit(tmp_ / "note.txt", "hello");
    ok_run({"device", "put", phone, "--domain", "AppDomain-com.example.app", "--path", "note.txt",
            tmp_ / "note.txt"});
    const std::string backup = tmp_ / ("backup-" + journey);
    std::vector<std::string> args = {"backup", phone, backup, "--journey", journey, "--fast-kdf"};
    if (journey == "local-encrypted") args.insert(args.end(), {"--password", "right"});
    ok_run(args);
    return backup;
  }
  // Every command that opens a backup folder, onto `target` (restore) or into new files.
  std::vector<std::vector<std::string>> commands_opening(const std::string& backup,
                                                         const std::string& target) {
    return {
        {"restore", backup, target},
        {"inspect", "backup", backup},
        {"unlock", backup, "--key-out", tmp_ / "key-out"},
        {"extract", backup, "--domain", "AppDomain-com.example.app", "--path", "note.txt", "-o",
         tmp_ / "out.txt"},
        {"audit", "--backup", backup, "--access-group", "TEAMID.com.example.app"},
    };
  }
  // Each command with `extra` exits `code` saying `message`, and changes nothing.
  void expect_refused_everywhere(const std::string& backup, const std::vector<std::string>& extra,
                                 int code, const std::string& message, bool unlock_too = true) {
    const std::string target = device("target" + std::to_string(targets_++));
    const std::string before = ok_run({"device", "list", target, "--format", "json"});
    for (std::vector<std::string> args : commands_opening(backup, target)) {
      if (args[0] == "unlock" && !unlock_too) continue;
      args.insert(args.end(), extra.begin(), extra.end());
      const CliRun r = run_cli(args);
      EXPECT_EQ(r.exit_code, code) << args[0] << ": " << r.err;
      EXPECT_NE(r.err.find(message), std::string::npos) << args[0] << ": " << r.err;
    }
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "key-out"));
    EXPECT_FALSE(std::filesystem::exists(tmp_ / "out.txt"));
    EXPECT_EQ(ok_run({"device", "list", target, "--format", "json"}), before);
  }

  TempDir tmp_;
  int targets_ = 0;
};

// "`migrate` reports '1 of 2 item(s) restored' from a phone with 4 items: the export-filtered
// ones (Face ID PIN, Secure Enclave key) are not mentioned and JSON has no `left_on_device`."
TEST_F(GateCli, MigrateFromAPhoneWithFourItemsNamesTheTwoLeftOnTheDevice) {
  const std::string phone = device("phone");
  add(phone, {"--account", "alice", "--service", "mail", "-a", "WhenUnlocked", "--secret", "1"});
  add(phone, {"--account", "bob", "--service", "mail", "-a", "WhenUnlockedThisDeviceOnly",
              "--secret", "2"});
  add(phone, {"--account", "face-id-pin", "--service", "pin", "-a", "WhenPasscodeSetThisDeviceOnly",
              "--auth-constraint", "--secret", "1234"});
  add(phone, {"--class", "keys", "--account", "se-key", "--service", "sign", "-a",
              "WhenUnlockedThisDeviceOnly", "--token", "secure-enclave", "--secret", "k"});
  const json doc =
      json::parse(ok_run({"migrate", phone, device("new"), "--fast-kdf", "--format", "json"}));
  EXPECT_EQ(doc["items"].size(), 2u);
  EXPECT_EQ(doc["restored"], 1);
  ASSERT_EQ(doc["left_on_device"], 2);
  ASSERT_EQ(doc["left_on_device_items"].size(), 2u);
  std::map<std::string, std::string> rules;
  for (const json& l : doc["left_on_device_items"]) {
    rules[l["account"]] = l["rule"];
    EXPECT_NE(l["reason"].get<std::string>(), "") << l.dump();
  }
  EXPECT_EQ(rules, (std::map<std::string, std::string>{{"face-id-pin", "R1"}, {"se-key", "R1"}}));

  const std::string text = ok_run({"migrate", phone, device("new2"), "--fast-kdf"});
  EXPECT_NE(text.find("1 of 2 item(s) restored"), std::string::npos) << text;
  EXPECT_NE(text.find("2 item(s) left on the old device by the export filter"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  left: genp row 3 face-id-pin / pin: R1, "), std::string::npos) << text;
  EXPECT_NE(text.find("  left: keys row 1 se-key / sign: R1, "), std::string::npos) << text;
}

// "`--service` accepts and echoes 100 KB (audit caps names at 256 bytes)."
TEST_F(GateCli, ServiceOf100KbIsRefusedWithExitTwoAndNotEchoed) {
  const std::string phone = device("phone");
  const std::string huge(100 * 1024, 's');
  for (const char* option : {"--service", "--account", "--label"}) {
    std::vector<std::string> args = {"device",    "add", phone,      "--account", "a",
                                     "--service", "s",   "--secret", "x"};
    args.insert(args.end(), {option, huge});
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << option;
    EXPECT_NE(r.err.find(std::string(option) + ": 102400 bytes; at most 256"), std::string::npos)
        << r.err.substr(0, 300);
    EXPECT_LT(r.err.size(), 400u) << option;  // the text is not echoed back
    EXPECT_TRUE(r.out.empty());
  }
  // 256 bytes is a name an audit accepts too: taken and echoed.
  const std::string longest(256, 'n');
  add(phone, {"--account", "a", "--service", longest, "--secret", "x"});
  EXPECT_NE(ok_run({"device", "list", phone}).find(longest), std::string::npos);
  // A selector and a path are capped too, so no option echoes 100 KB.
  const CliRun del = run_cli({"device", "delete", phone, "--service", huge});
  EXPECT_EQ(del.exit_code, 2);
  EXPECT_LT(del.err.size(), 400u);
  const CliRun path = run_cli({"device", "list", huge});
  EXPECT_EQ(path.exit_code, 2);
  EXPECT_NE(path.err.find("DIR: 102400 bytes; at most 4096"), std::string::npos)
      << path.err.substr(0, 300);
  EXPECT_LT(path.err.size(), 400u);
}

// "A wrong password is reported as 'permission denied: ...'": every command that opens an
// encrypted backup, with the password from a file or a derived key from --key-file, says
// "wrong backup password" and exits 3.
TEST_F(GateCli, AWrongPasswordSaysWrongBackupPasswordOnEveryPath) {
  const std::string backup = backup_of_a_phone("local-encrypted");
  spit(tmp_ / "wrong.txt", "wrong\n");
  spit(tmp_ / "wrong.key", std::string(64, '0') + "\n");
  for (const char* said : {"kcbackup: authentication failed: ", "wrong backup password"}) {
    expect_refused_everywhere(backup, {"--password-file", tmp_ / "wrong.txt"}, 3, said);
    expect_refused_everywhere(backup, {"--key-file", tmp_ / "wrong.key"}, 3, said, false);
  }
}

// A password for a backup that is not encrypted is refused by every command that opens one, not
// ignored: ignored, any password would look right (restore: issue 16; the others since #12).
TEST_F(GateCli, APasswordForAnUnencryptedBackupIsExitTwoOnEveryPath) {
  const std::string backup = backup_of_a_phone("local");
  spit(tmp_ / "wrong.txt", "wrong\n");
  for (const std::vector<std::string>& given :
       {std::vector<std::string>{"--password", "wrong"},
        std::vector<std::string>{"--password-file", tmp_ / "wrong.txt"}}) {
    expect_refused_everywhere(backup, given, 2,
                              "the backup is not encrypted, so it takes no password");
  }
}

// --key-file and a password are two answers to one question (restore took the key file and
// ignored the password before #12); a key file past 256 bytes is the wrong file, said so.
TEST_F(GateCli, AKeyFileWithAPasswordOrTooLargeIsExitTwoOnEveryPath) {
  const std::string backup = backup_of_a_phone("local-encrypted");
  spit(tmp_ / "right.key", std::string(64, '0') + "\n");
  spit(tmp_ / "big.key", std::string(64, '0') + std::string(300, '\n'));
  expect_refused_everywhere(backup, {"--key-file", tmp_ / "right.key", "--password", "right"}, 2,
                            "--key-file replaces the password: give one of them", false);
  expect_refused_everywhere(backup, {"--key-file", tmp_ / "big.key"}, 2,
                            "big.key: larger than 256 bytes; a key file holds 64 hex digits",
                            false);
}

// Writes `bytes` into a new FIFO from another thread, as a shell's <(echo pw) or a named pipe
// would; join() after the reader is done.
class FifoWriter {
 public:
  FifoWriter(const std::string& path, std::string bytes) : path_(path) {
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    thread_ = std::thread(
        [this, bytes = std::move(bytes)] { std::ofstream(path_, std::ios::binary) << bytes; });
  }
  ~FifoWriter() { thread_.join(); }

 private:
  std::string path_;
  std::thread thread_;
};

std::string source_file(const std::string& relative) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/" + relative;
}

// "`--password-file /dev/stdin`, `<(echo pw)`, a FIFO, and `simulate <(cat …)` fail with
// 'Operation not supported' (exit 4)": a password file and a scenario from pipes.
TEST_F(GateCli, PasswordFileAndSimulateScenarioFromAFifoWorkNotOperationNotSupported) {
  std::signal(SIGPIPE, SIG_IGN);
  const std::string phone = device("phone");
  add(phone, {"--account", "a", "--service", "s", "--secret", "x"});
  const std::string backup = tmp_ / "backup";
  {
    FifoWriter pw(tmp_ / "new-pw", "pipe-pw\n");
    ok_run({"backup", phone, backup, "--journey", "local-encrypted", "--password-file",
            tmp_ / "new-pw", "--fast-kdf"});
  }
  {
    FifoWriter pw(tmp_ / "pw", "pipe-pw\n");
    const CliRun r = run_cli({"restore", backup, device("other"), "--password-file", tmp_ / "pw"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("1 of 1 item(s) restored"), std::string::npos) << r.out;
  }
  {
    FifoWriter scenario(tmp_ / "scenario", slurp(source_file("examples/scenario-new-phone.json")));
    const CliRun r = run_cli({"simulate", tmp_ / "scenario"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("Operation not supported"), std::string::npos) << r.err;
  }
}

// "`backup --journey local --password pw` silently makes an unencrypted backup (simulate refuses
// the same)": exit 2, nothing written.
TEST_F(GateCli, PasswordOnAJourneyThatTakesNoneIsExitTwoNotAnUnencryptedBackup) {
  const std::string phone = device("phone");
  add(phone, {"--account", "a", "--service", "s", "--secret", "x"});
  spit(tmp_ / "pw", "pw\n");
  for (const char* journey : {"local", "icloud-backup"}) {
    for (const std::vector<std::string>& given :
         {std::vector<std::string>{"--password", "pw"},
          std::vector<std::string>{"--password-file", tmp_ / "pw"}}) {
      std::vector<std::string> args = {"backup", phone, tmp_ / "b", "--journey", journey};
      args.insert(args.end(), given.begin(), given.end());
      const CliRun r = run_cli(args);
      EXPECT_EQ(r.exit_code, 2) << journey << " " << given[0];
      EXPECT_NE(r.err.find("takes no password (only local-encrypted does)"), std::string::npos)
          << r.err;
      EXPECT_FALSE(std::filesystem::exists(tmp_ / "b"));
    }
  }
}

// "`restore` of it with a wrong password exits 0": a password for an unencrypted backup is refused
// before anything changes, whatever it is, so a wrong one can never look like a right one.
TEST_F(GateCli, RestoreOfAnUnencryptedBackupWithAWrongPasswordIsExitTwoNotZero) {
  const std::string phone = device("phone");
  add(phone, {"--account", "a", "--service", "s", "--secret", "x"});
  ASSERT_EQ(run_cli({"backup", phone, tmp_ / "b", "--journey", "local"}).exit_code, 0);
  const std::string target = device("target");
  add(target, {"--account", "t", "--service", "s", "--secret", "y"});
  const std::string before = run_cli({"device", "list", target, "--format", "json"}).out;
  spit(tmp_ / "pw", "wrong\n");
  for (const std::vector<std::string>& given :
       {std::vector<std::string>{"--password", "wrong"},
        std::vector<std::string>{"--password-file", tmp_ / "pw"}}) {
    std::vector<std::string> args = {"restore", tmp_ / "b", target};
    args.insert(args.end(), given.begin(), given.end());
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << given[0] << ": " << r.err;
    EXPECT_NE(r.err.find("the backup is not encrypted, so it takes no password"), std::string::npos)
        << r.err;
    EXPECT_EQ(run_cli({"device", "list", target, "--format", "json"}).out, before);
  }
  EXPECT_EQ(run_cli({"restore", tmp_ / "b", target}).exit_code, 0);
}

// "`demo --help` says 'a few seconds' (it takes 0.03 s)".
TEST_F(GateCli, DemoHelpSaysWellUnderASecondNotAFewSeconds) {
  const CliRun r = run_cli({"demo", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("few seconds"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("well under a second"), std::string::npos) << r.out;
}

// The keys of a verdict's ios_versions are exactly its rules, each with a non-empty text.
void expect_ios_versions_for_its_rules(const json& verdict) {
  ASSERT_TRUE(verdict.contains("ios_versions")) << verdict.dump();
  std::vector<std::string> keys;
  for (const auto& [rule, text] : verdict["ios_versions"].items()) {
    keys.push_back(rule);
    EXPECT_NE(text.get<std::string>().find("iOS"), std::string::npos) << rule;
  }
  EXPECT_EQ(keys, verdict["rules"].get<std::vector<std::string>>()) << verdict.dump();
}

// "every verdict says which iOS versions its sources cover": predict (text and JSON), table,
// audit (JSON, text, JUnit) and rules.
TEST_F(GateCli, EveryVerdictSaysWhichIosVersionsItsSourcesCover) {
  const std::vector<std::string> ask = {"predict",       "-a", "WhenUnlocked", "-j",
                                        "icloud-backup", "-t", "other-device"};
  const std::string text = ok_run(ask);
  EXPECT_NE(text.find("  iOS:        R4: measured on iOS 12.0.1 and 12.1.1"), std::string::npos)
      << text;
  std::vector<std::string> as_json = ask;
  as_json.insert(as_json.end(), {"--format", "json"});
  expect_ios_versions_for_its_rules(json::parse(ok_run(as_json)));
  const json table = json::parse(ok_run({"table", "--format", "json"}));
  for (const json& row : table["rows"])
    expect_ios_versions_for_its_rules(row);
  const std::string items = source_file("examples/audit-banking-app.json");
  const CliRun audit = run_cli({"audit", items, "--wrapper", "keychainaccess", "--format", "json"});
  ASSERT_EQ(audit.exit_code, 1) << audit.err;
  size_t fates = 0;
  const json audit_doc = json::parse(audit.out);
  for (const json& item : audit_doc["items"]) {
    for (const json& fate : item["fates"]) {
      expect_ios_versions_for_its_rules(fate);
      ++fates;
    }
  }
  EXPECT_GT(fates, 0u);
  const CliRun audit_text = run_cli({"audit", items, "--wrapper", "keychainaccess"});
  EXPECT_NE(audit_text.out.find("iOS: R4: measured on iOS 12.0.1"), std::string::npos)
      << audit_text.out;
  const CliRun junit =
      run_cli({"audit", items, "--wrapper", "keychainaccess", "--format", "junit"});
  EXPECT_NE(junit.out.find("; iOS: R4: measured on iOS 12.0.1"), std::string::npos) << junit.out;
  const json rules = json::parse(ok_run({"rules", "--format", "json"}));
  for (const json& rule : rules["rules"])
    EXPECT_NE(rule["ios_versions"].get<std::string>().find("iOS"), std::string::npos) << rule;
}

}  // namespace
}  // namespace kcb::cli
