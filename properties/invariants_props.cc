// Invariants: each rule of testing.md as its own property, checked on the engine alone (no
// prediction involved), so that a failure names the rule the engine broke.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <unistd.h>

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "kcbackup/backup.h"
#include "kcbackup/journey.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/persistent_ref.h"
#include "properties/generators.h"

namespace kcb {
namespace {

using harness::ItemSpec;

std::unique_ptr<Device> new_device(bool passcode, Random& random) {
  auto d = Device::create_in_memory({passcode, false, std::nullopt}, random);
  RC_ASSERT(d.ok());
  return std::move(d).value();
}

// Adds every spec; returns those the device accepted.
std::vector<ItemSpec> add_all(Device& d, const std::vector<ItemSpec>& specs, Random& r) {
  std::vector<ItemSpec> added;
  for (const ItemSpec& s : specs) {
    if (d.add(harness::new_item_of(s), r).ok()) added.push_back(s);
  }
  return added;
}

std::string account_of(const Item& item) {
  return std::string(item.account().begin(), item.account().end());
}

bool has_account(Device& d, const std::string& account) {
  auto listed = d.list();
  RC_ASSERT(listed.ok());
  return std::any_of(listed->begin(), listed->end(),
                     [&](const StoredItem& s) { return account_of(s.item) == account; });
}

std::string password_for(Journey j, const std::string& password) {
  return j == Journey::kLocalEncrypted || j == Journey::kQuickStart ? password : "";
}

// The readable keychain as comparable values: class, every attribute, secret. Sorted by class and
// account, because list() orders by row id, which a second restore legitimately renumbers.
std::vector<Item> readable(Device& d) {
  auto listed = d.list();
  RC_ASSERT(listed.ok());
  std::vector<Item> out;
  for (auto& s : *listed)
    out.push_back(std::move(s.item));
  std::stable_sort(out.begin(), out.end(), [](const Item& a, const Item& b) {
    return std::pair(a.item_class(), account_of(a)) < std::pair(b.item_class(), account_of(b));
  });
  return out;
}

// ThisDeviceOnly (classes 9-12) never reaches another device: not by a backup of any journey,
// whatever password the restore is given, not by Quick Start, not by iCloud Keychain (the journey
// runs as the agreement property runs it; kcbackup/journey.h).
RC_GTEST_PROP(Invariants, ThisDeviceOnlyNeverRestoresToAnotherDevice, ()) {
  harness::JourneyCase c;
  c.seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  c.journey = *props::gen_journey().as("journey");
  c.target = Target::kOtherDevice;
  c.password = *props::gen_password().as("backup password");
  if (!*rc::gen::arbitrary<bool>().as("restore with the right password")) {
    c.wrong_restore_password = *props::gen_wrong_password(c.password).as("restore password");
  }
  const bool sync_on = *rc::gen::arbitrary<bool>().as("iCloud Keychain on both");
  c.settings = {true, sync_on ? Switch::kOn : Switch::kOff};
  c.items = *props::gen_item_batch(1, 8).as("items");
  auto run = harness::run_journey_case(c);
  if (!run.ok()) RC_FAIL("engine failed on a valid run: " + run.status().to_string());
  const auto& on_target = run->target_accounts;
  for (size_t i = 0; i < c.items.size(); ++i) {
    const ItemSpec& s = c.items[i];
    if (run->add_errors[i] != AddError::kNone) continue;
    if (oracle::is_this_device_only(s.traits.accessible)) {
      RC_ASSERT(std::count(on_target.begin(), on_target.end(), s.account) == 0);
    }
  }
}

// akpu items, Secure Enclave keys and auth-constrained items never appear in any backup: the
// bundle is opened with the source's own keys and every item in it is looked at. Every other
// item is in it (so the property cannot pass by exporting nothing).
RC_GTEST_PROP(Invariants, AkpuTokenAndAuthItemsNeverInAnyBackup, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *rc::gen::element(Journey::kLocal, Journey::kLocalEncrypted,
                                            Journey::kIcloudBackup, Journey::kQuickStart)
                               .as("journey");
  const std::string password = *props::gen_password().as("password");
  const auto specs = *props::gen_item_batch(1, 10).as("items");
  auto source = new_device(true, *r);
  const auto added = add_all(*source, specs, *r);
  const std::string pw = password_for(journey, password);
  auto bundle = make_backup(*source, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  auto bag = parse_keybag(read_folder_manifest(*bundle)->backup_keybag);
  RC_ASSERT(bag.ok());
  const KeychainArchive archive = props::keychain_of(*bundle, *source, pw);
  RC_ASSERT(bag->find_class(names_of(Accessibility::kWhenPasscodeSetThisDeviceOnly).key_class) ==
            nullptr);
  auto keys = unlock_keybag(*bag, as_bytes(pw), DeviceInternals::device_key(*source));
  RC_ASSERT(keys.ok());
  std::vector<std::string> in_backup;
  for (ItemClass c : kAllItemClasses) {
    for (const ArchivedItem& a : archive.items[static_cast<size_t>(c)]) {
      auto parsed = parse_blob(a.blob);
      RC_ASSERT(parsed.ok());
      const SecretBytes* key = keys->key_for(parsed->key_class);
      RC_ASSERT(key != nullptr);
      auto plain = open_blob(*parsed, key->view());
      RC_ASSERT(plain.ok());
      auto item = Item::decode(c, plain->view());
      RC_ASSERT(item.ok());
      RC_ASSERT(item->accessibility() != Accessibility::kWhenPasscodeSetThisDeviceOnly);
      RC_ASSERT(!item->has_token());
      RC_ASSERT(!item->auth_constraint());
      in_backup.push_back(account_of(*item));
    }
  }
  size_t exportable = 0;
  for (const ItemSpec& s : added) {
    if (!oracle::is_exportable(s.traits)) continue;
    ++exportable;
    RC_ASSERT(std::count(in_backup.begin(), in_backup.end(), s.account) == 1);
  }
  RC_ASSERT(in_backup.size() == exportable);
}

// A password-less backup (local, icloud-backup) restores nothing onto another device: only
// iCloud Keychain could bring items there, and here it is off.
RC_GTEST_PROP(Invariants, PasswordlessBackupRestoresNothingToAnotherDevice, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *rc::gen::element(Journey::kLocal, Journey::kIcloudBackup).as("journey");
  const std::string given = *rc::gen::oneOf(rc::gen::just(std::string()), props::gen_password())
                                 .as("password given at restore");
  const auto specs = *props::gen_item_batch(1, 8).as("items");
  auto source = new_device(true, *r);
  auto target = new_device(true, *r);
  const auto added = add_all(*source, specs, *r);
  auto bundle = make_backup(*source, {journey, "", kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  auto report = restore_backup(*bundle, *target, {given, {}, {}}, *r);
  RC_ASSERT(report.ok());
  RC_ASSERT(report->restored_count() == 0u);
  for (const ItemSpec& s : added)
    RC_ASSERT(!has_account(*target, s.account));
}

// A wrong password restores nothing and leaves the target's store exactly as it was, row for row
// (encrypted data included), whether the target is the source itself or another device.
RC_GTEST_PROP(Invariants, WrongPasswordRestoresNothingAndChangesNothing, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const std::string password = *props::gen_password().as("password");
  const std::string wrong = *props::gen_wrong_password(password).as("wrong password");
  const bool same = *rc::gen::arbitrary<bool>().as("onto the source itself");
  const auto specs = *props::gen_item_batch(0, 8).as("items");
  const auto target_specs = *props::gen_item_batch(0, 4).as("target's own items");
  auto source = new_device(true, *r);
  add_all(*source, specs, *r);
  auto bundle = make_backup(*source, {Journey::kLocalEncrypted, password, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  std::unique_ptr<Device> other;
  Device* target = source.get();
  if (!same) {
    other = new_device(true, *r);
    std::vector<ItemSpec> own = target_specs;
    for (ItemSpec& s : own)
      s.account = "own-" + s.account;
    add_all(*other, own, *r);
    target = other.get();
  }
  auto before = DeviceInternals::store(*target).list_all();
  RC_ASSERT(before.ok());
  auto report = restore_backup(*bundle, *target, {wrong, {}, {}}, *r);
  RC_ASSERT(!report.ok());
  RC_ASSERT(report.status().code() == Code::kPermissionDenied);
  auto after = DeviceInternals::store(*target).list_all();
  RC_ASSERT(after.ok());
  RC_ASSERT(*after == *before);
}

// Turning the passcode off deletes exactly the akpu items: every other row stays, byte for byte.
RC_GTEST_PROP(Invariants, PasscodeOffDeletesExactlyTheAkpuItems, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const auto specs = *props::gen_item_batch(0, 12).as("items");
  auto d = new_device(true, *r);
  add_all(*d, specs, *r);
  auto before = DeviceInternals::store(*d).list_all();
  RC_ASSERT(before.ok());
  const auto readable_before = readable(*d);
  RC_ASSERT(d->set_passcode(false, *r).ok());
  auto after = DeviceInternals::store(*d).list_all();
  RC_ASSERT(after.ok());
  std::vector<KeychainRow> expected;
  for (const KeychainRow& row : *before) {
    if (!oracle::deleted_when_passcode_removed(Traits{row.pdmn})) expected.push_back(row);
  }
  RC_ASSERT(*after == expected);
  std::vector<Item> readable_expected;
  for (const Item& i : readable_before) {
    if (i.accessibility() != Accessibility::kWhenPasscodeSetThisDeviceOnly) {
      readable_expected.push_back(i);
    }
  }
  RC_ASSERT(readable(*d) == readable_expected);
}

// Restore is deterministic and idempotent: restoring one bundle twice gives the same readable
// keychain as restoring it once, and the same seed gives the same bundle bytes.
RC_GTEST_PROP(Invariants, RestoreIsDeterministicAndIdempotent, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  const Journey journey = *props::gen_backup_journey().as("journey");
  const bool same = *rc::gen::arbitrary<bool>().as("onto the source itself");
  const auto specs = *props::gen_item_batch(0, 8).as("items");
  const std::string password = "hunter2";
  std::map<std::string, Bytes, std::less<>> first_files;
  for (int run = 0; run < 2; ++run) {
    auto r = make_seeded_random(seed);
    auto source = new_device(true, *r);
    add_all(*source, specs, *r);
    auto bundle = make_backup(*source, {journey, password_for(journey, password), kFastKdf}, *r);
    RC_ASSERT(bundle.ok());
    // Every file of the folder, byte for byte.
    if (run == 0) {
      first_files = bundle->files;
    } else {
      RC_ASSERT(bundle->files == first_files);
    }
    std::unique_ptr<Device> other = same ? nullptr : new_device(true, *r);
    Device& target = same ? *source : *other;
    RC_ASSERT(restore_backup(*bundle, target, {password, {}, {}}, *r).ok());
    const auto once = readable(target);
    RC_ASSERT(restore_backup(*bundle, target, {password, {}, {}}, *r).ok());
    RC_ASSERT(readable(target) == once);
  }
}

Bytes file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool contains(const Bytes& hay, ByteView needle) {
  return !needle.empty() &&
         std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// A lost item leaves no trace in the target's keychain-2.db: neither its secret nor its (plaintext
// column) account, even on the same device where the item lived before the erase.
RC_GTEST_PROP(Invariants, LostItemsSecretsAppearNowhereInTheTargetDatabase, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>().as("seed");
  auto r = make_seeded_random(seed);
  const Journey journey = *props::gen_backup_journey().as("journey");
  const bool same = *rc::gen::arbitrary<bool>().as("onto the source itself (after an erase)");
  const auto specs = *props::gen_distinctive_batch(1, 8).as("items");
  const auto dir =
      std::filesystem::temp_directory_path() / ("kcb-props-" + std::to_string(::getpid()) + "-" +
                                                to_hex(props::distinctive_bytes(seed, 0, 4)));
  std::filesystem::remove_all(dir);
  struct Cleanup {
    std::filesystem::path p;
    ~Cleanup() { std::filesystem::remove_all(p); }
  } cleanup{dir};
  auto source = Device::create_at(default_env(), dir / "source", {true, false, std::nullopt}, *r);
  RC_ASSERT(source.ok());
  add_all(**source, specs, *r);
  const std::string password = "hunter2";
  auto bundle = make_backup(**source, {journey, password_for(journey, password), kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  std::unique_ptr<Device> target;
  std::filesystem::path db;
  if (same) {
    RC_ASSERT((*source)->erase(*r).ok());
    target = std::move(*source);
    db = dir / "source" / "keychain-2.db";
  } else {
    auto t = Device::create_at(default_env(), dir / "target", {true, false, std::nullopt}, *r);
    RC_ASSERT(t.ok());
    target = std::move(t).value();
    db = dir / "target" / "keychain-2.db";
  }
  RC_ASSERT(restore_backup(*bundle, *target, {password, {}, {}}, *r).ok());
  const Bytes file = file_bytes(db);
  RC_ASSERT(!file.empty());
  for (const ItemSpec& s : specs) {
    if (has_account(*target, s.account)) continue;  // restored: not lost
    RC_ASSERT(!contains(file, s.secret));
    RC_ASSERT(!contains(file, as_bytes(s.account)));
  }
  RC_TAG(same ? "same device" : "other device");
}

// ---- Issue 14: App Clips (R10), references (R11), conflicts (R13), tombstones (R15). ----

// Items that pass R1 and are neither an App Clip's nor tombstones: each property below sets those
// two traits itself.
rc::Gen<Traits> gen_r1_exportable_traits() {
  return rc::gen::map(
      rc::gen::suchThat(props::gen_addable_traits(true),
                        [](const Traits& t) {
                          return t.accessible != Accessibility::kWhenPasscodeSetThisDeviceOnly &&
                                 t.token == Token::kNone && !t.auth_constraint &&
                                 t.system_bound == SystemBound::kNone;
                        }),
      [](Traits t) {
        t.app_clip = false;
        t.tombstone = false;
        return t;
      });
}

// The accounts a bundle carries, decrypted with the source's own keys.
std::vector<std::string> accounts_in(const BackupFolder& bundle, const Device& source,
                                     const std::string& password) {
  auto bag = parse_keybag(read_folder_manifest(bundle)->backup_keybag);
  RC_ASSERT(bag.ok());
  auto keys = unlock_keybag(*bag, as_bytes(password), DeviceInternals::device_key(source));
  RC_ASSERT(keys.ok());
  const KeychainArchive archive = props::keychain_of(bundle, source, password);
  std::vector<std::string> out;
  for (ItemClass c : kAllItemClasses) {
    for (const ArchivedItem& a : archive.items[static_cast<size_t>(c)]) {
      auto parsed = parse_blob(a.blob);
      RC_ASSERT(parsed.ok());
      auto plaintext = open_blob(*parsed, keys->key_for(parsed->key_class)->view());
      RC_ASSERT(plaintext.ok());
      auto item = Item::decode(c, plaintext->view());
      RC_ASSERT(item.ok());
      out.push_back(account_of(*item));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// R10 (testAppClipDoesNotBackup): whatever the journey, a backup holds every exportable item an
// app added and none an App Clip added; Quick Start (the same export) moves none either.
RC_GTEST_PROP(Invariants, AppClipItemsNeverInAnyBackup, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *rc::gen::element(Journey::kLocal, Journey::kLocalEncrypted,
                                            Journey::kIcloudBackup, Journey::kQuickStart)
                               .as("journey");
  auto specs = *props::gen_item_batch(1, 8, gen_r1_exportable_traits()).as("items");
  const auto clip = *rc::gen::container<std::vector<bool>>(specs.size(), rc::gen::arbitrary<bool>())
                         .as("added by an App Clip");
  std::vector<std::string> expected;
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].traits.app_clip = clip[i];
    if (!clip[i]) expected.push_back(specs[i].account);
  }
  std::sort(expected.begin(), expected.end());
  auto source = new_device(true, *r);
  RC_ASSERT(add_all(*source, specs, *r).size() == specs.size());
  const std::string pw = password_for(journey, "hunter2");
  auto bundle = make_backup(*source, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  RC_ASSERT(accounts_in(*bundle, *source, pw) == expected);
  RC_TAG(std::string(name_of(journey)));
}

// R15 (testBackupTombstonesWhenSOSEnabled / ...AvoidsTombstonesWhenSOSDisabled): a backup holds
// the device's tombstones exactly while the device is in the SOS circle, and its live items
// always.
RC_GTEST_PROP(Invariants, TombstonesInABackupExactlyWhileSosIsOn, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *props::gen_backup_journey().as("journey");
  const bool sos = *rc::gen::arbitrary<bool>().as("SOS on");
  auto specs = *props::gen_item_batch(1, 8, gen_r1_exportable_traits()).as("items");
  const auto tomb = *rc::gen::container<std::vector<bool>>(specs.size(), rc::gen::arbitrary<bool>())
                         .as("tombstone");
  std::vector<std::string> expected;
  for (size_t i = 0; i < specs.size(); ++i) {
    specs[i].traits.tombstone = tomb[i];
    specs[i].traits.synchronizable = specs[i].traits.synchronizable || tomb[i];
    if (oracle::check_add(specs[i].traits, true) != AddError::kNone) {
      specs[i].traits.synchronizable = false;  // an auth constraint cannot sync; keep it plain
      specs[i].traits.tombstone = false;
    }
    if (!specs[i].traits.tombstone || sos) expected.push_back(specs[i].account);
  }
  std::sort(expected.begin(), expected.end());
  DeviceConfig config;
  config.sos = sos;
  auto source = Device::create_in_memory(config, *r);
  RC_ASSERT(source.ok());
  RC_ASSERT(add_all(**source, specs, *r).size() == specs.size());
  const std::string pw = password_for(journey, "hunter2");
  auto bundle = make_backup(**source, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  RC_ASSERT(accounts_in(*bundle, **source, pw) == expected);
  RC_TAG(sos ? "SOS on" : "SOS off");
}

// account -> persistent reference, as the device hands them out.
std::map<std::string, Bytes> references(Device& d) {
  auto listed = d.list();
  RC_ASSERT(listed.ok());
  std::map<std::string, Bytes> out;
  for (const StoredItem& s : *listed)
    out[account_of(s.item)] = s.persistent_ref;
  return out;
}

// R11 (testSecItemBackupAndRestoreWithPersistentRefs, ...OldStylePrefsAndAddUUIDPersistentRefs):
// back up, then delete every item or erase the device, then restore onto it: every reference an
// app stored resolves again — unless the device switched its kind of reference in between, and
// then every one is renewed. Rowids have gaps (items deleted before the backup), so a restore
// that numbered its rows afresh would not pass by luck.
RC_GTEST_PROP(Invariants, ARestoreBringsBackEveryReferenceUnlessTheDeviceSwitchedKind, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *props::gen_backup_journey().as("journey");
  const PersistentRefKind before_kind =
      *rc::gen::elementOf(
           std::vector(std::begin(kAllPersistentRefKinds), std::end(kAllPersistentRefKinds)))
           .as("kind at backup");
  const PersistentRefKind after_kind =
      *rc::gen::elementOf(
           std::vector(std::begin(kAllPersistentRefKinds), std::end(kAllPersistentRefKinds)))
           .as("kind at restore");
  const bool erase = *rc::gen::arbitrary<bool>().as("erase (else delete every item)");
  auto specs = *props::gen_item_batch(1, 8, gen_r1_exportable_traits()).as("items");
  for (ItemSpec& s : specs)
    s.traits.synchronizable = false;  // R13 has its own property
  DeviceConfig config;
  config.persistent_refs = before_kind;
  auto d = Device::create_in_memory(config, *r);
  RC_ASSERT(d.ok());
  Device& device = **d;
  for (size_t i = 0; i < specs.size(); ++i) {
    ItemSpec filler = specs[i];
    filler.account = "filler-" + std::to_string(i);
    auto gap = device.add(harness::new_item_of(filler), *r);
    RC_ASSERT(gap.ok());
    RC_ASSERT(device.add(harness::new_item_of(specs[i]), *r).ok());
    RC_ASSERT(device.remove(filler.traits.item_class, *gap).ok());
  }
  const auto before = references(device);
  const std::string pw = password_for(journey, "hunter2");
  auto bundle = make_backup(device, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  RC_ASSERT(device.set_persistent_refs(after_kind, *r).ok());
  if (erase) {
    RC_ASSERT(device.erase(*r).ok());
  } else {
    for (const StoredItem& s : *device.list())
      RC_ASSERT(device.remove(s.item.item_class(), s.rowid).ok());
  }
  auto report = restore_backup(*bundle, device, {pw, {}, {}}, *r);
  RC_ASSERT(report.ok());
  const auto after = references(device);
  RC_ASSERT(after.size() == before.size());
  for (const auto& [account, ref] : before) {
    RC_ASSERT(after.count(account) == 1u);
    const Bytes& now = after.at(account);
    RC_ASSERT(now.size() == (after_kind == PersistentRefKind::kUuid ? kUuidPersistentRefBytes
                                                                    : kRowidPersistentRefBytes));
    if (before_kind == after_kind) {
      RC_ASSERT(now == ref);
    } else {
      RC_ASSERT(now != ref);
    }
  }
  RC_TAG(std::string(name_of(before_kind)) + " -> " + std::string(name_of(after_kind)));
}

// R13 (testSecItemRestoreConflictedUUIDPersistentReferenceItems): synchronizable items updated on
// the device after its backup keep their data and their reference through a restore of that
// backup, and the report calls their backup versions kept; the report never calls lost an item
// that is on the device afterwards; `replaced` is what R7 really deleted.
RC_GTEST_PROP(Invariants, ACollisionWithASynchronizableItemKeepsTheDevicesItem, ()) {
  auto r = make_seeded_random(*rc::gen::arbitrary<uint64_t>().as("seed"));
  const Journey journey = *props::gen_backup_journey().as("journey");
  const PersistentRefKind kind = *rc::gen::elementOf(std::vector(std::begin(kAllPersistentRefKinds),
                                                                 std::end(kAllPersistentRefKinds)))
                                      .as("references");
  const auto specs = *props::gen_item_batch(1, 8, props::gen_addable_traits(true)).as("items");
  DeviceConfig config;
  config.persistent_refs = kind;
  auto d = Device::create_in_memory(config, *r);
  RC_ASSERT(d.ok());
  Device& device = **d;
  const auto added = add_all(device, specs, *r);
  const std::string pw = password_for(journey, "hunter2");
  auto bundle = make_backup(device, {journey, pw, kFastKdf}, *r);
  RC_ASSERT(bundle.ok());
  std::map<std::string, std::string> updated;  // account -> its new secret
  int64_t deletable = 0;
  for (const StoredItem& s : *device.list()) {
    const Traits t = traits_of(s.item);
    if (!t.synchronizable && t.system_bound == SystemBound::kNone) ++deletable;
    if (!t.synchronizable || !*rc::gen::arbitrary<bool>().as("update it locally")) continue;
    ItemUpdate change;
    const std::string secret = "updated " + account_of(s.item);
    change.secret = SecretBytes(as_bytes(secret));
    RC_ASSERT(device.update(s.item.item_class(), s.rowid, change, *r).ok());
    updated[account_of(s.item)] = secret;
  }
  const auto refs_before = references(device);
  auto report = restore_backup(*bundle, device, {pw, {}, {}}, *r);
  RC_ASSERT(report.ok());
  RC_ASSERT(report->replaced == deletable);
  const auto listed = *device.list();
  std::map<std::string, std::string> secrets_after;
  for (const StoredItem& s : listed) {
    secrets_after[account_of(s.item)] =
        std::string(s.item.secret().view().begin(), s.item.secret().view().end());
  }
  const auto refs_after = references(device);
  for (const auto& [account, secret] : updated) {
    RC_ASSERT(secrets_after.at(account) == secret);
    RC_ASSERT(refs_after.at(account) == refs_before.at(account));
  }
  for (const ItemFate& f : report->items) {
    const bool there = secrets_after.count(f.account) == 1;
    RC_ASSERT(f.outcome() != Outcome::kLost || !there);
    if (f.kept) RC_ASSERT(refs_after.at(f.account) == f.persistent_ref);
    if (updated.count(f.account)) RC_ASSERT(f.kept);
  }
  RC_TAG(updated.empty() ? "nothing updated" : "updated locally");
}

}  // namespace
}  // namespace kcb
