// kcbackup/backup_report.h: a backup folder's items with the oracle's and the engine's answers.
#include "kcbackup/backup_report.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "engine/blob.h"
#include "engine/keybag.h"
#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_keys.h"
#include "kcbackup/device.h"
#include "kcbackup/item.h"
#include "kcbackup/names.h"
#include "kcbackup/oracle.h"
#include "kcbackup/persistent_ref.h"
#include "kcbackup/utf8.h"

namespace kcb {

std::string_view protection_class_name(uint32_t protection_class) {
  // NSFileProtectionType's four (Foundation); 5 has no public name.
  switch (protection_class) {
    case 1:
      return "Complete";
    case 2:
      return "CompleteUnlessOpen";
    case 3:
      return "CompleteUntilFirstUserAuthentication";
    case 4:
      return "None";
    default:
      break;
  }
  // 6-11: the keychain's classes; accessibility_from_key_class also knows 12 (akpu), which is a
  // system-keybag class and never a file's or a backup's.
  if (protection_class > 11) return "";
  const std::optional<Accessibility> a = accessibility_from_key_class(protection_class);
  return a ? names_of(*a).name : std::string_view();
}

std::string protection_class_text(uint32_t protection_class) {
  const std::string_view name = protection_class_name(protection_class);
  return std::to_string(protection_class) + (name.empty() ? "" : " " + std::string(name));
}

std::string_view name_of(UnwrapState state) {
  switch (state) {
    case UnwrapState::kUnwraps:
      return "unwraps";
    case UnwrapState::kDoesNotOpen:
      return "does-not-open";
    case UnwrapState::kLocked:
      return "locked";
    case UnwrapState::kMalformed:
      return "malformed";
    case UnwrapState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

size_t BackupReport::undecoded_count() const {
  size_t n = 0;
  for (const ReportedItem& item : items)
    n += item.decoded ? 0 : 1;
  return n;
}

namespace {

constexpr uint32_t kDeviceLayer = 1;  // WRAP & 1 (formats.md)

// What one set of class keys does with one item.
struct Trial {
  EngineSide side;
  std::optional<Item> item;
};

// `wrap`: the class's WRAP in the backup bag (nullopt: the bag has no such class);
// `device_missing`: the keys were made without any device, so a device-layer class is unknown
// rather than locked.
Trial try_item(ItemClass item_class, const ParsedBlob& blob, const UnlockedKeybag& keys,
               std::optional<uint32_t> wrap, bool device_missing) {
  Trial t;
  const SecretBytes* key = keys.key_for(blob.key_class);
  if (key == nullptr) {
    if (!wrap) {
      t.side = {UnwrapState::kLocked,
                "the backup keybag has no class " + std::to_string(blob.key_class)};
    } else if ((*wrap & kDeviceLayer) != 0 && device_missing) {
      t.side = {UnwrapState::kUnknown, "needs the source device's key (--device)"};
    } else {
      t.side = {UnwrapState::kLocked, "class " + std::to_string(blob.key_class) + " is locked"};
    }
    return t;
  }
  auto plaintext = open_blob(blob, key->view());
  if (!plaintext.ok()) {
    // DataLoss: the item key's integrity check failed under this class key (another device's key
    // through the unchecked device layer, or altered bytes); anything else: the blob is damaged.
    t.side = {plaintext.status().code() == Code::kDataLoss ? UnwrapState::kDoesNotOpen
                                                           : UnwrapState::kMalformed,
              plaintext.status().message()};
    return t;
  }
  auto item = Item::decode(item_class, plaintext->view());
  if (!item.ok()) {
    t.side = {UnwrapState::kMalformed, item.status().message()};
    return t;
  }
  t.side = {UnwrapState::kUnwraps, ""};
  t.item = std::move(*item);
  return t;
}

std::optional<Verdict> oracle_verdict(const Traits& traits, Journey journey, Target target) {
  oracle::Question q;
  q.traits = traits;
  q.journey = journey;
  q.target = target;
  auto v = oracle::predict(q);  // a journey with no same-device form has no answer there
  if (!v.ok()) return std::nullopt;
  return *v;
}

Journey journey_of(const Manifest& m) {
  if (!m.journey.empty()) {
    if (auto j = parse_journey(m.journey); j.ok()) return *j;
  }
  return m.is_encrypted ? Journey::kLocalEncrypted : Journey::kLocal;
}

// The other-device trial's keys: the same password key, the device layer undone with the key
// 0x835 of a device that is not the source.
Result<UnlockedKeybag> other_device_keys(const OpenedBackup& backup,
                                         const BackupReportOptions& options, Random& random) {
  KCB_ASSIGN_OR_RETURN(Keybag bag, parse_keybag(backup.manifest().backup_keybag));
  KCB_ASSIGN_OR_RETURN(std::unique_ptr<Device> stranger, Device::create_in_memory({}, random));
  if (!backup.password_key().empty()) {
    return unlock_keybag_with_password_key_for(bag, backup.password_key().view(), stranger.get());
  }
  return unlock_keybag_for(bag, as_bytes(options.password), stranger.get());
}

std::string ref_kind(const ArchivedItem& a, ItemClass c) {
  auto ref = parse_persistent_ref(a.persistent_ref, c);
  if (!ref.ok()) return "malformed";
  return std::string(name_of(ref->kind));
}

}  // namespace

Result<BackupReport> report_backup(const OpenedBackup& backup, const BackupReportOptions& options,
                                   Random& random) {
  BackupReport report;
  const Manifest& manifest = backup.manifest();
  report.journey = journey_of(manifest);
  report.encrypted = manifest.is_encrypted;

  std::map<std::string, DomainCount, std::less<>> domains;
  for (const BackupFileEntry& f : backup.files()) {
    ++report.file_count;
    if (f.flags != 1) continue;
    auto at = domains.find(f.domain);
    if (at == domains.end()) at = domains.emplace(std::string(f.domain), DomainCount{}).first;
    DomainCount& d = at->second;
    d.domain = f.domain;
    ++d.files;
    KCB_ASSIGN_OR_RETURN(FileRecordFacts record, backup.record(f));
    d.recorded_bytes += record.size;
  }
  for (auto& [name, count] : domains)
    report.domains.push_back(std::move(count));

  std::map<uint32_t, uint32_t> wraps;
  for (const BackupClassState& c : backup.classes()) {
    wraps[c.class_number] = c.wrap;
    ReportedClass r;
    r.class_number = c.class_number;
    r.wrap = c.wrap;
    r.unlocked = c.unlocked;
    r.locked_reason = c.locked_reason;
    // Opened at all means the password (or key) was right, so a class without the device layer
    // is one the password opens by itself.
    r.opens_with_password_alone = (c.wrap & kDeviceLayer) == 0 && c.unlocked;
    report.classes.push_back(std::move(r));
  }

  if (options.device != nullptr &&
      options.device->unique_device_id() != manifest.lockdown.unique_device_id) {
    report.warnings.push_back(
        "--device is not this backup's source (UniqueDeviceID " +
        options.device->unique_device_id() + ", the backup's " +
        printable_text(manifest.lockdown.unique_device_id) +
        "): its key opens no device-layer class, so the same-device column is another device's");
  }

  KCB_ASSIGN_OR_RETURN(KeychainArchive archive, backup.read_keychain());
  report.warnings.insert(report.warnings.end(), archive.warnings.begin(), archive.warnings.end());
  KCB_ASSIGN_OR_RETURN(UnlockedKeybag other_keys, other_device_keys(backup, options, random));

  for (ItemClass c : kAllItemClasses) {
    const std::vector<ArchivedItem>& list = archive.items[static_cast<size_t>(c)];
    for (size_t i = 0; i < list.size(); ++i) {
      ReportedItem r;
      r.item_class = c;
      r.index = i;
      r.persistent_ref_kind = ref_kind(list[i], c);
      if (r.persistent_ref_kind == "malformed") {
        report.warnings.push_back(std::string(name_of(c)) + " #" + std::to_string(i) +
                                  ": v_PersistentRef does not parse (R11: the restore gives the "
                                  "item a new reference)");
      }
      auto blob = parse_blob(list[i].blob);
      if (!blob.ok()) {
        r.engine_same = r.engine_other = {UnwrapState::kMalformed, blob.status().message()};
        report.items.push_back(std::move(r));
        continue;
      }
      r.key_class = blob->key_class;
      const auto w = wraps.find(blob->key_class);
      std::optional<uint32_t> wrap;
      if (w != wraps.end()) wrap = w->second;
      Trial same = try_item(c, *blob, backup.keys(), wrap, options.device == nullptr);
      Trial other = try_item(c, *blob, other_keys, wrap, false);
      r.engine_same = same.side;
      r.engine_other = other.side;
      const std::optional<Item>& item = same.item ? same.item : other.item;
      if (item) {
        r.decoded = true;
        r.traits = traits_of(*item);
        r.access_group = std::string(item->access_group());
        r.account.assign(item->account().begin(), item->account().end());
        r.service.assign(item->service().begin(), item->service().end());
      } else if (auto a = accessibility_from_key_class(blob->key_class)) {
        Traits t;
        t.item_class = c;
        t.accessible = *a;
        r.traits = t;
        r.traits_from_header = true;
      }
      if (r.traits) {
        r.oracle_same = oracle_verdict(*r.traits, report.journey, Target::kSameDevice);
        r.oracle_other = oracle_verdict(*r.traits, report.journey, Target::kOtherDevice);
      }
      report.items.push_back(std::move(r));
    }
  }
  return report;
}

std::vector<const ReportedItem*> items_of_access_group(const BackupReport& report,
                                                       std::string_view access_group) {
  std::vector<const ReportedItem*> out;
  for (const ReportedItem& item : report.items) {
    if (item.decoded && item.access_group == access_group) out.push_back(&item);
  }
  return out;
}

std::vector<std::string> decoded_access_groups(const BackupReport& report) {
  std::set<std::string> groups;
  for (const ReportedItem& item : report.items) {
    if (item.decoded) groups.insert(item.access_group);
  }
  return {groups.begin(), groups.end()};
}

Result<BackupReport> report_backup(const OpenedBackupFolder& opened, Random& random) {
  BackupReportOptions options;
  options.device = opened.device.get();
  options.password = opened.keys.password;
  auto report = report_backup(*opened.backup, options, random);
  wipe_password(options.password);
  if (!report.ok()) return report.status().with_context(opened.folder->dir().string());
  return report;
}

}  // namespace kcb
