#!/usr/bin/env bash
# tests/e2e/test_compose.sh: checks docker-compose.yml, .env.example and the
# Dockerfile without Docker running. `docker-compose config` (Debian's
# 1.29, installed by scripts/deps.sh) validates and resolves the compose
# file in a scratch environment (no developer .env or shell variables leak
# in), and python3 with PyYAML reads the result: the services, profiles,
# ports, healthcheck, Redis persistence, builds and dev defaults that
# DESIGN.md and the README promise, and the settings hookctl in the ingest
# container needs to agree with the workers and the fake Graph API (page
# id, lease time). The profiles "cluster" and "sentinel" (Redis Cluster,
# Sentinel) are resolved with the REDIS_URL the compose file's header
# gives: their nodes, the init and sentinel scripts (run here with
# stand-ins for redis-cli and redis-sentinel) and that the URL names them.
# The Dockerfile is read as text: stages, base images, the final stage's
# user and packages.
#
# Prints "#NN name: PASSED|FAILED" lines (tests/run.sh counts them) and
# exits 1 if any check failed. Without docker-compose or PyYAML the compose
# checks fail rather than skip: CI installs both.
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)

# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hl-compose-XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
: >"$TMP/empty.env"

# A python3 that has PyYAML (Debian's, which docker-compose depends on,
# first).
PY=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import yaml' >/dev/null 2>&1; then
        PY=$p
        break
    fi
done

# compose OUT ENVFILE [ARGS...]: `docker-compose config` with nothing from
# the caller's environment but PATH; output in OUT, errors in OUT.err.
compose() {
    local out=$1 envfile=$2
    shift 2
    env -i PATH="$PATH" HOME="$TMP" LANG=C.UTF-8 \
        timeout 60 docker-compose -f "$ROOT/docker-compose.yml" \
        --env-file "$envfile" "$@" config >"$out" 2>"$out.err" </dev/null
}

HAVE_DC=0
command -v docker-compose >/dev/null 2>&1 && HAVE_DC=1
result "docker-compose is installed" "$HAVE_DC" \
    "docker-compose not found (scripts/deps.sh installs it)"
HAVE_PY=0
[ -n "$PY" ] && HAVE_PY=1
result "python3 with PyYAML is installed" "$HAVE_PY" \
    "no python3 can import yaml (Debian: python3-yaml)"

# config_ok NAME OUT ENVFILE [ARGS...]
config_ok() {
    local name=$1 out=$2 ok=0 why=
    shift 2
    if [ "$HAVE_DC" = 1 ] && compose "$out" "$@" && [ -s "$out" ]; then
        ok=1
    else
        why=$(head -c 600 "$out.err" 2>/dev/null)
        : >"$out"
    fi
    result "$name" "$ok" "$why"
}
config_ok "compose config is valid (no profile)" "$TMP/plain.yml" \
    "$TMP/empty.env"
config_ok "compose config is valid with --profile fake" "$TMP/fake.yml" \
    "$TMP/empty.env" --profile fake
config_ok "compose config is valid with .env.example as .env" \
    "$TMP/example.yml" "$ROOT/.env.example"
# Secrets from files: the value set empty, NAME_FILE naming the file.
cat >"$TMP/files.env" <<'EOF'
MESSENGER_APP_SECRET=
MESSENGER_APP_SECRET_FILE=/run/secrets/messenger_app_secret
MESSENGER_PAGE_ACCESS_TOKEN=
MESSENGER_PAGE_ACCESS_TOKEN_FILE=/run/secrets/messenger_page_access_token
EOF
config_ok "compose config is valid with secrets as NAME_FILE" \
    "$TMP/files.yml" "$TMP/files.env"
# A page id and lease time of the caller's own reach every service.
cat >"$TMP/custom.env" <<'EOF'
MESSENGER_PAGE_ID=100000000000777
HOOKLINE_LEASE_MS=7000
EOF
config_ok "compose config is valid with a page id and lease time set" \
    "$TMP/custom.yml" "$TMP/custom.env" --profile fake
