#pragma once
// Keeping passwords typed on the command line out of sight: the process list (/proc/<pid>/
// cmdline, `ps`) and the messages of a command line that could not be parsed.

#include <string>
#include <string_view>
#include <vector>

namespace ferry::cli {

/// The arguments after the program name, copied for the parser (in order), after which the
/// password of every URL among them (`scheme://user:password@host...`, also inside
/// `--source=...`) is overwritten with '*' in `argv` itself. Linux shows a process's arguments
/// from that memory, so from then on `ps` shows `redis://user:*****@host`.
std::vector<std::string> take_arguments(int argc, char** argv);

/// `text` with the password of every URL in it replaced by "***" (a URL ends at whitespace or
/// a quote), for messages that may echo an argument.
std::string redact_urls(std::string_view text);

}  // namespace ferry::cli
