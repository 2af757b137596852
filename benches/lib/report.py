"""Writes a suite's Markdown report from its rows file (see measure.py).

One table per workload, contenders in the order they first ran. Medians over
rounds; ratios are ratios of medians. The machine, the load seen during the
runs, notes and the exact command lines follow.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def machine(repo, binary):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])

    def out(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=repo).stdout.strip()
        except OSError:
            return "?"

    commit = out("git", "rev-parse", "--short", "HEAD")
    dirty = " (with local changes)" if out("git", "status", "--porcelain", "--untracked-files=no") else ""
    lines = [
        f"- cores: {os.cpu_count()} ({model}), memory {mem_kb // 1024} MiB",
        f"- kernel: {platform.release()}",
        f"- checkout at report time: {commit}{dirty}",
    ]
    if binary and os.path.exists(binary):
        built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(binary)))
        lines.append(f"- Shardwire binary: `{binary}`, built {built}")
    return lines


def groups(rows, key):
    order, by = [], {}
    for r in rows:
        k = r[key]
        if k not in by:
            order.append(k)
            by[k] = []
        by[k].append(r)
    return [(k, by[k]) for k in order]


def throughput_table(rows, baseline, secondary):
    stats = {}
    for contender, rs in groups(rows, "contender"):
        ok = [r for r in rs if "tps" in r and "error" not in r]
        stats[contender] = {
            "tps": median([r["tps"] for r in ok]),
            "sys": median([r.get("sys_cpu_per_1k") for r in ok]),
            "own": median([r.get("own_cpu_per_1k") for r in ok]),
            "p50": median([r.get("p50_ms") for r in ok]),
            "p99": median([r.get("p99_ms") for r in ok]),
            "rounds": ", ".join(f"{r['tps']:.0f}" for r in ok),
            "errors": "; ".join(sorted({r["error"] for r in rs if "error" in r})),
        }
    base = stats.get(baseline, {}).get("tps")
    # PgBouncer may run in session mode where transaction mode cannot serve
    # the workload (prepared statements before 1.21): compare with that one.
    sec = next((s["tps"] for c, s in stats.items() if c.startswith(secondary) and s["tps"]), None)
    with_sec = any(c.startswith(secondary) for c in stats)
    lines = [
        f"| contender | median TPS | vs {baseline} |" + (f" vs {secondary} |" if with_sec else "")
        + " CPU-s / 1k tx (system) | CPU-s / 1k tx (own processes) | p50 ms | p99 ms | TPS per round | errors |",
        "|---|---:|---:|" + ("---:|" if with_sec else "") + "---:|---:|---:|---:|---|---|",
    ]
    for contender, s in stats.items():
        sec_cell = f" {ratio(s['tps'], sec)} |" if with_sec else ""
        lines.append(
            f"| {contender} | {fmt(s['tps'], '.0f')} | {ratio(s['tps'], base)} |{sec_cell}"
            f" {fmt(s['sys'], '.4f')} | {fmt(s['own'], '.4f')} | {fmt(s['p50'], '.3f')} "
            f"| {fmt(s['p99'], '.3f')} | {s['rounds']} | {s['errors'] or '-'} |"
        )
    return lines


def timed_table(rows, baseline):
    lines = [
        f"| contender | median s | vs {baseline} | peak RSS MiB (median) | RSS before MiB "
        "| CPU-s own processes | rows out | seconds per round | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    stats = {}
    for contender, rs in groups(rows, "contender"):
        ok = [r for r in rs if "error" not in r]
        peak = median([r.get("peak_rss_kb") for r in ok])
        before = median([r.get("rss_before_kb") for r in ok])
        stats[contender] = {
            "secs": median([r["secs"] for r in ok]),
            "peak": None if peak is None else peak / 1024,
            "before": None if before is None else before / 1024,
            "own": median([r.get("own_cpu_s") for r in ok]),
            "rows": median([r.get("rows_out") for r in ok]),
            "rounds": ", ".join(f"{r['secs']:.3f}" for r in ok),
            "errors": "; ".join(sorted({r["error"] for r in rs if "error" in r})),
        }
    base = stats.get(baseline, {}).get("secs")
    for contender, s in stats.items():
        lines.append(
            f"| {contender} | {fmt(s['secs'], '.3f')} | {ratio(s['secs'], base)} | {fmt(s['peak'], '.1f')} "
            f"| {fmt(s['before'], '.1f')} | {fmt(s['own'], '.2f')} | {fmt(s['rows'], '.0f')} "
            f"| {s['rounds']} | {s['errors'] or '-'} |"
        )
    return lines


def metric_table(rows):
    lines = ["| contender | metric | median | unit | per round |", "|---|---|---:|---|---|"]
    for contender, rs in groups(rows, "contender"):
        for name, ms in groups(rs, "metric"):
            values = [m["value"] for m in ms]
            lines.append(
                f"| {contender} | {name} | {median(values):.1f} | {ms[0]['unit']} "
                f"| {', '.join(f'{v:.1f}' for v in values)} |"
            )
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--baseline", default="direct")
    p.add_argument("--secondary", default="pgbouncer")
    p.add_argument("--repo", default=".")
    p.add_argument("--intro", default="")
    p.add_argument("--binary", default="")
    a = p.parse_args()

    with open(a.rows) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    notes = [r["note"] for r in rows if "note" in r]
    runs = [r for r in rows if "note" not in r]

    out = [f"# {a.title}", ""]
    if a.intro:
        out += [a.intro, ""]
    out.append(f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `benches/run.sh`.")
    out.append("")
    for workload, rs in groups(runs, "workload"):
        out += [f"## {workload}", ""]
        if any("metric" in r for r in rs):
            out += metric_table(rs)
        elif any("tps" in r for r in rs):
            out += throughput_table(rs, a.baseline, a.secondary)
        else:
            out += timed_table(rs, a.baseline)
        out.append("")

    out += ["## Machine and load", ""] + machine(a.repo, a.binary)
    loads = [float(r[k].split()[0]) for r in runs for k in ("load_before", "load_after") if k in r]
    if loads:
        out.append(
            f"- 1-minute load average during the runs: {min(loads):.2f} to {max(loads):.2f} "
            f"(on {os.cpu_count()} cores; above the core count the machine was shared with other work, "
            "which inflates the system-wide CPU column and adds noise; the own-process column is not "
            "inflated by it)"
        )
    out.append("")
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    out += ["## Command lines", "", "```"]
    seen = set()
    for r in runs:
        key = (r["workload"], r["contender"], r.get("cmd", ""))
        if key in seen or not r.get("cmd"):
            continue
        seen.add(key)
        out.append(f"# {r['workload']} / {r['contender']}")
        out.append(r["cmd"])
    out += ["```", ""]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
