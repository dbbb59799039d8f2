// The sources of a backup's password or key, and a backup folder opened with them
// (kcbackup/backup_keys.h).
#include "kcbackup/backup_keys.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

#include "kcbackup/utf8.h"

namespace kcb {
namespace {

// One line: a final "\n" or "\r\n" is the file's, not the password's. A second line means the
// wrong file (or a password with a newline no prompt could type): refused, not silently kept.
Result<SecretBytes> one_line(const SecretBytes& text) {
  size_t n = text.size();
  if (n > 0 && text.data()[n - 1] == '\n') --n;
  if (n > 0 && text.data()[n - 1] == '\r') --n;
  const ByteView line = text.view().first(n);
  const auto newline = std::find(line.begin(), line.end(), uint8_t{'\n'});
  if (newline != line.end()) {
    return Status::InvalidArgument("more than one line (a line break at byte " +
                                   std::to_string(newline - line.begin()) +
                                   "); a password file holds the password on one line");
  }
  return SecretBytes(line);
}

Result<SecretBytes> read_password_file(Env& env, const std::string& path) {
  auto secret = read_secret_file(env, path, kMaxPasswordFileBytes);
  if (!secret.ok()) return secret.status().with_context("--password-file");
  auto line = one_line(*secret);
  if (!line.ok()) return line.status().with_context("--password-file " + path);
  return line;
}

// The given sources and the environment, in their order; nullopt when none has a password.
Result<std::optional<SecretBytes>> given_password(const BackupKeySources& s, Env& env) {
  if (!s.password_file.empty()) {
    KCB_ASSIGN_OR_RETURN(SecretBytes password, read_password_file(env, s.password_file));
    return std::optional(std::move(password));
  }
  if (s.password_given) return std::optional(SecretBytes(as_bytes(s.password)));
  const char* variable = std::getenv(kPasswordEnvVar);
  if (variable != nullptr && variable[0] != 0)
    return std::optional(SecretBytes(as_bytes(variable)));
  return std::optional<SecretBytes>();
}

Result<std::unique_ptr<Device>> open_source_device(Env& env, const std::string& dir) {
  auto device = Device::open(env, dir, {DeviceAccess::kReadOnly});
  if (!device.ok()) return device.status().with_context("--device");
  return device;
}

}  // namespace

BackupKeySources::~BackupKeySources() {
  wipe_password(password);
}

BackupKeys::~BackupKeys() {
  wipe_password(password);
}

std::string password_string(const SecretBytes& password) {
  return std::string(password.view().begin(), password.view().end());
}

void wipe_password(std::string& password) {
  wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(password.data()), password.size()));
  password.clear();
}

Result<std::optional<SecretBytes>> read_password(const BackupKeySources& sources, Env& env,
                                                 std::string_view question, Ask ask) {
  KCB_ASSIGN_OR_RETURN(std::optional<SecretBytes> out, given_password(sources, env));
  if (out || ask == Ask::kNever || !sources.prompt) return out;
  out = sources.prompt(question);
  if (out && ask == Ask::kTwice) {
    const std::optional<SecretBytes> again = sources.prompt("Again, to confirm");
    if (!again || !(*again == *out)) {
      return Status::InvalidArgument("the two passwords typed differ");
    }
  }
  return out;
}

Result<SecretBytes> read_key_file(Env& env, const std::filesystem::path& path) {
  auto text = read_secret_file(env, path, kMaxKeyFileBytes);
  if (text.status().code() == Code::kResourceExhausted) {
    return Status::ResourceExhausted(
        "--key-file " + printable_text(path.string()) + ": larger than " +
        std::to_string(kMaxKeyFileBytes) +
        " bytes; a key file holds 64 hex digits and a newline (`kcbackup unlock --key-out`)");
  }
  if (!text.ok()) return text.status().with_context("--key-file");
  auto key = parse_backup_key_file(text->view());
  if (!key.ok()) return key.status().with_context("--key-file " + printable_text(path.string()));
  return key;
}

Status write_key_file(Env& env, const std::filesystem::path& path, const SecretBytes& key) {
  Bytes text = backup_key_file_text(key);
  // Env writes files 0644; a key that opens the backup is the owner's alone, from its first byte
  // on disk (the temporary name included), so the umask is narrowed around the write.
  const mode_t old_mask = ::umask(077);
  const Status written = write_file_atomically(env, path, text);
  ::umask(old_mask);
  wipe(text);
  return written;
}

Result<BackupKeys> read_backup_keys(const BackupKeySources& sources, Env& env,
                                    std::optional<bool> encrypted) {
  BackupKeys keys;
  if (!sources.key_file.empty()) {
    if (sources.password_requested()) {
      return Status::InvalidArgument("--key-file replaces the password: give one of them");
    }
    KCB_ASSIGN_OR_RETURN(keys.key, read_key_file(env, sources.key_file));
    return keys;
  }
  if (encrypted == false) {
    if (sources.password_requested()) {
      return Status::InvalidArgument("the backup is not encrypted, so it takes no password");
    }
    return keys;
  }
  const Ask ask = encrypted ? Ask::kOnce : Ask::kNever;
  KCB_ASSIGN_OR_RETURN(std::optional<SecretBytes> password,
                       read_password(sources, env, "Backup password", ask));
  if (password) keys.password = password_string(*password);
  return keys;
}

Result<OpenedBackupFolder> open_backup_folder(
    Env& env, const std::filesystem::path& dir, const BackupKeySources& sources,
    std::function<void(std::string_view stage, size_t done, size_t total)> progress) {
  OpenedBackupFolder o;
  o.folder = std::make_unique<DiskFolder>(env, dir);
  // An unreadable Manifest is left to the open, which names the problem.
  const auto manifest = read_folder_manifest(*o.folder);
  auto keys = read_backup_keys(
      sources, env, manifest.ok() ? std::optional(manifest->is_encrypted) : std::nullopt);
  if (!keys.ok()) return keys.status().with_context(dir.string());
  o.keys = std::move(*keys);
  if (!sources.device.empty()) {
    KCB_ASSIGN_OR_RETURN(o.device, open_source_device(env, sources.device));
  }
  BackupOpenOptions options;
  options.password = o.keys.password;
  options.password_key = o.keys.key;
  options.device = o.device.get();
  options.progress = std::move(progress);
  auto backup = OpenedBackup::open(*o.folder, options);
  wipe_password(options.password);  // o.keys keeps the one copy, wiped when it dies
  if (!backup.ok()) return backup.status().with_context(dir.string());
  o.backup.emplace(std::move(*backup));
  return o;
}

Result<KeybagKeySources> keybag_key_sources(const BackupKeySources& sources, Env& env,
                                            std::optional<bool> encrypted) {
  KeybagKeySources k;
  k.encrypted = encrypted;
  if (!sources.device.empty()) {
    KCB_ASSIGN_OR_RETURN(k.device, open_source_device(env, sources.device));
  }
  if (!sources.key_file.empty()) {
    // The same file and checks as a backup folder's --key-file.
    KCB_ASSIGN_OR_RETURN(BackupKeys keys, read_backup_keys(sources, env, std::nullopt));
    k.password_key = std::move(keys.key);
  }
  k.password = [&sources, &env](bool may_ask) {
    return read_password(sources, env, "Backup password", may_ask ? Ask::kOnce : Ask::kNever);
  };
  return k;
}

}  // namespace kcb
