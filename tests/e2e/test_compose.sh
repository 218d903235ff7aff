#!/usr/bin/env bash
# tests/e2e/test_compose.sh: checks docker-compose.yml, .env.example and the
# Dockerfile without Docker running. `docker-compose config` (Debian's
# 1.29, installed by scripts/deps.sh) validates and resolves the compose
# file in a scratch environment (no developer .env or shell variables leak
# in), and python3 with PyYAML reads the result: the services, profiles,
# ports, healthcheck, Redis persistence, builds and dev defaults that
# DESIGN.md and the README promise, and the settings hookctl in the ingest
# container needs to agree with the workers and the fake Graph API (page
# id, lease time). The Dockerfile is read as text: stages,
# base images, the final stage's user and packages.
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

# The structural checks, on the resolved files; one "PASS|name" or
# "FAIL|name|why" line each.
checks() {
    "$PY" - "$ROOT" "$TMP" <<'PYEOF'
import os, re, sys
import yaml

root, tmp = sys.argv[1], sys.argv[2]

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
