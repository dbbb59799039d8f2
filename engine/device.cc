#include "kcbackup/device.h"

#include <algorithm>
#include <system_error>
#include <tuple>

#include "engine/blob.h"
#include "engine/crypto.h"
#include "engine/keybag.h"
#include "engine/keychain_store.h"
#include "input/property_list.h"
#include "kcbackup/names.h"
#include "kcbackup/persistent_ref.h"

namespace kcb {
namespace {

constexpr const char* kUidFile = "uid";
constexpr const char* kKeybagFile = "keybag";
constexpr const char* kSettingsFile = "device.plist";
constexpr const char* kKeychainDbFile = "keychain-2.db";
// The intent journal of a change that rewrites several files (docs/reliability.md): an XML plist
//   {Operation: "erase" | "passcode-off" | "passcode-on", Keybag: data, Settings: data}
// holding the keybag and device.plist the change ends with. Written atomically before anything
// else changes, it is the commit point: without it the folder is as it was; with it, open()
// (or the change itself) deletes the rows the operation removes, writes both files, then removes
// the journal. Every step can be repeated, so a crash during the redo is finished by the next open.
constexpr const char* kPendingFile = "pending.plist";
// `device init`'s marker (docs/reliability.md): written durably before anything else of a new
// device and removed last, once every file is durable. A folder holding it is an init that did not
// finish: open() refuses it as no device, and a new init empties it and starts again.
constexpr const char* kInitMarkerFile = "init-pending";
constexpr std::string_view kInitMarkerText =
    "kcbackup device init did not finish here: run `kcbackup device init` on this folder again\n";
constexpr std::string_view kEraseOp = "erase";
constexpr std::string_view kPasscodeOffOp = "passcode-off";
constexpr std::string_view kPasscodeOnOp = "passcode-on";

// Keychain key classes of a system keybag: 6..11 always, 12 (akpu) only while a passcode is set.
constexpr uint32_t kFirstKeychainClass = 6;
constexpr uint32_t kLastMigratableClass = 11;
constexpr uint32_t kPasscodeClass = 12;

uint32_t key_class_for(Accessibility a) {
  return names_of(a).key_class;
}

// The system bag's class keys carry only the device layer: they are readable on this hardware and
// nowhere else. The bag is never written with a password, so the KDF is nominal.
constexpr KeybagKdf kSystemBagKdf{1, false, 0};

// The folder's advisory lock (DeviceOpenOptions in device.h). Writers create the lock file.
Result<std::unique_ptr<FileLock>> lock_device_folder(Env& env, const std::filesystem::path& dir,
                                                     const DeviceOpenOptions& options) {
  const LockMode mode =
      options.access == DeviceAccess::kReadOnly ? LockMode::kShared : LockMode::kExclusive;
  return env.lock_file(dir / kDeviceLockFile, mode, options.lock_timeout);
}

Status refuse_read_only_write() {
  return Status::FailedPrecondition("the device folder was opened read-only");
}

std::string udid_from_uid(ByteView uid) {
  return to_hex(sha1_digest(uid));
}

}  // namespace

AddError sec_error_of(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return AddError::kNone;
    case Code::kFailedPrecondition:
      return AddError::kAuthFailed;
    case Code::kAlreadyExists:
      return AddError::kDuplicateItem;
    case Code::kNotFound:
      return AddError::kItemNotFound;
    default:
      return AddError::kParam;
  }
}

Traits traits_of(const Item& item) {
  Traits t;
  t.accessible = item.accessibility();
  t.item_class = item.item_class();
  t.synchronizable = item.synchronizable();
  t.token = item.has_token() ? Token::kSecureEnclave : Token::kNone;
  t.auth_constraint = item.auth_constraint();
  // Apple's one defined sysb bit is "preserve during restore"; any non-zero sysb is system-bound.
  t.system_bound = item.system_bound() ? SystemBound::kPreserveDuringRestore : SystemBound::kNone;
  t.app_clip = item.app_clip();
  t.tombstone = item.tombstone();
  return t;
}

NewItem new_item_with(const Traits& traits) {
  NewItem n;
  n.item_class = traits.item_class;
  n.accessible = traits.accessible;
  n.synchronizable = traits.synchronizable;
  n.token = traits.token;
  n.auth_constraint = traits.auth_constraint;
  n.system_bound = traits.system_bound;
  n.app_clip = traits.app_clip;
  n.tombstone = traits.tombstone;
  return n;
}

