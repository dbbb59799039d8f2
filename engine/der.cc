// der_plist encoder and strict decoder; see der.h for the contract and docs/der.md for the rules.
#include "kcbackup/der.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "engine/short_text.h"

namespace kcb {

namespace {

constexpr uint8_t kTagBoolean = 0x01;
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagNull = 0x05;
constexpr uint8_t kTagUtf8String = 0x0C;
constexpr uint8_t kTagUtcTime = 0x17;
constexpr uint8_t kTagGeneralizedTime = 0x18;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagSet = 0x31;

// Lengths up to 4 bytes: any longer value is far past every size cap.
constexpr size_t kMaxLengthBytes = 4;

std::string hex_byte(uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{'0', 'x', kDigits[b >> 4], kDigits[b & 0xF]};
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, any year).
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month, day;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

constexpr int64_t kMillisPerDay = 86'400'000;
const int64_t kMinDateMillis = days_from_civil(0, 1, 1) * kMillisPerDay;
const int64_t kMaxDateMillis = days_from_civil(9999, 12, 31) * kMillisPerDay + kMillisPerDay - 1;

size_t length_of_length(size_t n) {
  if (n < 0x80) return 1;
  size_t bytes = 0;
  for (size_t v = n; v != 0; v >>= 8)
    ++bytes;
  return 1 + bytes;
}

size_t tlv_size(size_t content) {
  return 1 + length_of_length(content) + content;
}

void append_header(uint8_t tag, size_t length, Bytes* out) {
  out->push_back(tag);
  if (length < 0x80) {
    out->push_back(static_cast<uint8_t>(length));
    return;
  }
  const size_t bytes = length_of_length(length) - 1;
  out->push_back(static_cast<uint8_t>(0x80 | bytes));
  for (size_t i = bytes; i-- > 0;)
    out->push_back(static_cast<uint8_t>(length >> (8 * i)));
}

size_t integer_content_size(int64_t v) {
  size_t n = 1;
  // Each further byte is needed while the value does not fit a signed n-byte field.
  while (n < 8) {
    const int64_t lo = -(int64_t{1} << (8 * n - 1));
    const int64_t hi = (int64_t{1} << (8 * n - 1)) - 1;
    if (v >= lo && v <= hi) break;
    ++n;
  }
  return n;
}

// "YYYYMMDDhhmmss" + (".f" .. ".fff" without trailing zeros) + "Z"
size_t date_content_size(DerDate d) {
  int64_t ms = d.unix_millis % 1000;
  if (ms < 0) ms += 1000;
  if (ms == 0) return 15;
  if (ms % 100 == 0) return 17;
  if (ms % 10 == 0) return 18;
  return 19;
}

void append_digits(int64_t v, int width, Bytes* out) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->insert(out->end(), buf, buf + width);
}

struct DateParts {
  Civil civil;
  int64_t ms_of_day;
};

DateParts date_parts(DerDate d) {
  int64_t days = d.unix_millis / kMillisPerDay;
  int64_t ms_of_day = d.unix_millis % kMillisPerDay;
  if (ms_of_day < 0) ms_of_day += kMillisPerDay, --days;
  return {civil_from_days(days), ms_of_day};
}

class DerEncoder {
 public:
  explicit DerEncoder(const DerLimits& limits) : limits_(limits) {}

  static size_t content_size(const DerValue& v) {
    switch (v.kind()) {
      case DerKind::kNull:
        return 0;
      case DerKind::kBoolean:
        return 1;
      case DerKind::kInteger:
        return integer_content_size(*v.as_integer());
      case DerKind::kString:
        return v.as_string()->size();
      case DerKind::kData:
        return v.as_data()->size();
      case DerKind::kDate:
        return date_content_size(*v.as_date());
      case DerKind::kArray: {
        size_t n = 0;
        for (const DerValue& e : *v.as_array())
          n += tlv_size(content_size(e));
        return n;
      }
      case DerKind::kDictionary:
        return dictionary_content_size(*v.as_dictionary());
    }
    return 0;
  }

  static size_t entry_content_size(const DerEntry& e) {
    return tlv_size(e.key.size()) + tlv_size(content_size(e.value));
  }

  static size_t dictionary_content_size(const DerDict& d) {
    size_t n = 0;
    for (const DerEntry& e : d.entries())
      n += tlv_size(entry_content_size(e));
    return n;
  }

