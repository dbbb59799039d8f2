// `kcbackup audit` in-process: the two examples and their verdicts, the same document as JSON, XML
// and binary plist, wrapper defaults, every kind of malformed input (exit 2 naming the field),
// hostile plists, and violated expectations (exit 1).
#include <plist/plist.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/audit.h"
#include "cli/output.h"

namespace kcb::cli {
namespace {

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/" + relative;
}

struct AuditRun {
  int rc;
  std::string out;
  std::string err;
  Json json() const { return Json::parse(out); }
};

AuditRun audit(const std::string& path, Format format = Format::kJson,
               const std::string& wrapper = "") {
  std::ostringstream out, err;
  const int rc = run_audit({path, wrapper, format}, out, err);
  return {rc, out.str(), err.str()};
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / "kcb_audit_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

AuditRun audit_text(const std::string& json, const std::string& wrapper = "") {
  return audit(write_temp("doc.json", json), Format::kJson, wrapper);
}

const Json& item_named(const Json& doc, const std::string& name) {
  for (const Json& item : doc["items"]) {
    if (item["name"] == name) return item;
  }
  ADD_FAILURE() << "no item " << name;
  static const Json kNone;
  return kNone;
}

const Json& fate_of(const Json& item, const std::string& journey, const std::string& target) {
  for (const Json& f : item["fates"]) {
    if (f["journey"] == journey && f["target"] == target) return f;
  }
  ADD_FAILURE() << "no fate " << journey << ":" << target;
  static const Json kNone;
  return kNone;
}

std::vector<std::string> warning_kinds(const Json& item) {
  std::vector<std::string> kinds;
  for (const Json& w : item["warnings"])
    kinds.push_back(w["kind"]);
  return kinds;
}

bool has_warning(const Json& item, const std::string& kind) {
  const auto kinds = warning_kinds(item);
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

TEST(AuditExamples, BankingAppFailsOnlyOnRefreshTokenFromIcloudBackup) {
  const AuditRun run = audit(source_path("examples/audit-banking-app.json"));
  ASSERT_EQ(run.rc, kExitCheckFailed) << run.err;
  const Json doc = run.json();
  EXPECT_EQ(doc["schema"], "kcbackup.audit.v1");
  EXPECT_FALSE(doc["ok"]);
  EXPECT_EQ(doc["violations"], 1);

  const Json& refresh = item_named(doc, "refresh-token");
  ASSERT_EQ(refresh["violations"].size(), 1u);
  const Json& v = refresh["violations"][0];
  EXPECT_EQ(v["kind"], "survives");
  EXPECT_EQ(v["journey"], "icloud-backup");
  EXPECT_EQ(v["target"], "other-device");
  EXPECT_EQ(v["outcome"], "lost");
  EXPECT_EQ(v["rules"], Json::array({"R4"}));
  EXPECT_EQ(fate_of(refresh, "local-encrypted", "other-device")["outcome"], "restored");
  EXPECT_EQ(fate_of(refresh, "quick-start", "other-device")["road"], "backup");
  EXPECT_EQ(refresh["fates"].size(), 8u);  // quick-start and icloud-keychain have no same-device

  const Json& signing = item_named(doc, "device-signing-key");
  EXPECT_TRUE(signing["violations"].empty());
  EXPECT_EQ(fate_of(signing, "local-encrypted", "same-device")["rules"], Json::array({"R1"}));
  ASSERT_TRUE(has_warning(signing, "pair-splits"));
  const std::string split = signing["warnings"][0]["message"];
  EXPECT_NE(split.find("quick-start:other-device"), std::string::npos) << split;
  EXPECT_NE(split.find("SecKeyCopyPublicKey"), std::string::npos) << split;

  const Json& public_key = item_named(doc, "device-signing-public-key");
  EXPECT_EQ(public_key["accessible"], "WhenUnlocked");
  EXPECT_EQ(public_key["accessible_from"], "os-default");
  EXPECT_EQ(public_key["pair"], "device-signing-key");
  EXPECT_FALSE(has_warning(public_key, "pair-splits"));  // warned once, on the first half

  EXPECT_TRUE(has_warning(item_named(doc, "login-pin"), "passcode-bound"));
  EXPECT_TRUE(has_warning(item_named(doc, "trusted-device-id"), "sync-never-syncs"));
  EXPECT_TRUE(has_warning(item_named(doc, "session-token"), "half-restored"));
}

TEST(AuditExamples, PasswordManagerPassesWithWarnings) {
  const AuditRun run = audit(source_path("examples/audit-password-manager.json"));
  ASSERT_EQ(run.rc, kExitOk) << run.err;
  const Json doc = run.json();
  EXPECT_TRUE(doc["ok"]);
  EXPECT_EQ(doc["violations"], 0);

  const Json& vault = item_named(doc, "vault-key");
  const Json& sync = fate_of(vault, "icloud-keychain", "other-device");
  EXPECT_EQ(sync["outcome"], "restored");
  EXPECT_EQ(sync["road"], "icloud-keychain");
  // The iCloud backup cannot carry it to another phone; only the sync road does, and users can
  // turn that off: the example says iCloud Keychain is on, and the audit warns of the dependence.
  EXPECT_EQ(doc["icloud_keychain"], "on");
  EXPECT_EQ(fate_of(vault, "icloud-backup", "other-device")["outcome"], "restored");
  EXPECT_EQ(fate_of(vault, "icloud-backup", "other-device")["road"], "icloud-keychain");
  EXPECT_TRUE(has_warning(vault, "icloud-keychain-only"));

  EXPECT_EQ(warning_kinds(item_named(doc, "totp-seeds-key")),
            std::vector<std::string>{"add-fails"});
  EXPECT_TRUE(has_warning(item_named(doc, "legacy-autofill-cache"), "deprecated"));
  EXPECT_TRUE(has_warning(item_named(doc, "sharing-private-key"), "pair-splits"));
  EXPECT_EQ(item_named(doc, "server-credential")["class"], "inet");
}

TEST(AuditExamples, TextAndMarkdownNameTheViolation) {
  const AuditRun text = audit(source_path("examples/audit-banking-app.json"), Format::kText);
  EXPECT_EQ(text.rc, kExitCheckFailed);
  EXPECT_NE(text.out.find("VIOLATION  expected to survive icloud-backup:other-device"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("FAIL: 6 items, 1 violated expectation in 1 item"), std::string::npos);
  const AuditRun md = audit(source_path("examples/audit-banking-app.json"), Format::kMarkdown);
  EXPECT_EQ(md.rc, kExitCheckFailed);
  EXPECT_NE(md.out.find("| `refresh-token` | AfterFirstUnlock |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("**Violated expectations**"), std::string::npos);
}

TEST(AuditPlist, XmlPlistGivesTheSameReportAsJson) {
  const AuditRun json = audit(source_path("examples/audit-banking-app.json"));
  const AuditRun xml = audit(source_path("examples/audit-banking-app.plist"));
  EXPECT_EQ(xml.rc, json.rc) << xml.err;
  EXPECT_EQ(xml.out, json.out);
}

TEST(AuditPlist, BinaryPlistGivesTheSameReportAsJson) {
  std::ifstream in(source_path("examples/audit-banking-app.plist"), std::ios::binary);
  const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  plist_t plist = nullptr;
  plist_from_xml(xml.data(), static_cast<uint32_t>(xml.size()), &plist);
  ASSERT_NE(plist, nullptr);
  char* bin = nullptr;
  uint32_t length = 0;
  plist_to_bin(plist, &bin, &length);
  plist_free(plist);
  const std::string bytes(bin, length);
  plist_to_bin_free(bin);
  const AuditRun binary = audit(write_temp("banking.bplist", bytes));
  const AuditRun json = audit(source_path("examples/audit-banking-app.json"));
  EXPECT_EQ(binary.rc, json.rc) << binary.err;
  EXPECT_EQ(binary.out, json.out);
}

// A binary plist whose arrays each reference the next one `fanout` times: tiny on disk, and
// libplist 2.2 would expand it to fanout^levels nodes (it crashes) if nothing stopped it first.
std::string exponential_bplist(int levels, int fanout) {
  std::string b = "bplist00";
  std::vector<size_t> offsets;
  for (int level = 0; level < levels; ++level) {
    offsets.push_back(b.size());
    b += '\xAF';
    b += '\x10';
    b += static_cast<char>(fanout);
    for (int i = 0; i < fanout; ++i)
      b += static_cast<char>(level + 1);
  }
  offsets.push_back(b.size());
  b += "\x51x";  // the leaf: ascii string "x"
  const size_t table = b.size();
  for (size_t off : offsets) {
    b += static_cast<char>(off >> 8);
    b += static_cast<char>(off & 0xFF);
  }
  std::string trailer(32, '\0');
  trailer[6] = 2;  // offset size
  trailer[7] = 1;  // reference size
  trailer[15] = static_cast<char>(offsets.size());
  trailer[30] = static_cast<char>(table >> 8);
  trailer[31] = static_cast<char>(table & 0xFF);
  return b + trailer;
}

TEST(AuditPlist, ExponentialBinaryPlistIsRefusedBeforeLibplistExpandsIt) {
  const AuditRun run = audit(write_temp("bomb.bplist", exponential_bplist(8, 200)));
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("expands past"), std::string::npos) << run.err;
}

TEST(AuditPlist, SmallBinaryPlistOfTheSameShapeIsReadAndRejectedByStructure) {
  const AuditRun run = audit(write_temp("small.bplist", exponential_bplist(2, 3)));
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("document: expected an object, got an array"), std::string::npos)
      << run.err;
}

TEST(AuditPlist, DeepXmlPlistIsRefused) {
  std::string xml = "<?xml version=\"1.0\"?><plist version=\"1.0\">";
  for (int i = 0; i < 5000; ++i)
    xml += "<array>";
  const AuditRun run = audit(write_temp("deep.plist", xml));
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("nested deeper than 16"), std::string::npos) << run.err;
}

TEST(AuditPlist, GarbageXmlIsInvalidInput) {
  const AuditRun run = audit(write_temp("garbage.plist", "<plist><dict><key>items</key><array>"));
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("kcbackup: "), std::string::npos) << run.err;
}

TEST(AuditPlist, PlistDataFieldIsRejectedWithItsPath) {
  const AuditRun run = audit(
      write_temp("data.plist",
                 "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>items</key><array><dict>"
                 "<key>name</key><data>AAAA</data></dict></array></dict></plist>"));
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("items[0].name: a property list"), std::string::npos) << run.err;
}

struct WrapperCase {
  std::string wrapper;
  std::string accessible;
};

TEST(AuditWrappers, OmittedAccessibilityTakesTheWrappersDefault) {
  const std::string doc = R"({"items": [{"name": "token"}]})";
  // rules.md, "What developers hit in practice".
  const WrapperCase cases[] = {
      {"keychainaccess", "AfterFirstUnlock"},
      {"KeychainAccess", "AfterFirstUnlock"},
      {"keychain-swift", "WhenUnlocked"},
      {"swiftkeychainwrapper", "WhenUnlocked"},
      {"samkeychain", "WhenUnlocked"},
      {"simplekeychain", "AfterFirstUnlock"},
      {"react-native-keychain", "AfterFirstUnlock"},
      {"flutter_secure_storage", "WhenUnlocked"},
      {"expo-secure-store", "WhenUnlocked"},
  };
  for (const auto& c : cases) {
    const AuditRun run = audit_text(doc, c.wrapper);
    ASSERT_EQ(run.rc, kExitOk) << c.wrapper << ": " << run.err;
    const Json doc = run.json();
    const Json& item = doc["items"][0];
    EXPECT_EQ(item["accessible"], c.accessible) << c.wrapper;
    EXPECT_EQ(item["accessible_from"], "wrapper-default") << c.wrapper;
    EXPECT_EQ(item["synchronizable"], false) << c.wrapper;  // none syncs by default
  }
  const AuditRun os = audit_text(doc);
  EXPECT_EQ(os.json()["items"][0]["accessible"], "WhenUnlocked");
  EXPECT_EQ(os.json()["items"][0]["accessible_from"], "os-default");
}

TEST(AuditWrappers, ExplicitAccessibilityWinsOverTheWrapper) {
  const AuditRun run =
      audit_text(R"({"items": [{"name": "t", "accessible": "aku"}]})", "keychainaccess");
  ASSERT_EQ(run.rc, kExitOk) << run.err;
  EXPECT_EQ(run.json()["items"][0]["accessible"], "WhenUnlockedThisDeviceOnly");
  EXPECT_EQ(run.json()["items"][0]["accessible_from"], "explicit");
}

TEST(AuditWrappers, ValetHasNoDefaultSoAnOmittedValueIsAnError) {
  const AuditRun run =
      audit_text(R"({"items": [{"name": "a", "accessible": "ck"}, {"name": "b"}]})", "valet");
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("items[1].accessible: missing, and Valet has no default"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(audit_text(R"({"items": [{"name": "a", "accessible": "ck"}]})", "valet").rc, kExitOk);
}

TEST(AuditWrappers, UnknownWrapperListsTheKnownOnes) {
  const AuditRun run = audit_text(R"({"items": []})", "keychainz");
  EXPECT_EQ(run.rc, kExitInvalidInput);
  EXPECT_NE(run.err.find("unknown wrapper 'keychainz'"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("keychainaccess"), std::string::npos);
  EXPECT_NE(run.err.find("valet"), std::string::npos);
}

struct MalformedCase {
  const char* what;
  const char* json;
  const char* message;  // must appear in the one-line error
};

class AuditMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(AuditMalformed, ExitsTwoNamingTheField) {
  const AuditRun run = audit_text(GetParam().json);
  EXPECT_EQ(run.rc, kExitInvalidInput) << run.out;
  EXPECT_NE(run.err.find(GetParam().message), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("kcbackup: "), 0u) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_TRUE(run.out.empty());
}

const MalformedCase kMalformed[] = {
    {"sync_not_bool", R"({"items": [{"name": "a", "synchronizable": "yes"}]})",
     "items[0].synchronizable: expected a boolean (true or false), got a string"},
    {"name_not_string", R"({"items": [{"name": 7}]})",
     "items[0].name: expected a string, got a number"},
    {"items_not_array", R"({"items": {"name": "a"}})", "items: expected an array, got an object"},
    {"root_not_object", R"([1, 2])", "document: expected an object, got an array"},
    {"expect_not_object", R"({"items": [{"name": "a", "expect": ["local:same-device"]}]})",
     "items[0].expect: expected an object, got an array"},
    {"unknown_accessibility",
     R"({"items": [{"name": "a"}, {"name": "b"}, {"name": "c", "accessible": "foo"}]})",
     "items[2].accessible: unknown accessibility 'foo'; expected"},
    {"unknown_class", R"({"items": [{"name": "a", "class": "password"}]})",
     "items[0].class: unknown item class 'password'"},
    {"missing_name", R"({"items": [{"name": "a"}, {"accessible": "ak"}]})",
     "items[1].name: missing"},
    {"empty_name", R"({"items": [{"name": ""}]})", "items[0].name: empty"},
    {"duplicate_name", R"({"items": [{"name": "a"}, {"name": "a"}]})",
     "items[1].name: duplicate name 'a' (also items[0].name)"},
    {"unknown_journey",
     R"({"items": [{"name": "a", "expect": {"survives": ["dropbox:other-device"]}}]})",
     "items[0].expect.survives[0]: unknown journey 'dropbox'"},
    {"unknown_target", R"({"items": [{"name": "a", "expect": {"survives": ["local:moon"]}}]})",
     "items[0].expect.survives[0]: unknown target 'moon'"},
    {"no_such_form",
     R"({"items": [{"name": "a", "expect": {"survives": ["local:same", "quick-start:same-device"]}}]})",
     "items[0].expect.survives[1]: 'quick-start:same-device': journey 'quick-start' has no "
     "same-device form"},
    {"form_without_colon", R"({"items": [{"name": "a", "expect": {"survives": ["local"]}}]})",
     "items[0].expect.survives[0]: 'local' is not journey:target"},
    {"never_leaves_not_bool",
     R"({"items": [{"name": "a", "expect": {"never_leaves_device": "true"}}]})",
     "items[0].expect.never_leaves_device: expected a boolean"},
    {"unknown_item_field", R"({"items": [{"name": "a", "synchronisable": true}]})",
     "items[0].synchronisable: unknown field"},
    {"unknown_expect_field", R"({"items": [{"name": "a", "expect": {"survive": []}}]})",
     "items[0].expect.survive: unknown field"},
    {"unknown_top_field", R"({"items": [], "icloud": "on"})", "icloud: unknown field"},
    {"missing_items", R"({"icloud_keychain": "on"})", "items: missing"},
    {"bad_icloud_keychain", R"({"items": [], "icloud_keychain": "maybe"})",
     "icloud_keychain: unknown switch 'maybe'"},
    {"pair_unknown", R"({"items": [{"name": "a", "pair": "b"}]})",
     "items[0].pair: no item named 'b'"},
    {"pair_self", R"({"items": [{"name": "a", "pair": "a"}]})",
     "items[0].pair: an item cannot pair with itself"},
    {"pair_taken",
     R"({"items": [{"name": "a", "pair": "b"}, {"name": "b"}, {"name": "c", "pair": "b"}]})",
     "items[2].pair: 'b' is already paired with 'a'"},
    {"long_name",
     R"({"items": [{"name": ")"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     R"("}]})",
     "items[0].name: longer than 256 bytes"},
    {"not_json", R"({"items": [)", "invalid JSON: parse error"},
    {"too_deep", R"({"items": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]})", "nested deeper than 16"},
};

INSTANTIATE_TEST_SUITE_P(AllCases, AuditMalformed, ::testing::ValuesIn(kMalformed),
                         [](const auto& info) { return std::string(info.param.what); });

TEST(AuditInputFile, MissingFileIsAnIoError) {
  const AuditRun run = audit("/nonexistent/kcb/items.json");
  EXPECT_EQ(run.rc, kExitIOError);
  EXPECT_NE(run.err.find("/nonexistent/kcb/items.json: cannot open"), std::string::npos);
}

TEST(AuditInputFile, CommentsAndXKeysAreIgnored) {
  const AuditRun run = audit_text(
      R"({"comment": "c", "x-team": "ios", "items": [{"name": "a", "comment": "c", "x-owner": "me",
          "expect": {"comment": "c"}}]})");
  EXPECT_EQ(run.rc, kExitOk) << run.err;
}