Device::Device() : keybag_(std::make_unique<Keybag>()), keys_(std::make_unique<UnlockedKeybag>()) {}
Device::~Device() = default;

namespace {

// The system keybag: classes 6-11, and 12 with a passcode, each keeping its key from `keep` (so
// existing items stay readable) or getting a fresh one.
Result<NewKeybag> system_keybag(const UnlockedKeybag& keep, bool with_passcode_class,
                                ByteView device_key, Random& random) {
  std::vector<NewClassKey> classes;
  const uint32_t last = with_passcode_class ? kPasscodeClass : kLastMigratableClass;
  for (uint32_t c = kFirstKeychainClass; c <= last; ++c) {
    NewClassKey k{c, kWrapDevice, std::nullopt};
    if (const SecretBytes* existing = keep.key_for(c)) k.key = *existing;
    classes.push_back(std::move(k));
  }
  return create_keybag(KeybagType::kSystem, classes, {}, device_key, kSystemBagKdf, random);
}

}  // namespace

// A new device's keybag (create): in memory, and in DIR/keybag for a device on disk.
Status Device::rebuild_keybag(bool with_passcode_class, Random& random) {
  KCB_ASSIGN_OR_RETURN(NewKeybag bag,
                       system_keybag(*keys_, with_passcode_class, device_key_.view(), random));
  *keybag_ = std::move(bag.bag);
  *keys_ = std::move(bag.keys);
  if (!dir_) return Status::Ok();
  return write_file_atomically(*env_, *dir_ / kKeybagFile, serialize_keybag(*keybag_));
}

Status Device::init_keys(const Bytes& uid, Random& random) {
  if (uid.size() != kUidSize) {
    return Status::InvalidArgument("device UID must be " + std::to_string(kUidSize) +
                                   " bytes, got " + std::to_string(uid.size()));
  }
  uid_ = SecretBytes(uid);
  KCB_ASSIGN_OR_RETURN(device_key_, derive_device_key_835(uid_.view()));
  udid_ = udid_from_uid(uid_.view());
  return rebuild_keybag(passcode_, random);
}

Status Device::load_keys(const Bytes& uid, ByteView keybag_bytes) {
  if (uid.size() != kUidSize) return Status::Corruption("device uid file: wrong size");
  uid_ = SecretBytes(uid);
  KCB_ASSIGN_OR_RETURN(device_key_, derive_device_key_835(uid_.view()));
  udid_ = udid_from_uid(uid_.view());
  KCB_ASSIGN_OR_RETURN(*keybag_, parse_keybag(keybag_bytes));
  KCB_ASSIGN_OR_RETURN(*keys_, unlock_keybag(*keybag_, {}, device_key_.view()));
  return Status::Ok();
}

Status Device::check_writable() const {
  if (read_only_) return refuse_read_only_write();
  if (unfinished_) {
    return Status::IOError(
        "an earlier change of this device did not finish: open the device again (which "
        "finishes it) before changing it");
  }
  return Status::Ok();
}

Bytes Device::settings_bytes(bool passcode) const {
  PlistPtr root(plist_new_dict());
  plist_dict_set_item(root.get(), "Passcode", plist_new_bool(passcode));
  plist_dict_set_item(root.get(), "ICloudKeychain", plist_new_bool(icloud_keychain_));
  plist_dict_set_item(root.get(), "UniqueDeviceID", plist_new_string(udid_.c_str()));
  plist_dict_set_item(root.get(), "PersistentRefs",
                      plist_new_string(std::string(name_of(persistent_refs_)).c_str()));
  plist_dict_set_item(root.get(), "SOS", plist_new_bool(sos_));
  return to_xml_plist(root.get());
}

Status Device::save_settings() const {
  if (!dir_) return Status::Ok();
  KCB_RETURN_IF_ERROR(check_writable());
  return write_file_atomically(*env_, *dir_ / kSettingsFile, settings_bytes(passcode_));
}

