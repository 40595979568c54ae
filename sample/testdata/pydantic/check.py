"""Checks Nuri's structured outputs against pydantic itself: for each model
below (unions with and without discriminators, Optional, Literal, enums,
constrained types, dates, times and durations, UUIDs, IP addresses, URLs,
sets, tuples, dicts, recursion, extra="forbid", aliases), its
model_json_schema() goes to `nuri schema --examples N --compact`, and each
example goes back to the model's model_validate_json. It prints each
model's count of examples and of those the model refuses (at most two
shown), and the models whose schema Nuri refuses.

Not a test: it needs pydantic (2.10 or later) and a built nuri. Run from
the repository root after `make build` (or `go build -o bin/nuri ./cmd/nuri`):
    python3 sample/testdata/pydantic/check.py bin/nuri [EXAMPLES]

docs/performance.md (round 95) records what it printed. Some models fail
where their schema cannot say what the model checks: NaiveDatetime (its
schema is date-time, which carries an offset), AnyHttpUrl and FileUrl (a
plain uri), condecimal (its pattern and number are looser than its
max_digits).
"""
import json, sys, datetime, uuid, enum, ipaddress, decimal, pydantic
from typing import Optional, Union, Literal, List, Dict, Set, Tuple, Annotated
from pydantic import BaseModel, Field, conint, confloat, constr, UUID4, HttpUrl, AnyUrl, IPvAnyAddress, TypeAdapter, StrictInt, PositiveInt, NonNegativeFloat, conlist
from pydantic import Discriminator, Tag

class Color(str, enum.Enum):
    red = "red"; green = "green"; blue = "blue"

class Prio(int, enum.Enum):
    low = 1; high = 2

class Cat(BaseModel):
    name: str = Field(max_length=10)
    lives: int = Field(ge=1, le=9)

class Dog(BaseModel):
    name: str = Field(max_length=10)
    breed: str = Field(max_length=10)

class Bird(BaseModel):
    name: str = Field(max_length=10)
    can_fly: bool = True

class KCat(BaseModel):
    kind: Literal["cat"]
    lives: int
class KDog(BaseModel):
    kind: Literal["dog"]
    bark: bool

class Node(BaseModel):
    value: int
    children: List["Node"] = Field(default_factory=list, max_length=2)

class Address(BaseModel):
    street: str = Field(min_length=1, max_length=20)
    city: str = Field(max_length=15)
    zip: constr(pattern=r"^[0-9]{5}$")

class M1(BaseModel):
    pet: Union[Cat, Dog]
class M2(BaseModel):
    pets: List[Union[Cat, Dog, Bird]] = Field(max_length=3)
class M3(BaseModel):
    pet: Union[KCat, KDog] = Field(discriminator="kind")
class M4(BaseModel):
    when: Union[datetime.date, datetime.datetime]
    dur: datetime.timedelta
    t: datetime.time
class M5(BaseModel):
    x: Union[int, float]
    y: Optional[float] = None
    z: confloat(ge=0, le=1)
class M6(BaseModel):
    color: Color
    prio: Prio
    mode: Union[Literal["auto"], str]
class M7(BaseModel):
    id: UUID4
    ip: IPvAnyAddress
    url: HttpUrl
class M8(BaseModel):
    tags: Set[str] = Field(max_length=3)
    nums: Set[int] = Field(max_length=3)
    pair: Tuple[int, str]
    extra: Dict[str, int] = Field(max_length=2)
class M9(BaseModel):
    root: Node
class M10(BaseModel):
    addr: Optional[Address] = None
    code: constr(pattern=r"^[A-Z]{3}-\d{2}$")
    n: conint(multiple_of=5, ge=0, le=100)
class M11(BaseModel):
    a: Optional[Union[int, str]] = None
    b: Union[List[int], str]
    c: Literal[1, 2, "x"]
class M12(BaseModel):
    value: Union[Cat, int, str, None]
class M13(BaseModel):
    d: decimal.Decimal
    p: PositiveInt
    nn: NonNegativeFloat
