// The reports of `backup`, `restore`, `migrate` and of the real backup folder commands (`inspect
// backup`, `extract`, `unlock`): what the engine and the harness returned, as text or JSON
// (kcbackup/render.h says how and why). Pure: nothing is printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kcbackup/backup.h"
#include "kcbackup/backup_folder.h"
#include "kcbackup/backup_report.h"
#include "kcbackup/render.h"

namespace kcb::render {

// `backup`: the folder written, how many items went into it and which stayed on the device (the
// export filter's rule and reason for each).
struct BackupWritten {
  std::string folder;  // as the user named it
  Journey journey = Journey::kLocal;
  bool encrypted = false;
  bool fast_kdf = false;
  std::string unique_device_id;
  size_t files = 0;
};
std::string backup_report(const BackupWritten& written, const BackupSummary& summary,
                          Format format);

// What a person waits for while a real key derivation runs: "Deriving the backup key (PBKDF2,
// 10,000,000 + 10,000 rounds); this takes a few seconds...\n".
std::string kdf_cost_note(uint32_t iterations, uint32_t dp_iterations);

// `restore`: each item's fate (restored, kept or lost and why; what happened to its
// persistent reference) and the counts. `command` names the JSON schema ("restore"); `fields`
// come after the envelope, in order ({"backup", DIR}, ...).
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string restore_report(std::string_view command, const Fields& fields,
                           const RestoreReport& report, Style style);
// `migrate`: the same after {"from", "to"}, and the source's items the export filter kept home
// (report.left_on_device: R1, R10, R15), which never reached the new device.
std::string migrate_report(const std::string& from, const std::string& to,
                           const RestoreReport& report, Style style);

// `inspect backup DIR`: the device, the domains, the keybag classes and every keychain item's
// fate beside what the engine unwraps; with `files`, every Manifest.db row too.
std::string backup_folder_report(const std::string& dir, const OpenedBackup& backup,
                                 const BackupReport& report, bool files, Format format);

// `extract`: which file went where.
struct Extracted {
  std::string backup;  // the folder
  std::string domain;
  std::string path;
  std::string out;
  const BackupFileEntry* entry = nullptr;
  size_t bytes = 0;
};
std::string extract_report(const Extracted& extracted, Format format);

// `unlock`: where the backup key went.
std::string unlock_report(const std::string& backup, const std::string& key_out, size_t key_bytes,
                          Format format);

}  // namespace kcb::render
