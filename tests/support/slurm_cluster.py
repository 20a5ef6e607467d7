"""A throw-away single-node SLURM cluster (with one fake GPU) for tests.

Usage::

    reason = SlurmCluster.skip_reason()
    if reason:
        pytest.skip(reason)
    with SlurmCluster(tmp_path / "slurm") as cluster:
        proc = run_snakemake_on_slurm(workdir, ["all"])
        print(cluster.jobs())

Needs root and the Debian packages ``slurm-wlm`` and ``munge``
(``scripts/install_system_deps.sh --slurm``). The cluster writes ``/etc/slurm/slurm.conf`` and
``/etc/slurm/gres.conf`` (any previous files are backed up and restored on exit), keeps all its
state, spool and log files under ``state_dir``, runs ``munged`` (unless one already answers),
``slurmctld`` and ``slurmd`` in the foreground as child processes, and stops all of them again on
exit. ``MinJobAge=600`` keeps finished jobs visible to ``squeue``/``scontrol`` so that tests can
see what went through ``sbatch`` (and so that snakemake can use ``squeue`` for status checks,
as there is no accounting database for ``sacct``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from support import ROOT

SLURM_PROFILE = ROOT / "profiles" / "slurm"

PARTITION = "main"
CONF_DIR = Path("/etc/slurm")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN_DIR = Path("/run/munge")
MUNGE_SOCKET = MUNGE_RUN_DIR / "munge.socket.2"
FAKE_GPU = Path("/dev/fakegpu0")
MARKER = (
    "# Written by haplexpr tests/support/slurm_cluster.py; restored/removed when the cluster stops."
)
BACKUP_SUFFIX = ".haplexpr-backup"

# Binaries the cluster cannot do without (mungekey is optional: dd is the fallback).
REQUIRED_BINARIES = (
    "munged",
    "munge",
    "unmunge",
    "slurmctld",
    "slurmd",
    "slurmstepd",
    "sinfo",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
)
_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
INSTALL_HINT = (
    "install them with `scripts/install_system_deps.sh --slurm` (Debian: slurm-wlm munge)"
)


def _which(name: str) -> str | None:
    """Locate ``name`` on PATH or in the sbin dirs (often missing from PATH)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    return shutil.which(name, path=path)


def _missing_binaries() -> list[str]:
    return [name for name in REQUIRED_BINARIES if _which(name) is None]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); treat it as dead
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return status != "Z"


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


_PRCTL = _load_prctl() if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1
_SIGTERM = int(signal.SIGTERM)


def _die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux PR_SET_PDEATHSIG).

    Keeps daemons from outliving a pytest that was killed without running its teardown.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, _SIGTERM, 0, 0, 0)


