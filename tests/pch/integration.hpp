#pragma once
// The integration tests' precompiled header (tests/CMakeLists.txt): GoogleTest, the standard
// library, and the support headers most integration tests include (each is included by at least
// a third of them). Editing one of these rebuilds the header once, then every integration test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