  Status encode(const DerValue& v, int depth, Bytes* out) {
    switch (v.kind()) {
      case DerKind::kNull:
        append_header(kTagNull, 0, out);
        return Status::Ok();
      case DerKind::kBoolean:
        // Apple writes true as 0x01, not DER's 0xFF.
        append_header(kTagBoolean, 1, out);
        out->push_back(*v.as_boolean() ? 0x01 : 0x00);
        return Status::Ok();
      case DerKind::kInteger:
        encode_integer(*v.as_integer(), out);
        return Status::Ok();
      case DerKind::kString:
        return encode_string(*v.as_string(), out);
      case DerKind::kData:
        append_header(kTagOctetString, v.as_data()->size(), out);
        out->insert(out->end(), v.as_data()->begin(), v.as_data()->end());
        return Status::Ok();
      case DerKind::kDate:
        return encode_date(*v.as_date(), out);
      case DerKind::kArray:
        return encode_array(*v.as_array(), depth, out);
      case DerKind::kDictionary:
        return encode_dictionary(*v.as_dictionary(), nullptr, depth, out);
    }
    return Status::InvalidArgument("der: encode: unknown value kind");
  }

  // d's entries and, when given, `extra` (a key d must not hold).
  Status encode_dictionary(const DerDict& d, const DerEntry* extra, int depth, Bytes* out) {
    KCB_RETURN_IF_ERROR(check_depth(depth));
    if (extra != nullptr && d.contains(extra->key)) {
      return Status::InvalidArgument("der: encode: key '" + printable_text(extra->key) +
                                     "' given twice");
    }
    struct Slot {
      const DerEntry* entry;
      size_t content;
    };
    std::vector<Slot> slots;
    slots.reserve(d.size() + 1);
    size_t total = 0;
    for (const DerEntry& e : d.entries()) {
      slots.push_back({&e, entry_content_size(e)});
      total += tlv_size(slots.back().content);
    }
    if (extra != nullptr) {
      slots.push_back({extra, entry_content_size(*extra)});
      total += tlv_size(slots.back().content);
    }
    // Minimal length encodings compare bytewise in numeric order, and keys are unique, so the
    // memcmp order of encoded entries is the order of (entry length, key length, key bytes).
    std::sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
      if (a.content != b.content) return a.content < b.content;
      if (a.entry->key.size() != b.entry->key.size()) {
        return a.entry->key.size() < b.entry->key.size();
      }
      return short_text_less(a.entry->key, b.entry->key);
    });
    append_header(kTagSet, total, out);
    for (const Slot& s : slots) {
      append_header(kTagSequence, s.content, out);
      KCB_RETURN_IF_ERROR(encode_string(s.entry->key, out));
      KCB_RETURN_IF_ERROR(encode(s.entry->value, depth + 1, out));
    }
    return Status::Ok();
  }

 private:
  Status check_depth(int depth) const {
    if (depth > limits_.max_depth) {
      return Status::InvalidArgument("der: encode: containers nested deeper than " +
                                     std::to_string(limits_.max_depth));
    }
    return Status::Ok();
  }

  static void encode_integer(int64_t v, Bytes* out) {
    const size_t n = integer_content_size(v);
    append_header(kTagInteger, n, out);
    const uint64_t u = static_cast<uint64_t>(v);
    for (size_t i = n; i-- > 0;)
      out->push_back(static_cast<uint8_t>(u >> (8 * i)));
  }

  static Status encode_string(const std::string& s, Bytes* out) {
    if (!is_valid_utf8(s)) return Status::InvalidArgument("der: encode: string is not valid UTF-8");
    append_header(kTagUtf8String, s.size(), out);
    out->insert(out->end(), s.begin(), s.end());
    return Status::Ok();
  }

  static Status encode_date(DerDate d, Bytes* out) {
    if (d.unix_millis < kMinDateMillis || d.unix_millis > kMaxDateMillis) {
      return Status::InvalidArgument("der: encode: date " + std::to_string(d.unix_millis) +
                                     " ms is outside years 0000..9999");
    }
    const DateParts parts = date_parts(d);
    const Civil& c = parts.civil;
    const int64_t ms_of_day = parts.ms_of_day;
    append_header(kTagGeneralizedTime, date_content_size(d), out);
    append_digits(c.year, 4, out);
    append_digits(c.month, 2, out);
    append_digits(c.day, 2, out);
    append_digits(ms_of_day / 3'600'000, 2, out);
    append_digits(ms_of_day / 60'000 % 60, 2, out);
    append_digits(ms_of_day / 1000 % 60, 2, out);
    int64_t frac = ms_of_day % 1000;
    if (frac != 0) {
      int width = 3;
      while (frac % 10 == 0)
        frac /= 10, --width;
      out->push_back('.');
      append_digits(frac, width, out);
    }
    out->push_back('Z');
    return Status::Ok();
  }

  Status encode_array(const DerArray& a, int depth, Bytes* out) {
    KCB_RETURN_IF_ERROR(check_depth(depth));
    size_t total = 0;
    for (const DerValue& e : a)
      total += tlv_size(content_size(e));
    append_header(kTagSequence, total, out);
    for (const DerValue& e : a)
      KCB_RETURN_IF_ERROR(encode(e, depth + 1, out));
    return Status::Ok();
  }

  const DerLimits& limits_;
};

}  // namespace

