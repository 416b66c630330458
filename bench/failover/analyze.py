#!/usr/bin/env python3
"""analyze.py — metrics for the VRRP failover harness (failover.sh).

  analyze.py run RUN_DIR
      Reads RUN_DIR/event ("t0 scenario old_node new_node new_addr interval_s"),
      RUN_DIR/probe.log (probe.py) and, if present, RUN_DIR/vrrp.txt
      (`tcpdump -tt -nn -r bridge.pcap vrrp`). Prints one tab-separated line:
        takeover_ms gap_ms failed vrrp_ms last_old_ms old_after probes
      takeover_ms  event -> first successful answer from the new node
      gap_ms       longest interval between two consecutive successful answers
                   (any node) from 1 s before the event to the end of the log;
                   steady state is one probe interval (10 ms)
      failed       probes started from (event - probe timeout) on that failed
      vrrp_ms      event -> first VRRP advert (priority > 0) sent by the new node
      last_old_ms  event -> last successful answer from the old node (NA if none)
      old_after    answers from the old node after the new node's first answer
      probes       probes that finished in the analysed window
      NA where it cannot be computed (e.g. takeover never happened).

  analyze.py summary RUNS_TSV [--lb1-prio 150] [--lb2-prio 100]
  analyze.py theory SCENARIO VERSION ADVERT [--lb1-prio 150] [--lb2-prio 100]
      Aggregates runs.tsv (columns: daemon ver advert scenario idx + the run
      columns + host_busy_pct) and prints one fixed-format line per (daemon, ver,
      advert, scenario) with median/min/max and the RFC expectation.

  analyze.py excess RESULTS_DIR [--lb1-prio 150] [--lb2-prio 100]
      The daemon's own delay, free of the advert phase: for every run, the new
      master's first advert minus the moment the RFC timers allow it:
        sigkill, linkdown  last advert of the old master before t0 + MDI(new)
        sigterm            the old master's priority-0 advert + Skew(new)
        preempt            t0 (daemon start) + MDI(lb1): includes start-up
      One line per (daemon, ver, advert, scenario): median, min, max (ms), runs.

  analyze.py soak SOAK_DIR --master ADDR --backup ADDR --advert S
      Reads SOAK_DIR/vrrp.txt and the node logs (lb1.log, lb2.log, from their
      "### soak starts" line) and prints one line (soak-header names the columns):
        false_fo     takeovers by the backup: runs of its adverts (priority > 0)
                     separated by more than 3 advert intervals
        bk_adv       adverts (priority > 0) the backup sent
        m_adv        adverts the master sent
        int_med int_p99 int_max   the master's advert intervals (ms)
        over_mdi     master intervals longer than 3 x advert: a backup at priority
                     255 would have taken over (the margin to a false failover)
        changes      state changes logged by either daemon during the soak
"""
import argparse
import os
import statistics
import sys

NA = "NA"


