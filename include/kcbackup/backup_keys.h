// What opens a backup: the password or the derived key a user has, from the sources docs/cli.md
// gives in their order (a password file, the password itself, the KCBACKUP_PASSWORD environment
// variable, then a prompt), or a key file (`kcbackup unlock --key-out`: 64 hex digits and a
// newline, so the KDF does not run again); and a backup folder on disk opened with them. Used by
// backup, restore, inspect, extract, unlock and audit --backup.
//
// The library talks to no terminal: the prompt is a function the caller puts in the sources (the
// CLI's asks on the terminal without echo). Passwords live in SecretBytes, or in strings that are
// wiped when the struct holding them dies.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kcbackup/backup_folder.h"
#include "kcbackup/bytes.h"
#include "kcbackup/device.h"
#include "kcbackup/env.h"
#include "kcbackup/inspection.h"
#include "kcbackup/status.h"

namespace kcb {

inline constexpr const char* kPasswordEnvVar = "KCBACKUP_PASSWORD";
// A password file is one line; anything larger is not a password file.
inline constexpr size_t kMaxPasswordFileBytes = 4096;
// A key file is one line of 64 hex digits; anything much larger is the wrong file.
inline constexpr size_t kMaxKeyFileBytes = 256;

// Asks the user for a password; nullopt when no one can be asked or the user ends the input
// without typing anything.
using PasswordPrompt = std::function<std::optional<SecretBytes>(std::string_view question)>;

// What the user gave. Each field is the CLI option of the same name; empty: not given.
struct BackupKeySources {
  std::string password_file;    // one line; first of the password sources
  std::string password;         // wiped when the sources die
  bool password_given = false;  // --password "" is an (empty) password, not an absent one
  std::string key_file;         // instead of a password
  std::string device;           // a device folder whose key 0x835 opens the device layer
  PasswordPrompt prompt;        // the last source; nullptr: no one is asked
  ~BackupKeySources();

  // The user named a password (a file or the value). The environment's KCBACKUP_PASSWORD is not
  // a request for one backup, so it does not count.
  bool password_requested() const { return !password_file.empty() || password_given; }
};

enum class Ask {
  kNever,  // the given sources and the environment only
  kOnce,
  kTwice,  // a new password (backup): asked twice, the answers must agree
};

// The password from the first source that has one, or nullopt when none has. The file is read
// through env: IOError for an unreadable one, ResourceExhausted past kMaxPasswordFileBytes,
// InvalidArgument for more than one line; InvalidArgument when the two answers of Ask::kTwice
// differ.
Result<std::optional<SecretBytes>> read_password(const BackupKeySources& sources, Env& env,
                                                 std::string_view question, Ask ask = Ask::kOnce);

// A key file's 32-byte key (parse_backup_key_file), errors naming --key-file: ResourceExhausted
// past kMaxKeyFileBytes, InvalidArgument for a malformed one.
Result<SecretBytes> read_key_file(Env& env, const std::filesystem::path& path);
// Writes the key as a key file, atomically (replacing `path`), readable by its owner alone (mode
// 0600) from its first byte on disk, the temporary name included.
Status write_key_file(Env& env, const std::filesystem::path& path, const SecretBytes& key);

// The password or key for a backup. `encrypted` is its Manifest's IsEncrypted, nullopt when that
// could not be read (nothing is then asked or refused: opening the folder names the problem).
// The key file when given (InvalidArgument when a password is named too); an unencrypted
// backup takes no password (InvalidArgument when one is named: ignoring it would let any password
// look right); else the password from its sources, asked for only when the backup is encrypted.
// `password` stays empty and `key` nullopt when none is needed or given.
struct BackupKeys {
  std::string password;  // wiped when the keys die
  std::optional<SecretBytes> key;
  BackupKeys() = default;
  BackupKeys(BackupKeys&&) = default;
  BackupKeys& operator=(BackupKeys&&) = default;
  ~BackupKeys();
};
Result<BackupKeys> read_backup_keys(const BackupKeySources& sources, Env& env,
                                    std::optional<bool> encrypted);

// A backup folder on disk opened with the user's keys: the folder, the sources' device (read
// only) and the opened backup, which reads its files from the folder when asked.
struct OpenedBackupFolder {
  std::unique_ptr<DiskFolder> folder;
  std::unique_ptr<Device> device;
  std::optional<OpenedBackup> backup;
  BackupKeys keys;
};
// read_backup_keys for the folder's Manifest, the device, then OpenedBackup::open; errors with the
// folder (or --device) in front. `progress` as BackupOpenOptions::progress.
Result<OpenedBackupFolder> open_backup_folder(
    Env& env, const std::filesystem::path& dir, const BackupKeySources& sources,
    std::function<void(std::string_view stage, size_t done, size_t total)> progress = nullptr);

// What opens a bare keybag or a Manifest's (InspectedKeybag::unlock): the device, the key file's
// key, and the password sources, asked only when the unlock may ask. `sources` and `env` must
// outlive the result.
Result<KeybagKeySources> keybag_key_sources(const BackupKeySources& sources, Env& env,
                                            std::optional<bool> encrypted);

// The password as the engine's option structs take it; wipe it with wipe_password afterwards.
std::string password_string(const SecretBytes& password);
void wipe_password(std::string& password);

}  // namespace kcb