TEST(AuditExpectations, ThisDeviceOnlyExpectedToMigrateIsAViolation) {
  const AuditRun run = audit_text(
      R"({"items": [{"name": "a", "accessible": "WhenUnlockedThisDeviceOnly",
          "expect": {"survives": ["local-encrypted:other-device", "local-encrypted:same-device"]}}]})");
  EXPECT_EQ(run.rc, kExitCheckFailed);
  const Json violations = run.json()["items"][0]["violations"];
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0]["journey"], "local-encrypted");
  EXPECT_EQ(violations[0]["target"], "other-device");
  EXPECT_EQ(violations[0]["rules"], Json::array({"R3"}));
}

TEST(AuditExpectations, NeverLeavesDeviceIsViolatedOnEveryOtherDeviceRestore) {
  const AuditRun run = audit_text(
      R"({"items": [{"name": "a", "accessible": "AfterFirstUnlock",
          "expect": {"never_leaves_device": true}}]})");
  EXPECT_EQ(run.rc, kExitCheckFailed);
  std::vector<std::string> forms;
  const Json violations = run.json()["items"][0]["violations"];
  for (const Json& v : violations) {
    EXPECT_EQ(v["kind"], "never-leaves-device");
    forms.push_back(std::string(v["journey"]) + ":" + std::string(v["target"]));
  }
  EXPECT_EQ(forms,
            (std::vector<std::string>{"local-encrypted:other-device", "quick-start:other-device"}));
}

