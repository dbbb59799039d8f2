// The commands' reports (render/): what a restore, a backup and a simulation say, in text and
// JSON, straight from the library's result types, without a device or a command line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcbackup/backup_render.h"
#include "kcbackup/render.h"

namespace kcb::render {
namespace {

using json = nlohmann::ordered_json;

ItemFate fate(std::string account, bool restored, bool kept, Bytes backup_ref, Bytes now_ref) {
  ItemFate f;
  f.account = std::move(account);
  f.service = "svc";
  f.accessible = Accessibility::kWhenUnlocked;
  f.restored = restored;
  f.kept = kept;
  f.backup_ref = std::move(backup_ref);
  f.persistent_ref = std::move(now_ref);
  return f;
}

// Three items: restored with its reference, kept by R13 with a new one, lost (did not decode; the
// blob header names class 6).
RestoreReport three_fates() {
  RestoreReport r;
  r.items.push_back(fate("same", true, false, {1, 2}, {1, 2}));
  r.items.push_back(fate("kept", false, true, {3}, {4}));
  ItemFate lost = fate("lost", false, false, {5}, {});
  lost.accessible.reset();
  lost.header_key_class = 6;
  lost.reason = LossReason::kNoClassKey;
  lost.detail = "no key";
  r.items.push_back(lost);
  r.replaced = 2;
  r.warnings = {"odd\x1b[31m"};
  return r;
}

TEST(RenderRestore, JsonSaysEachItemsOutcomeAndWhatBecameOfItsReference) {
  const json doc = json::parse(restore_report("restore", {{"backup", "B"}, {"device", "D"}},
                                              three_fates(), {Format::kJson, false}));
  EXPECT_EQ(doc["schema"], "kcbackup.restore.v1");
  EXPECT_EQ(doc["backup"], "B");
  EXPECT_EQ(doc["device"], "D");
  const json& items = doc["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["outcome"], "restored");
  EXPECT_EQ(items[0]["reference"], "kept");
  EXPECT_EQ(items[0]["persistent_ref_hex"], "0102");
  EXPECT_EQ(items[1]["outcome"], "kept");
  EXPECT_EQ(items[1]["reference"], "renewed");
  EXPECT_EQ(items[2]["outcome"], "lost");
  EXPECT_EQ(items[2]["reference"], "none");
  EXPECT_EQ(items[2]["accessible_from"], "blob-header");
  EXPECT_EQ(items[2]["detail"], "no key");
  EXPECT_FALSE(items[2].contains("persistent_ref_hex"));
  EXPECT_EQ(doc["restored"], 1);
  EXPECT_EQ(doc["kept"], 1);
  EXPECT_EQ(doc["replaced"], 2);
  EXPECT_EQ(doc["warnings"][0], "odd\x1b[31m");  // JSON escapes it; the text must not carry it
}

TEST(RenderRestore, TextCountsTheFatesAndShowsNoControlCharacterOfTheBackup) {
  const std::string text = restore_report("restore", {}, three_fates(), {Format::kText, false});
  EXPECT_NE(text.find("1 of 3 item(s) restored, 1 kept (the device's own synchronizable version "
                      "stays, R13); 2 item(s) already on the device were replaced (R7)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lost: no class key in the backup"), std::string::npos) << text;
  EXPECT_NE(text.find("* from the blob header: the item did not decode"), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "no colour asked, and the warning escaped";
  const std::string coloured = restore_report("restore", {}, three_fates(), {Format::kText, true});
  EXPECT_NE(coloured.find("\x1b[32mrestored\x1b[0m"), std::string::npos) << coloured;
  EXPECT_NE(coloured.find("\x1b[33mkept\x1b[0m"), std::string::npos) << coloured;
}

TEST(RenderBackup, SaysWhichItemsTheExportFilterLeftOnTheDevice) {
  BackupSummary summary;
  summary.items = 3;
  summary.left_on_device.push_back({ItemClass::kGenp, 7, "a", "s", "R1", "never leaves"});
  const BackupWritten written{"OUT", Journey::kLocalEncrypted, true, true, "UDID", 9};
  const std::string text = backup_report(written, summary, Format::kText);
  EXPECT_EQ(text,
            "Wrote OUT (local-encrypted, encrypted, FAST KDF: protects nothing): 3 item(s) backed "
            "up, 1 left on the device by the export filter (R1, R10, R15)\n  left: genp row 7 a / "
            "s: R1, never leaves\n");
  const json doc = json::parse(backup_report(written, summary, Format::kJson));
  EXPECT_EQ(doc["left_on_device"], 1);
  EXPECT_EQ(doc["left_on_device_items"][0]["row"], 7);
  EXPECT_EQ(doc["files"], 9);
}

TEST(RenderSimulate, FinalTextMarksDisagreementAndEmptyKeychains) {
  const harness::Holdings holdings = {{"old", {"a", "b"}}, {"new", {}}};
  EXPECT_EQ(simulate_final_text(holdings, false),
            "\nFinal keychains (oracle = engine except where marked NO):\n  old: a, b\n  new: "
            "(empty)\n");
  const json doc = json::parse(simulate_json("s.json", {{1, {"step one", {}}, holdings}}, true));
  EXPECT_EQ(doc["steps"][0]["devices"]["old"][1], "b");
  EXPECT_EQ(doc["agree"], true);
}

}  // namespace
}  // namespace kcb::render
