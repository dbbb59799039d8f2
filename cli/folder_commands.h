// The commands of issue 13 (cli13's files): a device's app files (`device put`, `device files`,
// cli/device_files_commands.cc) and real backup folders (`inspect backup`, `extract`, `unlock`,
// cli/folder_commands.cc). Same shape as cli/commands.h: run_<cmd>(options, env, out, err), no
// logic beyond parsing options, calling a library and printing.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/output.h"
#include "kcbackup/env.h"
#include "kcbackup/status.h"

namespace kcb::cli {

// `device put DIR --domain D --path P FILE [--protection-class N]`: FILE's bytes become the app
// file D / P of the device (replacing one of that name).
struct DevicePutOptions {
  std::string dir;
  std::string domain;
  std::string path;
  std::string file;
  uint32_t protection_class = 3;  // NSFileProtectionCompleteUntilFirstUserAuthentication
  Format format = Format::kText;
};
Status run_device_put(const DevicePutOptions& o, Env& env, std::ostream& out, std::ostream& err);

// `device files DIR`: the app files a device holds (domain, path, size, protection class).
struct DeviceFilesOptions {
  std::string dir;
  Format format = Format::kText;
};
Status run_device_files(const DeviceFilesOptions& o, Env& env, std::ostream& out,
                        std::ostream& err);

// Registers `put` and `files` in the `device` group (called from add_device_command).
void add_device_files_commands(CLI::App& device, Status& status);

}  // namespace kcb::cli
