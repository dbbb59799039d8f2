// A GoogleTest fixture base for tests that run kcbackup commands: no test may wait on a terminal
// for a password, and no test may see one from the environment (KCBACKUP_PASSWORD).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string_view>

#include "cli/password.h"

namespace kcb::cli {

class CliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = set_password_prompt([](std::string_view) { return std::optional<SecretBytes>(); });
    unsetenv(kPasswordEnvVar);
  }
  void TearDown() override {
    set_password_prompt(previous_);
    unsetenv(kPasswordEnvVar);
  }

 private:
  PasswordPrompt previous_;
};

}  // namespace kcb::cli
