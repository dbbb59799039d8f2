#include "kcbackup/backup.h"

#include <cctype>
#include <set>
#include <utility>

#include "engine/backup_bag.h"
#include "engine/blob.h"
#include "engine/device_internals.h"
#include "engine/folder_writer.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "engine/manifest_db.h"
#include "kcbackup/names.h"
#include "kcbackup/persistent_ref.h"
#include "kcbackup/utf8.h"

namespace kcb {
namespace {

// File classes 1-5 and keychain classes 6-11: akpu (12) never has a key in a backup bag.
constexpr uint32_t kFirstBackupClass = 1;
constexpr uint32_t kLastBackupClass = 11;
constexpr uint32_t kLastPasswordOnlyFileClass = 4;  // class 5 keeps the device layer
constexpr uint32_t kFirstKeychainClass = 6;
constexpr uint32_t kFirstThisDeviceOnlyClass = 9;

// A password-less bag derives from the empty password: there is nothing to protect, so the count
// is nominal (formats.md).
constexpr KeybagKdf kPasswordlessKdf{1, false, 0};

bool is_encrypted_journey(Journey j) {
  return j == Journey::kLocalEncrypted || j == Journey::kQuickStart;
}

// formats.md's table, as real backups have it. Classes 1-4 are password-only either way (an
// unencrypted backup's files are not encrypted at all); class 5 always keeps the device layer.
// R2/R4: a password-less backup keeps the source device's layer on every keychain class; R3/R5:
// with a password, only ThisDeviceOnly classes (9-11) keep it.
uint32_t backup_wrap(Journey journey, uint32_t class_number) {
  if (class_number <= kLastPasswordOnlyFileClass) return kWrapPassword;
  if (class_number < kFirstKeychainClass || !is_encrypted_journey(journey)) {
    return kWrapDevice | kWrapPassword;
  }
  return class_number >= kFirstThisDeviceOnlyClass ? kWrapDevice | kWrapPassword : kWrapPassword;
}

// What Lockdown would say of the simulated phone: one model and system, its own UDID and a serial
// number derived from it.
LockdownInfo lockdown_of(const Device& source) {
  LockdownInfo l;
  l.unique_device_id = source.unique_device_id();
  l.product_type = "iPhone15,2";
  l.product_version = "17.5";
  l.build_version = "21F79";
  l.device_name = "kcbackup simulated iPhone";
  std::string serial = source.unique_device_id().substr(0, 12);
  for (char& ch : serial)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  l.serial_number = serial;
  return l;
}

// The query Apple's export runs, as the rule that keeps each item home: R1, these items never
// leave the device; R10, App Clip items neither; R15, tombstones leave it only while it is in the
// legacy sync circle (SOS). nullopt: the item goes into the backup.
std::optional<std::pair<const char*, const char*>> export_exclusion(const Item& item, bool sos) {
  if (item.accessibility() == Accessibility::kWhenPasscodeSetThisDeviceOnly) {
    return std::pair{"R1", "WhenPasscodeSetThisDeviceOnly never leaves the device"};
  }
  if (item.has_token()) return std::pair{"R1", "a Secure Enclave key never leaves the device"};
  if (item.auth_constraint()) {
    return std::pair{"R1", "an access-control constraint keeps it on the device"};
  }
  if (item.system_bound()) return std::pair{"R1", "system-bound: a backup never carries it"};
  if (item.app_clip()) return std::pair{"R10", "an App Clip's item stays on the device"};
  if (!sos && item.tombstone()) {
    return std::pair{"R15", "a tombstone leaves only while the device is in SOS"};
  }
  return std::nullopt;
}

std::string text_of(ByteView bytes) {
  return std::string(bytes.begin(), bytes.end());
}

Result<NewKeybag> create_backup_keybag(const Device& source, const BackupOptions& options,
                                       Random& random) {
  std::vector<NewClassKey> classes;
  for (uint32_t c = kFirstBackupClass; c <= kLastBackupClass; ++c) {
    classes.push_back({c, backup_wrap(options.journey, c), std::nullopt});
  }
  const bool encrypted = is_encrypted_journey(options.journey);
  return create_keybag(
      KeybagType::kBackup, classes, encrypted ? as_bytes(options.password) : ByteView{},
      DeviceInternals::device_key(source), encrypted ? options.kdf : kPasswordlessKdf, random);
}

}  // namespace

Result<UnlockedKeybag> unlock_keybag_for(const Keybag& bag, ByteView password,
                                         const Device* device) {
  if (device == nullptr) return unlock_keybag(bag, password, std::nullopt);
  return unlock_keybag(bag, password, DeviceInternals::device_key(*device));
}

Result<UnlockedKeybag> unlock_keybag_with_password_key_for(const Keybag& bag, ByteView password_key,
                                                           const Device* device) {
  if (device == nullptr) return unlock_keybag_with_password_key(bag, password_key, std::nullopt);
  return unlock_keybag_with_password_key(bag, password_key, DeviceInternals::device_key(*device));
}

std::string_view loss_reason_name(LossReason reason) {
  switch (reason) {
    case LossReason::kNone:
      return "none";
    case LossReason::kCorrupt:
      return "corrupt";
    case LossReason::kNoClassKey:
      return "no class key in the backup";
    case LossReason::kClassKeyUnavailable:
      return "class key unavailable on this device";
    case LossReason::kRefusedByDevice:
      return "refused by the device";
    case LossReason::kSystemBound:
      return "system-bound: a restore skips it (R12)";
    case LossReason::kToken:
      return "token item: a restore skips it (R12)";
    case LossReason::kDuplicateInBackup:
      return "duplicate of an earlier item of the backup";
  }
  return "?";
}

Outcome ItemFate::outcome() const {
  if (restored) return Outcome::kRestored;
  return kept ? Outcome::kKept : Outcome::kLost;
}

size_t RestoreReport::restored_count() const {
  size_t n = 0;
  for (const ItemFate& f : items)
    n += f.restored;
  return n;
}

size_t RestoreReport::kept_count() const {
  size_t n = 0;
  for (const ItemFate& f : items)
    n += f.kept;
  return n;
}

Result<BackupFolder> make_backup(Device& source, const BackupOptions& options, Random& random,
                                 BackupSummary* summary) {
  if (options.journey == Journey::kIcloudKeychain) {
    return Status::InvalidArgument("icloud-keychain is a sync road, not a backup journey");
  }
  if (is_encrypted_journey(options.journey) && options.password.empty()) {
    return Status::InvalidArgument(std::string(name_of(options.journey)) +
                                   " needs a non-empty password");
  }
  KCB_ASSIGN_OR_RETURN(NewKeybag bag, create_backup_keybag(source, options, random));
  KeychainArchive archive;
  BackupSummary local_summary;
  BackupSummary& sum = summary != nullptr ? *summary : local_summary;
  sum = {};
  // Streamed: one decrypted row at a time, resealed from the plaintext it was read from.
  const bool sos = source.sos();
  KCB_RETURN_IF_ERROR(source.for_each_item(
      [&](int64_t rowid, ByteView ref, Item& item, ByteView plaintext) {
        if (auto why = export_exclusion(item, sos)) {
          sum.left_on_device.push_back({item.item_class(), rowid, text_of(item.account()),
                                        text_of(item.service()), why->first, why->second});
          return Status::Ok();
        }
        ++sum.items;
        const uint32_t key_class = names_of(item.accessibility()).key_class;
        const KeyWrapKey* class_key = bag.keys.kek_for(key_class);
        KCB_ASSERT(class_key != nullptr);
        KCB_ASSIGN_OR_RETURN(Bytes blob, seal_blob(key_class, *class_key, plaintext, random));
        const ItemClass c = item.item_class();
        archive.items[static_cast<size_t>(c)].push_back(
            {std::move(blob), Bytes(ref.begin(), ref.end())});
        return Status::Ok();
      },
      &sum.unreadable));
  // Lower case, as SecServerCopyKeychainPlist writes it (formats.md); readers take either.
  archive.keybag_uuid = uuid_text(bag.bag.uuid);
  for (char& ch : archive.keybag_uuid)
    ch = ascii_lower(ch);
  FolderContents contents;
  contents.manifest.is_encrypted = is_encrypted_journey(options.journey);
  contents.manifest.lockdown = lockdown_of(source);
  contents.manifest.version = "10.0";
  contents.manifest.was_passcode_set = source.has_passcode();
  contents.manifest.journey = std::string(name_of(options.journey));
  contents.keychain = write_keychain_archive(archive);
  KCB_ASSIGN_OR_RETURN(contents.app_files, source.app_files());
  return build_backup_folder(std::move(contents), bag, random);
}

namespace {

struct OpenedItem {
  Item item;
  SecretBytes plaintext;  // the canonical DER the item was decoded from
};

// Decrypts one archived item; on failure fills the fate's reason and returns nothing.
std::optional<OpenedItem> open_archived_item(const ArchivedItem& archived,
                                             const UnlockedKeybag& keys, ItemFate& fate) {
  auto lose = [&](LossReason reason, const Status& st) {
    fate.reason = reason;
    fate.detail = st.message();
    return std::nullopt;
  };
  auto parsed = parse_blob(archived.blob);
  if (!parsed.ok()) return lose(LossReason::kCorrupt, parsed.status());
  fate.header_key_class = parsed->key_class;
  const KeyWrapKey* class_key = keys.kek_for(parsed->key_class);
  if (class_key == nullptr) {
    return lose(LossReason::kNoClassKey,
                Status::NotFound("no key for class " + std::to_string(parsed->key_class)));
  }
  auto plaintext = open_blob(*parsed, *class_key);
  if (!plaintext.ok()) {
    const bool wrong_key = plaintext.status().code() == Code::kDataLoss;
    return lose(wrong_key ? LossReason::kClassKeyUnavailable : LossReason::kCorrupt,
                plaintext.status());
  }
  auto item = Item::decode(fate.item_class, plaintext->view());
  if (!item.ok()) return lose(LossReason::kCorrupt, item.status());
  fate.accessible = item->accessibility();
  fate.account = text_of(item->account());
  fate.service = text_of(item->service());
  fate.label = std::string(item->label());
  // The keyclass field is not authenticated; an item must claim the class it was sealed under.
  if (names_of(item->accessibility()).key_class != parsed->key_class) {
    return lose(
        LossReason::kCorrupt,
        Status::Corruption("pdmn '" + std::string(names_of(item->accessibility()).pdmn) +
                           "' does not match key class " + std::to_string(parsed->key_class)));
  }
  return OpenedItem{std::move(item).value(), std::move(plaintext).value()};
}

// A folder whose Manifest lists a file it does not hold, or holds it broken (a partial copy, an
// altered blob), is invalid input, refused before anything changes: every listed regular file is
// read and decrypted, one at a time, its padding checked. Linear in the folder's size.
Status check_every_file(const OpenedBackup& backup) {
  constexpr size_t kMaxFileBytes = size_t{4} << 30;
  for (const BackupFileEntry& e : backup.files()) {
    if (e.flags != kManifestFile) continue;
    if (e.domain == kKeychainDomain && e.relative_path == kKeychainRelativePath)
      continue;  // read next
    auto contents = backup.read_file(e, kMaxFileBytes);
    // A class the restore's keys cannot open (5 without the source device) cannot be checked.
    if (!contents.ok() && contents.status().code() != Code::kFailedPrecondition) {
      return contents.status();
    }
  }
  return Status::Ok();
}

// R7: the keychain file must belong to the folder's bag. R14: compared only when it names one.
Status check_keybag_uuid(const KeychainArchive& archive, const std::string& bag_uuid_text) {
  if (archive.keybag_uuid.empty()) return Status::Ok();
  KCB_ASSIGN_OR_RETURN(Bytes archive_uuid, parse_uuid_text(archive.keybag_uuid));
  KCB_ASSIGN_OR_RETURN(Bytes bag_uuid, parse_uuid_text(bag_uuid_text));
  if (archive_uuid != bag_uuid) {
    return Status::Corruption("keychain-backup.plist: keybag-uuid " + archive.keybag_uuid +
                              " does not match the backup keybag's UUID " + bag_uuid_text);
  }
  return Status::Ok();
}

// Refusals by SecItemAdd drop one item; anything else (the store failing) aborts the restore.
bool is_refusal(const Status& st) {
  return st.code() == Code::kInvalidArgument || st.code() == Code::kFailedPrecondition ||
         st.code() == Code::kAlreadyExists;
}

}  // namespace

namespace {

// Where a re-inserted row goes (R11): with the reference it carried when the target hands out
// that kind and it is free there — an old-style one is the row's rowid itself, a UUID-based one
// its UUID (the rowid is then the store's next) — else as a new row: the store's next rowid and,
// on a target with UUID references, a fresh UUID (0 / empty here). A reference that does not parse
// carries nothing.
Result<std::pair<int64_t, Bytes>> placement_of(ByteView carried, ItemClass c, const Device& target,
                                               KeychainStore& store) {
  std::pair<int64_t, Bytes> out{0, {}};
  auto ref = parse_persistent_ref(carried, c);
  if (!ref.ok() || ref->kind != target.persistent_refs()) return out;
  if (ref->kind == PersistentRefKind::kRowid) {
    KCB_ASSIGN_OR_RETURN(const bool taken, store.has_rowid(c, ref->rowid));
    if (ref->rowid > 0 && !taken) out.first = ref->rowid;
    return out;
  }
  KCB_ASSIGN_OR_RETURN(const bool taken, store.has_persistref(c, ref->uuid));
  if (!taken) out.second = ref->uuid;
  return out;
}

// The rows of the target that were there before the import: after R7's delete and R12's taking
// aside, its synchronizable items. A collision with one of them is R13 (the target's item stays);
// with any other row, the backup collided with itself.
Result<std::set<std::pair<ItemClass, int64_t>>> rows_of(KeychainStore& store) {
  std::set<std::pair<ItemClass, int64_t>> out;
  for (ItemClass c : kAllItemClasses) {
    KCB_ASSIGN_OR_RETURN(std::vector<int64_t> ids, store.rowids(c));
    for (int64_t id : ids)
      out.emplace(c, id);
  }
  return out;
}

// Imports one opened backup item, filling its fate; an error is the store failing.
Status import_item(const ArchivedItem& archived, const OpenedItem& opened, Device& target,
                   KeychainStore& store, const std::set<std::pair<ItemClass, int64_t>>& on_target,
                   Random& random, ItemFate& fate) {
  const Item& item = opened.item;
  const ItemClass c = fate.item_class;
  // R12: the import's own filter, whatever the export let through.
  if (item.system_bound() || item.has_token()) {
    fate.reason = item.system_bound() ? LossReason::kSystemBound : LossReason::kToken;
    fate.detail = std::string(loss_reason_name(fate.reason));
    return Status::Ok();
  }
  KCB_ASSIGN_OR_RETURN(auto placement, placement_of(archived.persistent_ref, c, target, store));
  Bytes persistent_ref;
  auto added = DeviceInternals::insert_item(target, item, opened.plaintext.view(), placement.first,
                                            std::move(placement.second), random, &persistent_ref);
  if (added.ok()) {
    fate.restored = true;
    fate.persistent_ref = std::move(persistent_ref);
    return Status::Ok();
  }
  if (!is_refusal(added.status())) return added.status();
  if (added.status().code() == Code::kAlreadyExists) {
    // The row id and UUID were free: the primary key is taken.
    KCB_ASSIGN_OR_RETURN(std::optional<int64_t> holder,
                         store.find_primary_key(keychain_row_view_for(item, {})));
    if (holder && on_target.count({c, *holder})) {
      fate.kept = true;  // R13
      KCB_ASSIGN_OR_RETURN(KeychainRow row, store.get(c, *holder));
      fate.persistent_ref =
          DeviceInternals::persistent_ref_of(target, c, row.rowid, row.persistref);
      return Status::Ok();
    }
    if (holder) {
      fate.reason = LossReason::kDuplicateInBackup;
      fate.detail = "the primary key of " + std::string(name_of(c)) + " row " +
                    std::to_string(*holder) + ", restored from this backup";
      return Status::Ok();
    }
  }
  fate.reason = LossReason::kRefusedByDevice;
  fate.detail = added.status().message();
  return Status::Ok();
}

// R12: a system-bound row taken aside before the import goes back after it, re-inserted with its
// reference as a backup item would be (R11: a new rowid when the import took its one, a new
// reference when the device's kind changed since it was inserted). A backup item that took its
// primary key stays, and the row is dropped with a warning.
Status put_back(KeychainRow row, const Device& target, KeychainStore& store, Random& random,
                std::vector<std::string>& warnings) {
  const Bytes carried =
      DeviceInternals::persistent_ref_of(target, row.item_class, row.rowid, row.persistref);
  const int64_t was = row.rowid;
  KCB_ASSIGN_OR_RETURN(auto placement, placement_of(carried, row.item_class, target, store));
  row.rowid = placement.first;
  row.persistref = std::move(placement.second);
  if (row.persistref.empty() && target.persistent_refs() == PersistentRefKind::kUuid) {
    row.persistref = new_persistent_ref_uuid(random);
  }
  auto inserted = store.insert(row);
  if (inserted.ok()) return Status::Ok();
  if (inserted.status().code() != Code::kAlreadyExists) return inserted.status();
  warnings.push_back("system-bound " + std::string(name_of(row.item_class)) + " row " +
                     std::to_string(was) +
                     " of the device was not put back: a restored item has its primary key");
  return Status::Ok();
}

// R12: the target's own system-bound rows that R7 does not delete (not synchronizable), out of
// the tables for the import, in class then rowid order.
Result<std::vector<KeychainRow>> take_aside(KeychainStore& store) {
  KCB_ASSIGN_OR_RETURN(std::vector<KeychainRow> rows, store.list_all());
  std::erase_if(rows, [](const KeychainRow& r) { return r.sync || r.sysb == 0; });
  for (const KeychainRow& r : rows)
    KCB_RETURN_IF_ERROR(store.remove(r.item_class, r.rowid));
  return rows;
}

// The restore proper, once the keychain file is read and belongs to the bag: R7's replacement,
// R12's system-bound rows taken aside and put back, each item opened with the bag's keys and
// imported (R11, R13), all in one transaction that an error rolls back.
Result<RestoreReport> restore_archive(const KeychainArchive& archive, const UnlockedKeybag& keys,
                                      Device& target, Random& random) {
  RestoreReport report;
  report.warnings = archive.warnings;
  KeychainStore& store = DeviceInternals::store(target);
  KCB_ASSIGN_OR_RETURN(KeychainTransaction tx, store.transaction());
  KCB_ASSIGN_OR_RETURN(report.replaced, store.delete_unbound_non_synchronizable());  // R7
  KCB_ASSIGN_OR_RETURN(std::vector<KeychainRow> aside, take_aside(store));           // R12
  KCB_ASSIGN_OR_RETURN(const auto on_target, rows_of(store));
  size_t total = 0;
  for (const auto& archived : archive.items)
    total += archived.size();
  report.items.reserve(total);
  // One pass inside the transaction: nothing decrypted waits in memory for the whole archive.
  for (ItemClass c : kAllItemClasses) {
    const auto& archived = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < archived.size(); ++i) {
      ItemFate& fate = report.items.emplace_back();
      fate.item_class = c;
      fate.index = i;
      fate.backup_ref = archived[i].persistent_ref;
      std::optional<OpenedItem> opened = open_archived_item(archived[i], keys, fate);
      if (!opened) continue;
      const Status st = import_item(archived[i], *opened, target, store, on_target, random, fate);
      if (!st.ok()) return st.with_context("restore");  // tx rolls back
    }
  }
  for (KeychainRow& row : aside) {
    const Status st = put_back(std::move(row), target, store, random, report.warnings);
    if (!st.ok()) return st.with_context("restore: put back a system-bound item");
  }
  KCB_RETURN_IF_ERROR(tx.commit());
  return report;
}

BackupOpenOptions open_options_of(const RestoreOptions& options, const Device& target) {
  BackupOpenOptions open;
  open.password = options.password;
  open.password_key = options.password_key;
  open.device = &target;
  open.keybag_limits = options.keybag_limits;
  open.read_info = false;  // decides nothing
  return open;
}

}  // namespace