Status Device::load_settings(ByteView settings_bytes) {
  KCB_ASSIGN_OR_RETURN(PlistPtr settings, parse_plist(settings_bytes, kSettingsFile));
  KCB_ASSIGN_OR_RETURN(passcode_,
                       plist_bool(plist_dict_get_item(settings.get(), "Passcode"), "Passcode"));
  KCB_ASSIGN_OR_RETURN(
      icloud_keychain_,
      plist_bool(plist_dict_get_item(settings.get(), "ICloudKeychain"), "ICloudKeychain"));
  // Absent in folders made before persistent references and SOS were settings: the defaults.
  if (plist_t kind = plist_dict_get_item(settings.get(), "PersistentRefs")) {
    KCB_ASSIGN_OR_RETURN(std::string_view text, plist_string(kind, "PersistentRefs"));
    auto parsed = parse_persistent_ref_kind(text);
    if (!parsed.ok())
      return Status::Corruption(std::string(kSettingsFile) +
                                ": PersistentRefs: " + parsed.status().message());
    persistent_refs_ = *parsed;
  }
  if (plist_t sos = plist_dict_get_item(settings.get(), "SOS")) {
    KCB_ASSIGN_OR_RETURN(sos_, plist_bool(sos, "SOS"));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Device>> Device::create(Env* env, std::optional<std::filesystem::path> dir,
                                               const DeviceConfig& config, Random& random,
                                               std::unique_ptr<FileLock> lock) {
  std::unique_ptr<Device> d(new Device());
  d->env_ = env;
  d->dir_ = std::move(dir);
  d->lock_ = std::move(lock);
  d->passcode_ = config.passcode;
  d->icloud_keychain_ = config.icloud_keychain;
  d->persistent_refs_ = config.persistent_refs;
  d->sos_ = config.sos;
  Bytes uid = config.uid.value_or(Bytes(kUidSize));
  if (!config.uid) random.fill(uid);
  Status st = d->dir_ ? write_file_atomically(*env, *d->dir_ / kUidFile, uid) : Status::Ok();
  if (st.ok()) st = d->init_keys(uid, random);
  wipe(uid);
  KCB_RETURN_IF_ERROR(st);
  KCB_RETURN_IF_ERROR(d->save_settings());
  if (d->dir_) {
    KCB_ASSIGN_OR_RETURN(d->store_, KeychainStore::open((*d->dir_ / kKeychainDbFile).string()));
  } else {
    KCB_ASSIGN_OR_RETURN(d->store_, KeychainStore::open_in_memory());
  }
  return d;
}

Result<std::unique_ptr<Device>> Device::create_in_memory(const DeviceConfig& config,
                                                         Random& random) {
  return create(nullptr, std::nullopt, config, random, nullptr);
}

namespace {

// create_dirs, then an fsync of the parent of each folder it made (top first): a new folder's name
// is durable only then, and a device whose init said "Created" must survive a power loss.
Status create_dir_durably(Env& env, const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> made;
  for (std::filesystem::path p = dir; !p.empty() && env.kind_of(p) == FileKind::kMissing;
       p = p.parent_path()) {
    made.push_back(p);
    if (p == p.parent_path()) break;
  }
  KCB_RETURN_IF_ERROR(env.create_dirs(dir));
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    KCB_RETURN_IF_ERROR(env.sync_dir(it->has_parent_path() ? it->parent_path() : "."));
  }
  return Status::Ok();
}

bool holds(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

Status refuse_not_empty(const std::filesystem::path& dir) {
  return Status::AlreadyExists(dir.string() + ": exists and is not empty; choose a new directory");
}

// What init may build in: no folder, an empty one (its lock file aside), or the folder of an init
// that did not finish (its marker), emptied here. Under the folder's lock, so a second init of the
// same DIR waits for the first and then finds a device there.
Status empty_interrupted_init(Env& env, const std::filesystem::path& dir,
                              const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name == kDeviceLockFile || name == kInitMarkerFile) continue;
    const std::filesystem::path path = dir / name;
    if (env.kind_of(path) != FileKind::kFile) {
      return Status::AlreadyExists(path.string() +
                                   ": not made by `kcbackup device init`; remove it yourself");
    }
    KCB_RETURN_IF_ERROR(env.remove(path));
  }
  return env.sync_dir(dir);
}

Result<std::unique_ptr<FileLock>> prepare_device_dir(Env& env, const std::filesystem::path& dir) {
  const auto only_ours = [](const std::vector<std::string>& names) {
    return std::all_of(names.begin(), names.end(), [&](const std::string& n) {
      return n == kDeviceLockFile || holds(names, kInitMarkerFile);
    });
  };
  switch (env.kind_of(dir)) {
    case FileKind::kMissing:
      KCB_RETURN_IF_ERROR(create_dir_durably(env, dir));
      break;
    case FileKind::kDirectory: {
      KCB_ASSIGN_OR_RETURN(std::vector<std::string> names, env.list_dir(dir));
      if (!only_ours(names)) return refuse_not_empty(dir);
      break;
    }
    default:
      return refuse_not_empty(dir);
  }
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, lock_device_folder(env, dir, {}));
  // Again under the lock: another init may have finished a device here meanwhile.
  KCB_ASSIGN_OR_RETURN(std::vector<std::string> names, env.list_dir(dir));
  if (!only_ours(names)) return refuse_not_empty(dir);
  if (holds(names, kInitMarkerFile)) {
    KCB_RETURN_IF_ERROR(empty_interrupted_init(env, dir, names));
  } else {
    const std::filesystem::path marker = dir / kInitMarkerFile;
    KCB_RETURN_IF_ERROR(env.write_file(marker, as_bytes(kInitMarkerText)));
    KCB_RETURN_IF_ERROR(env.sync_file(marker));
    KCB_RETURN_IF_ERROR(env.sync_dir(dir));
  }
  return lock;
}

}  // namespace

