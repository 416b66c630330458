#!/usr/bin/env python3
# Extracts what live traffic produced in oracle/formats.txt (connection counts, counters,
# rates, connection entries) into formats-traffic.json, which the golden test feeds to
# the model at the points where the oracle's traffic ran. Run: python3 gen-traffic.py
import copy, json, re

lines = open("oracle/formats.txt").read().split("\n")

def block(cmd, nth=0):
    """Output lines of the nth run of '$ cmd'."""
    idx = [i for i, l in enumerate(lines) if l == "$ " + cmd][nth]
    out = []
    for l in lines[idx + 1:]:
        if l.startswith("$ ") or l.startswith("### "):
            break
        out.append(l)
    return out

def svc_key(tok):
    proto, rest = tok.split(None, 1)
    rest = rest.split()
    if proto == "FWM":
        return {"FWMark": int(rest[0]), "IPv6": len(rest) > 1 and rest[1] == "IPv6"}
    return {"Protocol": {"TCP": 6, "UDP": 17, "SCTP": 132}[proto], "Addr": rest[0]}

def walk(out, fn):
    svc = None
    for l in out:
        if l.startswith("  -> ") and not l.startswith("  -> RemoteAddress"):
            fn(svc, l[5:].split())
        elif re.match(r"^(TCP|UDP|SCTP|FWM) ", l):
            svc = l
            fn(svc, None)

services = {}
def get(svc):
    k = json.dumps(svc_key(svc), sort_keys=True)
    return services.setdefault(k, {"Key": svc_key(svc), "Dests": {}})

def conns_plain(svc, d):
    s = get(svc)
    if d:
        s["Dests"].setdefault(d[0], {"Addr": d[0]}).update(ActiveConn=int(d[3]), InActConn=int(d[4]))
walk(block("ipvsadm -L -n"), conns_plain)

def persist(svc, d):
    if d:
        get(svc)["Dests"][d[0]]["PersistConn"] = int(d[2])
walk(block("ipvsadm -L -n --persistent-conn"), persist)

def numbers(names):
    def fn(svc, d):
        s = get(svc)
        if d is None:
            vals = svc.split()[-5:]
            s.update(zip(names, map(int, vals)))
        else:
            s["Dests"][d[0]].update(zip(names, map(int, d[1:])))
    return fn
walk(block("ipvsadm -L -n --stats --exact"), numbers(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]))
walk(block("ipvsadm -L -n --rate --exact"), numbers(["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]))

def stats(svcs):
    return {"Services": [dict(v, Dests=list(v["Dests"].values())) for v in svcs.values()]}

first = copy.deepcopy(stats(services))
# The held connections kept talking before the single-service listing.
services = {k: v for k, v in services.items() if '"192.168.10.100:80"' in k}
walk(block("ipvsadm -L -n -t 192.168.10.100:80 --stats"), numbers(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]))
later = stats(services)

def conns(cmd):
    rows = []
    for l in block(cmd)[2:]:
        if not l:
            continue
        f = l.split()
        m, s = f[1].split(":")
        rows.append({"Protocol": {"TCP": 6, "UDP": 17, "SCTP": 132, "IP": 0}[f[0]],
                     "ExpiresSec": int(m) * 60 + int(s), "State": f[2],
                     "Client": f[3], "Virtual": f[4], "Dest": f[5]})
    return rows

json.dump({"Stats": first, "StatsLater": later,
           "Conns": conns("conns"), "ConnsLater": conns("conns --persistent-conn")},
          open("formats-traffic.json", "w"), indent=1)
