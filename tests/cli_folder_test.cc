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

constexpr const char* kUid = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

json run_json(std::vector<std::string> args) {
  args.insert(args.end(), {"--format", "json"});
  const CliRun r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

TEST(CliDeviceFiles, PutThenFilesListsThemSortedWithTheirClass) {
  TempDir tmp;
  const std::string phone = tmp / "phone";
  run_json({"device", "init", phone, "--uid-hex", kUid, "--seed", "1"});
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

}  // namespace
}  // namespace kcb::cli
