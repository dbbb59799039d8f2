// The audit library (include/kcbackup/audit.h) called directly: the two examples and their
// verdicts, wrapper defaults, every kind of malformed document (the error names the field),
// hostile plists, violated expectations and each warning, and the stable ids. Then `run_audit`,
// the command, for what only it does: reading through the Env, and printing the same report
// from JSON, XML and binary plist. tests/cli_audit_test.cc has the command line and its printing.
#include "kcbackup/audit.h"
#include "tests/plist_text.h"

#include <plist/plist.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "cli/audit_command.h"
#include "cli/output.h"
#include "kcbackup/names.h"
#include "kcbackup/rules.h"

namespace kcb {
namespace {

RuleSet only(RuleId id) {
  RuleSet s;
  s.add(id);
  return s;
}

std::string source_path(const std::string& relative) {
  const char* root = std::getenv("KCB_SOURCE_DIR");
  return std::string(root ? root : ".") + "/" + relative;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Result<AuditInput> parse(const std::string& bytes, const Wrapper* wrapper = nullptr) {
  return parse_audit_document(as_bytes(bytes), wrapper);
}

const Wrapper* wrapper_named(std::string_view name) {
  auto found = find_wrapper(name);
  EXPECT_TRUE(found.ok()) << found.status().to_string();
  return found.ok() ? *found : nullptr;
}

AuditReport audit_of(const std::string& bytes, const Wrapper* wrapper = nullptr) {
  const auto input = parse(bytes, wrapper);
  EXPECT_TRUE(input.ok()) << input.status().to_string();
  return input.ok() ? audit(*input) : AuditReport{};
}

AuditReport audit_example(const std::string& name) {
  return audit_of(slurp(source_path("examples/" + name)));
}

const ItemReport& item_named(const AuditReport& report, const std::string& name) {
  for (const ItemReport& r : report.items) {
    if (r.item.name == name) return r;
  }
  ADD_FAILURE() << "no item " << name;
  static const ItemReport kNone{};
  return kNone;
}

const Verdict& fate_of(const ItemReport& r, Journey journey, Target target) {
  for (const oracle::Fate& f : r.fates) {
    if (f.form == Form{journey, target}) return f.verdict;
  }
  ADD_FAILURE() << "no fate " << name_of(journey) << ":" << name_of(target);
  static const Verdict kNone;
  return kNone;
}

std::vector<WarningKind> warning_kinds(const ItemReport& r) {
  std::vector<WarningKind> kinds;
  for (const Warning& w : r.warnings)
    kinds.push_back(w.kind);
  return kinds;
}

bool has_warning(const ItemReport& r, WarningKind kind) {
  const auto kinds = warning_kinds(r);
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

const Warning* warning_of(const ItemReport& r, WarningKind kind) {
  for (const Warning& w : r.warnings) {
    if (w.kind == kind) return &w;
  }
  return nullptr;
}

// ---- The examples. ----

TEST(AuditExamples, BankingAppFailsOnlyOnRefreshTokenFromIcloudBackup) {
  const AuditReport report = audit_example("audit-banking-app.json");
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.violation_count(), 1u);

  const ItemReport& refresh = item_named(report, "refresh-token");
  ASSERT_EQ(refresh.violations.size(), 1u);
  const Violation& v = refresh.violations[0];
  EXPECT_EQ(v.kind, ViolationKind::kSurvives);
  EXPECT_EQ(v.fate.form, (Form{Journey::kIcloudBackup, Target::kOtherDevice}));
  EXPECT_EQ(v.fate.verdict.outcome, Outcome::kLost);
  EXPECT_EQ(v.fate.verdict.rules, only(RuleId::R4));
  EXPECT_EQ(fate_of(refresh, Journey::kLocalEncrypted, Target::kOtherDevice).outcome,
            Outcome::kRestored);
  EXPECT_EQ(fate_of(refresh, Journey::kQuickStart, Target::kOtherDevice).road, Road::kBackup);

  const ItemReport& signing = item_named(report, "device-signing-key");
  EXPECT_TRUE(signing.violations.empty());
  EXPECT_EQ(fate_of(signing, Journey::kLocalEncrypted, Target::kSameDevice).rules,
            only(RuleId::R1));
  const Warning* split = warning_of(signing, WarningKind::kPairSplits);
  ASSERT_NE(split, nullptr);
  EXPECT_NE(split->message.find("quick-start:other-device"), std::string::npos) << split->message;
  EXPECT_NE(split->message.find("SecKeyCopyPublicKey"), std::string::npos) << split->message;

  const ItemReport& public_key = item_named(report, "device-signing-public-key");
  EXPECT_EQ(public_key.item.traits.accessible, Accessibility::kWhenUnlocked);
  EXPECT_EQ(public_key.item.accessible_from, AccessibleFrom::kOsDefault);
  ASSERT_TRUE(public_key.item.pair.has_value());
  EXPECT_EQ(report.items[*public_key.item.pair].item.name, "device-signing-key");
  EXPECT_FALSE(has_warning(public_key, WarningKind::kPairSplits));  // warned once, first half

  EXPECT_TRUE(has_warning(item_named(report, "login-pin"), WarningKind::kPasscodeBound));
  EXPECT_TRUE(has_warning(item_named(report, "trusted-device-id"), WarningKind::kSyncNeverSyncs));
  EXPECT_TRUE(has_warning(item_named(report, "session-token"), WarningKind::kHalfRestored));
}

TEST(AuditExamples, PasswordManagerPassesWithWarnings) {
  const AuditReport report = audit_example("audit-password-manager.json");
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.icloud_keychain, Switch::kOn);

  const ItemReport& vault = item_named(report, "vault-key");
  const Verdict& sync = fate_of(vault, Journey::kIcloudKeychain, Target::kOtherDevice);
  EXPECT_EQ(sync.outcome, Outcome::kRestored);
  EXPECT_EQ(sync.road, Road::kIcloudKeychain);
  // The iCloud backup cannot carry it to another phone; only the sync road does, and users can
  // turn that off: the example says iCloud Keychain is on, and the audit warns of the dependence.
  const Verdict& backup = fate_of(vault, Journey::kIcloudBackup, Target::kOtherDevice);
  EXPECT_EQ(backup.outcome, Outcome::kRestored);
  EXPECT_EQ(backup.road, Road::kIcloudKeychain);
  EXPECT_TRUE(has_warning(vault, WarningKind::kIcloudKeychainOnly));

  EXPECT_EQ(warning_kinds(item_named(report, "totp-seeds-key")),
            std::vector<WarningKind>{WarningKind::kAddFails});
  EXPECT_TRUE(has_warning(item_named(report, "legacy-autofill-cache"), WarningKind::kDeprecated));
  EXPECT_TRUE(has_warning(item_named(report, "sharing-private-key"), WarningKind::kPairSplits));
  EXPECT_EQ(item_named(report, "server-credential").item.traits.item_class, ItemClass::kInet);
}

TEST(AuditReport, FatesAreTheOraclesOnEveryAnswerableForm) {
  const AuditReport report = audit_example("audit-banking-app.json");
  ASSERT_FALSE(report.items.empty());
  for (const ItemReport& r : report.items) {
    DeviceSettings settings;
    settings.icloud_keychain = report.icloud_keychain;
    const auto expected = oracle::fates(r.item.traits, settings);
    ASSERT_EQ(r.fates.size(), std::size(kAllForms));
    for (size_t i = 0; i < r.fates.size(); ++i) {
      EXPECT_EQ(r.fates[i].form, kAllForms[i]);
      EXPECT_EQ(r.fates[i].verdict, expected[i].verdict) << r.item.name << " " << i;
    }
  }
}

// The ids are in the JSON output and in docs/audit.md: they never change.
TEST(AuditReport, WarningAndViolationIdsAreStable) {
  const std::pair<WarningKind, std::string_view> warnings[] = {
      {WarningKind::kDeprecated, "deprecated"},
      {WarningKind::kSyncNeverSyncs, "sync-never-syncs"},
      {WarningKind::kAddFails, "add-fails"},
      {WarningKind::kPasscodeBound, "passcode-bound"},
      {WarningKind::kPairSplits, "pair-splits"},
      {WarningKind::kIcloudKeychainOnly, "icloud-keychain-only"},
      {WarningKind::kHalfRestored, "half-restored"},
      {WarningKind::kAppClip, "app-clip"},
      {WarningKind::kPersistentRef, "persistent-ref"},
  };
  for (const auto& [kind, id] : warnings)
    EXPECT_EQ(name_of(kind), id);
  EXPECT_EQ(name_of(ViolationKind::kSurvives), "survives");
  EXPECT_EQ(name_of(ViolationKind::kNeverLeavesDevice), "never-leaves-device");
  EXPECT_EQ(name_of(AccessibleFrom::kExplicit), "explicit");
  EXPECT_EQ(name_of(AccessibleFrom::kOsDefault), "os-default");
  EXPECT_EQ(name_of(AccessibleFrom::kWrapperDefault), "wrapper-default");
}

// ---- Plists. ----

using testing_plist::binary_from_xml;

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

void expect_refused(const Result<AuditInput>& r, const std::string& message,
                    Code code = Code::kInvalidArgument) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find(message), std::string::npos)
      << "wanted: " << message << "\ngot: " << r.status().message();
}

