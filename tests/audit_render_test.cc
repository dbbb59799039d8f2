// The audit report renderer and gate policies (include/kcbackup/audit_render.h), called directly:
// markdown that marks the violating cell and stays under GitHub's limit for 200 items, JSON whose
// counts and arrays have different names, CSV with expectation, violation and warning columns,
// SARIF with one rule per kind, JUnit that escapes names, text columns aligned for non-ASCII
// names, --ignore and --fail-on, and the input errors of #16 (no items, contradictory
// expectations). tests/ci_formats_check.py reads SARIF and JUnit with real consumers.
#include "kcbackup/audit_render.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "audit/report_table.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

using nlohmann::json;

std::string slurp(const std::string& relative) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/" + relative, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

AuditReport audit_of(const std::string& bytes, const Wrapper* wrapper = nullptr) {
  const auto input = parse_audit_document(as_bytes(bytes), wrapper);
  EXPECT_TRUE(input.ok()) << input.status().to_string();
  return input.ok() ? audit(*input) : AuditReport{};
}

const Wrapper* keychainaccess() {
  return *find_wrapper("keychainaccess");
}

AuditReport banking() {
  return audit_of(slurp("examples/audit-banking-app.json"), keychainaccess());
}

std::string render(const AuditReport& report, ReportFormat format, RenderOptions o = {}) {
  o.format = format;
  if (o.version.empty()) o.version = "9.9.9";
  return render_report(report, o);
}

// 200 items of every accessibility, each expecting something, names up to 100 bytes.
std::string two_hundred_items() {
  const char* classes[] = {
      "kSecAttrAccessibleWhenUnlocked", "AfterFirstUnlock", "Always", "aku", "cku", "dku", "akpu"};
  json doc = {{"icloud_keychain", "on"}, {"items", json::array()}};
  for (int i = 0; i < 200; ++i) {
    json item = {
        {"name", "item-" + std::to_string(i) + std::string(static_cast<size_t>(i % 90), 'n')},
        {"accessible", classes[i % 7]},
        {"synchronizable", i % 3 == 0}};
    if (i % 2 == 0) item["expect"] = {{"survives", {"local-encrypted:other-device"}}};
    if (i % 2 == 1) item["expect"] = {{"never_leaves_device", true}};
    doc["items"].push_back(item);
  }
  return doc.dump();
}

size_t characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

TEST(AuditRender, MarkdownOf200ItemsIsSummarisedUnderGithubLimit) {
  const AuditReport report = audit_of(two_hundred_items());
  ASSERT_EQ(report.items.size(), 200u);
  const std::string md = render(report, ReportFormat::kMarkdown);
  EXPECT_LT(characters(md), 65536u);
  EXPECT_LE(md.size(), kMarkdownSummaryAbove);
  EXPECT_NE(md.find("Summary only: the full report would be"), std::string::npos);
  EXPECT_NE(md.find("**Violated expectations**"), std::string::npos);
  EXPECT_NE(md.find("`half-restored` ("), std::string::npos) << md.substr(0, 2000);
}

TEST(AuditRender, MarkdownSummaryFlagGivesCountsViolationsAndWarningsOnly) {
  RenderOptions o;
  o.summary = true;
  const std::string md = render(banking(), ReportFormat::kMarkdown, o);
  EXPECT_EQ(md.find("| item |"), std::string::npos) << md;  // no fate table
  EXPECT_NE(md.find("6 items, 1 violated expectation in 1 item, 9 warnings"), std::string::npos);
  EXPECT_NE(md.find("- ❌ `refresh-token`: expected to survive icloud-backup:other-device"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("`pair-splits` (1 item)"), std::string::npos) << md;
  EXPECT_EQ(md.find("Summary only"), std::string::npos);  // asked for, not forced
}

TEST(AuditRender, MarkdownMarksViolatingCellAndHeldExpectations) {
  const std::string md = render(banking(), ReportFormat::kMarkdown);
  std::istringstream lines(md);
  std::string row;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `refresh-token` |", 0) == 0) row = line;
  }
  // local, local-encrypted, icloud-backup (same, other), quick-start, icloud-keychain (other).
  EXPECT_EQ(row,
            "| `refresh-token` | AfterFirstUnlock | restored | lost | restored | ✅ restored | "
            "restored | ❌ **lost** | ✅ restored | lost |");
  EXPECT_NE(md.find("✅ marks an expectation of the item that holds there, ❌ one that is violated"),
            std::string::npos);
  // never_leaves_device held on every other-device form of session-token.
  EXPECT_NE(md.find("| `session-token` | AfterFirstUnlockThisDeviceOnly | restored | ✅ lost |"),
            std::string::npos)
      << md;
}

