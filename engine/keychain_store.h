// A device's keychain-2.db: one SQLite table per item class (genp, inet, cert, keys) with Apple's
// column names. Contract:
//   - `data` holds the encrypted item exactly as the device layer hands it over; the store never
//     looks inside. The other columns are the plaintext attributes the device queries by.
//   - A duplicate primary key within a class is Status::AlreadyExists (errSecDuplicateItem); the
//     per-class keys are listed in keychain_store.cc and docs/der.md. So is a duplicate rowid or
//     persistref (UUID): callers that choose them (restore, R11) check first with has_rowid /
//     has_persistref, so that AlreadyExists from insert means the primary key.
//   - Schema version 2 added persistref, clip and tomb; a version 1 file is upgraded in place at
//     open (the new columns empty / 0).
//   - Every multi-row change (delete_unbound_non_synchronizable, delete_accessibility) is atomic
//     on its own; begin/commit/rollback or a KeychainTransaction make a sequence of calls atomic
//     (restore is all or nothing, R7). Nested transactions are FailedPrecondition.
//   - SQLite errors become IOError, or Corruption for a file that is not a database or is
//     malformed, with SQLite's message. Durability: journal_mode=DELETE and synchronous=EXTRA by
//     default (a committed transaction survives power loss: EXTRA, not FULL, because only EXTRA
//     fsyncs the folder after deleting the journal, and a journal that comes back after a power
//     loss rolls the committed transaction back — tests/fault_test.cc's crash runs; the main file
//     alone is always a complete database between transactions); secure_delete=ON so that deleted
//     secrets' bytes are overwritten in the file.
//   - Not thread-safe: one store, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/bytes.h"
#include "kcbackup/der.h"
#include "kcbackup/item.h"
#include "kcbackup/model.h"
#include "kcbackup/status.h"

namespace kcb {

// One row of any of the four tables. Strings and blobs are '' / empty when the item has no such
// attribute (never NULL, so that the uniqueness constraints compare them).
struct KeychainRow {
  ItemClass item_class = ItemClass::kGenp;
  int64_t rowid = 0;  // 0 on insert: the store assigns one
  DerDate cdat;       // stored as Unix milliseconds (Apple: REAL seconds since 2001)
  DerDate mdat;
  std::string labl;
  std::string agrp;
  Bytes acct;  // string or data attribute: its bytes
  Bytes svce;
  std::string srvr;
  int64_t ptcl = 0;
  int64_t port = 0;
  std::string path;
  Accessibility pdmn = Accessibility::kWhenUnlocked;  // stored as its pdmn code ("ak")
  bool sync = false;
  std::string tkid;
  int64_t sysb = 0;
  bool accc = false;  // the auth constraint (Apple stores the ACL itself here)
  Bytes data;         // the encrypted item, opaque to the store
  // The row's UUID for UUID-based persistent references (16 bytes; R11), empty when it has none.
  // Stored as NULL when empty, so that the per-class UNIQUE index on it admits many rows without.
  Bytes persistref;
  bool clip = false;  // added by an App Clip (R10)
  bool tomb = false;  // a tombstone: marker of a deleted synchronizable item (R15)
  bool operator==(const KeychainRow&) const = default;
};

// A row to write, borrowing its strings and blobs (from an Item, a KeychainRow): insert and
// find_primary_key bind straight from it, so a restored item's columns are never copied.
struct KeychainRowView {
  ItemClass item_class = ItemClass::kGenp;
  int64_t rowid = 0;
  DerDate cdat;
  DerDate mdat;
  std::string_view labl;
  std::string_view agrp;
  ByteView acct;
  ByteView svce;
  std::string_view srvr;
  int64_t ptcl = 0;
  int64_t port = 0;
  std::string_view path;
  Accessibility pdmn = Accessibility::kWhenUnlocked;
  bool sync = false;
  std::string_view tkid;
  int64_t sysb = 0;
  bool accc = false;
  ByteView data;
  ByteView persistref;
  bool clip = false;
  bool tomb = false;
};

KeychainRowView view_of(const KeychainRow& row);

// The columns of `item` with `data` as the encrypted item; rowid 0. The view borrows from both.
KeychainRowView keychain_row_view_for(const Item& item, ByteView data);
KeychainRow keychain_row_for(const Item& item, Bytes data);

struct KeychainStoreOptions {
  // false: synchronous=OFF, for tests and benchmarks that do not care about power loss.
  bool durable = true;
  // SQLITE_OPEN_READONLY: never creates the file or the schema (a missing schema is Corruption);
  // every write fails. What readers (list, backup, inspect) open, so a read-only folder works.
  bool read_only = false;
  // How long SQLite waits for another connection's lock before SQLITE_BUSY (sqlite3_busy_timeout).
  // Device folders serialize writers with their own lock first (engine/device.cc).
  int busy_timeout_ms = 10'000;
};

class KeychainStore;

// Rolls back on destruction unless committed or rolled back. The store must outlive it.
class KeychainTransaction {
 public:
  KeychainTransaction(KeychainTransaction&& other) noexcept;
  KeychainTransaction& operator=(KeychainTransaction&&) = delete;
  KeychainTransaction(const KeychainTransaction&) = delete;
  ~KeychainTransaction();