TEST(AuditExpectations, SyncedItemLeavesTheDeviceThroughIcloudKeychain) {
  const AuditRun run = audit_text(
      R"({"icloud_keychain": "on", "items": [{"name": "a", "accessible": "WhenUnlocked",
          "synchronizable": true, "expect": {"never_leaves_device": true}}]})");
  EXPECT_EQ(run.rc, kExitCheckFailed);
  std::vector<std::string> by_sync;
  const Json doc = run.json();  // the loop below must not walk a destroyed temporary
  for (const Json& v : doc["items"][0]["violations"]) {
    if (v["road"] == "icloud-keychain") by_sync.push_back(v["journey"]);
  }
  EXPECT_NE(std::find(by_sync.begin(), by_sync.end(), "icloud-keychain"), by_sync.end());
  // Not said is off (rules.md): the backups and Quick Start still move it, the sync road does not.
  const AuditRun unsaid = audit_text(
      R"({"items": [{"name": "a", "accessible": "WhenUnlocked", "synchronizable": true,
          "expect": {"never_leaves_device": true}}]})");
  EXPECT_EQ(unsaid.rc, kExitCheckFailed);
  const Json unsaid_doc = unsaid.json();
  for (const Json& v : unsaid_doc["items"][0]["violations"]) {
    EXPECT_EQ(v["road"], "backup") << v.dump();
  }
}

