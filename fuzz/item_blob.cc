// Fuzz target item_blob: arbitrary bytes as a v3 item blob (engine/blob.h), parsed and opened with
// one fixed class key (the seed corpus is sealed under it, so opening succeeds on seeds and their
// keyclass-only mutations). A blob that opens must survive a re-seal: sealing its plaintext again,
// with the same keyclass field, gives a blob that parses and opens to the same plaintext.
#include <cstddef>
#include <cstdint>

#include "engine/blob.h"
#include "fuzz/fixed_keys.h"
#include "kcbackup/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = kcb::parse_blob(kcb::ByteView(data, size));
  if (!parsed.ok()) return 0;
  KCB_ASSERT(parsed->key_class == kcb::key_class_of(parsed->keyclass_field));
  KCB_ASSERT(kcb::kBlobOverhead + parsed->ciphertext.size() == size);
  auto plaintext = kcb::open_blob(*parsed, kcb::fuzz::kClassKey);
  if (!plaintext.ok()) return 0;

  auto random = kcb::make_seeded_random(kcb::fuzz::kSeed);
  auto resealed =
      kcb::seal_blob(parsed->keyclass_field, kcb::fuzz::kClassKey, plaintext->view(), *random);
  KCB_ASSERT(resealed.ok() && resealed->size() == size);
  auto reparsed = kcb::parse_blob(*resealed);
  KCB_ASSERT(reparsed.ok() && reparsed->keyclass_field == parsed->keyclass_field);
  auto reopened = kcb::open_blob(*reparsed, kcb::fuzz::kClassKey);
  KCB_ASSERT(reopened.ok() && *reopened == *plaintext);
  return 0;
}
