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
//   - a password-less backup ignores the password given at restore.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kcbackup/model.h"

namespace kcb::oracle {

struct WorldItem {
  Traits traits;
  std::string account;
  std::string secret;  // the secret's bytes
  bool operator==(const WorldItem&) const = default;
};

struct WorldDevice {
  bool passcode = true;
  bool icloud_keychain = false;  // the device's iCloud Keychain setting (Settings switch)
  bool member = false;           // holds the account's sync key: joined, not left since
  std::vector<WorldItem> items;  // sorted by account
};

struct WorldBackup {
  size_t source = 0;  // device index: its hardware
  Journey journey = Journey::kLocal;
  bool source_passcode = true;
  std::vector<WorldItem> items;  // what the export filter let through
};

class World {
 public:
  size_t add_device(bool passcode);

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
  // local, local-encrypted or icloud-backup. Returns the backup's index.
  size_t back_up(size_t device, Journey journey);
  void erase(size_t device);
  // False (and nothing changes) when the backup is encrypted and the password is wrong.
  bool restore(size_t backup, size_t device, bool right_password);
  // Quick Start from `from` onto a new device. Returns the new device's index.
  size_t quick_start(size_t from, bool new_device_passcode);

  void sync(size_t device);
  void sync_members();

  const std::vector<WorldDevice>& devices() const { return devices_; }
  const std::vector<WorldBackup>& backups() const { return backups_; }
  const WorldItem* find(size_t device, std::string_view account) const;
  // Whether any device, backup or the account has ever seen this account name.
  bool account_in_use(std::string_view account) const;

 private:
  // Adds an arriving item unless the device refuses it (add checks, duplicate).
  void receive(WorldDevice& d, const WorldItem& item);
  // Whether `item` of backup/transfer `journey` from device `source` (with that passcode) comes
  // back on device `target` by the backup road, per oracle::predict.
  static bool carried(const WorldItem& item, Journey journey, bool source_passcode,
                      bool same_hardware);

  std::vector<WorldDevice> devices_;
  std::vector<WorldBackup> backups_;
  std::map<std::string, WorldItem, std::less<>> cloud_;  // account -> record
  std::set<std::string, std::less<>> accounts_;          // every account ever added
};

}  // namespace kcb::oracle
