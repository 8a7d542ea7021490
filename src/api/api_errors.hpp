#pragma once
// The one place error codes become HTTP statuses, and the JSON error shape
// {"error":{"code":"...","message":"...","field":"..."}}.

#include <string_view>

#include "base/error.hpp"
#include "net/http.hpp"

namespace depesche::api {

int status_for(ErrorCode code);
net::Response error_response(const Error& error);
net::Response error_response(int status, std::string_view code, std::string_view message,
                             std::string_view field = {});
/// A JSON body with the API's headers (no caching unless the caller adds it).
net::Response json_response(int status, std::string body);

}  // namespace depesche::api
