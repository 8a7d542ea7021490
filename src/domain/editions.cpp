#include "domain/editions.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace depesche::domain {

Editions::Editions(std::vector<std::string> codes, std::string default_code)
    : codes_(std::move(codes)), default_(std::move(default_code)) {}

bool Editions::contains(std::string_view code) const {
  return std::find(codes_.begin(), codes_.end(), code) != codes_.end();
}

bool Editions::is_valid_code(std::string_view code) {
  return code.size() >= 2 && code.size() <= 8 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string Editions::preferred(std::string_view header) const {
  std::string best = default_;
  double best_q = 0.0;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    double q = 1.0;
    auto semi = item.find(';');
    std::string_view tag = item.substr(0, semi);
    if (semi != std::string_view::npos) {
      auto qpos = item.find("q=", semi);
      if (qpos != std::string_view::npos)
        q = std::strtod(std::string(item.substr(qpos + 2)).c_str(), nullptr);
    }
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    std::string primary;
    for (char c : tag.substr(0, tag.find('-')))
      primary += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (q > best_q && contains(primary)) {
      best = primary;
      best_q = q;
    }
  }
  return best;
}

}  // namespace depesche::domain
