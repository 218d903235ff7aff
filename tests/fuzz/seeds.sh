#!/usr/bin/env bash
# tests/fuzz/seeds.sh - builds the seed corpus of each libFuzzer target
# from the fixtures, so no corpus is committed:
#
#   bash tests/fuzz/seeds.sh OUTDIR      (make fuzz: build/fuzz/corpus)
#
#   OUTDIR/fuzz_webhook/   every tests/fixtures/webhook/*.json as is, and
#                          the inline bodies of tests/fixtures/signature/
#   OUTDIR/fuzz_event/     [entry, event, standby] for each event of each
#                          webhook fixture (entry without its lists)
#   OUTDIR/fuzz_rules/     tests/fuzz/seeds/rules/*.json (the fixtures
#                          hold no rules files)
#   OUTDIR/fuzz_classify/  two status bytes (big-endian) + the body of
#                          each tests/fixtures/send_api/ answer (the bytes
#                          on the wire when the fixture has them)
#
# Seeds are named seed-<fixture>, so a rerun refreshes them and keeps what
# libFuzzer added to the same directories. Reads $HL_FIXTURES (default
# tests/fixtures); needs python3 (scripts/deps.sh installs it). Writes
# nothing outside OUTDIR.
set -euo pipefail

cd "$(dirname "$0")/../.."
out=${1:?usage: seeds.sh OUTDIR}
fix=${HL_FIXTURES:-tests/fixtures}

mkdir -p "$out/fuzz_webhook" "$out/fuzz_event" "$out/fuzz_rules" \
    "$out/fuzz_classify"
for f in "$fix"/webhook/*.json; do
    cp "$f" "$out/fuzz_webhook/seed-$(basename "$f")"
done
for f in tests/fuzz/seeds/rules/*.json; do
    cp "$f" "$out/fuzz_rules/seed-$(basename "$f")"
done

python3 - "$fix" "$out" <<'EOF'
import glob, json, os, sys

fix, out = sys.argv[1], sys.argv[2]

def write(target, name, data):
    with open(os.path.join(out, target, "seed-" + name), "wb") as f:
        f.write(data)

# fuzz_webhook: inline signature bodies (body_file ones are webhook files)
for path in sorted(glob.glob(os.path.join(fix, "signature", "*.json"))):
    sig = json.load(open(path, encoding="utf-8"))
    if isinstance(sig.get("body"), str):
        write("fuzz_webhook", os.path.basename(path),
              sig["body"].encode("utf-8"))

# fuzz_event: [entry, event, standby] per event
for path in sorted(glob.glob(os.path.join(fix, "webhook", "*.json"))):
    base = os.path.basename(path)[:-len(".json")]
    body = json.load(open(path, encoding="utf-8"))
    entries = body.get("entry") if isinstance(body, dict) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        bare = {k: v for k, v in entry.items()
                if k not in ("messaging", "standby")}
        for key, standby in (("messaging", False), ("standby", True)):
            events = entry.get(key)
            for j, ev in enumerate(events if isinstance(events, list)
                                   else []):
                text = json.dumps([bare, ev, standby], ensure_ascii=False,
                                  separators=(",", ":"))
                write("fuzz_event", "%s-%d-%s-%d.json" % (base, i, key, j),
                      text.encode("utf-8"))

# fuzz_classify: status + body of each answer (requests are not answers)
for path in sorted(glob.glob(os.path.join(fix, "send_api", "*.json"))):
    name = os.path.basename(path)
    if name.startswith("request_"):
        continue
    ans = json.load(open(path, encoding="utf-8"))
    status = ans.get("http_status")
    if not isinstance(status, int):
        status = 200 if name.startswith("response_200") else 400
    for k in ("body_on_wire", "body_raw"):
        if isinstance(ans.get(k), str):
            body = ans[k].encode("utf-8")
            break
    else:
        body = json.dumps(ans.get("body"), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
    write("fuzz_classify", name, bytes([status >> 8, status & 255]) + body)
EOF
