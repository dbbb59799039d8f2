#include "engine/blob.h"

#include <algorithm>
#include <array>
#include <string>

#include "engine/crypto.h"

namespace kcb {
namespace {

// Apple's backup export has no IV for the item's GCM encryption.
constexpr ByteView kEmptyIv{};

Status truncated(size_t offset, std::string_view what, size_t need, size_t have) {
  return Status::Corruption("blob: truncated at offset " + std::to_string(offset) + ": " +
                            std::string(what) + " needs " + std::to_string(need) + " bytes, " +
                            std::to_string(have) + " left");
}

Status check_class_key(ByteView class_key) {
  if (class_key.size() == kItemKeySize) return Status::Ok();
  return Status::InvalidArgument("blob: class key of " + std::to_string(class_key.size()) +
                                 " bytes, expected 32");
}

}  // namespace

uint32_t key_class_of(uint32_t keyclass_field) {
  // The upper bits of the field may carry generation flags; the class number is in the low nibble.
  // iphone-dataprotection reads it the same way (keyclass & 0xF).
  return keyclass_field & 0xF;
}

Result<ParsedBlob> parse_blob(ByteView blob) {
  if (blob.size() > kMaxBlobSize) {
    return Status::ResourceExhausted("blob: " + std::to_string(blob.size()) +
                                     " bytes, more than the cap of " +
                                     std::to_string(kMaxBlobSize));
  }
  if (blob.size() < 4) return truncated(0, "version", 4, blob.size());
  const uint32_t version = load_le32(blob.data());
  if (version != kBlobVersion) {
    return Status::Unsupported("blob: unsupported blob version " + std::to_string(version) +
                               " at offset 0 (only version 3 is read)");
  }
  if (blob.size() < kBlobHeaderSize) {
    return truncated(4, "keyclass and wrapped_key_len", 8, blob.size() - 4);
  }
  ParsedBlob parsed;
  parsed.keyclass_field = load_le32(blob.data() + 4);
  parsed.key_class = key_class_of(parsed.keyclass_field);
  const uint32_t wrapped_len = load_le32(blob.data() + 8);
  if (wrapped_len != kWrappedItemKeySize) {
    return Status::Corruption("blob: wrapped_key_len at offset 8 is " +
                              std::to_string(wrapped_len) + ", expected 40");
  }
  const size_t body = blob.size() - kBlobHeaderSize;
  if (body < kWrappedItemKeySize + kBlobTagSize) {
    return truncated(kBlobHeaderSize, "wrapped key (40) and tag (16)",
                     kWrappedItemKeySize + kBlobTagSize, body);
  }
  parsed.wrapped_key = blob.subspan(kBlobHeaderSize, kWrappedItemKeySize);
  parsed.ciphertext =
      blob.subspan(kBlobHeaderSize + kWrappedItemKeySize, blob.size() - kBlobOverhead);
  parsed.tag = blob.last(kBlobTagSize);
  return parsed;
}

Result<Bytes> seal_blob(uint32_t keyclass_field, ByteView class_key, ByteView plaintext,
                        Random& random) {
  KCB_RETURN_IF_ERROR(check_class_key(class_key));
  KCB_ASSIGN_OR_RETURN(KeyWrapKey kek, KeyWrapKey::create(class_key));
  return seal_blob(keyclass_field, kek, plaintext, random);
}

Result<Bytes> seal_blob(uint32_t keyclass_field, const KeyWrapKey& class_key, ByteView plaintext,
                        Random& random) {
  if (plaintext.size() > kMaxBlobSize - kBlobOverhead) {
    return Status::ResourceExhausted("blob: plaintext of " + std::to_string(plaintext.size()) +
                                     " bytes does not fit the blob cap");
  }
  SecretBytes item_key(kItemKeySize);
  random.fill(item_key.span());
  KCB_ASSIGN_OR_RETURN(Bytes wrapped, aes_key_wrap(class_key, item_key.view()));
  KCB_ASSERT(wrapped.size() == kWrappedItemKeySize);

  Bytes out(kBlobOverhead + plaintext.size());
  store_le32(out.data(), kBlobVersion);
  store_le32(out.data() + 4, keyclass_field);
  store_le32(out.data() + 8, kWrappedItemKeySize);
  std::copy(wrapped.begin(), wrapped.end(), out.begin() + kBlobHeaderSize);
  uint8_t* ct = out.data() + kBlobHeaderSize + kWrappedItemKeySize;
  std::span<uint8_t, kGcmTagSize> tag(out.data() + out.size() - kBlobTagSize, kBlobTagSize);
  KCB_RETURN_IF_ERROR(aes_gcm_seal(item_key.view(), kEmptyIv, {}, plaintext,
                                   std::span<uint8_t>(ct, plaintext.size()), tag));
  return out;
}

Result<SecretBytes> open_blob(const ParsedBlob& blob, ByteView class_key) {
  KCB_RETURN_IF_ERROR(check_class_key(class_key));
  KCB_ASSIGN_OR_RETURN(KeyWrapKey kek, KeyWrapKey::create(class_key));
  return open_blob(blob, kek);
}

Result<SecretBytes> open_blob(const ParsedBlob& blob, const KeyWrapKey& class_key) {
  KCB_ASSERT(blob.wrapped_key.size() == kWrappedItemKeySize && blob.tag.size() == kBlobTagSize);
  auto item_key = aes_key_unwrap(class_key, blob.wrapped_key);
  if (!item_key.ok()) {
    return Status::DataLoss(
        "blob: item key at offset 12 failed the RFC 3394 integrity check "
        "under the class " +
        std::to_string(blob.key_class) + " key (wrong class key)");
  }
  SecretBytes plaintext(blob.ciphertext.size());
  const Status opened = aes_gcm_open(
      item_key->view(), kEmptyIv, {}, blob.ciphertext,
      std::span<const uint8_t, kGcmTagSize>(blob.tag.data(), kGcmTagSize), plaintext.span());
  if (!opened.ok()) {
    return Status::Corruption(
        "blob: GCM tag at offset " +
        std::to_string(kBlobOverhead - kBlobTagSize + blob.ciphertext.size()) +
        " does not match (altered ciphertext or tag)");
  }
  return plaintext;
}

}  // namespace kcb