def _pids_named(name: str) -> list[int]:
    """PIDs of running processes whose command name is exactly ``name`` (read-only scan)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == name and _pid_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


@dataclass
class SlurmJob:
    """One job as the SLURM controller reports it (``scontrol show job``)."""

    job_id: str
    name: str
    state: str
    comment: str = ""
    partition: str = ""
    fields: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def rule(self) -> str | None:
        """Snakemake rule name, from the ``--comment rule_<name>[_wildcards_...]`` it was given."""
        m = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", self.comment)
        return m.group(1) if m else None

    @property
    def gres(self) -> str:
        """Requested generic resources, e.g. ``gres:gpu:1`` (empty for CPU jobs)."""
        return ",".join(
            v for k in ("TresPerJob", "TresPerNode", "Gres") if (v := self.fields.get(k, ""))
        )


def _parse_scontrol_oneliner(line: str) -> dict[str, str]:
    """Split one ``scontrol -o show job`` line into its Key=Value fields.

    Values may contain spaces (Reason, Command, ...); a new field starts at ``<space>Key=``.
    """
    fields: dict[str, str] = {}
    matches = list(re.finditer(r"(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=", line))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        fields[m.group(1)] = line[m.end() : end].strip()
    return fields


def slurm_jobs(env: dict[str, str] | None = None) -> list[SlurmJob]:
    """All jobs the controller still knows (finished ones stay for MinJobAge seconds)."""
    proc = subprocess.run(
        [_which("scontrol") or "scontrol", "-o", "show", "job"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    if proc.returncode != 0:
        if "No jobs in the system" in proc.stdout + proc.stderr:
            return []
        raise RuntimeError(f"scontrol show job failed: {proc.stderr.strip()}")
    jobs = []
    for line in proc.stdout.splitlines():
        if not line.strip() or "JobId=" not in line:
            continue
        f = _parse_scontrol_oneliner(line)
        jobs.append(
            SlurmJob(
                job_id=f.get("JobId", ""),
                name=f.get("JobName", ""),
                state=f.get("JobState", ""),
                comment=f.get("Comment", ""),
                partition=f.get("Partition", ""),
                fields=f,
            )
        )
    return jobs


def _node_memory_mb() -> int:
    """MB of memory safe to advertise: a bit under both slurmd's view and MemAvailable."""
    candidates = []
    slurmd = _which("slurmd")
    if slurmd:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([slurmd, "-C"], capture_output=True, text=True, timeout=30)
            m = re.search(r"RealMemory=(\d+)", out.stdout)
            if m:
                candidates.append(int(m.group(1)))
    with contextlib.suppress(OSError):
        m = re.search(r"^MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if m:
            candidates.append(int(m.group(1)) // 1024)
    if not candidates:
        return 1024
    return max(256, int(min(candidates) * 0.9))


class SlurmClusterError(RuntimeError):
    """The test cluster could not be set up or started."""


class SlurmCluster:
    """Context manager running a one-node SLURM cluster (partition ``main``, one fake GPU).

    Args:
        state_dir: directory for state, spool and logs (created; use a tmp dir).
        cpus: CPUs to advertise (default: ``nproc``). Values above the real count, or
            ``memory_mb`` above the real memory, switch on ``SlurmdParameters=config_overrides``
            so that slurmd accepts them (nothing enforces the limits: no cgroups).
        memory_mb: RealMemory to advertise (default: a bit under the free memory).
        gpus: number of fake GPUs (``/dev/fakegpu<i>``, char devices 1:3 like /dev/null).
        start_timeout: seconds to wait for the node to become idle.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        cpus: int | None = None,
        memory_mb: int | None = None,
        gpus: int = 1,
        start_timeout: float = 60.0,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.host = socket.gethostname().split(".")[0]
        self.real_cpus = os.cpu_count() or 1
        self.cpus = cpus or len(os.sched_getaffinity(0)) or self.real_cpus
        self.real_memory_mb = _node_memory_mb()
        self.memory_mb = memory_mb or self.real_memory_mb
        self.gpus = gpus
        self.start_timeout = start_timeout
        self.partition = PARTITION
        self.log_dir = self.state_dir / "log"
        self._procs: dict[str, subprocess.Popen] = {}
        self._log_handles: list = []
        self._restore: list[tuple[Path, Path | None]] = []  # (target, backup or None)
        self._created: list[Path] = []
        self._foreign_stepds: set[int] = set()
        self._started = False

    # ------------------------------------------------------------------ helpers for tests
    @staticmethod
    def skip_reason() -> str | None:
        """Why the cluster cannot run here (a string for ``pytest.skip``), or None."""
        if not sys.platform.startswith("linux"):
            return f"SLURM test cluster needs Linux (this is {sys.platform})"
        if os.geteuid() != 0:
            return f"SLURM test cluster needs root (running as uid {os.geteuid()})"
        missing = _missing_binaries()
        if missing:
            return f"SLURM test cluster: missing binaries {', '.join(missing)}; {INSTALL_HINT}"
        return None

    @property
    def slurmctld_log(self) -> Path:
        """The controller's log file (lists every submitted job)."""
        return self.log_dir / "slurmctld.log"

    @property
    def slurmd_log(self) -> Path:
        """The node daemon's log file."""
        return self.log_dir / "slurmd.log"

    def jobs(self) -> list[SlurmJob]:
        """All jobs the controller knows, finished ones included (MinJobAge=600)."""
        return slurm_jobs()

    def submitted_job_ids_from_log(self) -> list[str]:
        """Job IDs the controller log records as submitted (fallback to :meth:`jobs`)."""
        try:
            text = self.slurmctld_log.read_text(errors="replace")
        except OSError:
            return []
        ids = re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+)", text)
        return list(dict.fromkeys(ids))

    def diagnostics(self, lines: int = 40) -> str:
        """Tails of the daemon logs plus sinfo output, for assertion messages."""
        parts = []
        for cmd in (["sinfo", "-N", "-l"], ["sinfo", "-R"], ["squeue", "-t", "all"]):
            exe = _which(cmd[0])
            if exe:
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    p = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=10)
                    parts.append(f"$ {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        for log in sorted(self.log_dir.glob("*.log")):
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {log} (last {lines} lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration and start munged, slurmctld and slurmd."""
        if self._started:
            return
        missing = _missing_binaries()
        if missing:
            raise SlurmClusterError(
                f"cannot start the SLURM test cluster: missing binaries {', '.join(missing)}; "
                f"{INSTALL_HINT}"
            )
        if os.geteuid() != 0:
            raise SlurmClusterError("the SLURM test cluster must be started as root")
        for daemon in ("slurmctld", "slurmd"):
            if pids := _pids_named(daemon):
                raise SlurmClusterError(
                    f"a {daemon} is already running (pid {', '.join(map(str, pids))}); "
                    "stop it before starting the test cluster"
                )
        self._started = True
        self._foreign_stepds = set(_pids_named("slurmstepd"))
        atexit.register(self.stop)
        try:
            self._prepare_dirs()
            self._ensure_munge_key()
            self._ensure_fake_gpus()
            self._write_configs()
            self._start_munged()
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i"])
            self._wait_for_controller()
            self._spawn("slurmd", [_which("slurmd"), "-D"])
            self._wait_for_idle_node()
        except SlurmClusterError as exc:
            diag = self.diagnostics()
            self.stop()
            raise SlurmClusterError(f"{exc}\n{diag}") from None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Cancel jobs, stop the daemons this object started and restore the config files."""
        if not self._started:
            return
        self._started = False
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self._cancel_all_jobs()
        # slurmd first (it would otherwise keep retrying the controller), munged last
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            pid_from_file = self._pidfile_pid(name)
            self._terminate(name, proc)
            # a daemon that forked anyway: stop the pid its pid file names, too
            if pid_from_file and pid_from_file != proc.pid and _pid_alive(pid_from_file):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid_from_file, signal.SIGTERM)
        self._reap_job_steps()
        for fh in self._log_handles:
            with contextlib.suppress(OSError):
                fh.close()
        self._log_handles.clear()
        for target, backup in reversed(self._restore):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
        self._restore.clear()
        for path in reversed(self._created):
            with contextlib.suppress(OSError):
                path.unlink()
        self._created.clear()

    # ------------------------------------------------------------------ internals
    def _prepare_dirs(self) -> None:
        for sub in ("ctld", "spool", "log", "run"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        # slurmd runs job scripts from its spool dir; keep everything traversable
        self.state_dir.chmod(0o755)
        CONF_DIR.mkdir(parents=True, exist_ok=True)

    def _ensure_munge_key(self) -> None:
        if MUNGE_KEY.exists():
            return
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        mungekey = _which("mungekey")
        if mungekey:
            subprocess.run([mungekey, "--create", "--keyfile", str(MUNGE_KEY)], check=True)
        else:
            MUNGE_KEY.write_bytes(os.urandom(1024))
        shutil.chown(MUNGE_KEY, "munge", "munge")
        MUNGE_KEY.chmod(0o400)

    def _ensure_fake_gpus(self) -> None:
        for i in range(self.gpus):
            dev = Path(f"/dev/fakegpu{i}")
            if dev.exists():
                continue
            try:
                os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            except OSError as exc:
                raise SlurmClusterError(
                    f"cannot create the fake GPU device {dev} (mknod c 1 3): {exc}"
                ) from exc
            self._created.append(dev)

    def _slurm_conf(self) -> str:
        s = self.state_dir
        overrides = self.cpus > self.real_cpus or self.memory_mb > self.real_memory_mb
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        lines = [
            MARKER,
            "ClusterName=haplexpr-test",
            f"SlurmctldHost={self.host}",
            "AuthType=auth/munge",
            "CryptoType=crypto/munge",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            "SlurmUser=root",
            "SlurmdUser=root",
            "ReturnToService=2",
            "MinJobAge=600",
            "DefMemPerCPU=500",  # else a job without --mem takes the whole node
            "MailProg=/bin/true",
            "KillWait=5",
            "InactiveLimit=0",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=60",
            "MessageTimeout=10",
            f"StateSaveLocation={s / 'ctld'}",
            f"SlurmdSpoolDir={s / 'spool'}",
            f"SlurmctldPidFile={s / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={s / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.slurmctld_log}",
            f"SlurmdLogFile={self.slurmd_log}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "GresTypes=gpu",
            *(["SlurmdParameters=config_overrides"] if overrides else []),
            f"NodeName={self.host} CPUs={self.cpus} RealMemory={self.memory_mb}{gres}"
            " State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.host} Default=YES MaxTime=INFINITE"
            " State=UP",
        ]
        return "\n".join(lines) + "\n"

    def _gres_conf(self) -> str:
        lines = [MARKER, "AutoDetect=off"]
        lines += [f"NodeName={self.host} Name=gpu File=/dev/fakegpu{i}" for i in range(self.gpus)]
        return "\n".join(lines) + "\n"

    def _install_file(self, target: Path, content: str) -> None:
        """Write ``target``, keeping a backup of a foreign previous version for restore."""
        backup = target.with_name(target.name + BACKUP_SUFFIX)
        if backup.exists():
            # left behind by an earlier run that died: the backup is the original
            keep: Path | None = backup
        elif target.exists() and MARKER not in target.read_text(errors="replace"):
            os.replace(target, backup)
            keep = backup
        else:
            keep = None
        self._restore.append((target, keep))
        target.write_text(content)
        target.chmod(0o644)

    def _write_configs(self) -> None:
        self._install_file(CONF_DIR / "slurm.conf", self._slurm_conf())
        self._install_file(CONF_DIR / "gres.conf", self._gres_conf())

    def _munge_works(self) -> bool:
        munge, unmunge = _which("munge"), _which("unmunge")
        if not (munge and unmunge and MUNGE_SOCKET.exists()):
            return False
        try:
            cred = subprocess.run([munge, "-n"], capture_output=True, timeout=10, check=True).stdout
            subprocess.run([unmunge], input=cred, capture_output=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return False
        return True

    def _start_munged(self) -> None:
        if self._munge_works():
            return  # somebody else's munged is serving; leave it alone
        MUNGE_RUN_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(MUNGE_RUN_DIR, "munge", "munge")
        MUNGE_RUN_DIR.chmod(0o755)
        for d in (Path("/var/lib/munge"), Path("/var/log/munge")):
            if not d.exists():
                d.mkdir(parents=True)
                shutil.chown(d, "munge", "munge")
                d.chmod(0o700)
        # --force: take over a stale socket left by a munged that died
        self._spawn("munged", [_which("munged"), "-F", "--force"], user="munge")
        deadline = time.monotonic() + 15
        while not self._munge_works():
            self._check_alive("munged")
            if time.monotonic() > deadline:
                raise SlurmClusterError("munged did not start answering within 15 s")
            time.sleep(0.2)

    def _spawn(self, name: str, argv: Sequence[str | None], user: str | None = None) -> None:
        """Start a daemon in the foreground as our child (its pid is also in its pid file)."""
        log = open(self.log_dir / f"{name}.stdout", "ab")  # closed in stop()
        self._log_handles.append(log)
        kwargs = {"user": user, "group": user, "extra_groups": []} if user else {}
        self._procs[name] = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches pytest only; teardown stops us in order
            preexec_fn=_die_with_parent,
            **kwargs,
        )

    def _pidfile_pid(self, name: str) -> int | None:
        pidfile = {
            "slurmctld": self.state_dir / "run" / "slurmctld.pid",
            "slurmd": self.state_dir / "run" / "slurmd.pid",
            "munged": MUNGE_RUN_DIR / "munged.pid",
        }[name]
        try:
            return int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            raise SlurmClusterError(f"{name} exited early with status {proc.returncode}")

    def _run_quiet(self, argv: Sequence[str], timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(
            [_which(argv[0]) or argv[0], *argv[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _wait_for_controller(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            self._check_alive("slurmctld")
            with contextlib.suppress(subprocess.SubprocessError):
                if self._run_quiet(["scontrol", "ping"]).stdout.count("UP"):
                    return
            if time.monotonic() > deadline:
                raise SlurmClusterError(
                    f"slurmctld did not answer within {self.start_timeout:.0f} s"
                )
            time.sleep(0.3)

    def _wait_for_idle_node(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        state = ""
        while True:
            self._check_alive("slurmctld")
            self._check_alive("slurmd")
            with contextlib.suppress(subprocess.SubprocessError):
                out = self._run_quiet(["sinfo", "-h", "-N", "-n", self.host, "-o", "%t"])
                state = out.stdout.strip()
            if state.startswith("idle") or state.startswith("mix"):
                return
            if state.startswith(("drain", "drng", "inval", "fail")):
                raise SlurmClusterError(f"node {self.host} is {state!r} instead of idle")
            if time.monotonic() > deadline:
                raise SlurmClusterError(
                    f"node {self.host} not idle after {self.start_timeout:.0f} s (state {state!r})"
                )
            time.sleep(0.3)

    def _cancel_all_jobs(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run_quiet(["scancel", "--full", "--partition", self.partition])
            # wait (briefly) until the node has cleaned up, so no slurmstepd lingers
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                out = self._run_quiet(
                    ["squeue", "-h", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED"]
                )
                if out.returncode == 0 and not out.stdout.strip():
                    break
                time.sleep(0.5)

    def _own_stepds(self) -> list[int]:
        """slurmstepd processes (job steps) spawned by our slurmd."""
        return [p for p in _pids_named("slurmstepd") if p not in self._foreign_stepds]

    def _reap_job_steps(self, timeout: float = 10) -> None:
        """Wait for our job steps to exit; kill (by pid) any that outlive the timeout."""
        deadline = time.monotonic() + timeout
        while (pids := self._own_stepds()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _terminate(name: str, proc: subprocess.Popen, timeout: float = 15) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=10)


# ---------------------------------------------------------------------- snakemake helper
def _profile_default_resources(profile: Path) -> list[str]:
    """``default-resources`` of a snakemake profile as ``NAME=VALUE`` strings."""
    import yaml  # snakemake depends on PyYAML

    config_file = profile / "config.yaml"
    try:
        data = yaml.safe_load(config_file.read_text()) or {}
    except OSError:
        return []
    res = data.get("default-resources") or {}
    if isinstance(res, dict):
        return [f"{k}={v}" for k, v in res.items()]
    return [str(r) for r in res]


def snakemake_command() -> list[str]:
    """How to run the snakemake of the current interpreter (a venv's python works as-is)."""
    return [sys.executable, "-m", "snakemake"]


def run_snakemake_on_slurm(
    workdir: str | os.PathLike[str],
    targets: Iterable[str] = (),
    extra_args: Iterable[str] = (),
    snakefile: str | os.PathLike[str] | None = None,
    timeout: float = 300,
    *,
    profile: str | os.PathLike[str] = SLURM_PROFILE,
    partition: str = PARTITION,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run snakemake with the slurm executor against the test cluster; output is captured.

    Uses ``profiles/slurm`` plus what this cluster needs: ``squeue`` for status checks (no
    accounting DB, so no ``sacct``), no account, the ``main`` partition (added to the profile's
    default resources, which a CLI ``--default-resources`` would otherwise replace), a 2 s
    first status check, no retries and kept SLURM logs. ``extra_args`` come last and so
    override any of these. The interpreter's bin dir is put first on PATH, so that jobs (which
    inherit the environment via ``--export=ALL``) find the same python and snakemake.
    ``CUDA_VISIBLE_DEVICES`` is removed from the environment: SLURM sets it for GPU jobs only.
    Never raises on a failing run; check ``returncode`` (``subprocess.TimeoutExpired`` on
    timeout).
    """
    workdir = Path(workdir).resolve()
    targets = [str(t) for t in targets]
    profile = Path(profile).resolve()
    run_env = dict(os.environ if env is None else env)
    run_env.pop("CUDA_VISIBLE_DEVICES", None)
    run_env.pop("SNAKEMAKE_PROFILE", None)
    bindir = str(Path(sys.executable).parent)
    run_env["PATH"] = os.pathsep.join([bindir, run_env.get("PATH", ""), *_SBIN_DIRS])
    default_resources = [
        r for r in _profile_default_resources(profile) if not r.startswith("slurm_partition=")
    ]
    cmd = [
        *snakemake_command(),
        # targets first: options such as --default-resources take any number of values
        *targets,
        "--executor",
        "slurm",
        "--profile",
        str(profile),
        "--directory",
        str(workdir),
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
        "--default-resources",
        *default_resources,
        f"slurm_partition={partition}",
        "--retries",
        "0",
        "--latency-wait",
        "5",
    ]
    if snakefile is not None:
        cmd += ["--snakefile", str(Path(snakefile).resolve())]
    cmd += [*extra_args]
    return subprocess.run(
        cmd,
        cwd=workdir,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
