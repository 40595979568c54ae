"""Writes multiple.jsonl: candidate numbers for schemas of "type": "number"
with a multipleOf that is no binary fraction (0.01, 0.1, 0.3, 1.7, ...),
some under bounds: multiples of it at every magnitude, written with as
many decimals as it has or with trailing zeros, and numbers off by a last
digit, each with the verdicts of Python's jsonschema (which divides in
float64), of pydantic (confloat(multiple_of=...), its tolerance), and of
exact decimal arithmetic (and Ajv's, multiple_ajv.mjs). sample's TestMultipleOfGolden checks that the
sampler lets a number through only where all three take it, and, for
numbers in the plain form it writes (no exponent, at most 15 digits),
that it takes every such one.

multiple_ajv.mjs adds Ajv's verdict. Run from this folder (pydantic 2.10
or later, jsonschema 4; once: npm install ajv@8):
    python3 multiple_gen.py | node multiple_ajv.mjs > multiple.jsonl
"""

import decimal
import importlib.metadata
import json
import random

import jsonschema
import pydantic
from pydantic import TypeAdapter, confloat

rnd = random.Random(20261208)

SCHEMAS = [
    {"type": "number", "multipleOf": 0.01},
    {"type": "number", "multipleOf": 0.1, "minimum": -5, "maximum": 5},
    {"type": "number", "multipleOf": 0.3},
    {"type": "number", "multipleOf": 0.001, "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    {"type": "number", "multipleOf": 0.05, "maximum": 0.2},
    {"type": "number", "multipleOf": 1.7},
    {"type": "number", "multipleOf": 0.07, "minimum": 0.5, "maximum": 0.6},
    {"type": "number", "multipleOf": 2.5, "minimum": -100},
]


def pydantic_type(schema):
    args = {"multiple_of": schema["multipleOf"]}
    for key, arg in (("minimum", "ge"), ("maximum", "le"), ("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
        if key in schema:
            args[arg] = schema[key]
    return confloat(**args)


def candidate(m):
    """A multiple of m, written plainly, or a number near one."""
    places = max(0, -decimal.Decimal(str(m)).as_tuple().exponent)
    digits = rnd.choice([1, 1, 2, 3, 4, 6, 8, 10, 12, 14])
    k = rnd.randint(0, 10 ** digits)
    value = decimal.Decimal(k) * decimal.Decimal(str(m))
    if rnd.random() < 0.3:
        value = -value
    text = format(value, "f")
    if "." not in text and places and rnd.random() < 0.3:
        text += "." + "0" * rnd.randint(1, places)
    elif "." in text and rnd.random() < 0.2:
        text += "0" * rnd.randint(1, 2)
    r = rnd.random()
    if r < 0.2:
        # The last digit off by one.
        last = int(text[-1])
        text = text[:-1] + str((last + rnd.choice([1, 9])) % 10)
    elif r < 0.25:
        text += str(rnd.randint(1, 9)) if "." in text else ".5"
    elif r < 0.28:
        text = text + "e0"
    return text


tools = "pydantic %s, jsonschema %s" % (pydantic.VERSION, importlib.metadata.version("jsonschema"))
print(json.dumps({"generator": "multiple_gen.py", "tools": tools, "seed": 20261208}))
for schema in SCHEMAS:
    validator = jsonschema.Draft202012Validator(schema)
    adapter = TypeAdapter(pydantic_type(schema))
    step = decimal.Decimal(str(schema["multipleOf"]))
    seen = set()
    while len(seen) < 250:
        text = candidate(schema["multipleOf"])
        if text in seen:
            continue
        seen.add(text)
        js = validator.is_valid(json.loads(text))
        try:
            adapter.validate_json(text)
            pd = True
        except pydantic.ValidationError:
            pd = False
        exact = decimal.Decimal(text) % step == 0
        print(json.dumps({"schema": schema, "text": text, "jsonschema": js, "pydantic": pd, "decimal": exact}))
