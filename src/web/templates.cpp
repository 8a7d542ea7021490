#include "web/templates.hpp"

#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace depesche::web {

namespace mst = kainjow::mustache;

struct Templates::Compiled {
  std::mutex mutex;  // kainjow's render keeps error state in the object
  std::unique_ptr<mst::mustache> tmpl;
};

namespace {

mst::data to_data(const nlohmann::json& j, const std::map<std::string, std::string>& partials,
                  bool root) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      mst::data d{mst::data::type::object};
      for (auto& [k, v] : j.items()) d.set(k, to_data(v, partials, false));
      if (root)
        for (const auto& [name, src] : partials) {
          std::string copy = src;
          d.set(name, mst::partial([copy] { return copy; }));
        }
      return d;
    }
    case nlohmann::json::value_t::array: {
      mst::data d{mst::data::type::list};
      for (const auto& v : j) d.push_back(to_data(v, partials, false));
      return d;
    }
    case nlohmann::json::value_t::string: return mst::data(j.get<std::string>());
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? mst::data(mst::data::type::bool_true)
                           : mst::data(mst::data::type::bool_false);
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return mst::data(std::to_string(j.get<long long>()));
    case nlohmann::json::value_t::number_float: return mst::data(std::to_string(j.get<double>()));
    case nlohmann::json::value_t::null:
    default: return mst::data(mst::data::type::bool_false);
  }
}

}  // namespace

Templates::~Templates() = default;

Result<std::unique_ptr<Templates>> Templates::load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail(ErrorCode::invalid, "template directory " + dir + " does not exist");
  auto t = std::make_unique<Templates>();
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".mustache") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = entry.path().stem().string();
    auto c = std::make_unique<Compiled>();
    c->tmpl = std::make_unique<mst::mustache>(ss.str());
    if (!c->tmpl->is_valid())
      return fail(ErrorCode::invalid,
                  "template " + entry.path().string() + ": " + c->tmpl->error_message());
    t->sources_.emplace(name, ss.str());
    t->compiled_.emplace(name, std::move(c));
  }
  return t;
}

std::string Templates::render(const std::string& name, const nlohmann::json& model) const {
  auto it = compiled_.find(name);
  if (it == compiled_.end()) throw std::logic_error("no template named " + name);
  mst::data d = to_data(model, sources_, true);
  std::lock_guard lock(it->second->mutex);
  std::string out = it->second->tmpl->render(d);
  if (!it->second->tmpl->is_valid())
    throw std::runtime_error("template " + name + " failed: " + it->second->tmpl->error_message());
  return out;
}

}  // namespace depesche::web
