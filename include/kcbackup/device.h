// A simulated iPhone: a hardware UID that never leaves it, a system keybag whose class keys are
// wrapped with the UID-derived key 0x835, and a SQLite keychain (keychain-2.db) whose rows hold
// each item encrypted as a v3 blob under its class key. On disk a device is a directory:
//   DIR/uid            the 32-byte UID (simulated hardware; only this process reads it)
//   DIR/keybag         the system keybag (TLV)
//   DIR/device.plist   settings: passcode, iCloud Keychain, UniqueDeviceID, PersistentRefs
//                      (rowid or uuid), SOS (absent in older folders: rowid, off)
//   DIR/keychain-2.db  the keychain
// SecItem semantics: add and update fail with errSecAuthFailed for akpu without a passcode (R8),
// errSecParam for an auth-constrained synchronizable item or a Secure Enclave token outside class
// keys (R9), errSecDuplicateItem for a duplicate primary key; update and delete of a missing row
// fail with errSecItemNotFound. The device decides these by its own checks and
// its keybag; it never asks the oracle.
// Persistent references (R11, kcbackup/persistent_ref.h): every row has a rowid; a row inserted
// while the device uses UUID references also gets a random UUID, and its reference is then
// UUID-based, else old-style. A row keeps its reference when the device's kind changes later.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/env.h"
#include "kcbackup/item.h"
#include "kcbackup/model.h"
#include "kcbackup/random.h"
#include "kcbackup/status.h"

namespace kcb {

// Private to the engine (engine/keybag.h, engine/keychain_store.h, engine/device_internals.h).
struct Keybag;
struct UnlockedKeybag;
class KeychainStore;
struct DeviceInternals;

struct DeviceConfig {
  bool passcode = true;
  bool icloud_keychain = false;
  std::optional<Bytes> uid;  // 32 bytes; random when absent
  PersistentRefKind persistent_refs = PersistentRefKind::kRowid;
  bool sos = false;  // in the legacy iCloud Keychain sync circle: backups carry tombstones (R15)
};

// What SecItemAdd is given.
struct NewItem {
  ItemClass item_class = ItemClass::kGenp;
  Accessibility accessible = Accessibility::kWhenUnlocked;
  bool synchronizable = false;
  Token token = Token::kNone;
  bool auth_constraint = false;
  SystemBound system_bound = SystemBound::kNone;  // preserve: sysb = 1
  bool app_clip = false;                          // clip = 1 (R10)
  bool tombstone = false;                         // tomb = 1 (R15)
  std::string account;
  std::string service;
  std::string access_group = "kcbackup.example";
  std::string label;
  SecretBytes secret;
};

// A file of an app the device holds (`kcbackup device put`); a backup carries it, encrypted under
// its own key and protection class when the backup is.
struct AppFile {
  std::string domain;             // "AppDomain-com.example.app"
  std::string relative_path;      // "Documents/x"
  uint32_t protection_class = 3;  // NSFileProtectionCompleteUntilFirstUserAuthentication
  Bytes contents;
  bool operator==(const AppFile&) const = default;
};

// What SecItemUpdate is given: the attributes to change. An absent field keeps its value.
struct ItemUpdate {
  std::optional<Accessibility> accessible;
  std::optional<bool> synchronizable;
  std::optional<std::string> account;
  std::optional<std::string> service;
  std::optional<std::string> label;
  std::optional<SecretBytes> secret;
};

// An item as the device can read it: its row id, its persistent reference (in the device's kind)
// and the decrypted item.
struct StoredItem {
  int64_t rowid = 0;
  Bytes persistent_ref;
  Item item;
};

// A row of the keychain as metadata: what a tool needs to pick a row or count them, no secret.
struct RowInfo {
  ItemClass item_class = ItemClass::kGenp;
  int64_t rowid = 0;
  Bytes account;  // acct, a string or a data attribute: its bytes ('' when absent)
  Bytes service;  // svce, likewise
  std::string access_group;
  bool readable = false;  // this device's class keys open the row and it decodes
  Bytes persistent_ref;   // in the device's kind