def load_probes(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or parts[2] == "aborted":
                continue
            rows.append((float(parts[0]), float(parts[1]), parts[2], parts[3]))
    rows.sort()
    return rows


def load_vrrp(path, src, t0):
    """First advert with priority > 0 sent by src at or after t0 (epoch s), or None."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or parts[2] != src:
                continue
            try:
                ts = float(parts[0])
            except ValueError:
                continue
            if ts < t0:
                continue
            # "... VRRPv2, Advertisement, vrid 51, prio 100, authtype ..."
            prio = None
            for i, tok in enumerate(parts):
                if tok == "prio" and i + 1 < len(parts):
                    prio = int(parts[i + 1].rstrip(","))
            if prio:
                return ts
    return None


def fmt_ms(x):
    return NA if x is None else f"{x * 1000:.1f}"


def analyze_run(run_dir):
    with open(os.path.join(run_dir, "event")) as f:
        t0_s, _scen, old, new, new_addr, interval_s = f.read().split()
    t0, interval = float(t0_s), float(interval_s)
    probes = load_probes(os.path.join(run_dir, "probe.log"))
    timeout = float(os.environ.get("PROBE_TIMEOUT", "0.05"))

    new_ok = [p for p in probes if p[2] == "ok" and p[3] == new and p[1] >= t0]
    t_new = min((p[1] for p in new_ok), default=None)
    takeover = None if t_new is None else t_new - t0

    window = [p for p in probes if p[1] >= t0 - 1.0]
    oks = sorted(p[1] for p in window if p[2] == "ok")
    gap = max((b - a for a, b in zip(oks, oks[1:])), default=None)
    failed = sum(1 for p in probes if p[0] >= t0 - timeout and p[2] != "ok")
    old_ok = [p[1] for p in probes if p[2] == "ok" and p[3] == old and p[1] >= t0]
    last_old = (max(old_ok) - t0) if old_ok else None
    old_after = NA if t_new is None else str(sum(1 for t in old_ok if t > t_new))
    t_adv = load_vrrp(os.path.join(run_dir, "vrrp.txt"), new_addr, t0)
    vrrp = None if t_adv is None else t_adv - t0
    fields = [fmt_ms(takeover), fmt_ms(gap), str(failed), fmt_ms(vrrp),
              fmt_ms(last_old), old_after, str(len(window))]
    print("\t".join(fields))


def skew(prio, ver, advert):
    # RFC 3768: Skew_Time = (256-prio)/256 s.  RFC 5798: (256-prio)*Master_Adver_Interval/256,
    # the interval being the master's, in centiseconds on the wire (keepalived 2.2.7
    # VRRP_TIMER_SKEW computes exactly this, in microseconds).
    if ver == 3:
        return (256 - prio) * (round(advert * 100) / 100) / 256
    return (256 - prio) / 256


def theory(scen, ver, advert, lb1_prio, lb2_prio):
    """Expected takeover time in ms as 'lo-hi' or a single value, plus what it is."""
    if scen in ("sigkill", "linkdown"):
        mdi = 3 * advert + skew(lb2_prio, ver, advert)
        # the backup's timer was last restarted by an advert 0..advert ago
        return f"{(mdi - advert) * 1000:.0f}-{mdi * 1000:.0f}", "MDI(lb2)-adv..MDI(lb2)"
    if scen == "sigterm":
        return f"{skew(lb2_prio, ver, advert) * 1000:.0f}", "Skew(lb2) after prio-0 advert"
    if scen == "preempt":
        # keepalived 2.2.7 starts every non-owner instance in BACKUP, `state MASTER` included
        # (vrrp_init_state), and discards the lower-priority adverts without restarting its
        # timer, so the restarted lb1 takes over one Master_Down_Interval (its own priority)
        # after it starts. Only the address owner (priority 255) takes over at once.
        if lb1_prio == 255:
            return "0", "priority 255 owner: immediate"
        mdi = 3 * advert + skew(lb1_prio, ver, advert)
        return f"{mdi * 1000:.0f}", "MDI(lb1) after its start"
    return NA, ""


def med_min_max(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return (NA, NA, NA)
    f = (lambda x: f"{x:.0f}")
    return (f(statistics.median(vals)), f(min(vals)), f(max(vals)))


def num(s):
    return None if s == NA else float(s)


def summary(tsv, lb1_prio, lb2_prio):
    groups = {}
    order = []
    with open(tsv) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            key = (row["daemon"], row["ver"], row["advert"], row["scenario"])
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(row)
    cols = ("%-12s %-3s %-6s %-8s %5s  %6s %6s %6s  %6s %6s %6s  %5s %5s %5s  %6s %6s %6s  %4s  %s")
    print(cols % ("daemon", "ver", "advert", "scenario", "ok/n",
                  "to_med", "to_min", "to_max", "gap_md", "gap_mn", "gap_mx",
                  "f_med", "f_min", "f_max", "adv_md", "adv_mn", "adv_mx", "busy", "theory_ms"))
    for key in order:
        rows = groups[key]
        daemon, ver, advert, scen = key
        ok = sum(1 for r in rows if r["takeover_ms"] != NA)
        to = med_min_max([num(r["takeover_ms"]) for r in rows])
        gap = med_min_max([num(r["gap_ms"]) for r in rows])
        fl = med_min_max([num(r["failed"]) for r in rows])
        adv = med_min_max([num(r["vrrp_ms"]) for r in rows])
        busy = med_min_max([num(r.get("host_busy_pct", NA)) for r in rows])[0]
        th, _why = theory(scen, int(ver), float(advert), lb1_prio, lb2_prio)
        print(cols % (daemon, "v" + ver, advert, scen, f"{ok}/{len(rows)}", *to, *gap, *fl, *adv, busy, th))


def vrrp_adverts(path):
    """(timestamp, source, priority) of every advert in a tcpdump -tt -nn text dump."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4:
                continue
            try:
                ts = float(parts[0])
            except ValueError:
                continue
            prio = None
            for i, tok in enumerate(parts):
                if tok == "prio" and i + 1 < len(parts):
                    prio = int(parts[i + 1].rstrip(","))
            if prio is not None:
                out.append((ts, parts[2], prio))
    return out


SOAK_HEADER = "false_fo bk_adv m_adv int_med int_p99 int_max over_mdi changes"


def state_changes(path):
    """State changes a daemon logged after the soak started (keepalived and govs both
    log "Entering <STATE> STATE")."""
    if not os.path.exists(path):
        return 0
    n, started = 0, False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("### soak starts"):
                started = True
            elif started and "Entering " in line and " STATE" in line:
                n += 1
    return n


def soak(soak_dir, master, backup, advert):
    adverts = vrrp_adverts(os.path.join(soak_dir, "vrrp.txt"))
    m = [t for t, src, prio in adverts if src == master and prio > 0]
    b = [t for t, src, prio in adverts if src == backup and prio > 0]
    takeovers, last = 0, None
    for t in b:
        if last is None or t - last > 3 * advert:
            takeovers += 1
        last = t
    iv = sorted((y - x) * 1000 for x, y in zip(m, m[1:]))
    if iv:
        p99 = iv[min(len(iv) - 1, int(0.99 * len(iv)))]
        ivs = (f"{statistics.median(iv):.1f}", f"{p99:.1f}", f"{iv[-1]:.1f}")
    else:
        ivs = (NA, NA, NA)
    over = sum(1 for x in iv if x > 3 * advert * 1000)
    changes = sum(state_changes(os.path.join(soak_dir, n + ".log")) for n in ("lb1", "lb2"))
    print(" ".join(str(x) for x in (takeovers, len(b), len(m), *ivs, over, changes)))


def excess(results_dir, lb1_prio, lb2_prio):
    prio = {"lb1": lb1_prio, "lb2": lb2_prio}
    groups, order = {}, []
    runs = os.path.join(results_dir, "runs")
    for name in sorted(os.listdir(runs)):
        rd = os.path.join(runs, name)
        try:
            with open(os.path.join(rd, "event")) as f:
                t0_s, scen, old, new, new_addr, _ = f.read().split()
        except (OSError, ValueError):
            continue
        label, ver, adv = name.split("-v")[0], None, None
        rest = name[len(label) + 2:].split("-")  # V, aADV, scen, idx
        ver, adv = int(rest[0]), float(rest[1][1:])
        t0 = float(t0_s)
        adverts = vrrp_adverts(os.path.join(rd, "vrrp.txt"))
        old_addr = "10.99.0.1" if old == "lb1" else "10.99.0.2"
        first_new = next((t for t, src, p in adverts if src == new_addr and p > 0 and t >= t0), None)
        expect = None
        if scen in ("sigkill", "linkdown"):
            last = [t for t, src, p in adverts if src == old_addr and p > 0 and t < t0]
            if last:
                expect = last[-1] + 3 * adv + skew(prio[new], ver, adv)
        elif scen == "sigterm":
            zero = next((t for t, src, p in adverts if src == old_addr and p == 0 and t >= t0), None)
            if zero is not None:
                expect = zero + skew(prio[new], ver, adv)
        elif scen == "preempt":
            expect = t0 + 3 * adv + skew(prio[new], ver, adv)
        key = (label, str(ver), rest[1][1:], scen)
        if key not in groups:
            groups[key] = []
            order.append(key)
        if first_new is not None and expect is not None:
            groups[key].append((first_new - expect) * 1000)
    print("%-12s %-3s %-6s %-8s %7s %7s %7s %4s" % ("daemon", "ver", "advert", "scenario", "exc_md", "exc_mn", "exc_mx", "n"))
    for key in order:
        v = groups[key]
        if not v:
            print("%-12s v%-2s %-6s %-8s %7s %7s %7s %4d" % (*key, NA, NA, NA, 0))
            continue
        print("%-12s v%-2s %-6s %-8s %7.1f %7.1f %7.1f %4d" % (*key, statistics.median(v), min(v), max(v), len(v)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("run_dir")
    s = sub.add_parser("summary")
    s.add_argument("tsv")
    s.add_argument("--lb1-prio", type=int, default=150)
    s.add_argument("--lb2-prio", type=int, default=100)
    t = sub.add_parser("theory")
    t.add_argument("scenario")
    t.add_argument("ver", type=int)
    t.add_argument("advert", type=float)
    t.add_argument("--lb1-prio", type=int, default=150)
    t.add_argument("--lb2-prio", type=int, default=100)
    e = sub.add_parser("excess")
    e.add_argument("results_dir")
    e.add_argument("--lb1-prio", type=int, default=150)
    e.add_argument("--lb2-prio", type=int, default=100)
    k = sub.add_parser("soak")
    k.add_argument("soak_dir")
    k.add_argument("--master", required=True)
    k.add_argument("--backup", required=True)
    k.add_argument("--advert", type=float, required=True)
    sub.add_parser("soak-header")
    a = ap.parse_args()
    if a.cmd == "run":
        analyze_run(a.run_dir)
    elif a.cmd == "excess":
        excess(a.results_dir, a.lb1_prio, a.lb2_prio)
    elif a.cmd == "soak":
        soak(a.soak_dir, a.master, a.backup, a.advert)
    elif a.cmd == "soak-header":
        print(SOAK_HEADER)
    elif a.cmd == "summary":
        summary(a.tsv, a.lb1_prio, a.lb2_prio)
    else:
        th, why = theory(a.scenario, a.ver, a.advert, a.lb1_prio, a.lb2_prio)
        print(th, why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
