// `kcbackup simulate`: the example scenarios agree step by step; malformed scenarios exit 2 with
// one line naming the JSON path (or line and column), before any step runs; passwords are explicit;
// the caps hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kcbackup/scenario.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

std::string example(const char* name) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/examples/" + name;
}

// A scenario of `devices` devices named d0, d1, ... and the given steps (a JSON list's inside).
std::string scenario_text(size_t devices, const std::string& steps) {
  std::string out = R"({"devices": [)";
  for (size_t i = 0; i < devices; ++i)
    out += (i ? "," : "") + std::string(R"({"name": "d)") + std::to_string(i) + R"("})";
  return out + R"(], "steps": [)" + steps + "]}";
}

// `n` copies of `step`, comma-separated; "#" in it becomes the copy's number.
std::string repeated(size_t n, const std::string& step) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    std::string s = step;
    for (size_t at = s.find('#'); at != std::string::npos; at = s.find('#'))
      s.replace(at, 1, std::to_string(i));
    out += (i ? "," : "") + s;
  }
  return out;
}

std::string write_scenario(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / "kcb_simulate_test.json";
  std::ofstream(path) << text;
  return path.string();
}

TEST(CliSimulate, ExampleScenariosAgreeAfterEveryStep) {
  for (const char* name : {"scenario-new-phone.json", "scenario-passcode-and-quick-start.json"}) {
    const CliRun r = run_cli({"simulate", example(name), "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err << r.out;
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_TRUE(doc["agree"].get<bool>());
    EXPECT_GT(doc["steps"].size(), 5u);
  }
}

// The stateful property writes its counterexamples with harness::write_scenario; simulate replays
// such a file, switch-alone steps and binary secrets included.
TEST(CliSimulate, ReplaysAScenarioWrittenByTheHarness) {
  harness::Scenario s;
  s.devices = {{"d0", true, false}, {"d1", true, false}};
  harness::Step add;
  add.op = harness::Op::kAdd;
  add.account = "acct-7";
  add.traits.synchronizable = true;
  add.secret = std::string("\x00\xff", 2);
  harness::Step join;
  join.op = harness::Op::kIcloudKeychain;
  harness::Step switch_off;
  switch_off.op = harness::Op::kIcloudKeychainSwitch;
  switch_off.on = false;
  s.steps = {add, join, harness::Step{}, switch_off, harness::Step{}};
  const CliRun r =
      run_cli({"simulate", write_scenario(harness::write_scenario(s)), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["steps"].size(), 5u);
  EXPECT_EQ(doc["steps"][2]["step"], "iCloud Keychain sync of 1 devices");
  EXPECT_EQ(doc["steps"][3]["step"], "iCloud Keychain switch off (no join or leave) on d0");
  EXPECT_EQ(doc["steps"][4]["step"], "iCloud Keychain sync of 0 devices");
  EXPECT_TRUE(doc["agree"].get<bool>());
}

TEST(CliSimulate, NewPhoneGetsOnlyWhatTheRulesAllow) {
  const CliRun r = run_cli({"simulate", example("scenario-new-phone.json"), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  const auto& after_icloud_restore = doc["steps"][6]["devices"]["new-phone"];
  EXPECT_TRUE(after_icloud_restore.empty());  // R4: nothing through an iCloud backup
  const auto& after_sync = doc["steps"][7]["devices"]["new-phone"];
  EXPECT_EQ(after_sync, nlohmann::json::array({"synced-login"}));  // R6
  const auto& final_new = doc["steps"].back()["devices"]["new-phone"];
  EXPECT_EQ(final_new, nlohmann::json::array({"session-token", "synced-login"}));  // R3
}

TEST(CliSimulate, MalformedScenariosExitTwoNamingTheField) {
  const struct {
    const char* text;
    const char* expect;
  } cases[] = {
      {R"({"devices": [], "steps": [{"do": "fly"}]})", "steps[0].do"},
      {R"({"devices": [{"name": "a"}], "steps": [{"do": "add", "device": "b", "account": "x"}]})",
       "steps[0].device"},
      {R"({"devices": [{"name": "a"}], "steps": [{"do": "add", "device": "a", "account": "x", "accessible": "sometimes"}]})",
       "steps[0].accessible"},
      {R"({"devices": [{"passcode": true}], "steps": []})", "devices[0].name"},
      {R"({"devices": {}, "steps": []})", "devices"},
      {R"(not json)", "line 1, column 2"},
  };
  for (const auto& c : cases) {
    const CliRun r = run_cli({"simulate", write_scenario(c.text)});
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_cli({"simulate", "/nonexistent/scenario.json"}).exit_code, 4);
}

// Exit 2, nothing on stdout (the scenario is checked before any step runs), and one line on
// stderr holding every one of `expect`.
void expect_refused(const std::string& text, std::initializer_list<const char*> expect) {
  const CliRun r = run_cli({"simulate", write_scenario(text)});
  EXPECT_EQ(r.exit_code, 2) << text << "\n" << r.err;
  EXPECT_EQ(r.out, "") << text;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const char* e : expect)
    EXPECT_NE(r.err.find(e), std::string::npos) << "want '" << e << "' in: " << r.err;
}

TEST(CliSimulate, UnknownFieldsAreErrorsNamingThePathAndTheAcceptedFields) {
  // The reviewer's case: a misspelt "accessible" used to run as WhenUnlocked with exit 0.
  expect_refused(
      R"({"devices": [{"name": "a"}], "steps": [{"do": "add", "device": "a", "account": "x", "acessible": "ak"}]})",
      {"steps[0].acessible: unknown field", "did you mean 'accessible'",
       "an add step takes do, device, account, class, accessible, synchronizable, token, "
       "auth_constraint, secret"});
  expect_refused(R"({"devices": [{"name": "a", "icloud": true}], "steps": []})",
                 {"devices[0].icloud: unknown field", "name, passcode, icloud_keychain"});
  expect_refused(R"({"devices": [], "steps": [], "setps": []})",
                 {"setps: unknown field", "did you mean 'steps'", "devices, steps, description"});
  expect_refused(R"({"devices": [{"name": "a"}], "steps": [{"do": "sync", "device": "a"}]})",
                 {"steps[0].device: unknown field", "a sync step takes do"});
  expect_refused(
      R"({"devices": [{"name": "a"}], "steps": [{"do": "restore", "backup": "b", "device": "a", "pasword": "x"}]})",
      {"steps[0].pasword: unknown field", "a restore step takes do, backup, device, password"});
  expect_refused(R"({"devices": [{"name": "a"}], "steps": [{"do": "migrate", "from": "a"}]})",
                 {"steps[0].to: missing", "a migrate step needs do, from, to"});
}

// The oracle names an item by its account; the keychain keeps genp and inet apart. One account in
// two classes would be a false disagreement, so the scenario is refused up front.
TEST(CliSimulate, AnAccountKeepsOneClassInAScenario) {
  expect_refused(
      R"({"devices": [{"name": "a"}], "steps": [{"do": "add", "device": "a", "account": "y", "class": "inet"}, {"do": "add", "device": "a", "account": "y"}]})",
      {"steps[1].class: account 'y' was added as inet at steps[0]"});
}

TEST(CliSimulate, DuplicateKeysAreErrorsNamingThePath) {
  expect_refused(R"({"devices": [], "steps": [], "devices": []})",
                 {"devices: key 'devices' appears twice in the document"});
  expect_refused(
      R"({"devices": [{"name": "a", "passcode": true, "passcode": false}], "steps": []})",
      {"devices[0].passcode: key 'passcode' appears twice in devices[0]"});
  expect_refused(
      R"({"devices": [{"name": "a"}], "steps": [{"do": "sync"}, {"do": "add", "device": "a", "account": "x", "accessible": "ak", "accessible": "aku"}]})",
      {"steps[1].accessible: key 'accessible' appears twice in steps[1]"});
}

TEST(CliSimulate, AnEncryptedBackupStepNamesItsPassword) {
  const std::string device = R"({"devices": [{"name": "a"}], "steps": [)";
  expect_refused(
      device + R"({"do": "backup", "device": "a", "name": "b", "journey": "local-encrypted"}]})",
      {"steps[0].password: missing", "local-encrypted"});
  expect_refused(
      device +
          R"({"do": "backup", "device": "a", "name": "b", "journey": "local-encrypted", "password": ""}]})",
      {"steps[0].password: empty"});
  expect_refused(device + R"({"do": "backup", "device": "a", "name": "b", "password": "x"}]})",
                 {"steps[0].password", "a local backup takes no password"});
  expect_refused(device + R"({"do": "restore", "device": "a", "backup": "b"}]})",
                 {"steps[0].backup: no backup named 'b'"});
}

// `kcbackup restore` without a password exits 3, "its password is needed" (cli_backup_test); a
// scenario's restore without one changes nothing, and engine and oracle agree on that.
TEST(CliSimulate, ARestoreWithoutThePasswordChangesNothing) {
  const std::string text = R"({"devices": [{"name": "old"}, {"name": "new"}], "steps": [
      {"do": "add", "device": "old", "account": "token", "accessible": "AfterFirstUnlock"},
      {"do": "backup", "device": "old", "name": "b", "journey": "local-encrypted", "password": "x"},
      {"do": "restore", "backup": "b", "device": "new"},
      {"do": "restore", "backup": "b", "device": "new", "password": "y"},
      {"do": "restore", "backup": "b", "device": "new", "password": "x"}]})";
  const CliRun r = run_cli({"simulate", write_scenario(text), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  const auto& steps = doc["steps"];
  EXPECT_EQ(steps[2]["step"], "restore 'b' onto new: no password, nothing changed");
  EXPECT_TRUE(steps[2]["devices"]["new"].empty());
  EXPECT_EQ(steps[3]["step"], "restore 'b' onto new: wrong password, nothing changed");
  EXPECT_TRUE(steps[3]["devices"]["new"].empty());
  EXPECT_EQ(steps[4]["step"], "restore 'b' onto new: 1 of 1 items restored");
  EXPECT_EQ(steps[4]["devices"]["new"], nlohmann::json::array({"token"}));
  EXPECT_TRUE(doc["agree"].get<bool>());
}

TEST(CliSimulate, CapsAreErrorsNamingThePathAndTheCap) {
  const std::string sync = R"({"do": "sync"})";
  // At the caps: accepted.
  const CliRun at_caps =
      run_cli({"simulate", write_scenario(scenario_text(16, repeated(1000, sync)))});
  EXPECT_EQ(at_caps.exit_code, 0) << at_caps.err;
  // Over them.
  expect_refused(scenario_text(17, ""), {"devices: 17 entries; at most 16"});
  expect_refused(scenario_text(1, repeated(1001, sync)), {"steps: 1001 entries; at most 1000"});
  expect_refused(scenario_text(15, repeated(2, R"({"do": "migrate", "from": "d0", "to": "new#"})")),
                 {"steps[1].to: device 17", "at most 16 (devices and Quick Start targets"});
  expect_refused(
      scenario_text(1, repeated(65, R"({"do": "backup", "device": "d0", "name": "b#"})")),
      {"steps[64].name", "at most 64 backups"});
  expect_refused(scenario_text(1, R"({"do": "add", "device": "d0", "account": ")" +
                                      std::string(129, 'a') + R"("})"),
                 {"steps[0].account: longer than 128 bytes"});
  expect_refused(std::string(300 * 1024, ' '), {"over the cap of 262144 bytes"});
  // Items held at once: only known while running, so the steps before it have been printed.
  const CliRun items = run_cli(
      {"simulate", write_scenario(scenario_text(
                       1, repeated(257, R"({"do": "add", "device": "d0", "account": "x#"})")))});
  EXPECT_EQ(items.exit_code, 2);
  EXPECT_NE(items.err.find("steps[256]: after this step the devices hold 257 items; a scenario "
                           "holds at most 256"),
            std::string::npos)
      << items.err;
}

TEST(CliSimulate, SyntaxErrorsGiveLineAndColumn) {
  expect_refused("{\n  \"devices\": [],\n  \"steps\": [,]\n}",
                 {"line 3, column 13", "syntax error"});
  expect_refused("{\"devices\": []", {"line 1, column 15", "unexpected end of input"});
  expect_refused("", {"document: empty"});
  expect_refused("{\"devices\": [], \"steps\": [], \"x\": \"\xff\"}",
                 {"line 1, column 36", "ill-formed UTF-8", "\\xff"});
}

// nlohmann throws on some inputs when asked to; none of them may escape.
TEST(CliSimulate, HostileNumbersAndNestingAreOrdinaryErrors) {
  expect_refused("{\"devices\": [],\n \"steps\": [], \"x\": 1e400}",
                 {"x: number overflow parsing '1e400'"});
  expect_refused(
      R"({"devices": [{"name": "a", "passcode": 123456789012345678901234567890}], "steps": []})",
      {"devices[0].passcode: expected a boolean (true or false)"});
  expect_refused(R"({"devices": [], "steps": [], "description": -99999999999999999999})",
                 {"description: expected a string"});
  expect_refused(R"({"devices": [{"name": 1e308}], "steps": []})",
                 {"devices[0].name: expected a string"});
  expect_refused(R"({"devices": [], "steps": [{"do": 18446744073709551616}]})",
                 {"steps[0].do: expected a string"});
  expect_refused(std::string(10000, '[') + std::string(10000, ']'), {"nested deeper than 16"});
  const CliRun seed = run_cli(
      {"simulate", example("scenario-new-phone.json"), "--seed", "99999999999999999999999999"});
  EXPECT_EQ(seed.exit_code, 2);
  EXPECT_NE(seed.err.find("--seed"), std::string::npos) << seed.err;
}

}  // namespace
}  // namespace kcb::cli