class M14(BaseModel):
    items: conlist(Union[int, str], min_length=1, max_length=3)
    uid: Union[UUID4, Literal["none"]]
class M15(BaseModel):
    nested: Dict[str, List[Optional[Cat]]] = Field(max_length=2)

MODELS = [M1,M2,M3,M4,M5,M6,M7,M8,M9,M10,M11,M12,M13,M14,M15]

from pydantic import AwareDatetime, NaiveDatetime, SecretStr, condecimal, conset, ConfigDict, StrictStr, StrictBool, IPvAnyNetwork, Json, FutureDate, PastDate
class Kind(str, enum.Enum):
    a = "a"; b = "b"
class M16(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=8)
    at: AwareDatetime
    naive: NaiveDatetime
    secret: SecretStr
class M17(BaseModel):
    price: condecimal(max_digits=5, decimal_places=2)
    qty: conint(gt=0, lt=1000)
class M18(BaseModel):
    tags: conset(Literal["x", "y", "z"], max_length=3)
    nums: Tuple[int, ...] = Field(max_length=4)
    fs: frozenset[int] = Field(max_length=3)
class M19(BaseModel):
    m: Dict[Kind, int]
    lit: Literal[True, None, 3, "s"]
class M20(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")
    pw: constr(pattern=r"^(?=.*[A-Z])(?=.*\d)[A-Za-z\d]{8,12}$")
    slug: constr(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=20)
class M21(BaseModel):
    v: Union[int, bool]
    w: Union[float, str]
    u: Union[datetime.date, str]
class M22(BaseModel):
    pet: Optional[Union[Cat, Dog]] = None
    owner: Optional["M22"] = None
class M23(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    first_name: str = Field(alias="firstName", max_length=5)
    n: int = Field(default=3, ge=0)
class M24(BaseModel):
    x: float = Field(ge=-1.5, le=2.25)
    y: float = Field(gt=0, lt=1)
    z: int = Field(multiple_of=7, ge=-100, le=100)
class M25(BaseModel):
    d: datetime.date
    t: datetime.time
    dt: datetime.datetime
    td: Optional[datetime.timedelta] = None
class M26(BaseModel):
    grid: List[List[conint(ge=0, le=9)]] = Field(max_length=3)
    pairs: List[Tuple[str, int]] = Field(max_length=2)
class M27(BaseModel):
    shapes: List[Annotated[Union[Annotated[KCat, Tag("cat")], Annotated[KDog, Tag("dog")]], Discriminator(lambda v: v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None))]] = Field(max_length=3)
class M28(BaseModel):
    a: Union[Cat, Dict[str, int]]
class M29(BaseModel):
    ip4: ipaddress.IPv4Address
    ip6: ipaddress.IPv6Address
    iface: ipaddress.IPv4Interface
    u1: pydantic.UUID1
    u: uuid.UUID
class M30(BaseModel):
    e: Color = Color.red
    es: List[Color] = Field(max_length=3)
    p: Optional[Prio] = None

MODELS += [M16,M17,M18,M19,M20,M21,M22,M23,M24,M25,M26,M27,M28,M29,M30]
import pydantic
class M31(BaseModel):
    v: Union[List[int], List[str]]
class M32(BaseModel):
    v: Union[Tuple[int, int], List[str]]
class M33(BaseModel):
    v: Union[List[Cat], List[Dog]]
class M34(BaseModel):
    v: Dict[str, Union[int, List[int]]]
    w: Optional[List[Optional[int]]] = None
class M35(BaseModel):
    v: Union[Cat, Dict[str, int]]
MODELS += [M31, M32, M33, M34, M35]
from pydantic import PastDatetime, FutureDatetime, conbytes, ByteSize, AnyHttpUrl, FileUrl, NonNegativeInt, NegativeFloat, StrictFloat, UUID5
from typing import Any
class Status(enum.IntEnum):
    ok = 0; err = 1
class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: Literal["a", "b"]
    v: Optional[int] = Field(default=None, ge=-5, le=5)
class M36(BaseModel):
    inner: List[Inner] = Field(min_length=1, max_length=3)
    status: Status
    any_: Any = None
class M37(BaseModel):
    u: AnyHttpUrl
    f: FileUrl
    u5: UUID5
class M38(BaseModel):
    n: NonNegativeInt
    f: NegativeFloat
    s: StrictFloat
    t: Tuple[str, ...] = Field(min_length=1, max_length=2)
class M39(BaseModel):
    a: Union[Literal["x"], Literal["y"], None]
    b: Optional[Literal[1, 2]] = None
    c: List[Literal["p", "q"]] = Field(max_length=2)
class M40(BaseModel):
    text: constr(min_length=1, max_length=30, pattern=r"^[가-힣 ]+$")
    code: constr(pattern=r"^(?:[A-Z]{2}\d{4}|\d{6})$")
class M41(BaseModel):
    d: Dict[constr(pattern=r"^[a-z]+$"), List[int]] = Field(max_length=2)
class M42(BaseModel):
    when: Union[datetime.datetime, datetime.date, None]
    td: Union[datetime.timedelta, int]
class M43(BaseModel):
    point: Tuple[float, float]
    bbox: Optional[Tuple[float, float, float, float]] = None
class Shape(BaseModel):
    type: Literal["shape"]
class Circle(Shape):
    type: Literal["circle"]
    r: float = Field(gt=0)
class Square(Shape):
    type: Literal["square"]
    side: float = Field(gt=0)
class M44(BaseModel):
    shapes: List[Annotated[Union[Circle, Square], Field(discriminator="type")]] = Field(max_length=3)
class M45(BaseModel):
    x: Optional[Union[int, List[int], Dict[str, int]]] = None
MODELS += [M36,M37,M38,M39,M40,M41,M42,M43,M44,M45]

from typing import Any
class M46(BaseModel):
    price: confloat(multiple_of=0.01, ge=0)
    tenth: confloat(multiple_of=0.1, lt=100)
    rate: float = Field(multiple_of=0.3)
class M47(BaseModel):
    v: Union[Cat, Dict[str, Any]]
    w: List[Union[Dog, Dict[str, int]]] = Field(max_length=3)
MODELS += [M46, M47]

from typing import FrozenSet
class Label(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: Optional[str] = None
    name: str
class M48(BaseModel):
    tags: Set[Label]
    ids: FrozenSet[conint(ge=0, le=9)] = Field(max_length=4)
    rules: Dict[str, Literal["off", "warn", "error"]] = Field(default_factory=dict)
MODELS += [M48]

class M49(BaseModel):
    mixed: Set[Union[int, str]]
    maybe: FrozenSet[Optional[str]] = Field(min_length=2)
    flags: Set[Optional[bool]] = Field(default_factory=set)
MODELS += [M49]


def main():
    import subprocess
    import tempfile
    nuri = sys.argv[1] if len(sys.argv) > 1 else "bin/nuri"
    examples = sys.argv[2] if len(sys.argv) > 2 else "150"
    failing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for m in MODELS:
            path = f"{tmp}/{m.__name__}.json"
            with open(path, "w") as f:
                json.dump(m.model_json_schema(), f)
            out = subprocess.run([nuri, "schema", "--examples", examples, "--seed", str(len(m.__name__)), "--compact", path],
                                 capture_output=True, text=True).stdout.split("\n")
            if "refused" in out[0]:
                print(m.__name__, "refused:", out[0].split("refused: ", 1)[1][:200])
                continue
            n = bad = 0
            for line in out[1:]:
                if not line.startswith("  ") or line.startswith("  note:"):
                    continue
                n += 1
                try:
                    m.model_validate_json(line.strip())
                except pydantic.ValidationError as e:
                    bad += 1
                    if bad <= 2:
                        print(" ", m.__name__, line.strip()[:200], "->", str(e).replace("\n", " | ")[:300])
            failing += bad > 0
            print(m.__name__, n, "examples,", bad, "refused by the model")
    print(len(MODELS), "models,", failing, "with examples the model refuses")


if __name__ == "__main__":
    main()