# The Redis topologies behind the profiles "cluster" and "sentinel", with
# REDIS_URL pointing the programs at them as the compose file's header
# says (the URLs are read from that comment, so it cannot go stale).
url_in_header() {
    sed -n "s/^#.*REDIS_URL=\($1:\/\/[^ ]*\).*/\1/p" \
        "$ROOT/docker-compose.yml" | head -n 1
}
CLUSTER_URL=$(url_in_header redis-cluster)
SENTINEL_URL=$(url_in_header redis-sentinel)
printf 'REDIS_URL=%s\nHOOKLINE_REDIS_PASSWORD=compose-test-pass\n' \
    "$CLUSTER_URL" >"$TMP/cluster.env"
printf 'REDIS_URL=%s\n' "$SENTINEL_URL" >"$TMP/sentinel.env"
config_ok "compose config is valid with --profile cluster and its REDIS_URL" \
    "$TMP/cluster.yml" "$TMP/cluster.env" --profile cluster
config_ok "compose config is valid with --profile sentinel and its REDIS_URL" \
    "$TMP/sentinel.yml" "$TMP/sentinel.env" --profile sentinel

# The structural checks, on the resolved files; one "PASS|name" or
# "FAIL|name|why" line each.
checks() {
    "$PY" - "$ROOT" "$TMP" "$CLUSTER_URL" "$SENTINEL_URL" <<'PYEOF'
import os, re, sys
import yaml

root, tmp = sys.argv[1], sys.argv[2]
cluster_url, sentinel_url = sys.argv[3], sys.argv[4]

def load(name):
    try:
        with open(os.path.join(tmp, name)) as f:
            return yaml.safe_load(f) or {}
    except Exception as e:          # an empty or broken file: no services
        return {}

plain, fake = load("plain.yml"), load("fake.yml")
example, files = load("example.yml"), load("files.yml")
custom = load("custom.yml")
S = plain.get("services", {})

def check(name, ok, why=""):
    if ok:
        print("PASS|" + name)
    else:
        print("FAIL|" + name + "|" + why)

def env(svc, cfg=S):
    e = cfg.get(svc, {}).get("environment", {})
    if isinstance(e, list):
        e = dict(x.split("=", 1) for x in e)
    return e

def ports(svc):
    out = []
    for p in S.get(svc, {}).get("ports", []):
        if isinstance(p, dict):
            out.append((str(p.get("published")), str(p.get("target"))))
        else:
            parts = str(p).split(":")
            out.append((parts[-2] if len(parts) > 1 else "", parts[-1]))
    return out

default = [s for s in ("redis", "ingest", "worker")
           if s in S and not S[s].get("profiles")]
check("services redis, ingest and worker start without a profile",
      len(default) == 3, "found: %s" % sorted(S))

fg = S.get("fakegraph", {})
check("fakegraph runs only with the \"fake\" profile",
      fg.get("profiles") == ["fake"] and "fakegraph" in fake.get("services",
                                                                {}),
      "fakegraph profiles: %r" % fg.get("profiles"))

deps = {s: list((S[s].get("depends_on") or {})) for s in S}
bad = [s for s, d in deps.items() if "fakegraph" in d]
check("no service depends on fakegraph (it may not be running)",
      not bad, "depends on it: %s" % bad)

w = S.get("worker", {})
check("worker scales: no container_name, no ports",
      w != {} and "container_name" not in w and not w.get("ports"),
      "worker: %r" % {k: w.get(k) for k in ("container_name", "ports")})

check("ingest publishes container port 3000 on host port 3000",
      ("3000", "3000") in ports("ingest"), "ports: %r" % ports("ingest"))

hc = S.get("ingest", {}).get("healthcheck", {})
test = hc.get("test", [])
test = " ".join(test) if isinstance(test, list) else str(test)
check("ingest healthcheck asks /readyz",
      "/readyz" in test and not hc.get("disable"), "test: %r" % test)

r = S.get("redis", {})
cmd = r.get("command", [])
cmd = cmd if isinstance(cmd, list) else str(cmd).split()
aof = any(cmd[i] == "--appendonly" and cmd[i + 1] == "yes"
          for i in range(len(cmd) - 1))
check("redis runs with appendonly yes", aof, "command: %r" % cmd)

named = set(plain.get("volumes") or {})
vols = r.get("volumes", [])
data = [v for v in vols
        if (v.get("source") if isinstance(v, dict) else str(v).split(":")[0])
        in named and
        (v.get("target") if isinstance(v, dict)
         else str(v).split(":")[1]) == "/data"]
check("redis keeps /data on a named volume", bool(data),
      "volumes: %r, named: %r" % (vols, sorted(named)))

built, why = True, []
for s in ("ingest", "worker", "fakegraph"):
    b = S.get(s, {}).get("build")
    ctx = b.get("context") if isinstance(b, dict) else b
    df = (b.get("dockerfile") if isinstance(b, dict) else None) or "Dockerfile"
    if not ctx or os.path.realpath(ctx) != os.path.realpath(root) \
            or df != "Dockerfile":
        built = False
        why.append("%s: build %r" % (s, b))
images = {S.get(s, {}).get("image") for s in ("ingest", "worker",
                                              "fakegraph")}
check("ingest, worker and fakegraph build one image from the Dockerfile",
      built and len(images) == 1 and None not in images,
      "; ".join(why) + " images %r" % images)

ge = env("worker").get("GRAPH_API_BASE", "")
check("GRAPH_API_BASE defaults to the fakegraph service",
      re.match(r"^http://fakegraph:\d+$", ge) is not None
      and ge.endswith(":" + str(env("fakegraph").get("PORT"))),
      "worker GRAPH_API_BASE %r, fakegraph PORT %r" %
      (ge, env("fakegraph").get("PORT")))

e = env("ingest")
sec, tok = e.get("MESSENGER_APP_SECRET", ""), e.get(
    "MESSENGER_PAGE_ACCESS_TOKEN", "")
check("dev secrets are shaped as hookctl doctor expects",
      re.match(r"^[0-9a-f]{32}$", sec) is not None and len(tok) >= 32
      and not re.search(r"\s", tok) and e.get("MESSENGER_VERIFY_TOKEN"),
      "app secret %r, page token %r" % (sec, tok))

ok, why = True, []
for s in ("ingest", "worker"):
    for k in ("MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET",
              "MESSENGER_PAGE_ID", "MESSENGER_PAGE_ACCESS_TOKEN",
              "GRAPH_API_BASE"):
        if str(env(s, example.get("services", {})).get(k)) != \
                str(env(s).get(k)):
            ok = False
            why.append("%s %s" % (s, k))
check(".env.example holds the compose defaults", ok and example != {},
      "differs: %s" % ", ".join(why))

ok, why = True, []
for s in ("ingest", "worker"):
    fe = env(s, files.get("services", {}))
    for k in ("MESSENGER_APP_SECRET", "MESSENGER_PAGE_ACCESS_TOKEN"):
        if fe.get(k) not in ("", None) or \
                not str(fe.get(k + "_FILE", "")).startswith("/run/secrets/"):
            ok = False
            why.append("%s %s=%r %s_FILE=%r" % (s, k, fe.get(k), k,
                                                fe.get(k + "_FILE")))
check("an empty secret with NAME_FILE reaches the programs as a file",
      ok and files != {}, "; ".join(why))

# hookctl doctor (run in ingest) asks fakegraph's GET /me whose token it
# is: the fake must name the same page as ingest and the workers.
F, C = fake.get("services", {}), custom.get("services", {})
got = {s: (env(s, F).get("MESSENGER_PAGE_ID"),
           env(s, C).get("MESSENGER_PAGE_ID"))
       for s in ("ingest", "worker", "fakegraph")}
check("fakegraph has the page id of ingest and the workers (doctor's "
      "page_token check)",
      F != {} and C != {} and got["fakegraph"][0] and
      len(set(got.values())) == 1 and
      got["fakegraph"][1] == "100000000000777",
      "MESSENGER_PAGE_ID (default, set): %r" % got)

# hookctl in ingest counts live workers by HOOKLINE_LEASE_MS: the same
# value as the workers lease with.
got = {s: (str(env(s).get("HOOKLINE_LEASE_MS")),
           str(env(s, C).get("HOOKLINE_LEASE_MS")))
       for s in ("ingest", "worker")}
check("HOOKLINE_LEASE_MS reaches ingest (hookctl) as it reaches the "
      "workers", got["ingest"] == got["worker"] == ("5000", "7000"),
      "HOOKLINE_LEASE_MS (default, set): %r" % got)

# The profiles "cluster" and "sentinel": Redis topologies beside the
# default stack, which they must leave as it is.
import subprocess

CL, SE = (load("cluster.yml").get("services", {}),
          load("sentinel.yml").get("services", {}))
unprofiled = sorted(s for s in S if not S[s].get("profiles"))
check("the default stack is still redis, ingest and worker only",
      unprofiled == ["ingest", "redis", "worker"], "found: %r" % unprofiled)
dep_bad = ["%s -> %s" % (s, d) for s in unprofiled
           for d in (S[s].get("depends_on") or {})
           if S.get(d, {}).get("profiles")]
check("no default service depends on a profile's service", not dep_bad,
      "depends: %s" % dep_bad)

def cmdlist(svc, cfg):
    c = cfg.get(svc, {}).get("command", [])
    return c if isinstance(c, list) else str(c).split()

def flag(cmd, name):
    for i in range(len(cmd) - 1):
        if cmd[i] == name:
            return cmd[i + 1]
    return None

def script(svc, cfg):
    """The sh -c text of a service, as the container's shell sees it."""
    c = cfg.get(svc, {}).get("command", [])
    c = c[0] if isinstance(c, list) and c else str(c)
    return c.replace("$$", "$")

def data_volume(svc, cfg, top):
    for v in cfg.get(svc, {}).get("volumes", []):
        src = v.get("source") if isinstance(v, dict) else v.split(":")[0]
        dst = v.get("target") if isinstance(v, dict) else v.split(":")[1]
        if dst == "/data" and src in (top.get("volumes") or {}):
            return src
    return None

nodes = ["redis-c%d" % i for i in range(1, 7)]
why, vols = [], set()
for n in nodes:
    sv, c = CL.get(n, {}), cmdlist(n, CL)
    want = {"--cluster-enabled": "yes", "--cluster-config-file": "nodes.conf",
            "--cluster-node-timeout": "5000", "--appendonly": "yes",
            "--cluster-announce-hostname": n,
            "--cluster-preferred-endpoint-type": "hostname"}
    bad = [k for k, v in want.items() if flag(c, k) != v]
    if sv.get("profiles") != ["cluster"] or sv.get("image") != "redis:7" \
            or bad or c[:1] != ["redis-server"]:
        why.append("%s: profiles %r image %r wrong %s" %
                   (n, sv.get("profiles"), sv.get("image"), bad))
    vols.add(data_volume(n, CL, load("cluster.yml")))
check("cluster: six redis:7 nodes, cluster mode, AOF, announcing their "
      "service names", not why, "; ".join(why) or "")
check("cluster: each node keeps /data (nodes.conf, AOF) on its own "
      "named volume", None not in vols and len(vols) == 6,
      "volumes: %r" % sorted(map(str, vols)))

init = CL.get("redis-cluster-init", {})
deps = init.get("depends_on") or {}
cond = {n: (deps.get(n) or {}).get("condition") if isinstance(deps, dict)
        else None for n in nodes}
check("cluster: redis-cluster-init is one-shot, in the profile, after all "
      "six nodes are healthy",
      init.get("profiles") == ["cluster"] and
      str(init.get("restart")) == "no" and
      all(v == "service_healthy" for v in cond.values()),
      "profiles %r restart %r depends_on %r" %
      (init.get("profiles"), init.get("restart"), cond))

# redis-cluster-init's script run for real with stand-ins for redis-cli,
# getent and sleep: a new cluster is created once from the six addresses;
# an existing one is left alone; a node that never answers fails it.
def run_init(exists, answers):
    d = os.path.join(tmp, "init-%d-%d" % (exists, answers))
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "log")
    with open(os.path.join(d, "redis-cli"), "w") as f:
        f.write("""#!/bin/sh
echo "$*" >>"%(log)s"
case "$*" in
*ping) [ %(answers)d = 1 ] && echo PONG ;;
*"cluster info")
    if [ %(exists)d = 1 ] || [ -f "%(d)s/created" ]; then
        printf 'cluster_state:ok\\r\\ncluster_slots_assigned:16384\\r\\n'
    else
        printf 'cluster_state:fail\\r\\ncluster_slots_assigned:0\\r\\n'
    fi ;;
*"--cluster create"*) touch "%(d)s/created" ;;
esac
exit 0
""" % {"log": log, "d": d, "exists": exists, "answers": answers})
    with open(os.path.join(d, "getent"), "w") as f:
        f.write('#!/bin/sh\necho "10.0.0.${2#redis-c} $2"\n')
    with open(os.path.join(d, "sleep"), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    for x in ("redis-cli", "getent", "sleep"):
        os.chmod(os.path.join(d, x), 0o755)
    envp = {"PATH": d + ":" + os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        p = subprocess.run(["sh", "-c", script("redis-cluster-init", CL)],
                           env=envp, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        rc = p.returncode
    except Exception as e:
        return -1, [str(e)]
    try:
        with open(log) as f:
            calls = [l.strip() for l in f]
    except OSError:
        calls = []
    return rc, [c for c in calls if "--cluster create" in c]

want_create = ("--cluster create " +
               " ".join("10.0.0.%d:6379" % i for i in range(1, 7)) +
               " --cluster-replicas 1 --cluster-yes")
rc_new, cr_new = run_init(0, 1)
rc_old, cr_old = run_init(1, 1)
rc_dead, cr_dead = run_init(0, 0)
check("cluster: redis-cluster-init creates a new cluster once (6 nodes, "
      "1 replica each), leaves an existing one, fails on a silent node",
      rc_new == 0 and cr_new == [want_create] and rc_old == 0 and
      cr_old == [] and rc_dead != 0 and cr_dead == [],
      "new: rc %r %r; existing: rc %r %r; silent: rc %r %r" %
      (rc_new, cr_new, rc_old, cr_old, rc_dead, cr_dead))

def seeds(url, scheme):
    if not url.startswith(scheme + "://"):
        return None, None
    rest = url[len(scheme) + 3:]
    hosts, _, path = rest.partition("/")
    out = []
    for hp in hosts.split(","):
        h, _, p = hp.rpartition(":")
        out.append((h, p))
    return out, path

sd, _ = seeds(cluster_url, "redis-cluster")
check("cluster: the header's REDIS_URL is redis-cluster:// over the "
      "nodes' port 6379",
      sd is not None and len(sd) >= 1 and
      all(h in nodes and p == "6379" for h, p in sd),
      "REDIS_URL %r" % cluster_url)
got = {s: env(s, CL).get("REDIS_URL") for s in ("ingest", "worker")}
pw = {s: env(s, CL).get("HOOKLINE_REDIS_PASSWORD") for s in
      ("ingest", "worker")}
check("cluster: REDIS_URL and HOOKLINE_REDIS_PASSWORD reach ingest and "
      "the workers",
      cluster_url != "" and set(got.values()) == {cluster_url} and
      set(pw.values()) == {"compose-test-pass"},
      "REDIS_URL %r, password %r" % (got, pw))

# Sentinel: the conf each sentinel writes, by running its script with
# /data replaced by a scratch dir and redis-sentinel by cat.
sentinels = ["sentinel%d" % i for i in range(1, 4)]
def sentinel_conf(svc):
    d = os.path.join(tmp, svc)
    os.makedirs(d, exist_ok=True)
    text = script(svc, SE).replace("/data/", d + "/").replace(
        "exec redis-sentinel", "exec cat")
    try:
        p = subprocess.run(["sh", "-c", text], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return p.returncode, p.stdout.decode(errors="replace").splitlines()
    except Exception as e:
        return -1, [str(e)]

why, masters = [], set()
for s in sentinels:
    sv = SE.get(s, {})
    rc, conf = sentinel_conf(s)
    mon = [l.split() for l in conf if l.startswith("sentinel monitor ")]
    idx = {l.split(" ", 2)[1] if l.startswith("sentinel ") else l: i
           for i, l in enumerate(conf)}
    ok = (rc == 0 and sv.get("profiles") == ["sentinel"] and
          "port 26379" in conf and len(mon) == 1 and len(mon[0]) == 6 and
          mon[0][3:5] == ["redis-primary", "6379"] and
          len(sentinels) // 2 < int(mon[0][5]) <= len(sentinels) and
          idx.get("resolve-hostnames", 99) < idx.get("monitor", -1) and
          "sentinel announce-hostnames yes" in conf and
          "sentinel resolve-hostnames yes" in conf)
    if mon:
        masters.add(mon[0][2])
    if not ok:
        why.append("%s: rc %r profiles %r conf %r" %
                   (s, rc, sv.get("profiles"), conf))
check("sentinel: three sentinels write a config monitoring redis-primary "
      "by name with a majority quorum", not why and len(masters) == 1,
      "; ".join(why) + " masters %r" % masters)

p, r = cmdlist("redis-primary", SE), cmdlist("redis-replica", SE)
check("sentinel: primary and replica (replicaof redis-primary), AOF, on "
      "named volumes, announcing their service names",
      SE.get("redis-primary", {}).get("profiles") == ["sentinel"] and
      SE.get("redis-replica", {}).get("profiles") == ["sentinel"] and
      flag(p, "--appendonly") == "yes" and flag(r, "--appendonly") == "yes"
      and flag(p, "--replica-announce-ip") == "redis-primary" and
      flag(r, "--replica-announce-ip") == "redis-replica" and
      " ".join(r).find("--replicaof redis-primary 6379") >= 0 and
      data_volume("redis-primary", SE, load("sentinel.yml")) and
      data_volume("redis-replica", SE, load("sentinel.yml")),
      "primary %r; replica %r" % (p, r))

sd, master = seeds(sentinel_url, "redis-sentinel")
got = {s: env(s, SE).get("REDIS_URL") for s in ("ingest", "worker")}
check("sentinel: the header's REDIS_URL names the three sentinels "
      "(26379) and the monitored master, and reaches ingest and workers",
      sd is not None and sorted(h for h, _ in sd) == sentinels and
      all(p == "26379" for _, p in sd) and masters == {master} and
      set(got.values()) == {sentinel_url},
      "REDIS_URL %r, masters %r, programs %r" %
      (sentinel_url, masters, got))

# The Dockerfile, as text: continuation lines joined, comments dropped.
lines, cur = [], ""
with open(os.path.join(root, "Dockerfile")) as f:
    for raw in f:
        s = raw.rstrip("\n")
        if not cur and s.lstrip().startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
stages = []
for ln in lines:
    if ln.upper().startswith("FROM "):
        stages.append([ln])
    elif stages:
        stages[-1].append(ln)
froms = [st[0].split()[1] for st in stages]
check("Dockerfile: multi-stage, every stage on Debian 12",
      len(stages) >= 2 and all(re.match(r"^debian:12(-slim)?$", x)
                               for x in froms), "FROM %r" % froms)

final = stages[-1] if stages else []
users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
check("Dockerfile: the final stage runs as a non-root user",
      bool(users) and users[-1].split(":")[0] not in ("root", "0"),
      "USER in the final stage: %r" % users)

text = " ".join(ln for ln in final if ln.upper().startswith("RUN "))
bad = re.findall(r"(?<![\w.-])(\S+-dev|gcc|g\+\+|clang|make|"
                 r"build-essential|pkg-config)(?![\w.-])", text)
copies = [ln for ln in final if ln.upper().startswith("COPY ")]
check("Dockerfile: the final stage has runtime libraries and bin/ only",
      not bad and copies and all("--from=" in c for c in copies)
      and any("/bin" in c for c in copies),
      "build tools %r; COPY %r" % (bad, copies))
PYEOF
}

if [ -n "$PY" ]; then
    while IFS='|' read -r st name why; do
        case "$st" in
            PASS) result "$name" 1 ;;
            FAIL) result "$name" 0 "$why" ;;
        esac
    done < <(checks 2>"$TMP/py.err"; echo "END|")
    if [ -s "$TMP/py.err" ]; then
        result "compose checks ran without an error" 0 \
            "$(head -c 600 "$TMP/py.err")"
    fi
else
    result "compose structure checks (need python3 and PyYAML)" 0
fi

# Local secrets stay out of git and out of the image's build context.
ign=0
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$ROOT" check-ignore -q .env && ign=1
else
    grep -qx '\.env' "$ROOT/.gitignore" && ign=1
fi
grep -qx '\.env' "$ROOT/.dockerignore" || ign=0
result ".env is ignored by git and by the docker build" "$ign"

all_passed