TEST(AuditWarnings, ExpectationHeldOnlyByIcloudKeychainIsWarned) {
  const AuditRun run = audit_text(
      R"({"icloud_keychain": "on", "items": [{"name": "a", "accessible": "WhenUnlocked",
          "synchronizable": true, "expect": {"survives": ["icloud-backup:other-device"]}}]})");
  ASSERT_EQ(run.rc, kExitOk) << run.err;
  const Json doc = run.json();
  const Json& item = doc["items"][0];
  EXPECT_EQ(fate_of(item, "icloud-backup", "other-device")["road"], "icloud-keychain");
  ASSERT_TRUE(has_warning(item, "icloud-keychain-only"));
  const std::string message = item["warnings"][0]["message"];
  EXPECT_NE(message.find("comes back on local:other-device, icloud-backup:other-device only"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("the expectation icloud-backup:other-device rests on it"),
            std::string::npos)
      << message;
  EXPECT_EQ(run.json()["icloud_keychain"], "on");
  // With iCloud Keychain off the same expectation fails.
  const AuditRun off = audit_text(
      R"({"icloud_keychain": false, "items": [{"name": "a", "accessible": "WhenUnlocked",
          "synchronizable": true, "expect": {"survives": ["icloud-backup:other-device"]}}]})");
  EXPECT_EQ(off.rc, kExitCheckFailed);
}

TEST(AuditWarnings, NoSyncDependenceWarningWhenICloudKeychainIsOff) {
  // Not said means off (rules.md), the icloud-keychain journey included: nothing comes back by
  // sync, so nothing depends on it.
  const AuditRun run = audit_text(
      R"({"items": [{"name": "a", "accessible": "AfterFirstUnlock", "synchronizable": true}]})");
  ASSERT_EQ(run.rc, kExitOk);
  const Json doc = run.json();
  const Json& item = doc["items"][0];
  EXPECT_EQ(fate_of(item, "icloud-keychain", "other-device")["outcome"], "lost");
  EXPECT_EQ(fate_of(item, "icloud-keychain", "other-device")["road"], "none");
  EXPECT_FALSE(has_warning(item, "icloud-keychain-only"));
}

}  // namespace
}  // namespace kcb::cli
