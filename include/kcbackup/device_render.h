// The reports of the `device` commands: a simulated device's settings, items and app files after
// each change, as text or JSON (kcbackup/render.h says how and why). Pure: nothing is printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kcbackup/device.h"
#include "kcbackup/render.h"

namespace kcb::render {

// `device init`: the new device's UniqueDeviceID and settings.
std::string device_created_report(const std::string& dir, const Device& device, Format format);

// `device set`: the settings now, and how many item references R11 renewed (`renews`: the kind
// changed).
std::string device_settings_report(const std::string& dir, const Device& device, bool renews,
                                   size_t renewed, Format format);

// `device add`: the new row.
struct AddedItem {
  Traits traits;
  std::string account;
  std::string service;
  int64_t rowid = 0;
  Bytes persistent_ref;
};
std::string item_added_report(const std::string& dir, const AddedItem& added, Format format);

// `device update` and `device delete`: `command` is "update" or "delete".
std::string item_changed_report(const std::string& dir, std::string_view command, ItemClass c,
                                int64_t rowid, Format format);

// `device list`: the settings and every readable item (secrets with show_secrets), and how many
// rows the device's keybag cannot open.
std::string device_list_report(const std::string& dir, const Device& device,
                               const std::vector<StoredItem>& items, size_t unreadable,
                               bool show_secrets, Format format);

// `device passcode` (the R8 deletions when it goes off) and `device erase`.
std::string passcode_report(const std::string& dir, bool on, size_t deleted, Format format);
std::string erase_report(const std::string& dir, const Device& device, size_t removed,
                         Format format);

// `device put` and `device files`.
std::string app_file_put_report(const std::string& dir, const AppFile& file, Format format);
std::string app_files_report(const std::string& dir, const std::vector<AppFile>& files,
                             Format format);

}  // namespace kcb::render
