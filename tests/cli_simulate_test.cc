// `kcbackup simulate`: the example scenarios agree step by step; malformed scenarios name the
// field.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

std::string example(const char* name) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/examples/" + name;
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
      {R"(not json)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    const CliRun r = run_cli({"simulate", write_scenario(c.text)});
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_cli({"simulate", "/nonexistent/scenario.json"}).exit_code, 4);
}

}  // namespace
}  // namespace kcb::cli
