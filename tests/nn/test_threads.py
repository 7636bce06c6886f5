"""Training threads fitted to the cores other processes leave idle."""

import pytest
import torch

from xslatent.nn import _train
from xslatent.nn._train import fit_threads_to_idle_cores, threads_for_idle_cores


@pytest.mark.parametrize("current, n_cpus, busy, expected", [
    (2, 2, 0.0, 2),   # idle machine: keep both
    (2, 2, 0.4, 2),   # a light background load rounds away
    (2, 2, 0.95, 1),  # one core busy: one thread
    (2, 2, 1.9, 1),   # never below one
    (8, 16, 10.2, 6),
    (4, 16, 0.0, 4),  # never above the current count
])
def test_threads_for_idle_cores_known_answers(current, n_cpus, busy, expected):
    assert threads_for_idle_cores(current, n_cpus, busy) == expected


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_one_busy_core_of_two_lowers_torch_to_one_thread(monkeypatch, two_threads):
    monkeypatch.setattr(_train, "_cpu_limit", lambda: None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(__import__("os"), "cpu_count", lambda: 2)
    samples = iter([(1000.0, 400.0), (1200.0, 500.0)])  # idle 100 of 200 ticks: 1 of 2 cores busy
    monkeypatch.setattr(_train, "_cpu_times", lambda: next(samples))
    lines = []
    assert fit_threads_to_idle_cores(sample_seconds=0.0, log=lines.append) == 1
    assert torch.get_num_threads() == 1
    assert lines == ["about 1.0 of 2 CPU cores are busy with other processes: training on 1 thread instead "
                     "of 2 (set OMP_NUM_THREADS to choose)"]


def test_an_idle_machine_or_the_users_choice_changes_nothing(monkeypatch, two_threads):
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(_train, "_cpu_times", lambda: 1 / 0)  # not even measured
    assert fit_threads_to_idle_cores(sample_seconds=0.0) is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(_train, "_cpu_limit", lambda: 2)
    monkeypatch.setattr(__import__("os"), "cpu_count", lambda: 2)
    samples = iter([(1000.0, 400.0), (1200.0, 590.0)])  # 95 % idle
    monkeypatch.setattr(_train, "_cpu_times", lambda: next(samples))
    assert fit_threads_to_idle_cores(sample_seconds=0.0) is None
    assert torch.get_num_threads() == 2


def test_a_cpu_quota_below_the_thread_count_lowers_it_first(monkeypatch, two_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(_train, "_cpu_limit", lambda: 1)
    monkeypatch.setattr(_train, "_cpu_times", lambda: 1 / 0)  # one thread: nothing to measure
    lines = []
    assert fit_threads_to_idle_cores(sample_seconds=0.0, log=lines.append) == 1
    assert torch.get_num_threads() == 1
    assert lines == ["this process may use 1 CPU core (affinity / cgroup quota): training on 1 thread "
                     "instead of 2 (set OMP_NUM_THREADS to choose)"]


@pytest.mark.parametrize("files, expected", [
    ({"/sys/fs/cgroup/cpu.max": "150000 100000\n"}, 2),  # 1.5 cores: 2 threads
    ({"/sys/fs/cgroup/cpu.max": "max 100000\n"}, None),
    ({"/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "100000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 1),
    ({"/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({}, None),
    # the process's own cgroup and its ancestors (a systemd slice, a batch job, cgroup v1 docker)
    ({"/proc/self/cgroup": "0::/user.slice/job-7\n", "/sys/fs/cgroup/user.slice/job-7/cpu.max": "max 100000\n",
      "/sys/fs/cgroup/user.slice/cpu.max": "200000 100000\n", "/sys/fs/cgroup/cpu.max": "max 100000\n"}, 2),
    ({"/proc/self/cgroup": "5:memory:/docker/ab\n4:cpu,cpuacct:/docker/ab\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/ab/cpu.cfs_quota_us": "50000\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/ab/cpu.cfs_period_us": "100000\n"}, 1),
])
def test_cpu_limit_reads_the_cgroup_quota(monkeypatch, files, expected):
    import builtins
    import io
    import os

    real_open = builtins.open

    def fake_open(path, *a, **k):
        if str(path).startswith("/sys/fs/cgroup") or str(path) == "/proc/self/cgroup":
            if path not in files:
                raise FileNotFoundError(path)
            return io.StringIO(files[path])
        return real_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert _train._cpu_limit() == expected
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert _train._cpu_limit() == (3 if expected is None else min(3, expected))