// One step for every later reader (docs/reliability.md): the marker first, then the device's
// files, then the marker's removal and the folder's fsync, the commit point.
Result<std::unique_ptr<Device>> Device::create_at(Env& env, const std::filesystem::path& dir,
                                                  const DeviceConfig& config, Random& random) {
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, prepare_device_dir(env, dir));
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<Device> d,
                       create(&env, dir, config, random, std::move(lock)));
  // One fsync makes the marker's removal durable with the names of the files beside it
  // (keychain-2.db's among them: SQLite syncs only its data).
  KCB_RETURN_IF_ERROR(env.remove(dir / kInitMarkerFile));
  KCB_RETURN_IF_ERROR(env.sync_dir(dir));
  return d;
}

Result<std::unique_ptr<Device>> Device::open(Env& env, const std::filesystem::path& dir,
                                             const DeviceOpenOptions& options) {
  if (env.kind_of(dir / kInitMarkerFile) != FileKind::kMissing) {
    return Status::IOError(dir.string() +
                           ": not a device directory: its `kcbackup device init` did not finish "
                           "(run it again on this directory)");
  }
  if (env.kind_of(dir / kUidFile) != FileKind::kFile) {
    return Status::IOError(dir.string() +
                           ": not a device directory (no uid file; create one with "
                           "`kcbackup device init`)");
  }
  std::unique_ptr<Device> d(new Device());
  d->env_ = &env;
  d->dir_ = dir;
  // A change interrupted in another process is finished before anyone reads the folder: a reader
  // asks for a writer's open first, which finishes it (and fails on a folder it cannot write).
  // So is a SQLite transaction a killed writer left (its rollback journal): a read-only
  // connection cannot roll it back and would fail "attempt to write a readonly database".
  const bool hot_journal =
      env.kind_of(dir / (std::string(kKeychainDbFile) + "-journal")) != FileKind::kMissing;
  if (options.access == DeviceAccess::kReadOnly &&
      (hot_journal || env.kind_of(dir / kPendingFile) != FileKind::kMissing)) {
    auto writer = open(env, dir, {DeviceAccess::kReadWrite, options.lock_timeout});
    if (!writer.ok()) {
      return writer.status().with_context(dir.string() +
                                          ": an interrupted change could not be finished");
    }
  }
  // Before the first read: what is read below and what is written later are one step.
  KCB_ASSIGN_OR_RETURN(d->lock_, lock_device_folder(env, dir, options));
  d->read_only_ = options.access == DeviceAccess::kReadOnly;
  // SQLite would make a missing or empty file a fresh, empty keychain: a device that lost its
  // keychain must say so, not list nothing. SQLite opens the file itself (env.h), so this check
  // asks the file system directly too.
  const std::filesystem::path db = dir / kKeychainDbFile;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db, ec) || std::filesystem::file_size(db, ec) == 0) {
    return Status::Corruption(db.string() + ": missing or empty (the device's keychain is gone)");
  }
  KeychainStoreOptions store_options;
  store_options.read_only = d->read_only_;
  store_options.busy_timeout_ms = static_cast<int>(options.lock_timeout.count());
  KCB_ASSIGN_OR_RETURN(d->store_, KeychainStore::open(db.string(), store_options));
  KCB_ASSIGN_OR_RETURN(Bytes uid, env.read_file(dir / kUidFile, 64));
  if (env.kind_of(dir / kPendingFile) != FileKind::kMissing) {
    if (d->read_only_) {
      return Status::FailedPrecondition(
          (dir / kPendingFile).string() +
          ": an interrupted change is pending; open the device for writing to finish it");
    }
    const Status finished = d->finish_pending(uid).with_context(dir.string());
    if (!finished.ok()) wipe(uid);
    KCB_RETURN_IF_ERROR(finished);
  }
  KCB_ASSIGN_OR_RETURN(Bytes bag, env.read_file(dir / kKeybagFile, 1 << 20));
  const Status loaded = d->load_keys(uid, bag).with_context(dir.string());
  wipe(uid);
  KCB_RETURN_IF_ERROR(loaded);
  KCB_ASSIGN_OR_RETURN(Bytes settings_bytes, env.read_file(dir / kSettingsFile, 1 << 20));
  KCB_RETURN_IF_ERROR(d->load_settings(settings_bytes));
  return d;
}

