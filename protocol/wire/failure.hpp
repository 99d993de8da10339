#pragma once
// An error code with the sentence a person needs to act on it.

#include <boost/system/error_code.hpp>
#include <string>

namespace ferry::protocol {

/// What failed (classified) and a message naming where and what to do. Never holds a secret.
struct failure {
  /// The classified error (see errors.hpp for what to do about each).
  boost::system::error_code code;
  /// A message for people: the node's address, what failed, the remedy.
  std::string message;
};

}  // namespace ferry::protocol
