#pragma once

#include <string>

#include "base/error.hpp"

namespace depesche::app {

class Application;

/// Loads the sample content in <resources>/demo/content.json into the store,
/// in every configured edition that the content covers, and copies its
/// images into <data dir>/media. Does nothing when articles already exist.
/// Returns the number of articles created.
Result<int> load_demo(Application& app);

}  // namespace depesche::app