TEST(AuditPlist, ExponentialBinaryPlistIsRefusedBeforeLibplistExpandsIt) {
  expect_refused(parse(exponential_bplist(8, 200)), "expands past", Code::kResourceExhausted);
}

TEST(AuditPlist, SmallBinaryPlistOfTheSameShapeIsReadAndRejectedByStructure) {
  expect_refused(parse(exponential_bplist(2, 3)), "document: expected an object, got an array");
}

TEST(AuditPlist, DeepXmlPlistIsRefused) {
  std::string xml = "<?xml version=\"1.0\"?><plist version=\"1.0\">";
  for (int i = 0; i < 5000; ++i)
    xml += "<array>";
  expect_refused(parse(xml), "nested deeper than 16", Code::kResourceExhausted);
}

TEST(AuditPlist, GarbageXmlIsInvalidInput) {
  expect_refused(parse("<plist><dict><key>items</key><array>"), "property list: ");
}

TEST(AuditPlist, PlistDataFieldIsRejectedWithItsPath) {
  expect_refused(
      parse("<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>items</key><array><dict>"
            "<key>name</key><data>AAAA</data></dict></array></dict></plist>"),
      "items[0].name: a property list <date>, <data> or UID is not accepted here");
}

// ---- Wrappers. ----

TEST(AuditWrappers, OmittedAccessibilityTakesTheWrappersDefault) {
  const std::string doc = R"({"items": [{"name": "token"}]})";
  // rules.md, "What developers hit in practice".
  const std::pair<std::string_view, Accessibility> cases[] = {
      {"keychainaccess", Accessibility::kAfterFirstUnlock},
      {"KeychainAccess", Accessibility::kAfterFirstUnlock},
      {"keychain-swift", Accessibility::kWhenUnlocked},
      {"swiftkeychainwrapper", Accessibility::kWhenUnlocked},
      {"samkeychain", Accessibility::kWhenUnlocked},
      {"simplekeychain", Accessibility::kAfterFirstUnlock},
      {"SimpleKeychain (auth0)", Accessibility::kAfterFirstUnlock},
      {"react-native-keychain", Accessibility::kAfterFirstUnlock},
      {"flutter_secure_storage", Accessibility::kWhenUnlocked},
      {"Flutter-Secure-Storage", Accessibility::kWhenUnlocked},
      {"expo-secure-store", Accessibility::kWhenUnlocked},
  };
  for (const auto& [name, accessible] : cases) {
    const auto input = parse(doc, wrapper_named(name));
    ASSERT_TRUE(input.ok()) << name << ": " << input.status().to_string();
    EXPECT_EQ(input->items[0].traits.accessible, accessible) << name;
    EXPECT_EQ(input->items[0].accessible_from, AccessibleFrom::kWrapperDefault) << name;
    EXPECT_FALSE(input->items[0].traits.synchronizable) << name;  // none syncs by default
  }
  const auto os = parse(doc);
  ASSERT_TRUE(os.ok());
  EXPECT_EQ(os->items[0].traits.accessible, Accessibility::kWhenUnlocked);
  EXPECT_EQ(os->items[0].accessible_from, AccessibleFrom::kOsDefault);
}