  Status commit();
  Status rollback();
  bool active() const { return store_ != nullptr; }

 private:
  friend class KeychainStore;
  explicit KeychainTransaction(KeychainStore* store) : store_(store) {}
  KeychainStore* store_;
};

class KeychainStore {
 public:
  // Creates the file and the schema when absent. Corruption when the file is not a keychain
  // database of ours (not SQLite, or an unknown schema version).
  static Result<std::unique_ptr<KeychainStore>> open(const std::string& path,
                                                     const KeychainStoreOptions& options = {});
  // An empty in-memory keychain. Taken from this thread's pool of idle connections when it has one
  // (schema built and statements prepared once per connection; a destroyed in-memory store goes
  // back emptied by replace_all({}), up to 8 of them), else opened and set up like a file. Either
  // way it answers exactly as a new database would (tests/device_reuse_test.cc);
  // KCB_BASELINE_SETUP=1 (engine/setup_profile.h) turns the pool off.
  static Result<std::unique_ptr<KeychainStore>> open_in_memory();
  // How many idle in-memory connections this thread's pool holds (tests).
  static size_t idle_in_memory_stores();
  // The schema as SQLite holds it: user_version, then every sqlite_master row (type, name,
  // table, sql) in name order. A pooled connection and one built from SQL must give the same text.
  Result<std::string> describe_schema();
  ~KeychainStore();
  KeychainStore(const KeychainStore&) = delete;
  KeychainStore& operator=(const KeychainStore&) = delete;

  Status begin();
  Status commit();
  Status rollback();
  bool in_transaction() const;
  // begin() wrapped in a guard that rolls back unless committed.
  Result<KeychainTransaction> transaction();

  // Returns the rowid (row.rowid if non-zero, else a fresh one). AlreadyExists on a duplicate
  // primary key or rowid.
  Result<int64_t> insert(const KeychainRowView& row);
  Result<int64_t> insert(const KeychainRow& row) { return insert(view_of(row)); }
  // Replaces every column of the row (row.item_class, row.rowid). NotFound, AlreadyExists.
  Status update(const KeychainRow& row);
  Status remove(ItemClass item_class, int64_t rowid);            // NotFound
  Result<KeychainRow> get(ItemClass item_class, int64_t rowid);  // NotFound

  // Whether the class's table has a row with this rowid, or with this persistref (a UUID).
  Result<bool> has_rowid(ItemClass item_class, int64_t rowid);
  Result<bool> has_persistref(ItemClass item_class, ByteView persistref);
  // The rowid of the row with `row`'s primary key in its class (keychain_store.cc lists the key
  // columns), or nullopt.
  Result<std::optional<int64_t>> find_primary_key(const KeychainRowView& row);
  Result<std::optional<int64_t>> find_primary_key(const KeychainRow& row) {
    return find_primary_key(view_of(row));
  }

  // R7: deletes every row with sync = 0 and sysb = 0, in all classes (R12: system-bound rows stay,
  // their rowid and UUID with them). Returns how many.
  Result<int64_t> delete_unbound_non_synchronizable();
  // R8: deletes every row whose pdmn is `a`, in all classes. Returns how many.
  Result<int64_t> delete_accessibility(Accessibility a);

  // Every table emptied and `rows` inserted with their own rowids (0: SQLite picks), in one
  // transaction of its own (FailedPrecondition inside another): afterwards the store answers as a
  // new one into which `rows` were inserted. Resets a fixture between fuzz inputs.
  Status replace_all(const std::vector<KeychainRow>& rows);

  // All rows: classes in kAllItemClasses order (genp, inet, cert, keys), then by rowid.
  Result<std::vector<KeychainRow>> list_all();
  // The class's rowids, ascending.
  Result<std::vector<int64_t>> rowids(ItemClass item_class);
  // The encrypted items only, in list_all()'s order, streamed: fn(class, rowid, persistref, data)
  // with `persistref` and `data` valid during the call. A backup of a million items reads them this
  // way, one row in memory at a time. An error from fn stops the walk and is returned.
  using EncryptedItemVisitor =
      std::function<Status(ItemClass, int64_t rowid, ByteView persistref, ByteView data)>;
  Status for_each_encrypted_item(const EncryptedItemVisitor& fn);
  Result<int64_t> count();
  Result<int64_t> count(ItemClass item_class);

  struct Impl;  // internal: SQLite handle and prepared statements

 private:
  explicit KeychainStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kcb
