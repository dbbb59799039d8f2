// Fuzz target manifest_db: arbitrary bytes as a decrypted Manifest.db (engine/manifest_db.h), the
// SQLite file whoever made the backup chose, opened the untrusted way. Checks:
//   - a refusal is Corruption or ResourceExhausted and its message starts with "Manifest.db: ";
//   - an accepted database has the fileID of every row equal to the SHA-1 of its domain and path
//     (so no two rows share one), and holds at most twice as many text and blob bytes as the image
//     (SQLite stores every value verbatim once; UTF-16 text grows by half as UTF-8): more would
//     mean rows sharing pages;
//   - what is accepted is something the writer can write, and reading the written image gives the
//     same rows and properties in the same order;
//   - the row cap is exact: with max_files one below the rows read, the same bytes are
//     ResourceExhausted ("more than N rows"); with exactly that many, they read the same.
// The same bytes are also taken as the encrypted Manifest.db under a fixed key: when they decrypt
// (valid PKCS#7), encrypting the plaintext again gives exactly the input (zero IV, canonical pad).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/file_crypto.h"
#include "engine/manifest_db.h"
#include "fuzz/fixed_keys.h"

namespace {

bool printable(std::string_view msg) {
  return std::none_of(msg.begin(), msg.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

void check_refusal(const kcb::Status& s) {
  KCB_ASSERT(s.code() == kcb::Code::kCorruption || s.code() == kcb::Code::kResourceExhausted);
  const std::string_view msg = s.message();
  KCB_ASSERT(msg.starts_with("Manifest.db: ") && msg.size() > 13);
  KCB_ASSERT(printable(msg));  // hostile names and SQLite's quotes of them escaped
}

size_t value_bytes(const kcb::ManifestDb& db) {
  size_t n = 0;
  for (const kcb::ManifestFile& f : db.files) {
    n += 40 + f.domain.size() + f.relative_path.size() + f.file.size();
  }
  for (const auto& [key, value] : db.properties)
    n += key.size() + value.size();
  return n;
}

void check_database(kcb::ByteView input) {
  const auto db = kcb::read_manifest_db(input);
  if (!db.ok()) {
    check_refusal(db.status());
    return;
  }
  for (const kcb::ManifestFile& f : db->files) {
    KCB_ASSERT(f.flags == kcb::kManifestFile || f.flags == kcb::kManifestDirectory ||
               f.flags == kcb::kManifestSymlink);
  }
  KCB_ASSERT(value_bytes(*db) <= 2 * input.size());

  const auto written = kcb::write_manifest_db(*db);
  KCB_ASSERT(written.ok());
  const auto reread = kcb::read_manifest_db(*written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(*reread == *db);

  const size_t rows = db->files.size();
  kcb::ManifestDbLimits exact;
  exact.max_files = rows;
  const auto at_cap = kcb::read_manifest_db(input, exact);
  KCB_ASSERT(at_cap.ok() && *at_cap == *db);
  if (rows > 0) {
    kcb::ManifestDbLimits below;
    below.max_files = rows - 1;
    const auto over = kcb::read_manifest_db(input, below);
    KCB_ASSERT(!over.ok() && over.status().code() == kcb::Code::kResourceExhausted);
    KCB_ASSERT(over.status().message().find("more than " + std::to_string(rows - 1) + " rows") !=
               std::string::npos);
  }
}

void check_cipher(kcb::ByteView input) {
  const kcb::ByteView key(kcb::fuzz::kClassKey.data(), kcb::fuzz::kClassKey.size());
  const auto plain = kcb::decrypt_file_blob(key, input, "Manifest.db");
  if (!plain.ok()) {
    KCB_ASSERT(plain.status().code() == kcb::Code::kCorruption);
    KCB_ASSERT(plain.status().message().starts_with("Manifest.db: "));
    return;
  }
  KCB_ASSERT(plain->size() < input.size() && input.size() - plain->size() <= 16);
  const auto again = kcb::encrypt_file_blob(key, plain->view());
  KCB_ASSERT(again.ok() && kcb::ByteView(*again).size() == input.size() &&
             std::equal(again->begin(), again->end(), input.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  check_database(input);
  check_cipher(input);
  return 0;
}