TEST(AuditWrappers, ExplicitAccessibilityWinsOverTheWrapper) {
  const auto input =
      parse(R"({"items": [{"name": "t", "accessible": "aku"}]})", wrapper_named("keychainaccess"));
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(input->items[0].traits.accessible, Accessibility::kWhenUnlockedThisDeviceOnly);
  EXPECT_EQ(input->items[0].accessible_from, AccessibleFrom::kExplicit);
}

TEST(AuditWrappers, ValetHasNoDefaultSoAnOmittedValueIsAnError) {
  const Wrapper* valet = wrapper_named("valet");
  expect_refused(parse(R"({"items": [{"name": "a", "accessible": "ck"}, {"name": "b"}]})", valet),
                 "items[1].accessible: missing, and Valet has no default");
  EXPECT_TRUE(parse(R"({"items": [{"name": "a", "accessible": "ck"}]})", valet).ok());
}

TEST(AuditWrappers, UnknownWrapperListsTheKnownOnes) {
  for (std::string_view name : {"keychainz", "", " -_"}) {
    const auto found = find_wrapper(name);
    ASSERT_FALSE(found.ok()) << name;
    EXPECT_EQ(found.status().message(),
              "--wrapper: unknown wrapper '" + std::string(name) +
                  "'; expected one of: keychainaccess keychain-swift swiftkeychainwrapper "
                  "samkeychain simplekeychain react-native-keychain flutter_secure_storage "
                  "expo-secure-store valet");
  }
  EXPECT_EQ(wrappers().size(), 9u);
}

