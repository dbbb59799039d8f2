// A model of several devices and one iCloud Keychain account, for the stateful property: what each
// device's readable keychain holds after a sequence of adds, deletes, settings changes, backups,
// erases, restores, Quick Starts and syncs. Every decision comes from the oracle's rule functions
// (check_add, is_exportable, can_sync, replaced_by_restore, deleted_when_passcode_removed) and
// from predict() for whether a backup or transfer carries an item onto a device; the world only
// keeps the state. Pure and deterministic; depends on model/ and oracle/ only.
//
// Conventions the engine driver must follow for the model to be exact:
//   - accounts are unique across the world (an item is identified by its account);
//   - sync is explicit: sync(d) pushes d's syncable items into the account (replacing records of
//     the same account), then gives d every record whose account it lacks; sync_members() syncs
//     every member device once, in device order;
//   - only a member whose iCloud Keychain setting is on syncs; a synchronizable item deleted on
//     such a device is forgotten by the account (on any other device, it is not);
//   - erase keeps the device's settings and its iCloud Keychain membership (same hardware);
//   - a password-less backup ignores the password given at restore;
//   - a device's items include its tombstones (rows with tomb = 1, R15): they are rows, carried by
//     a backup made with SOS on like the item they mark, never by sync; no app reads them;
//   - rowids are SQLite's without AUTOINCREMENT: one more than the largest in the item's class on
//     that device, 1 in an empty class. A restore deletes what R7 deletes and takes the target's
//     system-bound items out (R12), inserts the backup's items class by class in the order of their
//     source rowids, then puts the system-bound items back in the order of their rowids;
//   - a row keeps its persistent reference when the device's kind changes later: only an insert
//     (add, restore, transfer, sync) hands out a reference of the device's kind (R11);
//   - Quick Start transfers like a backup made with the source's SOS setting restored onto the new
//     device (R10's inference), references included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/model.h"

namespace kcb::oracle {

// A persistent reference as the model knows it (R11). Old-style: `value` is the rowid, so two
// references are equal exactly when their 12 bytes are. UUID-based: `value` is a serial the world
// hands out once per new UUID (1, 2, ...): equal serials stand for equal 16 bytes, and a property
// maps serials to the engine's UUIDs one to one.
struct WorldRef {
  PersistentRefKind kind = PersistentRefKind::kRowid;
  int64_t value = 0;
  bool operator==(const WorldRef&) const = default;
};

struct WorldItem {
  Traits traits;
  std::string account;
  std::string secret;  // the secret's bytes
  // Set by the world on every insert; what the caller passes to add_item is ignored.
  int64_t rowid = 0;  // the row in its class's table
  WorldRef ref{};     // what kSecReturnPersistentRef gives for it
  bool operator==(const WorldItem&) const = default;
};

struct WorldDevice {
  bool passcode = true;
  bool icloud_keychain = false;  // the device's iCloud Keychain setting (Settings switch)
  bool member = false;           // holds the account's sync key: joined, not left since
  PersistentRefKind persistent_refs = PersistentRefKind::kRowid;  // what new rows get (R11)
  bool sos = false;              // in the legacy sync circle: backups carry tombstones (R15)
  std::vector<WorldItem> items;  // sorted by account
};

struct WorldBackup {
  size_t source = 0;  // device index: its hardware
  Journey journey = Journey::kLocal;
  bool source_passcode = true;
  std::vector<WorldItem> items;  // what the export filter let through, with their references
};

class World {
 public:
  size_t add_device(bool passcode, PersistentRefKind refs = PersistentRefKind::kRowid);

  // SecItemAdd: the oracle's add checks, then a duplicate check by account.
  AddError add_item(size_t device, const WorldItem& item);
  // Deletes the item; a synchronizable item deleted on a syncing device (a member whose setting is
  // on) is forgotten by the account.
  // False when the device has no such item.
  bool remove_item(size_t device, std::string_view account);
  void set_passcode(size_t device, bool on);
  // On: join (the setting goes on, and that device syncs). Off: leave (the setting goes off and
  // membership ends); the device keeps its items.
  void set_icloud_keychain(size_t device, bool on);
  // The device's setting alone, without joining or leaving: a member switched off does not sync
  // until it is switched on again; a non-member switched on still does not sync.
  void switch_icloud_keychain(size_t device, bool on);
  // The kind of reference the device hands out to rows inserted from now on (R11).
  void set_persistent_refs(size_t device, PersistentRefKind kind);
  // The legacy sync circle (SOS): backups made while it is on carry tombstones (R15).
  void set_sos(size_t device, bool on);
  // local, local-encrypted or icloud-backup. Returns the backup's index.
  size_t back_up(size_t device, Journey journey);
  void erase(size_t device);
  // False (and nothing changes) when the backup is encrypted and the password is wrong.
  bool restore(size_t backup, size_t device, bool right_password);
  // Quick Start from `from` onto a new device. Returns the new device's index.
  size_t quick_start(size_t from, bool new_device_passcode,
                     PersistentRefKind new_device_refs = PersistentRefKind::kRowid);

  void sync(size_t device);
  void sync_members();

  const std::vector<WorldDevice>& devices() const { return devices_; }
  const std::vector<WorldBackup>& backups() const { return backups_; }
  const WorldItem* find(size_t device, std::string_view account) const;
  // Whether any device, backup or the account has ever seen this account name.
  bool account_in_use(std::string_view account) const;

 private:
  // Adds an arriving item unless the device refuses it (add checks, duplicate), as a new row
  // with a new reference of the device's kind.
  void receive(WorldDevice& d, const WorldItem& item);
  // Inserts a row that carries `ref` (a restore, a transfer, R12's put-back): the reference is
  // re-applied when R11 says so, else the row gets a new one. Refused like receive().
  void reinsert(WorldDevice& d, const WorldItem& item, const WorldRef& ref);
  // Inserts `item` as a row with that rowid and reference.
  static void insert_row(WorldDevice& d, WorldItem item, int64_t rowid, WorldRef ref);
  WorldRef new_ref(const WorldDevice& d, int64_t rowid);
  // Whether `item` of backup/transfer `journey` from device `source` (with that passcode) comes
  // back on device `target` by the backup road, per oracle::predict. A tombstone row travels
  // like the item it marks (whether the export took it is the backup's business, R15).
  static bool carried(const WorldItem& item, Journey journey, bool source_passcode,
                      bool same_hardware);
  // The items a backup or transfer made on `d` holds, class by class in rowid order.
  static std::vector<WorldItem> exported(const WorldDevice& d);

  std::vector<WorldDevice> devices_;
  std::vector<WorldBackup> backups_;
  std::map<std::string, WorldItem, std::less<>> cloud_;  // account -> record
  std::set<std::string, std::less<>> accounts_;          // every account ever added
  int64_t uuid_serials_ = 0;                             // UUIDs handed out so far
};

}  // namespace kcb::oracle
