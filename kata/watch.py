"""`make watch`: rerun the current exercise's visible tests on every save, then move on.

It starts from the first exercise (in course order) not yet recorded as done, checks it and the
ones after it until one fails, and then waits. Saves are seen through watchdog's native observer
(inotify, FSEvents, ...) and, because such events do not arrive on some mounted or network
folders, through watchdog's polling observer as well; whichever sees a save first wins.

Each run happens in a child process (forked from this warm one where the OS allows it, so torch is
imported once), so a learner's infinite loop or crash ends that run, never the watch."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from . import course, impl, progress
from .status import snapshot

POLL_SECONDS = 1.0


class _Saves:
    """A watchdog event handler that remembers the last .py file saved."""

    def __init__(self):
        self.event = threading.Event()
        self.path = ""
        self._seen: dict[str, tuple] = {}  # path -> (mtime, size): both observers see each save
        self._lock = threading.Lock()

    def dispatch(self, event):
        # Only writes count: importing a file to test it raises "opened"/"closed_no_write" events.
        if event.event_type not in ("created", "modified", "moved", "closed"):
            return
        path = getattr(event, "dest_path", "") or event.src_path
        name = os.path.basename(path)
        # Editors' lock and swap files (.#x.py, .x.py.swp) are not saves.
        if event.is_directory or not name.endswith(".py") or name.startswith("."):
            return
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:  # deleted or renamed away
            stamp = None
        with self._lock:
            if self._seen.get(str(path), ()) == stamp:
                return
            self._seen[str(path)] = stamp
            self.path = str(path)
            self.event.set()


def _observers(folder, handler, poll_only: bool):
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    started = []
    for make in ([] if poll_only else [Observer]) + [lambda: PollingObserver(timeout=POLL_SECONDS)]:
        try:
            obs = make()
            obs.schedule(handler, str(folder), recursive=True)
            obs.daemon = True
            obs.start()
            started.append(obs)
        except OSError as e:  # e.g. the inotify watch limit: the polling observer still runs
            print(f"(native file events unavailable: {e}; polling every {POLL_SECONDS:g} s)")
    return started


class _Restart(Exception):
    """A file was saved while a run was going on: that run is stale."""


def _run(ex: course.Exercise, impl_name: str, saves: "_Saves") -> int:
    """The exercise's visible tests in a child process; its exit code. A save during the run
    stops it (raises _Restart); Ctrl-C stops it and propagates."""
    if hasattr(os, "fork") and sys.platform.startswith("linux"):
        pid = os.fork()
        if pid == 0:  # the child: run, report, leave without touching the parent's state
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a run stops
            code = 3
            try:
                from . import runner
                code, _ = runner.run([course.load().module(ex.module)], False, "--exercise", ex.name,
                                     "-p", "no:cacheprovider", impl=impl_name)
            finally:
                sys.stdout.flush()
                os._exit(code)

        def poll():
            done, status = os.waitpid(pid, os.WNOHANG)
            return os.waitstatus_to_exitcode(status) if done else None

        def stop():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    else:
        cmd = [sys.executable, "-m", "kata", "test", ex.module, "--exercise", ex.name]
        proc = subprocess.Popen(cmd, env=dict(os.environ, IMPL=impl_name), cwd=course.ROOT)
        poll = proc.poll

        def stop():
            proc.kill()
            proc.wait()
    try:
        while True:
            code = poll()
            if code is not None:
                return code
            if saves.event.wait(0.1):
                stop()
                raise _Restart()
    except KeyboardInterrupt:
        stop()
        raise


def _warm_up() -> None:
    """Import what every run needs once, here, so forked runs start in a fraction of a second."""
    import pytest  # noqa: F401
    import torch  # noqa: F401

    from . import plugin, runner  # noqa: F401


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def watch(poll_only: bool = False) -> int:
    impl_name = impl.impl_name()
    if impl_name == "reference":
        print("IMPL=reference: nothing to watch (the solutions do not change).")
        return 2
    try:
        folder = impl.package_dir()
    except impl.ImplImportError as e:
        print(e)
        return 2
    exercises = course.load().exercises
    known = snapshot(progress.load()) if impl_name == "exercises" else {}
    i = next((k for k, ex in enumerate(exercises) if known.get(ex.name) != "done"), len(exercises))
    saves = _Saves()
    observers = []
    try:
        observers = _observers(folder, saves, poll_only)
        print(f"Watching {folder} (Ctrl-C to stop). Starting at {exercises[min(i, len(exercises) - 1)].name}.",
              flush=True)
        _warm_up()
        check_now = True
        while i < len(exercises):
            ex = exercises[i]
            if not check_now:
                saves.event.wait()
            if saves.event.is_set():
                time.sleep(0.2)  # editors write in several steps; let the save settle
                saves.event.clear()
                print(f"\n[{_stamp()}] saved {os.path.relpath(saves.path)}: checking {ex.name}...", flush=True)
            try:
                code = _run(ex, impl_name, saves)
            except _Restart:
                print(f"\n[{_stamp()}] saved again during the run: starting over.", flush=True)
                check_now = True
                continue
            if code == 0:
                i += 1
                print(f"\n[{_stamp()}] ✓ {ex.name} passes its visible tests.", flush=True)
                last_of_module = i == len(exercises) or exercises[i].module != ex.module
                if last_of_module:
                    print(f"  {ex.module} is complete: make grade-{ex.module} (hidden tests), "
                          f"make quiz-{ex.module}, make exp-{ex.module}.", flush=True)
                if i < len(exercises):
                    nxt = exercises[i]
                    print(f"  Next: {nxt.name} ({nxt.summary}) in "
                          f"{os.path.relpath(folder / nxt.module / (nxt.file + '.py'))}", flush=True)
                check_now = True  # it may already be written
            else:
                print(f"[{_stamp()}] waiting for you to save a file under {os.path.relpath(folder)}/ ...", flush=True)
                check_now = False
        print("Every exercise passes its visible tests. make report shows the whole path.")
        return 0
    except KeyboardInterrupt:
        print("\nwatch stopped.")
        return 0
    finally:
        for obs in observers:
            obs.stop()