// ---- Malformed documents: the error names the field. ----

struct MalformedCase {
  const char* what;
  const char* json;
  const char* message;  // must appear in the error
};

class AuditMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(AuditMalformed, NamesTheField) {
  const auto r = parse(GetParam().json);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(GetParam().message), std::string::npos)
      << r.status().message();
}

const MalformedCase kMalformed[] = {
    {"sync_not_bool", R"({"items": [{"name": "a", "synchronizable": "yes"}]})",
     "items[0].synchronizable: expected a boolean (true or false), got a string"},
    {"app_clip_not_bool", R"({"items": [{"name": "a", "app_clip": 1}]})",
     "items[0].app_clip: expected a boolean (true or false), got a number"},
    {"stores_ref_not_bool", R"({"items": [{"name": "a", "stores_persistent_ref": "yes"}]})",
     "items[0].stores_persistent_ref: expected a boolean (true or false), got a string"},
    {"name_not_string", R"({"items": [{"name": 7}]})",
     "items[0].name: expected a string, got a number"},
    {"items_not_array", R"({"items": {"name": "a"}})", "items: expected an array, got an object"},
    {"root_not_object", R"([1, 2])", "document: expected an object, got an array"},
    {"item_not_object", R"({"items": [{"name": "a"}, "b"]})",
     "items[1]: expected an object, got a string"},
    {"expect_not_object", R"({"items": [{"name": "a", "expect": ["local:same-device"]}]})",
     "items[0].expect: expected an object, got an array"},
    {"survives_not_array", R"({"items": [{"name": "a", "expect": {"survives": "local:same"}}]})",
     "items[0].expect.survives: expected an array of \"journey:target\", got a string"},
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
     "items[0].synchronisable: unknown field (did you mean 'synchronizable'?); expected one of: "
     "name, class, accessible, synchronizable, token, auth_constraint, expect, pair, app_clip, "
     "stores_persistent_ref (or \"comment\", or a key starting with \"x-\")"},
    {"unknown_expect_field", R"({"items": [{"name": "a", "expect": {"survive": []}}]})",
     "items[0].expect.survive: unknown field (did you mean 'survives'?)"},
    {"unknown_top_field", R"({"items": [], "icloud": "on"})", "icloud: unknown field;"},
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

TEST(AuditDocument, TextErrorsNameTheSourceAndFieldErrorsThePath) {
  expect_refused(parse_audit_document(as_bytes(R"({"items": [], "items": []})"), nullptr, "f.json"),
                 "f.json: items: key 'items' appears twice in the document");
  const auto field = parse_audit_document(as_bytes(R"({"items": [{"name": 1}]})"), nullptr, "f");
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.status().message(), "items[0].name: expected a string, got a number");
}

