// Backup, restore and Quick Start through real cryptography: the seed's 12 measured rows come out
// of the engine, and every whole-restore failure leaves the target exactly as it was.
#include <gtest/gtest.h>

#include "engine/device_internals.h"
#include "input/property_list.h"
#include "kcbackup/backup.h"

namespace kcb {
namespace {

NewItem item(Accessibility a, std::string account) {
  NewItem n;
  n.accessible = a;
  n.account = std::move(account);
  n.service = "seed";
  n.secret = SecretBytes(as_bytes("secret-" + n.account));
  return n;
}

std::unique_ptr<Device> device(Random& r) {
  auto d = Device::create_in_memory({true, false, std::nullopt}, r);
  EXPECT_TRUE(d.ok());
  return std::move(d).value();
}

bool has_account(Device& d, const std::string& account) {
  for (const auto& s : *d.list()) {
    if (std::string(s.item.account().begin(), s.item.account().end()) == account) return true;
  }
  return false;
}

BackupOptions options(Journey j) {
  return {j, j == Journey::kLocalEncrypted ? "hunter2" : "", kFastKdf};
}

// The seed's experiment: each row is a real backup and a real restore.
TEST(Backup, ReproducesTheSeedsMeasuredTable) {
  struct Row {
    Journey journey;
    bool same_device;
    bool normal_restored;
    bool this_device_only_restored;
  } rows[] = {
      {Journey::kLocal, true, true, true},          {Journey::kLocal, false, false, false},
      {Journey::kLocalEncrypted, true, true, true}, {Journey::kLocalEncrypted, false, true, false},
      {Journey::kIcloudBackup, true, true, true},   {Journey::kIcloudBackup, false, false, false},
  };
  auto r = make_seeded_random(11);
  for (const Row& row : rows) {
    auto a = device(*r);
    ASSERT_TRUE(a->add(item(Accessibility::kWhenUnlocked, "normal"), *r).ok());
    ASSERT_TRUE(a->add(item(Accessibility::kWhenUnlockedThisDeviceOnly, "tdo"), *r).ok());
    auto bundle = make_backup(*a, options(row.journey), *r);
    ASSERT_TRUE(bundle.ok()) << bundle.status().to_string();
    std::unique_ptr<Device> other;
    Device* target = a.get();
    if (row.same_device) {
      ASSERT_TRUE(a->erase(*r).ok());
    } else {
      other = device(*r);
      target = other.get();
    }
    auto report = restore_backup(*bundle, *target, {"hunter2", {}}, *r);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(has_account(*target, "normal"), row.normal_restored);
    EXPECT_EQ(has_account(*target, "tdo"), row.this_device_only_restored);
    EXPECT_EQ(report->items.size(), 2u);
  }
}

TEST(Backup, ExportFilterKeepsAkpuTokenAuthAndSystemBoundItemsOut) {
  auto r = make_seeded_random(12);
  auto a = device(*r);
  ASSERT_TRUE(a->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "akpu"), *r).ok());
  NewItem se = item(Accessibility::kWhenUnlockedThisDeviceOnly, "se");
  se.item_class = ItemClass::kKeys;
  se.token = Token::kSecureEnclave;
  ASSERT_TRUE(a->add(se, *r).ok());
  NewItem auth = item(Accessibility::kWhenUnlocked, "auth");
  auth.auth_constraint = true;
  ASSERT_TRUE(a->add(auth, *r).ok());
  NewItem sysb = item(Accessibility::kWhenUnlocked, "sysb");
  sysb.system_bound = true;
  ASSERT_TRUE(a->add(sysb, *r).ok());
  NewItem sync = item(Accessibility::kWhenUnlocked, "sync");
  sync.synchronizable = true;
  ASSERT_TRUE(a->add(sync, *r).ok());
  auto bundle = make_backup(*a, options(Journey::kLocal), *r);
  ASSERT_TRUE(bundle.ok());
  size_t total = 0;
  for (const auto& v : bundle->archive.items)
    total += v.size();
  EXPECT_EQ(total, 1u);  // only the synchronizable item
}

TEST(Backup, SameSeedGivesByteIdenticalBundles) {
  Bytes first;
  for (int run = 0; run < 2; ++run) {
    auto r = make_seeded_random(13);
    auto a = device(*r);
    ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "x"), *r).ok());
    auto bundle = make_backup(*a, options(Journey::kLocalEncrypted), *r);
    ASSERT_TRUE(bundle.ok());
    Bytes bytes = write_keychain_archive(bundle->archive);
    const Bytes manifest = write_manifest(bundle->manifest);
    bytes.insert(bytes.end(), manifest.begin(), manifest.end());
    if (run == 0)
      first = bytes;
    else
      EXPECT_EQ(bytes, first);
  }
}

struct Fixture {
  std::unique_ptr<Random> r = make_seeded_random(14);
  std::unique_ptr<Device> source = device(*r);
  std::unique_ptr<Device> target = device(*r);
  Bundle bundle;
  Fixture() {
    EXPECT_TRUE(source->add(item(Accessibility::kAfterFirstUnlock, "a"), *r).ok());
    EXPECT_TRUE(source->add(item(Accessibility::kAlways, "b"), *r).ok());
    EXPECT_TRUE(target->add(item(Accessibility::kWhenUnlocked, "already-here"), *r).ok());
    bundle = *make_backup(*source, options(Journey::kLocalEncrypted), *r);
  }
  std::vector<KeychainRow> target_rows() { return *DeviceInternals::store(*target).list_all(); }
};

