// ferry's own families (job_metrics.hpp): every one registers under Prometheus's conventions,
// the job phase is exposed as exactly one 1, and the process metrics read /proc/self's format.

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "engine/metrics/job_metrics.hpp"
#include "engine/metrics/process_metrics.hpp"

namespace ferry::engine::metrics {
namespace {

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) found.push_back(line);
  }
  return found;
}

TEST(metrics_job, every_family_follows_the_conventions) {
  std::set<std::string_view> names;
  for (const family_spec* spec : families::all) {
    EXPECT_TRUE(spec->name.starts_with("ferry_")) << spec->name;
    EXPECT_TRUE(names.insert(spec->name).second) << spec->name << " twice";
    EXPECT_TRUE(spec->help.ends_with(".")) << spec->name << ": help is one sentence";
    if (spec->type == metric_type::histogram) {
      EXPECT_TRUE(spec->name.ends_with("_seconds")) << spec->name;
    }
    if (spec->name.find("time") != std::string_view::npos) {
      EXPECT_TRUE(spec->name.ends_with("_seconds")) << spec->name << ": times in seconds";
    }
  }
  registry r;
  const job_metrics m(r, "copy", "0.1.0");  // registers them all, or throws
  const std::string text = r.expose();
  EXPECT_EQ(lines_starting(text, "ferry_job_info"),
            std::vector<std::string>{R"(ferry_job_info{command="copy",version="0.1.0"} 1)"});
  EXPECT_EQ(lines_starting(text, "ferry_job_start_time_seconds ").size(), 1u);
}

TEST(metrics_job, exactly_one_phase_is_1) {
  registry r;
  job_metrics m(r, "sync", "0.1.0");
  EXPECT_EQ(lines_starting(r.expose(), "ferry_job_phase{phase=\"starting\"}"),
            std::vector<std::string>{R"(ferry_job_phase{phase="starting"} 1)"});
  m.set_phase(job_phase::failed);
  const std::string text = r.expose();
  const auto phases = lines_starting(text, "ferry_job_phase{");
  ASSERT_EQ(phases.size(), static_cast<std::size_t>(job_phase::count_));
  std::size_t ones = 0;
  for (const auto& line : phases) ones += line.ends_with(" 1");
  EXPECT_EQ(ones, 1u);
  EXPECT_EQ(lines_starting(text, R"(ferry_job_phase{phase="failed"})"),
            std::vector<std::string>{R"(ferry_job_phase{phase="failed"} 1)"});
}

TEST(metrics_job, sync_phase_per_shard) {
  registry r;
  job_metrics m(r, "sync", "0.1.0");
  m.set_sync_phase("a:1", sync_phase::snapshot);
  m.set_sync_phase("a:1", sync_phase::streaming);
  m.set_sync_phase("b:2", sync_phase::reconciling);
  EXPECT_EQ(lines_starting(r.expose(), "ferry_sync_phase{"),
            (std::vector<std::string>{
                R"(ferry_sync_phase{shard="a:1",phase="reconciling"} 0)",
                R"(ferry_sync_phase{shard="a:1",phase="snapshot"} 0)",
                R"(ferry_sync_phase{shard="a:1",phase="streaming"} 1)",
                R"(ferry_sync_phase{shard="b:2",phase="reconciling"} 1)",
                R"(ferry_sync_phase{shard="b:2",phase="snapshot"} 0)",
                R"(ferry_sync_phase{shard="b:2",phase="streaming"} 0)",
            }));
}

TEST(metrics_process, parses_proc_stat_with_an_awkward_command_name) {
  // Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss) of proc(5).
  const std::string line =
      "4242 (fe rry) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 5 0 12345 "
      "104857600 4096 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto s = parse_proc_stat(line);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->cpu_ticks, 300u);
  EXPECT_EQ(s->start_ticks, 12345u);
  EXPECT_EQ(s->virtual_bytes, 104857600u);
  EXPECT_EQ(s->resident_pages, 4096u);
  EXPECT_FALSE(parse_proc_stat("4242 (ferry) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("no parenthesis"));
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(metrics_process, parses_the_boot_time) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\ncpu0 1 2 3\nintr 5 6\nctxt 99\nbtime 1764576000\n"
                            "processes 12\n"),
            1764576000u);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
  EXPECT_FALSE(parse_boot_time("btime soon\n"));
}

}  // namespace
}  // namespace ferry::engine::metrics
