"""Writes pydantic.jsonl: candidate strings for the formats pydantic writes
for its own types (uuid1 ... uuid8, ipvanyaddress, ipv4interface,
ipv6interface, ipvanyinterface, and HttpUrl's uri under maxLength 2083,
named http-url here), built from valid parts and then mutated
(a character dropped, doubled, swapped or replaced), each with pydantic's
verdict when it parses the string from JSON as that type. sample's
TestFormatsPydanticGolden checks that the sampler never lets through a text
pydantic refuses, and how far it agrees with it.

Run from this folder (pydantic 2.10 or later):
    python3 pydantic_gen.py > pydantic.jsonl
"""

import ipaddress
import json
import random

import pydantic
from pydantic import TypeAdapter

rnd = random.Random(20261207)
HEX = "0123456789abcdefABCDEF"


def hexes(n):
    return "".join(rnd.choice(HEX) for _ in range(n))


def uuid(version):
    v = version if rnd.random() < 0.85 else rnd.choice("0123456789abcdef")
    variant = rnd.choice("89abAB") if rnd.random() < 0.85 else rnd.choice("01234567cdefCDEF")
    parts = [hexes(8), hexes(4), v + hexes(3), variant + hexes(3), hexes(12)]
    r = rnd.random()
    if r < 0.05:
        return "".join(parts)  # no hyphens
    if r < 0.08:
        return "{" + "-".join(parts) + "}"
    if r < 0.1:
        return "urn:uuid:" + "-".join(parts)
    return "-".join(parts)


def octet():
    return str(rnd.choice([rnd.randint(0, 9), rnd.randint(10, 99), rnd.randint(100, 255), rnd.randint(0, 300)]))


def ipv4():
    return ".".join(octet() for _ in range(4))


def ipv6():
    groups = [hexes(rnd.randint(1, 4)) for _ in range(8)]
    if rnd.random() < 0.3:
        groups[6:8] = [ipv4()]
    text = ":".join(groups)
    if rnd.random() < 0.6:
        # "::" for a run of groups
        n = len(groups)
        i = rnd.randint(0, n - 1)
        j = rnd.randint(i + 1, n)
        text = ":".join(groups[:i]) + "::" + ":".join(groups[j:])
    return text


def prefix(limit):
    r = rnd.random()
    if r < 0.3:
        return ""
    if r < 0.4:
        return "/0" + str(rnd.randint(0, limit))
    return "/" + str(rnd.randint(0, limit + 8))


def label():
    if rnd.random() < 0.8:
        return rnd.choice(["a", "x1", "kim", "go-ri", "ab9", "Z", "nuri", "k-8s"])
    return rnd.choice(["0x1f", "9", "a_b", "b%41", "-a", "12"])


def http_url():
    scheme = rnd.choice(["http", "https", "https", "HTTPS", "hTtP", "ftp"])
    r = rnd.random()
    if r < 0.2:
        host = ipv4()
    elif r < 0.3:
        host = "[" + ipv6() + "]"
    else:
        host = ".".join(label() for _ in range(rnd.randint(1, 3)))
    exotic = rnd.random() < 0.25  # forms Nuri does not write, some of which pydantic takes
    port = rnd.choice([":65535", ":65536", ":99999", ":"] if exotic else ["", "", "", ":80", ":8080"])
    segs = ["é", "a b", "(p)"] if exotic else ["", "a", "b%20c", "x;y=1", "~u"]
    path = "".join("/" + rnd.choice(segs) for _ in range(rnd.randint(0, 3)))
    query = rnd.choice(["", "", "?q=1", "?a=b&c=%41", "?"])
    frag = rnd.choice(["", "", "#top", "#/x?y"])
    user = rnd.choice(["u:p@", "@", ""]) if exotic else ""
    return scheme + "://" + user + host + port + path + query + frag


def mutate(text):
    if not text:
        return text
    i = rnd.randrange(len(text))
    op = rnd.randrange(4)
    if op == 0:
        return text[:i] + text[i + 1:]
    if op == 1:
        return text[:i] + text[i] + text[i:]
    if op == 2 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + rnd.choice(HEX + ":./-x ") + text[i + 1:]


FORMATS = {
    "ipvanyaddress": (pydantic.IPvAnyAddress, lambda: ipv4() if rnd.random() < 0.5 else ipv6()),
    "ipv4interface": (ipaddress.IPv4Interface, lambda: ipv4() + prefix(32)),
    "ipv6interface": (ipaddress.IPv6Interface, lambda: ipv6() + prefix(128)),
    "ipvanyinterface": (pydantic.IPvAnyInterface, lambda: ipv4() + prefix(32) if rnd.random() < 0.5 else ipv6() + prefix(128)),
}
for v in "1345678":
    FORMATS["uuid" + v] = (getattr(pydantic, "UUID" + v), lambda v=v: uuid(v))
# HttpUrl: pydantic writes it as format uri under maxLength 2083, which
# Nuri reads as an http(s) URL ("http-url", a name of its own).
FORMATS["http-url"] = (pydantic.HttpUrl, http_url)
SCHEMA_FORMAT = {"http-url": "uri"}

print(json.dumps({"generator": "pydantic_gen.py", "tools": "pydantic " + pydantic.VERSION, "seed": 20261207}))
for name in sorted(FORMATS):
    typ, make = FORMATS[name]
    adapter = TypeAdapter(typ)
    assert adapter.json_schema()["format"] == SCHEMA_FORMAT.get(name, name), name
    seen = set()
    while len(seen) < 300:
        text = make()
        if rnd.random() < 0.4:
            text = mutate(text)
        if text in seen:
            continue
        seen.add(text)
        try:
            adapter.validate_json(json.dumps(text))
            ok = True
        except pydantic.ValidationError:
            ok = False
        print(json.dumps({"format": name, "text": text, "pydantic": ok}, ensure_ascii=False))