TEST(Restore, WrongOrMissingPasswordRestoresNothingAndChangesNothing) {
  Fixture f;
  const auto before = f.target_rows();
  auto wrong = restore_backup(f.bundle, *f.target, {"hunter3", {}}, *f.r);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(restore_backup(f.bundle, *f.target, {"", {}}, *f.r).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(f.target_rows(), before);
}

TEST(Restore, KeybagUuidMismatchFailsTheWholeRestore) {
  Fixture f;
  const auto before = f.target_rows();
  f.bundle.archive.keybag_uuid = "00000000-0000-0000-0000-000000000000";
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}}, *f.r);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("keybag-uuid"), std::string::npos);
  EXPECT_EQ(f.target_rows(), before);
}

TEST(Restore, AManifestClaimingNoEncryptionOverAPasswordOnlyClassIsCorrupt) {
  Fixture f;
  const auto before = f.target_rows();
  f.bundle.manifest.is_encrypted = false;
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}}, *f.r);
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().to_string();
  EXPECT_NE(r.status().message().find("IsEncrypted is false"), std::string::npos);
  EXPECT_EQ(f.target_rows(), before);
}

TEST(Restore, ReplacesNonSynchronizableItemsAndReportsEachFate) {
  Fixture f;
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}}, *f.r);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->replaced, 1);
  EXPECT_EQ(r->restored_count(), 2u);
  EXPECT_FALSE(has_account(*f.target, "already-here"));
  EXPECT_TRUE(has_account(*f.target, "a"));
}

// A flipped ciphertext bit under a class key that unwraps the item key is corruption; a flipped
// wrapped-key bit looks exactly like a wrong class key. Either way the item goes alone.
TEST(Restore, AFlippedBitInOneBlobDropsThatItemAloneWithItsReason) {
  const std::pair<size_t, LossReason> cases[] = {{60, LossReason::kCorrupt},
                                                 {20, LossReason::kClassKeyUnavailable}};
  for (const auto& [offset, reason] : cases) {
    Fixture f;
    f.bundle.archive.items[0][0].blob[offset] ^= 0x01;
    auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}}, *f.r);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_FALSE(r->items[0].restored);
    EXPECT_EQ(r->items[0].reason, reason) << "offset " << offset << ": " << r->items[0].detail;
    EXPECT_TRUE(r->items[1].restored);
  }
}

TEST(Restore, ARetaggedKeyClassIsNotRestored) {
  Fixture f;
  // Claim class 6 for an item sealed under class 7: its key will not open under class 6's key.
  f.bundle.archive.items[0][0].blob[4] = 6;
  auto r = restore_backup(f.bundle, *f.target, {"hunter2", {}}, *f.r);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->items[0].restored);
}

TEST(QuickStart, MovesMigratoryItemsOnly) {
  auto r = make_seeded_random(15);
  auto a = device(*r);
  auto b = device(*r);
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlock, "moves"), *r).ok());
  ASSERT_TRUE(a->add(item(Accessibility::kAfterFirstUnlockThisDeviceOnly, "stays"), *r).ok());
  auto report = quick_start(*a, *b, kFastKdf, *r);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(has_account(*b, "moves"));
  EXPECT_FALSE(has_account(*b, "stays"));
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_FALSE(report->items[1].restored);
  EXPECT_EQ(report->items[1].header_key_class, 10u);  // named by the header though not decoded
}

TEST(QuickStart, RefusesATargetWithTheSameUid) {
  auto r = make_seeded_random(16);
  const Bytes uid(32, 0x42);
  auto a = Device::create_in_memory({true, false, uid}, *r);
  auto copy = Device::create_in_memory({true, false, uid}, *r);
  ASSERT_TRUE(a.ok() && copy.ok());
  ASSERT_TRUE((*a)->add(item(Accessibility::kAfterFirstUnlockThisDeviceOnly, "stays"), *r).ok());
  auto report = quick_start(**a, **copy, kFastKdf, *r);
  EXPECT_EQ(report.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(has_account(**copy, "stays"));
}

// The public unlock names a device and never hands out its key: without one, the classes with
// the device layer stay locked; with the source they open; with another device they "open" to a
// wrong key (the CBC layer cannot tell), which the items' own unwrap then refuses.
TEST(Backup, UnlockingABackupKeybagTakesADeviceNotItsKey) {
  auto r = make_seeded_random(15);
  auto source = device(*r);
  auto bundle = make_backup(*source, options(Journey::kLocalEncrypted), *r);
  ASSERT_TRUE(bundle.ok());
  auto bag = parse_keybag(bundle->manifest.backup_keybag);
  ASSERT_TRUE(bag.ok());
  const ByteView password = as_bytes(options(Journey::kLocalEncrypted).password);

  auto alone = unlock_keybag_for(*bag, password, nullptr);
  ASSERT_TRUE(alone.ok()) << alone.status().to_string();
  EXPECT_TRUE(alone->is_unlocked(6));   // WRAP 2: the password alone
  EXPECT_FALSE(alone->is_unlocked(9));  // WRAP 3: needs the device layer too
  auto with_source = unlock_keybag_for(*bag, password, source.get());
  ASSERT_TRUE(with_source.ok());
  EXPECT_TRUE(with_source->is_unlocked(9));
  const auto reference = unlock_keybag(*bag, password, DeviceInternals::device_key(*source));
  ASSERT_TRUE(reference.ok());
  EXPECT_TRUE(*with_source->key_for(9) == *reference->key_for(9));

  auto key = derive_password_key(*bag, password);
  ASSERT_TRUE(key.ok());
  auto by_key = unlock_keybag_with_password_key_for(*bag, key->view(), source.get());
  ASSERT_TRUE(by_key.ok());
  EXPECT_TRUE(*by_key->key_for(9) == *reference->key_for(9));
  EXPECT_EQ(unlock_keybag_for(*bag, as_bytes("wrong"), source.get()).status().code(),
            Code::kPermissionDenied);
}

}  // namespace
}  // namespace kcb