// Where each item starts in the file (SARIF regions): the examples, read as JSON and as XML;
// a binary plist has no text, so no position.
TEST(AuditDocument, ItemsKnowTheLineAndColumnWhereTheyStart) {
  const auto json_items = parse(slurp(source_path("examples/audit-banking-app.json")));
  ASSERT_TRUE(json_items.ok()) << json_items.status().to_string();
  const auto plist_items = parse(slurp(source_path("examples/audit-banking-app.plist")),
                                 wrapper_named("keychainaccess"));
  ASSERT_TRUE(plist_items.ok()) << plist_items.status().to_string();
  const std::vector<std::pair<size_t, size_t>> json_want = {{4, 5}, {10, 5}, {20, 5}};
  const std::vector<std::pair<size_t, size_t>> plist_want = {{9, 3}, {22, 3}, {41, 3}};
  for (size_t i = 0; i < json_want.size(); ++i) {
    const AuditItem& j = json_items->items[i];
    const AuditItem& x = plist_items->items[i];
    EXPECT_EQ(std::pair(j.line, j.column), json_want[i]) << j.name;
    EXPECT_EQ(std::pair(x.line, x.column), plist_want[i]) << x.name;
    EXPECT_EQ(j.name, x.name);
  }
  const auto binary = parse(testing_plist::binary_from_xml(
      R"(<plist><dict><key>items</key><array><dict><key>name</key><string>a</string></dict></array></dict></plist>)"));
  ASSERT_TRUE(binary.ok()) << binary.status().to_string();
  EXPECT_EQ(binary->items[0].line, 0u);
}

TEST(AuditDocument, CommentsAndXKeysAreIgnored) {
  const auto input = parse(
      R"({"comment": "c", "x-team": "ios", "items": [{"name": "a", "comment": "c", "x-owner": "me",
          "expect": {"comment": "c"}}]})");
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  EXPECT_EQ(input->items.size(), 1u);
}

TEST(AuditDocument, AnExpectationGivenTwiceIsCheckedOnce) {
  const auto input = parse(
      R"({"items": [{"name": "a", "expect": {"survives": ["local:same", "local:same-device"]}}]})");
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  EXPECT_EQ(input->items[0].survives, (std::vector<Form>{{Journey::kLocal, Target::kSameDevice}}));
}

// ---- Expectations and warnings. ----

TEST(AuditExpectations, ThisDeviceOnlyExpectedToMigrateIsAViolation) {
  const AuditReport report = audit_of(
      R"({"items": [{"name": "a", "accessible": "WhenUnlockedThisDeviceOnly",
          "expect": {"survives": ["local-encrypted:other-device", "local-encrypted:same-device"]}}]})");
  EXPECT_FALSE(report.ok());
  const auto& violations = report.items[0].violations;
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].fate.form, (Form{Journey::kLocalEncrypted, Target::kOtherDevice}));
  EXPECT_EQ(violations[0].fate.verdict.rules, only(RuleId::R3));
  EXPECT_EQ(violations[0].message,
            "expected to survive local-encrypted:other-device, but lost (R3 " +
                std::string(oracle::rule(RuleId::R3).title) + ")");
}

TEST(AuditExpectations, NeverLeavesDeviceIsViolatedOnEveryOtherDeviceRestore) {
  const AuditReport report = audit_of(
      R"({"items": [{"name": "a", "accessible": "AfterFirstUnlock",
          "expect": {"never_leaves_device": true}}]})");
  std::vector<Form> forms;
  for (const Violation& v : report.items[0].violations) {
    EXPECT_EQ(v.kind, ViolationKind::kNeverLeavesDevice);
    forms.push_back(v.fate.form);
  }
  EXPECT_EQ(forms, (std::vector<Form>{{Journey::kLocalEncrypted, Target::kOtherDevice},
                                      {Journey::kQuickStart, Target::kOtherDevice}}));
}

