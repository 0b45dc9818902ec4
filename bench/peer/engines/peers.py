# Adapted from /work/shared/peers/engines/peers.py (2026-12-07) for refstore bench/peer/engines: timeouts that kill
# the whole process group, system-wide CPU and load average per command, leftover daemon children and mounts
# cleaned up by PID and by path.
"""Helpers: run a command with its timings, a private dockerd (started and stopped by PID), podman and refstore."""
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import time

DOCKER_CLI = os.environ.get("DOCKER_CLI", "/usr/bin/docker")  # Debian's 20.10 client
DOCKERD = os.environ.get("DOCKERD", "/usr/sbin/dockerd")
PODMAN = os.environ.get("PODMAN", "/usr/bin/podman")

# Filled in by run(): the last command's CPU seconds (the CLI and its children, plus a docker daemon's),
# the machine's busy CPU seconds over the same interval (all processes), and the load average after it.
LAST = {"cli": 0.0, "daemon": 0.0, "sys_busy": 0.0, "loadavg": [0.0, 0.0, 0.0]}
DAEMON_PIDS = []  # dockerd and its containerd: their CPU is the work behind docker's CLI


class Timeout(Exception):
    def __init__(self, cmd, seconds, out, err):
        super().__init__("%s: still running after %.0f s, killed" % (" ".join(cmd), seconds))
        self.seconds, self.out, self.err = seconds, out, err


def proc_cpu(pid):
    """utime+stime+cutime+cstime of pid, in seconds (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def daemon_cpu():
    return sum(proc_cpu(p) for p in DAEMON_PIDS)


def sys_busy():
    """Busy CPU seconds of the whole machine since boot (all CPUs; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run(cmd, env=None, check=True, timeout=None):
    """Run cmd in its own process group; return (seconds, stdout, stderr, rc). On timeout the whole group is
    killed and Timeout raised."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    d0, s0 = daemon_cpu(), sys_busy()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise Timeout(cmd, time.monotonic() - t0, out.decode(errors="replace"), err.decode(errors="replace"))
    dt = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST["cli"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    LAST["daemon"] = daemon_cpu() - d0
    LAST["sys_busy"] = sys_busy() - s0
    LAST["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (" ".join(cmd), p.returncode, out[-2000:], err[-2000:]))
    return dt, out, err, p.returncode


def du(path):
    return int(subprocess.check_output(["du", "-sb", path]).split()[0])


def mounts_under(path):
    """Mount points at or below path, deepest first."""
    path = os.path.realpath(path)
    pts = []
    with open("/proc/mounts") as f:
        for line in f:
            mp = line.split()[1].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                pts.append(mp)
    return sorted(set(pts), key=len, reverse=True)


def unmount_under(path):
    left = []
    for mp in mounts_under(path):
        if subprocess.call(["umount", mp]) != 0:
            subprocess.call(["umount", "-l", mp])
        left.append(mp)
    return left


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, sock_path):
        super().__init__("localhost", timeout=600)
        self.sock_path = sock_path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(600)
        s.connect(self.sock_path)
        self.sock = s


class Docker:
    """A dockerd of our own (own data-root, exec-root, socket, pidfile, no network); stopped by its PID."""

    def __init__(self, root, driver="overlay2"):
        self.root = root
        self.driver = driver
        self.sock = os.path.join(root, "docker.sock")
        self.env = dict(os.environ, DOCKER_HOST="unix://" + self.sock)
        self.proc = None
        self.kids = []

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        self.log = open(os.path.join(self.root, "dockerd.log"), "ab")
        self.proc = subprocess.Popen(
            [DOCKERD, "--iptables=false", "--ip-masq=false", "--bridge=none",
             "--storage-driver=" + self.driver,
             "--data-root", os.path.join(self.root, "data"),
             "--exec-root", os.path.join(self.root, "exec"),
             "-p", os.path.join(self.root, "dockerd.pid"),
             "-H", "unix://" + self.sock],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True)
        with open(os.path.join(self.root, "dockerd.bgpid"), "w") as f:
            f.write(str(self.proc.pid))
        DAEMON_PIDS[:] = [self.proc.pid]
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError("dockerd exited %s; see %s/dockerd.log" % (self.proc.returncode, self.root))
            if os.path.exists(self.sock):
                try:
                    self.api("GET", "/_ping")
                    # containerd, started by dockerd, shows up a moment after the socket
                    for _ in range(50):
                        self.kids = [int(k) for k in subprocess.run(
                            ["pgrep", "-P", str(self.proc.pid)], stdout=subprocess.PIPE).stdout.split()]
                        if self.kids:
                            break
                        time.sleep(0.1)
                    DAEMON_PIDS[:] = [self.proc.pid] + self.kids
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("dockerd did not come up")

    def stop(self):
        DAEMON_PIDS[:] = []
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # dockerd stops its containerd; make sure, by PID
        for k in self.kids:
            for _ in range(100):
                if not os.path.exists("/proc/%d" % k):
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(k, signal.SIGKILL)
                except OSError:
                    pass
        self.proc = None

    def api(self, method, path, body=None):
        c = UnixHTTP(self.sock)
        c.request(method, "/v1.41" + path, body=body)
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status >= 300:
            raise OSError("docker API %s %s: %d %s" % (method, path, r.status, data[:500]))
        if not data or not data.lstrip().startswith((b"{", b"[")):
            return data
        return json.loads(data)

    def cli(self, *args, check=True, timeout=None):
        return run([DOCKER_CLI] + list(args), env=self.env, check=check, timeout=timeout)

    def data_dir(self):
        return os.path.join(self.root, "data")


class Podman:
    """podman with a private store (--root/--runroot/--tmpdir under root); no daemon."""

    def __init__(self, root, driver="overlay", runroot=None):
        # podman 4.3 refuses a runroot longer than 50 characters: bench.py passes one under /run
        self.root = root
        self.driver = driver
        self.runroot = runroot or os.path.join(root, "run")
        self.base = [PODMAN, "--root", os.path.join(root, "root"), "--runroot", self.runroot,
                     "--storage-driver", driver, "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--tmpdir", os.path.join(root, "tmp")]

    def cli(self, *args, check=True, timeout=None):
        return run(self.base + list(args), check=check, timeout=timeout)

    def data_dir(self):
        return os.path.join(self.root, "root")


class Refstore:
    def __init__(self, root, binary):
        self.root = root
        self.binary = binary
        self.store = os.path.join(root, "store")

    def cli(self, *args, check=True, timeout=None):
        return run([self.binary, "--store", self.store] + list(args), check=check, timeout=timeout)

    def data_dir(self):
        # the content store (blob files); the whole store (RocksDB too) is du'd separately
        return os.path.join(self.store, "content")


def fresh(path):
    if os.path.exists(path):
        unmount_under(path)
        shutil.rmtree(path)
    os.makedirs(path)
