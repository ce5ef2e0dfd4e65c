#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a statistics snapshot that tests/json_dump.c wrote.

    validate_json.py SCHEMA JSON FLAT

JSON must satisfy SCHEMA (docs/statistics.json), and FLAT, the same snapshot
read from the structs, one `path<TAB>value` line per value, must hold exactly
the JSON's values: every line equal to the value at its path, and every
number and string of the JSON on a line, so that nothing is missing either
way. Paths join keys and array indices with '.': tag paths hold '/' but no
'.' in the test. Prints one line; exit 0 when all holds, 1 when not.
"""
import json
import math
import sys

import jsonschema

MAX_SHOWN = 10
MAX_LINE = 200  # a schema message can quote a whole array


def no_duplicates(pairs):
    """An object hook: a key written twice would otherwise hide the first."""
    keys = [k for k, _ in pairs]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"duplicate keys {dup}")
    return dict(pairs)


def no_constant(name):
    """JSON has no NaN or Infinity; Python's parser would take them."""
    raise ValueError(f"{name} is not JSON")


def leaves(value, path=()):
    """(path, value) for every number and string under value."""
    if isinstance(value, dict):
        for key, v in value.items():
            yield from leaves(v, path + (key,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, path + (str(i),))
    else:
        yield ".".join(path), value


def read_flat(path):
    """{path: text}; split on newlines alone, as tag names may hold other
    control characters that str.splitlines would break at."""
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    flat, errors = {}, []
    for n, line in enumerate(lines, 1):
        key, tab, text = line.partition("\t")
        if not tab:
            errors.append(f"{path}:{n}: no tab in {line!r}")
        elif key in flat:
            errors.append(f"{path}:{n}: {key} twice")
        else:
            flat[key] = text
    return flat, errors


def number(text):
    try:
        return int(text)
    except ValueError:
        return float(text)


def same(value, text):
    """Strings exact (null as the word), integers exact, anything else within
    1e-12 relative."""
    if value is None:
        return text == "null"
    if isinstance(value, str):
        return value == text
    if isinstance(value, bool):
        return False
    try:
        flat = number(text)
    except ValueError:
        return False
    if isinstance(value, int) and isinstance(flat, int):
        return value == flat
    return math.isclose(value, flat, rel_tol=1e-12)


def check(schema_path, json_path, flat_path):
    """The list of what is wrong, and the number of values compared."""
    with open(schema_path, encoding="utf-8") as f:
        try:  # a key given twice would hide one of its definitions
            schema = json.load(f, object_pairs_hook=no_duplicates)
        except ValueError as e:
            return [f"{schema_path}: {e}"], 0
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    with open(json_path, encoding="utf-8") as f:
        try:
            doc = json.load(f, object_pairs_hook=no_duplicates, parse_constant=no_constant)
        except ValueError as e:
            return [f"{json_path}: not JSON: {e}"], 0
    errors = [f"{json_path}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
              for e in sorted(cls(schema).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
    if not errors and not doc["totals"]["tag_count"] == doc["totals"]["tag_paths"] == len(doc["tags"]):
        errors.append(f"{json_path}: totals.tag_count and tag_paths are not the number of tags")

    flat, flat_errors = read_flat(flat_path)
    errors += flat_errors
    values = dict(leaves(doc))
    for key, text in flat.items():
        if key not in values:
            errors.append(f"{flat_path}: {key} is not in the JSON")
        elif not same(values[key], text):
            errors.append(f"{key}: JSON {values[key]!r}, flat {text!r}")
    errors += [f"{key} is not in {flat_path}" for key in values if key not in flat]
    return errors, len(values)


def main(argv):
    if len(argv) != 4:
        print("usage: validate_json.py SCHEMA JSON FLAT", file=sys.stderr)
        return 2
    errors, count = check(*argv[1:])
    for e in errors[:MAX_SHOWN]:
        print(e if len(e) <= MAX_LINE else e[:MAX_LINE] + "...", file=sys.stderr)
    if errors:
        print(f"validate_json: FAIL: {len(errors)} problems ({count} values in the JSON)")
        return 1
    print(f"validate_json: OK: the schema holds and all {count} values match the structs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