TEST(AuditRender, JsonCountsAndArraysHaveDifferentNames) {
  const json doc = json::parse(render(banking(), ReportFormat::kJson));
  EXPECT_EQ(doc["schema"], "kcbackup.audit.v1");
  EXPECT_EQ(doc["version"], "9.9.9");
  EXPECT_EQ(doc["violation_count"], 1);
  EXPECT_EQ(doc["warning_count"], 9);
  EXPECT_FALSE(doc.contains("violations"));
  EXPECT_FALSE(doc.contains("warnings"));
  for (const json& item : doc["items"]) {
    EXPECT_TRUE(item["violations"].is_array());
    EXPECT_TRUE(item["warnings"].is_array());
  }
  EXPECT_EQ(doc["ok"], false);
}

TEST(AuditRender, CsvHasExpectationViolationAndWarningColumns) {
  const std::string csv = render(banking(), ReportFormat::kCsv);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "item,accessible,journey,target,outcome,road,rules,expected,violation,warnings");
  EXPECT_NE(csv.find("refresh-token,AfterFirstUnlock,icloud-backup,other-device,lost,none,R4,"
                     "survives,survives,half-restored\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("refresh-token,AfterFirstUnlock,quick-start,other-device,restored,backup,R5,"
                     "survives,,half-restored\n"),
            std::string::npos);
  EXPECT_NE(csv.find("device-signing-key,WhenUnlockedThisDeviceOnly,local,other-device,lost,none,"
                     "R1,never-leaves-device,,pair-splits half-restored\n"),
            std::string::npos);
}

TEST(AuditRender, NonAsciiNamesMisalignNoTextColumns) {
  // Widths are characters, not bytes: the column after "schlüssel-🔑" starts where the one after
  // an ASCII name of the same length does.
  const report::Table table{{"name", "accessible"},
                            {{"schlüssel-🔑", "ck"}, {"schlussel-k", "ck"}, {"é", "aku"}}};
  const std::string text = report::table_text(table, report::TableStyle::kText);
  EXPECT_EQ(text,
            "name         accessible\n"
            "schlüssel-🔑  ck\n"
            "schlussel-k  ck\n"
            "é            aku\n");
  EXPECT_EQ(report::text_width("schlüssel-🔑"), 11u);
}

