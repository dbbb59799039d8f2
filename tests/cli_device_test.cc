// `kcbackup device ...` in-process: init/add/list/passcode/erase round trip with the JSON schema,
// SecItemAdd refusals carrying their OSStatus (exit 2), bad options naming themselves.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"
#include "tests/cli_run.h"
#include "tests/fault_env.h"

namespace kcb::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(CliDevice, InitAddListPasscodeEraseRoundTrip) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  const json init = run_json({"device", "init", phone, "--uid-hex", kTestUidHex, "--seed", "1"});
  EXPECT_EQ(init["schema"], "kcbackup.device.init.v1");
  EXPECT_EQ(init["passcode"], true);
  EXPECT_EQ(init["icloud_keychain"], false);
  const std::string udid = init["unique_device_id"];
  EXPECT_EQ(udid.size(), 40u);

  {
    std::ofstream f(tmp / "secret.bin", std::ios::binary);
    f << std::string("\x00\x01\xff", 3);
  }
  const json added = run_json({"device", "add", phone, "--account", "alice", "--service",
                               "example.com", "--secret", "hunter2"});
  EXPECT_EQ(added["schema"], "kcbackup.device.add.v1");
  EXPECT_EQ(added["accessible"], "ak");
  run_json({"device", "add", phone, "--account", "bob", "--service", "example.com", "--accessible",
            "kSecAttrAccessibleWhenUnlockedThisDeviceOnly", "--secret-file", tmp / "secret.bin",
            "--label", "Bob"});
  run_json({"device", "add", phone, "--class", "inet", "--account", "carol", "--service", "s", "-a",
            "akpu", "--secret", "x"});
  run_json({"device", "add", phone, "--account", "dave", "--service", "s", "-a", "ck",
            "--synchronizable", "--secret", "y"});

  const json list = run_json({"device", "list", phone});
  EXPECT_EQ(list["schema"], "kcbackup.device.list.v1");
  ASSERT_EQ(list["items"].size(), 4u);
  const json& alice = list["items"][0];
  for (const char* key : {"class", "account", "service", "access_group", "accessible",
                          "synchronizable", "token", "auth_constraint"}) {
    EXPECT_TRUE(alice.contains(key)) << key;
  }
  EXPECT_FALSE(alice.contains("secret_hex"));
  EXPECT_EQ(alice["class"], "genp");
  EXPECT_EQ(alice["account"], "alice");
  EXPECT_EQ(alice["accessible"], "ak");
  EXPECT_EQ(list["items"][1]["accessible"], "aku");
  EXPECT_EQ(list["items"][2]["accessible"], "ck");
  EXPECT_EQ(list["items"][2]["synchronizable"], true);
  EXPECT_EQ(list["items"][3]["class"], "inet");
  EXPECT_EQ(list["items"][3]["accessible"], "akpu");

  const json secrets = run_json({"device", "list", phone, "--show-secrets"});
  EXPECT_EQ(secrets["items"][0]["secret_hex"], "68756e74657232");  // "hunter2"
  EXPECT_EQ(secrets["items"][1]["secret_hex"], "0001ff");

  const CliRun text = run_cli({"device", "list", phone});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("WhenUnlockedThisDeviceOnly (aku)"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("68756e74657232"), std::string::npos) << "secret shown without asking";

  const json off = run_json({"device", "passcode", phone, "off"});
  EXPECT_EQ(off["deleted"], 1);  // R8: the akpu item goes with the passcode
  EXPECT_EQ(run_json({"device", "list", phone})["items"].size(), 3u);
  run_json({"device", "passcode", phone, "on"});

  const json erased = run_json({"device", "erase", phone});
  EXPECT_EQ(erased["removed"], 3);
  EXPECT_EQ(erased["unique_device_id"], udid);  // the UID stays
  EXPECT_TRUE(run_json({"device", "list", phone})["items"].empty());
}

TEST(CliDevice, TheSameUidGivesTheSameUniqueDeviceId) {
  TempDir tmp;
  const json a = run_json({"device", "init", tmp / "a", "--uid-hex", kTestUidHex});
  const json b =
      run_json({"device", "init", tmp / "b", "--uid-hex", kTestUidHex, "--passcode", "off"});
  const json c = run_json({"device", "init", tmp / "c"});
  EXPECT_EQ(a["unique_device_id"], b["unique_device_id"]);
  EXPECT_NE(a["unique_device_id"], c["unique_device_id"]);
  EXPECT_EQ(b["passcode"], false);
}

