// `kcbackup audit` through the command line, in-process: hostile JSON and plists exit 2 with one
// line naming the field (never an escaping exception), a key given twice is an error in JSON and
// in both plist forms, every item that comes back somewhere only through iCloud Keychain is warned
// about, names cannot forge lines or escape sequences in text and markdown, `--wrapper ""` is an
// unknown wrapper, and comments of any type are ignored. tests/audit_test.cc has the examples.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kcbackup/names.h"
#include "tests/cli_run.h"

namespace kcb::cli {
namespace {

using nlohmann::json;

class CliAudit : public ::testing::Test {
 protected:
  CliRun audit_bytes(const std::string& bytes, std::vector<std::string> extra = {}) {
    const std::string path = dir_ / ("doc" + std::to_string(files_++));
    spit(path, bytes);
    std::vector<std::string> args = {"audit", path};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  CliRun audit_json(const std::string& bytes) { return audit_bytes(bytes, {"--format", "json"}); }

 private:
  TempDir dir_;
  int files_ = 0;
};

size_t lines_in(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// Exit 2, nothing on stdout, one line on stderr that holds `message`.
void expect_one_line_error(const CliRun& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind("kcbackup: ", 0), 0u) << r.err;
  EXPECT_EQ(lines_in(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << "wanted: " << message << "\ngot: " << r.err;
}

std::string xml_plist(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">" + body + "</plist>";
}

// ---- 1. Hostile JSON never escapes as an exception. ----

// A literal with its NUL bytes, all but the terminating one.
template <size_t N>
std::string with_nuls(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

struct HostileCase {
  const char* what;
  std::string bytes;
  const char* message;
};

class CliAuditHostile : public CliAudit, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(CliAuditHostile, ExitsTwoWithOneLineNamingWhere) {
  for (const char* format : {"text", "json", "markdown", "csv"}) {
    expect_one_line_error(audit_bytes(GetParam().bytes, {"--format", format}), GetParam().message);
  }
}

const HostileCase kHostile[] = {
    {"huge_number_in_x_key", R"({"items":[{"name":"a","x-n":1e400}]})",
     "items[0].x-n: number overflow parsing '1e400'"},
    {"huge_number_in_comment", R"({"items":[{"name":"a","comment":1e400}]})",
     "items[0].comment: number overflow parsing '1e400'"},
    {"huge_negative_number_as_synchronizable",
     R"({"items":[{"name":"a","synchronizable":-1e999}]})",
     "items[0].synchronizable: number overflow"},
    {"huge_number_at_top_level", R"({"x-n":1e400,"items":[]})", "x-n: number overflow"},
    {"huge_number_in_survives",
     R"({"items":[{"name":"a","expect":{"survives":["local:same",2e308]}}]})",
     "items[0].expect.survives[1]: number overflow"},
    {"huge_number_as_document", "1e400", "document: number overflow"},
    {"arrays_nested_100000_deep", std::string(100000, '[') + std::string(100000, ']'),
     "nested deeper than 16"},
    {"objects_nested_100000_deep",
     [] {
       std::string s;
       for (int i = 0; i < 100000; ++i)
         s += "{\"a\":";
       return s;
     }(),
     "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested deeper than 16"},
    {"invalid_utf8", "{\"items\":[{\"name\":\"a\xff\xfe\"}]}", "invalid JSON"},
    {"nul_byte_outside_strings", with_nuls("{\"items\":[]}\0"), "invalid JSON"},
    {"nul_byte_in_a_string", with_nuls("{\"items\":[{\"name\":\"a\0b\"}]}"), "invalid JSON"},
    {"zero_bytes", "", "document: empty"},
    {"only_whitespace", " \n\t\r\n", "document: empty"},
    {"top_level_array", "[]", "document: expected an object, got an array"},
    {"top_level_string", "\"items\"", "document: expected an object, got a string"},
    {"top_level_number", "42", "document: expected an object, got a number"},
    {"top_level_null", "null", "document: expected an object, got null"},
    {"truncated", R"({"items":[{"name":)", "invalid JSON: parse error at line 1, column 19"},
    {"trailing_garbage", R"({"items":[]} {})", "invalid JSON"},
    {"control_character_in_a_value", "{\"items\":[{\"name\":\"a\",\"accessible\":\"x\\ny\"}]}",
     "items[0].accessible: unknown accessibility 'x\\x0ay'"},
    {"control_character_in_a_key", "{\"items\":[{\"name\":\"a\",\"b\\u001b[2Jc\":1}]}",
     "items[0].b\\x1b[2Jc: unknown field"},
    {"plist_string_not_utf8",
     xml_plist("<dict><key>items</key><array><dict><key>name</key><string>a\xff</string></dict>"
               "</array></dict>"),
     "items[0].name: a string that is not UTF-8"},
    {"plist_dicts_nested_too_deep", xml_plist([] {
       std::string s;
       for (int i = 0; i < 1000; ++i)
         s += "<dict ><key>k</key>";
       return s;
     }()),
     "k.k.k.k.k.k.k.k.k.k.k.k.k.k.k.k: nested deeper than 16"},
};

INSTANTIATE_TEST_SUITE_P(Inputs, CliAuditHostile, ::testing::ValuesIn(kHostile),
                         [](const auto& info) { return std::string(info.param.what); });

TEST_F(CliAudit, NonUtf8PlistKeyIsRefusedNotPrintedAsBrokenJson) {
  const CliRun r = audit_json(xml_plist(
      "<dict><key>items</key><array><dict><key>name</key><string>a</string><key>x-\xff</key>"
      "<true/></dict></array><key>\xc3</key><true/></dict>"));
  expect_one_line_error(r, "\\xc3: a key that is not UTF-8");
}

// ---- 2. A key given twice is an error, not "the last one wins". ----

const char kTwoExpects[] =
    R"({"items":[{"name":"a","accessible":"aku","expect":{"survives":["local-encrypted:other-device"]},"expect":{}}]})";

TEST_F(CliAudit, DuplicateKeyInJsonIsAnErrorNamingPathAndKey) {
  expect_one_line_error(audit_bytes(kTwoExpects),
                        "items[0].expect: key 'expect' appears twice in items[0]");
  // Without the second "expect" the expectation is checked, and violated.
  EXPECT_EQ(
      audit_bytes(
          R"({"items":[{"name":"a","accessible":"aku","expect":{"survives":["local-encrypted:other-device"]}}]})")
          .exit_code,
      1);
  expect_one_line_error(audit_bytes(R"({"items":[],"items":[{"name":"a"}]})"),
                        "items: key 'items' appears twice in the document");
  expect_one_line_error(
      audit_bytes(
          R"({"items":[{"name":"a"},{"name":"b","expect":{"survives":[],"survives":["local:same"]}}]})"),
      "items[1].expect.survives: key 'survives' appears twice in items[1].expect");
  expect_one_line_error(audit_bytes(R"({"items":[{"name":"a","comment":"x","comment":"y"}]})"),
                        "items[0].comment: key 'comment' appears twice in items[0]");
  // JSON escapes spell the same key.
  expect_one_line_error(audit_bytes(R"({"items":[{"name":"a","n\u0061me":"b"}]})"),
                        "items[0].name: key 'name' appears twice in items[0]");
}

const char kPlistItemStart[] =
    "<dict><key>items</key><array><dict><key>name</key><string>a</string>"
    "<key>accessible</key><string>aku</string>"
    "<key>expect</key><dict><key>survives</key><array><string>local-encrypted:other-device"
    "</string></array></dict>";

TEST_F(CliAudit, DuplicateKeyInXmlPlistIsAnErrorNamingPathAndKey) {
  const std::string end = "</dict></array></dict>";
  expect_one_line_error(
      audit_bytes(xml_plist(kPlistItemStart + std::string("<key>expect</key><dict/>") + end)),
      "items[0].expect: key 'expect' appears twice in items[0]");
  // Spelled with a character reference, or in CDATA, it is the same key to libplist.
  expect_one_line_error(
      audit_bytes(xml_plist(kPlistItemStart + std::string("<key>e&#x78;pect</key><dict/>") + end)),
      "items[0].expect: key 'expect' appears twice");
  expect_one_line_error(
      audit_bytes(
          xml_plist(kPlistItemStart + std::string("<key><![CDATA[expect]]></key><dict/>") + end)),
      "items[0].expect: key 'expect' appears twice");
  expect_one_line_error(
      audit_bytes(xml_plist(kPlistItemStart +
                            std::string("<key>exp<!-- </key> -->ect</key><dict/>") + end)),
      "items[0].expect: key 'expect' appears twice");
  // Keys alike only up to a "</key>" inside CDATA are different keys.
  EXPECT_EQ(audit_bytes(xml_plist(kPlistItemStart +
                                  std::string("<key>x-<![CDATA[a</key>]]></key><true/>"
                                              "<key>x-<![CDATA[a</key>b]]></key><true/>") +
                                  end))
                .exit_code,
            1);
  // A key inside a comment or CDATA text is not a key.
  EXPECT_EQ(audit_bytes(xml_plist(kPlistItemStart +
                                  std::string("<!-- <key>expect</key> --><key>x-note</key>"
                                              "<string><![CDATA[<key>expect</key>]]></string>") +
                                  end))
                .exit_code,
            1);
}

// A binary plist {"items": [{"name": "a", "name": "b"}]}: libplist's API cannot write one.
std::string binary_plist_with_name_twice() {
  const std::vector<std::string> objects = {
      std::string("\xD1\x01\x02", 3),          // 0: {1: 2}
      std::string("\x55") + "items",           // 1
      std::string("\xA1\x03", 2),              // 2: [3]
      std::string("\xD2\x04\x04\x05\x06", 5),  // 3: {4: 5, 4: 6}
      std::string("\x54") + "name",            // 4
      std::string("\x51") + "a",               // 5
      std::string("\x51") + "b",               // 6
  };
  std::string b = "bplist00";
  std::string table;
  for (const std::string& o : objects) {
    table += static_cast<char>(b.size());
    b += o;
  }
  const size_t table_offset = b.size();
  std::string trailer(32, '\0');
  trailer[6] = 1;  // offset size
  trailer[7] = 1;  // reference size
  trailer[15] = static_cast<char>(objects.size());
  trailer[31] = static_cast<char>(table_offset);
  return b + table + trailer;
}

TEST_F(CliAudit, DuplicateKeyInBinaryPlistIsAnErrorNamingTheKey) {
  // The engine's reader refuses it before libplist; it names the object, not the path.
  expect_one_line_error(audit_bytes(binary_plist_with_name_twice()),
                        "dictionary key 'name' appears twice");
}

// ---- 3. Every item that comes back somewhere only through iCloud Keychain is warned about. ----

bool has_sync_road(const json& item) {
  for (const json& f : item["fates"]) {
    if (f["outcome"] == "restored" && f["road"] == "icloud-keychain") return true;
  }
  return false;
}

const json* warning_of(const json& item, const std::string& kind) {
  for (const json& w : item["warnings"]) {
    if (w["kind"] == kind) return &w;
  }
  return nullptr;
}

TEST_F(CliAudit, SyncDependenceIsWarnedWheneverAFateTakesTheIcloudKeychainRoad) {
  size_t warned = 0;
  for (const char* icloud : {"\"on\"", "\"off\"", "null"}) {
    json doc = {{"items", json::array()}};
    if (std::string(icloud) != "null") doc["icloud_keychain"] = json::parse(icloud);
    for (Accessibility a : kAllAccessibilities) {
      for (bool sync : {false, true}) {
        doc["items"].push_back({{"name", std::string(names_of(a).pdmn) + (sync ? "-sync" : "")},
                                {"accessible", names_of(a).pdmn},
                                {"synchronizable", sync},
                                {"expect", {{"survives", {"icloud-keychain:other-device"}}}}});
      }
    }
    const CliRun r = audit_json(doc.dump());
    ASSERT_NE(r.exit_code, 2) << r.err;
    const json report = json::parse(r.out);
    for (const json& item : report["items"]) {
      const json* w = warning_of(item, "icloud-keychain-only");
      ASSERT_EQ(w != nullptr, has_sync_road(item)) << icloud << " " << item["name"];
      if (w == nullptr) continue;
      ++warned;
      const std::string message = (*w)["message"];
      EXPECT_NE(message.find("which users can turn off; the expectation "), std::string::npos)
          << message;
      EXPECT_NE(message.find("icloud-keychain:other-device rests on it"), std::string::npos)
          << message;
    }
  }
  EXPECT_GE(warned, 2u);  // at least AfterFirstUnlock and WhenUnlocked, synced, with it on
}

// The password manager's vault key (examples/audit-password-manager.json): synced, expected on the
// user's other devices through iCloud Keychain.
std::string vault_key(const std::string& icloud_keychain) {
  return R"({"icloud_keychain": ")" + icloud_keychain + R"(", "items": [{"name": "vault-key",
      "accessible": "AfterFirstUnlock", "synchronizable": true, "expect": {"survives":
      ["icloud-keychain:other-device", "local-encrypted:other-device"]}}]})";
}

TEST_F(CliAudit, ExpectationOfIcloudKeychainJourneyIsNamedAsRestingOnIt) {
  const CliRun r = audit_json(vault_key("on"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  const json* w = warning_of(report["items"][0], "icloud-keychain-only");
  ASSERT_NE(w, nullptr) << r.out;
  EXPECT_EQ((*w)["message"],
            "comes back on local:other-device, icloud-backup:other-device only through iCloud "
            "Keychain (R6), which users can turn off; the expectation "
            "icloud-keychain:other-device rests on it");
}

TEST_F(CliAudit, WithIcloudKeychainOffOrNotSaidTheSyncExpectationIsViolatedNotWarned) {
  json unsaid = json::parse(vault_key("off"));
  unsaid.erase("icloud_keychain");
  for (const std::string& doc : {vault_key("off"), unsaid.dump()}) {
    const CliRun r = audit_json(doc);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const json report = json::parse(r.out);
    const json& item = report["items"][0];
    ASSERT_EQ(item["violations"].size(), 1u) << r.out;
    EXPECT_EQ(item["violations"][0]["journey"], "icloud-keychain");
    EXPECT_EQ(warning_of(item, "icloud-keychain-only"), nullptr) << r.out;
  }
}

// ---- 4. Names cannot forge lines or terminal escapes in text and markdown. ----

const std::string kForgedName = "x\n\nOK: 1 item, 0 violated expectations\x1b[8m";

std::string items_with_forged_names() {
  return json({{"items",
                {{{"name", kForgedName}, {"accessible", "ck"}},
                 {{"name", "half\r\x07"}, {"accessible", "cku"}, {"pair", kForgedName}}}}})
      .dump();
}

// No escape, carriage return or bell of the forged names reaches a report raw, nor their line.
void expect_forged_names_escaped(const CliRun& r) {
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char c : {'\x1b', '\r', '\x07'})
    EXPECT_EQ(r.out.find(c), std::string::npos) << int{c};
  EXPECT_EQ(r.out.find("\nOK: 1 item"), std::string::npos) << r.out;
}

TEST_F(CliAudit, TextOutputShowsControlCharactersEscaped) {
  const CliRun r = audit_bytes(items_with_forged_names());
  expect_forged_names_escaped(r);
  EXPECT_NE(r.out.find("x\\x0a\\x0aOK: 1 item, 0 violated expectations\\x1b[8m  AfterFirstUnlock"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  pair:    x\\x0a\\x0aOK"), std::string::npos) << r.out;
  // The pair-splits warning quotes both names.
  EXPECT_NE(r.out.find("key pair with 'half\\x0d\\x07' splits"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nOK: 2 items"), std::string::npos) << r.out;
}

TEST_F(CliAudit, MarkdownOutputShowsControlCharactersEscapedAndKeepsCodeSpansClosed) {
  const CliRun r = audit_bytes(items_with_forged_names(), {"--format", "markdown"});
  expect_forged_names_escaped(r);
  EXPECT_NE(r.out.find("| `x\\x0a\\x0aOK: 1 item, 0 violated expectations\\x1b[8m` |"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\\x1b[8m` (pair-splits): key pair with 'half\\x0d\\x07' splits"),
            std::string::npos)
      << r.out;

  const CliRun ticks =
      audit_bytes(R"({"items":[{"name":"a`b|c"},{"name":"`x"}]})", {"--format", "markdown"});
  ASSERT_EQ(ticks.exit_code, 0) << ticks.err;
  EXPECT_NE(ticks.out.find("| ``a`b\\|c`` |"), std::string::npos) << ticks.out;
  EXPECT_NE(ticks.out.find("| `` `x `` |"), std::string::npos) << ticks.out;
}

TEST_F(CliAudit, JsonAndCsvKeepNamesExact) {
  const CliRun r = audit_json(items_with_forged_names());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["items"][0]["name"], kForgedName);
  EXPECT_EQ(json::parse(r.out)["items"][1]["pair"], kForgedName);
  const CliRun csv = audit_bytes(items_with_forged_names(), {"--format", "csv"});
  EXPECT_NE(csv.out.find("\"" + kForgedName + "\","), std::string::npos) << csv.out;
}

// A violation is exit 1 with the report on stdout and one line on stderr, as every check that says
// no (demo, table --measured, simulate): the exit code and its line are made in one place.
TEST_F(CliAudit, ViolationExitsOneWithTheReportAndOneCheckFailedLine) {
  for (const char* format : {"text", "json", "markdown", "csv"}) {
    const CliRun r = audit_bytes(
        R"({"items":[{"name":"a","accessible":"aku","expect":{"survives":["local-encrypted:other-device"]}}]})",
        {"--format", format});
    EXPECT_EQ(r.exit_code, 1) << format << r.err;
    EXPECT_EQ(r.err, "kcbackup: check failed: 1 violated expectation\n") << format;
    EXPECT_NE(r.out.find("local-encrypted"), std::string::npos) << format;
  }
}

// ---- 5. `--wrapper ""` names the known wrappers instead of meaning "no wrapper". ----

TEST_F(CliAudit, EmptyWrapperIsAnUnknownWrapper) {
  const std::string doc = R"({"items":[{"name":"a"}]})";
  for (const std::vector<std::string>& flag :
       {std::vector<std::string>{"--wrapper", ""}, std::vector<std::string>{"--wrapper", " -_"}}) {
    const CliRun r = audit_bytes(doc, flag);
    expect_one_line_error(r, "--wrapper: unknown wrapper '");
    EXPECT_NE(r.err.find("expected one of: keychainaccess keychain-swift swiftkeychainwrapper "
                         "samkeychain simplekeychain react-native-keychain flutter_secure_storage "
                         "expo-secure-store valet"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(audit_bytes(doc).exit_code, 0);
  EXPECT_EQ(audit_bytes(doc, {"--wrapper", "KeychainAccess"}).exit_code, 0);
}

// ---- 6. Comments (and "x-" keys) of any type are ignored at every level. ----

TEST_F(CliAudit, CommentsOfAnyTypeAreIgnoredInPlists) {
  const std::string item =
      "<key>name</key><string>a</string><key>accessible</key><string>ck</string>";
  const CliRun plain = audit_json(
      xml_plist("<dict><key>items</key><array><dict>" + item + "</dict></array></dict>"));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const CliRun commented = audit_json(xml_plist(
      "<dict><key>comment</key><data>AAAA</data><key>x-built</key><date>2024-01-01T00:00:00Z"
      "</date><key>items</key><array><dict>" +
      item +
      "<key>comment</key><dict><key>why</key><data>AAAA</data></dict>"
      "<key>expect</key><dict><key>comment</key><array><real>1.5</real><data>AA==</data></array>"
      "</dict><key>x-n</key><integer>7</integer></dict></array></dict>"));
  ASSERT_EQ(commented.exit_code, 0) << commented.err;
  EXPECT_EQ(commented.out, plain.out);
  // Elsewhere a <data> is still refused with its path.
  expect_one_line_error(
      audit_bytes(xml_plist("<dict><key>items</key><array><dict>" + item +
                            "<key>class</key><data>AAAA</data></dict></array></dict>")),
      "items[0].class: a property list <date>, <data> or UID is not accepted here");
}

TEST_F(CliAudit, CommentsOfAnyTypeAreIgnoredInJson) {
  const CliRun r = audit_bytes(
      R"({"comment": {"a": [1, 2.5, null]}, "items": [{"name": "a", "comment": 7,
          "x-list": [true], "expect": {"comment": null, "x-n": -1}}]})");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// ---- #16: the CI gate's formats, policies and input conventions ----

std::string example(const std::string& name) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/examples/" + name;
}

TEST_F(CliAudit, SarifAndJunitFormatsExitLikeTheGate) {
  const CliRun sarif = run_cli({"audit", example("audit-banking-app.json"), "--wrapper",
                                "keychainaccess", "--format", "sarif"});
  EXPECT_EQ(sarif.exit_code, 1) << sarif.err;
  const json log = json::parse(sarif.out);
  EXPECT_EQ(log["version"], "2.1.0");
  EXPECT_EQ(log["runs"][0]["tool"]["driver"]["name"], "kcbackup");
  EXPECT_EQ(log["runs"][0]["tool"]["driver"]["version"], KCB_VERSION);
  const CliRun junit =
      run_cli({"audit", example("audit-password-manager.json"), "--format", "JUnit"});
  EXPECT_EQ(junit.exit_code, 0) << junit.err;
  EXPECT_EQ(junit.out.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 0), 0u);
}

TEST_F(CliAudit, UnknownFormatNamesTheAcceptedOnes) {
  expect_one_line_error(audit_bytes(R"({"items":[{"name":"a"}]})", {"--format", "xml"}),
                        "unknown format 'xml'; expected text|json|markdown|csv|sarif|junit");
}

TEST_F(CliAudit, FailOnWarningExitsOneOnAWarning) {
  const std::string doc = R"({"items":[{"name":"old","accessible":"Always"}]})";
  EXPECT_EQ(audit_bytes(doc).exit_code, 0);
  const CliRun r = audit_bytes(doc, {"--fail-on", "warning"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("check failed: 2 warnings (--fail-on warning)"), std::string::npos) << r.err;
  expect_one_line_error(audit_bytes(doc, {"--fail-on", "notice"}),
                        "--fail-on: unknown level 'notice'; expected violation or warning");
}

TEST_F(CliAudit, IgnoreNamedWarningKindOnOneItemOrEverywhere) {
  const std::string doc =
      R"({"items":[{"name":"old","accessible":"Always"},{"name":"older","accessible":"Always"}]})";
  const CliRun one = audit_bytes(doc, {"--ignore", "deprecated:old", "--format", "json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const json report = json::parse(one.out);
  EXPECT_EQ(report["ignored_warning_count"], 1);
  EXPECT_EQ(report["items"][0]["warnings"].size(), 1u);  // half-restored stays
  EXPECT_EQ(report["items"][1]["warnings"].size(), 2u);
  const CliRun all = audit_bytes(
      doc, {"--ignore", "deprecated", "--ignore", "half-restored", "--fail-on", "warning"});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_NE(all.out.find("OK: 2 items, 0 violated expectations in 0 items, 0 warnings (4 ignored)"),
            std::string::npos)
      << all.out;
  expect_one_line_error(audit_bytes(doc, {"--ignore", "deprecated:olde"}),
                        "--ignore: no item named 'olde'");
}

TEST_F(CliAudit, SummaryIsForMarkdownOnly) {
  expect_one_line_error(audit_bytes(R"({"items":[{"name":"a"}]})", {"--summary"}),
                        "--summary is for --format markdown, not text");
}

TEST_F(CliAudit, EmptyItemListIsExitTwo) {
  expect_one_line_error(audit_bytes(R"({"items": []})"), "items: empty");
}

TEST_F(CliAudit, NeverLeavesDeviceWithSurvivesIsContradictionExitTwo) {
  expect_one_line_error(
      audit_bytes(
          R"({"items":[{"name":"k","expect":{"never_leaves_device":true,"survives":["icloud-backup:other-device"]}}]})"),
      "items[0].expect.survives: 'icloud-backup:other-device' contradicts never_leaves_device");
}

TEST_F(CliAudit, JsonCountsAreNamedApartFromTheArrays) {
  const CliRun r = run_cli({"audit", example("audit-banking-app.json"), "--format", "json"});
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["violation_count"], 1);
  EXPECT_TRUE(doc["warning_count"].is_number());
  EXPECT_FALSE(doc.contains("violations"));
  EXPECT_TRUE(doc["items"][1]["violations"].is_array());
}

// Standard input stands in for fd 0 while `run` runs.
template <typename Run>
CliRun with_stdin(const std::string& bytes, Run run) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  EXPECT_EQ(::write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fds[1]);
  const int saved = ::dup(STDIN_FILENO);
  ::dup2(fds[0], STDIN_FILENO);
  ::close(fds[0]);
  CliRun r = run();
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return r;
}

TEST_F(CliAudit, DashReadsItemsFromStandardInput) {
  const std::string doc = R"({"items":[{"name":"from-stdin","accessible":"ck"}]})";
  const CliRun r = with_stdin(doc, [] { return run_cli({"audit", "-", "--format", "json"}); });
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["items"][0]["name"], "from-stdin");
  // SARIF names no file for standard input: the item's path alone locates a result.
  const CliRun sarif = with_stdin(R"({"items":[{"name":"old","accessible":"Always"}]})", [] {
    return run_cli({"audit", "-", "--format", "sarif"});
  });
  const json result = json::parse(sarif.out)["runs"][0]["results"][0];
  EXPECT_FALSE(result["locations"][0].contains("physicalLocation"));
  EXPECT_EQ(result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "items[0]");
}

TEST_F(CliAudit, FifoAndPipeWorkForTheItemsFile) {
  TempDir dir;
  const std::string fifo = dir / "items.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string doc = R"({"items":[{"name":"through-a-fifo","accessible":"ck"}]})";
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << doc;
  });
  const CliRun r = run_cli({"audit", fifo, "--format", "json"});
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["items"][0]["name"], "through-a-fifo");
}

TEST_F(CliAudit, MissingUnreadableAndDirectoryAreToldApart) {
  TempDir dir;
  const CliRun missing = run_cli({"audit", dir / "nope.json"});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_NE(missing.err.find("nope.json: open: does not exist"), std::string::npos) << missing.err;
  const std::string sub = dir / "a-dir";
  std::filesystem::create_directories(sub);
  const CliRun directory = run_cli({"audit", sub});
  EXPECT_EQ(directory.exit_code, 4);
  EXPECT_NE(directory.err.find(": read: is a directory"), std::string::npos) << directory.err;
  if (::geteuid() != 0) {  // root reads anything
    const std::string locked = dir / "locked.json";
    spit(locked, "{}");
    ::chmod(locked.c_str(), 0);
    const CliRun r = run_cli({"audit", locked});
    EXPECT_NE(r.err.find("locked.json: open: permission denied"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace kcb::cli