TEST(AuditRender, SarifHasOneRulePerExpectationAndWarningKind) {
  RenderOptions o;
  o.source = "ios/keychain items.json";
  const json log = json::parse(render(banking(), ReportFormat::kSarif, o));
  EXPECT_EQ(log["version"], "2.1.0");
  const json& run = log["runs"][0];
  std::vector<std::string> ids;
  for (const json& rule : run["tool"]["driver"]["rules"])
    ids.push_back(rule["id"]);
  const std::vector<std::string> want = {
      "survives",     "never-leaves-device", "deprecated",  "sync-never-syncs",
      "add-fails",    "passcode-bound",      "pair-splits", "icloud-keychain-only",
      "half-restored"};
  for (const std::string& id : want)
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  EXPECT_EQ(run["results"].size(), 10u);      // 1 violation, 9 warnings
  const json& violation = run["results"][1];  // refresh-token's, after session-token's warning
  EXPECT_EQ(violation["ruleId"], "survives");
  EXPECT_EQ(violation["level"], "error");
  EXPECT_EQ(ids[violation["ruleIndex"].get<size_t>()], "survives");
  EXPECT_EQ(violation["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "ios/keychain%20items.json");
  EXPECT_EQ(violation["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "items[1]");
  EXPECT_EQ(violation["properties"]["rules"], json::array({"R4"}));
}

// #16: "results with the item's location in the audit file": the line and column where the item's
// object starts (the banking example's refresh-token is items[1], at line 10, column 5).
TEST(AuditRender, SarifResultsCarryTheItemsLineAndColumn) {
  RenderOptions o;
  o.source = "examples/audit-banking-app.json";
  const json log = json::parse(render(banking(), ReportFormat::kSarif, o));
  const json& run = log["runs"][0];
  EXPECT_EQ(run["columnKind"], "unicodeCodePoints");
  const json& violation = run["results"][1];
  ASSERT_EQ(violation["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "items[1]");
  EXPECT_EQ(violation["locations"][0]["physicalLocation"]["region"],
            json({{"startLine", 10}, {"startColumn", 5}}));
  // From standard input there is no artifact to point into: the logical location only.
  o.source = "-";
  const json piped = json::parse(render(banking(), ReportFormat::kSarif, o));
  EXPECT_FALSE(piped["runs"][0]["results"][1]["locations"][0].contains("physicalLocation"));
}

TEST(AuditRender, JunitHasOneCasePerItemAndExpectationAndEscapesNames) {
  const AuditReport report = audit_of(
      R"({"items":[{"name":"a<b>&\"c\u0007","accessible":"ck","expect":{"survives":["icloud-backup:other-device","local-encrypted:other-device"]}}]})");
  const std::string xml = render(report, ReportFormat::kJunit);
  EXPECT_NE(xml.find("<testsuite name=\"kcbackup audit\" tests=\"3\" failures=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("classname=\"a&lt;b&gt;&amp;&quot;c\\x07\" name=\"survives "
                     "icloud-backup:other-device\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure type=\"survives\""), std::string::npos);
  EXPECT_NE(xml.find("[rule ids: R4]"), std::string::npos);
  EXPECT_EQ(xml.find('\a'), std::string::npos);
}

TEST(AuditRender, FailOnWarningFailsTheGateAndJunitCase) {
  AuditReport report = audit_of(R"({"items":[{"name":"old","accessible":"Always"}]})");
  EXPECT_TRUE(gate_status(report, FailOn::kViolation).ok());
  const Status s = gate_status(report, FailOn::kWarning);
  EXPECT_EQ(s.code(), Code::kCheckFailed);
  EXPECT_NE(s.message().find("2 warnings (--fail-on warning)"), std::string::npos) << s.message();
  RenderOptions o;
  o.fail_on = FailOn::kWarning;
  EXPECT_NE(render(report, ReportFormat::kJunit, o).find("<failure type=\"warning\""),
            std::string::npos);
  EXPECT_EQ(render(report, ReportFormat::kText, o).find("OK:"), std::string::npos);
}

TEST(AuditRender, IgnoreRemovesOneWarningKindEverywhereOrOnOneItem) {
  AuditReport report = banking();
  auto everywhere = parse_ignore_rule("half-restored");
  ASSERT_TRUE(everywhere.ok());
  auto one = parse_ignore_rule("Pair_Splits:device-signing-key");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->kind, WarningKind::kPairSplits);
  const IgnoreRule rules[] = {*everywhere, *one};
  const auto removed = apply_ignores(report, rules);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 7u);  // six half-restored, one pair-splits
  EXPECT_EQ(report.warning_count(), 2u);
}

TEST(AuditRender, IgnoreOfUnknownKindOrItemIsInvalidInput) {
  const auto kind = parse_ignore_rule("half-restord");
  EXPECT_EQ(kind.status().code(), Code::kInvalidArgument);
  EXPECT_NE(kind.status().message().find("expected one of: deprecated"), std::string::npos);
  AuditReport report = banking();
  const IgnoreRule rules[] = {{WarningKind::kDeprecated, std::string("no-such-item")}};
  const auto removed = apply_ignores(report, rules);
  EXPECT_EQ(removed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(removed.status().message().find("no item named 'no-such-item'"), std::string::npos);
}

TEST(AuditRender, FormatNamesRoundTrip) {
  for (ReportFormat f : {ReportFormat::kText, ReportFormat::kJson, ReportFormat::kMarkdown,
                         ReportFormat::kCsv, ReportFormat::kSarif, ReportFormat::kJunit}) {
    const auto parsed = parse_report_format(name_of(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_NE(
      parse_report_format("xml").status().message().find("text|json|markdown|csv|sarif|junit"),
      std::string::npos);
}

// ---- Input errors of #16 ----

TEST(AuditDocument, EmptyItemListIsInvalidInput) {
  const auto input = parse_audit_document(as_bytes(std::string(R"({"items": []})")), nullptr);
  EXPECT_EQ(input.status().code(), Code::kInvalidArgument);
  EXPECT_NE(input.status().message().find("items: empty"), std::string::npos)
      << input.status().to_string();
}

TEST(AuditDocument, NeverLeavesDeviceWithSurvivesElsewhereIsAContradiction) {
  const auto input = parse_audit_document(
      as_bytes(std::string(
          R"({"items":[{"name":"k","expect":{"never_leaves_device":true,"survives":["local:same-device","quick-start:other-device"]}}]})")),
      nullptr);
  EXPECT_EQ(input.status().code(), Code::kInvalidArgument);
  EXPECT_NE(input.status().message().find(
                "items[0].expect.survives: 'quick-start:other-device' contradicts "
                "never_leaves_device: true"),
            std::string::npos)
      << input.status().to_string();
  // Surviving on the same device does not leave it.
  EXPECT_TRUE(
      parse_audit_document(
          as_bytes(std::string(
              R"({"items":[{"name":"k","expect":{"never_leaves_device":true,"survives":["local:same-device"]}}]})")),
          nullptr)
          .ok());
}

}  // namespace
}  // namespace kcb
