// The parts of input/document.h's readers that live in separate files. Private to input/.
#pragma once

#include "input/document.h"

namespace kcb::input {

// The bytes were checked against the size cap and found not blank.
Result<Tree> read_json_text(ByteView bytes, const Limits& limits);
Result<Tree> read_property_list(ByteView bytes, const Limits& limits);

// Removes annotation keys (is_annotation_key) from every object of `tree`.
void drop_annotations(Tree& tree);

}  // namespace kcb::input