TEST(AuditExpectations, SyncedItemLeavesTheDeviceThroughIcloudKeychain) {
  const AuditReport on = audit_of(
      R"({"icloud_keychain": "on", "items": [{"name": "a", "accessible": "WhenUnlocked",
          "synchronizable": true, "expect": {"never_leaves_device": true}}]})");
  EXPECT_FALSE(on.ok());
  bool by_sync = false;
  for (const Violation& v : on.items[0].violations) {
    by_sync = by_sync || (v.fate.form.journey == Journey::kIcloudKeychain &&
                          v.fate.verdict.road == Road::kIcloudKeychain);
  }
  EXPECT_TRUE(by_sync);
  // Not said is off (rules.md): the backups and Quick Start still move it, the sync road does not.
  const AuditReport unsaid = audit_of(
      R"({"items": [{"name": "a", "accessible": "WhenUnlocked", "synchronizable": true,
          "expect": {"never_leaves_device": true}}]})");
  EXPECT_FALSE(unsaid.ok());
  for (const Violation& v : unsaid.items[0].violations)
    EXPECT_EQ(v.fate.verdict.road, Road::kBackup) << v.message;
}

TEST(AuditWarnings, ExpectationHeldOnlyByIcloudKeychainIsWarned) {
  const AuditReport report = audit_of(
      R"({"icloud_keychain": "on", "items": [{"name": "a", "accessible": "WhenUnlocked",
          "synchronizable": true, "expect": {"survives": ["icloud-backup:other-device"]}}]})");
  ASSERT_TRUE(report.ok());
  const ItemReport& item = report.items[0];
  EXPECT_EQ(fate_of(item, Journey::kIcloudBackup, Target::kOtherDevice).road,
            Road::kIcloudKeychain);
  const Warning* w = warning_of(item, WarningKind::kIcloudKeychainOnly);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->message,
            "comes back on local:other-device, icloud-backup:other-device only through iCloud "
            "Keychain (R6), which users can turn off; the expectation icloud-backup:other-device "
            "rests on it");
  // With iCloud Keychain off the same expectation fails.
  EXPECT_FALSE(audit_of(R"({"icloud_keychain": false, "items": [{"name": "a",
      "accessible": "WhenUnlocked", "synchronizable": true,
      "expect": {"survives": ["icloud-backup:other-device"]}}]})")
                   .ok());
}

TEST(AuditWarnings, NoSyncDependenceWarningWhenICloudKeychainIsOff) {
  // Not said means off (rules.md), the icloud-keychain journey included: nothing comes back by
  // sync, so nothing depends on it.
  const AuditReport report = audit_of(
      R"({"items": [{"name": "a", "accessible": "AfterFirstUnlock", "synchronizable": true}]})");
  ASSERT_TRUE(report.ok());
  const ItemReport& item = report.items[0];
  EXPECT_EQ(fate_of(item, Journey::kIcloudKeychain, Target::kOtherDevice).outcome, Outcome::kLost);
  EXPECT_EQ(fate_of(item, Journey::kIcloudKeychain, Target::kOtherDevice).road, Road::kNone);
  EXPECT_FALSE(has_warning(item, WarningKind::kIcloudKeychainOnly));
}

TEST(AuditWarnings, EachTraitWarningHasItsMessage) {
  const AuditReport report = audit_of(
      R"({"items": [{"name": "old", "accessible": "Always"},
                    {"name": "stuck", "accessible": "cku", "synchronizable": true},
                    {"name": "never", "auth_constraint": true, "synchronizable": true},
                    {"name": "pin", "accessible": "akpu"}]})");
  const Warning* deprecated = warning_of(item_named(report, "old"), WarningKind::kDeprecated);
  ASSERT_NE(deprecated, nullptr);
  EXPECT_EQ(deprecated->message,
            "kSecAttrAccessibleAlways is deprecated since iOS 12; use "
            "kSecAttrAccessibleAfterFirstUnlock");
  EXPECT_TRUE(has_warning(item_named(report, "stuck"), WarningKind::kSyncNeverSyncs));
  const ItemReport& never = item_named(report, "never");
  ASSERT_NE(warning_of(never, WarningKind::kAddFails), nullptr);
  EXPECT_NE(warning_of(never, WarningKind::kAddFails)->message.find("access-control constraint"),
            std::string::npos);
  // An item that never exists is not also warned as half-restored.
  EXPECT_FALSE(has_warning(never, WarningKind::kHalfRestored));
  EXPECT_TRUE(has_warning(item_named(report, "pin"), WarningKind::kPasscodeBound));
}

