// harness/backup_report.cc on folders made in memory: what each key source opens, the engine's
// unwrap per target beside the oracle, a --device that is not the source, and
// the access-group filter audit --backup uses; plus the audit side (audit_input_of_found).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "kcbackup/audit.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_report.h"
#include "kcbackup/device.h"
#include "kcbackup/kdf.h"

namespace kcb {
namespace {

NewItem item(std::string account, Accessibility a, std::string group = "TEAM.app") {
  NewItem n;
  n.account = std::move(account);
  n.service = "svc";
  n.accessible = a;
  n.access_group = std::move(group);
  n.secret = SecretBytes(as_bytes("s"));
  return n;
}

struct Fixture {
  std::unique_ptr<Random> random = make_seeded_random(7);
  std::unique_ptr<Device> source;
  BackupFolder folder;

  explicit Fixture(Journey journey) {
    source = std::move(Device::create_in_memory({}, *random)).value();
    EXPECT_TRUE(source->add(item("a", Accessibility::kWhenUnlocked), *random).ok());
    EXPECT_TRUE(
        source->add(item("b", Accessibility::kAfterFirstUnlockThisDeviceOnly), *random).ok());
    EXPECT_TRUE(source->add(item("c", Accessibility::kWhenUnlocked, "TEAM.other"), *random).ok());
    BackupOptions options;
    options.journey = journey;
    if (journey == Journey::kLocalEncrypted) options.password = "pw";
    options.kdf = kFastKdf;
    auto made = make_backup(*source, options, *random);
    EXPECT_TRUE(made.ok()) << made.status().to_string();
    folder = std::move(*made);
  }

