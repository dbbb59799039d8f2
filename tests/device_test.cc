// Devices: SecItem add semantics (R8/R9 by mechanism), passcode removal, erase, persistence.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "kcbackup/device.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

NewItem item(Accessibility a, std::string account = "alice") {
  NewItem n;
  n.accessible = a;
  n.account = std::move(account);
  n.service = "svc";
  n.secret = SecretBytes(as_bytes("s3cret"));
  return n;
}

std::string account_of(const Item& it) {
  return std::string(it.account().begin(), it.account().end());
}

std::unique_ptr<Device> device(Random& r, bool passcode = true) {
  auto d = Device::create_in_memory({passcode, false, std::nullopt}, r);
  EXPECT_TRUE(d.ok()) << d.status().to_string();
  return std::move(d).value();
}

TEST(Device, AddedItemsAreReadableWithTheirTraits) {
  auto r = make_seeded_random(1);
  auto d = device(*r);
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlocked), *r).ok());
  NewItem key = item(Accessibility::kWhenUnlockedThisDeviceOnly);
  key.item_class = ItemClass::kKeys;
  key.token = Token::kSecureEnclave;
  ASSERT_TRUE(d->add(key, *r).ok());
  auto items = d->list();
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].item.secret(), SecretBytes(as_bytes("s3cret")));
  EXPECT_EQ(traits_of((*items)[1].item).token, Token::kSecureEnclave);
  EXPECT_EQ(traits_of((*items)[1].item).item_class, ItemClass::kKeys);
}

// kSecReturnPersistentRef: the reference add hands out is the one a listing shows for that row, of
// the device's kind (row id or UUID), and a refused add hands out none.
TEST(Device, AddReturnsTheRowsPersistentReference) {
  for (PersistentRefKind kind : {PersistentRefKind::kRowid, PersistentRefKind::kUuid}) {
    auto r = make_seeded_random(5);
    auto d = Device::create_in_memory({true, false, std::nullopt, kind}, *r);
    ASSERT_TRUE(d.ok());
    Bytes first, second, refused;
    ASSERT_TRUE((*d)->add(item(Accessibility::kWhenUnlocked, "a"), *r, &first).ok());
    ASSERT_TRUE((*d)->add(item(Accessibility::kAfterFirstUnlock, "b"), *r, &second).ok());
    EXPECT_FALSE((*d)->add(item(Accessibility::kWhenUnlocked, "a"), *r, &refused).ok());
    EXPECT_TRUE(refused.empty());
    auto listed = (*d)->list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[0].persistent_ref, first) << static_cast<int>(kind);
    EXPECT_EQ((*listed)[1].persistent_ref, second) << static_cast<int>(kind);
    EXPECT_NE(first, second);
    EXPECT_EQ(first.size(), kind == PersistentRefKind::kUuid ? 20u : 12u) << static_cast<int>(kind);
  }
}

TEST(Device, StreamedItemsCarryTheirCanonicalPlaintextAndSkipUnreadableRows) {
  auto r = make_seeded_random(2);
  auto d = device(*r);
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlocked, "a"), *r).ok());
  ASSERT_TRUE(d->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "b"), *r).ok());
  ASSERT_TRUE(d->add(item(Accessibility::kAfterFirstUnlock, "c"), *r).ok());
  std::vector<std::string> accounts;
  ASSERT_TRUE(d->for_each_item([&](int64_t, ByteView, Item& it, ByteView plaintext) {
                 auto encoded = it.encode();
                 EXPECT_TRUE(encoded.ok());
                 EXPECT_EQ(Bytes(plaintext.begin(), plaintext.end()),
                           Bytes(encoded->view().begin(), encoded->view().end()));
                 accounts.push_back(account_of(it));
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(accounts, (std::vector<std::string>{"a", "b", "c"}));
  // Passcode off: the akpu row and its class key are gone (R8); the walk sees the rest.
  ASSERT_TRUE(d->set_passcode(false, *r).ok());
  accounts.clear();
  ASSERT_TRUE(d->for_each_item([&](int64_t, ByteView, Item& it, ByteView) {
                 accounts.push_back(account_of(it));
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(accounts, (std::vector<std::string>{"a", "c"}));
}

TEST(Device, AddErrorsFollowSecItemAdd) {
  auto r = make_seeded_random(2);
  auto no_passcode = device(*r, false);
  auto akpu = no_passcode->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly), *r);
  EXPECT_EQ(sec_error_of(akpu.status()), AddError::kAuthFailed);

  auto d = device(*r);
  NewItem auth_sync = item(Accessibility::kWhenUnlocked);
  auth_sync.auth_constraint = true;
  auth_sync.synchronizable = true;
  EXPECT_EQ(sec_error_of(d->add(auth_sync, *r).status()), AddError::kParam);
  NewItem token_genp = item(Accessibility::kWhenUnlocked);
  token_genp.token = Token::kSecureEnclave;
  EXPECT_EQ(sec_error_of(d->add(token_genp, *r).status()), AddError::kParam);
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlocked), *r).ok());
  EXPECT_EQ(sec_error_of(d->add(item(Accessibility::kWhenUnlocked), *r).status()),
            AddError::kDuplicateItem);
}

