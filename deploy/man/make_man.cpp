// Builds ferry(1) from the binary's own --help: make_man FERRY TEMPLATE OUT VERSION.
//
// The template (deploy/man/ferry.1.in) holds what a person writes (description, exit status,
// files, examples); this fills in @SYNOPSIS@, @COMMANDS@ and @OPTIONS@ from `ferry --help` and
// `ferry <command> --help`, and @PROJECT_VERSION@, so the page names exactly the commands and
// options the binary has. Options every command with a --source shares go under CONNECTION
// OPTIONS, the rest under "<COMMAND> OPTIONS".

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct option_entry {
  std::string name;        // "--source"
  std::string short_name;  // "-h" or empty
  std::string metavar;     // "URL", or empty for a flag
  std::string text;        // the description
};

std::string run(const std::string& command) {
  std::array<char, 4096> buffer{};
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run " + command);
  while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) out += buffer.data();
  return out;
}

/// Text for groff: backslashes escaped, dashes of options written as \-, no line starting with a
/// dot or an apostrophe.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

/// The options of one --help text, in order.
std::vector<option_entry> parse_options(const std::string& help) {
  std::vector<option_entry> options;
  std::istringstream in(help);
  bool in_options = false;
  const std::regex head(R"(^  (-[a-z],)?(--[a-z0-9-]+)( ([^ ].*?))?( {2,}(.*))?$)");
  for (std::string line; std::getline(in, line);) {
    // "Options:" and the headers of option groups ("Inline verification:") open a list;
    // "Subcommands:" and text close it.
    if (!line.empty() && line[0] != ' ') {
      in_options = line.back() == ':' && line != "Subcommands:";
      continue;
    }
    if (!in_options || line.empty()) continue;
    std::smatch m;
    if (line.rfind("  -", 0) == 0 && std::regex_match(line, m, head)) {
      option_entry e;
      e.short_name = m[1].matched ? m[1].str().substr(0, 2) : "";
      e.name = m[2];
      std::string spec = m[4].matched ? m[4].str() : "";
      std::string fallback;
      if (const auto eq = spec.rfind('=');
          eq != std::string::npos && spec.find(' ', eq) == std::string::npos) {
        fallback = spec.substr(eq + 1);
        spec = spec.substr(0, eq);
      }
      // "N:INT in [0 - 1048576]" → N; "URL REQUIRED" → URL; "FILE:FILE" → FILE.
      e.metavar = spec.substr(0, spec.find_first_of(": "));
      e.text = m[6].matched ? m[6].str() : "";
      if (!fallback.empty()) e.text += " (default: " + fallback + ")";
      options.push_back(e);
    } else if (!options.empty()) {
      // A continuation: the description of the option above.
      const auto start = line.find_first_not_of(' ');
      if (start == std::string::npos) continue;
      std::string& text = options.back().text;
      if (!text.empty()) text += ' ';
      text += line.substr(start);
    }
  }
  return options;
}

/// The subcommands listed by `ferry --help`, with their one-line descriptions.
std::vector<std::pair<std::string, std::string>> parse_commands(const std::string& help) {
  std::vector<std::pair<std::string, std::string>> commands;
  const auto at = help.find("Subcommands:");
  if (at == std::string::npos) return commands;
  std::istringstream in(help.substr(at));
  const std::regex entry(R"(^  ([a-z]+) +(.*)$)");
  std::string line;
  std::getline(in, line);
  for (; std::getline(in, line);) {
    std::smatch m;
    if (line.empty()) break;
    if (std::regex_match(line, m, entry)) {
      commands.emplace_back(m[1], m[2]);
    } else if (!commands.empty()) {
      commands.back().second += " " + line.substr(line.find_first_not_of(' '));
    }
  }
  return commands;
}

/// An option's name: its leading dashes as \- (so they print as minus signs), the rest as is.
std::string roff_name(const std::string& name) {
  const auto dashes = name.find_first_not_of('-');
  std::string out;
  for (std::size_t i = 0; i < dashes; ++i) out += "\\-";
  return out + name.substr(dashes);
}

std::string entry_text(const option_entry& e) {
  std::string out = ".TP\n";
  if (!e.short_name.empty()) out += "\\fB" + roff_name(e.short_name) + "\\fR, ";
  out += "\\fB" + roff_name(e.name) + "\\fR";
  if (!e.metavar.empty()) out += " \\fI" + roff(e.metavar) + "\\fR";
  out += "\n" + roff(e.text) + "\n";
  return out;
}

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: make_man FERRY TEMPLATE OUT VERSION\n";
    return 64;
  }
  const std::string ferry = argv[1];
  std::ifstream in(argv[2]);
  std::stringstream page;
  page << in.rdbuf();

  const std::string top = run("'" + ferry + "' --help");
  const auto commands = parse_commands(top);
  const auto general = parse_options(top);
  std::map<std::string, std::vector<option_entry>> per_command;
  for (const auto& [name, _] : commands) {
    per_command[name] = parse_options(run("'" + ferry + "' " + name + " --help"));
  }
  // Options that every command with a --source offers: connection options.
  std::set<std::string> shared;
  bool first = true;
  for (const auto& [name, options] : per_command) {
    std::set<std::string> names;
    bool has_source = false;
    for (const auto& e : options) {
      names.insert(e.name);
      has_source = has_source || e.name == "--source";
    }
    if (!has_source) continue;
    if (first) {
      shared = names;
      first = false;
    } else {
      std::set<std::string> both;
      for (const auto& n : shared) {
        if (names.contains(n)) both.insert(n);
      }
      shared = both;
    }
  }
  std::set<std::string> general_names;
  for (const auto& e : general) general_names.insert(e.name);

  std::string synopsis, described, options;
  for (const auto& [name, text] : commands) {
    const bool has_source = [&] {
      for (const auto& e : per_command[name]) {
        if (e.name == "--source") return true;
      }
      return false;
    }();
    synopsis += ".B ferry " + name + "\n";
    if (has_source) synopsis += ".B \\-\\-source\n.I URL\n";
    synopsis += ".RI [ OPTIONS ]\n.br\n";
    described += ".TP\n.B " + name + "\n" + roff(text) + "\n";
  }
  options += ".SH GENERAL OPTIONS\n";
  for (const auto& e : general) options += entry_text(e);
  options +=
      ".SH CONNECTION OPTIONS\nThe source's and the target's URLs, TLS and credentials, the "
      "same for every command that talks to a source.\n";
  bool shared_done = false;
  for (const auto& [name, entries] : per_command) {
    if (shared_done) break;
    for (const auto& e : entries) {
      if (shared.contains(e.name) && !general_names.contains(e.name)) options += entry_text(e);
    }
    shared_done = !shared.empty();
  }
  for (const auto& [name, _] : commands) {
    std::string title = name;
    for (char& c : title) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    options += ".SH " + title + " OPTIONS\n";
    bool has_source = false;
    for (const auto& e : per_command[name]) has_source = has_source || e.name == "--source";
    for (const auto& e : per_command[name]) {
      if (general_names.contains(e.name) || (has_source && shared.contains(e.name))) continue;
      options += entry_text(e);
    }
  }

  std::string text = page.str();
  text = replace_all(text, "@SYNOPSIS@\n", synopsis);
  text = replace_all(text, "@COMMANDS@\n", described);
  text = replace_all(text, "@OPTIONS@\n", options);
  text = replace_all(text, "@PROJECT_VERSION@", argv[4]);
  std::ofstream out(argv[3]);
  out << text;
  return out ? 0 : 1;
}