TEST(AuditDocument, AppClipAndStoredReferenceFieldsAreRead) {
  const auto input = parse(
      R"({"items": [{"name": "clip", "app_clip": true, "stores_persistent_ref": true},
                    {"name": "plain", "app_clip": false}]})");
  ASSERT_TRUE(input.ok()) << input.status().to_string();
  EXPECT_TRUE(input->items[0].traits.app_clip);
  EXPECT_TRUE(input->items[0].stores_persistent_ref);
  EXPECT_FALSE(input->items[1].traits.app_clip);
  EXPECT_FALSE(input->items[1].stores_persistent_ref);
}

TEST(AuditWarnings, AnAppClipsItemIsInNoBackupAndSaysSo) {
  const AuditReport report =
      audit_of(R"({"items": [{"name": "clip", "accessible": "ck", "app_clip": true}]})");
  const ItemReport& item = report.items[0];
  for (const oracle::Fate& f : item.fates)
    EXPECT_EQ(f.verdict.outcome, Outcome::kLost) << form_name(f.form);
  const Warning* w = warning_of(item, WarningKind::kAppClip);
  ASSERT_NE(w, nullptr);
  EXPECT_NE(w->message.find("R10"), std::string::npos);
  EXPECT_FALSE(has_warning(audit_of(R"({"items": [{"name": "a", "accessible": "ck"}]})").items[0],
                           WarningKind::kAppClip));
}

TEST(AuditWarnings, AStoredReferenceIsWarnedWhereAJourneyRenewsOrLosesIt) {
  const AuditReport report = audit_of(
      R"({"icloud_keychain": "on",
          "items": [{"name": "token", "accessible": "ck", "synchronizable": true,
                     "stores_persistent_ref": true},
                    {"name": "quiet", "accessible": "ck", "synchronizable": true}]})");
  const ItemReport& item = item_named(report, "token");
  const Warning* w = warning_of(item, WarningKind::kPersistentRef);
  ASSERT_NE(w, nullptr);
  // local:other-device comes back by sync: a new row, a new reference.
  EXPECT_NE(w->message.find("a new reference on local:other-device"), std::string::npos)
      << w->message;
  // local-encrypted:other-device comes back by the backup: renewed only when the kinds differ.
  const size_t by_sync = w->message.find("(the item is a new row there)");
  const size_t by_kind = w->message.find("when the backup carried an old-style reference");
  ASSERT_NE(by_sync, std::string::npos) << w->message;
  ASSERT_NE(by_kind, std::string::npos) << w->message;
  const std::string kind_dependent = w->message.substr(by_sync, by_kind - by_sync);
  EXPECT_NE(kind_dependent.find("local-encrypted:other-device"), std::string::npos) << w->message;
  EXPECT_NE(kind_dependent.find("quick-start:other-device"), std::string::npos) << w->message;
  EXPECT_NE(w->message.find("not public"), std::string::npos);
  EXPECT_NE(w->message.find("look the item up by its attributes"), std::string::npos);
  EXPECT_EQ(w->message.find("lost on"), std::string::npos) << w->message;  // nothing is lost
  EXPECT_FALSE(has_warning(item_named(report, "quiet"), WarningKind::kPersistentRef));

  const AuditReport lost =
      audit_of(R"({"items": [{"name": "t", "accessible": "aku", "stores_persistent_ref": true}]})");
  const Warning* gone = warning_of(lost.items[0], WarningKind::kPersistentRef);
  ASSERT_NE(gone, nullptr);
  EXPECT_NE(gone->message.find("lost on local:other-device"), std::string::npos) << gone->message;
}

// ---- The command: reads through the Env, prints one report whatever the document's form. ----

// Serves one file from memory and counts the reads; nothing else is needed by `audit`.
class OneFileEnv final : public Env {
 public:
  OneFileEnv(std::string path, std::string bytes) : path_(std::move(path)), bytes_(bytes) {}
  int reads = 0;