  Result<BackupReport> report(const Device* device, std::string password = "pw") {
    BackupOpenOptions open;
    open.password = password;
    open.device = device;
    KCB_ASSIGN_OR_RETURN(OpenedBackup backup, OpenedBackup::open(folder, open));
    BackupReportOptions options;
    options.device = device;
    options.password = password;
    return report_backup(backup, options, *random);
  }
};

const ReportedItem* find(const BackupReport& r, std::string_view account) {
  for (const ReportedItem& i : r.items) {
    if (i.decoded && std::string_view(reinterpret_cast<const char*>(i.account.data()),
                                      i.account.size()) == account)
      return &i;
  }
  return nullptr;
}

TEST(BackupReport, EncryptedWithoutTheDeviceLeavesThisDeviceOnlyUnknownHereAndLostElsewhere) {
  Fixture f(Journey::kLocalEncrypted);
  auto r = f.report(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->journey, Journey::kLocalEncrypted);
  EXPECT_TRUE(r->encrypted);
  ASSERT_EQ(r->items.size(), 3u);
  EXPECT_EQ(r->undecoded_count(), 1u);
  const ReportedItem* a = find(*r, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->engine_same.state, UnwrapState::kUnwraps);
  EXPECT_EQ(a->engine_other.state, UnwrapState::kUnwraps);
  ASSERT_TRUE(a->oracle_other.has_value());
  EXPECT_EQ(a->oracle_other->outcome, Outcome::kRestored);
  for (const ReportedItem& i : r->items) {
    if (i.decoded) continue;
    EXPECT_TRUE(i.traits_from_header);
    EXPECT_EQ(i.traits->accessible, Accessibility::kAfterFirstUnlockThisDeviceOnly);
    EXPECT_EQ(i.engine_same.state, UnwrapState::kUnknown);
    EXPECT_EQ(i.engine_other.state, UnwrapState::kDoesNotOpen);
    EXPECT_EQ(i.oracle_other->outcome, Outcome::kLost);
  }
  for (const ReportedClass& c : r->classes)
    EXPECT_EQ(c.opens_with_password_alone, c.class_number != 5 && c.class_number < 9);
}

TEST(BackupReport, TheSourceDeviceOpensEverythingHereAndAnotherDeviceIsSaid) {
  Fixture f(Journey::kLocal);
  auto with_source = f.report(f.source.get(), "");
  ASSERT_TRUE(with_source.ok()) << with_source.status().to_string();
  EXPECT_EQ(with_source->undecoded_count(), 0u);
  EXPECT_TRUE(with_source->warnings.empty());
  for (const ReportedItem& i : with_source->items) {
    EXPECT_EQ(i.engine_same.state, UnwrapState::kUnwraps);
    // R2: an unencrypted backup's keychain needs the source device's key everywhere.
    EXPECT_EQ(i.engine_other.state, UnwrapState::kDoesNotOpen);
    EXPECT_EQ(i.oracle_other->outcome, Outcome::kLost);
  }
  auto stranger = std::move(Device::create_in_memory({}, *f.random)).value();
  auto with_stranger = f.report(stranger.get(), "");
  ASSERT_TRUE(with_stranger.ok());
  ASSERT_FALSE(with_stranger->warnings.empty());
  EXPECT_NE(with_stranger->warnings[0].find("not this backup's source"), std::string::npos);
  EXPECT_EQ(with_stranger->items[0].engine_same.state, UnwrapState::kDoesNotOpen);
}

TEST(BackupReport, TheAccessGroupFilterAndTheAuditInput) {
  Fixture f(Journey::kLocalEncrypted);
  auto r = f.report(f.source.get());
  ASSERT_TRUE(r.ok());
  const auto group = items_of_access_group(*r, "TEAM.app");
  ASSERT_EQ(group.size(), 2u);
  std::vector<FoundItem> found;
  for (const ReportedItem* i : group)
    found.push_back({i->account, i->service, *i->traits});
  found.push_back(found[0]);  // the same name twice: made unique
  auto input = audit_input_of_found(found);
  ASSERT_TRUE(input.ok());
  ASSERT_EQ(input->items.size(), 3u);
  EXPECT_EQ(input->items[0].name, "a @ svc");
  EXPECT_EQ(input->items[2].name, "a @ svc #2");
  EXPECT_EQ(input->items[1].traits.accessible, Accessibility::kAfterFirstUnlockThisDeviceOnly);
  EXPECT_EQ(input->items[0].accessible_from, AccessibleFrom::kExplicit);
  EXPECT_TRUE(items_of_access_group(*r, "TEAM.none").empty());
  std::vector<FoundItem> many(kMaxAuditItems + 1, found[0]);
  EXPECT_EQ(audit_input_of_found(many).status().code(), Code::kResourceExhausted);
}

// What `audit --backup` offers when the group asked for has no item: each decoded item's group,
// once, sorted; an item that did not decode has no known group.
TEST(BackupReport, DecodedAccessGroupsAreSortedOnceEach) {
  BackupReport report;
  for (const auto& [group, decoded] :
       {std::pair{"TEAM.z", true}, std::pair{"TEAM.a", true}, std::pair{"TEAM.z", true},
        std::pair{"TEAM.hidden", false}}) {
    ReportedItem item;
    item.access_group = group;
    item.decoded = decoded;
    report.items.push_back(item);
  }
  EXPECT_EQ(decoded_access_groups(report), (std::vector<std::string>{"TEAM.a", "TEAM.z"}));
  Fixture f(Journey::kLocalEncrypted);
  auto r = f.report(f.source.get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(decoded_access_groups(*r), (std::vector<std::string>{"TEAM.app", "TEAM.other"}));
}

TEST(BackupReport, ProtectionClassNames) {
  EXPECT_EQ(protection_class_name(1), "Complete");
  EXPECT_EQ(protection_class_name(3), "CompleteUntilFirstUserAuthentication");
  EXPECT_EQ(protection_class_name(9), "WhenUnlockedThisDeviceOnly");
  EXPECT_EQ(protection_class_name(5), "");
  EXPECT_EQ(protection_class_name(12), "");
  EXPECT_EQ(protection_class_text(4), "4 None");
  EXPECT_EQ(protection_class_text(40), "40");
}

}  // namespace
}  // namespace kcb
