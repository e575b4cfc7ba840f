#!/usr/bin/env python3
"""bench/compare.py — driven by bench/compare.sh: our worker against the Java worker.

Starts a Java functions worker of the distribution ($PULSAR_HOME/bin/pulsar
functions-worker) and ours on the one standalone, each in a session of its own
(setsid) with its own functions namespace, ports and directories, and prints the
figures of both and their ratio Java/ours (above 1: ours uses less / is faster).
Standard library only.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

ENV = os.environ
HOME = ENV["PULSAR_HOME"]
TICK = os.sysconf("SC_CLK_TCK")
TAG = "cmp%d" % os.getpid()


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --- /proc ------------------------------------------------------------------

def stat_fields(pid):
    """Fields of /proc/pid/stat after the command name (fields[0] is the state)."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def cpu_seconds(pid):
    """User+system CPU of the process itself (children excluded)."""
    f = stat_fields(pid)
    return (int(f[11]) + int(f[12])) / TICK


def memory_kib(pid):
    pss = rss = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    return pss, rss


def session_pids(sid):
    """Live processes of a session (the worker and what it started)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = stat_fields(int(d))
        except (OSError, ValueError):
            continue
        if int(f[3]) == sid and f[0] != "Z":
            out.append(int(d))
    return out


# --- HTTP -------------------------------------------------------------------

def http(method, url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
        return 0, str(e).encode()


def multipart(config, path):
    """functionConfig as a JSON part (the Java worker ignores it without the
    content type), the package as a file part, as pulsar-admin sends them."""
    b = "----pfwbench" + uuid.uuid4().hex
    parts = [("--%s\r\nContent-Disposition: form-data; name=\"functionConfig\"\r\n"
              "Content-Type: application/json\r\n\r\n" % b).encode() + json.dumps(config).encode() + b"\r\n"]
    with open(path, "rb") as f:
        data = f.read()
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"data\"; filename=\"%s\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n" % (b, os.path.basename(path))).encode()
                 + data + b"\r\n")
    parts.append(("--%s--\r\n" % b).encode())
    return b"".join(parts), {"Content-Type": "multipart/form-data; boundary=" + b}


# --- configs ----------------------------------------------------------------

def write_yaml(shipped, overrides, path):
    """The shipped file with the overridden top-level keys cut out (with their
    indented continuation lines) and appended as JSON, which YAML reads; no
    YAML library needed."""
    out, skip = [], False
    for line in open(shipped).read().splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z0-9_]*):", line)
        if m:
            skip = m.group(1) in overrides
        elif line.strip() and not line.startswith((" ", "\t", "#", "-")):
            skip = False
        if not skip:
            out.append(line)
    out.append("")
    for k, v in overrides.items():
        out.append("%s: %s" % (k, json.dumps(v)))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


class Worker:
    def __init__(self, kind, work, binary, name=None):
        self.kind, self.work, self.binary = kind, work, binary
        self.name = name or kind  # in its workerId, namespace and directory
        self.proc = None
        self.n = 0
        self.logs = []

    @property
    def label(self):
        return {"java": "Java", "go": "ours"}[self.kind]

    def start(self, ns=None, settings=None):
        """Start with fresh port and directories, in the functions namespace ns
        (default: a fresh one of its own), with settings over the shipped file;
        return the process's own start-up figures once /initialized answers 200."""
        self.launch(ns, settings)
        return self.wait_initialized()

    def launch(self, ns=None, settings=None):
        self.n += 1
        d = os.path.join(self.work, "%s-%d" % (self.name, self.n))
        os.makedirs(d)
        self.dir = d
        self.port = free_port()
        self.id = "%s-%s-%d" % (TAG, self.name, self.n)
        self.ns = ns or "public/" + self.id
        self.url = "http://127.0.0.1:%d" % self.port
        store = ENV["PULSAR_METADATA_STORE_URL"]
        common = {
            "workerId": self.id,
            "workerHostname": "127.0.0.1",
            "workerPort": self.port,
            "workerPortTls": None,
            "pulsarServiceUrl": ENV["PULSAR_SERVICE_URL"],
            "pulsarWebServiceUrl": ENV["PULSAR_WEB_SERVICE_URL"],
            "pulsarFunctionsCluster": "standalone",
            "pulsarFunctionsNamespace": self.ns,
            "downloadDirectory": os.path.join(d, "download"),
            "functionsWorkerEnablePackageManagement": True,
            "configurationMetadataStoreUrl": store,
            "configurationStoreServers": store[len("zk:"):] if store.startswith("zk:") else store,
            "connectorsDirectory": os.path.join(d, "connectors"),
            "functionsDirectory": os.path.join(d, "functions"),
            "functionRuntimeFactoryConfigs": {
                "logDirectory": os.path.join(d, "logs"),
                "javaInstanceJarLocation": os.path.join(HOME, "instances", "java-instance.jar"),
                "pythonInstanceLocation": os.path.join(HOME, "instances", "python-instance", "python_instance_main.py"),
                "extraFunctionDependenciesDir": os.path.join(HOME, "instances", "deps"),
            },
        }
        common.update(settings or {})
        conf = os.path.join(d, "functions_worker.yml")
        env = dict(ENV)
        py = ENV.get("PFW_PYTHON")
        if py:  # python3 with pulsar-client first on PATH, for Python instances
            env["PATH"] = os.path.dirname(py) + os.pathsep + env["PATH"]
        if self.kind == "java":
            write_yaml(os.path.join(HOME, "conf", "functions_worker.yml"), common, conf)
            for k in ("PULSAR_WORKER_CONF", "PULSAR_MEM", "PULSAR_GC", "PULSAR_GC_LOG", "PULSAR_EXTRA_OPTS",
                      "PULSAR_LOG_DIR", "PULSAR_LOG_CONF", "JAVA_TOOL_OPTIONS"):
                env.pop(k, None)
            env.update(PULSAR_WORKER_CONF=conf,
                       PULSAR_MEM="-Xms128m -Xmx384m -XX:MaxDirectMemorySize=256m",
                       PULSAR_GC="-XX:+UseSerialGC",
                       PULSAR_LOG_DIR=os.path.join(d, "log"))
            argv = [os.path.join(HOME, "bin", "pulsar"), "functions-worker"]
        else:
            common["logLevel"] = ENV.get("PFW_LOG_LEVEL", "info")
            write_yaml(os.path.join(os.path.dirname(__file__), "..", "etc", "pulsar", "functions_worker.yml"),
                       common, conf)
            argv = [self.binary, "run", "--config", conf]
        self.log_path = os.path.join(d, "worker.log")
        self.logs.append(self.log_path)
        logf = open(self.log_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=d, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        self.pid = self.proc.pid

    def wait_initialized(self):
        t0 = self.t0
        last = 0.0
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("%s worker exited (%s) before /initialized; log:\n%s" %
                                 (self.label, self.proc.returncode, tail(self.log_path)))
            try:
                cpu = cpu_seconds(self.pid)
            except OSError:
                cpu = last
            last = cpu
            code, _ = http("GET", self.url + "/initialized", timeout=5)
            if code == 200:
                wall = time.monotonic() - t0
                return wall, cpu_seconds(self.pid)
            if time.monotonic() - t0 > 600:
                raise SystemExit("%s worker not initialized after 600 s; log:\n%s" % (self.label, tail(self.log_path)))
            time.sleep(0.05)

    def instances(self):
        return [p for p in session_pids(self.pid) if p != self.pid]

    def kill_machine(self):
        """SIGKILL the worker's process group and every other process of its
        session (ours starts each instance in a process group of its own) in
        one go, as when its machine dies; return once all are gone."""
        pids = session_pids(self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()
        self.stop(kill=True)  # reaps the worker, kills any straggler of the session

    def stop(self, kill=False):
        """SIGTERM (or SIGKILL) the worker, then SIGKILL whatever is left of its session."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for _ in range(50):
            left = session_pids(self.pid)
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        self.proc = None

    # --- functions ---

    def fn_url(self, name):
        return "%s/admin/v3/functions/public/default/%s" % (self.url, name)

    def status(self, name, timeout=30):
        code, body = http("GET", self.fn_url(name) + "/status", timeout=timeout)
        if code != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None

    def create_and_wait(self, name, config, package, parallelism, timeout=600):
        """POST the function, then poll its status until every instance runs.
        Returns (seconds to the POST's answer, to the first instance running,
        to all running)."""
        cfg = dict(config, tenant="public", namespace="default", name=name, parallelism=parallelism,
                   inputs=["persistent://public/default/%s-in" % name],
                   output="persistent://public/default/%s-out" % name, autoAck=True)
        body, headers = multipart(cfg, package)
        t0 = time.monotonic()
        code, rb = http("POST", self.fn_url(name), body, headers, timeout=300)
        t_post = time.monotonic() - t0
        if code not in (200, 204):
            raise SystemExit("create %s through the %s worker: %d %s" % (name, self.label, code, rb[:500]))
        t_first = None
        while True:
            st = self.status(name)
            if st is not None:
                running = st.get("numRunning", 0)
                if running and t_first is None:
                    t_first = time.monotonic() - t0
                if running >= parallelism:
                    return t_post, t_first, time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise SystemExit("%s on the %s worker: not all %d instances RUNNING after %d s: %s" %
                                 (name, self.label, parallelism, timeout, json.dumps(st)[:1000]))
            if self.proc.poll() is not None:
                raise SystemExit("%s worker exited; log:\n%s" % (self.label, tail(self.log_path)))
            time.sleep(0.1)

    def delete_and_wait(self, name, timeout=180):
        code, rb = http("DELETE", self.fn_url(name), timeout=120)
        if code not in (200, 204):
            log("delete %s through the %s worker: %d %s" % (name, self.label, code, rb[:300]))
        t0 = time.monotonic()
        while self.instances():
            if time.monotonic() - t0 > timeout:
                log("instances of %s still alive %d s after delete on the %s worker: %s" %
                    (name, timeout, self.label, self.instances()))
                break
            time.sleep(0.2)


def delete_namespace(ns):
    """Its topics first (the standalone does not allow forced namespace
    deletion), then the namespace."""
    web = ENV["PULSAR_WEB_SERVICE_URL"]
    code, body = http("GET", "%s/admin/v2/namespaces/%s/topics" % (web, ns), timeout=30)
    if code == 200:
        for t in json.loads(body):
            kind, rest = t.split("://", 1)
            http("DELETE", "%s/admin/v2/%s/%s?force=true" % (web, kind, rest), timeout=30)
    code, body = http("DELETE", "%s/admin/v2/namespaces/%s" % (web, ns), timeout=60)
    if code not in (200, 204, 404):
        log("delete namespace %s: %d %s" % (ns, code, body[:300]))


def tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
    except OSError:
        return ""


# --- failover ---------------------------------------------------------------

def get_json(url, timeout=30):
    code, body = http("GET", url, timeout=timeout)
    if code != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def create_namespace(ns):
    code, body = http("PUT", "%s/admin/v2/namespaces/%s" % (ENV["PULSAR_WEB_SERVICE_URL"], ns), timeout=60)
    if code not in (200, 204, 409):
        raise SystemExit("create namespace %s: %d %s" % (ns, code, body[:300]))


def leader_of(w):
    """The leader's workerId as w names it, or None."""
    st = get_json(w.url + "/admin/v2/worker/cluster/leader", timeout=10)
    return st.get("workerId") if isinstance(st, dict) else None


def wait_cluster(ws, timeout=600):
    """Wait until every worker of ws lists exactly ws as members and all name
    the same leader; return the leader's Worker."""
    want = sorted(w.id for w in ws)
    t0 = time.monotonic()
    seen = None
    while True:
        leaders = set()
        for w in ws:
            if w.proc.poll() is not None:
                raise SystemExit("%s worker %s exited; log:\n%s" % (w.label, w.id, tail(w.log_path)))
            m = get_json(w.url + "/admin/v2/worker/cluster", timeout=10)
            got = sorted(x.get("workerId") for x in m) if isinstance(m, list) else m
            if got != want:
                seen = "%s lists %s" % (w.id, got)
                break
            leaders.add(leader_of(w))
        else:
            if len(leaders) == 1 and None not in leaders:
                lid = leaders.pop()
                return next(w for w in ws if w.id == lid)
            seen = "leaders named: %s" % sorted(map(str, leaders))
        if time.monotonic() - t0 > timeout:
            raise SystemExit("cluster %s not formed after %d s: %s" % (want, timeout, seen))
        time.sleep(0.2)


def placement(st):
    """Instance id -> (workerId, running) from a function's status."""
    out = {}
    for i in (st or {}).get("instances") or []:
        d = i.get("status") or {}
        out[i.get("instanceId")] = (d.get("workerId"), bool(d.get("running")))
    return out


def wait_failover(survivor, survivors, name, par, t0, new_leader, timeout=600):
    """Poll the function's status on survivor, from t0 (the kill) on, until
    every instance is RUNNING on one of survivors (numRunning == par, none
    assigned elsewhere). Returns seconds from t0 until the survivor named a
    leader among survivors (only when new_leader; else None), until every
    instance was assigned to a survivor, and until all were RUNNING."""
    ids = {w.id for w in survivors}
    t_leader = None
    t_moved = None
    st = None
    while True:
        if new_leader and t_leader is None and leader_of(survivor) in ids:
            t_leader = time.monotonic() - t0
        st = survivor.status(name, timeout=30)
        now = time.monotonic() - t0
        where = placement(st)
        on_survivors = len(where) == par and all(w in ids for w, _ in where.values())
        if on_survivors and t_moved is None:
            t_moved = now
        if on_survivors and st.get("numRunning") == par and all(r for _, r in where.values()):
            if new_leader and t_leader is None:  # named in between
                t_leader = now
            return t_leader, t_moved, now
        if now > timeout:
            raise SystemExit("%s: not all %d instances RUNNING on %s %d s after the kill: %s" %
                             (name, par, sorted(ids), timeout, json.dumps(st)[:1000]))
        if survivor.proc.poll() is not None:
            raise SystemExit("%s worker %s exited; log:\n%s" % (survivor.label, survivor.id, tail(survivor.log_path)))
        time.sleep(0.1)


def failover_round(kind, rnd, work, binary, fn, par, n, settings, started, namespaces, created):
    """One round for one kind of worker: a cluster of n workers with settings
    in a functions namespace of its own, one function fn with parallelism par
    over all of them; kill -9 a non-leader, wait for its instances on the
    survivors; then the same for the leader. Returns the figures."""
    ws = [Worker(kind, work, binary, name="%s-fo%d%s" % (kind, rnd, chr(ord("a") + i))) for i in range(n)]
    kinds_of = {"java": "Java", "go": "our"}[kind]
    started.extend(ws)
    ns = "public/%s-%s-fo%d" % (TAG, kind, rnd)
    create_namespace(ns)
    namespaces.append(ns)
    for w in ws:
        w.launch(ns, settings)
    for w in ws:
        w.wait_initialized()
    leader = wait_cluster(ws)
    title, cfg, pkg = fn
    name = "%s-%s-fo-r%d" % (TAG, kind, rnd)
    created.append(name)
    leader.create_and_wait(name, cfg, pkg, par)
    where = placement(leader.status(name))
    used = {w for w, _ in where.values()}
    if len(used) < n:
        log("round %d, %s workers: instances on %d of %d workers only: %s" % (rnd, kinds_of, len(used), n, where))
    victims = [w for w in ws if w is not leader and w.id in used] or [w for w in ws if w is not leader]
    victim = victims[0]
    survivors = [w for w in ws if w is not victim]
    moved = sum(1 for w, _ in where.values() if w == victim.id)
    log("round %d, %s workers: kill -9 of non-leader %s (%d of %d instances; leader %s)" %
        (rnd, kinds_of, victim.id, moved, par, leader.id))
    t0 = time.monotonic()
    victim.kill_machine()
    _, nl_moved, nl_all = wait_failover(leader, survivors, name, par, t0, False)
    # The leader after the first kill, as the survivors see it (unchanged
    # unless the broker picked another active consumer).
    leader = wait_cluster(survivors)
    last = [w for w in survivors if w is not leader]
    where = placement(leader.status(name))
    moved_l = sum(1 for w, _ in where.values() if w == leader.id)
    log("round %d, %s workers: kill -9 of leader %s (%d of %d instances)" %
        (rnd, kinds_of, leader.id, moved_l, par))
    t0 = time.monotonic()
    leader.kill_machine()
    l_named, l_moved, l_all = wait_failover(last[0], last, name, par, t0, True)
    for w in last:
        w.stop(kill=True)
    return {"nl_moved": nl_moved, "nl_all": nl_all, "l_named": l_named, "l_moved": l_moved, "l_all": l_all,
            "nl_n": moved, "l_n": moved_l}


# --- output -----------------------------------------------------------------

def ratio(j, o):
    if j is None or o is None or o == 0:
        return "-"
    return "%.2f×" % (j / o)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, java, ours, fmt):
        self.rows.append((what, fmt(java) if java is not None else "-", fmt(ours) if ours is not None else "-",
                          ratio(java, ours)))

    def note(self, text):
        self.rows.append((text, None, None, None))

    def print(self):
        w = max([len(r[0]) for r in self.rows if r[1] is not None] + [len("figure")])
        print()
        print("%-*s  %12s  %12s  %10s" % (w, "figure", "Java", "ours", "Java/ours"))
        print("%s  %s  %s  %s" % ("-" * w, "-" * 12, "-" * 12, "-" * 10))
        for r in self.rows:
            if r[1] is None:
                print(r[0])
            else:
                print("%-*s  %12s  %12s  %10s" % (w, r[0], r[1], r[2], r[3]))
        sys.stdout.flush()


def secs(v):
    return "%.2f s" % v


def ms(v):
    return "%.1f ms" % (v * 1000)


def mib(v):
    return "%.1f MiB" % (v / 1024)


def pct(v):
    return "%.2f %%" % v


PHASES = ("startup", "idle", "create", "many", "failover")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--worker", required=True)
    ap.add_argument("--gofn", required=True)
    a = ap.parse_args()
    phases = [p for p in ENV.get("PHASES", ",".join(PHASES)).split(",") if p]
    for p in phases:
        if p not in PHASES:
            raise SystemExit("PHASES: unknown phase %r (known: %s)" % (p, ",".join(PHASES)))
    rounds = int(ENV.get("ROUNDS", "3"))
    startup_rounds = int(ENV.get("STARTUP_ROUNDS", "3"))
    idle_s = float(ENV.get("IDLE_SECONDS", "30"))
    many = int(ENV.get("MANY_INSTANCES", "50"))
    samples = int(ENV.get("LATENCY_SAMPLES", "20"))
    only = ENV.get("ONLY", "go,java,python").split(",")
    pars = [int(p) for p in ENV.get("PARALLELISMS", "1,4").split(",")]
    fo_fn = ENV.get("FAILOVER_FUNCTION", "go")
    fo_workers = int(ENV.get("FAILOVER_WORKERS", "3"))
    fo_par = int(ENV.get("FAILOVER_PARALLELISM", str(fo_workers)))
    # What decides how fast instances move off a dead worker, the same for
    # both kinds: the leader's failure-check period and how long an instance
    # may stay on a worker that left before it is moved (the shipped files:
    # 30000 and 60000). instanceLivenessCheckFreqMs (restarts of instances
    # that die on a live worker) and rebalanceCheckFreqSec (off) stay as
    # shipped: neither takes part.
    fo_settings = {
        "failureCheckFreqMs": int(ENV.get("FAILURE_CHECK_FREQ_MS", "1000")),
        "rescheduleTimeoutMs": int(ENV.get("RESCHEDULE_TIMEOUT_MS", "5000")),
    }

    java, ours = Worker("java", a.work, None), Worker("go", a.work, a.worker)
    workers = (java, ours)
    started = []  # the failover clusters' workers
    created = []  # function names, for topic cleanup
    namespaces = []

    def on_signal(signum, _frame):
        raise SystemExit("interrupted by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    kinds = {
        "go": ("Go", {"runtime": "GO"}, a.gofn),
        "java": ("Java", {"runtime": "JAVA", "className": "org.apache.pulsar.functions.api.examples.ExclamationFunction"},
                 os.path.join(HOME, "examples", "api-examples.jar")),
        "python": ("Python", {"runtime": "PYTHON", "className": "exclamation_function.ExclamationFunction"},
                   os.path.join(HOME, "examples", "python-examples", "exclamation_function.py")),
    }
    if fo_fn not in kinds:
        raise SystemExit("FAILOVER_FUNCTION: %r is none of %s" % (fo_fn, ",".join(kinds)))
    table = Table()
    print("pulsar-functions-worker vs the Java functions worker of %s, on %s (%d cores); %s" %
          (os.path.basename(HOME), ENV["PULSAR_WEB_SERVICE_URL"], os.cpu_count(), time.strftime("%Y-%m-%d %H:%M:%S")))
    print("Java worker: PULSAR_MEM=-Xms128m -Xmx384m -XX:MaxDirectMemorySize=256m, PULSAR_GC=-XX:+UseSerialGC")
    print("phases: %s" % ",".join(phases))
    if "failover" in phases:
        print("failover: clusters of %d workers of one kind, %s function with parallelism %d; both kinds with %s "
              "(instanceLivenessCheckFreqMs 30000 and rebalanceCheckFreqSec -1 as shipped)" %
              (fo_workers, kinds[fo_fn][0], fo_par, ", ".join("%s %d" % kv for kv in fo_settings.items())))
    print("load average at start: %s" % open("/proc/loadavg").read().split()[:3])
    sys.stdout.flush()
    t_begin = time.monotonic()
    try:
        # 1. start -> /initialized, interleaved, each worker alone; the last start stays up.
        if "startup" in phases:
            starts = {w.kind: [] for w in workers}
            for r in range(startup_rounds):
                for w in workers:
                    wall, cpu = w.start()
                    namespaces.append(w.ns)
                    starts[w.kind].append((wall, cpu))
                    log("start %d/%d of the %s worker: initialized after %.2f s wall, %.2f s CPU" %
                        (r + 1, startup_rounds, w.label, wall, cpu))
                    print("start round %d, %s: %.2f s wall, %.2f s CPU to /initialized" % (r + 1, w.label, wall, cpu))
                    sys.stdout.flush()
                    if r < startup_rounds - 1:
                        w.stop()
            table.note("start -> /initialized 200 (median of %d starts, fresh namespace each)" % startup_rounds)
            table.add("  wall time", statistics.median(s[0] for s in starts["java"]),
                      statistics.median(s[0] for s in starts["go"]), secs)
            table.add("  CPU time (user+sys, the worker process)", statistics.median(s[1] for s in starts["java"]),
                      statistics.median(s[1] for s in starts["go"]), secs)
        elif {"idle", "create", "many"} & set(phases):
            for w in workers:
                w.start()
                namespaces.append(w.ns)

        # 2. idle: both up, no functions, measured over the same window.
        if "idle" in phases:
            time.sleep(10)
            c0 = {w.kind: cpu_seconds(w.pid) for w in workers}
            t0 = time.monotonic()
            time.sleep(idle_s)
            el = time.monotonic() - t0
            idle_cpu = {w.kind: (cpu_seconds(w.pid) - c0[w.kind]) / el * 100 for w in workers}
            mem = {w.kind: memory_kib(w.pid) for w in workers}
            table.note("idle, no functions (10 s after start, CPU over %.0f s)" % idle_s)
            table.add("  PSS", mem["java"][0], mem["go"][0], mib)
            table.add("  RSS", mem["java"][1], mem["go"][1], mib)
            table.add("  CPU (% of one core)", idle_cpu["java"], idle_cpu["go"], pct)
            log("idle: %s" % {k: (mem[k], round(idle_cpu[k], 2)) for k in mem})

        # 3. create -> all RUNNING, interleaved rounds, deleted in between.
        for k in only if "create" in phases else ():
            title, cfg, pkg = kinds[k]
            for par in pars:
                res = {w.kind: [] for w in workers}
                for r in range(rounds):
                    for w in workers:
                        name = "%s-%s-%s-p%d-r%d" % (TAG, w.kind, k, par, r + 1)
                        created.append(name)
                        t_post, t_first, t_all = w.create_and_wait(name, cfg, pkg, par)
                        res[w.kind].append((t_post, t_first, t_all))
                        print("create %s function, parallelism %d, round %d, %s worker: POST answered %.2f s, "
                              "first instance RUNNING %.2f s, all RUNNING %.2f s" %
                              (title, par, r + 1, w.label, t_post, t_first, t_all))
                        sys.stdout.flush()
                        w.delete_and_wait(name)
                        time.sleep(1)
                med = {kd: [statistics.median(x[i] for x in v) for i in range(3)] for kd, v in res.items()}
                table.note("create -> all RUNNING, %s function, parallelism %d (median of %d)" % (title, par, rounds))
                table.add("  POST answered", med["java"][0], med["go"][0], secs)
                table.add("  first instance RUNNING", med["java"][1], med["go"][1], secs)
                table.add("  all instances RUNNING", med["java"][2], med["go"][2], secs)

        # 4. many instances: /metrics and status latency.
        if "many" in phases and many > 0:
            name = {}
            t_many = {}
            for w in workers:
                name[w.kind] = "%s-%s-many" % (TAG, w.kind)
                created.append(name[w.kind])
                _, _, t_all = w.create_and_wait(name[w.kind], {"runtime": "GO"}, a.gofn, many, timeout=900)
                t_many[w.kind] = t_all
                print("create Go function, parallelism %d, %s worker: all RUNNING %.2f s" % (many, w.label, t_all))
                sys.stdout.flush()
            time.sleep(10)
            lat = {w.kind: {"metrics": [], "status": []} for w in workers}
            for i in range(samples):
                for w in workers:
                    t0 = time.monotonic()
                    code, body = http("GET", w.url + "/metrics", timeout=60)
                    lat[w.kind]["metrics"].append(time.monotonic() - t0)
                    if code != 200:
                        log("%s /metrics: %d" % (w.label, code))
                    t0 = time.monotonic()
                    st = w.status(name[w.kind], timeout=60)
                    lat[w.kind]["status"].append(time.monotonic() - t0)
                    if not st or st.get("numRunning") != many:
                        log("%s status: %s" % (w.label, json.dumps(st)[:200] if st else None))
            c0 = {w.kind: cpu_seconds(w.pid) for w in workers}
            t0 = time.monotonic()
            time.sleep(idle_s)
            el = time.monotonic() - t0
            busy_cpu = {w.kind: (cpu_seconds(w.pid) - c0[w.kind]) / el * 100 for w in workers}
            mem = {w.kind: memory_kib(w.pid) for w in workers}
            table.note("%d Go instances on each worker (one function, parallelism %d; %d samples each, interleaved)" %
                       (many, many, samples))
            table.add("  create -> all RUNNING (one round)", t_many["java"], t_many["go"], secs)
            for what in ("metrics", "status"):
                label = {"metrics": "GET /metrics", "status": "GET .../status"}[what]
                table.add("  %s median" % label, statistics.median(lat["java"][what]),
                          statistics.median(lat["go"][what]), ms)
                table.add("  %s max" % label, max(lat["java"][what]), max(lat["go"][what]), ms)
            table.add("  worker PSS", mem["java"][0], mem["go"][0], mib)
            table.add("  worker CPU, no traffic (%% of one core over %.0f s)" % idle_s,
                      busy_cpu["java"], busy_cpu["go"], pct)
            for w in workers:
                w.delete_and_wait(name[w.kind], timeout=300)

        # 5. failover: a cluster of each kind per round, interleaved; the
        # single workers above are stopped first (they would only add load).
        if "failover" in phases:
            for w in workers:
                w.stop()
            fo = {"java": [], "go": []}
            for r in range(rounds):
                for kind, binary in (("java", None), ("go", a.worker)):
                    t_round = time.monotonic()
                    f = failover_round(kind, r + 1, a.work, binary, kinds[fo_fn], fo_par, fo_workers, fo_settings,
                                       started, namespaces, created)
                    fo[kind].append(f)
                    print("failover round %d, %s workers: kill -9 of a non-leader (%d instances): reassigned %.2f s, "
                          "all RUNNING %.2f s; kill -9 of the leader (%d instances): new leader named %.2f s, "
                          "reassigned %.2f s, all RUNNING %.2f s (round %.0f s)" %
                          (r + 1, {"java": "Java", "go": "our"}[kind], f["nl_n"], f["nl_moved"], f["nl_all"], f["l_n"],
                           f["l_named"], f["l_moved"], f["l_all"], time.monotonic() - t_round))
                    sys.stdout.flush()

            def med(kind, key):
                return statistics.median(f[key] for f in fo[kind])
            table.note("kill -9 of a worker and its instances -> all RUNNING on the survivors (%d workers, %s function, "
                       "parallelism %d; median of %d)" % (fo_workers, kinds[fo_fn][0], fo_par, rounds))
            for key, label in (("nl_moved", "non-leader: all instances assigned to survivors"),
                               ("nl_all", "non-leader: all instances RUNNING"),
                               ("l_named", "leader: survivor names the new leader"),
                               ("l_moved", "leader: all instances assigned to survivors"),
                               ("l_all", "leader: all instances RUNNING")):
                table.add("  " + label, med("java", key), med("go", key), secs)
        table.note("load average at end: %s" % open("/proc/loadavg").read().split()[:3])
        table.note("run took %.0f s" % (time.monotonic() - t_begin))
        table.print()
        print("\nJava/ours above 1: ours takes less time / memory / CPU.")
    finally:
        for w in list(workers) + started:
            w.stop(kill=True)
        for ns in namespaces:
            delete_namespace(ns)
        web = ENV["PULSAR_WEB_SERVICE_URL"]
        for n in created:
            # Neither worker deletes the package from the broker's package
            # service when it deletes the function.
            code, body = http("GET", "%s/admin/v3/packages/function/public/default/%s" % (web, n), timeout=30)
            if code == 200:
                for v in json.loads(body):
                    http("DELETE", "%s/admin/v3/packages/function/public/default/%s/%s" % (web, n, v), timeout=30)
            for d in ("in", "out"):
                http("DELETE", "%s/admin/v2/persistent/public/default/%s-%s?force=true" %
                     (ENV["PULSAR_WEB_SERVICE_URL"], n, d), timeout=30)


if __name__ == "__main__":
    main()
