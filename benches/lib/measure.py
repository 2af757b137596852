"""One measured run of a client command, appended to a suite's rows file.

CPU is taken two ways, because the machine is shared:
  - system-wide: busy jiffies of /proc/stat (everything but idle and iowait),
    which also sees softirq work (the eBPF splice runs there) but also sees
    other people's builds;
  - own processes: utime+stime (+ reaped children) of the process trees that
    do the benchmark's work (servers, proxies, and the client itself), which
    other load on the machine does not inflate.

Subcommands:
  pgbench  run pgbench, parse TPS, latency percentiles from --log files
  sysbench run sysbench, parse TPS, p50 (histogram) and p99
  timed    run any command, wall time, peak RSS of one process (VmHWM, reset
           before the run through /proc/PID/clear_refs)
  rss      print a process's VmRSS in kB
  metric   record a named value (e.g. bytes per idle client)
  note     record a line for the report
"""

import argparse
import glob
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def system_busy_seconds():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / CLK_TCK


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = raw[raw.rindex(")") + 2 :].split()
    return {
        "ppid": int(rest[1]),
        "cpu": sum(int(x) for x in rest[11:15]),  # utime stime cutime cstime
    }


def tree_seconds(roots):
    """CPU of the process trees under `roots`, reaped children included."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = _stat(int(entry))
            if s:
                stats[int(entry)] = s
    children = {}
    for pid, s in stats.items():
        children.setdefault(s["ppid"], []).append(pid)
    seen, todo, total = set(), [r for r in roots if r in stats], 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid]["cpu"]
        todo.extend(children.get(pid, []))
    return total / CLK_TCK


def client_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def snapshot(pids):
    return (time.monotonic(), system_busy_seconds(), tree_seconds(pids), client_seconds())


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def pgbench_latencies_ms(log_dir):
    values = []
    for path in glob.glob(os.path.join(log_dir, "tx.*")):
        with open(path) as f:
            for line in f:
                parts = line.split()
                # client_id transaction_no time_us script_no epoch us
                if len(parts) >= 3 and parts[2].isdigit():
                    values.append(int(parts[2]) / 1000.0)
    values.sort()
    return percentile(values, 0.50), percentile(values, 0.99), len(values)


def append(rows, row):
    with open(rows, "a") as f:
        f.write(json.dumps(row) + "\n")


def base_row(a, cmd):
    return {
        "suite": a.suite,
        "workload": a.workload,
        "contender": a.contender,
        "round": a.round,
        # The password travels in PGPASSWORD, never on the command line.
        "cmd": shlex.join(cmd),
    }


def finish(row, before, after, tx):
    row["secs"] = after[0] - before[0]
    row["sys_cpu_s"] = after[1] - before[1]
    row["own_cpu_s"] = (after[2] - before[2]) + (after[3] - before[3])
    row["client_cpu_s"] = after[3] - before[3]
    if tx:
        row["sys_cpu_per_1k"] = row["sys_cpu_s"] / tx * 1000
        row["own_cpu_per_1k"] = row["own_cpu_s"] / tx * 1000


def parse_pgbench(out, log_dir, sampled):
    r = {}
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
    if not tps:
        tps = re.search(r"^tps = ([0-9.]+)", out, re.M)
    tx = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps and tx:
        r["tps"], r["tx"] = float(tps.group(1)), int(tx.group(1))
        if sampled:
            r["p50_ms"], r["p99_ms"], r["samples"] = pgbench_latencies_ms(log_dir)
    if failed and int(failed.group(1)) > 0:
        r["error"] = f"{failed.group(1)} failed transactions"
    return r


def parse_sysbench(out, _log_dir, _sampled):
    r = {}
    tx = re.search(r"transactions:\s+(\d+)\s+\(([0-9.]+) per sec", out)
    if tx:
        r["tx"], r["tps"] = int(tx.group(1)), float(tx.group(2))
    p99 = re.search(r"99th percentile:\s+([0-9.]+)", out)
    if p99:
        r["p99_ms"] = float(p99.group(1))
    # --histogram=on: "   value |****   count" lines, value in ms.
    hist = [(float(v), int(n)) for v, n in re.findall(r"^\s*([0-9.]+) \|\**\s+(\d+)\s*$", out, re.M)]
    total = sum(n for _, n in hist)
    if total:
        seen = 0
        for v, n in sorted(hist):
            seen += n
            if seen * 2 >= total:
                r["p50_ms"] = v
                break
    errors = re.search(r"errors:\s+(\d+)", out)
    if errors and int(errors.group(1)) > 0:
        r["error"] = f"{errors.group(1)} errors"
    return r


def cmd_load(a, parse, log_args):
    cmd = a.command
    log_dir = tempfile.mkdtemp(prefix="bench-log-")
    sampled = bool(log_args) and a.sampling_rate > 0
    if sampled:
        cmd = cmd + log_args(log_dir, a.sampling_rate)
    row = base_row(a, a.command)
    row["load_before"] = loadavg()
    before = snapshot(a.pids)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=log_dir)
    time.sleep(0.3)  # lets the servers reap the client's backends
    after = snapshot(a.pids)
    row["load_after"] = loadavg()
    out = proc.stdout + proc.stderr
    parsed = parse(out, log_dir, sampled)
    row.update(parsed)
    if proc.returncode != 0 or "tps" not in parsed:
        lines = [l for l in out.splitlines() if l.strip() and "error" in l.lower()] or out.splitlines()[-2:]
        text = (lines[-1] if lines else "")[:200] or f"exit {proc.returncode}"
        if len(lines) > 1:
            text = lines[0][:200] + " (...) " + text
        row["error"] = text
    if "tps" in row:
        finish(row, before, after, row["tx"])
    for path in glob.glob(os.path.join(log_dir, "*")):
        os.unlink(path)
    os.rmdir(log_dir)
    if not a.warmup:
        append(a.rows, row)
    status = row.get("error") or f"{row.get('tps', 0):.0f} tps"
    print(f"   {a.workload:<24} {a.contender:<22} round {a.round}: {status}", file=sys.stderr)


def pgbench_log_args(log_dir, rate):
    return ["--log", f"--log-prefix={log_dir}/tx", f"--sampling-rate={rate}"]


def reset_peak_rss(pid):
    # "5" resets VmHWM to the current RSS (Linux 4.0+).
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} for pid {pid}")


def cmd_timed(a):
    row = base_row(a, a.command)
    row["load_before"] = loadavg()
    if a.rss_pid:
        reset_peak_rss(a.rss_pid)
        row["rss_before_kb"] = status_kb(a.rss_pid, "VmRSS")
    before = snapshot(a.pids)
    proc = subprocess.run(a.command, capture_output=True, text=True)
    after = snapshot(a.pids)
    row["load_after"] = loadavg()
    if a.rss_pid:
        row["peak_rss_kb"] = status_kb(a.rss_pid, "VmHWM")
    finish(row, before, after, 0)
    if proc.returncode != 0:
        lines = [l for l in (proc.stdout + proc.stderr).splitlines() if l.strip()]
        row["error"] = " / ".join(lines[-3:])[:300] or f"exit {proc.returncode}"
    else:
        row["rows_out"] = proc.stdout.count("\n")
    if not a.warmup:
        append(a.rows, row)
    status = row.get("error") or f"{row['secs']:.3f} s"
    print(f"   {a.workload:<24} {a.contender:<22} round {a.round}: {status}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    for name in ("pgbench", "sysbench", "timed"):
        s = sub.add_parser(name)
        s.add_argument("--rows", required=True)
        s.add_argument("--suite", required=True)
        s.add_argument("--workload", required=True)
        s.add_argument("--contender", required=True)
        s.add_argument("--round", type=int, default=0)
        s.add_argument("--pids", type=lambda v: [int(x) for x in v.split()], default=[])
        s.add_argument("--warmup", action="store_true")
        s.add_argument("command", nargs=argparse.REMAINDER)
        if name != "timed":
            s.add_argument("--sampling-rate", type=float, default=0.1)
        else:
            s.add_argument("--rss-pid", type=int)
    s = sub.add_parser("rss")
    s.add_argument("pid", type=int)
    s = sub.add_parser("metric")
    for opt in ("--rows", "--suite", "--workload", "--contender", "--name", "--unit"):
        s.add_argument(opt, required=True)
    s.add_argument("--round", type=int, default=0)
    s.add_argument("--value", type=float, required=True)
    s.add_argument("--cmd", default="")
    s = sub.add_parser("note")
    s.add_argument("--rows", required=True)
    s.add_argument("text")
    a = p.parse_args()
    if a.what in ("pgbench", "sysbench", "timed"):
        if a.command and a.command[0] == "--":
            a.command = a.command[1:]
        if not a.command:
            p.error("no command after --")
        if a.what == "pgbench":
            cmd_load(a, parse_pgbench, pgbench_log_args)
        elif a.what == "sysbench":
            cmd_load(a, parse_sysbench, None)
        else:
            cmd_timed(a)
    elif a.what == "rss":
        print(status_kb(a.pid, "VmRSS"))
    elif a.what == "metric":
        row = {"suite": a.suite, "workload": a.workload, "contender": a.contender, "round": a.round}
        row.update({"metric": a.name, "value": a.value, "unit": a.unit, "cmd": a.cmd})
        append(a.rows, row)
    elif a.what == "note":
        append(a.rows, {"note": a.text})


if __name__ == "__main__":
    main()
