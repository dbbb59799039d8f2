// `kcbackup device put|files`: the app files a simulated device carries into its backups
// (engine/device_files.cc keeps them and checks every name; this file reads FILE and prints).
#include <ostream>

#include "cli/commands.h"
#include "cli/folder_commands.h"
#include "kcbackup/device.h"
#include "kcbackup/device_render.h"

namespace kcb::cli {
namespace {

// The device keeps at most 256 MiB of app files in all (engine/device_files.cc); a larger FILE
// could never be put, so it is refused before it is read whole.
inline constexpr size_t kMaxPutFileBytes = size_t{256} << 20;

}  // namespace

Status run_device_put(const DevicePutOptions& o, Env& env, std::ostream& out, std::ostream&) {
  AppFile file;
  file.domain = o.domain;
  file.relative_path = o.path;
  file.protection_class = o.protection_class;
  auto bytes = env.read_file(o.file, kMaxPutFileBytes);
  if (!bytes.ok()) return bytes.status().with_context("FILE");
  file.contents = std::move(*bytes);
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir));
  KCB_RETURN_IF_ERROR(device->put_app_file(file).with_context("device put"));
  out << render::app_file_put_report(o.dir, file, o.format);
  return Status::Ok();
}

Status run_device_files(const DeviceFilesOptions& o, Env& env, std::ostream& out, std::ostream&) {
  KCB_ASSIGN_OR_RETURN(auto device, Device::open(env, o.dir, {DeviceAccess::kReadOnly}));
  KCB_ASSIGN_OR_RETURN(std::vector<AppFile> files, device->app_files());
  out << render::app_files_report(o.dir, files, o.format);
  return Status::Ok();
}

void add_device_files_commands(CLI::App& device, Status& status) {
  add_command(device, status, "put", run_device_put, [](CLI::App* cmd, DevicePutOptions& o) {
    add_device_dir(cmd, &o.dir);
    cmd->add_option("FILE", o.file, "The file whose bytes the app file holds")->required();
    cmd->add_option("--domain", o.domain, "The backup domain (AppDomain-com.example.app)")
        ->required();
    cmd->add_option("--path", o.path, "The path inside the domain (Documents/notes.txt)")
        ->required();
    cmd->add_option("--protection-class", o.protection_class,
                    "The file's protection class, 1-11 (3: CompleteUntilFirstUserAuthentication)")
        ->capture_default_str();
    add_format_option(cmd, &o.format, false);
  });
  add_command(device, status, "files", run_device_files, [](CLI::App* cmd, DeviceFilesOptions& o) {
    add_device_dir(cmd, &o.dir);
    add_format_option(cmd, &o.format, false);
  });
}

}  // namespace kcb::cli
