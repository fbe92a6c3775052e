"""What the commands write to the console: TensorFlow imported without its start-up lines,
and progress bars only on a terminal.

TensorFlow 2.21 writes six lines to stderr while it is imported (oneDNN is on, which CPU
instructions it was built for), from C++ before its logging is set up, so that neither
`TF_CPP_MIN_LOG_LEVEL` nor Python's logging can hide them; every command of this package
would open with them. `import_tensorflow_quietly` runs the import with the process's stderr
captured, then writes back every line but those.
"""

import os
import re
import sys
import tempfile

_START_UP_LINES = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|I\d{4} [\d:.]+ +\d+ (port|cpu_feature_guard)\.cc:\d+\] .*"
    rb"|To enable the following instructions: .* other operations, rebuild TensorFlow .*"
)


def is_terminal():
    """Whether stdout is a terminal (and not a CI log): progress bars redraw with carriage
    returns and colour codes, which a log file keeps line after line."""
    return sys.stdout.isatty() and not os.environ.get("CI")


def import_tensorflow_quietly():
    """Import TensorFlow (once per process) leaving out its start-up INFO lines."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
            captured.seek(0)
            lines = captured.read().splitlines(keepends=True)
            kept = [line for line in lines if not _START_UP_LINES.fullmatch(line.rstrip(b"\r\n"))]
            os.write(2, b"".join(kept))
