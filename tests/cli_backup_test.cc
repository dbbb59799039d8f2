// `kcbackup backup`, `restore` and `migrate` in-process, with --fast-kdf: the fates of a
// WhenUnlocked and a WhenUnlockedThisDeviceOnly item on every backup journey onto the same and
// another device (and the oracle agrees), a wrong or missing password exits 3, truncated, altered,
// missing or unfinished backup-folder files exit 2, and in every failure the target device is
// byte-for-byte the same
// (`device list --show-secrets --format json`). Also the password sources and their order.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/password.h"
#include "engine/keybag.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "tests/cli_fixture.h"
#include "tests/cli_run.h"
#include "tests/test_support.h"

namespace kcb::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// No test may wait on a terminal, and no test may see a password from the environment.
class CliBackup : public CliFixture {
 protected:
  // A device with a WhenUnlocked and a WhenUnlockedThisDeviceOnly item.
  std::string make_phone(const std::string& name) {
    const std::string dir = tmp_ / name;
    EXPECT_EQ(run_cli({"device", "init", dir}).exit_code, 0);
    EXPECT_EQ(run_cli({"device", "add", dir, "--account", "alice", "--service", "example.com", "-a",
                       "WhenUnlocked", "--secret", "s1"})
                  .exit_code,
              0);
    EXPECT_EQ(run_cli({"device", "add", dir, "--account", "bob", "--service", "example.com", "-a",
                       "WhenUnlockedThisDeviceOnly", "--secret", "s2"})
                  .exit_code,
              0);
    return dir;
  }
  std::string new_device(const std::string& name) {
    const std::string dir = tmp_ / name;
    EXPECT_EQ(run_cli({"device", "init", dir}).exit_code, 0);
    return dir;
  }
  std::string listing(const std::string& dir) {
    const CliRun r = run_cli({"device", "list", dir, "--show-secrets", "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::string backup(const std::string& phone, const std::string& name, const std::string& journey,
                     const std::string& password = "pw") {
    const std::string out = tmp_ / name;
    std::vector<std::string> args{"backup", phone, out, "--journey", journey, "--fast-kdf"};
    if (journey == "local-encrypted") args.insert(args.end(), {"--password", password});
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }
  // "ak" (alice) or "aku" (bob) -> "restored" or "lost"
  // Without `extra`, an encrypted backup gets the fixture's password and an unencrypted one none
  // (a password for an unencrypted backup is refused).
  std::map<std::string, std::string> restore(const std::string& bundle, const std::string& dir) {
    auto manifest = read_folder_manifest(DiskFolder(default_env(), bundle));
    EXPECT_TRUE(manifest.ok()) << manifest.status().message();
    const bool encrypted = manifest.ok() && manifest->is_encrypted;
    return restore(
        bundle, dir,
        encrypted ? std::vector<std::string>{"--password", "pw"} : std::vector<std::string>{});
  }
  std::map<std::string, std::string> restore(const std::string& bundle, const std::string& dir,
                                             const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"restore", bundle, dir, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::string> out;
    if (r.exit_code != 0) return out;
    const json doc = json::parse(r.out);
    EXPECT_EQ(doc["schema"], "kcbackup.restore.v1");
    for (const json& item : doc["items"]) {
      for (const char* key : {"class", "account", "service", "accessible", "outcome", "reason"})
        EXPECT_TRUE(item.contains(key)) << key << ": " << item.dump();
      EXPECT_EQ(item["outcome"] == "restored", item["reason"] == "") << item.dump();
      out[item["accessible"]] = item["outcome"];
    }
    return out;
  }

  TempDir tmp_;
};

std::string oracle_outcome(Accessibility a, Journey j, Target t) {
  DeviceSettings settings;
  settings.icloud_keychain = Switch::kOff;
  auto v = oracle::predict({{a, ItemClass::kGenp}, j, t, settings});
  EXPECT_TRUE(v.ok());
  return std::string(name_of(v->outcome));
}

TEST_F(CliBackup, EveryJourneyOntoTheSameAndAnotherDeviceAgreesWithTheOracle) {
  const std::string phone = make_phone("phone");
  for (const char* journey : {"local", "local-encrypted", "icloud-backup"}) {
    SCOPED_TRACE(journey);
    const Journey j = *parse_journey(journey);
    const std::string bundle = backup(phone, std::string("b-") + journey, journey);
    const auto other = restore(bundle, new_device(std::string("other-") + journey));
    EXPECT_EQ(other.at("ak"), j == Journey::kLocalEncrypted ? "restored" : "lost");
    EXPECT_EQ(other.at("aku"), "lost");  // ThisDeviceOnly never reaches another device
    EXPECT_EQ(other.at("ak"),
              oracle_outcome(Accessibility::kWhenUnlocked, j, Target::kOtherDevice));
    EXPECT_EQ(other.at("aku"),
              oracle_outcome(Accessibility::kWhenUnlockedThisDeviceOnly, j, Target::kOtherDevice));
    const auto same = restore(bundle, phone);
    EXPECT_EQ(same.at("ak"), "restored");
    EXPECT_EQ(same.at("aku"), "restored");
  }
  // The same device, erased first: its UID (hence key 0x835) stays.
  const std::string bundle = backup(phone, "b-erase", "local");
  ASSERT_EQ(run_cli({"device", "erase", phone}).exit_code, 0);
  const auto after_erase = restore(bundle, phone);
  EXPECT_EQ(after_erase.at("ak"), "restored");
  EXPECT_EQ(after_erase.at("aku"), "restored");
  const json list = json::parse(listing(phone));
  ASSERT_EQ(list["items"].size(), 2u);
  EXPECT_EQ(list["items"][0]["secret_hex"], "7331");  // "s1"
}

TEST_F(CliBackup, RestoreTextSaysEachItemsFate) {
  const std::string phone = make_phone("phone");
  const std::string bundle = backup(phone, "b", "local-encrypted");
  const CliRun r = run_cli({"restore", bundle, new_device("other"), "--password", "pw"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("restored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lost: class key unavailable on this device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 of 2 item(s) restored"), std::string::npos) << r.out;
}

TEST_F(CliBackup, MigrateIsQuickStart) {
  const std::string phone = make_phone("phone");
  const std::string fresh = new_device("new");
  const CliRun r = run_cli({"migrate", phone, fresh, "--fast-kdf", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "kcbackup.migrate.v1");
  ASSERT_EQ(doc["items"].size(), 2u);
  EXPECT_EQ(doc["items"][0]["outcome"], "restored");  // alice, WhenUnlocked
  EXPECT_EQ(doc["items"][1]["outcome"], "lost");      // bob, ThisDeviceOnly
  EXPECT_EQ(run_cli({"migrate", phone, phone, "--fast-kdf"}).exit_code, 2);
}

TEST_F(CliBackup, WrongOrMissingPasswordExitsThreeAndLeavesTheTargetAlone) {
  const std::string phone = make_phone("phone");
  const std::string bundle = backup(phone, "b", "local-encrypted", "right");
  const std::string target = make_phone("target");
  const std::string before = listing(target);
  const CliRun wrong = run_cli({"restore", bundle, target, "--password", "wrong"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
  EXPECT_NE(wrong.err.find("wrong backup password"), std::string::npos) << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  EXPECT_EQ(run_cli({"restore", bundle, target}).exit_code, 3);  // no source, no terminal
  EXPECT_EQ(listing(target), before);
}

// Backup-folder files cut short, altered in their structure, missing, or a folder that never
// finished or is an iOS 9 one: exit 2 naming the folder, the target untouched.
TEST_F(CliBackup, TruncatedOrAlteredFoldersExitTwoAndLeaveTheTargetAlone) {
  const std::string phone = make_phone("phone");
  const std::string good = backup(phone, "b", "local-encrypted");
  const std::string target = make_phone("target");
  const std::string before = listing(target);
  const std::string keychain_blob(test_support::kKeychainBlobName);
  const std::string manifest = slurp(good + "/" + kManifestPlistName);
  const std::string archive = slurp(good + "/" + keychain_blob);
  const std::string db = slurp(good + "/" + kManifestDbName);
  ASSERT_FALSE(archive.empty());
  ASSERT_FALSE(db.empty());
  const Bytes bag = read_manifest(as_bytes(manifest))->backup_keybag;
  const Bytes uuid = parse_keybag(bag)->uuid;
  const std::string uuid_bytes(uuid.begin(), uuid.end());

  struct Damage {
    const char* what;
    std::string file;
    std::optional<std::string> bytes;  // nullopt: the file is removed
    std::string message;               // what the error line must say
  };
  const std::string unfinished = [] {
    BackupStatus st;
    st.snapshot_state = "uploading";
    const Bytes b = write_backup_status(st);
    return std::string(b.begin(), b.end());
  }();
  std::vector<Damage> damages = {
      {"manifest cut in half", kManifestPlistName, manifest.substr(0, manifest.size() / 2),
       "Manifest.plist"},
      {"manifest empty", kManifestPlistName, "", "Manifest.plist"},
      {"keychain blob cut in half", keychain_blob, archive.substr(0, archive.size() / 2),
       "keychain-backup.plist"},
      {"keychain blob cut by one byte", keychain_blob, archive.substr(0, archive.size() - 1),
       "keychain-backup.plist"},
      {"Manifest.db cut in half", kManifestDbName, db.substr(0, db.size() / 2), "Manifest.db"},
      {"no Status.plist", kStatusPlistName, std::nullopt, "Status.plist"},
      {"SnapshotState not finished", kStatusPlistName, unfinished, "did not finish"},
      {"no Manifest.db", kManifestDbName, std::nullopt, "Manifest.db"},
      {"no keychain blob", keychain_blob, std::nullopt, "missing from the folder"},
  };
  std::string bad_magic = manifest;
  bad_magic[0] ^= 0x01;
  damages.push_back({"manifest magic flipped", kManifestPlistName, bad_magic, "Manifest.plist"});
  std::string bad_uuid = manifest;
  const size_t at = bad_uuid.find(uuid_bytes);
  ASSERT_NE(at, std::string::npos);
  bad_uuid[at + 3] ^= 0x10;  // the keybag no longer matches the archive's keybag-uuid
  damages.push_back({"keybag UUID bit flipped", kManifestPlistName, bad_uuid, "keybag-uuid"});
  std::string bad_tag = manifest;
  const size_t iter = bad_tag.find("ITER");
  ASSERT_NE(iter, std::string::npos);
  bad_tag[iter + 4] ^= 0x01;  // ITER's length field now runs past the end
  damages.push_back({"keybag record length flipped", kManifestPlistName, bad_tag, "BackupKeyBag"});
  // A ManifestKey one byte short: the class and wrapped key no longer fit.
  {
    auto m = read_manifest(as_bytes(manifest));
    ASSERT_TRUE(m.ok() && m->manifest_key);
    m->manifest_key->pop_back();
    const Bytes b = write_manifest(*m);
    damages.push_back({"ManifestKey 43 bytes", kManifestPlistName, std::string(b.begin(), b.end()),
                       "ManifestKey"});
  }

  int n = 0;
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.what);
    const std::string copy = tmp_ / ("damaged-" + std::to_string(n++));
    fs::copy(good, copy, fs::copy_options::recursive);
    if (d.bytes) {
      spit(copy + "/" + d.file, *d.bytes);
    } else {
      ASSERT_TRUE(fs::remove(copy + "/" + d.file));
    }
    const CliRun r = run_cli({"restore", copy, target, "--password", "pw"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(copy), std::string::npos) << "names no folder: " << r.err;
    EXPECT_NE(r.err.find(d.message), std::string::npos) << r.err;
    EXPECT_EQ(listing(target), before);
  }
  // Manifest.mbdb in place of Manifest.db: an iOS 9 backup, refused as such.
  {
    const std::string copy = tmp_ / "ios9";
    fs::copy(good, copy, fs::copy_options::recursive);
    fs::rename(copy + "/" + kManifestDbName, copy + "/" + kManifestMbdbName);
    const CliRun r = run_cli({"restore", copy, target, "--password", "pw"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("Manifest.mbdb"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
    EXPECT_EQ(listing(target), before);
  }
  const CliRun missing = run_cli({"restore", tmp_ / "no-such-folder", target});
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
  EXPECT_EQ(listing(target), before);
}

// Every single-bit change in the manifest: whatever the restore says, an error leaves the target
// as it was, and nothing but 0, 2 or 3 comes back.
TEST_F(CliBackup, AnyBitFlipInTheManifestFailsCleanly) {
  const std::string phone = make_phone("phone");
  const std::string good = backup(phone, "b", "local-encrypted");
  const std::string target = make_phone("target");
  const std::string before = listing(target);
  const std::string manifest = slurp(good + "/" + kManifestPlistName);
  const std::string copy = tmp_ / "flipped";
  const std::string pristine = tmp_ / "target-pristine";
  fs::copy(good, copy, fs::copy_options::recursive);
  fs::copy(target, pristine, fs::copy_options::recursive);
  int failures = 0;
  for (size_t i = 0; i < manifest.size(); i += 17) {
    std::string flipped = manifest;
    flipped[i] ^= static_cast<char>(1 << (i % 8));
    spit(copy + "/" + kManifestPlistName, flipped);
    const CliRun r = run_cli({"restore", copy, target, "--password", "pw", "--format", "json"});
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2 || r.exit_code == 3)
        << "byte " << i << ": " << r.exit_code << " " << r.err;
    if (r.exit_code != 0) {
      ++failures;
      ASSERT_EQ(listing(target), before) << "byte " << i;
    } else {
      // A flip the format cannot notice (in the UniqueDeviceID text, say): the restore ran. Put
      // the target back for the next round.
      fs::remove_all(target);
      fs::copy(pristine, target, fs::copy_options::recursive);
    }
  }
  EXPECT_GT(failures, 0);
}

TEST_F(CliBackup, BackupRefusesWhatItCannotWrite) {
  const std::string phone = make_phone("phone");
  const CliRun no_password =
      run_cli({"backup", phone, tmp_ / "x", "--journey", "local-encrypted", "--fast-kdf"});
  EXPECT_EQ(no_password.exit_code, 2);
  EXPECT_NE(no_password.err.find("needs a password"), std::string::npos) << no_password.err;
  const CliRun empty = run_cli({"backup", phone, tmp_ / "x", "--journey", "local-encrypted",
                                "--fast-kdf", "--password", ""});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("needs a non-empty password"), std::string::npos) << empty.err;
  // A password on a journey that takes none: refused, not an unencrypted backup (#16).
  for (const char* journey : {"local", "icloud-backup"}) {
    const CliRun pw =
        run_cli({"backup", phone, tmp_ / "x", "--journey", journey, "--password", "pw"});
    EXPECT_EQ(pw.exit_code, 2) << journey;
    EXPECT_NE(pw.err.find("takes no password"), std::string::npos) << pw.err;
  }
  EXPECT_EQ(run_cli({"backup", phone, tmp_ / "x", "--journey", "quick-start"}).exit_code, 2);
  EXPECT_EQ(run_cli({"backup", phone, tmp_ / "x", "--journey", "icloud-keychain"}).exit_code, 2);
  EXPECT_EQ(run_cli({"backup", phone, tmp_ / "x", "--journey", "dropbox"}).exit_code, 2);
  EXPECT_EQ(run_cli({"backup", tmp_ / "nowhere", tmp_ / "x", "--journey", "local"}).exit_code, 4);
  EXPECT_FALSE(fs::exists(tmp_ / "x"));
  const std::string once = backup(phone, "once", "local");
  EXPECT_EQ(run_cli({"backup", phone, once, "--journey", "local"}).exit_code, 2);  // not empty
}

TEST_F(CliBackup, BackupJsonCountsWhatTheExportFilterKept) {
  const std::string phone = make_phone("phone");
  ASSERT_EQ(run_cli({"device", "add", phone, "--account", "carol", "--service", "s", "-a", "akpu",
                     "--secret", "x"})
                .exit_code,
            0);
  const CliRun r = run_cli({"backup", phone, tmp_ / "b", "--journey", "local", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "kcbackup.backup.v1");
  EXPECT_EQ(doc["items"], 2);
  EXPECT_EQ(doc["left_on_device"], 1);  // R1: akpu never leaves
  EXPECT_EQ(doc["encrypted"], false);
}

// The real KDF is slow; one run proves the default is the real count (DPIC 10,000,000).
TEST_F(CliBackup, WithoutFastKdfTheRealCountsAreWritten) {
  const std::string phone = make_phone("phone");
  const std::string out = tmp_ / "real";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(
      run_cli({"backup", phone, out, "--journey", "local-encrypted", "--password", "pw"}).exit_code,
      0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const Bytes bag = read_manifest(as_bytes(slurp(out + "/" + kManifestPlistName)))->backup_keybag;
  EXPECT_EQ(parse_keybag(bag)->dp_iterations, 10'000'000u);
  EXPECT_EQ(parse_keybag(bag)->iterations, 10'000u);
  std::cerr << "backup with the real KDF: " << seconds << " s\n";
}

// ---- Password sources end to end (their order and checks: tests/backup_keys_test.cc). ----

TEST_F(CliBackup, EnvironmentAndFilePasswordsWorkEndToEnd) {
  const std::string phone = make_phone("phone");
  setenv(kPasswordEnvVar, "env-pw", 1);
  ASSERT_EQ(run_cli({"backup", phone, tmp_ / "b", "--journey", "local-encrypted", "--fast-kdf"})
                .exit_code,
            0);
  unsetenv(kPasswordEnvVar);
  spit(tmp_ / "pw", "env-pw\n");
  const auto fates = restore(tmp_ / "b", new_device("other"), {"--password-file", tmp_ / "pw"});
  EXPECT_EQ(fates.at("ak"), "restored");
  // The file comes before the flag: a wrong flag does not matter.
  const auto again = restore(tmp_ / "b", new_device("other2"),
                             {"--password", "wrong", "--password-file", tmp_ / "pw"});
  EXPECT_EQ(again.at("ak"), "restored");
}

// The password file is read through the command's Env (here it exists in memory only).
TEST_F(CliBackup, ThePasswordFileIsReadThroughTheEnv) {
  BackupCommandOptions o;
  o.device = make_phone("phone");
  o.bundle = tmp_ / "b";
  o.journey = "local-encrypted";
  o.keys.password_file = "in-memory/pw.txt";
  o.fast_kdf = true;
  FilesInMemory env;
  env.put("in-memory/pw.txt", "from-env-file\n");
  const CommandRun r = run_command(run_backup, o, env);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(r.out,
            "Wrote " + o.bundle +
                " (local-encrypted, encrypted, FAST KDF: protects nothing): 2 item(s) backed up, 0 "
                "left on the device by the export filter (R1, R10, R15)\n");
  EXPECT_EQ(env.reads(), 1);
  EXPECT_EQ(restore(o.bundle, new_device("other"), {"--password", "from-env-file"}).at("ak"),
            "restored");

  RestoreCommandOptions wrong;
  wrong.bundle = o.bundle;
  wrong.device = new_device("other2");
  wrong.keys.password_file = "in-memory/elsewhere.txt";
  const CommandRun missing = run_command(run_restore, wrong, env);
  EXPECT_EQ(missing.status.code(), Code::kIOError) << missing.status.to_string();
  EXPECT_EQ(missing.out + missing.err, "");
}

TEST_F(CliBackup, EveryCommandHasHelpWithAnExample) {
  for (const char* cmd : {"backup", "restore", "migrate"}) {
    const CliRun r = run_cli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << cmd;
  }
  EXPECT_NE(run_cli({"backup", "--help"}).out.find("protects nothing"), std::string::npos);
}

}  // namespace
}  // namespace kcb::cli