// Reads one value at a time from a bounded window of the input. Every error names the offset of
// the first byte that breaks a rule.
class DerDecoder {
 public:
  DerDecoder(ByteView in, const DerLimits& limits)
      : p_(in.data()), size_(in.size()), limits_(limits) {}

  Status decode_top(DerValue* out) {
    if (size_ > limits_.max_input_bytes) {
      return Status::ResourceExhausted("der: offset 0: input of " + std::to_string(size_) +
                                       " bytes exceeds the cap of " +
                                       std::to_string(limits_.max_input_bytes));
    }
    KCB_RETURN_IF_ERROR(decode_value(size_, 1, out));
    if (pos_ != size_) return corrupt(pos_, "trailing bytes after the value");
    return Status::Ok();
  }

 private:
  struct Header {
    size_t start;  // offset of the tag
    uint8_t tag;
    size_t length;  // content starts at pos_ after read_header
  };

  static Status corrupt(size_t offset, const std::string& what) {
    return Status::Corruption("der: offset " + std::to_string(offset) + ": " + what);
  }

  Status read_header(size_t end, Header* h) {
    if (++elements_ > limits_.max_elements) {
      return Status::ResourceExhausted("der: offset " + std::to_string(pos_) + ": more than " +
                                       std::to_string(limits_.max_elements) + " elements");
    }
    if (end - pos_ < 2) {
      return corrupt(pos_, end == pos_ ? "truncated: expected a tag" : "truncated: missing length");
    }
    h->start = pos_;
    h->tag = p_[pos_];
    const size_t len_at = pos_ + 1;
    const uint8_t first = p_[len_at];
    pos_ += 2;
    if (first < 0x80) {
      h->length = first;
    } else {
      if (first == 0x80) return corrupt(len_at, "indefinite length");
      const size_t n = first & 0x7Fu;
      if (n > kMaxLengthBytes) {
        return corrupt(len_at, "length field of " + std::to_string(n) + " bytes (at most 4)");
      }
      if (end - pos_ < n) return corrupt(len_at, "truncated length field");
      if (p_[pos_] == 0) return corrupt(len_at, "non-minimal length");
      size_t len = 0;
      for (size_t i = 0; i < n; ++i)
        len = (len << 8) | p_[pos_ + i];
      if (len < 0x80) return corrupt(len_at, "non-minimal length");
      pos_ += n;
      h->length = len;
    }
    if (h->length > end - pos_) {
      return corrupt(len_at, "length " + std::to_string(h->length) + " exceeds the " +
                                 std::to_string(end - pos_) + " bytes remaining");
    }
    return Status::Ok();
  }

