// `kcbackup demo` runs the seed's experiment through the engine: 12 rows, measured = oracle =
// engine, and the same seed gives the same document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

TEST(CliDemo, TwelveRowsAgreeFromRealEngineRuns) {
  const CliRun r = run_cli({"demo", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["schema"], "kcbackup.demo.v1");
  ASSERT_EQ(doc["rows"].size(), 12u);
  int lost_on_other_device = 0;
  for (const auto& row : doc["rows"]) {
    EXPECT_EQ(row["engine"], row["measured"]) << row.dump();
    EXPECT_EQ(row["oracle"], row["measured"]) << row.dump();
    lost_on_other_device += row["target"] == "other-device" && row["engine"] == "lost";
  }
  EXPECT_EQ(lost_on_other_device, 5);
  EXPECT_TRUE(doc["agree"].get<bool>());
}

TEST(CliDemo, TextSaysHowTheKdfWasReducedAndIsReproducible) {
  const CliRun a = run_cli({"demo", "--seed", "7"});
  const CliRun b = run_cli({"demo", "--seed", "7"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out.find("10,000,000"), std::string::npos);
  EXPECT_NE(a.out.find("All 12 rows agree"), std::string::npos);
  EXPECT_EQ(run_cli({"demo", "--seed", "x"}).exit_code, 2);
}

TEST(CliDemo, RunDemoIsOkAndPrintsOnlyToItsStream) {
  const CommandRun r = run_command(run_demo, DemoOptions{}, default_env());
  EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_NE(r.out.find("All 12 rows agree"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace kcb::cli
