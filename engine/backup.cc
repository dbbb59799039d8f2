#include "kcbackup/backup.h"

#include "engine/blob.h"
#include "engine/device_internals.h"
#include "engine/keybag.h"
#include "kcbackup/names.h"

namespace kcb {
namespace {

constexpr uint32_t kFirstBackupClass = 6;
constexpr uint32_t kLastBackupClass = 11;  // akpu (12) never has a key in a backup bag
constexpr uint32_t kFirstThisDeviceOnlyClass = 9;

// A password-less bag derives from the empty password: there is nothing to protect, so the count
// is nominal (formats.md).
constexpr KeybagKdf kPasswordlessKdf{1, false, 0};

bool is_encrypted_journey(Journey j) {
  return j == Journey::kLocalEncrypted || j == Journey::kQuickStart;
}

// R2/R4: a password-less backup keeps the source device's layer on every class. R3/R5: with a
// password, only ThisDeviceOnly classes (9-11) keep it.
uint32_t backup_wrap(Journey journey, uint32_t class_number) {
  if (!is_encrypted_journey(journey)) return kWrapDevice | kWrapPassword;
  return class_number >= kFirstThisDeviceOnlyClass ? kWrapDevice | kWrapPassword : kWrapPassword;
}

// R1, as the export query runs it: these items never leave the device.
bool passes_export_filter(const Item& item) {
  return item.accessibility() != Accessibility::kWhenPasscodeSetThisDeviceOnly &&
         !item.has_token() && !item.auth_constraint() && !item.system_bound();
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
  }
  return "?";
}

size_t RestoreReport::restored_count() const {
  size_t n = 0;
  for (const ItemFate& f : items)
    n += f.restored;
  return n;
}

Result<Bundle> make_backup(Device& source, const BackupOptions& options, Random& random) {
  if (options.journey == Journey::kIcloudKeychain) {
    return Status::InvalidArgument("icloud-keychain is a sync road, not a backup journey");
  }
  if (is_encrypted_journey(options.journey) && options.password.empty()) {
    return Status::InvalidArgument(std::string(name_of(options.journey)) +
                                   " needs a non-empty password");
  }
  KCB_ASSIGN_OR_RETURN(NewKeybag bag, create_backup_keybag(source, options, random));
  Bundle bundle;
  // Streamed: one decrypted row at a time, resealed from the plaintext it was read from.
  KCB_RETURN_IF_ERROR(source.for_each_item([&](int64_t rowid, Item& item, ByteView plaintext) {
    if (!passes_export_filter(item)) return Status::Ok();
    const uint32_t key_class = names_of(item.accessibility()).key_class;
    const KeyWrapKey* class_key = bag.keys.kek_for(key_class);
    KCB_ASSERT(class_key != nullptr);
    KCB_ASSIGN_OR_RETURN(Bytes blob, seal_blob(key_class, *class_key, plaintext, random));
    const ItemClass c = item.item_class();
    bundle.archive.items[static_cast<size_t>(c)].push_back(
        {std::move(blob), make_persistent_ref(c, rowid)});
    return Status::Ok();
  }));
  bundle.archive.keybag_uuid = uuid_text(bag.bag.uuid);
  bundle.manifest.backup_keybag = serialize_keybag(bag.bag);
  bundle.manifest.is_encrypted = is_encrypted_journey(options.journey);
  bundle.manifest.unique_device_id = source.unique_device_id();
  bundle.manifest.journey = std::string(name_of(options.journey));
  return bundle;
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

Result<UnlockedKeybag> unlock_backup_keybag(const Bundle& bundle, const Device& target,
                                            const RestoreOptions& options) {
  auto bag = parse_keybag(bundle.manifest.backup_keybag, options.keybag_limits);
  if (!bag.ok()) return bag.status().with_context("Manifest.plist: BackupKeyBag");
  if (bag->type() != static_cast<uint32_t>(KeybagType::kBackup)) {
    return Status::Corruption("Manifest.plist: BackupKeyBag: TYPE " + std::to_string(bag->type()) +
                              " is not a backup keybag (1)");
  }
  // R7: the archive must belong to this bag. R14: compared only when the archive names one.
  if (!bundle.archive.keybag_uuid.empty()) {
    KCB_ASSIGN_OR_RETURN(Bytes archive_uuid, parse_uuid_text(bundle.archive.keybag_uuid));
    if (archive_uuid != bag->uuid) {
      return Status::Corruption("keychain-backup.plist: keybag-uuid " + bundle.archive.keybag_uuid +
                                " does not match the backup keybag's UUID " + uuid_text(bag->uuid));
    }
  }
  // Only an encrypted backup wraps a class with the password alone (WRAP 2): a Manifest that says
  // otherwise was altered, and trying the empty password would misreport it as a wrong one.
  for (const KeybagClass& c : bag->classes) {
    if (!bundle.manifest.is_encrypted && c.wrap == kWrapPassword) {
      return Status::Corruption("Manifest.plist: IsEncrypted is false, but BackupKeyBag class " +
                                std::to_string(c.class_number) +
                                " is wrapped by a password alone (WRAP 2)");
    }
  }
  if (bundle.manifest.is_encrypted && options.password.empty()) {
    return Status::PermissionDenied("the backup is encrypted: its password is needed");
  }
  const ByteView password = bundle.manifest.is_encrypted ? as_bytes(options.password) : ByteView{};
  return unlock_keybag_for(*bag, password, &target);
}

// Refusals by SecItemAdd drop one item; anything else (the store failing) aborts the restore.
bool is_refusal(const Status& st) {
  return st.code() == Code::kInvalidArgument || st.code() == Code::kFailedPrecondition ||
         st.code() == Code::kAlreadyExists;
}

}  // namespace

Result<RestoreReport> restore_backup(const Bundle& bundle, Device& target,
                                     const RestoreOptions& options, Random& random) {
  KCB_ASSIGN_OR_RETURN(UnlockedKeybag keys, unlock_backup_keybag(bundle, target, options));
  RestoreReport report;
  report.warnings = bundle.archive.warnings;
  KeychainStore& store = DeviceInternals::store(target);
  KCB_ASSIGN_OR_RETURN(KeychainTransaction tx, store.transaction());
  KCB_ASSIGN_OR_RETURN(report.replaced, store.delete_unbound_non_synchronizable());  // R7
  // One pass inside the transaction: nothing decrypted waits in memory for the whole archive.
  for (ItemClass c : kAllItemClasses) {
    const auto& archived = bundle.archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < archived.size(); ++i) {
      ItemFate& fate = report.items.emplace_back();
      fate.item_class = c;
      fate.index = i;
      std::optional<OpenedItem> opened = open_archived_item(archived[i], keys, fate);
      if (!opened) continue;
      auto added = target.add_item(opened->item, opened->plaintext.view(), random);
      if (added.ok()) {
        fate.restored = true;
      } else if (is_refusal(added.status())) {
        fate.reason = LossReason::kRefusedByDevice;
        fate.detail = added.status().message();
      } else {
        return added.status().with_context("restore");  // tx rolls back
      }
    }
  }
  KCB_RETURN_IF_ERROR(tx.commit());
  return report;
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
  KCB_ASSIGN_OR_RETURN(Bundle transfer, make_backup(from, options, random));
  RestoreOptions restore{options.password, {}};
  auto report = restore_backup(transfer, to, restore, random);
  wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(options.password.data()),
                          options.password.size()));
  return report;
}

}  // namespace kcb