KeychainRow row_of(Device& d, int64_t rowid) {
  auto row = DeviceInternals::store(d).get(ItemClass::kGenp, rowid);
  EXPECT_TRUE(row.ok()) << row.status().to_string();
  return row.ok() ? *row : KeychainRow{};
}

TEST(Device, UpdateChangesTheItemAndSealsItUnderItsNewClassKey) {
  auto r = make_seeded_random(6);
  auto d = device(*r);
  auto rowid = d->add(item(Accessibility::kWhenUnlocked), *r);
  ASSERT_TRUE(rowid.ok());
  const KeychainRow before = row_of(*d, *rowid);
  ItemUpdate changes;
  changes.accessible = Accessibility::kAfterFirstUnlockThisDeviceOnly;
  changes.secret = SecretBytes(as_bytes("n3w"));
  changes.label = "renamed";
  ASSERT_TRUE(d->update(ItemClass::kGenp, *rowid, changes, *r).ok());

  const KeychainRow after = row_of(*d, *rowid);
  EXPECT_EQ(after.pdmn, Accessibility::kAfterFirstUnlockThisDeviceOnly);
  EXPECT_EQ(after.labl, "renamed");
  EXPECT_EQ(after.cdat, before.cdat);
  auto blob = parse_blob(after.data);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->key_class, names_of(Accessibility::kAfterFirstUnlockThisDeviceOnly).key_class);
  auto items = d->list();
  ASSERT_EQ(items->size(), 1u);
  const Item& it = (*items)[0].item;
  EXPECT_EQ((*items)[0].rowid, *rowid);
  EXPECT_EQ(it.secret(), SecretBytes(as_bytes("n3w")));
  EXPECT_EQ(account_of(it), "alice");  // untouched fields keep their values
  EXPECT_EQ(it.accessibility(), Accessibility::kAfterFirstUnlockThisDeviceOnly);
}

TEST(Device, UpdateErrorsFollowSecItemUpdateAndChangeNothing) {
  auto r = make_seeded_random(7);
  auto d = device(*r, false);
  auto a = d->add(item(Accessibility::kWhenUnlocked, "a"), *r);
  NewItem constrained = item(Accessibility::kWhenUnlocked, "b");
  constrained.auth_constraint = true;
  auto b = d->add(constrained, *r);
  ASSERT_TRUE(a.ok() && b.ok());
  const KeychainRow a_before = row_of(*d, *a), b_before = row_of(*d, *b);

  ItemUpdate to_akpu;
  to_akpu.accessible = Accessibility::kWhenPasscodeSetThisDeviceOnly;
  EXPECT_EQ(sec_error_of(d->update(ItemClass::kGenp, *a, to_akpu, *r)), AddError::kAuthFailed);
  ItemUpdate to_sync;
  to_sync.synchronizable = true;
  EXPECT_EQ(sec_error_of(d->update(ItemClass::kGenp, *b, to_sync, *r)), AddError::kParam);
  ItemUpdate rename_to_a;
  rename_to_a.account = "a";
  EXPECT_EQ(sec_error_of(d->update(ItemClass::kGenp, *b, rename_to_a, *r)),
            AddError::kDuplicateItem);
  EXPECT_EQ(sec_error_of(d->update(ItemClass::kGenp, 99, rename_to_a, *r)),
            AddError::kItemNotFound);
  EXPECT_EQ(sec_error_of(d->remove(ItemClass::kGenp, 99)), AddError::kItemNotFound);
  EXPECT_EQ(row_of(*d, *a), a_before);
  EXPECT_EQ(row_of(*d, *b), b_before);
}

