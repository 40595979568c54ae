#!/usr/bin/env python3
"""Adds Python's jsonschema verdict to golden.jsonl (written by gen.mjs): a
"jsonschema" field on each case whose format the Draft 2020-12 format
checker checks (date, time, date-time, uuid, ipv4, ipv6, email), so
sample's TestFormatsGolden holds the sampler to a second validator.

Run from this folder after gen.mjs (jsonschema 4.26):
  python3 pycheck.py < golden.jsonl > golden.new && mv golden.new golden.jsonl
"""
import json
from importlib.metadata import version
import sys

import jsonschema

checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
lines = sys.stdin.read().splitlines()
head = json.loads(lines[0])
head["tools"] += ", jsonschema " + version("jsonschema")
print(json.dumps(head, ensure_ascii=False, separators=(",", ":")))
for line in lines[1:]:
    r = json.loads(line)
    if r["format"] in checker.checkers:
        r["jsonschema"] = checker.conforms(r["text"], r["format"])
    print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
