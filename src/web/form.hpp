#pragma once
// Small helpers for HTML form handlers: the submitted fields and the
// redirect after a successful POST.

#include <map>
#include <string>

#include "net/http.hpp"

namespace depesche::web {

/// The fields of an application/x-www-form-urlencoded body; empty for any
/// other content type or a body over `max_bytes`.
std::map<std::string, std::string> form_fields(const net::Request& req, std::size_t max_bytes);

/// A field's value, or empty when it was not sent.
std::string form_field(const std::map<std::string, std::string>& fields, const std::string& name);

/// 303 See Other to `location`, never cached: the answer to a handled POST.
net::Response see_other(std::string location);

}  // namespace depesche::web