TEST(Device, PasscodeOffDeletesExactlyTheAkpuItems) {
  auto r = make_seeded_random(3);
  auto d = device(*r);
  ASSERT_TRUE(d->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "a"), *r).ok());
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlockedThisDeviceOnly, "b"), *r).ok());
  ASSERT_TRUE(d->set_passcode(false, *r).ok());
  auto items = d->list();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].item.accessibility(), Accessibility::kWhenUnlockedThisDeviceOnly);
  EXPECT_FALSE(DeviceInternals::class_keys(*d).is_unlocked(12));
  ASSERT_TRUE(d->set_passcode(true, *r).ok());
  EXPECT_TRUE(d->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, "c"), *r).ok());
}

TEST(Device, PasscodeOffCountsTheAkpuRowsItDeletes) {
  auto r = make_seeded_random(12);
  auto d = device(*r);
  for (const char* account : {"a", "b"})
    ASSERT_TRUE(d->add(item(Accessibility::kWhenPasscodeSetThisDeviceOnly, account), *r).ok());
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlocked, "c"), *r).ok());
  size_t deleted = 99;
  ASSERT_TRUE(d->set_passcode(true, *r, &deleted).ok());  // already on: nothing happens
  EXPECT_EQ(deleted, 0u);
  ASSERT_TRUE(d->set_passcode(false, *r, &deleted).ok());
  EXPECT_EQ(deleted, 2u);
  EXPECT_EQ(d->list()->size(), 1u);
  ASSERT_TRUE(d->set_passcode(true, *r, &deleted).ok());
  EXPECT_EQ(deleted, 0u);
}

TEST(Device, EraseEmptiesTheKeychainAndChangesClassKeysButKeepsTheUid) {
  auto r = make_seeded_random(4);
  auto d = device(*r);
  const std::string udid = d->unique_device_id();
  const SecretBytes old_key = *DeviceInternals::class_keys(*d).key_for(6);
  ASSERT_TRUE(d->add(item(Accessibility::kWhenUnlocked), *r).ok());
  ASSERT_TRUE(d->erase(*r).ok());
  EXPECT_TRUE(d->list()->empty());
  EXPECT_EQ(d->unique_device_id(), udid);
  EXPECT_FALSE(*DeviceInternals::class_keys(*d).key_for(6) == old_key);
}

TEST(Device, PersistsInADirectory) {
  auto r = make_seeded_random(5);
  const auto dir = std::filesystem::temp_directory_path() / "kcb_device_test";
  std::filesystem::remove_all(dir);
  std::string udid;
  {
    auto d = Device::create_at(default_env(), dir, {true, true, std::nullopt}, *r);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    ASSERT_TRUE((*d)->add(item(Accessibility::kAfterFirstUnlock), *r).ok());
    udid = (*d)->unique_device_id();
  }
  auto d = Device::open(default_env(), dir);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ((*d)->unique_device_id(), udid);
  EXPECT_TRUE((*d)->icloud_keychain());
  ASSERT_EQ((*d)->list()->size(), 1u);
  EXPECT_FALSE(Device::open(default_env(), dir / "nope").ok());
  d->reset();
  // A keychain file that went missing or empty is not an empty keychain.
  std::filesystem::resize_file(dir / "keychain-2.db", 0);
  EXPECT_EQ(Device::open(default_env(), dir).status().code(), Code::kCorruption);
  std::filesystem::remove(dir / "keychain-2.db");
  EXPECT_EQ(Device::open(default_env(), dir).status().code(), Code::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(dir / "keychain-2.db")) << "open created a fresh keychain";
  std::filesystem::remove_all(dir);
}

