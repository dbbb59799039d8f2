// The oracle's commands run in-process: predict answers every combination rules.md covers in text
// and JSON, the measured table agrees, bad input exits 2 with a one-line error.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

TEST(CliTable, MeasuredJsonShowsTwelveRowsWhereOracleEqualsMeasured) {
  const CliRun r = run_cli({"table", "--measured", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["schema"], "kcbackup.table.measured.v1");
  ASSERT_EQ(doc["rows"].size(), 12u);
  for (const auto& row : doc["rows"]) {
    EXPECT_EQ(row["oracle"], row["measured"]) << row.dump();
    for (const char* key : {"accessible", "journey", "target"})
      EXPECT_TRUE(row.contains(key));
  }
}

TEST(CliTable, AccessibleNarrowsTheMatrixToThatClass) {
  const CliRun r = run_cli({"table", "-a", "aku", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["item"]["pdmn"], "aku");
  ASSERT_EQ(doc["rows"].size(), 8u);
  for (const auto& row : doc["rows"])
    EXPECT_EQ(row["accessible"], "WhenUnlockedThisDeviceOnly");
  EXPECT_FALSE(
      nlohmann::json::parse(run_cli({"table", "--format", "json"}).out)["item"].contains("pdmn"));
}

TEST(CliTable, EveryFormatPrintsTheFullMatrix) {
  for (const char* format : {"text", "markdown", "csv"}) {
    const CliRun r = run_cli({"table", "--format", format});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // 7 classes x (3 journeys x 2 targets + 2 other-device-only journeys) rows, plus headers.
    // Text ends with the iOS versions of the rules used, after a blank line.
    const size_t blank = r.out.find("\n\n");
    const std::string table = blank == std::string::npos ? r.out : r.out.substr(0, blank + 1);
    size_t lines = 0;
    for (char c : table)
      lines += c == '\n';
    EXPECT_EQ(lines, 7u * 8u + (std::string(format) == "markdown" ? 2u : 1u)) << format;
  }
}

// Issue 16: "every verdict says which iOS versions its sources cover", the table's too.
TEST(CliTable, TextSaysWhichIosVersionsTheSourcesOfItsRulesCover) {
  const CliRun r = run_cli({"table", "-a", "AfterFirstUnlock"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t footer = r.out.find("\niOS versions the sources cover:\n");
  ASSERT_NE(footer, std::string::npos) << r.out;
  for (RuleId id : {RuleId::R2, RuleId::R3, RuleId::R4, RuleId::R5, RuleId::R6}) {
    const std::string line =
        "  " + std::string(name_of(id)) + ": " + std::string(oracle::rule(id).ios_versions) + "\n";
    EXPECT_NE(r.out.find(line, footer), std::string::npos) << line << r.out;
  }
  EXPECT_EQ(r.out.find("  R8: ", footer), std::string::npos) << "R8 decides no row here";
}

TEST(CliPredict, AnswersEveryCombinationInTextAndJson) {
  int asked = 0;
  for (Accessibility a : kAllAccessibilities) {
    for (Journey j : kAllJourneys) {
      for (Target t : kAllTargets) {
        for (int traits = 0; traits < 8; ++traits) {
          for (const char* icloud : {"on", "off", ""}) {
            std::vector<std::string> args = {"predict",
                                             "--accessible",
                                             std::string(names_of(a).pdmn),
                                             "--journey",
                                             std::string(name_of(j)),
                                             "--target",
                                             std::string(name_of(t))};
            if (traits & 1) args.push_back("--synchronizable");
            if (traits & 2)
              args.insert(args.end(), {"--token", "secure-enclave", "--class", "keys"});
            if (traits & 4) args.push_back("--auth-constraint");
            if (*icloud) args.insert(args.end(), {"--icloud-keychain", icloud});
            const bool invalid = t == Target::kSameDevice &&
                                 (j == Journey::kQuickStart || j == Journey::kIcloudKeychain);
            const CliRun text = run_cli(args);
            args.insert(args.end(), {"--format", "json"});
            const CliRun json = run_cli(args);
            ++asked;
            if (invalid) {
              EXPECT_EQ(text.exit_code, 2);
              EXPECT_NE(text.err.find("no same-device form"), std::string::npos) << text.err;
              continue;
            }
            ASSERT_EQ(text.exit_code, 0) << text.err;
            ASSERT_EQ(json.exit_code, 0) << json.err;
            const auto doc = nlohmann::json::parse(json.out);
            EXPECT_EQ(doc["schema"], "kcbackup.predict.v1");
            EXPECT_TRUE(doc["outcome"] == "restored" || doc["outcome"] == "lost");
            EXPECT_EQ(text.out.rfind(doc["outcome"].get<std::string>(), 0), 0u) << text.out;
            EXPECT_FALSE(doc["rules"].empty()) << json.out;
          }
        }
      }
    }
  }
  EXPECT_EQ(asked, 7 * 5 * 2 * 8 * 3);
}

TEST(CliPredict, AcceptsEverySpellingOfAName) {
  for (const char* a :
       {"kSecAttrAccessibleWhenUnlocked", "WhenUnlocked", "whenUnlocked", "when-unlocked", "ak"}) {
    const CliRun r = run_cli(
        {"predict", "-a", a, "-j", "local-encrypted", "-t", "other-device", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << a << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["outcome"], "restored") << a;
  }
}

TEST(CliPredict, BadInputExitsTwoWithOneLineNamingTheValue) {
  const CliRun r = run_cli({"predict", "-a", "whenever", "-j", "local", "-t", "same-device"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--accessible: unknown accessibility 'whenever'"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_EQ(run_cli({"predict", "-a", "ak", "-j", "dropbox", "-t", "same-device"}).exit_code, 2);
  EXPECT_EQ(run_cli({"predict", "-a", "ak", "-j", "local"}).exit_code, 2);  // --target missing
}

// THE mapping of cli.md: one place turns a command's Status into an exit code and one line.
TEST(CliCommon, EveryStatusCodeHasTheExitCodeCliMdGives) {
  const std::pair<Status, int> cases[] = {
      {Status::Ok(), 0},
      {Status::CheckFailed("c"), 1},
      {Status::InvalidArgument("c"), 2},
      {Status::Corruption("c"), 2},
      {Status::DataLoss("c"), 2},
      {Status::Unsupported("c"), 2},
      {Status::ResourceExhausted("c"), 2},
      {Status::NotFound("c"), 2},
      {Status::AlreadyExists("c"), 2},
      {Status::FailedPrecondition("c"), 2},
      {Status::PermissionDenied("c"), 3},
      {Status::IOError("c"), 4},
  };
  for (const auto& [status, code] : cases)
    EXPECT_EQ(exit_code_for(status), code) << status.to_string();
  std::ostringstream err;
  EXPECT_EQ(report_error(Status::CheckFailed("demo: rows disagree"), err), 1);
  EXPECT_EQ(err.str(), "kcbackup: check failed: demo: rows disagree\n");
}

TEST(CliCommon, UnknownCommandsAndFormatsNameTheWordAndTheChoices) {
  const CliRun top = run_cli({"frobnicate"});
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_NE(top.err.find("unknown command 'frobnicate'; expected one of: predict, table"),
            std::string::npos)
      << top.err;
  const CliRun nested = run_cli({"device", "lsit", "phone"});
  EXPECT_EQ(nested.exit_code, 2);
  EXPECT_NE(nested.err.find("unknown command 'lsit'; expected one of: init, add"),
            std::string::npos)
      << nested.err;
  const CliRun format = run_cli({"rules", "--format", "xml"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("unknown format 'xml'; expected text|json"), std::string::npos)
      << format.err;
  const CliRun upper = run_cli({"rules", "--format", "JSON"});
  ASSERT_EQ(upper.exit_code, 0) << upper.err;
  EXPECT_EQ(nlohmann::json::parse(upper.out)["schema"], "kcbackup.rules.v1");
  const CliRun missing = run_cli({"predict", "-a", "ak", "-j", "local"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err,
            "kcbackup: invalid argument: predict: --target is required (see `kcbackup predict "
            "--help`)\n");
  const CliRun none = run_cli({"inspect"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("inspect: a command is needed; expected one of: keybag, blob"),
            std::string::npos)
      << none.err;
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
  const CliRun help = run_cli({"table", "--help"});
  EXPECT_NE(help.out.find("--format text|json|markdown|csv"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("->"), std::string::npos) << "CLI11's enum mapping leaked into --help";
}

// A command is a function of its options and streams: it prints its answer to `out`, and an error
// is its Status alone (exit code and one line made by run_kcbackup).
TEST(CliPredict, RunPredictPrintsWhatTheCommandLinePrints) {
  PredictOptions o;
  o.traits.accessible = "WhenUnlockedThisDeviceOnly";
  o.journey = "local-encrypted";
  o.target = "other-device";
  o.format = Format::kJson;
  const CommandRun direct = run_command(run_predict, o, default_env());
  ASSERT_TRUE(direct.status.ok());
  const CliRun line = run_cli({"predict", "-a", "WhenUnlockedThisDeviceOnly", "-j",
                               "local-encrypted", "-t", "other-device", "--format", "json"});
  EXPECT_EQ(direct.out, line.out);
  EXPECT_EQ(direct.err, "");

  o.journey = "carrier-pigeon";
  const CommandRun bad = run_command(run_predict, o, default_env());
  EXPECT_EQ(bad.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.out + bad.err, "");
  const CliRun bad_line = run_cli({"predict", "-j", "carrier-pigeon", "-t", "same-device"});
  EXPECT_EQ(bad_line.exit_code, 2);
  EXPECT_EQ(bad_line.err, "kcbackup: " + bad.status.to_string() + "\n");
}

TEST(CliPredict, AppClipItemsAreLostOnEveryBackupJourneyWithR10) {
  for (const Form& f : kAllForms) {
    if (f.journey == Journey::kIcloudKeychain) continue;
    const CliRun r =
        run_cli({"predict", "--app-clip", "-a", "ck", "-j", std::string(name_of(f.journey)), "-t",
                 std::string(name_of(f.target)), "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc["outcome"], "lost") << r.out;
    EXPECT_EQ(doc["item"]["app_clip"], true);
    EXPECT_NE(std::find(doc["rules"].begin(), doc["rules"].end(), "R10"), doc["rules"].end())
        << r.out;
  }
  const CliRun plain = run_cli({"predict", "-a", "ck", "-j", "local", "-t", "same-device"});
  EXPECT_EQ(plain.out.rfind("restored", 0), 0u) << plain.out;
  const CliRun text =
      run_cli({"predict", "--app-clip", "-a", "ck", "-j", "local", "-t", "same-device"});
  EXPECT_NE(text.out.find("App Clip"), std::string::npos) << text.out;
}

TEST(CliTable, AppClipRowsAreLostOnEveryBackupJourney) {
  const CliRun r = run_cli({"table", "--app-clip", "-a", "ck", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["item"]["app_clip"], true);
  ASSERT_EQ(doc["rows"].size(), 8u);
  for (const auto& row : doc["rows"])
    EXPECT_EQ(row["outcome"], "lost") << row;
}

// #16: `table --help` showed `--accessible TEXT=WhenUnlocked` although the table prints every class
// when the option is absent.
TEST(CliTable, HelpShowsNoAccessibleDefaultBecauseEveryClassIsPrinted) {
  const CliRun r = run_cli({"table", "--help"});
  ASSERT_EQ(r.exit_code, 0);
  const size_t at = r.out.find("-a,--accessible");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_EQ(line.find("WhenUnlocked"), std::string::npos) << line;
  EXPECT_NE(r.out.find("every class when absent"), std::string::npos) << r.out;
  // predict still shows the OS default it applies.
  const CliRun predict = run_cli({"predict", "--help"});
  EXPECT_NE(predict.out.find("=WhenUnlocked"), std::string::npos) << predict.out;
}

TEST(CliRules, ListsFifteenRulesInJson) {
  const CliRun r = run_cli({"rules", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0);
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["rules"].size(), 15u);
  EXPECT_EQ(doc["rules"][0]["id"], "R1");
  EXPECT_EQ(doc["rules"][14]["id"], "R15");
  for (size_t i = 9; i < 15; ++i) {
    EXPECT_EQ(doc["rules"][i]["id"], "R" + std::to_string(i + 1));
    EXPECT_NE(doc["rules"][i]["sources"].get<std::string>().find("Security framework"),
              std::string::npos)
        << doc["rules"][i];
  }
}

}  // namespace
}  // namespace kcb::cli