  Result<Bytes> read_file(const std::filesystem::path& path, size_t max_bytes) override {
    ++reads;
    if (path != path_) return Status::IOError(path.string() + ": open: does not exist");
    if (bytes_.size() > max_bytes) return Status::ResourceExhausted(path.string() + ": larger");
    return Bytes(bytes_.begin(), bytes_.end());
  }
  Status write_file(const std::filesystem::path&, ByteView) override { return refused(); }
  Status sync_file(const std::filesystem::path&) override { return refused(); }
  Status sync_dir(const std::filesystem::path&) override { return refused(); }
  Status rename(const std::filesystem::path&, const std::filesystem::path&) override {
    return refused();
  }
  Status remove(const std::filesystem::path&) override { return refused(); }
  Status create_dirs(const std::filesystem::path&) override { return refused(); }
  Result<std::vector<std::string>> list_dir(const std::filesystem::path&) override {
    return refused();
  }
  FileKind kind_of(const std::filesystem::path&) override { return FileKind::kOther; }

 private:
  static Status refused() { return Status::Unsupported("audit only reads"); }
  std::string path_;
  std::string bytes_;
};

struct CommandRun {
  Status status;
  std::string out;
  std::string err;
};

CommandRun run_command(Env& env, const std::string& path, const std::string& format = "json") {
  std::ostringstream out, err;
  cli::AuditOptions options;
  options.items_path = path;
  options.format = format;
  Status status = cli::run_audit(options, env, out, err);
  return {std::move(status), out.str(), err.str()};
}

CommandRun run_on_bytes(const std::string& bytes, const std::string& format = "json") {
  OneFileEnv env("items", bytes);
  CommandRun run = run_command(env, "items", format);
  EXPECT_EQ(env.reads, 1);
  return run;
}

TEST(AuditCommand, ReadsTheFileThroughTheEnv) {
  const CommandRun ok = run_on_bytes(R"({"items": [{"name": "a"}]})");
  EXPECT_TRUE(ok.status.ok()) << ok.status.to_string();
  EXPECT_EQ(cli::Json::parse(ok.out)["items"][0]["name"], "a");
  OneFileEnv env("items", "{}");
  const CommandRun missing = run_command(env, "other");
  EXPECT_EQ(missing.status.code(), Code::kIOError);
  EXPECT_TRUE(missing.out.empty());
}

TEST(AuditCommand, MissingFileIsAnIoError) {
  const CommandRun run = run_command(default_env(), "/nonexistent/kcb/items.json");
  EXPECT_EQ(run.status.code(), Code::kIOError);
  EXPECT_EQ(cli::exit_code_for(run.status), cli::kExitIOError);
  EXPECT_EQ(run.status.message().rfind("/nonexistent/kcb/items.json: open: ", 0), 0u)
      << run.status.message();
}

TEST(AuditCommand, AViolationIsCheckFailedAfterTheReport) {
  const CommandRun run = run_command(default_env(), source_path("examples/audit-banking-app.json"));
  EXPECT_EQ(run.status.code(), Code::kCheckFailed);
  EXPECT_EQ(cli::exit_code_for(run.status), cli::kExitCheckFailed);
  EXPECT_EQ(cli::Json::parse(run.out)["violation_count"], 1);
  EXPECT_TRUE(run.err.empty());
}

TEST(AuditCommand, TextAndMarkdownNameTheViolation) {
  const std::string path = source_path("examples/audit-banking-app.json");
  const CommandRun text = run_command(default_env(), path, "text");
  EXPECT_NE(text.out.find("VIOLATION  expected to survive icloud-backup:other-device"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("FAIL: 6 items, 1 violated expectation in 1 item"), std::string::npos);
  const CommandRun md = run_command(default_env(), path, "markdown");
  EXPECT_NE(md.out.find("| `refresh-token` | AfterFirstUnlock |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("**Violated expectations**"), std::string::npos);
}

TEST(AuditCommand, XmlAndBinaryPlistPrintTheSameReportAsJson) {
  const std::string xml = slurp(source_path("examples/audit-banking-app.plist"));
  const CommandRun json = run_on_bytes(slurp(source_path("examples/audit-banking-app.json")));
  for (const std::string& plist : {xml, binary_from_xml(xml)}) {
    const CommandRun run = run_on_bytes(plist);
    EXPECT_EQ(run.status.code(), json.status.code()) << run.status.to_string();
    EXPECT_EQ(run.out, json.out);
  }
}

}  // namespace
}  // namespace kcb