Result<RestoreReport> restore_backup(const FolderSource& folder, Device& target,
                                     const RestoreOptions& options, Random& random) {
  const BackupOpenOptions open = open_options_of(options, target);
  KCB_ASSIGN_OR_RETURN(OpenedBackup backup, OpenedBackup::open(folder, open));
  KCB_RETURN_IF_ERROR(check_every_file(backup));
  KCB_ASSIGN_OR_RETURN(KeychainArchive archive, backup.read_keychain());
  KCB_RETURN_IF_ERROR(check_keybag_uuid(archive, backup.keybag_uuid()));
  return restore_archive(archive, backup.keys(), target, random);
}

Result<RestoreReport> restore_keychain_archive(const Manifest& manifest,
                                               const KeychainArchive& archive, Device& target,
                                               const RestoreOptions& options, Random& random) {
  KCB_ASSIGN_OR_RETURN(OpenedBackupKeybag bag,
                       open_backup_keybag(manifest, open_options_of(options, target)));
  KCB_RETURN_IF_ERROR(check_keybag_uuid(archive, uuid_text(bag.bag.uuid)));
  return restore_archive(archive, bag.keys, target, random);
}

Result<RestoreReport> quick_start(Device& from, Device& to, const KeybagKdf& kdf, Random& random) {
  // R5 is a move to another phone; the same UID (a copy of the device folder) is not one.
  if (from.unique_device_id() == to.unique_device_id()) {
    return Status::InvalidArgument("quick start: both devices have UniqueDeviceID " +
                                   from.unique_device_id() +
                                   ": Quick Start moves to another device");
  }
  Bytes one_time(32);
  random.fill(one_time);
  BackupOptions options{Journey::kQuickStart, to_hex(one_time), kdf};
  wipe(one_time);
  BackupSummary summary;
  KCB_ASSIGN_OR_RETURN(BackupFolder transfer, make_backup(from, options, random, &summary));
  RestoreOptions restore{options.password, {}, {}};
  auto report = restore_backup(transfer, to, restore, random);
  wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(options.password.data()),
                          options.password.size()));
  if (report.ok()) report->left_on_device = std::move(summary.left_on_device);
  return report;
}

}  // namespace kcb