  bool operator==(const RowInfo&) const = default;
};

// The OSStatus an add, update or delete failure maps to: FailedPrecondition -> errSecAuthFailed,
// AlreadyExists -> errSecDuplicateItem, NotFound -> errSecItemNotFound, others -> errSecParam.
AddError sec_error_of(const Status& status);

// A failed add, update or delete as the caller of `call` ("SecItemAdd") sees it: a refusal
// (InvalidArgument, FailedPrecondition, AlreadyExists, NotFound) gets "SecItemAdd refused the item:
// errSecDuplicateItem (-25299)" in front, its code kept (invalid input); any other failure (the
// store's I/O) is returned as it is.
Status sec_item_refusal(const Status& status, std::string_view call);

// Which item a SecItemUpdate or SecItemDelete names: a row, or (rowid absent) the account and
// service of one item of the class, as SecItemCopyMatching with kSecAttrAccount and kSecAttrService
// finds it: find_row below (engine/item_query.cc).
struct ItemQuery {
  ItemClass item_class = ItemClass::kGenp;
  std::optional<int64_t> rowid;
  std::string account;
  std::string service;
};

// The traits of a stored item, as the backup rules see them.
Traits traits_of(const Item& item);
// The other way: a SecItemAdd request with these traits; the caller names it (account, service,
// label) and gives the secret.
NewItem new_item_with(const Traits& traits);

// How a device folder is opened (docs/engine.md, "Device folders under concurrency"). A writer (the
// default) holds the folder's lock file exclusively from open until the Device is destroyed, so
// that the keybag read at open, the database commit and any keybag rewrite are one step for every
// other process; a reader holds it shared and opens keychain-2.db read-only, creating nothing (a
// read-only folder can be listed and backed up; its writes fail with FailedPrecondition). A lock
// held elsewhere is waited for up to lock_timeout, then IOError "DIR/lock: busy: ..." (exit 4).
enum class DeviceAccess : uint8_t { kReadWrite, kReadOnly };
struct DeviceOpenOptions {
  DeviceAccess access = DeviceAccess::kReadWrite;
  std::chrono::milliseconds lock_timeout{10'000};
};
inline constexpr const char* kDeviceLockFile = "lock";

class Device {
 public:
  static Result<std::unique_ptr<Device>> create_in_memory(const DeviceConfig& config,
                                                          Random& random);
  // Creates DIR (which must not exist or be empty, or hold an init that did not finish) in one
  // step: a crash or a failure at any point leaves no device there (open() refuses the folder as
  // "not a device directory", a new create_at replaces it) or a complete, durable one
  // (docs/reliability.md). Every later write of the device's files
  // (keybag and settings on set_passcode, set_icloud_keychain, erase) goes through `env`, which
  // must outlive the device. keychain-2.db is SQLite's own (env.h).
  static Result<std::unique_ptr<Device>> create_at(Env& env, const std::filesystem::path& dir,
                                                   const DeviceConfig& config, Random& random);
  static Result<std::unique_ptr<Device>> open(Env& env, const std::filesystem::path& dir,
                                              const DeviceOpenOptions& options = {});
  ~Device();

  // The Lockdown UniqueDeviceID: 40 hex digits derived from the UID (one-way).
  const std::string& unique_device_id() const { return udid_; }
  bool has_passcode() const { return passcode_; }
  bool icloud_keychain() const { return icloud_keychain_; }
  PersistentRefKind persistent_refs() const { return persistent_refs_; }
  bool sos() const { return sos_; }
  // Key 0x835, the class keys and the raw store never leave the engine: its own code and tests
  // reach them through engine/device_internals.h.

  // SecItemAdd. Returns the new row id; `persistent_ref`, when given, gets the row's persistent
  // reference (kSecReturnPersistentRef: what an app keeps to find the item again).
  Result<int64_t> add(const NewItem& item, Random& random, Bytes* persistent_ref = nullptr);
  // Adds a decoded item as it is (restore and sync use this): same checks as add.
  Result<int64_t> add_item(const Item& item, Random& random);
  // The same, sealing `canonical_plaintext`, which must be item.encode()'s bytes — such as the
  // bytes the item was decoded from: the decoder accepts canonical DER only, so re-encoding would
  // reproduce them (restore saves that work per item).
  Result<int64_t> add_item(const Item& item, ByteView canonical_plaintext, Random& random);
  // SecItemUpdate on one row: the same checks as add (R8 by the keybag, R9, duplicates), a new
  // modification date, and the item sealed again under the class key of its (new) accessibility.
  // NotFound (errSecItemNotFound) when the row does not exist.
  Status update(ItemClass item_class, int64_t rowid, const ItemUpdate& changes, Random& random);
  Status remove(ItemClass item_class, int64_t rowid);
  // Every item the device can decrypt, in a deterministic order (class, then row id). A row whose
  // class key is gone or whose blob does not open is skipped: it is not readable. `unreadable`,
  // when given, counts those rows.
  Result<std::vector<StoredItem>> list(size_t* unreadable = nullptr) const;
  // Every row, readable or not, in list()'s order, as metadata only.
  Result<std::vector<RowInfo>> rows() const;
  // list()'s items streamed one row at a time, each with its persistent reference and the
  // canonical plaintext it was decoded from (Item::decode accepts canonical DER only, so
  // item.encode() would rebuild exactly these bytes): a backup seals them as they are. `item` may
  // be moved from; `persistent_ref` and `plaintext` are valid during the call. An error from fn
  // stops the walk and is returned. `unreadable`, when given, counts the rows skipped.
  using ItemVisitor =
      std::function<Status(int64_t rowid, ByteView persistent_ref, Item& item, ByteView plaintext)>;
  Status for_each_item(const ItemVisitor& fn, size_t* unreadable = nullptr) const;

  // App files (engine/device_files.cc): in DIR/app-files.plist, in memory for an in-memory device.
  // put_app_file replaces the file with the same domain and path; InvalidArgument for an empty
  // domain or path, a path with ".." or a leading "/", a protection class outside 1-11.
  Result<std::vector<AppFile>> app_files() const;
  Status put_app_file(AppFile file);