// `device init` builds only where nothing of anyone else's is (docs/reliability.md): a new or empty
// folder, or one an interrupted init left (its `init-pending` marker), which readers and writers
// refuse as no device and a second init empties. A finished device, a folder with other files, or
// an interrupted init's folder holding a subfolder it never makes, are left alone.
TEST(Device, InitBuildsOnlyInANewEmptyOrInterruptedInitFolder) {
  namespace fs = std::filesystem;
  auto r = make_seeded_random(8);
  const fs::path root = fs::temp_directory_path() / "kcb_device_init_test";
  fs::remove_all(root);
  const DeviceConfig config{true, false, std::nullopt};
  const fs::path made = root / "a" / "b" / "phone";  // missing parents made too
  ASSERT_TRUE(Device::create_at(default_env(), made, config, *r).ok());
  EXPECT_FALSE(fs::exists(made / "init-pending"));
  const Status twice = Device::create_at(default_env(), made, config, *r).status();
  EXPECT_EQ(twice.code(), Code::kAlreadyExists) << twice.to_string();

  const fs::path other = root / "other";
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "mine";
  EXPECT_EQ(Device::create_at(default_env(), other, config, *r).status().code(),
            Code::kAlreadyExists);
  EXPECT_TRUE(fs::exists(other / "notes.txt"));

  // What a crash after the uid file leaves: refused by a writer and by a reader, then replaced.
  const fs::path interrupted = root / "interrupted";
  fs::create_directories(interrupted);
  fs::copy_file(made / "uid", interrupted / "uid");
  std::ofstream(interrupted / "keybag.tmp") << "half";
  std::ofstream(interrupted / "init-pending") << "";
  for (const DeviceAccess access : {DeviceAccess::kReadWrite, DeviceAccess::kReadOnly}) {
    const Status refused = Device::open(default_env(), interrupted, {access}).status();
    EXPECT_EQ(refused.code(), Code::kIOError);
    EXPECT_EQ(refused.message(), interrupted.string() +
                                     ": not a device directory: its `kcbackup device init` did "
                                     "not finish (run it again on this directory)");
  }
  fs::create_directories(interrupted / "sub");
  const Status sub = Device::create_at(default_env(), interrupted, config, *r).status();
  EXPECT_EQ(sub.code(), Code::kAlreadyExists) << sub.to_string();
  EXPECT_NE(sub.message().find("sub: not made by `kcbackup device init`"), std::string::npos)
      << sub.to_string();
  fs::remove(interrupted / "sub");
  ASSERT_TRUE(Device::create_at(default_env(), interrupted, config, *r).ok());
  EXPECT_FALSE(fs::exists(interrupted / "keybag.tmp"));
  EXPECT_FALSE(fs::exists(interrupted / "init-pending"));
  auto d = Device::open(default_env(), interrupted, {DeviceAccess::kReadOnly});
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_TRUE((*d)->list()->empty());
  d->reset();
  fs::remove_all(root);
}

TEST(Device, SameUidGivesTheSameDeviceKeyAndUdid) {
  auto r = make_seeded_random(6);
  Bytes uid(32, 0x42);
  auto a = Device::create_in_memory({true, false, uid}, *r);
  auto b = Device::create_in_memory({true, false, uid}, *r);
  EXPECT_EQ((*a)->unique_device_id(), (*b)->unique_device_id());
  const ByteView key_a = DeviceInternals::device_key(**a);
  const ByteView key_b = DeviceInternals::device_key(**b);
  EXPECT_TRUE(std::equal(key_a.begin(), key_a.end(), key_b.begin(), key_b.end()));
}

// rows(): metadata of every row, readable or not, and nothing of the secret.
TEST(Device, RowsListEveryRowAsMetadataAndSayWhichAreReadable) {
  auto r = make_seeded_random(7);
  auto d = device(*r);
  NewItem a = item(Accessibility::kWhenUnlocked, "alice");
  a.access_group = "group.one";
  auto first = d->add(a, *r);
  ASSERT_TRUE(first.ok());
  NewItem web = item(Accessibility::kAfterFirstUnlock, "bob");
  web.item_class = ItemClass::kInet;
  ASSERT_TRUE(d->add(web, *r).ok());
  // A row sealed by another device: present in the store, not readable here.
  auto other = device(*r);
  Item foreign(ItemClass::kGenp, Accessibility::kWhenUnlocked, SecretBytes(as_bytes("x")));
  ASSERT_TRUE(foreign.set_account("carol").ok());
  auto blob = other->seal_item(foreign, *r);
  ASSERT_TRUE(blob.ok());
  ASSERT_TRUE(DeviceInternals::store(*d).insert(keychain_row_for(foreign, *blob)).ok());

  auto rows = d->rows();
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].item_class, ItemClass::kGenp);
  EXPECT_EQ((*rows)[0].rowid, *first);
  EXPECT_EQ((*rows)[0].account, Bytes(as_bytes("alice").begin(), as_bytes("alice").end()));
  EXPECT_EQ((*rows)[0].service, Bytes(as_bytes("svc").begin(), as_bytes("svc").end()));
  EXPECT_EQ((*rows)[0].access_group, "group.one");
  EXPECT_TRUE((*rows)[0].readable);
  EXPECT_EQ((*rows)[1].item_class, ItemClass::kGenp);
  EXPECT_FALSE((*rows)[1].readable);
  EXPECT_EQ((*rows)[2].item_class, ItemClass::kInet);
  EXPECT_TRUE((*rows)[2].readable);
  EXPECT_EQ(d->list()->size(), 2u);  // list() skips what rows() marks unreadable
}