Result<Bytes> Device::seal_plaintext(Accessibility accessible, ByteView plaintext,
                                     Random& random) const {
  if (unfinished_) return check_writable();
  const uint32_t key_class = key_class_for(accessible);
  const KeyWrapKey* class_key = keys_->kek_for(key_class);
  if (class_key == nullptr) {
    // R8, by mechanism: without a passcode there is no akpu class key to encrypt under.
    return Status::FailedPrecondition("errSecAuthFailed: no class key for class " +
                                      std::to_string(key_class) +
                                      " on this device (akpu items need a passcode)");
  }
  return seal_blob(key_class, *class_key, plaintext, random);
}

Result<Bytes> Device::seal_item(const Item& item, Random& random) const {
  KCB_ASSIGN_OR_RETURN(SecretBytes plaintext, item.encode());
  return seal_plaintext(item.accessibility(), plaintext.view(), random);
}

Result<SecretBytes> Device::open_row_plaintext(ByteView blob) const {
  KCB_ASSIGN_OR_RETURN(ParsedBlob parsed, parse_blob(blob));
  const KeyWrapKey* class_key = keys_->kek_for(parsed.key_class);
  if (class_key == nullptr) {
    return Status::NotFound("no class key for class " + std::to_string(parsed.key_class));
  }
  return open_blob(parsed, *class_key);
}

Result<Item> Device::open_row(ItemClass item_class, ByteView blob) const {
  KCB_ASSIGN_OR_RETURN(SecretBytes plaintext, open_row_plaintext(blob));
  return Item::decode(item_class, plaintext.view());
}

Result<int64_t> Device::add_item(const Item& item, Random& random) {
  KCB_ASSIGN_OR_RETURN(SecretBytes plaintext, item.encode());
  return add_item(item, plaintext.view(), random);
}

namespace {

// R9: SecItemAdd's and SecItemUpdate's parameter checks come before anything touches a key.
Status check_item_parameters(const Item& item) {
  if (item.auth_constraint() && item.synchronizable()) {
    return Status::InvalidArgument(
        "errSecParam: an item with an access-control constraint cannot be synchronizable");
  }
  if (item.has_token() && item.item_class() != ItemClass::kKeys) {
    return Status::InvalidArgument("errSecParam: a token item must be of class keys");
  }
  return Status::Ok();
}

}  // namespace

Result<int64_t> Device::add_item(const Item& item, ByteView canonical_plaintext, Random& random) {
  return insert_item(item, canonical_plaintext, 0, {}, random);
}