TEST(CliDevice, BadInitOptionsExitTwoNamingTheOption) {
  TempDir tmp;
  for (const std::string& uid : {std::string("abcd"), std::string(kTestUidHex).substr(2) + "zz",
                                 std::string(kTestUidHex) + "00"}) {
    const CliRun r = run_cli({"device", "init", tmp / "x", "--uid-hex", uid});
    EXPECT_EQ(r.exit_code, 2) << uid;
    EXPECT_NE(r.err.find("--uid-hex"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(tmp / "x"));
  const CliRun passcode = run_cli({"device", "init", tmp / "y", "--passcode", "maybe"});
  EXPECT_EQ(passcode.exit_code, 2);
  EXPECT_NE(passcode.err.find("--passcode"), std::string::npos) << passcode.err;
  ASSERT_EQ(run_cli({"device", "init", tmp / "z"}).exit_code, 0);
  EXPECT_EQ(run_cli({"device", "init", tmp / "z"}).exit_code, 2);  // not empty
}

TEST(CliDevice, RefusedAddsExitTwoWithTheirOsStatus) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  ASSERT_EQ(run_cli({"device", "init", phone, "--passcode", "off"}).exit_code, 0);
  struct Case {
    std::vector<std::string> extra;
    const char* status;
  };
  const Case cases[] = {
      {{"-a", "WhenPasscodeSetThisDeviceOnly"}, "errSecAuthFailed (-25293)"},
      {{"--auth-constraint", "--synchronizable"}, "errSecParam (-50)"},
      {{"--token", "secure-enclave"}, "errSecParam (-50)"},  // a token item must be a key
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"device",    "add", phone,      "--account", "a",
                                     "--service", "s",   "--secret", "x"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << c.status;
    EXPECT_NE(r.err.find(c.status), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const std::vector<std::string> add = {"device",    "add", phone,      "--account", "a",
                                        "--service", "s",   "--secret", "x"};
  ASSERT_EQ(run_cli(add).exit_code, 0);
  const CliRun dup = run_cli(add);
  EXPECT_EQ(dup.exit_code, 2);
  EXPECT_NE(dup.err.find("errSecDuplicateItem (-25299)"), std::string::npos) << dup.err;
  EXPECT_EQ(run_json({"device", "list", phone})["items"].size(), 1u);
}

TEST(CliDevice, AddNeedsExactlyOneSecretSourceAndAnExistingDevice) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  ASSERT_EQ(run_cli({"device", "init", phone}).exit_code, 0);
  EXPECT_EQ(run_cli({"device", "add", phone, "--account", "a", "--service", "s"}).exit_code, 2);
  EXPECT_EQ(run_cli({"device", "add", phone, "--account", "a", "--service", "s", "--secret", "x",
                     "--secret-file", tmp / "f"})
                .exit_code,
            2);
  const CliRun missing_file = run_cli(
      {"device", "add", phone, "--account", "a", "--service", "s", "--secret-file", tmp / "nope"});
  EXPECT_EQ(missing_file.exit_code, 4);
  EXPECT_NE(missing_file.err.find("--secret-file"), std::string::npos) << missing_file.err;
  const CliRun no_device = run_cli({"device", "list", tmp / "nowhere"});
  EXPECT_EQ(no_device.exit_code, 4);
  EXPECT_NE(no_device.err.find("device init"), std::string::npos) << no_device.err;
  EXPECT_EQ(run_cli({"device", "passcode", phone, "sometimes"}).exit_code, 2);
}

// The secret file is an input the CLI reads itself: through the Env it is given, which here holds
// the file in memory only; the error is the command's Status, printed by nobody but run_kcbackup.
TEST(CliDevice, AddAndUpdateReadTheSecretFileThroughTheirEnv) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  ASSERT_EQ(run_cli({"device", "init", phone}).exit_code, 0);
  FilesInMemory env;
  env.put("in-memory/secret.bin", std::string("\x00\x01\xff", 3));
  DeviceAddOptions add;
  add.dir = phone;
  add.account = "alice";
  add.service = "example.com";
  add.secret.file = "in-memory/secret.bin";
  const CommandRun added = run_command(run_device_add, add, env);
  ASSERT_TRUE(added.status.ok()) << added.status.to_string();
  EXPECT_EQ(added.out, "Added genp item alice / example.com (WhenUnlocked (ak)) as row 1\n");
  EXPECT_EQ(added.err, "");

  DeviceUpdateOptions update;
  update.dir = phone;
  update.selector.row = 1;
  update.secret.file = "in-memory/missing.bin";
  const CommandRun missing = run_command(run_device_update, update, env);
  EXPECT_EQ(missing.status.code(), Code::kIOError);
  EXPECT_NE(missing.status.message().find("--secret-file"), std::string::npos);
  EXPECT_EQ(missing.out + missing.err, "");  // nothing printed: run_kcbackup reports it
  EXPECT_EQ(run_json({"device", "list", phone, "--show-secrets"})["items"][0]["secret_hex"],
            "0001ff");

  env.put("in-memory/new.bin", std::string("\x02\x03", 2));  // exists nowhere on disk
  update.secret.file = "in-memory/new.bin";
  const CommandRun updated = run_command(run_device_update, update, env);
  ASSERT_TRUE(updated.status.ok()) << updated.status.to_string();
  EXPECT_EQ(env.reads(), 2);
  EXPECT_EQ(run_json({"device", "list", phone, "--show-secrets"})["items"][0]["secret_hex"],
            "0203");
}

TEST(CliDevice, UpdateAndDeleteNameOneItemAndCarryTheirOsStatus) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  ASSERT_EQ(run_cli({"device", "init", phone, "--passcode", "off", "--seed", "3"}).exit_code, 0);
  for (const char* sync : {"--synchronizable", "--label=twin"}) {
    ASSERT_EQ(
        run_cli({"device", "add", phone, "--account", "a", "--service", "s", "--secret", "x", sync})
            .exit_code,
        0);
  }
  const json updated = run_json({"device", "update", phone, "--row", "1", "-a", "aku", "--secret",
                                 "n3w", "--label", "renamed"});
  EXPECT_EQ(updated["schema"], "kcbackup.device.update.v1");
  EXPECT_EQ(updated["rowid"], 1);
  const json list = run_json({"device", "list", phone, "--show-secrets"});
  EXPECT_EQ(list["items"][0]["accessible"], "aku");
  EXPECT_EQ(list["items"][0]["secret_hex"], "6e3377");
  EXPECT_EQ(list["items"][1]["accessible"], "ak") << "the other row changed";

  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case refused[] = {
      {{"update", phone, "--account", "a", "--service", "s", "--label", "x"}, "match 2 genp rows"},
      {{"update", phone, "--row", "1"}, "nothing to change"},
      {{"update", phone, "--row", "1", "-a", "akpu"}, "errSecAuthFailed (-25293)"},
      {{"update", phone, "--row", "9", "--label", "x"}, "errSecItemNotFound (-25300)"},
      {{"update", phone, "--row", "2", "--synchronizable", "maybe"}, "--synchronizable"},
      {{"delete", phone}, "--row N or --account A --service S"},
      {{"delete", phone, "--account", "b", "--service", "s"}, "errSecItemNotFound (-25300)"},
  };
  for (const Case& c : refused) {
    std::vector<std::string> args = {"device"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(run_json({"device", "list", phone, "--show-secrets"}), list) << "a refusal changed";

  const json deleted = run_json({"device", "delete", phone, "--row", "1"});
  EXPECT_EQ(deleted["schema"], "kcbackup.device.delete.v1");
  const json rest = run_json({"device", "list", phone});
  ASSERT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(rest["items"][0]["synchronizable"], false);
}

TEST(CliDevice, EveryCommandHasHelpWithAnExample) {
  for (const char* sub : {"init", "add", "update", "delete", "list", "passcode", "erase", "set"}) {
    const CliRun r = run_cli({"device", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << sub << ": " << r.out;
  }
}

// #14: the settings init and set take, the traits add takes, and what list shows of them: the
// persistent reference in the device's kind (12 bytes old-style, 20 bytes UUID-based), App Clip,
// system-bound and tombstone items.
TEST(CliDevice, ReferencesSosAndTheNewTraitsRoundTripThroughInitSetAddAndList) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  const json init = run_json({"device", "init", phone, "--persistent-refs", "uuid", "--sos", "on"});
  EXPECT_EQ(init["persistent_refs"], "uuid");
  EXPECT_EQ(init["sos"], true);
  const json added = run_json(
      {"device", "add", phone, "--account", "a", "--service", "s", "--secret", "x", "--app-clip"});
  EXPECT_EQ(added["persistent_ref_hex"].get<std::string>().size(), 40u);
  run_json({"device", "add", phone, "--account", "b", "--service", "s", "--secret", "x",
            "--sysbound", "preserve"});
  run_json({"device", "add", phone, "--account", "c", "--service", "s", "--secret", "x",
            "--synchronizable", "--tombstone"});
  const json set = run_json({"device", "set", phone, "--persistent-refs", "rowid", "--sos", "off"});
  EXPECT_EQ(set["persistent_refs"], "rowid");
  EXPECT_EQ(set["sos"], false);
  run_json({"device", "add", phone, "--account", "d", "--service", "s", "--secret", "x"});
  const json list = run_json({"device", "list", phone});
  EXPECT_EQ(list["persistent_refs"], "rowid");
  EXPECT_EQ(list["sos"], false);
  ASSERT_EQ(list["items"].size(), 4u);
  const json& a = list["items"][0];
  const json& b = list["items"][1];
  const json& c = list["items"][2];
  const json& d = list["items"][3];
  EXPECT_EQ(a["app_clip"], true);
  EXPECT_EQ(a["sysbound"], "none");
  EXPECT_EQ(a["persistent_ref_hex"], added["persistent_ref_hex"]) << "rows keep their references";
  EXPECT_EQ(b["sysbound"], "preserve");
  EXPECT_EQ(c["tombstone"], true);
  EXPECT_EQ(c["app_clip"], false);
  EXPECT_EQ(d["persistent_ref_hex"], "67656e700000000000000004");  // "genp" + rowid 4
  const CliRun text = run_cli({"device", "list", phone});
  EXPECT_NE(text.out.find("rowid references, SOS off, 4 items"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("app-clip"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("sync,tombstone"), std::string::npos) << text.out;
}

TEST(CliDevice, BadSettingsAndTraitsExitTwoNamingTheOption) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  EXPECT_EQ(run_cli({"device", "init", phone}).exit_code, 0);
  const std::pair<std::vector<std::string>, std::string> bad[] = {
      {{"device", "init", tmp / "other", "--persistent-refs", "guid"}, "--persistent-refs"},
      {{"device", "init", tmp / "third", "--sos", "maybe"}, "--sos"},
      {{"device", "set", phone}, "nothing to change"},
      {{"device", "set", phone, "--persistent-refs", "row"}, "--persistent-refs"},
      {{"device", "add", phone, "--account", "a", "--service", "s", "--secret", "x", "--sysbound",
        "always"},
       "--sysbound"},
  };
  for (const auto& [args, word] : bad) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << word << ": " << r.err;
    EXPECT_NE(r.err.find(word), std::string::npos) << r.err;
  }
  EXPECT_TRUE(run_json({"device", "list", phone})["items"].empty()) << "nothing was added";
}

// `device set --persistent-refs uuid --sos on` is one change of device.plist: whichever of its
// file-system changes fails, the folder keeps both settings old or has both new, never one of them
// (it used to write the file once per setting).
TEST(CliDeviceSet, BothSettingsChangeTogetherOrNotAtAll) {
  TempDir tmp;
  const std::string base = tmp / "base";
  ASSERT_EQ(run_cli({"device", "init", base, "--seed", "1"}).exit_code, 0);
  const std::string dir = tmp / "phone";
  const auto settings = [&] {
    auto d = Device::open(default_env(), dir, {DeviceAccess::kReadOnly});
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return d.ok() ? std::pair((*d)->persistent_refs(), (*d)->sos())
                  : std::pair(PersistentRefKind::kRowid, true);
  };
  DeviceSetOptions o;
  o.dir = dir;
  o.persistent_refs = "uuid";
  o.sos = "on";
  const auto run = [&](size_t fail_at, size_t* changes) {
    fs::remove_all(dir);
    fs::copy(base, dir, fs::copy_options::recursive);
    faults::FaultEnv env(default_env());
    env.fail_change(fail_at);
    const CommandRun r = run_command(run_device_set, o, env);
    if (changes != nullptr) *changes = env.changes();
    return r.status;
  };
  size_t changes = 0;
  ASSERT_TRUE(run(0, &changes).ok());
  const auto both = std::pair(PersistentRefKind::kUuid, true);
  EXPECT_EQ(settings(), both);
  ASSERT_GE(changes, 1u);
  for (size_t n = 1; n <= changes; ++n) {
    SCOPED_TRACE("change " + std::to_string(n) + " of " + std::to_string(changes) + " fails");
    const Status st = run(n, nullptr);
    EXPECT_FALSE(st.ok());
    const auto found = settings();
    EXPECT_TRUE(found == both || found == std::pair(PersistentRefKind::kRowid, false))
        << st.to_string() << ": " << name_of(found.first) << ", SOS " << found.second;
  }
}

}  // namespace
}  // namespace kcb::cli
