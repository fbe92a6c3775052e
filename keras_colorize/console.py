"""What the commands write to the console: TensorFlow imported without its start-up lines,
and progress bars only on a terminal.

TensorFlow 2.21 writes six lines to stderr while it is imported (oneDNN is on, which CPU
instructions it was built for), from C++ before its logging is set up, so that neither
`TF_CPP_MIN_LOG_LEVEL` nor Python's logging can hide them; every command of this package
would open with them. `import_tensorflow_quietly` runs the import with the process's stderr
captured, then writes back every line but those.
"""

import contextlib
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
    with _stderr_without(_START_UP_LINES):
        import tensorflow  # noqa: F401


# TensorFlow's native log lines: severity, date, time, thread, source file (`I0000 00:00:... reader.cc:83] ...`),
# and the TFLite runtime's note on its CPU delegate.
_NATIVE_LOG_LINES = re.compile(
    rb"[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
)


@contextlib.contextmanager
def native_logs_hidden():
    """Leave out the lines TensorFlow's and TFLite's C++ code log while the block runs (the
    TFLite converter logs dozens per model, whatever `TF_CPP_MIN_LOG_LEVEL` says); their errors
    reach Python as exceptions, which carry their own message."""
    with _stderr_without(_NATIVE_LOG_LINES):
        yield


@contextlib.contextmanager
def _stderr_without(lines):
    """Run the block with the process's stderr (file descriptor 2, which C++ writes to)
    captured, then write back every line that does not match `lines`."""
    sys.stderr.flush()
    stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True)
                    if not lines.fullmatch(line.rstrip(b"\r\n"))]
            os.write(2, b"".join(kept))