  Status decode_value(size_t end, int depth, DerValue* out) {
    Header h;
    KCB_RETURN_IF_ERROR(read_header(end, &h));
    const size_t content = pos_;
    pos_ += h.length;  // every branch below reads [content, content + h.length) only
    DerValue::Variant& v = out->variant();
    switch (h.tag) {
      case kTagUtf8String: {
        KCB_RETURN_IF_ERROR(check_utf8(content, h.length));
        v.emplace<std::string>(reinterpret_cast<const char*>(p_ + content), h.length);
        return Status::Ok();
      }
      case kTagOctetString:
        v.emplace<Bytes>(p_ + content, p_ + content + h.length);
        return Status::Ok();
      case kTagInteger: {
        int64_t i;
        KCB_RETURN_IF_ERROR(decode_integer(content, h.length, &i));
        v.emplace<int64_t>(i);
        return Status::Ok();
      }
      case kTagBoolean: {
        bool b;
        KCB_RETURN_IF_ERROR(decode_boolean(content, h.length, &b));
        v.emplace<bool>(b);
        return Status::Ok();
      }
      case kTagNull:
        if (h.length != 0) return corrupt(h.start, "NULL with content");
        v.emplace<DerNull>();
        return Status::Ok();
      case kTagGeneralizedTime: {
        DerDate d;
        KCB_RETURN_IF_ERROR(decode_date(content, h.length, &d));
        v.emplace<DerDate>(d);
        return Status::Ok();
      }
      case kTagSequence:
        pos_ = content;
        return decode_array(h, depth, &v.emplace<DerArray>());
      case kTagSet:
        pos_ = content;
        return decode_dictionary(h, depth, &v.emplace<DerDict>());
      case kTagUtcTime:
        return Status::Unsupported("der: offset " + std::to_string(h.start) +
                                   ": UTCTime (0x17) is not read; dates are GeneralizedTime");
      default:
        return corrupt(h.start, "unexpected tag " + hex_byte(h.tag));
    }
  }

  Status check_depth(const Header& h, int depth) const {
    if (depth > limits_.max_depth) {
      return Status::ResourceExhausted("der: offset " + std::to_string(h.start) +
                                       ": containers nested deeper than " +
                                       std::to_string(limits_.max_depth));
    }
    return Status::Ok();
  }

  Status decode_array(const Header& h, int depth, DerArray* out) {
    KCB_RETURN_IF_ERROR(check_depth(h, depth));
    const size_t end = pos_ + h.length;
    // The smallest element (NULL) takes 2 bytes; the cap keeps a hostile length from reserving
    // much.
    out->reserve(std::min<size_t>(h.length / 2, 64));
    while (pos_ < end) {
      out->emplace_back();
      KCB_RETURN_IF_ERROR(decode_value(end, depth + 1, &out->back()));
    }
    return Status::Ok();
  }

  Status decode_dictionary(const Header& h, int depth, DerDict* out) {
    KCB_RETURN_IF_ERROR(check_depth(h, depth));
    const size_t content = pos_;
    const size_t end = pos_ + h.length;
    std::vector<DerEntry>& entries = out->entries_;
    entries.reserve(count_entries(end));
    size_t prev_start = 0, prev_size = 0;
    bool key_sorted = true;
    while (pos_ < end) {
      Header eh;
      KCB_RETURN_IF_ERROR(read_header(end, &eh));
      if (eh.tag != kTagSequence) {
        return corrupt(eh.start, "dictionary entry has tag " + hex_byte(eh.tag) +
                                     ", expected SEQUENCE (0x30)");
      }
      const size_t entry_end = pos_ + eh.length;
      const size_t entry_size = entry_end - eh.start;
      if (!entries.empty() && !encoded_less(prev_start, prev_size, eh.start, entry_size)) {
        return corrupt(eh.start, "dictionary entries not in canonical order");
      }
      prev_start = eh.start, prev_size = entry_size;
      DerEntry& e = entries.emplace_back();
      KCB_RETURN_IF_ERROR(decode_key(entry_end, &e.key));
      KCB_RETURN_IF_ERROR(decode_value(entry_end, depth + 1, &e.value));
      if (pos_ != entry_end) return corrupt(pos_, "trailing bytes in dictionary entry");
      if (entries.size() > 1 && key_sorted) {
        key_sorted = short_text_less(entries[entries.size() - 2].key, e.key);
      }
    }
    if (!key_sorted) return sort_unique_keys(content, end, &entries);
    return Status::Ok();
  }

  // How many entries follow from pos_ to end, counted by their lengths up to the first that is
  // not a SEQUENCE of at least the smallest entry's 4 content bytes or does not fit (the loop that
  // decodes them says what is wrong there): one allocation of the right size for a dictionary's
  // entries, where a guess from its length was twice too large. Each counted entry holds at least
  // 6 input bytes, and the count stays within the element cap, so hostile bytes reserve no more
  // than decoding as many real entries would.
  size_t count_entries(size_t end) const {
    size_t n = 0;
    for (size_t at = pos_; end - at >= 2 && p_[at] == kTagSequence && n < limits_.max_elements;
         ++n) {
      size_t length = p_[at + 1];
      at += 2;
      if (length >= 0x80) {
        const size_t bytes = length & 0x7Fu;
        if (bytes > kMaxLengthBytes || end - at < bytes) break;
        length = 0;
        for (size_t i = 0; i < bytes; ++i)
          length = (length << 8) | p_[at + i];
        at += bytes;
      }
      if (length < 4 || length > end - at) break;
      at += length;
    }
    return n;
  }