Result<int64_t> Device::insert_item(const Item& item, ByteView canonical_plaintext, int64_t rowid,
                                    Bytes uuid, Random& random, Bytes* persistent_ref) {
  KCB_RETURN_IF_ERROR(check_item_parameters(item));
  KCB_ASSIGN_OR_RETURN(Bytes blob,
                       seal_plaintext(item.accessibility(), canonical_plaintext, random));
  // Bound straight from the item and the blob: nothing of the row is copied.
  KeychainRowView row = keychain_row_view_for(item, blob);
  row.rowid = rowid;
  row.persistref = uuid;
  if (row.persistref.empty() && persistent_refs_ == PersistentRefKind::kUuid) {
    uuid = new_persistent_ref_uuid(random);
    row.persistref = uuid;
  }
  KCB_ASSIGN_OR_RETURN(const int64_t inserted, store_->insert(row));
  if (persistent_ref != nullptr) {
    *persistent_ref = persistent_ref_of(item.item_class(), inserted, row.persistref);
  }
  return inserted;
}

// A row's reference is the one it got when it was inserted: UUID-based when it has a UUID.
Bytes Device::persistent_ref_of(ItemClass item_class, int64_t rowid, ByteView uuid) const {
  if (uuid.size() == kPersistentRefUuidBytes) return make_uuid_persistent_ref(item_class, uuid);
  return make_persistent_ref(item_class, rowid);
}

Result<int64_t> Device::add(const NewItem& n, Random& random, Bytes* persistent_ref) {
  Item item(n.item_class, n.accessible, n.secret);
  item.set_synchronizable(n.synchronizable);
  if (n.token == Token::kSecureEnclave) item.set_token_id(std::string(kSecureEnclaveTokenId));
  item.set_auth_constraint(n.auth_constraint);
  if (n.system_bound == SystemBound::kPreserveDuringRestore) item.set_system_bound_flags(1);
  if (n.app_clip) item.set_app_clip(true);
  if (n.tombstone) item.set_tombstone(true);
  KCB_RETURN_IF_ERROR(item.set_account(n.account));
  KCB_RETURN_IF_ERROR(item.set_service(n.service));
  if (!n.access_group.empty()) item.set_access_group(n.access_group);
  if (!n.label.empty()) item.set_label(n.label);
  const DerDate now = der_date_from_unix_seconds(random.now_unix_seconds());
  item.set_creation_date(now);
  item.set_modification_date(now);
  KCB_ASSIGN_OR_RETURN(SecretBytes plaintext, item.encode());
  return insert_item(item, plaintext.view(), 0, {}, random, persistent_ref);
}

namespace {

Status apply_update(const ItemUpdate& changes, Item& item) {
  if (changes.accessible) item.set_accessibility(*changes.accessible);
  if (changes.synchronizable) item.set_synchronizable(*changes.synchronizable);
  if (changes.account) KCB_RETURN_IF_ERROR(item.set_account(*changes.account));
  if (changes.service) KCB_RETURN_IF_ERROR(item.set_service(*changes.service));
  if (changes.label) item.set_label(*changes.label);
  if (changes.secret) item.set_secret(*changes.secret);
  return check_item_parameters(item);
}

}  // namespace

Status Device::update(ItemClass item_class, int64_t rowid, const ItemUpdate& changes,
                      Random& random) {
  KCB_ASSIGN_OR_RETURN(KeychainRow row, store_->get(item_class, rowid));
  auto opened = open_row(item_class, row.data);
  if (!opened.ok()) return opened.status().with_context("row " + std::to_string(rowid));
  Item& item = *opened;
  KCB_RETURN_IF_ERROR(apply_update(changes, item));
  item.set_modification_date(der_date_from_unix_seconds(random.now_unix_seconds()));
  KCB_ASSIGN_OR_RETURN(Bytes blob, seal_item(item, random));
  KeychainRow updated = keychain_row_for(item, std::move(blob));
  updated.rowid = rowid;
  updated.persistref = std::move(row.persistref);  // an update keeps the item's reference
  return store_->update(updated);
}

Status Device::remove(ItemClass item_class, int64_t rowid) {
  if (unfinished_) return check_writable();
  return store_->remove(item_class, rowid);
}

Result<std::vector<StoredItem>> Device::list(size_t* unreadable) const {
  std::vector<StoredItem> out;
  KCB_RETURN_IF_ERROR(for_each_item(
      [&out](int64_t rowid, ByteView ref, Item& item, ByteView) {
        out.push_back({rowid, Bytes(ref.begin(), ref.end()), std::move(item)});
        return Status::Ok();
      },
      unreadable));
  return out;
}