  // Turning the passcode off destroys the akpu class key and deletes every akpu item (R8);
  // `deleted`, when given, counts those rows.
  Status set_passcode(bool on, Random& random, size_t* deleted = nullptr);
  Status set_icloud_keychain(bool on);
  // The kind of reference the rows inserted from now on get (an add, a restore, a transfer, a
  // sync); every row keeps the one it has. A restore of an old-style backup onto the device after a
  // switch to UUID references re-inserts its items under new ones (R11).
  Status set_persistent_refs(PersistentRefKind kind, Random& random);
  Status set_sos(bool on);
  // Several settings in one write of device.plist (`device set --persistent-refs K --sos S`): a
  // failure leaves all of them as they were, in the folder and in this Device. The three setters
  // above are this with one field.
  struct SettingsChange {
    std::optional<bool> icloud_keychain;
    std::optional<PersistentRefKind> persistent_refs;
    std::optional<bool> sos;
  };
  Status change_settings(const SettingsChange& change);
  // "Erase All Content and Settings": no app files, an empty keychain and a fresh keybag; the UID
  // stays.
  Status erase(Random& random);

  // Seals an item under this device's class key for its accessibility.
  Result<Bytes> seal_item(const Item& item, Random& random) const;
  // Seals the plaintext dictionary of an item of this accessibility under its class key.
  Result<Bytes> seal_plaintext(Accessibility accessible, ByteView plaintext, Random& random) const;
  // Opens a row's blob under this device's class keys.
  Result<Item> open_row(ItemClass item_class, ByteView blob) const;
  // The blob's plaintext (the item's DER dictionary), not yet decoded.
  Result<SecretBytes> open_row_plaintext(ByteView blob) const;

 private:
  Device();
  // In memory when `dir` is empty; otherwise DIR is create_at's, and `lock` its folder lock.
  static Result<std::unique_ptr<Device>> create(Env* env, std::optional<std::filesystem::path> dir,
                                                const DeviceConfig& config, Random& random,
                                                std::unique_ptr<FileLock> lock);
  Status init_keys(const Bytes& uid, Random& random);
  Status load_keys(const Bytes& uid, ByteView keybag);
  Status rebuild_keybag(bool with_passcode_class, Random& random);
  Bytes settings_bytes(bool passcode) const;
  Status save_settings() const;
  Status load_settings(ByteView bytes);
  // Read-only, or an earlier change did not finish (unfinished_): FailedPrecondition / IOError.
  Status check_writable() const;
  // The changes that rewrite more than one file (erase, set_passcode) go through an intent
  // journal, DIR/pending.plist (engine/device.cc): written first, it is the change's commit point;
  // open() finishes a change whose journal it finds.
  Status commit_change(std::string_view operation, bool passcode, bool fresh_keys, Random& random,
                       size_t* deleted);
  Status redo(std::string_view operation, ByteView keybag, ByteView settings, size_t* deleted);
  Status finish_pending(ByteView uid);
  Status remove_rows(std::string_view operation, size_t* deleted);
  // Erase's part of the app files (engine/device_files.cc): none afterwards.
  Status remove_app_files();
  // add_item with the row's identity chosen (DeviceInternals::insert_item, for restore), and the
  // new row's persistent reference in *persistent_ref when given (restore reports it: reading the
  // row back for it was a seventh of a restore).
  Result<int64_t> insert_item(const Item& item, ByteView canonical_plaintext, int64_t rowid,
                              Bytes uuid, Random& random, Bytes* persistent_ref = nullptr);
  Bytes persistent_ref_of(ItemClass item_class, int64_t rowid, ByteView uuid) const;

  friend struct DeviceInternals;

  Env* env_ = nullptr;  // with dir_: where the device's files are written
  std::optional<std::filesystem::path> dir_;
  // The folder's lock (DeviceOpenOptions), released after everything below is closed.
  std::unique_ptr<FileLock> lock_;
  bool read_only_ = false;
  // A change failed after its journal was written (or its keybag rewrite failed): the folder may
  // not hold the class keys in memory, so this Device changes nothing more (a row sealed now could
  // be unreadable after reopening); opening the folder again finishes the change.
  bool unfinished_ = false;
  SecretBytes uid_;
  SecretBytes device_key_;
  std::string udid_;
  bool passcode_ = true;
  bool icloud_keychain_ = false;
  PersistentRefKind persistent_refs_ = PersistentRefKind::kRowid;
  bool sos_ = false;
  std::unique_ptr<Keybag> keybag_;
  std::unique_ptr<UnlockedKeybag> keys_;
  std::unique_ptr<KeychainStore> store_;
  std::vector<AppFile> memory_app_files_;  // in-memory devices only
};

// The row the query names, readable or not, as metadata. NotFound (errSecItemNotFound) "no genp row
// 9" or "no genp item with account 'a' and service 's'"; InvalidArgument "account 'a' and service
// 's' match 2 genp rows (3, 5)" when several items match (a synchronizable twin, another access
// group).
Result<RowInfo> find_row(const Device& device, const ItemQuery& query);

}  // namespace kcb