  Status decode_key(size_t entry_end, std::string* key) {
    Header kh;
    KCB_RETURN_IF_ERROR(read_header(entry_end, &kh));
    if (kh.tag != kTagUtf8String) {
      return corrupt(kh.start,
                     "dictionary key has tag " + hex_byte(kh.tag) + ", expected UTF8String (0x0c)");
    }
    KCB_RETURN_IF_ERROR(check_utf8(pos_, kh.length));
    key->assign(reinterpret_cast<const char*>(p_ + pos_), kh.length);
    pos_ += kh.length;
    return Status::Ok();
  }

  // memcmp order, shorter first on a tie; strict, so equal entries are refused too. Entries
  // differ early (their lengths, then their keys): compared without a memcmp call.
  bool encoded_less(size_t a, size_t a_size, size_t b, size_t b_size) const {
    const auto text = [this](size_t at, size_t n) {
      return std::string_view(reinterpret_cast<const char*>(p_ + at), n);
    };
    return short_text_less(text(a, a_size), text(b, b_size));
  }

  // Sorted through a permutation: an entry (a string and a variant) is dear to move and std::sort
  // moves each many times; here each moves once (a fifth of decoding an item's attributes went to
  // those moves).
  Status sort_unique_keys(size_t content, size_t end, std::vector<DerEntry>* entries) {
    std::vector<DerEntry>& e = *entries;
    std::vector<size_t> order(e.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return short_text_less(e[a].key, e[b].key); });
    for (size_t i = 1; i < order.size(); ++i) {
      const std::string& key = e[order[i]].key;
      if (same_short_text(e[order[i - 1]].key, key)) {
        return corrupt(offset_of_second_entry(key, content, end),
                       "duplicate dictionary key '" + key + "'");
      }
    }
    // Into place cycle by cycle: e[i] takes e[order[i]], no second vector.
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i] == i) continue;
      DerEntry first = std::move(e[i]);
      size_t j = i;
      while (order[j] != i) {
        e[j] = std::move(e[order[j]]);
        j = std::exchange(order[j], j);
      }
      e[j] = std::move(first);
      order[j] = j;
    }
    return Status::Ok();
  }

  // Error path only: the structure of [content, end) is already validated.
  size_t offset_of_second_entry(const std::string& key, size_t content, size_t end) const {
    size_t pos = content;
    bool seen = false;
    while (pos < end) {
      const size_t start = pos;
      size_t entry_len, at = pos + 1;
      at = skip_length(at, &entry_len);
      size_t key_len;
      const size_t key_at = skip_length(at + 1, &key_len);
      if (std::string_view(reinterpret_cast<const char*>(p_ + key_at), key_len) == key) {
        if (seen) return start;
        seen = true;
      }
      pos = at + entry_len;
    }
    return content;
  }

  size_t skip_length(size_t at, size_t* len) const {
    const uint8_t first = p_[at];
    if (first < 0x80) {
      *len = first;
      return at + 1;
    }
    const size_t n = first & 0x7Fu;
    size_t v = 0;
    for (size_t i = 0; i < n; ++i)
      v = (v << 8) | p_[at + 1 + i];
    *len = v;
    return at + 1 + n;
  }

  Status check_utf8(size_t at, size_t n) const {
    const size_t ok = valid_utf8_prefix(p_ + at, n);
    if (ok != n) return corrupt(at + ok, "invalid UTF-8");
    return Status::Ok();
  }

  Status decode_integer(size_t at, size_t n, int64_t* out) const {
    if (n == 0) return corrupt(at, "INTEGER with no content");
    if (n > 1 && ((p_[at] == 0x00 && (p_[at + 1] & 0x80) == 0) ||
                  (p_[at] == 0xFF && (p_[at + 1] & 0x80) != 0))) {
      return corrupt(at, "non-minimal INTEGER");
    }
    if (n > 8) return corrupt(at, "INTEGER of " + std::to_string(n) + " bytes does not fit int64");
    uint64_t u = (p_[at] & 0x80) ? ~uint64_t{0} : 0;
    for (size_t i = 0; i < n; ++i)
      u = (u << 8) | p_[at + i];
    *out = static_cast<int64_t>(u);
    return Status::Ok();
  }

  Status decode_boolean(size_t at, size_t n, bool* out) const {
    if (n != 1) return corrupt(at, "BOOLEAN of length " + std::to_string(n) + ", expected 1");
    const uint8_t b = p_[at];
    if (b > 0x01) {
      return corrupt(at, "BOOLEAN byte " + hex_byte(b) + " (der_plist writes 0x00 or 0x01)");
    }
    *out = b == 0x01;
    return Status::Ok();
  }

  bool read_digits(size_t at, size_t count, int64_t* out) const {
    int64_t v = 0;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t c = p_[at + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  }

  Status decode_date(size_t at, size_t n, DerDate* out) const {
    // YYYYMMDDhhmmssZ, or with ".f", ".ff", ".fff" before the Z.
    if (n != 15 && (n < 17 || n > 19)) {
      return corrupt(at, "GeneralizedTime of length " + std::to_string(n) +
                             ", expected YYYYMMDDhhmmss[.fff]Z");
    }
    int64_t year, month, day, hour, minute, second;
    if (!read_digits(at, 4, &year) || !read_digits(at + 4, 2, &month) ||
        !read_digits(at + 6, 2, &day) || !read_digits(at + 8, 2, &hour) ||
        !read_digits(at + 10, 2, &minute) || !read_digits(at + 12, 2, &second)) {
      return corrupt(at, "GeneralizedTime has a non-digit in YYYYMMDDhhmmss");
    }
    if (month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, static_cast<unsigned>(month)) || hour > 23 || minute > 59 ||
        second > 59) {
      return corrupt(at, "GeneralizedTime is not a valid date and time");
    }
    int64_t millis = 0;
    if (n > 15) {
      const size_t digits = n - 16;  // between the "." at 14 and the closing "Z"
      if (p_[at + 14] != '.') return corrupt(at + 14, "GeneralizedTime: expected '.'");
      int64_t frac;
      if (!read_digits(at + 15, digits, &frac)) {
        return corrupt(at + 15, "GeneralizedTime has a non-digit in its fraction");
      }
      if (p_[at + 14 + digits] == '0') {
        return corrupt(at + 14 + digits, "GeneralizedTime fraction has a trailing zero");
      }
      millis = frac * (digits == 1 ? 100 : digits == 2 ? 10 : 1);
    }
    if (p_[at + n - 1] != 'Z') return corrupt(at + n - 1, "GeneralizedTime must end in 'Z'");
    const int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    out->unix_millis = days * kMillisPerDay + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
    return Status::Ok();
  }

  const uint8_t* p_;
  size_t size_;
  const DerLimits& limits_;
  size_t pos_ = 0;
  size_t elements_ = 0;
};

