// Fuzz target der_item: arbitrary bytes as an item's attribute dictionary (engine/der.h). The
// decoder accepts canonical bytes only, so whatever it accepts must re-encode to the very same
// bytes, and decoding that encoding must give the same value back. The same holds for a top-level
// value of any kind.
#include <cstddef>
#include <cstdint>

#include "kcbackup/der.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);

  auto dict = kcb::decode_der_dictionary(input);
  if (dict.ok()) {
    kcb::Bytes encoded;
    KCB_ASSERT(kcb::encode_der_dictionary(*dict, &encoded).ok());
    KCB_ASSERT(encoded == kcb::Bytes(input.begin(), input.end()));
    auto again = kcb::decode_der_dictionary(encoded);
    KCB_ASSERT(again.ok() && *again == *dict);
  }

  auto value = kcb::decode_der(input);
  KCB_ASSERT(value.ok() || !dict.ok());  // a dictionary is a value
  if (value.ok()) {
    auto encoded = kcb::encode_der(*value);
    KCB_ASSERT(encoded.ok() && *encoded == kcb::Bytes(input.begin(), input.end()));
    auto again = kcb::decode_der(*encoded);
    KCB_ASSERT(again.ok() && *again == *value);
    KCB_ASSERT(dict.ok() == (value->kind() == kcb::DerKind::kDictionary));
  }
  return 0;
}