TEST(ItemQuery, FindsOneRowByRowidOrByAccountAndServiceWithinItsClass) {
  auto r = make_seeded_random(11);
  auto d = device(*r);
  auto a = d->add(item(Accessibility::kWhenUnlocked, "a"), *r);
  NewItem twin = item(Accessibility::kWhenUnlocked, "a");  // same account and service, synced
  twin.synchronizable = true;
  auto b = d->add(twin, *r);
  NewItem elsewhere = item(Accessibility::kWhenUnlocked, "a");  // same account, other service
  elsewhere.service = "other";
  NewItem key = item(Accessibility::kWhenUnlocked, "k");
  key.item_class = ItemClass::kKeys;
  auto k = d->add(key, *r);
  ASSERT_TRUE(a.ok() && b.ok() && k.ok() && d->add(elsewhere, *r).ok());

  const auto by_rowid = find_row(*d, {ItemClass::kGenp, *b, "", ""});
  ASSERT_TRUE(by_rowid.ok()) << by_rowid.status().to_string();
  EXPECT_EQ(by_rowid->rowid, *b);
  EXPECT_EQ(by_rowid->persistent_ref, (*d->rows())[1].persistent_ref);
  EXPECT_EQ(find_row(*d, {ItemClass::kKeys, std::nullopt, "k", "svc"})->rowid, *k);
  const auto wrong_class = find_row(*d, {ItemClass::kGenp, std::nullopt, "k", "svc"});
  EXPECT_EQ(wrong_class.status().code(), Code::kNotFound);
  EXPECT_EQ(wrong_class.status().message(), "no genp item with account 'k' and service 'svc'");
  EXPECT_EQ(find_row(*d, {ItemClass::kInet, *k, "", ""}).status().message(),
            "no inet row " + std::to_string(*k));
  const auto both = find_row(*d, {ItemClass::kGenp, std::nullopt, "a", "svc"});
  EXPECT_EQ(both.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(both.status().message(), "account 'a' and service 'svc' match 2 genp rows (" +
                                         std::to_string(*a) + ", " + std::to_string(*b) + ")");
  // Bytes compared exactly: a prefix or an escaped form is another item.
  EXPECT_FALSE(find_row(*d, {ItemClass::kGenp, std::nullopt, "", "svc"}).ok());
  EXPECT_EQ(find_row(*d, {ItemClass::kGenp, std::nullopt, "a\n", "svc"}).status().message(),
            "no genp item with account 'a\\x0a' and service 'svc'");
}

TEST(ItemQuery, RefusalsNameTheCallAndTheOsStatusAndKeepTheirCode) {
  const Status dup = sec_item_refusal(Status::AlreadyExists("primary key"), "SecItemAdd");
  EXPECT_EQ(dup.code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.message(),
            "SecItemAdd refused the item: errSecDuplicateItem (-25299): primary key");
  EXPECT_EQ(sec_item_refusal(Status::NotFound("x"), "SecItemDelete").message(),
            "SecItemDelete refused the item: errSecItemNotFound (-25300): x");
  EXPECT_EQ(sec_item_refusal(Status::FailedPrecondition("x"), "SecItemUpdate").message(),
            "SecItemUpdate refused the item: errSecAuthFailed (-25293): x");
  // The store failing is not a refusal: no OSStatus, still an I/O error.
  const Status io = sec_item_refusal(Status::IOError("disk"), "SecItemAdd");
  EXPECT_EQ(io.code(), Code::kIOError);
  EXPECT_EQ(io.message(), "disk");
}

}  // namespace
}  // namespace kcb
