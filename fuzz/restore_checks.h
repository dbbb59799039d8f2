// The restore targets' fixed device and what they check after each restore (fuzz targets restore
// and folder): the target's rows are snapshotted once, compared after every input, and put back.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "engine/device_internals.h"
#include "engine/keychain_store.h"
#include "fuzz/fixed_keys.h"
#include "fuzz/restore_target.h"
#include "kcbackup/archive.h"
#include "kcbackup/backup.h"
#include "kcbackup/names.h"

namespace kcb::fuzz {

struct FixedTarget {
  std::unique_ptr<Device> device;
  std::vector<KeychainRow> snapshot;
};

inline FixedTarget& fixed_target(bool passcode) {
  auto make = [](bool p) {
    FixedTarget t{make_target_device(p), {}};
    auto rows = DeviceInternals::store(*t.device).list_all();
    KCB_ASSERT(rows.ok());
    t.snapshot = std::move(rows).value();
    return t;
  };
  static FixedTarget with_passcode = make(true);
  static FixedTarget without_passcode = make(false);
  return passcode ? with_passcode : without_passcode;
}

inline RestoreOptions restore_options(bool with_password) {
  RestoreOptions options;
  if (with_password) options.password.assign(kPassword.begin(), kPassword.end());
  options.keybag_limits.max_iterations = 16;
  options.keybag_limits.max_dp_iterations = 16;
  return options;
}

// The same row, wherever it is now: R12 puts a system-bound row back by R11's re-insert rule,
// under its own rowid when that is free, else a new one.
inline bool same_but_rowid(const KeychainRow& a, const KeychainRow& b) {
  KeychainRow moved = a;
  moved.rowid = b.rowid;
  return moved == b;
}

inline bool has_row(const std::vector<KeychainRow>& rows, const KeychainRow& row) {
  return std::find(rows.begin(), rows.end(), row) != rows.end();
}

inline bool is_listed(const ItemFate& fate, const std::vector<StoredItem>& listed) {
  for (const StoredItem& s : listed) {
    const Item& item = s.item;
    if (item.item_class() != fate.item_class || item.accessibility() != fate.accessible) continue;
    const std::string account(item.account().begin(), item.account().end());
    if (account == fate.account && item.label() == fate.label) return true;
  }
  return false;
}

inline void check_success(const RestoreReport& report, const KeychainArchive& archive,
                          const FixedTarget& target, const std::vector<KeychainRow>& rows) {
  size_t archived = 0;
  for (const auto& items : archive.items)
    archived += items.size();
  KCB_ASSERT(report.items.size() == archived);

  // The target's own rows: synchronizable ones stay exactly (R7, and R13 on a collision);
  // system-bound ones are put back after the import (R12), or dropped with a warning when a copy
  // the backup brought took their primary key; every other one is replaced (R7).
  size_t stayed = 0;
  int64_t replaced = 0;
  for (const KeychainRow& row : target.snapshot) {
    if (row.sync) {
      KCB_ASSERT(has_row(rows, row));
      ++stayed;
    } else if (row.sysb != 0) {
      const bool back = std::any_of(rows.begin(), rows.end(),
                                    [&](const KeychainRow& r) { return same_but_rowid(row, r); });
      KCB_ASSERT(back || !report.warnings.empty());
      stayed += back ? 1 : 0;
    } else {
      ++replaced;
    }
  }
  KCB_ASSERT(report.replaced == replaced);
  KCB_ASSERT(rows.size() == stayed + report.restored_count());

  auto listed = target.device->list();
  KCB_ASSERT(listed.ok());
  KCB_ASSERT(listed->size() == rows.size());  // every row is readable
  for (const ItemFate& fate : report.items) {
    // Exactly one of restored, kept (R13: the target's item stays) or lost with its reason.
    KCB_ASSERT(!(fate.restored && fate.kept));
    KCB_ASSERT((fate.restored || fate.kept) == (fate.reason == LossReason::kNone));
    KCB_ASSERT(loss_reason_name(fate.reason) != "?");
    if (fate.restored) KCB_ASSERT(is_listed(fate, *listed));
  }
  if (!target.device->has_passcode()) {
    for (const KeychainRow& row : rows)
      KCB_ASSERT(row.pdmn != Accessibility::kWhenPasscodeSetThisDeviceOnly);
  }
}

// Back to the snapshot: same rows, same row ids (the tables have no AUTOINCREMENT).
inline void reset(FixedTarget& target) {
  KeychainStore& store = DeviceInternals::store(*target.device);
  KCB_ASSERT(store.replace_all(target.snapshot).ok());
  auto now = store.list_all();
  KCB_ASSERT(now.ok() && *now == target.snapshot);
}
}  // namespace kcb::fuzz
