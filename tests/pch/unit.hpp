#pragma once
// The unit tests' precompiled header (tests/CMakeLists.txt): what nearly every unit test
// includes. Only headers that never change with ferry's own code belong here, so editing ferry
// does not rebuild it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
