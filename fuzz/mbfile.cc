// Fuzz target mbfile: arbitrary bytes as one NSKeyedArchiver MBFile record, the `file` column of a
// Manifest.db row (engine/mbfile.h), which whoever made the backup wrote. What the decoder accepts
// must be something the encoder can write (it asserts on what the decoder should have refused),
// and encoding is then a fixed point: decode(encode(f)) == f and encode of that is the same bytes.
// A refusal is Corruption, ResourceExhausted (a cap) or Unsupported (another $version) and its
// message starts with "MBFile: " and names a field. Tighter caps never change an accepted value:
// if the record decodes with max_depth 1 and 16 objects, it decodes to the same MBFile with the
// defaults, and when the defaults refuse it for a reason other than a cap the tight caps refuse it
// too. A binary record is also read through libplist's tree, and the two readings must agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/mbfile.h"
#include "fuzz/both_readings.h"
#include "kcbackup/utf8.h"

namespace {

bool printable(std::string_view msg) {
  return std::none_of(msg.begin(), msg.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

void check_refusal(const kcb::Status& s) {
  KCB_ASSERT(s.code() == kcb::Code::kCorruption || s.code() == kcb::Code::kResourceExhausted ||
             s.code() == kcb::Code::kUnsupported);
  const std::string_view msg = s.message();
  // "MBFile: <field or document>: <what>", one line without control characters (it goes to a
  // terminal; hostile text in it is escaped by printable_text).
  KCB_ASSERT(msg.starts_with("MBFile: ") && msg.size() > 8);
  KCB_ASSERT(printable(msg));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kcb::ByteView input(data, size);
  const auto decoded = kcb::decode_mbfile(input);
  kcb::MBFileLimits tight;
  tight.max_depth = 1;
  tight.max_objects = 16;
  const auto decoded_tight = kcb::decode_mbfile(input, tight);
  kcb::fuzz::check_both_readings_agree(decoded, kcb::decode_mbfile_through_libplist(input));
  kcb::fuzz::check_both_readings_agree(decoded_tight,
                                       kcb::decode_mbfile_through_libplist(input, tight));

  if (!decoded.ok()) {
    check_refusal(decoded.status());
    if (decoded.status().code() != kcb::Code::kResourceExhausted) {
      KCB_ASSERT(!decoded_tight.ok());
    }
    return 0;
  }
  if (decoded_tight.ok()) {
    KCB_ASSERT(*decoded_tight == *decoded);
  } else {
    check_refusal(decoded_tight.status());
    KCB_ASSERT(decoded_tight.status().code() == kcb::Code::kResourceExhausted);
  }

  const kcb::MBFile& f = *decoded;
  KCB_ASSERT(kcb::is_valid_utf8(f.relative_path) && (!f.target || kcb::is_valid_utf8(*f.target)));
  KCB_ASSERT(!f.encryption_key || f.encryption_key->wrapped_key.size() == kcb::kFileWrappedKeySize);
  const kcb::Bytes written = kcb::encode_mbfile(f);
  const auto reread = kcb::decode_mbfile(written);
  KCB_ASSERT(reread.ok());
  KCB_ASSERT(*reread == f);
  KCB_ASSERT(kcb::encode_mbfile(*reread) == written);
  // Apple's layout has no UID chains and no wrappers but NS.data's: the tightest caps read it.
  const auto reread_tight = kcb::decode_mbfile(written, tight);
  KCB_ASSERT(reread_tight.ok() && *reread_tight == f);
  return 0;
}