Result<std::vector<RowInfo>> Device::rows() const {
  KCB_ASSIGN_OR_RETURN(std::vector<KeychainRow> rows, store_->list_all());
  std::vector<RowInfo> out;
  out.reserve(rows.size());
  for (KeychainRow& r : rows) {
    const bool readable = open_row(r.item_class, r.data).ok();
    Bytes ref = persistent_ref_of(r.item_class, r.rowid, r.persistref);
    out.push_back({r.item_class, r.rowid, std::move(r.acct), std::move(r.svce), std::move(r.agrp),
                   readable, std::move(ref)});
  }
  return out;
}

Status Device::for_each_item(const ItemVisitor& fn, size_t* unreadable) const {
  if (unreadable != nullptr) *unreadable = 0;
  const auto skip = [unreadable] {
    if (unreadable != nullptr) ++*unreadable;
    return Status::Ok();
  };
  return store_->for_each_encrypted_item(
      [&](ItemClass c, int64_t rowid, ByteView uuid, ByteView blob) {
        auto plaintext = open_row_plaintext(blob);
        if (!plaintext.ok()) return skip();  // not readable on this device: skipped, counted
        auto item = Item::decode(c, plaintext->view());
        if (!item.ok()) return skip();
        const Bytes ref = persistent_ref_of(c, rowid, uuid);
        return fn(rowid, ref, *item, plaintext->view());
      });
}

Status Device::set_passcode(bool on, Random& random, size_t* deleted) {
  if (deleted != nullptr) *deleted = 0;
  if (on == passcode_) return Status::Ok();
  // R8, turning it off: the akpu items are deleted and their class key destroyed, in one change.
  return commit_change(on ? kPasscodeOnOp : kPasscodeOffOp, on, false, random, deleted);
}

Status Device::set_icloud_keychain(bool on) {
  return change_settings({.icloud_keychain = on});
}

Status Device::set_persistent_refs(PersistentRefKind kind, Random& random) {
  (void)random;  // the rows inserted from now on draw their UUIDs
  return change_settings({.persistent_refs = kind});
}

Status Device::set_sos(bool on) {
  return change_settings({.sos = on});
}

// The Device takes the new values only once the file holds them, so a refused or failed write (a
// read-only folder, a full disk) leaves the Device as the folder was.
Status Device::change_settings(const SettingsChange& change) {
  const auto before = std::tuple(icloud_keychain_, persistent_refs_, sos_);
  if (change.icloud_keychain) icloud_keychain_ = *change.icloud_keychain;
  if (change.persistent_refs) persistent_refs_ = *change.persistent_refs;
  if (change.sos) sos_ = *change.sos;
  Status st = save_settings();
  if (!st.ok()) std::tie(icloud_keychain_, persistent_refs_, sos_) = before;
  return st;
}

Status Device::erase(Random& random) {
  // Fresh class keys: nothing of the old keychain stays readable, even a row left behind.
  return commit_change(kEraseOp, passcode_, true, random, nullptr);
}

namespace {

Bytes journal_bytes(std::string_view operation, ByteView keybag, ByteView settings) {
  PlistPtr root(plist_new_dict());
  plist_dict_set_item(root.get(), "Operation", plist_new_string(std::string(operation).c_str()));
  plist_dict_set_item(root.get(), "Keybag",
                      plist_new_data(reinterpret_cast<const char*>(keybag.data()), keybag.size()));
  plist_dict_set_item(
      root.get(), "Settings",
      plist_new_data(reinterpret_cast<const char*>(settings.data()), settings.size()));
  return to_xml_plist(root.get());
}

}  // namespace