std::string_view der_kind_name(DerKind kind) {
  // In DerKind's order, which is DerValue::Variant's.
  static constexpr std::string_view kNames[] = {"null", "boolean", "integer", "string",
                                                "data", "date",    "array",   "dictionary"};
  const auto i = static_cast<size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

std::string der_date_text(DerDate d) {
  if (d.unix_millis < kMinDateMillis || d.unix_millis > kMaxDateMillis) {
    return std::to_string(d.unix_millis) + " ms";
  }
  const auto [c, ms_of_day] = date_parts(d);
  Bytes text;
  const auto field = [&text](int64_t v, int width, char after) {
    append_digits(v, width, &text);
    if (after != 0) text.push_back(static_cast<uint8_t>(after));
  };
  field(c.year, 4, '-');
  field(c.month, 2, '-');
  field(c.day, 2, 'T');
  field(ms_of_day / 3'600'000, 2, ':');
  field(ms_of_day / 60'000 % 60, 2, ':');
  field(ms_of_day / 1000 % 60, 2, '.');
  field(ms_of_day % 1000, 3, 'Z');
  return std::string(text.begin(), text.end());
}

std::string der_value_text(const DerValue& v) {
  if (const bool* b = v.as_boolean()) return *b ? "true" : "false";
  if (const int64_t* i = v.as_integer()) return std::to_string(*i);
  if (const std::string* text = v.as_string()) return "\"" + printable_text(*text) + "\"";
  if (const Bytes* data = v.as_data()) return "<" + to_hex(*data) + ">";
  if (const DerDate* date = v.as_date()) return der_date_text(*date);
  std::string out;
  if (const DerArray* array = v.as_array()) {
    for (const DerValue& e : *array)
      out += (out.empty() ? "" : ", ") + der_value_text(e);
    return "[" + out + "]";
  }
  if (const DerDict* dict = v.as_dictionary()) {
    for (const DerEntry& e : dict->entries())
      out += (out.empty() ? "" : ", ") + printable_text(e.key) + ": " + der_value_text(e.value);
    return "{" + out + "}";
  }
  return "null";
}

DerDict::DerDict() = default;
DerDict::DerDict(const DerDict&) = default;
DerDict::DerDict(DerDict&&) noexcept = default;
DerDict& DerDict::operator=(const DerDict&) = default;
DerDict& DerDict::operator=(DerDict&&) noexcept = default;
DerDict::~DerDict() = default;

namespace {
template <typename Entries>
auto lower_bound_key(Entries& entries, std::string_view key) {
  // Bytewise order, as string_view's, without memcmp (engine/short_text.h): an item's accessors
  // search its dictionary ~30 times per restored item.
  return std::lower_bound(
      entries.begin(), entries.end(), key,
      [](const DerEntry& e, std::string_view k) { return short_text_less(e.key, k); });
}
}  // namespace

const DerValue* DerDict::find(std::string_view key) const {
  auto it = lower_bound_key(entries_, key);
  return it != entries_.end() && same_short_text(it->key, key) ? &it->value : nullptr;
}

DerValue* DerDict::find(std::string_view key) {
  auto it = lower_bound_key(entries_, key);
  return it != entries_.end() && same_short_text(it->key, key) ? &it->value : nullptr;
}

void DerDict::set(std::string_view key, DerValue value) {
  auto it = lower_bound_key(entries_, key);
  if (it != entries_.end() && same_short_text(it->key, key)) {
    it->value = std::move(value);
  } else {
    entries_.insert(it, DerEntry{std::string(key), std::move(value)});
  }
}

bool DerDict::erase(std::string_view key) {
  auto it = lower_bound_key(entries_, key);
  if (it == entries_.end() || it->key != key) return false;
  entries_.erase(it);
  return true;
}

bool DerDict::operator==(const DerDict& other) const {
  return entries_ == other.entries_;
}

Result<DerValue> decode_der(ByteView der, const DerLimits& limits) {
  DerValue out;
  KCB_RETURN_IF_ERROR(DerDecoder(der, limits).decode_top(&out));
  return out;
}

Result<DerDict> decode_der_dictionary(ByteView der, const DerLimits& limits) {
  // Checked before decoding so that a wrong top-level type costs nothing.
  if (!der.empty() && der[0] != kTagSet) {
    return Status::Corruption("der: offset 0: top-level tag " + hex_byte(der[0]) +
                              ", expected a dictionary (SET, 0x31)");
  }
  DerValue out;
  KCB_RETURN_IF_ERROR(DerDecoder(der, limits).decode_top(&out));
  return std::move(*out.as_dictionary());
}

Status encode_der(const DerValue& value, Bytes* out, const DerLimits& limits) {
  out->reserve(out->size() + tlv_size(DerEncoder::content_size(value)));
  return DerEncoder(limits).encode(value, 1, out);
}

Status encode_der_dictionary(const DerDict& dict, Bytes* out, const DerLimits& limits) {
  out->reserve(out->size() + tlv_size(DerEncoder::dictionary_content_size(dict)));
  return DerEncoder(limits).encode_dictionary(dict, nullptr, 1, out);
}

Status encode_der_dictionary_with(const DerDict& dict, const DerEntry& extra, Bytes* out,
                                  const DerLimits& limits) {
  out->reserve(out->size() + tlv_size(DerEncoder::dictionary_content_size(dict) +
                                      tlv_size(DerEncoder::entry_content_size(extra))));
  return DerEncoder(limits).encode_dictionary(dict, &extra, 1, out);
}

Result<Bytes> encode_der(const DerValue& value, const DerLimits& limits) {
  Bytes out;
  KCB_RETURN_IF_ERROR(encode_der(value, &out, limits));
  return out;
}

}  // namespace kcb
