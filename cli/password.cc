#include "cli/password.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace kcb::cli {
namespace {

// Restores the terminal's echo on every way out of the prompt.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::optional<SecretBytes> ask_terminal(std::string_view question) {
  if (isatty(STDIN_FILENO) != 1) return std::nullopt;
  std::cerr << question << ": " << std::flush;
  SecretBytes line;
  bool ended = false;  // Ctrl-D (end of input) before Return: the user answered nothing
  {
    EchoOff echo_off;
    for (int c = std::getchar();; c = std::getchar()) {
      if (c == EOF) {
        ended = true;
        break;
      }
      if (c == '\n') break;
      if (line.size() >= kMaxPasswordFileBytes) break;
      line.resize(line.size() + 1);
      line.data()[line.size() - 1] = static_cast<uint8_t>(c);
    }
  }
  std::cerr << "\n";
  if (ended && line.empty()) {
    std::clearerr(stdin);  // a later prompt may ask again
    return std::nullopt;
  }
  return line;
}

PasswordPrompt& current_prompt() {
  static PasswordPrompt prompt = ask_terminal;
  return prompt;
}

}  // namespace

PasswordPrompt set_password_prompt(PasswordPrompt prompt) {
  PasswordPrompt previous = std::move(current_prompt());
  current_prompt() = std::move(prompt);
  return previous;
}

std::optional<SecretBytes> ask_password(std::string_view question) {
  if (!current_prompt()) return std::nullopt;
  return current_prompt()(question);
}

void add_password_options(CLI::App* cmd, BackupKeySources* keys) {
  keys->prompt = ask_password;
  cmd->add_option("--password-file", keys->password_file,
                  "Read the backup password from this file (one line; first of the sources)");
  cmd->add_option("--password", keys->password,
                  "The backup password (visible to other users in the process list: prefer "
                  "--password-file, KCBACKUP_PASSWORD or the prompt)")
      ->each([keys](const std::string&) { keys->password_given = true; });
}

void add_backup_key_options(CLI::App* cmd, BackupKeySources* keys, const char* device_help) {
  add_password_options(cmd, keys);
  cmd->add_option("--key-file", keys->key_file,
                  "The derived backup key `kcbackup unlock --key-out` wrote, instead of the "
                  "password (the KDF does not run)");
  if (device_help != nullptr) cmd->add_option("--device", keys->device, device_help);
}

}  // namespace kcb::cli
