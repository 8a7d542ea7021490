#pragma once
// Small helpers for HTML form handlers: the submitted fields and the
// redirect after a successful POST.

#include <map>
#include <string>

#include "net/http.hpp"

namespace depesche::web {

/// The fields of an application/x-www-form-urlencoded body; empty for any
/// other content type or a body over `max_bytes` (tell the two apart with
/// form_too_large).
std::map<std::string, std::string> form_fields(const net::Request& req, std::size_t max_bytes);

/// True when the body is over `max_bytes`: form_fields would return nothing,
/// not even the CSRF token, so the answer is 413 rather than a CSRF 403.
bool form_too_large(const net::Request& req, std::size_t max_bytes);

/// A field's value, or empty when it was not sent.
std::string form_field(const std::map<std::string, std::string>& fields, const std::string& name);

/// 303 See Other to `location`, never cached: the answer to a handled POST.
net::Response see_other(std::string location);

}  // namespace depesche::web
