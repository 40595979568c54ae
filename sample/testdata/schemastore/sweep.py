"""Sweeps Nuri's JSON-schema compiler over a folder of real-world schemas
(SchemaStore's src/schemas/json, 951 files at commit 3b6446ad8): each
goes to `nuri schema --examples N`, and each example Nuri writes is
validated by Python's jsonschema under the draft the schema names. It
prints how many schemas compile, are refused (the commonest reasons), or
gave an example jsonschema refuses (with the first two), and any crash or
time-out. Not a test: it needs the schemas, which are not in the
repository, and jsonschema.

    git clone https://github.com/SchemaStore/schemastore   (or a snapshot)
    python3 sample/testdata/schemastore/sweep.py bin/nuri DIR [EXAMPLES]

Known disagreements that are not Nuri's: schemas declaring draft-04 that
use const (not a draft-04 keyword, so jsonschema ignores it and a oneOf
of consts takes nothing), and patterns Python's re cannot compile.
"""
import collections
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import jsonschema


def run(nuri, path, examples):
    try:
        schema = json.load(open(path, encoding="utf-8-sig"))
    except (OSError, ValueError):
        return "unreadable", None
    try:
        p = subprocess.run([nuri, "schema", "--examples", examples, "--seed", "1", path],
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "timeout", None
    if "panic" in p.stderr or "goroutine " in p.stderr or not p.stdout:
        return "crash", p.stderr[-1000:]
    out = p.stdout.splitlines()
    if "refused" in out[0]:
        return "refused", out[0].split("refused: ", 1)[-1]
    try:
        validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)(schema)
    except Exception as e:  # a schema jsonschema cannot read
        return "unchecked", str(e)[:200]
    bad = []
    for line in out[1:]:
        if not line.startswith("  ") or line.startswith("  note:"):
            continue
        text = line.strip()
        try:
            err = jsonschema.exceptions.best_match(validator.iter_errors(json.loads(text)))
        except Exception as e:
            bad.append((text, "jsonschema raised " + str(e)[:200]))
            continue
        if err is not None:
            bad.append((text, err.message[:300] + " at /" + "/".join(map(str, err.absolute_path))))
    return ("bad", bad) if bad else ("ok", None)


def main():
    nuri, folder = sys.argv[1], sys.argv[2]
    examples = sys.argv[3] if len(sys.argv) > 3 else "10"
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    kinds, reasons = collections.Counter(), collections.Counter()
    with ThreadPoolExecutor(2) as pool:
        for path, (kind, info) in zip(files, pool.map(lambda f: run(nuri, f, examples), files)):
            kinds[kind] += 1
            name = os.path.basename(path)
            if kind == "refused":
                why = info.rsplit("unsupported JSON schema: ", 1)[-1]  # the innermost reason
                reasons[why.split(": ", 1)[-1][:90]] += 1  # less its path
            elif kind == "bad":
                print("BAD", name, len(info))
                for text, why in info[:2]:
                    print("   ", text[:200], "\n      ->", why)
            elif kind in ("timeout", "crash", "unchecked"):
                print(kind, name, info or "")
    print(dict(kinds))
    print("commonest reasons for refusing:")
    for why, n in reasons.most_common(20):
        print(f"{n:5d}  {why}")


if __name__ == "__main__":
    main()
