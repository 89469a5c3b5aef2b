// The editor's second pass as a new user (issue 33), the edits' side: what Apply commits, what the
// canvas shows over a preview and after Apply, a sketch's region, colour hints, and the progress
// and latency the status bar reports. Each test drives the real window and fails without its fix.
#include "ui/editor_fixture.h"

namespace {

using namespace cm::ui::testing;

}  // namespace