// The journal first; once it is in place the change is made, in memory too, and only the redo
// is left.
Status Device::commit_change(std::string_view operation, bool passcode, bool fresh_keys,
                             Random& random, size_t* deleted) {
  KCB_RETURN_IF_ERROR(check_writable());
  KCB_ASSIGN_OR_RETURN(NewKeybag bag, system_keybag(fresh_keys ? UnlockedKeybag{} : *keys_,
                                                    passcode, device_key_.view(), random));
  const auto adopt = [&] {
    *keybag_ = std::move(bag.bag);
    *keys_ = std::move(bag.keys);
    passcode_ = passcode;
  };
  if (!dir_) {  // in memory: no files, the rows are the whole change
    adopt();
    return remove_rows(operation, deleted);
  }
  const Bytes keybag = serialize_keybag(bag.bag);
  const Bytes settings = settings_bytes(passcode);
  const std::filesystem::path journal = *dir_ / kPendingFile;
  const Status journaled =
      write_file_atomically(*env_, journal, journal_bytes(operation, keybag, settings));
  if (!journaled.ok()) {
    // The journal may be in place all the same (its rename done, the folder's fsync failed):
    // taken back, the change did not happen; when even that fails, the next open decides.
    const Status gone = env_->remove(journal);
    if (!(gone.ok() || gone.code() == Code::kNotFound) || !env_->sync_dir(*dir_).ok()) {
      unfinished_ = true;
    }
    return journaled;
  }
  adopt();
  const Status done = redo(operation, keybag, settings, deleted);
  unfinished_ = !done.ok();
  return done;
}

// Every step can run again after a crash: deleting rows that are gone deletes none, the files are
// replaced whole, the journal goes last.
Status Device::redo(std::string_view operation, ByteView keybag, ByteView settings,
                    size_t* deleted) {
  KCB_RETURN_IF_ERROR(remove_rows(operation, deleted));
  KCB_RETURN_IF_ERROR(write_file_atomically(*env_, *dir_ / kKeybagFile, keybag));
  KCB_RETURN_IF_ERROR(write_file_atomically(*env_, *dir_ / kSettingsFile, settings));
  KCB_RETURN_IF_ERROR(env_->remove(*dir_ / kPendingFile));
  return env_->sync_dir(*dir_);
}

// What the operation deletes: for erase the app files and every row, for passcode off the akpu
// rows (R8: their class key goes with the new keybag).
Status Device::remove_rows(std::string_view operation, size_t* deleted) {
  if (operation == kEraseOp) {
    KCB_RETURN_IF_ERROR(remove_app_files());
    return store_->replace_all({});
  }
  if (operation == kPasscodeOffOp) {
    KCB_ASSIGN_OR_RETURN(const int64_t rows, store_->delete_accessibility(
                                                 Accessibility::kWhenPasscodeSetThisDeviceOnly));
    if (deleted != nullptr) *deleted = static_cast<size_t>(rows);
    return Status::Ok();
  }
  if (operation == kPasscodeOnOp) return Status::Ok();
  return Status::Corruption(std::string(kPendingFile) + ": Operation: unknown operation '" +
                            std::string(operation) + "'");
}

// open()'s part: the journal is read as hostile input (someone may have edited the folder).
Status Device::finish_pending(ByteView uid) {
  KCB_ASSIGN_OR_RETURN(Bytes bytes, env_->read_file(*dir_ / kPendingFile, 4 << 20));
  KCB_ASSIGN_OR_RETURN(PlistPtr root, parse_plist(bytes, kPendingFile));
  KCB_RETURN_IF_ERROR(expect_plist_type(root.get(), PLIST_DICT, kPendingFile));
  const auto field = [&](const char* key) -> Result<plist_t> {
    plist_t node = plist_dict_get_item(root.get(), key);
    if (node == nullptr)
      return Status::Corruption(std::string(kPendingFile) + ": " + key + ": missing");
    return node;
  };
  KCB_ASSIGN_OR_RETURN(plist_t op_node, field("Operation"));
  KCB_ASSIGN_OR_RETURN(std::string_view operation, plist_string(op_node, "Operation"));
  KCB_ASSIGN_OR_RETURN(plist_t bag_node, field("Keybag"));
  KCB_ASSIGN_OR_RETURN(ByteView keybag, plist_data(bag_node, "Keybag"));
  KCB_ASSIGN_OR_RETURN(plist_t settings_node, field("Settings"));
  KCB_ASSIGN_OR_RETURN(ByteView settings, plist_data(settings_node, "Settings"));
  // What the redo installs must be what open() can read: a keybag this UID unlocks, settings.
  Bytes uid_copy(uid.begin(), uid.end());
  const Status keys = load_keys(uid_copy, keybag);
  wipe(uid_copy);
  KCB_RETURN_IF_ERROR(keys);
  KCB_RETURN_IF_ERROR(load_settings(settings));
  return redo(operation, keybag, settings, nullptr);
}

}  // namespace kcb
