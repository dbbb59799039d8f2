// The iCloud Keychain road: only members read the account, opting out closes the road, and a new
// phone gets a synchronizable item back through sync when the backup cannot bring it.
#include <gtest/gtest.h>

#include "engine/icloud_keychain.h"
#include "kcbackup/backup.h"

namespace kcb {
namespace {

NewItem item(Accessibility a, std::string account, bool sync) {
  NewItem n;
  n.accessible = a;
  n.account = std::move(account);
  n.service = "svc";
  n.synchronizable = sync;
  n.secret = SecretBytes(as_bytes("secret-" + n.account));
  return n;
}

std::unique_ptr<Device> device(Random& r) {
  return std::move(Device::create_in_memory({true, false, std::nullopt}, r)).value();
}

bool has(Device& d, const std::string& account) {
  for (const auto& s : *d.list()) {
    if (std::string(s.item.account().begin(), s.item.account().end()) == account) return true;
  }
  return false;
}

TEST(IcloudKeychain, SyncableItemsReachOtherMembersOnly) {
  auto r = make_seeded_random(21);
  auto account = std::move(*CloudAccount::create("apple-id", *r));
  auto a = device(*r), b = device(*r), outsider = device(*r);
  ASSERT_TRUE(account.join(*a, "apple-id", *r).ok());
  ASSERT_TRUE(account.join(*b, "apple-id", *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "syncs", true), *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "local-only", false), *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlockThisDeviceOnly, "tdo", true), *r).ok());
  ASSERT_TRUE(account.sync(*a, *r).ok());
  ASSERT_TRUE(account.sync(*b, *r).ok());
  EXPECT_TRUE(has(*b, "syncs"));
  EXPECT_FALSE(has(*b, "local-only"));
  EXPECT_FALSE(has(*b, "tdo"));  // R6: device-bound classes never sync
  EXPECT_EQ(account.sync(*outsider, *r).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(account.join(*outsider, "wrong", *r).code(), Code::kPermissionDenied);
}

TEST(IcloudKeychain, LeavingClosesTheRoad) {
  auto r = make_seeded_random(22);
  auto account = std::move(*CloudAccount::create("apple-id", *r));
  auto a = device(*r), b = device(*r);
  ASSERT_TRUE(account.join(*a, "apple-id", *r).ok());
  ASSERT_TRUE(account.join(*b, "apple-id", *r).ok());
  ASSERT_TRUE(account.leave(*b).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kWhenUnlocked, "x", true), *r).ok());
  ASSERT_TRUE(account.sync(*a, *r).ok());
  EXPECT_FALSE(account.sync(*b, *r).ok());
  EXPECT_FALSE(has(*b, "x"));
  EXPECT_FALSE(b->icloud_keychain());
}

// The seed's first answer and its correction, in the simulator: restoring an iCloud backup onto a
// new phone loses the item through the backup, and iCloud Keychain brings it back when it is on.
TEST(IcloudKeychain, NewPhoneGetsTheItemThroughSyncNotThroughTheBackup) {
  auto r = make_seeded_random(23);
  auto account = std::move(*CloudAccount::create("apple-id", *r));
  auto old_phone = device(*r), new_phone = device(*r);
  ASSERT_TRUE(account.join(*old_phone, "apple-id", *r).ok());
  ASSERT_TRUE(old_phone->add(item(Accessibility::kWhenUnlocked, "token", true), *r).ok());
  ASSERT_TRUE(account.sync(*old_phone, *r).ok());
  auto bundle = make_backup(*old_phone, {Journey::kIcloudBackup, "", kFastKdf}, *r);
  ASSERT_TRUE(bundle.ok());
  auto report = restore_backup(*bundle, *new_phone, {}, *r);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_FALSE(report->items[0].restored);  // the UID layer keeps it off another phone
  EXPECT_FALSE(has(*new_phone, "token"));
  ASSERT_TRUE(account.join(*new_phone, "apple-id", *r).ok());
  EXPECT_TRUE(has(*new_phone, "token"));
}

}  // namespace
}  // namespace kcb
